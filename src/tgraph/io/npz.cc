#include "tgraph/io/npz.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tgraph/util/error.h"

namespace tgraph {

namespace {

constexpr size_t kSkipBuffer = 1 << 20;
// Deflate cannot compress better than ~1032:1; anything claiming more is corrupt (or a zip bomb).
constexpr uint64_t kMaxDeflateRatio = 1032;

std::string zip_error_text(int code) {
  switch (code) {
    case ZIP_ER_CRC:
      return "CRC-32 mismatch (corrupt data)";
    case ZIP_ER_NOZIP:
      return "not a ZIP archive (no end-of-central-directory record)";
    case ZIP_ER_INCONS:
      return "inconsistent ZIP archive (truncated or corrupt)";
    case ZIP_ER_EOF:
      return "premature end of file (truncated archive)";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA:
      return "invalid deflate data (corrupt or truncated)";
    case ZIP_ER_COMPNOTSUPP:
      return "unsupported compression method";
    case ZIP_ER_ENCRNOTSUPP:
      return "encrypted member (not supported)";
    case ZIP_ER_MULTIDISK:
      return "multi-disk archive (not supported)";
    case ZIP_ER_OPEN:
      return "cannot open file";
    case ZIP_ER_READ:
      return "read error (truncated archive?)";
    case ZIP_ER_SEEK:
      return "seek error (truncated archive?)";
    case ZIP_ER_MEMORY:
      return "out of memory";
    default: {
      zip_error_t e;
      zip_error_init_with_code(&e, code);
      std::string s = zip_error_strerror(&e);
      zip_error_fini(&e);
      return s;
    }
  }
}

std::string file_error_text(zip_file_t* zf) {
  zip_error_t* e = zip_file_get_error(zf);
  return zip_error_text(zip_error_code_zip(e));
}

}  // namespace

// One open member: a forward stream of its uncompressed bytes.
class NpzReader::Stream {
 public:
  Stream(NpzReader& r, const NpzMemberInfo& m) : r_(r), m_(m) {
    zf_ = zip_fopen_index(r.za_, m.index, 0);
    if (!zf_) {
      throw_error(r.path_, m.key, "a readable member",
                  zip_error_text(zip_error_code_zip(zip_get_error(r.za_))));
    }
  }
  ~Stream() {
    if (zf_) zip_fclose(zf_);
  }
  uint64_t pos() const { return pos_; }

  // Reads up to n bytes (fewer only at the end of the member). At most 1 GiB per zip_fread:
  // libzip 1.7's inflate layer holds a request in 32 bits, and one read of a whole 12.7 GB member
  // came back wrong ("trailing bytes" after the data).
  uint64_t read_some(uint8_t* dst, uint64_t n) {
    constexpr uint64_t kMaxRead = uint64_t(1) << 30;
    uint64_t got = 0;
    while (got < n) {
      zip_int64_t k = zip_fread(zf_, dst + got, std::min(n - got, kMaxRead));
      if (k < 0)
        throw_error(r_.path_, m_.key + ": member data", "valid archive data", file_error_text(zf_));
      if (k == 0) break;
      got += static_cast<uint64_t>(k);
    }
    pos_ += got;
    return got;
  }
  void read_exact(uint8_t* dst, uint64_t n, const char* what) {
    uint64_t got = read_some(dst, n);
    if (got != n)
      throw_error(r_.path_, m_.key + ": " + what, TG_STR(n << " more bytes"),
                  TG_STR("only " << got << " before the end of the member (truncated)"));
  }
  void skip(uint64_t n) {
    if (n == 0) return;
    if (!m_.deflated && zip_fseek(zf_, static_cast<zip_int64_t>(pos_ + n), SEEK_SET) == 0) {
      pos_ += n;
      return;
    }
    std::vector<uint8_t> buf(std::min<uint64_t>(n, kSkipBuffer));
    while (n > 0) {
      uint64_t k = std::min<uint64_t>(n, buf.size());
      read_exact(buf.data(), k, "member data");
      n -= k;
    }
  }
  // At the end of the data: one more read makes libzip verify the CRC-32 and proves there are no
  // trailing bytes.
  void finish() {
    uint8_t extra;
    zip_int64_t k = zip_fread(zf_, &extra, 1);
    if (k < 0)
      throw_error(r_.path_, m_.key + ": member data", "valid archive data", file_error_text(zf_));
    if (k > 0)
      throw_error(r_.path_, m_.key + ": npy data", "no bytes after the array data",
                  "trailing bytes (member larger than its npy header declares)");
  }

