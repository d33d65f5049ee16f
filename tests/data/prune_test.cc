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
  PrunedGraph p = prune_layout(shuffled, 10, {4, 7}, Reach::whole());
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

TEST(PruneLayout, TwoHopsKeepsNodesWithinTwoHopsAndEdgesTouchingTheFirstHop) {
  // Distances from {4, 7}: 2 3 5 6 8 -> 1; 1 9 -> 2; 0 -> 3.
  PrunedGraph p = prune_layout(kEdges, 10, {4, 7}, Reach::with_hops(2));
  EXPECT_EQ(p.node_ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // (1,0) and (9,0) have no endpoint within 1 hop; every other edge is kept. New id = old - 1.
  EXPECT_EQ(p.edge_index,
            flat({{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 1}, {6, 5}, {7, 6}, {8, 7}}));
  EXPECT_EQ(p.config_pos, (std::vector<int64_t>{3, 6}));
  // Enough hops: the whole graph.
  PrunedGraph w = prune_layout(kEdges, 10, {4, 7}, Reach::with_hops(3));
  PrunedGraph all = prune_layout(kEdges, 10, {4, 7}, Reach::whole());
  EXPECT_EQ(w.node_ids, all.node_ids);
  EXPECT_EQ(w.edge_index, all.edge_index);
}

TEST(PruneLayout, ContractLinksConfigurableNodesThroughAChainOfDroppedNodes) {
  // 4 (config) <- 3 <- 2 <- 1 <- 0 (config), edges (user, operand). hops:1 keeps 0 1 3 4 and
  // cuts the chain at 2; contract adds (3, 1) in its place.
  const std::vector<int64_t> chain = flat({{1, 0}, {2, 1}, {3, 2}, {4, 3}});
  PrunedGraph h = prune_layout(chain, 5, {0, 4});
  EXPECT_EQ(h.node_ids, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(h.edge_index, flat({{1, 0}, {3, 2}}));  // disconnected
  PrunedGraph c = prune_layout(chain, 5, {0, 4}, Reach::contract());
  EXPECT_EQ(c.node_ids, h.node_ids);
  EXPECT_EQ(c.edge_index, flat({{1, 0}, {2, 1}, {3, 2}}));  // connected
  // On the 10-node fixture no chain of dropped nodes joins two kept ones, but the edge (6, 5)
  // between two neighbours is kept.
  PrunedGraph f = prune_layout(kEdges, 10, {4, 7}, Reach::contract());
  EXPECT_EQ(f.edge_index, flat({{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 0}, {5, 4}, {6, 5}}));
}

TEST(PruneLayout, ContractPassesOnAtMostTheCapOfKeptOperandsPerDroppedNode) {
  // Dropped node 0 has 40 kept operands 1..40 (each the user of configurable node 40 + i); kept
  // node 81 (an operand of configurable 82) uses 0. 81 gets edges to the 32 lowest only.
  std::vector<std::pair<int64_t, int64_t>> rows{{81, 0}, {82, 81}};
  std::vector<int64_t> cfg{82};
  for (int64_t i = 1; i <= 40; ++i) {
    rows.emplace_back(0, i);
    rows.emplace_back(i, 40 + i);
    cfg.push_back(40 + i);
  }
  PrunedGraph p = prune_layout(flat(rows), 83, cfg, Reach::contract());
  EXPECT_EQ(p.num_nodes, 82);  // everything but node 0
  int64_t from81 = 0;
  for (int64_t e = 0; e < p.num_edges(); ++e)
    if (p.node_ids[p.edge_index[2 * e]] == 81 && p.node_ids[p.edge_index[2 * e + 1]] != 82) {
      ++from81;
      EXPECT_LE(p.node_ids[p.edge_index[2 * e + 1]], 32);
    }
  EXPECT_EQ(from81, static_cast<int64_t>(Reach::kMaxContracted));
}

// hops:K and contract against direct computations on random DAGs (edges from higher to lower ids,
// as in HLO's topological numbering), with repeated edges.
TEST(PruneLayout, HopsAndContractMatchBruteForceOnRandomGraphs) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t N = 2 + rng() % 50;
    std::vector<std::pair<int64_t, int64_t>> rows;
    const int64_t E = rng() % (2 * N);
    for (int64_t e = 0; e < E; ++e) {
      int64_t u = rng() % N, v = rng() % N;
      if (u != v) rows.emplace_back(std::max(u, v), std::min(u, v));
    }
    if (!rows.empty() && rng() % 2) rows.push_back(rows[0]);  // a repeated edge
    std::set<int64_t> cfg;
    const int64_t NC = 1 + rng() % std::min<int64_t>(N, 5);
    while (static_cast<int64_t>(cfg.size()) < NC) cfg.insert(rng() % N);
    std::vector<int64_t> ids(cfg.begin(), cfg.end());
    auto back = [](const PrunedGraph& p) {
      std::vector<std::pair<int64_t, int64_t>> b;
      for (int64_t e = 0; e < p.num_edges(); ++e)
        b.emplace_back(p.node_ids[p.edge_index[2 * e]], p.node_ids[p.edge_index[2 * e + 1]]);
      return b;
    };
    // Distances by repeated relaxation.
    std::vector<int> dist(N, 1 << 20);
    for (int64_t c : ids) dist[c] = 0;
    for (int it = 0; it < N; ++it)
      for (auto [u, v] : rows) {
        dist[u] = std::min(dist[u], dist[v] + 1);
        dist[v] = std::min(dist[v], dist[u] + 1);
      }
    for (int K = 1; K <= 3; ++K) {
      std::set<int64_t> keep(cfg.begin(), cfg.end());
      std::vector<std::pair<int64_t, int64_t>> kept;
      for (auto [u, v] : rows)
        if (std::min(dist[u], dist[v]) <= K - 1) {
          keep.insert(u);
          keep.insert(v);
          kept.emplace_back(u, v);
        }
      std::sort(kept.begin(), kept.end());
      PrunedGraph p = prune_layout(flat(rows), N, ids, Reach::with_hops(K));
      ASSERT_EQ(p.node_ids, std::vector<int64_t>(keep.begin(), keep.end())) << K;
      ASSERT_EQ(back(p), kept) << K;
    }
    // contract: hops:1 nodes; edges of hops:1, between kept nodes, and along dropped paths.
    PrunedGraph h = prune_layout(flat(rows), N, ids);
    std::set<int64_t> keep(h.node_ids.begin(), h.node_ids.end());
    std::vector<std::pair<int64_t, int64_t>> want = back(h);
    std::set<std::pair<int64_t, int64_t>> have(want.begin(), want.end()), extra;
    for (auto [u, v] : rows)
      if (keep.count(u) && keep.count(v)) extra.insert({u, v});
    for (int64_t u : keep) {  // depth-first through dropped operands
      std::vector<int64_t> stack;
      std::set<int64_t> seen;
      for (auto [a, b] : rows)
        if (a == u && !keep.count(b)) stack.push_back(b);
      while (!stack.empty()) {
        int64_t d = stack.back();
        stack.pop_back();
        if (!seen.insert(d).second) continue;
        for (auto [a, b] : rows)
          if (a == d) {
            if (keep.count(b))
              extra.insert({u, b});
            else
              stack.push_back(b);
          }
      }
    }
    for (const auto& e : extra)
      if (!have.count(e)) want.push_back(e);
    std::sort(want.begin(), want.end());
    PrunedGraph c = prune_layout(flat(rows), N, ids, Reach::contract());
    ASSERT_EQ(c.node_ids, h.node_ids);
    ASSERT_EQ(back(c), want);
  }
}

TEST(Reach, NamesRoundTripAndBadNamesAreRefused) {
  for (Reach r : {Reach{}, Reach::whole(), Reach::with_hops(3), Reach::contract()})
    EXPECT_EQ(Reach::parse(r.str(), "--reach"), r);
  EXPECT_EQ(Reach{}.str(), "hops:1");
  for (const char* bad : {"", "hops", "hops:0", "hops:17", "hops:x", "hops:-1", "Contract"}) {
    std::string m = test::error_of([&] { Reach::parse(bad, "--reach"); });
    EXPECT_NE(m.find("--reach"), std::string::npos) << m;
    EXPECT_NE(m.find("contract"), std::string::npos) << m;
  }
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
