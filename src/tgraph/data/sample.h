// A prepared sample: one graph of either task (layout or tile), pre-processed the way the model
// expects it (pruned, re-padded) but not yet normalised, plus access to its configurations.
//
// This is the middle of the one data path both tasks share:
//   npz / proto -> LayoutGraph | TileGraph -> Sample -> GraphTensors + config tensor -> scores
// No LibTorch here; the model side (model/graph_tensors.h) turns a Sample into tensors with the
// normalisers stored in a model file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/data/pack.h"
#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

struct Sample {
  Kind task = Kind::kLayout;
  std::string stem;    // graph id (file name without .npz)
  std::string source;  // file it came from (for messages)
  int64_t num_nodes = 0;
  std::vector<float> node_feat;      // [N, 140] raw values, minor_to_major re-padded when asked
  std::vector<uint8_t> node_opcode;  // [N]
  std::vector<int64_t> edge_index;   // [E, 2] (user, operand)
  std::vector<int64_t> config_pos;   // layout: [NC] node index of each configurable node; tile: []
  int64_t num_configs = 0;           // C
  int64_t config_width = 0;          // values per configuration: NC * 18 (layout) or 24 (tile)
  std::vector<int64_t> runtimes;     // [C] ns (all 0 when unlabelled)
  std::vector<double> targets;       // [C] loss target: runtime (layout), runtime/normaliser (tile)
  bool labelled = false;
  // Fills out [rows.size(), config_width] with the raw configuration values (layout -1..5 in the
  // 18 slots of each configurable node; tile the 24 config_feat columns) of the given rows.
  std::function<void(const std::vector<int64_t>& rows, float* out)> read_configs;

  int64_t num_config_nodes() const { return static_cast<int64_t>(config_pos.size()); }
};

// From a packed layout file (pruning and re-padding were applied at pack time).
Sample sample_from_pack(std::shared_ptr<const PackedGraph> pg);
// From an in-memory layout graph (node_config_feat loaded when it has configurations to read):
// prunes and re-pads as the model expects.
Sample sample_from_layout(std::shared_ptr<const LayoutGraph> g, const Reach& reach, bool repad);
// From a tile kernel (re-padded; the configuration values stay raw).
Sample sample_from_tile(std::shared_ptr<const TileGraph> t, bool repad);

// A view of some of a sample's configurations: row i of the result is row rows[i] of s.
Sample subset_rows(const Sample& s, std::vector<int64_t> rows);

// Checks K candidate configurations of a sample's graph before they reach a model: K * width
// values, layout values integral in [-1, 5], tile values finite. Throws tgraph::Error
// naming `source`, the candidate and the slot.
void validate_candidates(const Sample& s, const float* values, int64_t K, int64_t width,
                         const std::string& source);

// Up to `k` distinct rows of [0, C) drawn uniformly (Floyd's algorithm: O(k), not O(C)), sorted
// ascending (consecutive rows read faster); all C rows when C <= k.
template <typename Rng>
std::vector<int64_t> sample_rows(int64_t C, int64_t k, Rng& rng);

}  // namespace tgraph

#include "tgraph/data/sample_rows.inl"
