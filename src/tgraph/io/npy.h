// NPY arrays: the header format of numpy's .npy files and an owning n-d array container.
//
// Hand-written because no packaged C++ npy parser exists. Supports format versions 1.0, 2.0 and
// 3.0, C and Fortran order, little/big/native byte order, and the dtypes TpuGraphs and tgraph use.
// NdArray always holds C-order, native (little-endian) data: readers convert on load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tgraph {

enum class DType { kBool, kI8, kU8, kI16, kU16, kI32, kU32, kI64, kU64, kF32, kF64 };

// numpy descr as written by tgraph ("<f4", "|u1", ...).
const char* dtype_descr(DType t);
size_t dtype_size(DType t);
bool dtype_is_float(DType t);
bool dtype_is_integer(DType t);  // bool is not an integer here

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::kI8;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::kU8;
}
template <>
constexpr DType dtype_of<int16_t>() {
  return DType::kI16;
}
template <>
constexpr DType dtype_of<uint16_t>() {
  return DType::kU16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<uint32_t>() {
  return DType::kU32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<uint64_t>() {
  return DType::kU64;
}
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kF64;
}

struct NpyHeader {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  bool fortran_order = false;
  bool byte_swap = false;  // stored big-endian; readers swap to native
  int major_version = 1;
  size_t data_offset = 0;  // bytes from the start of the .npy to the first element

  int64_t numel() const;          // product of shape (1 for a 0-d array)
  uint64_t data_bytes() const;    // numel * itemsize, overflow-checked
  std::string shape_str() const;  // "(372, 140)" like numpy
};

// Parses the header at the start of `bytes` (avail bytes available). `source` names the file/member
// for error messages. If the buffer is too short to hold the declared header, sets *need to the
// number of bytes required and returns false; otherwise returns true or throws tgraph::Error.
bool parse_npy_header(const uint8_t* bytes, size_t avail, const std::string& source, NpyHeader* out,
                      size_t* need);

// The full header block (magic .. padding .. '\n'), version 1.0 unless the dict needs 2.0;
// its length is a multiple of 64 like numpy's.
std::string format_npy_header(DType dtype, const std::vector<int64_t>& shape,
                              bool fortran_order = false);

std::string shape_to_string(const std::vector<int64_t>& shape);

// Owning, C-order n-d array of one dtype.
class NdArray {
 public:
  NdArray() = default;
  NdArray(DType dtype, std::vector<int64_t> shape);  // zero-filled
  // Takes C-order bytes that were filled elsewhere (size must match the shape).
  NdArray(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t>&& data);

  template <typename T>
  static NdArray from_vector(const std::vector<T>& v, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t ndim() const { return shape_.size(); }
  int64_t numel() const;
  size_t nbytes() const { return data_.size(); }
  uint8_t* raw() { return data_.data(); }
  const uint8_t* raw() const { return data_.data(); }

  // Typed access; throws InternalError if T does not match the dtype.
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;

  // Copies the elements converted to T (any numeric dtype, bool as 0/1).
  template <typename T>
  std::vector<T> to_vector() const;

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> data_;
};

// Reorders Fortran-order element bytes into C order (shape as declared).
void fortran_to_c_order(const uint8_t* src, uint8_t* dst, const std::vector<int64_t>& shape,
                        size_t itemsize);
// Byte-swaps each element in place.
void byte_swap_inplace(uint8_t* data, size_t count, size_t itemsize);

// Whole .npy files (small arrays, tests, tooling).
NdArray read_npy_file(const std::string& path);
void write_npy_file(const std::string& path, const NdArray& a);

}  // namespace tgraph
