// The tile model (docs: tgraph-model.md section 4) and the early-join GraphSAGE baseline: training,
// evaluation (top-K error, Kaggle tile score) and top-5 prediction for the tile:xla collection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/eval/metrics.h"
#include "tgraph/eval/submission.h"
#include "tgraph/model/context.h"

namespace tgraph {

struct TileTrainOptions {
  std::string data_root;         // TpuGraphs npz root
  std::string out_dir;           // best.tgm, last.tgm, log.jsonl, summary.json
  std::string model = "tile";    // tile (late fusion TGraph encoder) | tile-baseline (early join)
  int hidden = 0;                // 0: preset (tile 256, tile-baseline 64)
  int64_t kernels_per_step = 8;  // kernels per optimiser step
  int64_t slate = 256;           // configurations sampled per kernel and step (all if fewer)
  double lr = 1e-3, weight_decay = 1e-5, warmup = 0.05, clip = 1.0;
  int64_t steps = 0;
  double time_budget_s = 0;
  double eval_every_s = 0;  // 0: 6 evaluations over the budget
  int64_t eval_every_steps = 0;
  int64_t max_valid_kernels = 0;  // 0: all
  bool progress = true;
  RunContext ctx;
};

struct TileTrainResult {
  double best_score = 0;  // mean Kaggle tile score on valid (2 - best-of-top-5 / best)
  int64_t best_step = 0, steps = 0;
  double seconds = 0, kernels_per_second = 0;
  std::string best_model, last_model;
  nlohmann::json to_json() const;
};

TileTrainResult train_tile(const TileTrainOptions& opt);

struct TileEvalReport {
  std::vector<std::pair<std::string, TileMetrics>> kernels;
  TileMetrics mean;
  nlohmann::json to_json() const;
  std::string summary() const;
};

// Evaluates a tile model file on a labelled split (refuses unlabelled kernels).
TileEvalReport evaluate_tile_model(const std::string& model_path, const std::string& data_root,
                                   const std::string& split, const RunContext& ctx);
// The "pick the file's first rows" heuristic (row 0 is the default configuration in train/valid).
TileEvalReport evaluate_row_order_heuristic(const std::string& data_root, const std::string& split);
// Top-5 rows (fastest first) for every kernel of a split, as submission rows.
std::vector<SubmissionRow> predict_tile(const std::string& model_path, const std::string& data_root,
                                        const std::string& split, const RunContext& ctx);

}  // namespace tgraph
