#include "tgraph/graph/tpugraphs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../test_util.h"
#include "malformed.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

namespace tgraph {

TEST(LoadLayout, ValidFixtureLoadsWithAllArrays) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(12, 3, 5);
  test::write_layout(d.file("g.npz"), a);
  LayoutGraph g = load_layout(d.file("g.npz"));
  EXPECT_EQ(g.stem, "g");
  EXPECT_EQ(g.num_nodes, 12);
  EXPECT_EQ(g.num_edges, a.edge_index.dim(0));
  EXPECT_EQ(g.num_config_nodes, 3);
  EXPECT_EQ(g.num_configs, 5);
  EXPECT_TRUE(g.labelled);
  EXPECT_TRUE(g.config_feat_loaded);
  EXPECT_EQ(g.node_config_feat, a.node_config_feat.to_vector<float>());
  EXPECT_EQ(g.node_splits, (std::vector<int64_t>{0, 6, 12}));
  EXPECT_EQ(g.config_row(1)[0], a.node_config_feat.data<float>()[3 * 18]);

  LoadOptions lazy;
  lazy.load_config_feat = false;
  LayoutGraph h = load_layout(d.file("g.npz"), lazy);
  EXPECT_FALSE(h.config_feat_loaded);
  EXPECT_TRUE(h.node_config_feat.empty());
  EXPECT_EQ(h.config_runtime, g.config_runtime);
}

TEST(LoadLayout, AllZeroRuntimesAreUnlabelled) {
  test::TempDir d;
  test::write_layout(d.file("t.npz"), test::make_layout_arrays(12, 3, 5, /*labelled=*/false));
  LayoutGraph g = load_layout(d.file("t.npz"));
  EXPECT_FALSE(g.labelled);
}

TEST(LoadLayout, EveryMalformedFixtureGivesItsOwnOneLineError) {
  test::TempDir d;
  auto cases = test::make_malformed_fixtures(d.path().string());
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      load_layout(c.path);
      ADD_FAILURE() << "no error for " << c.name;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      EXPECT_EQ(m.rfind(c.path, 0), 0u) << "message must start with the file: " << m;
      for (const auto& s : c.expect)
        EXPECT_NE(m.find(s), std::string::npos) << "'" << s << "' not in: " << m;
    }
  }
}

TEST(LoadLayout, LazyLoadStillValidatesConfigValues) {
  test::TempDir d;
  auto cases = test::make_malformed_fixtures(d.path().string());
  LoadOptions lazy;
  lazy.load_config_feat = false;
  for (const auto& c : cases)
    if (c.name == "config value out of range") EXPECT_THROW(load_layout(c.path, lazy), Error);
}

TEST(LoadLayout, FirstConfigsOnlyAndAStreamOfAll) {
  test::TempDir d;
  // 300 configurable nodes: a row is 5 400 floats, so the 1 000 rows stream in two chunks.
  test::LayoutArrays a = test::make_layout_arrays(1000, 300, 1000);
  test::write_layout(d.file("g.npz"), a, 1);
  const LayoutGraph all = load_layout(d.file("g.npz"));
  ASSERT_EQ(all.num_configs, 1000);
  const size_t row = 300 * 18;

  LoadOptions first;
  first.max_configs = 7;
  const LayoutGraph g = load_layout(d.file("g.npz"), first);
  EXPECT_TRUE(g.config_feat_loaded);
  EXPECT_EQ(g.num_configs, 7);
  EXPECT_EQ(g.config_runtime,
            std::vector<int64_t>(all.config_runtime.begin(), all.config_runtime.begin() + 7));
  EXPECT_EQ(g.node_config_feat, std::vector<float>(all.node_config_feat.begin(),
                                                   all.node_config_feat.begin() + 7 * row));
  first.max_configs = 5000;  // more than the file has: all of them
  EXPECT_EQ(load_layout(d.file("g.npz"), first).node_config_feat, all.node_config_feat);

  LoadOptions stream;
  stream.load_config_feat = false;
  std::vector<float> seen;
  int calls = 0;
  stream.on_configs = [&](const float* rows, int64_t r0, int64_t k) {
    EXPECT_EQ(static_cast<size_t>(r0) * row, seen.size());
    seen.insert(seen.end(), rows, rows + k * static_cast<int64_t>(row));
    ++calls;
  };
  const LayoutGraph h = load_layout(d.file("g.npz"), stream);
  EXPECT_GE(calls, 2);
  EXPECT_EQ(seen, all.node_config_feat);
  EXPECT_EQ(h.num_configs, 1000);
  EXPECT_TRUE(h.node_config_feat.empty());

  // Rows not kept are still validated.
  auto cases = test::make_malformed_fixtures(d.path().string());
  LoadOptions none;
  none.max_configs = 0;
  for (const auto& c : cases)
    if (c.name == "config value out of range") EXPECT_THROW(load_layout(c.path, none), Error);
}

