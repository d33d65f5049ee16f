// Scoring prepared samples with a network or a loaded model (single or seed ensemble), for both
// tasks: every configuration of a graph in slates, evaluation through the one evaluator
// (task.h), and the one predictor (submission rows).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/data/features.h"
#include "tgraph/data/sample.h"
#include "tgraph/eval/submission.h"
#include "tgraph/model/graph_tensors.h"
#include "tgraph/model/model_file.h"
#include "tgraph/model/models.h"
#include "tgraph/train/task.h"

namespace tgraph {

// Scores all configurations of `s` with `net` (its graph tensors `g`, already normalised) in
// slates of `slate` rows. The slate partition is a fixed shuffle (seeded) of the rows, so
// cross-attention models see mixed slates and results are reproducible. The graph part is encoded
// once (ModelImpl::encode_graph). tile_norm: the tile configuration normaliser (tile only).
// Returns [C] scores (higher = predicted slower). Runs without autograd, in eval mode. The shuffled
// configurations are split into equal slates (equal_slates); without cross-attention the slate
// changes no score and rows run in chunks in file order. Passes run through score_in_slates,
// several at once on a CPU with several intra-op threads.
//
// repeats > 1 (cross-attention models): the scores are the mean over that many independent slate
// partitions, partition r shuffled with partition_seed(seed, r). A cross-attention score depends on
// which configurations share its slate; training draws those companions at random, so the mean
// over several draws estimates the score the model was trained to give, with less of the noise
// of one draw (docs/results.md, "Slate repeats"). Partition 0 is the one repeats = 1 uses. Without
// cross-attention, or when one slate holds every configuration, the partition cannot change a
// score and one partition is scored whatever `repeats` says.
// workers: passes in flight (SlateScoring); 0 = scoring_workers (the comparison in `tgraph bench
// --infer-workers` sets it).
std::vector<double> score_configs(ModelImpl& net, const GraphTensors& g, const Sample& s,
                                  const TileConfigNormalizer* tile_norm, int64_t slate,
                                  uint64_t seed, int repeats = 1, int workers = 0);
// The shuffle seed of slate partition r (r = 0: seed itself).
uint64_t partition_seed(uint64_t seed, int r);
// Rows [0, n) in the order of slate partition r: a shuffle seeded with partition_seed(seed, r).
std::vector<int64_t> partition_order(int64_t n, uint64_t seed, int r);

// Rows per forward pass. With cross-attention a score depends on the slate, so the slate is kept
// whole; without it, scores do not depend on the slate and a slate is run in chunks small enough
// that the [N, rows, hidden] activations stay in cache (measured: per-candidate cost grows 3-4x
// from 16 to 4096 rows per pass on a 366-node graph; docs/results.md), smaller when `workers`
// passes are in flight at once.
int64_t forward_rows(const ModelImpl& net, int64_t num_nodes, int64_t slate, int workers = 1);

// Boundaries [0, ..., n] of ceil(n / slate) slates of equal size (differing by at most one row):
// with cross-attention no configuration is scored in a slate much smaller than the others (C =
// 1025, slate 512: 342 + 342 + 341, not 512 + 512 + 1).
std::vector<int64_t> equal_slates(int64_t n, int64_t slate);

// Runs fn(begin, count) over rows [0, n) in chunks of `chunk`. With workers > 1 the chunks run on
// that many threads at once, each with one intra-op thread: "several chunks in flight" scales
// better than splitting each chunk's small matmuls across threads. fn must be safe to call
// concurrently and write disjoint outputs; it runs under NoGradGuard.
void for_each_chunk(int64_t n, int64_t chunk, int workers,
                    const std::function<void(int64_t begin, int64_t count)>& fn);
// Threads kept for a whole run (the trainer's slate parts): `threads` helpers, each set once to
// one intra-op thread, that run fn(i) for i in [0, n) while the caller waits. Starting threads per
// step, as for_each_chunk does, cost ~17 ms a step in ATen's per-thread set-up and thread-count
// switches (measured: a 68-node graph trained at half speed); these pay it once.
class PartThreads {
 public:
  explicit PartThreads(int threads);
  ~PartThreads();
  PartThreads(const PartThreads&) = delete;
  PartThreads& operator=(const PartThreads&) = delete;
  int size() const;
  // fn runs with autograd on (each helper's grad mode is its own). Rethrows the first exception.
  void run(int64_t n, const std::function<void(int64_t)>& fn);

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// Chunk workers for training `net` on `device` in slate parts: the intra-op thread count on a CPU
// when a slate's rows are independent (no cross-attention), else 1.
int chunk_workers(const ModelImpl& net, const torch::Device& device);

// How score_in_slates cuts n rows into forward passes. With cross-attention a pass is one whole
// slate (equal_slates of `slate` rows) of a partition, and `repeats` partitions are scored and
// averaged (score_configs says why); partition r > 0, and partition 0 unless `first_in_order`, is
// partition_order(n, seed, r). Without cross-attention a score does not depend on its companions:
// passes are `chunk` consecutive rows and one partition is scored whatever `repeats` says.
struct SlateScoring {
  bool cross_attention = false;
  int64_t slate = 1;
  int64_t chunk = 1;
  uint64_t seed = 0;
  int repeats = 1;
  bool first_in_order = false;
  // Passes in flight at once, each on one intra-op thread (the caller's threads when 1): slates
  // of a cross-attention model, or chunks, are independent, and several passes at once scale
  // better than one pass's small matmuls split across threads (docs/results.md).
  int workers = 1;
};
// Reads rows (sorted ascending) of the candidate set into out ([rows, width] floats).
using RowReader = std::function<void(const std::vector<int64_t>& rows, float* out)>;
// One forward pass over k rows ([k, width] floats): [k] float64 scores on the CPU, contiguous.
// Must be safe to call concurrently; it runs under NoGradGuard.
using PassForward = std::function<torch::Tensor(const float* rows, int64_t k)>;
// The scores of rows [0, n) (repeats averaged). Every pass's scores land in a slot of their own
// and partitions are summed in order, so the result does not depend on `workers`.
std::vector<double> score_in_slates(int64_t n, int64_t width, const SlateScoring& how,
                                    const RowReader& read, const PassForward& forward);
// The plan of every scorer (score_configs, the API) for `net` on `device` and a graph of num_nodes
// nodes: passes in flight from scoring_workers (or `workers` when > 0) and chunks sized for them.
SlateScoring slate_scoring(const ModelImpl& net, const torch::Device& device, int64_t num_nodes,
                           int64_t slate, uint64_t seed, int repeats, int workers = 0);
// Passes in flight for scoring with `net` on `device`: the intra-op thread count on a CPU, else 1;
// with cross-attention no more slates of `slate` rows on a graph of num_nodes nodes than fit in
// the trainer's activation budget together (at least 1).
int scoring_workers(const ModelImpl& net, const torch::Device& device, int64_t num_nodes,
                    int64_t slate);

// A loaded model's scores for every configuration of a sample. A single model's scores are its
// network's; an ensemble's are the mean over members of (score - offset) / scale, with the
// population standard deviation across members as `spread` (0 for a single model).
struct ModelScores {
  std::vector<double> score, spread;  // [C]
};
// slate <= 0: the model's default_inference_slate, repeats <= 0: its default_slate_repeats
// (model_file.h); likewise in evaluate_model and predict_rows, which score through this.
ModelScores score_sample(const LoadedModel& m, const Sample& s, int64_t slate, uint64_t seed,
                         int repeats = 0);
// The combination itself, from each member's raw scores (raw[member][k]).
ModelScores combine_member_scores(const LoadedModel& m,
                                  const std::vector<std::vector<double>>& raw);

// Samples of a split pre-processed the way the model says (never de-duplicated: evaluation and
// prediction see every row; layout graphs are packed into cache_dir).
std::vector<Sample> samples_for_split(const LoadedModel& m, const std::string& data_root,
                                      const Collection& c, const std::string& split,
                                      const std::string& cache_dir, int threads);

// The evaluator for a loaded model (sample i uses slate seed seed + i).
EvalReport evaluate_model(const LoadedModel& m, const std::vector<Sample>& samples, int64_t slate,
                          uint64_t seed, int repeats = 0);
// The "file order" heuristic: row 0 predicted fastest (row 0 is the default configuration in
// train/valid files; test files are in arbitrary order).
EvalReport evaluate_row_order(Kind task, const std::vector<Sample>& samples);

// Throws tgraph::Error naming `source` if a score is NaN or infinite: no ranking is written (or
// returned) from scores that carry no order.
void require_finite_scores(const std::vector<double>& scores, const std::string& source);

// The predictor: submission rows, fastest first (layout: the full permutation; tile: top 5).
std::vector<SubmissionRow> predict_rows(const LoadedModel& m, const std::vector<Sample>& samples,
                                        const Collection& c, int64_t slate, uint64_t seed,
                                        int repeats = 0);

}  // namespace tgraph
