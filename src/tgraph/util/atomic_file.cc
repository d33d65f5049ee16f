#include "tgraph/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "tgraph/util/error.h"

namespace tgraph {

std::string temp_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return TG_STR(path << ".tmp." << ::getpid() << "." << counter++ << "." << (now & 0xffffff));
}

namespace {
// fsync of a file or directory by path; false on failure (errno set).
bool sync_path(const std::string& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}
}  // namespace

void atomic_rename(const std::string& tmp, const std::string& path) {
  // The data reaches the disk before the name does, and the new name before we report success:
  // a crash leaves either the old file or the complete new one.
  if (!sync_path(tmp, false)) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw_error(path, "", "a durable write", "fsync failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw_error(path, "", "a writable destination", "rename failed: " + ec.message());
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  sync_path(dir.empty() ? "." : dir, true);  // best effort: some file systems refuse it
}

AtomicFile::AtomicFile(const std::string& path, bool binary)
    : path_(path), tmp_(temp_path_beside(path)) {
  // Created exclusively: an existing file or link of that name (another writer, or a planted
  // symlink in a shared cache directory) is never written through.
  int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw_error(path_, "", "a writable file", "cannot create " + tmp_ + " exclusively");
  ::close(fd);
  out_.open(tmp_, binary ? std::ios::binary | std::ios::out : std::ios::out);
  if (!out_) throw_error(path_, "", "a writable file", "cannot create " + tmp_);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::commit() {
  out_.flush();
  bool ok = static_cast<bool>(out_);
  out_.close();
  ok = ok && !out_.fail();  // close() can fail too (e.g. a full disk on a network file system)
  if (!ok) {
    std::remove(tmp_.c_str());
    committed_ = true;
    throw_error(path_, "", "a complete write", "write error (disk full?)");
  }
  atomic_rename(tmp_, path_);
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path, true);
  f.stream().write(contents.data(), static_cast<std::streamsize>(contents.size()));
  f.commit();
}

}  // namespace tgraph
