#include "tgraph/data/prune.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "tgraph/util/error.h"

namespace tgraph {

std::string Reach::str() const {
  switch (mode) {
    case kWhole:
      return "whole";
    case kContract:
      return "contract";
    case kHops:
      break;
  }
  return "hops:" + std::to_string(hops);
}

Reach Reach::parse(const std::string& s, const std::string& where) {
  if (s == "whole") return whole();
  if (s == "contract") return contract();
  if (s.rfind("hops:", 0) == 0 && s.size() > 5 && s.size() <= 7 &&
      std::all_of(s.begin() + 5, s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const int k = std::stoi(s.substr(5));
    if (k >= 1 && k <= kMaxHops) return with_hops(k);
  }
  throw_error(where, "", TG_STR("whole | hops:K (K in 1.." << kMaxHops << ") | contract"),
              "'" + s.substr(0, 40) + "'");
}

namespace {

// Compressed adjacency: the neighbours of node u are adj[start[u] .. start[u + 1]). Operand
// edges only (user -> operand), or both directions.
struct Adjacency {
  std::vector<int64_t> start, adj;
  Adjacency(const std::vector<int64_t>& edge_index, int64_t num_nodes, bool undirected) {
    const size_t E = edge_index.size() / 2;
    start.assign(static_cast<size_t>(num_nodes) + 1, 0);
    adj.resize(undirected ? 2 * E : E);
    for (size_t e = 0; e < E; ++e) {
      ++start[edge_index[2 * e] + 1];
      if (undirected) ++start[edge_index[2 * e + 1] + 1];
    }
    for (int64_t i = 0; i < num_nodes; ++i) start[i + 1] += start[i];
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (size_t e = 0; e < E; ++e) {
      const int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
      adj[fill[u]++] = v;
      if (undirected) adj[fill[v]++] = u;
    }
  }
};

// Undirected distance (in hops) from the nearest configurable node, up to max_hops; nodes farther
// away get max_hops + 1.
std::vector<int> hop_distance(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                              const std::vector<int64_t>& node_config_ids, int max_hops) {
  const Adjacency g(edge_index, num_nodes, /*undirected=*/true);
  const std::vector<int64_t>&start = g.start, &adj = g.adj;
  std::vector<int> dist(static_cast<size_t>(num_nodes), max_hops + 1);
  std::vector<int64_t> frontier;
  for (int64_t id : node_config_ids) {
    dist[id] = 0;
    frontier.push_back(id);
  }
  for (int d = 1; d <= max_hops && !frontier.empty(); ++d) {
    std::vector<int64_t> next;
    for (int64_t u : frontier)
      for (int64_t j = start[u]; j < start[u + 1]; ++j)
        if (dist[adj[j]] > d) {
          dist[adj[j]] = d;
          next.push_back(adj[j]);
        }
    frontier = std::move(next);
  }
  return dist;
}

// For contract: (u, w) for every kept u and every kept w reachable from u through operand edges
// whose interior nodes are all dropped. reach[d] (memoised per dropped node d, in post-order of an
// iterative depth-first walk) holds the kept nodes d leads to, at most Reach::kMaxContracted.
// A cycle (not expected in HLO) is cut where the walk meets a node still on its stack.
void add_contracted_edges(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                          const std::vector<uint8_t>& keep,
                          std::vector<std::pair<int64_t, int64_t>>* edges) {
  const Adjacency g(edge_index, num_nodes, /*undirected=*/false);
  const std::vector<int64_t>&start = g.start, &ops = g.adj;

  enum : uint8_t { kNew, kOnStack, kDone };
  std::vector<uint8_t> state(static_cast<size_t>(num_nodes), kNew);
  std::vector<std::vector<int64_t>> reach(static_cast<size_t>(num_nodes));
  auto finish = [&](int64_t d) {  // all operands of dropped d are done: merge their sets
    std::vector<int64_t>& r = reach[d];
    for (int64_t j = start[d]; j < start[d + 1]; ++j) {
      const int64_t v = ops[j];
      if (keep[v])
        r.push_back(v);
      else if (state[v] == kDone)
        r.insert(r.end(), reach[v].begin(), reach[v].end());
    }
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    if (r.size() > Reach::kMaxContracted) r.resize(Reach::kMaxContracted);
    r.shrink_to_fit();
    state[d] = kDone;
  };
  std::vector<std::pair<int64_t, int64_t>> stack;  // (dropped node, next operand slot)
  auto visit = [&](int64_t root) {
    if (keep[root] || state[root] != kNew) return;
    state[root] = kOnStack;
    stack.emplace_back(root, start[root]);
    while (!stack.empty()) {
      auto& [d, j] = stack.back();
      if (j == start[d + 1]) {
        const int64_t done = d;
        stack.pop_back();
        finish(done);
        continue;
      }
      const int64_t v = ops[j++];
      if (!keep[v] && state[v] == kNew) {
        state[v] = kOnStack;
        stack.emplace_back(v, start[v]);
      }
    }
  };
  for (int64_t u = 0; u < num_nodes; ++u) {
    if (!keep[u]) continue;
    for (int64_t j = start[u]; j < start[u + 1]; ++j) {
      const int64_t d = ops[j];
      if (keep[d]) continue;
      visit(d);
      for (int64_t w : reach[d])
        if (w != u) edges->emplace_back(u, w);
    }
  }
}

}  // namespace

PrunedGraph prune_layout(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                         const std::vector<int64_t>& node_config_ids, const Reach& reach) {
  TG_CHECK(edge_index.size() % 2 == 0, "edge_index must be [E, 2]");
  TG_CHECK(num_nodes >= 0);
  TG_CHECK(reach.mode != Reach::kHops || (reach.hops >= 1 && reach.hops <= Reach::kMaxHops),
           "hops ", reach.hops, " outside [1, ", Reach::kMaxHops, "]");
  const size_t E = edge_index.size() / 2;
  std::vector<uint8_t> is_config(static_cast<size_t>(num_nodes), 0);
  for (int64_t id : node_config_ids) {
    TG_CHECK(id >= 0 && id < num_nodes, "config node id ", id, " outside [0, ", num_nodes, ")");
    TG_CHECK(!is_config[id], "duplicate config node id ", id);
    is_config[id] = 1;
  }
  for (int64_t x : edge_index)
    TG_CHECK(x >= 0 && x < num_nodes, "edge endpoint ", x, " outside [0, ", num_nodes, ")");

  // An edge is kept when one endpoint is within K-1 hops (K = 1 for contract); its endpoints are
  // then within K hops, which is exactly the node set.
  const bool whole = reach.mode == Reach::kWhole;
  const int K = reach.mode == Reach::kHops ? reach.hops : 1;
  // One hop (the default, on every pack and API prepare) needs no walk: distance 0 is exactly
  // "configurable".
  std::vector<int> dist;
  if (!whole && K == 1) {
    dist.resize(static_cast<size_t>(num_nodes));
    for (int64_t i = 0; i < num_nodes; ++i) dist[i] = is_config[i] ? 0 : 1;
  } else if (!whole) {
    dist = hop_distance(edge_index, num_nodes, node_config_ids, K);
  }
  std::vector<uint8_t> keep(static_cast<size_t>(num_nodes), whole ? 1 : 0);
  std::vector<std::pair<int64_t, int64_t>> kept_edges;
  kept_edges.reserve(whole ? E : 0);
  for (size_t e = 0; e < E; ++e) {
    const int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
    if (!whole && std::min(dist[u], dist[v]) > K - 1) continue;
    keep[u] = keep[v] = 1;
    kept_edges.emplace_back(u, v);
  }
  for (int64_t id : node_config_ids) keep[id] = 1;  // isolated configurable nodes stay too
  // Input edges keep their multiplicity (an op may use one operand twice), as in the reference.
  std::sort(kept_edges.begin(), kept_edges.end());
  if (reach.mode == Reach::kContract) {
    std::vector<std::pair<int64_t, int64_t>> extra;
    for (size_t e = 0; e < E; ++e) {  // edges between two neighbours (both kept, neither config)
      const int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
      if (keep[u] && keep[v] && !is_config[u] && !is_config[v]) extra.emplace_back(u, v);
    }
    add_contracted_edges(edge_index, num_nodes, keep, &extra);
    // Added once each, and never beside an input edge of the same pair.
    std::sort(extra.begin(), extra.end());
    extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
    std::vector<std::pair<int64_t, int64_t>> fresh;
    std::set_difference(extra.begin(), extra.end(), kept_edges.begin(), kept_edges.end(),
                        std::back_inserter(fresh));
    kept_edges.insert(kept_edges.end(), fresh.begin(), fresh.end());
  }

  PrunedGraph g;
  std::vector<int64_t> new_id(static_cast<size_t>(num_nodes), -1);
  for (int64_t i = 0; i < num_nodes; ++i)
    if (keep[i]) {
      new_id[i] = static_cast<int64_t>(g.node_ids.size());
      g.node_ids.push_back(i);
    }
  g.num_nodes = static_cast<int64_t>(g.node_ids.size());
  for (auto& [u, v] : kept_edges) {
    u = new_id[u];
    v = new_id[v];
  }
  // new_id is monotone in the old id, so only the appended edges break the order.
  std::sort(kept_edges.begin(), kept_edges.end());
  g.edge_index.reserve(2 * kept_edges.size());
  for (const auto& [u, v] : kept_edges) {
    g.edge_index.push_back(u);
    g.edge_index.push_back(v);
  }
  g.config_pos.reserve(node_config_ids.size());
  for (int64_t id : node_config_ids) g.config_pos.push_back(new_id[id]);
  return g;
}

}  // namespace tgraph
