#include "tgraph/io/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {

struct DTypeRow {
  DType t;
  char kind;  // numpy kind letter
  size_t size;
  const char* descr;
};

constexpr DTypeRow kDTypes[] = {
    {DType::kBool, 'b', 1, "|b1"}, {DType::kI8, 'i', 1, "|i1"},  {DType::kU8, 'u', 1, "|u1"},
    {DType::kI16, 'i', 2, "<i2"},  {DType::kU16, 'u', 2, "<u2"}, {DType::kI32, 'i', 4, "<i4"},
    {DType::kU32, 'u', 4, "<u4"},  {DType::kI64, 'i', 8, "<i8"}, {DType::kU64, 'u', 8, "<u8"},
    {DType::kF32, 'f', 4, "<f4"},  {DType::kF64, 'f', 8, "<f8"},
};

const DTypeRow& row_of(DType t) {
  for (const auto& r : kDTypes)
    if (r.t == t) return r;
  throw InternalError("unknown dtype");
}

// Minimal parser for the Python dict literal numpy writes in the header.
class DictParser {
 public:
  DictParser(const std::string& s, const std::string& source) : s_(s), source_(source) {}

  void parse(NpyHeader* h) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          fail("descr", "a simple dtype string", "a structured dtype (not supported)");
        parse_descr(parse_string(), h);
        have_descr = true;
      } else if (key == "fortran_order") {
        h->fortran_order = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        h->shape = parse_shape();
        have_shape = true;
      } else {
        fail("header", "keys descr, fortran_order, shape", "unknown key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() == '}') break;
      fail("header", "',' or '}'", quote_here());
    }
    if (!have_descr) fail("header", "key 'descr'", "none");
    if (!have_fortran) fail("header", "key 'fortran_order'", "none");
    if (!have_shape) fail("header", "key 'shape'", "none");
  }

 private:
  [[noreturn]] void fail(const std::string& field, const std::string& expected,
                         const std::string& found) {
    throw_error(source_, "npy " + field, expected, found);
  }
  std::string quote_here() {
    if (pos_ >= s_.size()) return "end of header";
    return "'" + s_.substr(pos_, 12) + "'";
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail("header", std::string("'") + c + "'", quote_here());
    ++pos_;
  }
  std::string parse_string() {
    char q = peek();
    if (q != '\'' && q != '"') fail("header", "a quoted string", quote_here());
    ++pos_;
    size_t end = s_.find(q, pos_);
    if (end == std::string::npos) fail("header", "a closing quote", "end of header");
    std::string r = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return r;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("fortran_order", "True or False", quote_here());
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> shape;
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        fail("shape", "a non-negative integer", quote_here());
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        int d = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10)
          fail("shape", "a dimension below 2^63", "an overflowing value");
        v = v * 10 + d;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      if (shape.size() == 64) fail("shape", "at most 64 dimensions (numpy's limit)", "more");
      shape.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != ')') fail("shape", "',' or ')'", quote_here());
    }
    return shape;
  }
  void parse_descr(const std::string& d, NpyHeader* h) {
    if (d.size() < 3) fail("descr", "a dtype like '<f4'", "'" + d + "'");
    char order = d[0], kind = d[1];
    // Digits only after the kind: std::stoul alone would accept '<f4junk' as '<f4'.
    size_t size = 0;
    for (size_t i = 2; i < d.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(d[i])) || i > 4)
        fail("descr", "a dtype like '<f4'", "'" + d + "'");
      size = size * 10 + static_cast<size_t>(d[i] - '0');
    }
    if (order != '<' && order != '>' && order != '|' && order != '=')
      fail("descr", "byte order '<', '>', '|' or '='", "'" + d + "'");
    for (const auto& r : kDTypes) {
      if (r.kind == kind && r.size == size) {
        h->dtype = r.t;
        h->byte_swap = (order == '>' && size > 1);
        return;
      }
    }
    fail("descr", "one of <f4 <f8 |u1 |i1 <i2 <u2 <i4 <u4 <i8 <u8 |b1", "'" + d + "'");
  }

  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

