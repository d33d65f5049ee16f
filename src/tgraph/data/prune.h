// Layout-graph pruning: how much of a graph around its configurable nodes the model sees.
//
// TGraph (docs/tgraph-model.md section 2) trains on a pruned graph: configurations only change
// the configurable nodes, and one hop of context around each is what the reference kept (about 4x
// less memory, no accuracy loss reported). One hop cuts the chains of non-configurable nodes
// through which layout choices interact, so the result may be disconnected; issue #12's "graph
// reach" lever compares it with K hops, with contracting those chains into edges, and with the
// whole graph (docs/results.md).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tgraph {

// Which nodes and edges of a layout graph are kept.
//   whole     every node and edge.
//   hops:K    nodes within K undirected hops of a configurable node, and the edges with an
//             endpoint within K-1 hops (hops:1, the reference: configurable nodes, their operands
//             and users, and the edges touching a configurable node).
//   contract  the nodes of hops:1, every edge between two of them, and one edge (u, w) for each
//             path u -> d1 -> ... -> dk -> w of dropped nodes between kept u and w (so configurable
//             nodes linked through a chain of element-wise ops stay linked). A dropped node passes
//             on at most kMaxContracted kept operands (the lowest ids), which bounds the edges a
//             wide node such as a root tuple can add.
struct Reach {
  enum Mode : uint8_t { kWhole = 0, kHops = 1, kContract = 2 };
  Mode mode = kHops;
  int hops = 1;  // kHops only, 1..kMaxHops

  static constexpr int kMaxHops = 16;
  static constexpr size_t kMaxContracted = 32;

  static Reach whole() { return {kWhole, 0}; }
  static Reach with_hops(int k) { return {kHops, k}; }
  static Reach contract() { return {kContract, 1}; }
  bool pruned() const { return mode != kWhole; }
  // "whole" | "hops:K" | "contract". parse accepts exactly what str() writes and throws
  // tgraph::Error naming `where` (a flag or a file key) otherwise.
  std::string str() const;
  static Reach parse(const std::string& s, const std::string& where);
  bool operator==(const Reach& o) const {
    return mode == o.mode && (mode != kHops || hops == o.hops);
  }
  bool operator!=(const Reach& o) const { return !(*this == o); }
};

struct PrunedGraph {
  int64_t num_nodes = 0;            // N'
  std::vector<int64_t> node_ids;    // [N'] original node ids, strictly ascending
  std::vector<int64_t> edge_index;  // [E', 2] rows (user, operand) in new ids, sorted by (u, v)
  std::vector<int64_t> config_pos;  // [NC] index into node_ids of each configurable node, in
                                    // node_config_ids order (node_ids[config_pos[k]] == ids[k])
  int64_t num_edges() const { return static_cast<int64_t>(edge_index.size() / 2); }
};

// edge_index: [E, 2] (user, operand) with ids in [0, num_nodes); node_config_ids: [NC] node ids
// (any order, no duplicates). Keeps what `reach` says (above); configurable nodes are always kept,
// even isolated ones. Reach::whole() returns the identity mapping with every edge (sorted). Edges
// come out sorted; input edges keep their multiplicity, added (contracted) ones appear once. Ids
// are assumed validated (load_layout does); an out-of-range id is an internal error.
PrunedGraph prune_layout(const std::vector<int64_t>& edge_index, int64_t num_nodes,
                         const std::vector<int64_t>& node_config_ids, const Reach& reach = Reach{});

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
