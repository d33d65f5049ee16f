#include "tgraph/data/prune.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "../test_util.h"

namespace tgraph {
namespace {

std::vector<int64_t> flat(const std::vector<std::pair<int64_t, int64_t>>& rows) {
  std::vector<int64_t> v;
  for (auto [u, v2] : rows) {
    v.push_back(u);
    v.push_back(v2);
  }
  return v;
}

// A 10-node graph: a chain 9 -> ... -> 0 plus (7, 2) and (9, 0); configurable nodes 4 and 7.
const std::vector<int64_t> kEdges =
    flat({{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 5}, {7, 2}, {7, 6}, {8, 7}, {9, 0}, {9, 8}});

TEST(PruneLayout, KeepsConfigurableNodesTheirNeighboursAndTouchingEdges) {
  PrunedGraph p = prune_layout(kEdges, 10, {4, 7});
  // 4: operand 3, user 5; 7: operands 2 and 6, user 8.
  EXPECT_EQ(p.node_ids, (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(p.num_nodes, 7);
  // Kept edges (4,3) (5,4) (7,2) (7,6) (8,7); (6,5) joins two kept nodes but touches no
  // configurable node, so it is dropped. New ids: 2->0 3->1 4->2 5->3 6->4 7->5 8->6.
  EXPECT_EQ(p.edge_index, flat({{2, 1}, {3, 2}, {5, 0}, {5, 4}, {6, 5}}));
  EXPECT_EQ(p.num_edges(), 5);
  EXPECT_EQ(p.config_pos, (std::vector<int64_t>{2, 5}));
}

TEST(PruneLayout, ConfigPosFollowsNodeConfigIdsOrder) {
  PrunedGraph p = prune_layout(kEdges, 10, {7, 4});
  EXPECT_EQ(p.config_pos, (std::vector<int64_t>{5, 2}));
  for (size_t k = 0; k < 2; ++k) EXPECT_EQ(p.node_ids[p.config_pos[k]], (k ? 4 : 7));
}

TEST(PruneLayout, IsolatedConfigurableNodeIsKeptAndGraphMayBeDisconnected) {
  PrunedGraph p = prune_layout(flat({{1, 0}, {3, 2}}), 5, {0, 4});
  EXPECT_EQ(p.node_ids, (std::vector<int64_t>{0, 1, 4}));
  EXPECT_EQ(p.edge_index, flat({{1, 0}}));
  EXPECT_EQ(p.config_pos, (std::vector<int64_t>{0, 2}));
}

TEST(PruneLayout, NoPruneIsIdentityWithAllEdgesSorted) {
  std::vector<int64_t> shuffled = flat({{9, 8}, {1, 0}, {7, 6}, {2, 1}});
  PrunedGraph p = prune_layout(shuffled, 10, {4, 7}, /*prune=*/false);
  EXPECT_EQ(p.num_nodes, 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(p.node_ids[i], i);
  EXPECT_EQ(p.edge_index, flat({{1, 0}, {2, 1}, {7, 6}, {9, 8}}));
  EXPECT_EQ(p.config_pos, (std::vector<int64_t>{4, 7}));
}

// Against a direct set computation on random graphs.
TEST(PruneLayout, MatchesBruteForceOnRandomGraphs) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t N = 2 + rng() % 60;
    std::set<std::pair<int64_t, int64_t>> es;
    const int64_t E = rng() % (2 * N);
    for (int64_t e = 0; e < E; ++e) {
      int64_t u = rng() % N, v = rng() % N;
      if (u != v) es.insert({std::max(u, v), std::min(u, v)});
    }
    std::vector<std::pair<int64_t, int64_t>> rows(es.begin(), es.end());
    std::set<int64_t> cfg;
    const int64_t NC = 1 + rng() % std::min<int64_t>(N, 6);
    while (static_cast<int64_t>(cfg.size()) < NC) cfg.insert(rng() % N);
    std::vector<int64_t> ids(cfg.begin(), cfg.end());

    std::set<int64_t> keep(cfg.begin(), cfg.end());
    std::vector<std::pair<int64_t, int64_t>> kept;
    for (auto [u, v] : rows)
      if (cfg.count(u) || cfg.count(v)) {
        keep.insert(u);
        keep.insert(v);
        kept.emplace_back(u, v);
      }
    PrunedGraph p = prune_layout(flat(rows), N, ids);
    ASSERT_EQ(p.node_ids, std::vector<int64_t>(keep.begin(), keep.end()));
    ASSERT_EQ(p.num_edges(), static_cast<int64_t>(kept.size()));
    std::vector<std::pair<int64_t, int64_t>> back;  // map new ids back to the originals
    for (int64_t e = 0; e < p.num_edges(); ++e) {
      if (e > 0) {
        ASSERT_LE(std::make_pair(p.edge_index[2 * e - 2], p.edge_index[2 * e - 1]),
                  std::make_pair(p.edge_index[2 * e], p.edge_index[2 * e + 1]));
      }
      back.emplace_back(p.node_ids[p.edge_index[2 * e]], p.node_ids[p.edge_index[2 * e + 1]]);
    }
    ASSERT_EQ(back, kept);
    for (size_t k = 0; k < ids.size(); ++k) ASSERT_EQ(p.node_ids[p.config_pos[k]], ids[k]);
  }
}

TEST(PruneLayout, OnTheTestFixtureEveryKeptEdgeTouchesAConfigurableNode) {
  test::LayoutArrays a = test::make_layout_arrays(40, 4, 3);
  const auto edges = a.edge_index.to_vector<int64_t>();
  const auto ids = a.node_config_ids.to_vector<int64_t>();
  PrunedGraph p = prune_layout(edges, 40, ids);
  EXPECT_LT(p.num_nodes, 40);
  std::set<int64_t> cfg(ids.begin(), ids.end());
  for (int64_t e = 0; e < p.num_edges(); ++e)
    EXPECT_TRUE(cfg.count(p.node_ids[p.edge_index[2 * e]]) ||
                cfg.count(p.node_ids[p.edge_index[2 * e + 1]]));
}

TEST(GatherRows, CopiesTheSelectedRowsInOrder) {
  std::vector<float> m{0, 1, 10, 11, 20, 21, 30, 31};  // [4, 2]
  EXPECT_EQ(gather_rows(m.data(), 2, {1, 3}), (std::vector<float>{10, 11, 30, 31}));
  std::vector<uint8_t> op{5, 6, 7};
  EXPECT_EQ(gather_rows(op.data(), 1, {0, 2}), (std::vector<uint8_t>{5, 7}));
  EXPECT_TRUE(gather_rows(m.data(), 2, {}).empty());
}

}  // namespace
}  // namespace tgraph