  NpyHeader read_header() {
    std::vector<uint8_t> buf(std::min<uint64_t>(m_.size, 256));
    uint64_t have = read_some(buf.data(), buf.size());
    NpyHeader h;
    size_t need = 0;
    while (!parse_npy_header(buf.data(), have, r_.path_ + ": " + m_.key, &h, &need)) {
      if (need > m_.size)
        throw_error(r_.path_, m_.key + ": npy header length",
                    TG_STR("a header within the member's " << m_.size << " bytes"),
                    TG_STR(need << " bytes (header length past the end)"));
      buf.resize(need);
      read_exact(buf.data() + have, need - have, "npy header");
      have = need;
    }
    uint64_t nb = h.data_bytes();
    uint64_t avail = m_.size - h.data_offset;
    if (nb != avail)
      throw_error(
          r_.path_, m_.key + ": npy data",
          TG_STR(nb << " data bytes for shape " << h.shape_str() << " " << dtype_descr(h.dtype)),
          TG_STR(avail << " bytes in the member"));
    // The header sits at the start of `buf`; anything after it was data we already consumed.
    leftover_.assign(buf.begin() + static_cast<long>(h.data_offset),
                     buf.begin() + static_cast<long>(have));
    return h;
  }

  // Data bytes after the header (uses bytes already read with the header first).
  void read_data(uint8_t* dst, uint64_t n) {
    uint64_t from_left = std::min<uint64_t>(n, leftover_.size());
    if (from_left) {
      std::memcpy(dst, leftover_.data(), from_left);
      leftover_.erase(leftover_.begin(), leftover_.begin() + static_cast<long>(from_left));
    }
    if (n > from_left) read_exact(dst + from_left, n - from_left, "npy data");
  }
  void skip_data(uint64_t n) {
    uint64_t from_left = std::min<uint64_t>(n, leftover_.size());
    leftover_.erase(leftover_.begin(), leftover_.begin() + static_cast<long>(from_left));
    skip(n - from_left);
  }

