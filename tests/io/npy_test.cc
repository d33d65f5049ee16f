#include "tgraph/io/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "../test_util.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

NpyHeader parse(const std::string& bytes) {
  NpyHeader h;
  size_t need = 0;
  bool ok = parse_npy_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.npy",
                             &h, &need);
  if (!ok) throw std::runtime_error("short");
  return h;
}

std::string v1(const std::string& dict) {
  std::string h = "\x93NUMPY";
  h += '\x01';
  h += '\0';
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>(dict.size() >> 8);
  return h + dict;
}

std::string error_of(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(NpyHeader, FormatMatchesNumpyLayout) {
  std::string h = format_npy_header(DType::kF32, {372, 140});
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h.find("{'descr': '<f4', 'fortran_order': False, 'shape': (372, 140), }"), 10u);
  EXPECT_EQ(h.back(), '\n');
  EXPECT_NE(format_npy_header(DType::kI64, {5}).find("'shape': (5,), }"), std::string::npos);
  EXPECT_NE(format_npy_header(DType::kU8, {}).find("'shape': (), }"), std::string::npos);
}

TEST(NpyHeader, RoundTripsAllDtypes) {
  for (DType t : {DType::kBool, DType::kI8, DType::kU8, DType::kI16, DType::kU16, DType::kI32,
                  DType::kU32, DType::kI64, DType::kU64, DType::kF32, DType::kF64}) {
    NpyHeader h = parse(format_npy_header(t, {3, 0, 7}, true));
    EXPECT_EQ(h.dtype, t);
    EXPECT_EQ(h.shape, (std::vector<int64_t>{3, 0, 7}));
    EXPECT_TRUE(h.fortran_order);
    EXPECT_EQ(h.data_bytes(), 0u);
  }
}

TEST(NpyHeader, AcceptsVersion2BigEndianAndPython2Longs) {
  std::string dict = "{'descr': '>i4', 'fortran_order': False, 'shape': (2L, 3L), }\n";
  std::string b = "\x93NUMPY";
  b += '\x02';
  b += '\0';
  b += static_cast<char>(dict.size());
  b += std::string(3, '\0');
  b += dict;
  NpyHeader h = parse(b);
  EXPECT_EQ(h.major_version, 2);
  EXPECT_EQ(h.dtype, DType::kI32);
  EXPECT_TRUE(h.byte_swap);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.data_offset, 12 + dict.size());
}

