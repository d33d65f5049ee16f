#include "tgraph/data/pack.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "../test_util.h"
#include "tgraph/data/features.h"
#include "tgraph/data/prune.h"
#include "tgraph/graph/inspect.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

// The source rows as int8, for comparison with read_configs.
std::vector<int8_t> source_rows_i8(const LayoutGraph& g, const std::vector<int64_t>& rows) {
  const int64_t rb = g.num_config_nodes * kLayoutConfigDim;
  std::vector<int8_t> out;
  for (int64_t r : rows)
    for (int64_t i = 0; i < rb; ++i) out.push_back(static_cast<int8_t>(g.config_row(r)[i]));
  return out;
}

std::vector<int8_t> read(const PackedGraph& p, const std::vector<int64_t>& rows) {
  std::vector<int8_t> out(rows.size() * p.config_row_bytes());
  p.read_configs(rows, out.data());
  return out;
}

std::vector<int64_t> iota(int64_t a, int64_t b) {
  std::vector<int64_t> v;
  for (int64_t i = a; i < b; ++i) v.push_back(i);
  return v;
}

template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Pack, GraphSectionsMatchPruneAndRepadOfTheSource) {
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(40, 5, 300));
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), PackOptions{});
  PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  LayoutGraph g = load_layout(d.file("g.npz"));
  PrunedGraph pr = prune_layout(g.edge_index, g.num_nodes, g.node_config_ids);

  EXPECT_EQ(p.stem(), "g");
  EXPECT_EQ(p.path(), d.file("g.tgpack"));
  EXPECT_TRUE(p.labelled());
  EXPECT_EQ(p.options(), PackOptions{});
  EXPECT_EQ(p.source_num_nodes(), 40);
  EXPECT_EQ(p.source_num_edges(), g.num_edges);
  EXPECT_EQ(p.source_num_configs(), 300);
  EXPECT_EQ(p.num_configs(), 300);
  EXPECT_EQ(p.duplicates_removed(), 0);
  EXPECT_EQ(p.num_nodes(), pr.num_nodes);
  EXPECT_LT(p.num_nodes(), 40);
  EXPECT_EQ(p.num_edges(), pr.num_edges());
  EXPECT_EQ(p.num_config_nodes(), 5);
  EXPECT_EQ(p.node_ids(), pr.node_ids);
  EXPECT_EQ(p.edge_index(), pr.edge_index);
  EXPECT_EQ(p.config_pos(), pr.config_pos);
  EXPECT_EQ(p.config_runtime(), g.config_runtime);
  EXPECT_EQ(p.source_rows(), iota(0, 300));
  std::vector<float> feat = gather_rows(g.node_feat.data(), kNodeFeatDim, pr.node_ids);
  repad_minor_to_major(feat.data(), pr.num_nodes);
  EXPECT_EQ(p.node_feat(), feat);
  EXPECT_EQ(p.node_opcode(), gather_rows(g.node_opcode.data(), 1, pr.node_ids));
  EXPECT_EQ(p.file_bytes(), fs::file_size(d.file("g.tgpack")));
}

TEST(Pack, ReadConfigsReturnsExactlyTheSourceRows) {
  test::TempDir d;
  for (int level : {0, 6}) {  // stored and deflated sources
    SCOPED_TRACE(level);
    test::write_layout(d.file("g.npz"), test::make_layout_arrays(30, 4, 1000), level);
    pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), PackOptions{});
    PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
    LayoutGraph g = load_layout(d.file("g.npz"));
    EXPECT_EQ(read(p, iota(0, 1000)), source_rows_i8(g, iota(0, 1000)));
    EXPECT_EQ(read(p, iota(990, 1000)), source_rows_i8(g, iota(990, 1000)));  // the last rows
    std::vector<int64_t> odd{999, 0, 998, 5, 5, 6, 7, 3};  // any order, repeats, runs
    EXPECT_EQ(read(p, odd), source_rows_i8(g, odd));
    std::mt19937 rng(11);
    for (int t = 0; t < 20; ++t) {
      std::vector<int64_t> rows = iota(0, 1000);
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(1 + rng() % 128);
      ASSERT_EQ(read(p, rows), source_rows_i8(g, rows));
    }
    EXPECT_TRUE(read(p, {}).empty());
  }
}

