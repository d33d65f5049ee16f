#include "tgraph/io/npz.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

// numpy writes every kind of member we must read; it reports the exact bytes it wrote.
const char* kMakeNumpyArchives = R"PY(
import numpy as np, zipfile, json, sys
d = sys.argv[1] if len(sys.argv) > 1 else DIR
rng = np.random.default_rng(0)
arrs = {
  'f4': rng.standard_normal((7, 5)).astype('<f4'),
  'f8': rng.standard_normal((3, 2, 2)),
  'u1': rng.integers(0, 255, 11).astype(np.uint8),
  'i1': rng.integers(-128, 127, (2, 5)).astype(np.int8),
  'i4': rng.integers(-2**31, 2**31 - 1, 6).astype(np.int32),
  'i8': rng.integers(-2**62, 2**62, (4, 2)).astype(np.int64),
  'b1': rng.random(9) > 0.5,
  'fort': np.asfortranarray(rng.standard_normal((4, 3, 2)).astype('<f4')),
  'empty': np.zeros((0, 3), np.int64),
  'scalar': np.array(3.5),
  'big': np.arange(100000 * 3, dtype=np.int32).reshape(100000, 3) * 7 - 5,
}
np.savez(d + '/stored.npz', **arrs)
np.savez_compressed(d + '/deflated.npz', **arrs)
extra = {'v2': rng.standard_normal((5, 3)).astype('<f4'), 'be': rng.standard_normal((4, 2)).astype('>f8')}
with zipfile.ZipFile(d + '/v2.npz', 'w', zipfile.ZIP_DEFLATED) as z:
  with z.open('v2.npy', 'w', force_zip64=True) as f:
    np.lib.format.write_array(f, extra['v2'], version=(2, 0))
  with z.open('be.npy', 'w', force_zip64=True) as f:
    np.lib.format.write_array(f, extra['be'])
arrs.update(extra)
out = {}
for k, a in arrs.items():
  c = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
  out[k] = {'descr': c.dtype.str, 'shape': list(a.shape), 'hex': c.tobytes().hex()}
print(json.dumps(out))
)PY";

std::string py_with_dir(const std::string& code, const std::string& dir) {
  return "DIR = '" + dir + "'\n" + code;
}

}  // namespace

class NpzNumpy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not installed";
    expected_ = nlohmann::json::parse(
        test::run_python(py_with_dir(kMakeNumpyArchives, dir_.path().string())));
  }
  void expect_member(NpzReader& r, const std::string& key) {
    SCOPED_TRACE(r.path() + "[" + key + "]");
    const auto& e = expected_.at(key);
    NdArray a = r.read(key);
    std::string descr = dtype_descr(a.dtype());
    std::string want = e.at("descr").get<std::string>();
    // numpy writes '|b1', '|u1', '|i1' and '<f8' etc.; our table uses the same spellings.
    EXPECT_EQ(descr, want);
    EXPECT_EQ(a.shape(), e.at("shape").get<std::vector<int64_t>>());
    EXPECT_EQ(test::hex_of(a), e.at("hex").get<std::string>());
  }
  test::TempDir dir_;
  nlohmann::json expected_;
};

TEST_F(NpzNumpy, ReadsStoredAndDeflatedBitExactly) {
  for (const char* f : {"stored.npz", "deflated.npz"}) {
    NpzReader r(dir_.file(f));
    EXPECT_EQ(r.members().size(), 11u);
    EXPECT_EQ(r.member("big").deflated, std::string(f) == "deflated.npz");
    for (const char* k :
         {"f4", "f8", "u1", "i1", "i4", "i8", "b1", "fort", "empty", "scalar", "big"})
      expect_member(r, k);
    EXPECT_TRUE(r.header("fort").fortran_order);
  }
}

TEST_F(NpzNumpy, ReadsVersion2AndBigEndianMembers) {
  NpzReader r(dir_.file("v2.npz"));
  EXPECT_EQ(r.header("v2").major_version, 2);
  expect_member(r, "v2");
  expect_member(r, "be");
}