TEST(NpyHeader, ReportsWhatIsWrong) {
  EXPECT_NE(
      error_of(std::string("NUMPY\x01\x00\x10\x00", 9) + std::string(20, 'x')).find("npy magic"),
      std::string::npos);
  EXPECT_NE(error_of(v1("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }")).find("'<c8'"),
            std::string::npos);
  EXPECT_NE(error_of(v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"))
                .find("structured"),
            std::string::npos);
  EXPECT_NE(error_of(v1("{'descr': '<f4', 'shape': (2,), }")).find("fortran_order"),
            std::string::npos);
  EXPECT_NE(error_of(v1("{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }"))
                .find("True or False"),
            std::string::npos);
  EXPECT_NE(error_of(v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"))
                .find("non-negative"),
            std::string::npos);
  std::string bad_version = "\x93NUMPY\x07";
  bad_version += std::string("\x00\x10\x00", 3) + std::string(20, ' ');
  EXPECT_NE(error_of(bad_version).find("npy version"), std::string::npos);
}

TEST(NpyHeader, RejectsTrailingJunkInDtypesAndTooManyDimensions) {
  // std::stoul alone would read '<f4junk' as '<f4'.
  EXPECT_NE(error_of(v1("{'descr': '<f4junk', 'fortran_order': False, 'shape': (2,), }"))
                .find("descr: expected a dtype like '<f4', found '<f4junk'"),
            std::string::npos);
  EXPECT_NE(
      error_of(v1("{'descr': '<f 4', 'fortran_order': False, 'shape': (2,), }")).find("descr"),
      std::string::npos);
  std::string dims = "(";
  for (int i = 0; i < 65; ++i) dims += "1,";
  dims += ")";
  EXPECT_NE(error_of(v1("{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + ", }"))
                .find("at most 64 dimensions"),
            std::string::npos);
  EXPECT_NO_THROW(parse(v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }")));
}

TEST(NpyHeader, AsksForMoreBytesWhenShort) {
  std::string full = format_npy_header(DType::kF32, {4});
  NpyHeader h;
  size_t need = 0;
  EXPECT_FALSE(parse_npy_header(reinterpret_cast<const uint8_t*>(full.data()), 20, "t", &h, &need));
  EXPECT_EQ(need, full.size());
}

TEST(NpyHeader, OverflowingShapeIsNotSmall) {
  NpyHeader h;
  h.dtype = DType::kF64;
  h.shape = {int64_t(1) << 40, int64_t(1) << 40};
  EXPECT_GT(h.data_bytes(), uint64_t(1) << 62);
}

TEST(NdArray, FortranToCOrder) {
  // F-order bytes of [[0,1,2],[3,4,5]] are 0,3,1,4,2,5.
  std::vector<int32_t> f = {0, 3, 1, 4, 2, 5}, c(6);
  fortran_to_c_order(reinterpret_cast<uint8_t*>(f.data()), reinterpret_cast<uint8_t*>(c.data()),
                     {2, 3}, 4);
  EXPECT_EQ(c, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  // 3-D: shape (2,2,2), F-order element (i,j,k) at i + 2j + 4k.
  std::vector<int16_t> f3(8), c3(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k)
        f3[i + 2 * j + 4 * k] = static_cast<int16_t>(100 * i + 10 * j + k);
  fortran_to_c_order(reinterpret_cast<uint8_t*>(f3.data()), reinterpret_cast<uint8_t*>(c3.data()),
                     {2, 2, 2}, 2);
  EXPECT_EQ(c3, (std::vector<int16_t>{0, 1, 10, 11, 100, 101, 110, 111}));
}

TEST(NdArray, TypedAccessChecksDtype) {
  NdArray a = NdArray::from_vector(std::vector<float>{1.5f, -2.f}, {2});
  EXPECT_EQ(a.data<float>()[1], -2.f);
  EXPECT_THROW(a.data<double>(), InternalError);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));
}

TEST(NpyFile, WriterIsByteIdenticalToNumpySave) {
  if (!test::have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not installed";
  test::TempDir d;
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = 0.25f * i - 1.f;
  write_npy_file(d.file("ours.npy"), NdArray::from_vector(v, {3, 4}));
  std::vector<int64_t> w = {5, -7, 1LL << 40};
  write_npy_file(d.file("ours_i.npy"), NdArray::from_vector(w, {3}));
  test::run_python(
      "import numpy as np\n"
      "np.save('" +
      d.file("np.npy") +
      "', (np.arange(12, dtype=np.float32)*0.25-1).reshape(3,4))\n"
      "np.save('" +
      d.file("np_i.npy") + "', np.array([5,-7,1<<40], dtype=np.int64))\n");
  EXPECT_EQ(test::read_bytes(d.file("ours.npy")), test::read_bytes(d.file("np.npy")));
  EXPECT_EQ(test::read_bytes(d.file("ours_i.npy")), test::read_bytes(d.file("np_i.npy")));
}

TEST(NpyFile, ReadsNumpyFortranAndBigEndian) {
  if (!test::have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not installed";
  test::TempDir d;
  test::run_python(
      "import numpy as np\n"
      "a = np.arange(24, dtype=np.float64).reshape(2,3,4)\n"
      "np.save('" +
      d.file("f.npy") +
      "', np.asfortranarray(a))\n"
      "np.save('" +
      d.file("b.npy") + "', a.astype('>i4'))\n");
  NdArray f = read_npy_file(d.file("f.npy"));
  NdArray b = read_npy_file(d.file("b.npy"));
  ASSERT_EQ(f.shape(), (std::vector<int64_t>{2, 3, 4}));
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(f.data<double>()[i], i);
    EXPECT_EQ(b.data<int32_t>()[i], i);
  }
}

}  // namespace tgraph