 private:
  NpzReader& r_;
  const NpzMemberInfo& m_;
  zip_file_t* zf_ = nullptr;
  uint64_t pos_ = 0;
  std::vector<uint8_t> leftover_;
};

NpzReader::NpzReader(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw_error(path, "", "an existing .npz file", ec ? ec.message() : "no such file");
  file_size_ = std::filesystem::file_size(path, ec);
  int err = 0;
  za_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!za_) {
    std::string why = zip_error_text(err);
    if (err == ZIP_ER_NOZIP && looks_like_zip(path))
      why = "truncated archive (starts like a ZIP but has no end-of-central-directory record)";
    throw_error(path, "zip archive", "a valid .npz (ZIP) archive", why);
  }
  zip_int64_t n = zip_get_num_entries(za_, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za_, static_cast<zip_uint64_t>(i), 0, &st) != 0) {
      std::string msg = zip_error_text(zip_error_code_zip(zip_get_error(za_)));
      zip_discard(za_);
      za_ = nullptr;
      throw_error(path, TG_STR("zip member #" << i), "a readable directory entry", msg);
    }
    std::string name = st.name ? st.name : "";
    NpzMemberInfo m;
    m.index = static_cast<uint64_t>(i);
    m.size = st.size;
    m.comp_size = st.comp_size;
    m.deflated = st.comp_method == ZIP_CM_DEFLATE;
    m.crc32 = (st.valid & ZIP_STAT_CRC) ? st.crc : 0;
    m.key = name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0
                ? name.substr(0, name.size() - 4)
                : name;
    auto fail = [&](const std::string& exp, const std::string& found) {
      zip_discard(za_);
      za_ = nullptr;
      throw_error(path, m.key, exp, found);
    };
    if (st.comp_method != ZIP_CM_DEFLATE && st.comp_method != ZIP_CM_STORE)
      fail("stored or deflate compression", TG_STR("method " << st.comp_method));
    if (m.comp_size > file_size_)
      fail(TG_STR("a compressed size within the archive's " << file_size_ << " bytes"),
           TG_STR(m.comp_size << " bytes (declared size larger than the archive)"));
    uint64_t max_size = m.deflated ? m.comp_size * kMaxDeflateRatio + 1024 : m.comp_size;
    if (m.size > max_size)
      fail(TG_STR("an uncompressed size deflate can produce from " << m.comp_size << " bytes"),
           TG_STR(m.size << " bytes (declared size far larger than the archive)"));
    for (const auto& other : members_)
      if (other.key == m.key)
        fail("one member per key",
             "two members for it ('" + m.key + "' and '" + m.key + ".npy' or a repeat)");
    members_.push_back(m);
  }
}

NpzReader::~NpzReader() {
  if (za_) zip_discard(za_);
}

std::string NpzReader::src(const std::string& key) const {
  return path_ + "[" + key + "]";
}

std::vector<std::string> NpzReader::keys() const {
  std::vector<std::string> k;
  for (const auto& m : members_) k.push_back(m.key);
  return k;
}

bool NpzReader::has(const std::string& key) const {
  for (const auto& m : members_)
    if (m.key == key) return true;
  return false;
}

const NpzMemberInfo& NpzReader::member(const std::string& key) const {
  for (const auto& m : members_)
    if (m.key == key) return m;
  std::string have;
  for (const auto& m : members_) have += (have.empty() ? "" : " ") + m.key;
  throw_error(path_, key, "key '" + key + "' in the archive",
              "no such key (keys: " + (have.empty() ? std::string("none") : have) + ")");
}

NpyHeader NpzReader::header(const std::string& key) {
  Stream s(*this, member(key));
  return s.read_header();
}

NdArray NpzReader::read(const std::string& key) {
  const NpzMemberInfo& m = member(key);
  Stream s(*this, m);
  NpyHeader h = s.read_header();
  const uint64_t nb = h.data_bytes();
  // Memory is touched only as data actually arrives: a member whose declared size is a lie (up
  // to deflate's ~1000x of the archive) fails as truncated after costing what it really held.
  std::vector<uint8_t> bytes;
  bytes.reserve(nb);
  constexpr uint64_t kChunk = uint64_t(64) << 20;
  for (uint64_t done = 0; done < nb;) {
    const uint64_t k = std::min(kChunk, nb - done);
    bytes.resize(done + k);
    s.read_data(bytes.data() + done, k);
    done += k;
  }
  s.finish();
  NdArray a;
  if (h.fortran_order) {
    a = NdArray(h.dtype, h.shape);
    fortran_to_c_order(bytes.data(), a.raw(), h.shape, dtype_size(h.dtype));
  } else {
    a = NdArray(h.dtype, h.shape, std::move(bytes));
  }
  if (h.byte_swap) byte_swap_inplace(a.raw(), static_cast<size_t>(a.numel()), dtype_size(h.dtype));
  return a;
}

