// Node-feature pre-processing for the layout model: -1 re-padding of minor_to_major and z-scoring.
//
// Both operate on raw [N, 140] node_feat rows (tpugraphs-format.md section 3.1). Re-padding is done
// once when a graph is packed; the normaliser is fitted on the training split's packed graphs and
// stored with the model (to_json / from_json), then applied to every graph the model sees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tgraph {

// Bump whenever node/config features change meaning (columns, padding, normalisation inputs):
// a model trained on one schema must not silently score inputs made for another, and packs made
// for another schema are rebuilt.
constexpr uint32_t kFeatureSchemaVersion = 1;

class PackedGraph;

constexpr int kNumericFeatDim = 134;  // columns 0..133 are z-scored; 134..139 are minor_to_major
constexpr int kMinorToMajorCol = 134;
constexpr int kShapeDimsCol = 21;   // shape dims 0..5 (0-padded), then sum (27), product (28)
constexpr int kElementTypeCol = 2;  // one-hot of 19 element types, tpugraphs-format.md 3.1
// Element types (index into the one-hot) whose shapes carry no layout: tuple, opaque, token.
constexpr int kTupleType = 16, kOpaqueType = 17, kTokenType = 18;

// The tensor rank of one [140] node_feat row, as re-padding uses it: 1 + the position of the last
// non-zero shape dim among columns 21..26, or 1 + the largest minor_to_major entry, whichever is
// larger (0 for a scalar). Ambiguity: dims are 0-padded, so a trailing zero-size dim (shape [4, 0])
// reads as padding; the minor_to_major entries recover the rank whenever the row carries a layout
// with rank >= 2 (its largest entry is rank - 1), but a rank-1 zero-size tensor ([0]) is still
// taken for a scalar. Ranks above 6 are truncated to 6 by the featurizer itself.
int feature_rank(const float* row);

// In place on node_feat [N, 140]: minor_to_major columns 134..139 at positions >= rank become -1
// (the files pad them with 0, which collides with dimension 0). Nodes whose element type is
// tuple, opaque or token have no layout and get -1 in all six.
void repad_minor_to_major(float* node_feat, int64_t N);

// Per-column z-score of node_feat columns 0..133, optionally after sign(x) * log1p(|x|).
//
// Why the log option (default on): shape/window products reach ~1e9 while most nodes sit near
// 0..100, so a plain z-score squeezes typical nodes into a tiny range and leaves outliers at tens
// to hundreds of standard deviations; after log1p every column is O(1..10) wide. The transform is
// monotone and maps 0 to 0, so one-hot and flag columns are unchanged (0/1 -> 0/log 2).
// Constant training columns (std < 1e-6) keep std = 1: they map to 0 on training-like data and to
// a bounded offset elsewhere instead of exploding by 1/std.
struct FeatureNormalizer {
  bool log_transform = true;
  std::vector<float> mean, std;  // [134] statistics of the (transformed) training values

  bool empty() const { return mean.empty(); }
  // Mean 0, std 1 for every column (after the log transform): for tests and tools that need a
  // valid normaliser but no statistics.
  static FeatureNormalizer identity() {
    FeatureNormalizer n;
    n.mean.assign(kNumericFeatDim, 0.f);
    n.std.assign(kNumericFeatDim, 1.f);
    return n;
  }
  // In place on node_feat [N, 140] (columns 134..139 are left alone).
  void apply(float* feat, int64_t N) const;
  nlohmann::json to_json() const;
  // Throws tgraph::Error naming `source` and the field on a malformed object.
  static FeatureNormalizer from_json(const nlohmann::json& j,
                                     const std::string& source = "normalizer");
};

constexpr double kStdFloor = 1e-6;

// Pooled over all nodes of all blocks (a graph with more nodes weighs more): mean and population
// std (ddof 0) per column, two passes in double precision. Each block is [rows, 140].
struct FeatBlock {
  const float* data;
  int64_t rows;
};
FeatureNormalizer fit_normalizer_blocks(const std::vector<FeatBlock>& blocks,
                                        bool log_transform = true);
// Over the packed (pruned, re-padded) nodes of the training graphs.
FeatureNormalizer fit_normalizer(const std::vector<const PackedGraph*>& graphs,
                                 bool log_transform = true);

// Tile configuration features: z-score of the 24 config_feat columns after signed log1p (tile
// bounds and their products span 1..1e6). Fitted on the training kernels, stored with the model.
struct TileConfigNormalizer {
  std::vector<float> mean, std;  // [24]

  bool empty() const { return mean.empty(); }
  // Adds the rows of one kernel's raw config_feat [rows, 24] to a running fit.
  void fit(const std::vector<const std::vector<float>*>& config_feats);
  // In place on [rows, 24] raw values.
  void apply(float* values, int64_t rows) const;
  nlohmann::json to_json() const;
  static TileConfigNormalizer from_json(const nlohmann::json& j, const std::string& source);
};

}  // namespace tgraph
