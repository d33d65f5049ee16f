// libFuzzer harness: the .tgpack reader (header, section hashes, index ranges) and row reads.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tgraph/data/pack.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& p = tgraph::fuzz::write_input(data, size, ".tgpack");
  try {
    tgraph::PackedGraph g = tgraph::PackedGraph::open(p);
    const int64_t C = g.num_configs();
    if (C > 0 && g.config_row_bytes() < (1 << 20)) {
      std::vector<int8_t> out(static_cast<size_t>(2 * g.config_row_bytes()));
      g.read_configs({0, C - 1}, out.data());
    }
  } catch (const tgraph::Error&) {
  }
  return 0;
}