NdArray NpzReader::read_rows(const std::string& key, int64_t begin, int64_t end) {
  const NpzMemberInfo& m = member(key);
  Stream s(*this, m);
  NpyHeader h = s.read_header();
  if (h.shape.empty()) throw_error(path_, key, "at least one dimension", "a 0-d array");
  const int64_t rows = h.shape[0];
  TG_CHECK(begin >= 0 && begin <= end && end <= rows, "row range [", begin, ", ", end, ") outside ",
           rows, " rows of ", src(key));
  std::vector<int64_t> out_shape = h.shape;
  out_shape[0] = end - begin;
  NdArray out(h.dtype, out_shape);
  const uint64_t row_bytes = rows ? h.data_bytes() / static_cast<uint64_t>(rows) : 0;
  if (h.fortran_order) {
    NdArray whole = read(key);
    std::memcpy(out.raw(), whole.raw() + begin * row_bytes, out.nbytes());
  } else {
    s.skip_data(static_cast<uint64_t>(begin) * row_bytes);
    s.read_data(out.raw(), out.nbytes());
    if (end == rows) s.finish();
    if (h.byte_swap)
      byte_swap_inplace(out.raw(), static_cast<size_t>(out.numel()), dtype_size(h.dtype));
  }
  return out;
}

void NpzReader::for_each_rows(const std::string& key, int64_t chunk_rows,
                              const std::function<void(const NdArray&, int64_t)>& fn) {
  TG_CHECK(chunk_rows > 0);
  const NpzMemberInfo& m = member(key);
  Stream s(*this, m);
  NpyHeader h = s.read_header();
  if (h.shape.empty()) throw_error(path_, key, "at least one dimension", "a 0-d array");
  if (h.fortran_order && h.shape.size() > 1) {
    NdArray whole = read(key);
    const int64_t rows = h.shape[0];
    const uint64_t row_bytes = rows ? whole.nbytes() / static_cast<uint64_t>(rows) : 0;
    for (int64_t r = 0; r < rows; r += chunk_rows) {
      std::vector<int64_t> sh = h.shape;
      sh[0] = std::min(chunk_rows, rows - r);
      NdArray c(h.dtype, sh);
      std::memcpy(c.raw(), whole.raw() + r * row_bytes, c.nbytes());
      fn(c, r);
    }
    return;
  }
  const int64_t rows = h.shape[0];
  for (int64_t r = 0; r < rows; r += chunk_rows) {
    std::vector<int64_t> sh = h.shape;
    sh[0] = std::min(chunk_rows, rows - r);
    NdArray c(h.dtype, sh);
    s.read_data(c.raw(), c.nbytes());
    if (h.byte_swap)
      byte_swap_inplace(c.raw(), static_cast<size_t>(c.numel()), dtype_size(h.dtype));
    fn(c, r);
  }
  s.finish();
}

// ---------------------------------------------------------------------------------------------
// Writer

struct NpzWriter::Member {
  std::string key;
  std::string header;  // npy header bytes
  uint64_t data_bytes = 0;
  Producer produce;
  NdArray owned;  // for add(): the array copy the producer reads from
  uint64_t pos = 0;
  std::string error;
};

namespace {

// What the libzip source callback needs of one member (Member itself is private to the writer).
struct SourceCtx {
  std::string* header;
  uint64_t* data_bytes;
  NpzWriter::Producer* produce;
  uint64_t* pos;
  std::string* error;
};

zip_int64_t member_source_cb(void* userdata, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* c = static_cast<SourceCtx*>(userdata);
  const uint64_t total = c->header->size() + *c->data_bytes;
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      *c->pos = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      uint64_t n = std::min<uint64_t>(len, total - *c->pos);
      auto* dst = static_cast<uint8_t*>(data);
      uint64_t done = 0;
      const uint64_t hs = c->header->size();
      if (*c->pos < hs) {
        uint64_t k = std::min<uint64_t>(n, hs - *c->pos);
        std::memcpy(dst, c->header->data() + *c->pos, k);
        done = k;
      }
      if (done < n) {
        try {
          (*c->produce)(dst + done, *c->pos + done - hs, n - done);
        } catch (const std::exception& e) {
          *c->error = e.what();
          return -1;
        }
      }
      *c->pos += n;
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, nullptr);
      if (!st) return -1;
      zip_stat_init(st);
      st->size = total;
      st->mtime = 315532800;  // 1980-01-01, like numpy's zipfile members (reproducible bytes)
      st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR: {
      if (len < 2 * sizeof(int)) return -1;
      int* e = static_cast<int*>(data);
      e[0] = ZIP_ER_INTERNAL;
      e[1] = 0;
      return 2 * sizeof(int);
    }
    case ZIP_SOURCE_FREE:
      delete c;
      return 0;
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                            ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
      return -1;
  }
}

}  // namespace