TEST_F(NpzNumpy, RowRangesMatchTheWholeArray) {
  for (const char* f : {"stored.npz", "deflated.npz"}) {
    NpzReader r(dir_.file(f));
    NdArray whole = r.read("big");
    const int32_t* w = whole.data<int32_t>();
    for (auto [b, e] : std::vector<std::pair<int64_t, int64_t>>{
             {0, 1}, {12345, 12400}, {99990, 100000}, {500, 500}}) {
      NdArray part = r.read_rows("big", b, e);
      ASSERT_EQ(part.shape(), (std::vector<int64_t>{e - b, 3}));
      EXPECT_EQ(std::memcmp(part.raw(), w + b * 3, part.nbytes()), 0) << f << " rows " << b;
    }
    // Fortran-order members are sliced after a full read.
    NdArray fr = r.read_rows("fort", 1, 3);
    NdArray fw = r.read("fort");
    EXPECT_EQ(std::memcmp(fr.raw(), fw.raw() + 1 * 6 * 4, fr.nbytes()), 0);
    // Streaming in chunks reassembles the array.
    std::vector<int32_t> got;
    int64_t expect_row = 0;
    r.for_each_rows("big", 999, [&](const NdArray& c, int64_t r0) {
      EXPECT_EQ(r0, expect_row);
      expect_row += c.dim(0);
      got.insert(got.end(), c.data<int32_t>(), c.data<int32_t>() + c.numel());
    });
    EXPECT_EQ(expect_row, 100000);
    EXPECT_EQ(std::memcmp(got.data(), w, whole.nbytes()), 0);
  }
}

TEST_F(NpzNumpy, WriterOutputLoadsInNumpyWithExactDtypesAndBytes) {
  for (int level : {0, 6}) {
    std::string path = dir_.file("ours" + std::to_string(level) + ".npz");
    {
      NpzReader src(dir_.file("deflated.npz"));
      NpzWriter w(path, level);
      for (const auto& k : src.keys()) w.add(k, src.read(k));
      // A streamed member: bytes produced on demand in arbitrary slices.
      w.add_stream("streamed", DType::kI64, {1000, 3}, [](uint8_t* dst, uint64_t off, uint64_t n) {
        for (uint64_t i = 0; i < n; ++i) {
          uint64_t pos = off + i, elem = pos / 8, byte = pos % 8;
          int64_t v = static_cast<int64_t>(elem * 1000003) - 77;
          dst[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * byte));
        }
      });
      w.commit();
    }
    std::string got = test::run_python(
        "import numpy as np, json, zipfile\n"
        "p = '" +
        path +
        "'\n"
        "assert zipfile.ZipFile(p).testzip() is None\n"
        "d = np.load(p, allow_pickle=False)\n"
        "out = {}\n"
        "for k in d.files:\n"
        "  a = d[k]\n"
        "  out[k] = {'descr': a.dtype.str, 'shape': list(a.shape), 'hex': a.tobytes().hex(),\n"
        "            'c': bool(a.flags.c_contiguous)}\n"
        "s = d['streamed']\n"
        "out['streamed_ok'] = bool((s.ravel() == np.arange(3000, dtype=np.int64) * 1000003 - "
        "77).all())\n"
        "print(json.dumps(out))\n");
    auto j = nlohmann::json::parse(got);
    for (const char* k :
         {"f4", "f8", "u1", "i1", "i4", "i8", "b1", "fort", "empty", "scalar", "big"}) {
      SCOPED_TRACE(std::string(k) + " level " + std::to_string(level));
      EXPECT_EQ(j.at(k).at("descr"), expected_.at(k).at("descr"));
      EXPECT_EQ(j.at(k).at("shape"), expected_.at(k).at("shape"));
      EXPECT_EQ(j.at(k).at("hex"), expected_.at(k).at("hex"));
    }
    EXPECT_TRUE(j.at("streamed_ok").get<bool>());
    NpzReader back(path);
    EXPECT_EQ(back.member("big").deflated, level > 0);
    EXPECT_EQ(back.keys().front(), "f4");  // call order is member order
  }
}

