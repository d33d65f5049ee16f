#include "tgraph/graph/inspect.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../test_util.h"
#include "malformed.h"

namespace tgraph {

TEST(Inspect, SummaryCountsDuplicatesAndRuntimes) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(12, 3, 6);
  // Make configurations 4 and 5 copies of 1 and 2: two duplicates.
  float* cf = a.node_config_feat.data<float>();
  std::copy(cf + 1 * 54, cf + 3 * 54, cf + 4 * 54);
  int64_t* rt = a.config_runtime.data<int64_t>();
  for (int i = 0; i < 6; ++i) rt[i] = 100 + 10 * i;  // 100..150
  std::filesystem::create_directories(d.path() / "layout/xla/random/train");
  std::string p = (d.path() / "layout/xla/random/train/g.npz").string();
  test::write_layout(p, a);
  GraphSummary s = summarize_graph_file(p);
  EXPECT_EQ(s.kind, "layout");
  EXPECT_EQ(s.collection, "layout:xla:random");
  EXPECT_EQ(s.split, "train");
  EXPECT_EQ(s.num_nodes, 12);
  EXPECT_EQ(s.num_config_nodes, 3);
  EXPECT_EQ(s.num_configs, 6);
  EXPECT_EQ(s.duplicate_configs, 2);
  EXPECT_EQ(s.runtime_min, 100);
  EXPECT_EQ(s.runtime_median, 130);
  EXPECT_EQ(s.runtime_max, 150);
  EXPECT_TRUE(s.edges_user_after_operand);
  auto j = to_json(s);
  EXPECT_EQ(j["configs"], 6);
  EXPECT_EQ(j["duplicate_configs"], 2);
}

TEST(InspectCli, SummarisesAFileAsJson) {
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(12, 3, 5, false));
  auto r = test::run_command(test::cli_path() + " inspect --json " + d.file("g.npz"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["nodes"], 12);
  EXPECT_EQ(j["labelled"], false);
  EXPECT_FALSE(j.contains("runtime_min_ns"));
}

TEST(InspectCli, EachMalformedFixtureExitsNonZeroWithOneLine) {
  test::TempDir d;
  for (const auto& c : test::make_malformed_fixtures(d.path().string())) {
    SCOPED_TRACE(c.name);
    auto r = test::run_command(test::cli_path() + " inspect " + c.path + " 2>&1 >/dev/null");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.exit_code == 1, true) << "bad input must exit 1 (not crash): " << r.exit_code;
    ASSERT_FALSE(r.output.empty());
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(r.output.rfind("tgraph: error: " + c.path, 0), 0u) << r.output;
    for (const auto& s : c.expect) EXPECT_NE(r.output.find(s), std::string::npos) << r.output;
  }
}

TEST(InspectCli, DirectoryWithABadFileReportsItAndFails) {
  test::TempDir d;
  test::write_layout(d.file("a.npz"), test::make_layout_arrays());
  test::write_bytes(d.file("b.npz"), "garbage");
  auto r =
      test::run_command(test::cli_path() + " inspect --json " + d.path().string() + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["total_files"], 2);
  EXPECT_EQ(j["errors"], 1);
  EXPECT_TRUE(j["files"][1].contains("error"));
}

TEST(InspectCli, WholeBenchmarkIsSummarised) {
  std::string root = test::shared_dir() + "/data/bench/npz";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no " << root;
  auto r = test::run_command(test::cli_path() + " inspect --json " + root + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["total_files"], 2154);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["directories"].size(), 15u);
  int64_t labelled = 0;
  for (const auto& f : j["files"]) labelled += f["labelled"].get<bool>();
  EXPECT_EQ(labelled, 2154 - (8 + 8 + 10 + 10 + 250));
}

}  // namespace tgraph
