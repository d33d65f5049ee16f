// Layout-graph pruning: keep configurable nodes, their direct neighbours and the edges touching
// them.
//
// TGraph (docs/tgraph-model.md section 2) trains on this pruned graph: configurations only change
// the configurable nodes, and one hop of context around each is what the reference kept (about 4x
// less memory, no accuracy loss reported). The result may be disconnected.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tgraph {

struct PrunedGraph {
  int64_t num_nodes = 0;            // N'
  std::vector<int64_t> node_ids;    // [N'] original node ids, strictly ascending
  std::vector<int64_t> edge_index;  // [E', 2] rows (user, operand) in new ids, sorted by (u, v)
  std::vector<int64_t> config_pos;  // [NC] index into node_ids of each configurable node, in
                                    // node_config_ids order (node_ids[config_pos[k]] == ids[k])
  int64_t num_edges() const { return static_cast<int64_t>(edge_index.size() / 2); }
};

// edge_index: [E, 2] (user, operand) with ids in [0, num_nodes); node_config_ids: [NC] node ids
// (any order, no duplicates). prune = true keeps every configurable node, every node that feeds one
// (operand) or consumes one (user), and exactly the edges with at least one configurable endpoint.
// prune = false returns the identity mapping with every edge (sorted). Ids are assumed validated
// (load_layout does); an out-of-range id is an internal error.
PrunedGraph prune_layout(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                         const std::vector<int64_t>& node_config_ids, bool prune = true);

// Rows node_ids of a row-major [*, dim] array: out[i, :] = data[node_ids[i], :]  ([N', dim]).
template <typename T>
std::vector<T> gather_rows(const T* data, int64_t dim, const std::vector<int64_t>& node_ids) {
  std::vector<T> out(node_ids.size() * static_cast<size_t>(dim));
  for (size_t i = 0; i < node_ids.size(); ++i) {
    const T* src = data + node_ids[i] * dim;
    std::copy(src, src + dim, out.begin() + static_cast<std::ptrdiff_t>(i * dim));
  }
  return out;
}

}  // namespace tgraph