TEST(Pack, ConcurrentReadsAgree) {
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(30, 6, 500));
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), PackOptions{});
  const PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  LayoutGraph g = load_layout(d.file("g.npz"));
  std::vector<std::thread> ts;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(t);
      bool good = true;
      for (int i = 0; i < 50; ++i) {
        std::vector<int64_t> rows;
        for (int k = 0; k < 64; ++k) rows.push_back(rng() % 500);
        good &= read(p, rows) == source_rows_i8(g, rows);
      }
      ok[t] = good;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

TEST(Pack, EveryReachRoundTripsThroughTheHeaderWithItsGraph) {
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(40, 4, 10));
  LayoutGraph g = load_layout(d.file("g.npz"));
  for (Reach r :
       {Reach{}, Reach::whole(), Reach::with_hops(2), Reach::with_hops(16), Reach::contract()}) {
    PackOptions o;
    o.reach = r;
    pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), o);
    PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
    EXPECT_EQ(p.options(), o) << r.str();
    PrunedGraph want = prune_layout(g.edge_index, g.num_nodes, g.node_config_ids, r);
    EXPECT_EQ(p.edge_index(), want.edge_index) << r.str();
    EXPECT_EQ(p.node_ids(), want.node_ids) << r.str();
  }
}

TEST(Pack, NoPruneNoRepadKeepsTheWholeGraphVerbatim) {
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(20, 3, 10));
  PackOptions o;
  o.reach = Reach::whole();
  o.repad = false;
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), o);
  PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  LayoutGraph g = load_layout(d.file("g.npz"));
  EXPECT_EQ(p.options(), o);
  EXPECT_EQ(p.num_nodes(), 20);
  EXPECT_EQ(p.node_feat(), g.node_feat);
  EXPECT_EQ(p.edge_index(), g.edge_index);
  EXPECT_EQ(p.config_pos(), g.node_config_ids);
}

TEST(Pack, DedupKeepsFirstOccurrencesAndAveragesRuntimes) {
  test::TempDir d;
  // 15 configurations of the fixture are all distinct (its rows repeat with period 14 from row
  // 1); rows 12..14 are overwritten with copies: groups {2, 13, 14} and {3, 12}.
  const int64_t C = 15;
  test::LayoutArrays a = test::make_layout_arrays(20, 3, C);
  const int64_t row = 3 * 18;
  float* cf = a.node_config_feat.data<float>();
  auto copy_row = [&](int64_t dst, int64_t src) {
    std::copy(cf + src * row, cf + (src + 1) * row, cf + dst * row);
  };
  copy_row(14, 2);  // the last row duplicates an early one
  copy_row(13, 2);
  copy_row(12, 3);
  int64_t* rt = a.config_runtime.data<int64_t>();
  for (int64_t c = 0; c < C; ++c) rt[c] = 1000 + 7 * c;
  test::write_layout(d.file("g.npz"), a);

  // Expected by brute force on the float rows: first occurrence order, mean runtime per group.
  std::map<std::vector<float>, int64_t> first;
  std::vector<int64_t> keep, sum, cnt;
  for (int64_t c = 0; c < C; ++c) {
    std::vector<float> r(cf + c * row, cf + (c + 1) * row);
    auto [it, fresh] = first.emplace(r, static_cast<int64_t>(keep.size()));
    if (fresh) {
      keep.push_back(c);
      sum.push_back(rt[c]);
      cnt.push_back(1);
    } else {
      sum[it->second] += rt[c];
      ++cnt[it->second];
    }
  }
  std::vector<int64_t> mean;
  for (size_t i = 0; i < keep.size(); ++i) mean.push_back((sum[i] + cnt[i] / 2) / cnt[i]);
  ASSERT_EQ(keep, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));

  PackOptions o;
  o.dedup = true;
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), o);
  PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  EXPECT_TRUE(p.options().dedup);
  EXPECT_EQ(p.source_num_configs(), C);
  EXPECT_EQ(p.num_configs(), static_cast<int64_t>(keep.size()));
  EXPECT_EQ(p.duplicates_removed(), 3);
  EXPECT_EQ(p.source_rows(), keep);
  EXPECT_EQ(p.config_runtime(), mean);
  // Row 2's group: mean of 1014, 1091, 1098 = 1067.67 -> 1068; row 3's: (1021 + 1084) / 2
  // = 1052.5 -> 1053 (halves round up); the others keep their own runtime.
  EXPECT_EQ(p.config_runtime()[2], 1068);
  EXPECT_EQ(p.config_runtime()[3], 1053);
  EXPECT_EQ(p.config_runtime()[11], 1077);
  LayoutGraph g = load_layout(d.file("g.npz"));
  EXPECT_EQ(read(p, iota(0, p.num_configs())), source_rows_i8(g, keep));
  // The same count as `tgraph inspect` reports.
  EXPECT_EQ(p.duplicates_removed(), summarize_graph_file(d.file("g.npz")).duplicate_configs);
}

