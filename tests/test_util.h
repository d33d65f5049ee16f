// Shared helpers for tgraph tests: temporary directories, running commands, numpy cross-checks,
// and small valid TpuGraphs arrays to corrupt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tgraph/io/npy.h"
#include "tgraph/util/error.h"

namespace tgraph::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command, capturing stdout+stderr.
CommandResult run_command(const std::string& cmd);

// Runs a Python snippet with Debian's /usr/bin/python3 (which has numpy/scipy); returns stdout.
// Fails the current test (ADD_FAILURE) if the interpreter exits non-zero.
std::string run_python(const std::string& code);
bool have_numpy();

std::string read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

std::string to_hex(const uint8_t* p, size_t n);
std::string hex_of(const NdArray& a);  // C-order little-endian bytes of the array, hex

// Paths from the build (compile definitions in tests/CMakeLists.txt).
std::string shared_dir();
// The real XLA tuning records in ../shared/data/real (golden inputs).
std::string real_layout_record();  // module_tuning_data_layout.pb (3163 nodes)
std::string real_tile_record();    // op_tuning_data.pb (15 kernels)
std::string cli_path();

// A small valid layout graph's arrays (N nodes, a chain plus skip edges, NC config nodes, C
// configs).
struct LayoutArrays {
  NdArray node_feat, node_opcode, edge_index, node_config_feat, node_config_ids, config_runtime,
      node_splits;
};
LayoutArrays make_layout_arrays(int64_t N = 12, int64_t NC = 3, int64_t C = 5,
                                bool labelled = true);
// Writes the arrays as an npz in TpuGraphs key order (level 0 = stored, 6 = deflate); a key named
// in `skip_key` is left out (for missing-key fixtures).
void write_layout(const std::string& path, const LayoutArrays& a, int level = 6,
                  const std::string& skip_key = "");

// Message of the tgraph::Error that f throws; fails the test if it throws nothing.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a tgraph::Error";
  return "";
}

}  // namespace tgraph::test