NpzWriter::NpzWriter(const std::string& path, int level) : path_(path), level_(level) {
  TG_CHECK(level >= 0 && level <= 9, "compression level ", level);
}

NpzWriter::~NpzWriter() = default;

void NpzWriter::add(const std::string& key, const NdArray& a) {
  add(key, NdArray(a));
}

void NpzWriter::add(const std::string& key, NdArray&& a) {
  for (const auto& m : members_) TG_CHECK(m->key != key, "duplicate npz key ", key);
  auto m = std::make_unique<Member>();
  m->key = key;
  m->header = format_npy_header(a.dtype(), a.shape());
  m->data_bytes = a.nbytes();
  m->owned = std::move(a);
  Member* raw = m.get();
  m->produce = [raw](uint8_t* dst, uint64_t off, uint64_t n) {
    std::memcpy(dst, raw->owned.raw() + off, n);
  };
  members_.push_back(std::move(m));
}

void NpzWriter::add_stream(const std::string& key, DType dtype, std::vector<int64_t> shape,
                           Producer produce) {
  for (const auto& m : members_) TG_CHECK(m->key != key, "duplicate npz key ", key);
  auto m = std::make_unique<Member>();
  m->key = key;
  NpyHeader h;
  h.dtype = dtype;
  h.shape = shape;
  m->header = format_npy_header(dtype, shape);
  m->data_bytes = h.data_bytes();
  m->produce = std::move(produce);
  members_.push_back(std::move(m));
}

void NpzWriter::commit() {
  TG_CHECK(!committed_, "NpzWriter::commit called twice");
  committed_ = true;
  int err = 0;
  zip_t* za = zip_open(path_.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) throw_error(path_, "", "a writable .npz path", zip_error_text(err));
  auto fail = [&](const std::string& what) {
    zip_discard(za);  // nothing is written: libzip only renames its temp file in zip_close
    throw_error(path_, "", "a complete write", what);
  };
  for (auto& m : members_) {
    auto* ctx = new SourceCtx{&m->header, &m->data_bytes, &m->produce, &m->pos, &m->error};
    zip_source_t* s = zip_source_function(za, member_source_cb, ctx);
    if (!s) {
      delete ctx;
      fail("cannot create a zip source");
    }
    zip_int64_t idx = zip_file_add(za, (m->key + ".npy").c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      fail(zip_error_strerror(zip_get_error(za)));
    }
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx),
                                 level_ == 0 ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                                 static_cast<zip_uint32_t>(level_)) != 0)
      fail(zip_error_strerror(zip_get_error(za)));
    zip_file_set_mtime(za, static_cast<zip_uint64_t>(idx), 315532800, 0);
  }
  if (zip_close(za) != 0) {
    std::string msg = zip_error_strerror(zip_get_error(za));
    for (auto& m : members_)
      if (!m->error.empty()) msg = m->key + ": " + m->error;
    zip_discard(za);
    throw_error(path_, "", "a complete write", msg);
  }
  members_.clear();
}

bool looks_like_zip(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char b[4] = {0, 0, 0, 0};
  f.read(b, 4);
  return f.gcount() == 4 && b[0] == 'P' && b[1] == 'K' &&
         ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

}  // namespace tgraph
