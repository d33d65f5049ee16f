// Per-graph model inputs as tensors: built once per graph, shared by every slate of configurations.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

struct Sample;
struct FeatureNormalizer;
struct TileConfigNormalizer;

constexpr int kNumericFeatures = 134;  // node_feat columns 0..133 (z-scored)
constexpr int kLayoutFeatStart = 134;  // node_feat columns 134..139: minor_to_major
constexpr int kEmbedOffset = 2;        // layout value v in {-2..5} -> embedding row v + 2

struct GraphTensors {
  int64_t num_nodes = 0;
  torch::Tensor node_num;    // [N, 134] float, normalised numeric features
  torch::Tensor m2m;         // [N, 6] long, minor_to_major value + 2 (in 1..7; -1 padding -> 1)
  torch::Tensor opcode;      // [N] long
  torch::Tensor config_pos;  // [NC] long: node index of each configurable node
  torch::Tensor adj_mean;  // [N, N] sparse: row v averages the rows of v's users (operand <- users)
  torch::Tensor adj_sym;   // [N, N] sparse: D^-1/2 (A + A^T + I) D^-1/2 (baseline GCN)
  // The operand edges of configurable nodes (layout_match_features): edge k says configurable
  // node match_user[k] (an index into config_pos) reads the output of node match_prod[k], which
  // is configurable node match_prod_cfg[k], or NC when it is not configurable.
  torch::Tensor match_user, match_prod, match_prod_cfg;  // [E1] long
  // layout_tiling_features' values for every configurable node k, slot t (output, first operand,
  // second operand) and the slot's two most-minor entries a, b (layout values -1..5): row
  // (k * 3 + t) * 49 + (a + 1) * 7 + (b + 1). [NC * 3 * 49, 4] float: padding, minor size,
  // second size, padding with the element type's tile rows
  torch::Tensor tiling_table;
  // tile_fit_features' candidates for the tensor a tile kernel's output bounds tile, one per
  // number of bounds k = 0..6: the last node of rank k (operands come before users, the root
  // last), or the last node when none has rank k. Its dims, 1 past its rank ([7, 6] float), its
  // rank ([7] long) and the dims its own minor_to_major puts most-minor and second ([7] long,
  // -1: none).
  torch::Tensor fit_dims, fit_rank, fit_minor, fit_second;

  GraphTensors to(torch::Device d) const;
};

// node_feat: [N, 140] already normalised in columns 0..133 and re-padded in 134..139.
// edge_index: [E, 2] (user, operand). config_pos: [NC] node indices of configurable nodes.
// raw_feat: the same features before normalisation, for the tensor shapes of tiling_table
// (null: node_feat's own columns, for callers whose features are not normalised).
GraphTensors make_graph_tensors(const std::vector<float>& node_feat,
                                const std::vector<uint8_t>& opcode,
                                const std::vector<int64_t>& edge_index,
                                const std::vector<int64_t>& config_pos, torch::Device device,
                                const std::vector<float>* raw_feat = nullptr);

// A prepared sample's graph, its node features normalised with `norm` (empty: as they are).
GraphTensors make_graph_tensors(const Sample& s, const FeatureNormalizer& norm,
                                torch::Device device);

// Per configurable node and configuration, whether its layouts agree with its neighbours' and
// with each other: a layout that differs from the one its operand is produced in forces a
// transpose or copy, which the embedding of each value alone does not express (an equality of two
// categorical 6-vectors is not linear in their embeddings). ModelConfig::layout_match feeds these
// to the first layer. Two layouts are compared on the positions both specify (value >= 0); they
// "match" when they specify at least one common position and agree on all of them, and "differ"
// when they disagree on one. A producer whose configured output slot is all -1 ("compiler
// chooses") or that is not configurable is taken in its own minor_to_major layout.
//
// Columns (counts over edges, 0/1 for the node's own slots):
//   0-1  operands whose output layout matches / differs from this node's input slot (6-11)
//   2-3  the same against the kernel slot (12-17)
//   4-7  the users for which this node is the producer: columns 0-3 from their side
//   8-9  this node's output slot (0-5) matches / differs from its input slot
//   10-11                                                     from its kernel slot
// configs: [S, NC, 18] long layout indices (value + 2). Returns [S, NC, 12] float.
constexpr int kLayoutMatchFeatures = 12;
torch::Tensor layout_match_features(const GraphTensors& g, const torch::Tensor& configs);