TEST(NpzWriter, WritesNothingWithoutCommitOrOnProducerFailure) {
  test::TempDir d;
  {
    NpzWriter w(d.file("a.npz"));
    w.add("x", std::vector<float>{1, 2}, {2});
  }
  EXPECT_FALSE(std::filesystem::exists(d.file("a.npz")));
  NpzWriter w(d.file("b.npz"));
  w.add_stream("x", DType::kF32, {100}, [](uint8_t*, uint64_t, uint64_t) {
    throw_error("producer", "x", "data", "a failure");
  });
  EXPECT_THROW(w.commit(), Error);
  EXPECT_FALSE(std::filesystem::exists(d.file("b.npz")));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 0);
}

TEST(NpzReader, RealAlexnetFileMatchesNumpyFacts) {
  std::string p = test::shared_dir() + "/data/real/cleaned_alexnet.npz";
  if (!std::filesystem::exists(p)) GTEST_SKIP() << "no " << p;
  NpzReader r(p);
  auto keys = r.keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"config_runtime", "edge_index", "node_config_feat",
                                            "node_config_ids", "node_feat", "node_opcode",
                                            "node_splits"}));
  NpyHeader nf = r.header("node_feat");
  EXPECT_TRUE(nf.fortran_order);
  EXPECT_EQ(nf.dtype, DType::kF32);
  EXPECT_EQ(nf.shape, (std::vector<int64_t>{372, 70}));
  EXPECT_EQ(r.header("node_opcode").dtype, DType::kU8);
  EXPECT_EQ(r.header("edge_index").shape, (std::vector<int64_t>{597, 2}));
  EXPECT_EQ(r.header("node_config_feat").shape, (std::vector<int64_t>{47712, 26, 10}));
  NdArray rt = r.read("config_runtime");
  ASSERT_EQ(rt.dtype(), DType::kI64);
  ASSERT_EQ(rt.numel(), 47712);
  const int64_t* v = rt.data<int64_t>();
  EXPECT_EQ(*std::min_element(v, v + 47712), 79542164);
  EXPECT_EQ(*std::max_element(v, v + 47712), 428789334);
  EXPECT_EQ(r.read("node_splits").to_vector<int64_t>(), (std::vector<int64_t>{0, 324, 372}));
  // Every edge is [user, operand] with user > operand.
  NdArray e = r.read("edge_index");
  for (int64_t i = 0; i < 597; ++i)
    EXPECT_GT(e.data<int64_t>()[2 * i], e.data<int64_t>()[2 * i + 1]);
  if (!test::have_numpy()) return;
  // Values of the Fortran-order member, element by element, against numpy.
  std::string hex =
      test::run_python("import numpy as np\nd = np.load('" + p +
                       "')\nprint(np.ascontiguousarray(d['node_feat']).tobytes().hex())\n");
  while (!hex.empty() && (hex.back() == '\n')) hex.pop_back();
  EXPECT_EQ(test::hex_of(r.read("node_feat")), hex);
  std::string cf =
      test::run_python("import numpy as np\nd = np.load('" + p +
                       "')\nprint(d['node_config_feat'][40000:40010].tobytes().hex())\n");
  while (!cf.empty() && (cf.back() == '\n')) cf.pop_back();
  EXPECT_EQ(test::hex_of(r.read_rows("node_config_feat", 40000, 40010)), cf);
}

TEST(NpzReader, TwoMembersForOneKeyAreRefused) {
  if (!test::have_numpy()) GTEST_SKIP() << "needs numpy";
  test::TempDir d;
  const std::string p = d.file("dup.npz");
  // 'config_runtime.npy' and 'config_runtime' both map to key config_runtime: which one a reader
  // takes would depend on member order.
  test::run_python(
      "import numpy as np, io, zipfile\n"
      "b = io.BytesIO(); np.save(b, np.arange(3))\n"
      "with zipfile.ZipFile('" +
      p +
      "', 'w') as z:\n"
      "    z.writestr('config_runtime.npy', b.getvalue())\n"
      "    z.writestr('config_runtime', b.getvalue())\n");
  std::string e = test::error_of([&] { NpzReader r(p); });
  EXPECT_NE(e.find("dup.npz: config_runtime: expected one member per key"), std::string::npos) << e;
}

}  // namespace tgraph