TEST(Pack, UnlabelledFileStaysUnlabelled) {
  test::TempDir d;
  test::write_layout(d.file("t.npz"), test::make_layout_arrays(12, 3, 5, /*labelled=*/false));
  pack_layout_graph(d.file("t.npz"), d.file("t.tgpack"), PackOptions{});
  PackedGraph p = PackedGraph::open(d.file("t.tgpack"));
  EXPECT_FALSE(p.labelled());
  EXPECT_EQ(p.config_runtime(), std::vector<int64_t>(5, 0));
}

TEST(Pack, InvalidConfigValueInTheSourceNamesFileAndKey) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(12, 3, 5);
  a.node_config_feat.data<float>()[4 * 54 + 7] = 6.f;
  test::write_layout(d.file("bad.npz"), a);
  std::string m = error_of([&] { pack_layout_graph(d.file("bad.npz"), d.file("bad.tgpack"), {}); });
  EXPECT_EQ(m.rfind(d.file("bad.npz") + ": node_config_feat:", 0), 0u) << m;
  EXPECT_NE(m.find("6 at [4, 0, 7]"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(d.file("bad.tgpack")));  // atomic: nothing left behind
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()), 1);
}

TEST(Pack, StalenessFollowsSourceContentNotMtime) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(12, 3, 5);
  test::write_layout(d.file("g.npz"), a, /*level=*/0);  // stored: the size ignores the values
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), PackOptions{});
  PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  EXPECT_EQ(p.source_size(), fs::file_size(d.file("g.npz")));
  EXPECT_EQ(p.source_key(), source_content_key(d.file("g.npz")));
  EXPECT_FALSE(p.is_stale(d.file("g.npz")));
  // A newer mtime with the same contents (e.g. a copy) reuses the pack ...
  const auto t0 = fs::last_write_time(d.file("g.npz"));
  fs::last_write_time(d.file("g.npz"), t0 + std::chrono::seconds(1));
  EXPECT_FALSE(p.is_stale(d.file("g.npz")));
  // ... and other contents of the same size with the same mtime do not.
  a.config_runtime.data<int64_t>()[2] += 1;
  test::write_layout(d.file("g.npz"), a, 0);
  fs::last_write_time(d.file("g.npz"), t0);
  ASSERT_EQ(fs::file_size(d.file("g.npz")), p.source_size());
  EXPECT_TRUE(p.is_stale(d.file("g.npz")));
  EXPECT_TRUE(p.is_stale(d.file("missing.npz")));
}

// Valid pack bytes for the corruption tests.
std::string packed_bytes(const test::TempDir& d) {
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(20, 3, 40));
  pack_layout_graph(d.file("g.npz"), d.file("g.tgpack"), PackOptions{});
  return test::read_bytes(d.file("g.tgpack"));
}