// Per configurable node and configuration, what its layouts do to the shapes of its tensors: a
// TPU stores an array in tiles of 8 x 128 over its two most-minor dimensions, so which
// dimensions a layout puts last decides how much of each tile is padding, and a dimension's size
// is a number in the node features that the embedding of a layout value cannot pair with
// (which size sits at the minor position is a lookup, not linear in either). ModelConfig::
// layout_tiling feeds these to the first layer. For each of the three slots (output 0-5, input
// 6-11 read as the first operand's tensor, kernel 12-17 as the second operand's, operands in edge
// order) three numbers: log(padded / stored elements) with the two most-minor dimensions rounded
// up to 128 and 8, log1p(size of the most-minor dimension), log1p(size of the second-most-minor).
// A slot that is all -1 ("compiler chooses") is taken in the tensor's own minor_to_major layout;
// a prefix of one dimension takes the next one from that layout. A slot without a tensor (no such
// operand) gives zeros. configs: [S, NC, 18] long layout indices (value + 2). Returns
// [S, NC, 9] float, columns slot * 3 + (0: padding, 1: minor size, 2: second size).
// packed (ModelConfig::layout_tiling_packed) appends three columns, [S, NC, 12]: per slot the
// padding again with the tile's rows for the tensor's element type, 16 for 16-bit types and 32
// for 8-bit ones (which pack 2 or 4 values per 32-bit word), 8 otherwise.
constexpr int kLayoutTilingFeatures = 9;
constexpr int kLayoutTilingPackedFeatures = 12;
torch::Tensor layout_tiling_features(const GraphTensors& g, const torch::Tensor& configs,
                                     bool packed = false);

// Per tile configuration, how its output tile sizes fit the tensor they tile (the kernel's
// output; which node that is, below): the cost of a tiled kernel follows the number of tiles it
// steps through, the part of the edge tiles that lies past the output, and the 8 x 128 hardware
// tile each tile is padded to over its two most-minor dimensions. Each is a product of ceilings of
// a dim over a tile size, which is not linear in either (both are inputs already).
// ModelConfig::tile_fit feeds these to the configuration branch. A configuration with k output
// bounds (the files list one per dim of the tiled output, zero-padded to 6, so k is the last
// non-zero position) tiles the last node of rank k, which is the kernel's root in every benchmark
// file (GraphTensors::fit_dims); bound d tiles its dim d. raw_bounds: [S, 6] the raw output bounds
// (config_feat columns 8-13, as config_tensor appends them). Returns [S, 6] float: log(number of
// tiles), log(padded / real elements of the tiled output), log(8 x 128 padding of one tile),
// log1p(tile size along the most-minor dim), log1p(along the second-most-minor), log(elements of
// one tile).
constexpr int kTileFitFeatures = 6;
torch::Tensor tile_fit_features(const GraphTensors& g, const torch::Tensor& raw_bounds);

// Layout configuration values (int8 in -1..5, [S, NC, 18]) -> embedding indices (long, +2).
torch::Tensor config_indices(const int8_t* values, int64_t S, int64_t NC, torch::Device device);

// Raw configuration values [K, width] (Sample::read_configs, or an API caller's candidates) ->
// the model's input: layout [K, NC, 18] long indices (value + 2); tile [K, 30] float: the 24
// columns normalised with tile_norm (required for tile), then the raw output bounds (columns
// 8-13) for tile_fit_features. Tile models read the first 24 columns as the configuration.
torch::Tensor config_tensor(Kind task, const float* raw, int64_t K, int64_t width,
                            const TileConfigNormalizer* tile_norm, torch::Device device);

}  // namespace tgraph
