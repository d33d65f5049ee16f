// The one trainer, for both tasks (layout and tile): `graphs_per_step` graphs per optimiser step,
// each with a slate of its configurations, a ranking loss, AdamW, cosine schedule with warm-up,
// gradient clipping, periodic validation through the evaluator (the task's first metric picks
// the best checkpoint), atomic checkpoints and resume. The collection decides the task.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/data/prune.h"
#include "tgraph/model/context.h"
#include "tgraph/model/losses.h"
#include "tgraph/model/models.h"
#include "tgraph/train/distributed.h"
#include "tgraph/train/scoring.h"

namespace tgraph {

// 2 GiB: at full scale (4 254 pruned nodes) hidden 256 with slate 64 then trains under 4 GiB
// peak RSS; the benchmark graphs' slates (529 nodes, slate 128) run in one pass.
constexpr double kDefaultActivationBudgetMb = 2048;

struct TrainOptions {
  std::string data_root;  // TpuGraphs npz root (holds layout/ and tile/)
  std::string collection = "layout:xla:random";
  // --train-also: more layout collections whose *train* split joins this one's (e.g. the random
  // search of the same graphs for a default-collection model). Validation, selection and the model
  // file's collection stay --collection's; the model sees no input saying which search a graph
  // came from.
  std::vector<std::string> train_also;
  std::string out_dir;           // run directory: model files, checkpoint, log.jsonl
  std::string cache_dir;         // packed graphs; "" = <out_dir>/cache
  std::string model = "tgraph";  // layout: tgraph | tgraph-cpu | baseline;
                                 // tile: tile | tile-baseline (tgraph / baseline map to them)
  int cross_attention = -1;      // -1: on for default collections (tgraph models), else 0/1
  int hidden = 0;                // 0: preset value
  // --arch key=value overrides of the preset's ModelConfig fields after --hidden (dropout,
  // graph_layers, dense_layers, config_relu, ...; ModelConfig::with_overrides).
  std::vector<std::string> arch;
  // name "" = the preset's (hinge; listmle for the layout baseline and for tile), chosen by
  // resolve_defaults. It must start empty: with LossOptions' own default, "hinge", the presets
  // could not tell an explicit --loss hinge from none.
  LossOptions loss{""};
  int64_t slate = 0;            // 0: 64 default / 128 random (16 baseline, 32 tgraph-cpu);
                                // tile 256
  int64_t graphs_per_step = 0;  // 0: 1 (layout) / 8 (tile); losses are averaged over them
  int64_t eval_slate = 0;       // validation slate; 0: 2 x slate with cross-attention, else 512
  // Saved activations per training pass, in MiB (ModelImpl::activation_bytes_per_config): a
  // slate that needs more runs in passes of fewer configurations (slate_backward). 0 = never split.
  double activation_budget_mb = kDefaultActivationBudgetMb;
  double lr = 0;                 // 0: 1e-3 (3e-3 for tgraph-cpu)
  int64_t max_valid_graphs = 0;  // 0: every validation graph
  double weight_decay = 1e-5, warmup = 0.05, clip = 1.0;
  int64_t steps = 0;         // step budget (0 = none)
  double time_budget_s = 0;  // wall-clock budget in seconds (0 = none); one is required
  double eval_every_s = 0;   // 0: 6 evaluations over the budget (the time budget
                             // includes evaluation time)
  int64_t eval_every_steps = 0;
  // --snapshots: every validation also writes the model as <out_dir>/snapshots/step<N>.tgm, so the
  // last few can be combined into one ensemble (`tgraph ensemble`) at no extra training cost.
  bool snapshots = false;
  // --ema: decay of an exponential moving average of the weights (0 = off). The average is what
  // validation scores and best.tgm / last.tgm / snapshots hold; the raw weights keep training
  // (weight_average.h).
  double ema = 0;
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

// How one graph's slate is run in a training step (plan_slate).
struct SlatePlan {
  int64_t rows_per_pass = 0;  // < slate: sequential passes that fit the activation budget
  int workers = 1;            // > 1: the slate in that many parts on as many threads
  // The threads for the parts, kept for the run; null: started for the call (slower).
  PartThreads* threads = nullptr;
};

// One slate's share of a step: forward, ranking loss against `runtimes` [S], and backward of
// weight x loss (gradients accumulate in the parameters). Returns the loss; when it is not finite
// nothing is back-propagated. Only for models without cross-attention (whose scores do not depend
// on the rest of the slate) may the slate be divided, two ways:
//
// - plan.rows_per_pass < S (memory): all scores first without autograd, pass by pass; then the
//   loss and its gradient with respect to the scores; then each pass again with autograd,
//   back-propagating its share. The gradient is the one-pass gradient (the random generator is
//   rewound to each pass's state, so dropout draws the same masks in both passes) at the
//   activation memory of one pass, for one more forward pass.
// - plan.workers > 1 (speed, CPU): the slate in `workers` parts, each forward and backward on its
//   own thread with one intra-op thread (small matmuls scale better across parts than within
//   one); the loss joins them in between. Each part's dropout draws from its own generator seeded
//   from the default one in part order, and the parts' gradients are summed in part order, so a
//   step does not depend on thread timing.
//
// With dropout, masks are drawn per pass or part, so they differ from an undivided slate's (same
// distribution); without it every way gives the one-pass gradient up to rounding.
double slate_backward(ModelImpl& net, const GraphTensors& g, const torch::Tensor& configs,
                      const torch::Tensor& runtimes, const LossOptions& loss, double weight,
                      const SlatePlan& plan);

// The plan for a graph of num_nodes nodes: passes when the slate's activations exceed budget_mb,
// else parts on the intra-op threads (chunk_workers: CPU, no cross-attention) when a
// configuration's forward pass is large enough to be worth a thread.
SlatePlan plan_slate(const ModelImpl& net, int64_t num_nodes, int64_t slate, double budget_mb,
                     const torch::Device& device);

// Configurations per training pass whose saved activations fit budget_mb (at least 1); the whole
// slate when budget_mb is 0 or the model has cross-attention.
int64_t train_rows_per_pass(const ModelImpl& net, int64_t num_nodes, int64_t slate,
                            double budget_mb);

// Resolves "" / 0 defaults of opt against the collection and model (exposed for tests and `info`).
// Throws tgraph::Error first if a numeric option lies outside its valid range below.
TrainOptions resolve_defaults(TrainOptions opt);

// The numeric options' ranges, one table for every caller: [lo, hi] is what resolve_defaults
// accepts from any caller (Python's train(**options), C++ code filling TrainOptions, the CLI);
// usage_hi is the CLI flag's tighter upper bound (exit 2), e.g. --lr up to 10, where a C++ caller
// may still ask for a learning rate that makes training diverge on purpose. hi = kAnyFinite
// means any finite value. 0 means "the preset's value" where the option has one.
struct TrainOptionRange {
  const char* flag;
  double (*value)(const TrainOptions&);
  double lo, hi, usage_hi;
};
constexpr double kAnyFinite = 1.7976931348623157e308;  // std::numeric_limits<double>::max()
const std::vector<TrainOptionRange>& train_option_ranges();

}  // namespace tgraph