TEST(Pack, CorruptOrTruncatedFilesGiveAnErrorNamingTheFile) {
  test::TempDir d;
  const std::string good = packed_bytes(d);
  const std::string f = d.file("bad.tgpack");
  auto expect = [&](const std::string& bytes, const std::string& field, const std::string& what) {
    SCOPED_TRACE(what);
    test::write_bytes(f, bytes);
    std::string m = error_of([&] { PackedGraph::open(f); });
    EXPECT_EQ(m.rfind(f + ": " + field, 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  };
  expect("", "header", "empty");
  expect(good.substr(0, 100), "header", "truncated in the header");
  expect(good.substr(0, good.size() - 1), "size", "one byte short");
  expect(good + "x", "size", "one byte long");
  expect(good.substr(0, good.size() / 2), "size", "half");
  std::string b = good;
  b[0] = 'X';
  expect(b, "magic", "bad magic");
  expect(std::string("PK\x03\x04") + good.substr(4), "magic", "an npz given as a pack");
  b = good;
  b[8] = 3;  // version
  expect(b, "version", "newer version");
  b = good;
  b[44] ^= 1;  // N' in the header
  expect(b, "header", "header bit flip");
  PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
  b = good;
  b[256 + 4 * 140 + 3] ^= 0x40;  // a node_feat byte (first section starts at 256 for stem "g")
  expect(b, "node_feat", "node_feat bit flip");
  b = good;
  b[b.size() - 3] ^= 1;  // source_rows is the last section
  expect(b, "source_rows", "source_rows bit flip");
  EXPECT_NE(
      error_of([] { PackedGraph::open("/nonexistent/x.tgpack"); }).find("/nonexistent/x.tgpack"),
      std::string::npos);

  // Config rows carry no checksum (they are read on demand), but values are range-checked.
  // The config block is the concatenation of all rows; find it by content.
  const std::vector<int8_t> all_rows = read(p, iota(0, p.num_configs()));
  const std::string block(reinterpret_cast<const char*>(all_rows.data()), all_rows.size());
  const size_t at = good.find(block);
  ASSERT_NE(at, std::string::npos);
  b = good;
  b[at + 7 * p.config_row_bytes() + 5] = 100;  // row 7
  test::write_bytes(f, b);
  PackedGraph q = PackedGraph::open(f);  // opens: config rows are not checksummed
  EXPECT_EQ(read(q, {6, 8}), read(p, {6, 8}));
  std::string m = error_of([&] { read(q, {3, 7}); });
  EXPECT_EQ(m.rfind(f + ": config_feat:", 0), 0u) << m;
  EXPECT_NE(m.find("100"), std::string::npos) << m;
  m = error_of([&] { read(q, {40}); });
  EXPECT_EQ(m.rfind(f + ": config_feat: expected configuration rows in [0, 40)", 0), 0u) << m;
}

TEST(Pack, FitNormalizerOverPackedGraphsEqualsFitOverTheirRows) {
  test::TempDir d;
  test::write_layout(d.file("a.npz"), test::make_layout_arrays(30, 3, 5));
  test::write_layout(d.file("b.npz"), test::make_layout_arrays(20, 2, 5));
  pack_layout_graph(d.file("a.npz"), d.file("a.tgpack"), {});
  pack_layout_graph(d.file("b.npz"), d.file("b.tgpack"), {});
  PackedGraph a = PackedGraph::open(d.file("a.tgpack")), b = PackedGraph::open(d.file("b.tgpack"));
  FeatureNormalizer n = fit_normalizer({&a, &b});
  std::vector<float> rows = a.node_feat();
  rows.insert(rows.end(), b.node_feat().begin(), b.node_feat().end());
  FeatureNormalizer m = fit_normalizer_blocks({{rows.data(), a.num_nodes() + b.num_nodes()}});
  EXPECT_EQ(n.mean, m.mean);
  EXPECT_EQ(n.std, m.std);
}

TEST(PackCollection, PacksSkipsUpToDateRepacksStaleAndRemovesOrphans) {
  test::TempDir d;
  const std::string root = d.file("npz"), cache = d.file("cache");
  const Collection c = parse_collection("layout:xla:random");
  fs::create_directories(c.dir(root, "train"));
  for (const char* s : {"a", "b", "c"})
    test::write_layout(c.dir(root, "train") + "/" + s + ".npz", test::make_layout_arrays(15, 3, 8));
  PackOptions o;
  o.dedup = true;
  PackCollectionStats st;
  const std::string dir = pack_collection(root, c, "train", cache, o, 2, &st);
  EXPECT_EQ(dir, c.dir(cache, "train"));
  EXPECT_EQ(st.files, 3);
  EXPECT_EQ(st.packed, 3);
  auto packs = list_packed(dir);
  ASSERT_EQ(packs.size(), 3u);
  EXPECT_EQ(fs::path(packs[1]).filename(), "b.tgpack");
  test::write_bytes(dir + "/x.tgpack.tmp.1.2.3", "partial");  // an interrupted write: ignored
  EXPECT_EQ(list_packed(dir).size(), 3u);

  pack_collection(root, c, "train", cache, o, 2, &st);
  EXPECT_EQ(st.packed, 0);
  EXPECT_EQ(st.skipped, 3);

  const std::string b = c.dir(root, "train") + "/b.npz";
  fs::last_write_time(b, fs::last_write_time(b) + std::chrono::seconds(2));  // alone: still fresh
  pack_collection(root, c, "train", cache, o, 1, &st);
  EXPECT_EQ(st.packed, 0);
  test::write_layout(b, test::make_layout_arrays(14, 3, 6));  // new contents: repacked
  test::write_bytes(dir + "/c.tgpack", "garbage");  // a corrupt pack is rebuilt, not an error
  fs::remove(c.dir(root, "train") + "/a.npz");
  pack_collection(root, c, "train", cache, o, 1, &st);
  EXPECT_EQ(st.files, 2);
  EXPECT_EQ(st.packed, 2);
  EXPECT_EQ(st.removed, 1);
  EXPECT_EQ(list_packed(dir).size(), 2u);
  EXPECT_FALSE(PackedGraph::open(dir + "/b.tgpack").is_stale(b));

  o.reach = Reach::whole();  // another reach: its own cache tree, packed there
  pack_collection(root, c, "train", cache, o, 2, &st);
  EXPECT_EQ(st.packed, 2);
  EXPECT_EQ(list_packed(c.dir(cache + "/reach-whole", "train")).size(), 2u);
  o.reach = Reach{};  // the default tree was left alone
  pack_collection(root, c, "train", cache, o, 2, &st);
  EXPECT_EQ(st.skipped, 2);
  o.dedup = !o.dedup;  // other options, same tree: repacked in place
  pack_collection(root, c, "train", cache, o, 2, &st);
  EXPECT_EQ(st.packed, 2);

  std::string m =
      error_of([&] { pack_collection(root, parse_collection("tile:xla"), "train", cache, o, 1); });
  EXPECT_NE(m.find("layout collection"), std::string::npos) << m;
  m = error_of([&] { pack_collection(root, c, "valid", cache, o, 1); });
  EXPECT_NE(m.find("valid"), std::string::npos) << m;
}

// A real benchmark graph: counts agree with the loader and with `tgraph inspect`.
TEST(PackBench, RealFilePacksWithConsistentCounts) {
  const std::string root = test::shared_dir() + "/data/bench/npz/layout";
  for (const std::string rel :
       {"xla/random/train/alexnet_like_w1_i224_b16_f32_train.npz",
        "nlp/random/train/synbert_en_cased_L-2_H-256_A-4_batch_size_16_train.npz"}) {
    const std::string src = root + "/" + rel;
    if (!fs::exists(src)) GTEST_SKIP() << "benchmark data not present: " << src;
    SCOPED_TRACE(rel);
    test::TempDir d;
    PackOptions o;
    o.dedup = true;
    pack_layout_graph(src, d.file("g.tgpack"), o);
    PackedGraph p = PackedGraph::open(d.file("g.tgpack"));
    LayoutGraph g = load_layout(src);
    GraphSummary s = summarize_graph_file(src);
    EXPECT_EQ(p.source_num_nodes(), g.num_nodes);
    EXPECT_EQ(p.source_num_edges(), g.num_edges);
    EXPECT_EQ(p.source_num_configs(), g.num_configs);
    EXPECT_EQ(p.num_config_nodes(), g.num_config_nodes);
    EXPECT_EQ(p.duplicates_removed(), s.duplicate_configs);
    EXPECT_EQ(p.num_configs() + p.duplicates_removed(), g.num_configs);
    EXPECT_LT(p.num_nodes(), g.num_nodes);
    PrunedGraph pr = prune_layout(g.edge_index, g.num_nodes, g.node_config_ids);
    EXPECT_EQ(p.num_nodes(), pr.num_nodes);
    EXPECT_EQ(p.num_edges(), pr.num_edges());
    for (int64_t k = 0; k < p.num_config_nodes(); ++k)
      ASSERT_EQ(p.node_ids()[p.config_pos()[k]], g.node_config_ids[k]);
    EXPECT_EQ(read(p, iota(0, p.num_configs())), source_rows_i8(g, p.source_rows()));
    // Re-padding: no -1 in the files, some after packing; no tuple keeps a layout.
    int64_t minus = 0;
    for (int64_t i = 0; i < p.num_nodes(); ++i)
      for (int c = 134; c < 140; ++c) minus += p.node_feat()[i * 140 + c] == -1.f;
    EXPECT_GT(minus, 0);
    // Without dedup every row is kept in order.
    pack_layout_graph(src, d.file("h.tgpack"), PackOptions{});
    PackedGraph q = PackedGraph::open(d.file("h.tgpack"));
    EXPECT_EQ(q.num_configs(), g.num_configs);
    std::vector<int64_t> last = iota(g.num_configs - 5, g.num_configs);
    EXPECT_EQ(read(q, last), source_rows_i8(g, last));
    EXPECT_EQ(q.config_runtime(), g.config_runtime);
  }
}

}  // namespace
}  // namespace tgraph
