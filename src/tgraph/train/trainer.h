// The one trainer, for both tasks (layout and tile): `graphs_per_step` graphs per optimiser step,
// each with a slate of its configurations, a ranking loss, AdamW, cosine schedule with warm-up,
// gradient clipping, periodic validation through the evaluator (the task's first metric picks
// the best checkpoint), atomic checkpoints and resume. The collection decides the task.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tgraph/data/prune.h"
#include "tgraph/model/context.h"
#include "tgraph/model/losses.h"
#include "tgraph/model/models.h"
#include "tgraph/train/distributed.h"

namespace tgraph {

struct TrainOptions {
  std::string data_root;  // TpuGraphs npz root (holds layout/ and tile/)
  std::string collection = "layout:xla:random";
  std::string out_dir;           // run directory: model files, checkpoint, log.jsonl
  std::string cache_dir;         // packed graphs; "" = <out_dir>/cache
  std::string model = "tgraph";  // layout: tgraph | tgraph-cpu | baseline;
                                 // tile: tile | tile-baseline (tgraph / baseline map to them)
  int cross_attention = -1;      // -1: on for default collections (tgraph models), else 0/1
  int hidden = 0;                // 0: preset value
  // --arch key=value overrides of the preset's ModelConfig fields after --hidden (dropout,
  // graph_layers, dense_layers, config_relu, ...; ModelConfig::with_overrides).
  std::vector<std::string> arch;
  LossOptions loss;              // name "" = preset (hinge; listmle for the layout baseline
                                 // and for tile)
  int64_t slate = 0;             // 0: 64 default / 128 random (16 baseline, 32 tgraph-cpu);
                                 // tile 256
  int64_t graphs_per_step = 0;   // 0: 1 (layout) / 8 (tile); losses are averaged over them
  int64_t eval_slate = 0;        // validation slate; 0: 2 x slate with cross-attention, else 512
  double lr = 0;                 // 0: 1e-3 (3e-3 for tgraph-cpu)
  int64_t max_valid_graphs = 0;  // 0: every validation graph
  double weight_decay = 1e-5, warmup = 0.05, clip = 1.0;
  int64_t steps = 0;         // step budget (0 = none)
  double time_budget_s = 0;  // wall-clock budget in seconds (0 = none); one is required
  double eval_every_s = 0;   // 0: 6 evaluations over the budget (the time budget
                             // includes evaluation time)
  int64_t eval_every_steps = 0;
  Reach reach;             // layout only: graph reach (prune.h); default hops:1, the reference
  std::string init_model;  // --init: start from this model file's weights (init_from_model)
  bool resume = false;
  bool progress = true;  // progress bar on stderr
  // Called after every validation with that log line (step, seconds, train_loss, lr, valid
  // metrics, best); e.g. the Python bindings' progress callback. May be empty.
  std::function<void(const nlohmann::json&)> on_eval;
  DistOptions dist;  // data-parallel when WORLD_SIZE > 1 (distributed.h)
  RunContext ctx;
};

struct TrainResult {
  std::string metric;  // the selection metric: "tau" (layout) | "score" (tile)
  double best = 0;     // its best validation mean
  int64_t best_step = 0;
  // The last model's validation mean (the final evaluation): reported beside the best, which
  // was chosen on the same graphs and so overstates them.
  double last = 0;
  int64_t steps = 0;
  double seconds = 0;
  double configs_per_second = 0;  // training configurations (slate rows) per second
  std::string best_model, last_model;
  int rank = 0, world = 1;         // data-parallel rank / world size
  double comm_seconds = 0;         // time in collectives (0 on one process)
  uint64_t param_checksum = 0;     // parameter_checksum() of the final model (equal on every rank)
  nlohmann::json to_json() const;  // best_<metric>, last_<metric>, best_step, steps, ...
};

TrainResult train(const TrainOptions& opt);

// Resolves "" / 0 defaults of opt against the collection and model (exposed for tests and `info`).
TrainOptions resolve_defaults(TrainOptions opt);

}  // namespace tgraph