const char* dtype_descr(DType t) {
  return row_of(t).descr;
}
size_t dtype_size(DType t) {
  return row_of(t).size;
}
bool dtype_is_float(DType t) {
  return t == DType::kF32 || t == DType::kF64;
}
bool dtype_is_integer(DType t) {
  return !dtype_is_float(t) && t != DType::kBool;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

int64_t NpyHeader::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t NpyHeader::data_bytes() const {
  // Overflow-checked: a corrupt header must not wrap around into a small allocation.
  unsigned __int128 n = dtype_size(dtype);
  for (int64_t d : shape) {
    n *= static_cast<uint64_t>(d);
    if (n > (static_cast<unsigned __int128>(1) << 62)) return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(n);
}

std::string NpyHeader::shape_str() const {
  return shape_to_string(shape);
}

bool parse_npy_header(const uint8_t* b, size_t avail, const std::string& source, NpyHeader* out,
                      size_t* need) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (avail < 10) {
    *need = 10;
    return false;
  }
  if (std::memcmp(b, kMagic, 6) != 0) {
    std::string found;
    for (int i = 0; i < 6; ++i) found += TG_STR(std::hex << int(b[i]) << (i < 5 ? " " : ""));
    throw_error(source, "npy magic", "bytes 93 4e 55 4d 50 59 ('\\x93NUMPY')", found);
  }
  int major = b[6];
  size_t hlen = 0, prefix = 0;
  if (major == 1) {
    hlen = b[8] | (size_t(b[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (avail < 12) {
      *need = 12;
      return false;
    }
    hlen = b[8] | (size_t(b[9]) << 8) | (size_t(b[10]) << 16) | (size_t(b[11]) << 24);
    prefix = 12;
  } else {
    throw_error(source, "npy version", "1.0, 2.0 or 3.0", TG_STR(major << "." << int(b[7])));
  }
  if (hlen > (size_t(1) << 26))
    throw_error(source, "npy header length", "at most 64 MiB", TG_STR(hlen << " bytes"));
  if (avail < prefix + hlen) {
    *need = prefix + hlen;
    return false;
  }
  std::string dict(reinterpret_cast<const char*>(b + prefix), hlen);
  NpyHeader h;
  DictParser(dict, source).parse(&h);
  h.major_version = major;
  h.data_offset = prefix + hlen;
  *out = h;
  return true;
}

std::string format_npy_header(DType dtype, const std::vector<int64_t>& shape, bool fortran_order) {
  std::string dict = std::string("{'descr': '") + dtype_descr(dtype) +
                     "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                     ", 'shape': " + shape_to_string(shape) + ", }";
  // Pad with spaces + '\n' so the data starts at a multiple of 64 bytes, as numpy does.
  auto build = [&](int major) {
    size_t prefix = major == 1 ? 10 : 12;
    size_t total = prefix + dict.size() + 1;
    size_t padded = (total + 63) / 64 * 64;
    std::string h;
    h.reserve(padded);
    h += "\x93NUMPY";
    h += static_cast<char>(major);
    h += '\0';
    size_t hlen = padded - prefix;
    h += static_cast<char>(hlen & 0xff);
    h += static_cast<char>((hlen >> 8) & 0xff);
    if (major != 1) {
      h += static_cast<char>((hlen >> 16) & 0xff);
      h += static_cast<char>((hlen >> 24) & 0xff);
    }
    h += dict;
    h.append(padded - prefix - dict.size() - 1, ' ');
    h += '\n';
    return h;
  };
  std::string h = build(1);
  if (h.size() - 10 > 65535) h = build(2);
  return h;
}

NdArray::NdArray(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  int64_t n = numel();
  TG_CHECK(n >= 0, "negative shape");
  data_.assign(static_cast<size_t>(n) * dtype_size(dtype_), 0);
}

NdArray::NdArray(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t>&& data)
    : dtype_(dtype), shape_(std::move(shape)), data_(std::move(data)) {
  TG_CHECK(numel() >= 0 && data_.size() == static_cast<size_t>(numel()) * dtype_size(dtype_),
           "data size does not match the shape");
}

int64_t NdArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

template <typename T>
NdArray NdArray::from_vector(const std::vector<T>& v, std::vector<int64_t> shape) {
  NdArray a(dtype_of<T>(), std::move(shape));
  TG_CHECK(static_cast<int64_t>(v.size()) == a.numel(), "from_vector: size ", v.size(),
           " does not match shape ", shape_to_string(a.shape()));
  if (!v.empty()) std::memcpy(a.raw(), v.data(), v.size() * sizeof(T));
  return a;
}

template <typename T>
T* NdArray::data() {
  TG_CHECK(dtype_of<T>() == dtype_, "typed access with ", dtype_descr(dtype_of<T>()),
           " on an array of ", dtype_descr(dtype_));
  return reinterpret_cast<T*>(data_.data());
}

template <typename T>
const T* NdArray::data() const {
  TG_CHECK(dtype_of<T>() == dtype_, "typed access with ", dtype_descr(dtype_of<T>()),
           " on an array of ", dtype_descr(dtype_));
  return reinterpret_cast<const T*>(data_.data());
}

namespace {
template <typename S, typename T>
void convert_copy(const uint8_t* src, size_t n, T* dst) {
  const S* s = reinterpret_cast<const S*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(s[i]);
}
}  // namespace

template <typename T>
std::vector<T> NdArray::to_vector() const {
  size_t n = static_cast<size_t>(numel());
  std::vector<T> out(n);
  const uint8_t* s = data_.data();
  switch (dtype_) {
    case DType::kBool:
      convert_copy<uint8_t>(s, n, out.data());
      break;
    case DType::kI8:
      convert_copy<int8_t>(s, n, out.data());
      break;
    case DType::kU8:
      convert_copy<uint8_t>(s, n, out.data());
      break;
    case DType::kI16:
      convert_copy<int16_t>(s, n, out.data());
      break;
    case DType::kU16:
      convert_copy<uint16_t>(s, n, out.data());
      break;
    case DType::kI32:
      convert_copy<int32_t>(s, n, out.data());
      break;
    case DType::kU32:
      convert_copy<uint32_t>(s, n, out.data());
      break;
    case DType::kI64:
      convert_copy<int64_t>(s, n, out.data());
      break;
    case DType::kU64:
      convert_copy<uint64_t>(s, n, out.data());
      break;
    case DType::kF32:
      convert_copy<float>(s, n, out.data());
      break;
    case DType::kF64:
      convert_copy<double>(s, n, out.data());
      break;
  }
  return out;
}

#define TG_INSTANTIATE(T)                                                                \
  template NdArray NdArray::from_vector<T>(const std::vector<T>&, std::vector<int64_t>); \
  template T* NdArray::data<T>();                                                        \
  template const T* NdArray::data<T>() const;                                            \
  template std::vector<T> NdArray::to_vector<T>() const;
TG_INSTANTIATE(int8_t)
TG_INSTANTIATE(uint8_t)
TG_INSTANTIATE(int16_t)
TG_INSTANTIATE(uint16_t)
TG_INSTANTIATE(int32_t)
TG_INSTANTIATE(uint32_t)
TG_INSTANTIATE(int64_t)
TG_INSTANTIATE(uint64_t)
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

void fortran_to_c_order(const uint8_t* src, uint8_t* dst, const std::vector<int64_t>& shape,
                        size_t itemsize) {
  const size_t nd = shape.size();
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  if (nd <= 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * itemsize);
    return;
  }
  // Walk destination (C order) with an odometer; source strides are Fortran strides.
  std::vector<int64_t> fstride(nd), idx(nd, 0);
  int64_t s = 1;
  for (size_t i = 0; i < nd; ++i) {
    fstride[i] = s;
    s *= shape[i];
  }
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    std::memcpy(dst + k * itemsize, src + off * itemsize, itemsize);
    for (size_t ax = nd; ax-- > 0;) {
      if (++idx[ax] < shape[ax]) {
        off += fstride[ax];
        break;
      }
      off -= fstride[ax] * (shape[ax] - 1);
      idx[ax] = 0;
    }
  }
}

void byte_swap_inplace(uint8_t* data, size_t count, size_t itemsize) {
  if (itemsize <= 1) return;
  for (size_t i = 0; i < count; ++i) {
    uint8_t* p = data + i * itemsize;
    for (size_t a = 0, b = itemsize - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
  }
}

NdArray read_npy_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw_error(path, "", "a readable .npy file", "cannot open");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  NpyHeader h;
  size_t need = 0;
  if (!parse_npy_header(b, bytes.size(), path, &h, &need))
    throw_error(path, "npy header", TG_STR(need << " bytes"),
                TG_STR(bytes.size() << " bytes in the file"));
  uint64_t nb = h.data_bytes();
  if (nb != bytes.size() - h.data_offset)
    throw_error(path, "npy data",
                TG_STR(nb << " bytes for shape " << h.shape_str() << " " << dtype_descr(h.dtype)),
                TG_STR(bytes.size() - h.data_offset << " bytes"));
  NdArray a(h.dtype, h.shape);
  if (h.fortran_order)
    fortran_to_c_order(b + h.data_offset, a.raw(), h.shape, dtype_size(h.dtype));
  else if (nb)
    std::memcpy(a.raw(), b + h.data_offset, nb);
  if (h.byte_swap) byte_swap_inplace(a.raw(), static_cast<size_t>(a.numel()), dtype_size(h.dtype));
  return a;
}

void write_npy_file(const std::string& path, const NdArray& a) {
  AtomicFile out(path);
  std::string h = format_npy_header(a.dtype(), a.shape());
  out.stream().write(h.data(), static_cast<std::streamsize>(h.size()));
  out.stream().write(reinterpret_cast<const char*>(a.raw()),
                     static_cast<std::streamsize>(a.nbytes()));
  out.commit();
}

}  // namespace tgraph
