// Atomic file output: write to a temporary file beside the target, rename on commit.
//
// A crash, an exception or a kill never leaves a partial output file behind: either the previous
// file (or nothing) or the complete new file is visible under the final name.
#pragma once

#include <fstream>
#include <string>

namespace tgraph {

// Returns a unique temporary path in the same directory as `path` (same filesystem => atomic
// rename).
std::string temp_path_beside(const std::string& path);

// Renames tmp onto path atomically; throws tgraph::Error naming both on failure.
void atomic_rename(const std::string& tmp, const std::string& path);

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path, bool binary = true);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  const std::string& temp_path() const { return tmp_; }
  void commit();  // flush, close, check the stream, rename

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Writes a whole string atomically.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace tgraph
