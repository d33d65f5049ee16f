// NPZ archives (numpy's np.savez / np.savez_compressed): streaming reader and writer on libzip.
//
// The reader never inflates a whole archive: it opens one member at a time, parses its npy header
// from the first bytes, and streams rows. Row ranges of stored members are seeked; of deflated
// members, the bytes before the range are inflated and discarded in a fixed-size buffer, so memory
// stays at the size of the requested range. ZIP64 (numpy's 20-byte extra on every member, and real
// ZIP64 members/archives above 4 GiB) is handled by libzip with 64-bit sizes throughout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/io/npy.h"

struct zip;

namespace tgraph {

struct NpzMemberInfo {
  std::string key;         // member name without ".npy"
  uint64_t index = 0;      // libzip index
  uint64_t size = 0;       // uncompressed bytes (npy header + data)
  uint64_t comp_size = 0;  // compressed bytes
  bool deflated = false;   // false: stored
  uint32_t crc32 = 0;      // of the uncompressed bytes, from the central directory
};

class NpzReader {
 public:
  // Opens the archive and reads its central directory; throws tgraph::Error naming the file.
  explicit NpzReader(const std::string& path);
  ~NpzReader();
  NpzReader(const NpzReader&) = delete;
  NpzReader& operator=(const NpzReader&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<NpzMemberInfo>& members() const { return members_; }
  std::vector<std::string> keys() const;
  bool has(const std::string& key) const;
  const NpzMemberInfo& member(const std::string& key) const;  // throws if missing

  // The npy header of a member (reads only its first bytes).
  NpyHeader header(const std::string& key);

  // The whole array, C order, native byte order.
  NdArray read(const std::string& key);

  // Rows [begin, end) along axis 0 of a C-order member, shape (end-begin, ...).
  // A Fortran-order member is read whole and sliced.
  NdArray read_rows(const std::string& key, int64_t begin, int64_t end);

  // Streams the member in chunks of up to `chunk_rows` rows along axis 0 (C order): calls
  // fn(chunk, first_row) for each. Memory is bounded by one chunk.
  void for_each_rows(const std::string& key, int64_t chunk_rows,
                     const std::function<void(const NdArray& chunk, int64_t first_row)>& fn);

 private:
  class Stream;
  std::string src(const std::string& key) const;  // "file[key]" for messages

  std::string path_;
  uint64_t file_size_ = 0;
  zip* za_ = nullptr;
  std::vector<NpzMemberInfo> members_;
};

// Writes an .npz atomically (libzip writes a temporary file and renames it on commit()).
// Members are added in call order; data is produced when commit() runs, so streamed members
// (add_stream) never need to be held in memory whole.
class NpzWriter {
 public:
  // level: 0 = stored (np.savez), 1..9 = deflate (np.savez_compressed uses zlib's default, 6).
  explicit NpzWriter(const std::string& path, int level = 6);
  ~NpzWriter();  // discards (writes nothing) unless committed
  NpzWriter(const NpzWriter&) = delete;
  NpzWriter& operator=(const NpzWriter&) = delete;

  // Copies the array into the writer.
  void add(const std::string& key, const NdArray& a);
  void add(const std::string& key, NdArray&& a);

  template <typename T>
  void add(const std::string& key, const std::vector<T>& v, std::vector<int64_t> shape) {
    add(key, NdArray::from_vector(v, std::move(shape)));
  }

  // A member whose data bytes are produced on demand: produce(dst, offset, n) must fill dst with
  // data bytes [offset, offset+n) (C order). It is called with increasing offsets during commit().
  using Producer = std::function<void(uint8_t* dst, uint64_t offset, uint64_t n)>;
  void add_stream(const std::string& key, DType dtype, std::vector<int64_t> shape,
                  Producer produce);

  void commit();

 private:
  struct Member;
  std::string path_;
  int level_;
  std::vector<std::unique_ptr<Member>> members_;
  bool committed_ = false;
};

// True if the file starts like a ZIP archive (local header or empty-archive EOCD).
bool looks_like_zip(const std::string& path);

}  // namespace tgraph
