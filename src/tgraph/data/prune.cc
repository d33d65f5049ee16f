#include "tgraph/data/prune.h"

#include <algorithm>
#include <utility>

#include "tgraph/util/error.h"

namespace tgraph {

PrunedGraph prune_layout(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                         const std::vector<int64_t>& node_config_ids, bool prune) {
  TG_CHECK(edge_index.size() % 2 == 0, "edge_index must be [E, 2]");
  TG_CHECK(num_nodes >= 0);
  const size_t E = edge_index.size() / 2;
  std::vector<uint8_t> is_config(static_cast<size_t>(num_nodes), 0);
  for (int64_t id : node_config_ids) {
    TG_CHECK(id >= 0 && id < num_nodes, "config node id ", id, " outside [0, ", num_nodes, ")");
    TG_CHECK(!is_config[id], "duplicate config node id ", id);
    is_config[id] = 1;
  }
  for (int64_t x : edge_index)
    TG_CHECK(x >= 0 && x < num_nodes, "edge endpoint ", x, " outside [0, ", num_nodes, ")");

  std::vector<uint8_t> keep(static_cast<size_t>(num_nodes), prune ? 0 : 1);
  std::vector<std::pair<int64_t, int64_t>> kept_edges;
  kept_edges.reserve(prune ? 0 : E);
  for (size_t e = 0; e < E; ++e) {
    const int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
    if (prune && !is_config[u] && !is_config[v]) continue;
    keep[u] = keep[v] = 1;
    kept_edges.emplace_back(u, v);
  }
  for (int64_t id : node_config_ids) keep[id] = 1;  // isolated configurable nodes stay too

  PrunedGraph g;
  // new_id is monotone in the old id, so sorted input edges stay sorted; sort anyway to
  // guarantee the documented order for any input.
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