TEST(LoadTile, ValidAndMalformed) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(6, 1, 4);
  std::vector<float> cf(4 * 24, 0.f);
  for (int c = 0; c < 4; ++c) cf[c * 24 + 8] = static_cast<float>(c + 1);
  auto write = [&](const std::string& p, std::vector<int64_t> rt, int64_t cols) {
    NpzWriter w(p);
    w.add("node_feat", a.node_feat);
    w.add("node_opcode", a.node_opcode);
    w.add("edge_index", a.edge_index);
    std::vector<float> f(static_cast<size_t>(4 * cols), 1.f);
    w.add("config_feat", cols == 24 ? cf : f, {4, cols});
    w.add("config_runtime", rt, {4});
    w.add("config_runtime_normalizers", std::vector<int64_t>(4, rt[0]), {4});
    w.commit();
  };
  write(d.file("k.npz"), {500, 400, 900, 450}, 24);
  TileGraph g = load_tile(d.file("k.npz"));
  EXPECT_EQ(g.num_configs, 4);
  EXPECT_TRUE(g.labelled);
  EXPECT_EQ(g.config_feat[24 + 8], 2.f);
  EXPECT_EQ(detect_kind(d.file("k.npz")), Kind::kTile);
  write(d.file("bad.npz"), {500, 400, 900, 450}, 23);
  try {
    load_tile(d.file("bad.npz"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("config_feat: expected shape (C, 24), found shape (4, 23)"),
        std::string::npos)
        << e.what();
  }
}

TEST(Collections, ParseNamesAndDirectories) {
  Collection c = parse_collection("layout:nlp:default");
  EXPECT_EQ(c.kind, Kind::kLayout);
  EXPECT_EQ(c.name(), "layout:nlp:default");
  EXPECT_EQ(c.dir("/d/npz", "train"), "/d/npz/layout/nlp/default/train");
  EXPECT_EQ(parse_collection("tile:xla").dir("npz", "test"), "npz/tile/xla/test");
  EXPECT_EQ(submission_id(c, "abc"), "layout:nlp:default:abc");
  EXPECT_THROW(parse_collection("layout:xla"), Error);
  EXPECT_THROW(parse_collection("tile:nlp"), Error);
  EXPECT_EQ(all_collections().size(), 5u);
}

// The benchmark: every collection's directory lists and loads; test files are unlabelled.
TEST(Bench, OneFileOfEverySplitLoads) {
  std::string root = test::shared_dir() + "/data/bench/npz";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no " << root;
  for (const Collection& c : all_collections()) {
    for (const char* split : {"train", "valid", "test"}) {
      SCOPED_TRACE(c.name() + " " + split);
      auto files = list_graph_files(c.dir(root, split));
      ASSERT_FALSE(files.empty());
      GraphBase* g = nullptr;
      LayoutGraph lg;
      TileGraph tg;
      if (c.kind == Kind::kLayout) {
        lg = load_layout(files.front());
        g = &lg;
        if (std::string(split) != "train") EXPECT_EQ(lg.num_configs, 1000);
      } else {
        tg = load_tile(files.front());
        g = &tg;
      }
      EXPECT_EQ(g->labelled, std::string(split) != "test");
    }
  }
}

}  // namespace tgraph
