// Throughput measurement of the layout models: training and inference configurations per second on
// one graph, with the machine's matmul FLOP/s and BLAS library beside them (for `tgraph bench`).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tgraph/data/prune.h"
#include "tgraph/model/context.h"
#include "tgraph/model/models.h"
#include "tgraph/train/trainer.h"

namespace tgraph {

struct BenchOptions {
  std::string graph_path;        // a layout .npz
  std::string model = "tgraph";  // preset name
  int cross_attention = 0;
  int64_t slate = 64;         // training slate
  int64_t infer_slate = 512;  // inference slate
  int64_t infer_configs = 0;  // configurations scored for the inference figure; 0 = all
  int steps = 10;             // timed training steps (after 2 warm-up steps)
  double activation_budget_mb = kDefaultActivationBudgetMb;  // as TrainOptions (passes beyond)
  int train_parts = 0;  // 0: the trainer's plan (plan_slate); N: N parts on threads (1 = none)
  // Op profile (`--profile`): self time per op of `steps` more training steps and one more
  // inference, the `profile_top` largest (0 = all), after the timed runs.
  bool profile = false;
  size_t profile_top = 25;
  int infer_workers = 0;  // 0: as scoring runs (scoring_workers); N: N passes at once (1 = one)
  Reach reach;
  RunContext ctx;
};

// Returns {graph, nodes, pruned_nodes, config_nodes, model, parameters, threads, blas,
//          matmul_gflops, train_configs_per_s, train_step_s, infer_configs_per_s, ...}.
nlohmann::json run_layout_bench(const BenchOptions& opt);

}  // namespace tgraph
