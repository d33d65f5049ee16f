// The layout search space of one graph: which layouts each configurable node's tensors may take,
// and generation of distinct candidate configurations (`tgraph candidates`, the search's moves).
//
// A configuration is the TpuGraphs encoding [NC, 18]: per configurable node three slots (output,
// operand 0, operand 1) of 6 values, each a minor_to_major list (first = minor-most dim) padded
// with -1; a slot of all -1 leaves that tensor's layout to the compiler, and the all -1 row is the
// default configuration. A legal slot value is -1 or the first `listed` entries of a permutation of
// 0 .. rank-1 (TpuGraphs lists two dims for convolutions and whole permutations for reshapes).
//
// Ranks come from the graph itself (no HLO module needed): the output rank from the node's shape
// features (node_feat cols 21-26), operand ranks from the operand nodes on its edges, and the
// graph's own configurations as evidence (lengths and values they use) where a node's two operands
// have different ranks, because edge_index does not keep operand order.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph::search {

constexpr int kSlots = kLayoutTensors;  // output, operand 0, operand 1 (graph/tpugraphs.h)
constexpr int kSlotDims = kLayoutDims;  // values per slot

struct SlotSpace {
  int rank = 0;    // 0: the node has no such tensor (or it is a scalar / tuple): never set
  int listed = 0;  // entries a layout lists: 1 .. rank
  // Number of distinct layouts besides "unset": rank! / (rank - listed)!.
  int64_t options() const;
};

struct SpaceOptions {
  // > 0: list only this many minor-most dims per tensor (fewer choices); 0: as the graph's own
  // configurations do (or whole permutations when they say nothing).
  int minor_dims = 0;
  // Restrict the search to these node indices (must be configurable); empty: all.
  std::vector<int64_t> nodes;
  // Restrict to configurable nodes with these TpuGraphs opcode ids (26 convolution, 34 dot,
  // 75 reshape); empty: all.
  std::vector<int> opcodes;
};

// A graph's own configurations read as evidence of its legal values: at most this many (the
// first), so a file with 100 000 of them need not be loaded whole (LoadOptions::max_configs).
constexpr int64_t kEvidenceConfigs = 4096;

class LayoutSpace {
 public:
  // Throws tgraph::Error (naming g.path and the option) for a node that is not configurable or a
  // space with nothing to choose.
  LayoutSpace(const LayoutGraph& g, const SpaceOptions& opt = {});

  int64_t num_config_nodes() const { return nc_; }
  int64_t width() const { return nc_ * kSlots * kSlotDims; }          // values per configuration
  const std::vector<int64_t>& node_ids() const { return node_ids_; }  // [NC] graph node index
  const SlotSpace& slot(int64_t k, int s) const { return slots_[size_t(k)][size_t(s)]; }
  // Configurable-node positions (0 .. NC-1) the search may change, ascending.
  const std::vector<int64_t>& searchable() const { return searchable_; }
  // log10 of the number of configurations in the space (can be huge).
  double log10_size() const;

  // The default configuration: all -1.
  std::vector<float> default_row() const { return std::vector<float>(size_t(width()), -1.f); }
  // Redraws every slot of configurable node k in row [NC, 18] uniformly over "unset" and its
  // legal layouts; returns true if the row changed.
  bool redraw_node(float* row, int64_t k, std::mt19937_64& rng) const;
  // Changes `n` distinct searchable nodes (each to a different value than before); n >= the
  // number of searchable nodes redraws them all.
  void mutate(float* row, int64_t n, std::mt19937_64& rng) const;
  // Configurable-node positions whose slots are not all -1 in `row` (differ from the default).
  std::vector<int64_t> changed_nodes(const float* row) const;
  // Whether a row is legal in this space (slots outside it must be -1). On failure *why names
  // the node and slot.
  bool legal(const float* row, std::string* why = nullptr) const;

 private:
  int64_t nc_ = 0;
  std::vector<int64_t> node_ids_;
  std::vector<std::array<SlotSpace, kSlots>> slots_;
  std::vector<int64_t> searchable_;
};

struct CandidateOptions {
  int64_t count = 100;  // K, the default configuration included
  uint64_t seed = 0;
  // 0: every searchable node redrawn (like TpuGraphs' "random" search); n > 0: n random nodes
  // differ from the default (like its "default" search, which starts from the compiler's choice).
  int64_t changes = 0;
};

// K distinct configurations [K, NC, 18], the default first. Fewer when the space has fewer
// distinct configurations than asked (or they are not found in 100 K draws).
std::vector<float> generate_candidates(const LayoutSpace& space, const CandidateOptions& opt,
                                       int64_t* produced);

// A graph holding the same nodes and edges as g with the given configurations (runtime 0).
LayoutGraph with_configs(const LayoutGraph& g, std::vector<float> rows, int64_t count);

// 64-bit hash of a row of `width` floats (for deduplication).
uint64_t row_hash(const float* row, int64_t width);

}  // namespace tgraph::search
