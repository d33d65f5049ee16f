// Ranking metrics of the TpuGraphs tasks: Kendall's tau-b and OPA (layout), top-K slowdown (tile).
//
// Definitions follow ../shared/docs/tpugraphs-format.md section 4. No LibTorch: scores arrive as
// plain vectors. Convention everywhere: a score is a predicted runtime, so a higher score means a
// slower configuration and the best configuration has the lowest score.
//
// Functions that take measured runtimes also take `source` (a file or graph id) and throw
// tgraph::Error naming it when the runtimes are unusable, in particular when they are all zero:
// that is unlabelled test data, and a metric computed on it would be meaningless.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tgraph {

// Kendall's tau-b, exactly scipy.stats.kendalltau's default (variant 'b', nan_policy 'propagate'):
//   tau = (P - Q) / sqrt((n0 - n1) * (n0 - n2)), clamped to [-1, 1],
// with P/Q concordant/discordant pairs, n0 = n(n-1)/2, n1/n2 pairs tied in x/y. O(n log n)
// (Knight's algorithm). Returns NaN, like scipy, when n < 2, when x or y is constant (n1 == n0 or
// n2 == n0: the denominator is 0) or when any value is NaN. x and y must have the same size.
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

// Ordered-pair accuracy: over the pairs (i, j) with y_i != y_j, the fraction that pred orders the
// same way as y (pred_i < pred_j when y_i < y_j); a pair tied in pred counts 0.5. Pairs tied in y
// carry no order and are left out. Returns NaN when there is no such pair (n < 2, or y constant)
// or when any value is NaN. With no ties in pred or y, kendall_tau_b(pred, y) == 2 * OPA - 1.
// O(n log n).
double ordered_pair_accuracy(const std::vector<double>& pred, const std::vector<double>& y);

// Per-graph layout metrics of predicted scores (higher = slower) against measured runtimes (ns).
struct RankMetrics {
  double tau = 0;  // kendall_tau_b(scores, runtimes); NaN as documented there
  double opa = 0;  // ordered_pair_accuracy(scores, runtimes)
  int64_t n = 0;   // number of configurations
};
// Throws tgraph::Error naming `source` when runtimes are all zero (unlabelled), contain a value
// <= 0, are empty, or differ in length from scores.
RankMetrics rank_metrics(const std::vector<double>& scores, const std::vector<int64_t>& runtimes,
                         const std::string& source);

// Mean of per-graph metrics over a collection. Graphs whose tau (opa) is NaN are left out of the
// tau (opa) mean and counted, so a caller wanting scipy-style NaN propagation can test nan_tau.
struct MeanRankMetrics {
  double tau = 0, opa = 0;  // NaN when no graph has a finite value
  int64_t graphs = 0;       // graphs given
  int64_t nan_tau = 0;      // graphs left out of the tau mean
  int64_t nan_opa = 0;      // graphs left out of the opa mean
};
MeanRankMetrics mean_rank_metrics(const std::vector<RankMetrics>& per_graph);

// Indices of the k lowest scores (fastest predicted first); ties broken by lower index, NaN scores
// rank after every number. k larger than the number of scores returns all of them.
std::vector<int64_t> top_k_by_score(const std::vector<double>& scores, int64_t k);
// The full permutation, fastest predicted first (top_k_by_score with k = n).
std::vector<int64_t> ranking_by_score(const std::vector<double>& scores);

// Tile top-K error: (min runtime among the first K' predicted indices - best) / best, where best is
// the minimum of all runtimes and K' = min(k, number of configurations): a kernel with fewer than k
// configurations uses all of them. `top` is a ranking, best first, of at least K' distinct valid
// indices (further entries are ignored). Throws tgraph::Error naming `source` on unlabelled or
// non-positive runtimes and on a `top` that is too short, repeats an index or is out of range.
double tile_topk_error(const std::vector<double>& runtimes, const std::vector<int64_t>& top, int k,
                       const std::string& source);
// Kaggle tile score of one kernel: 2 - min(runtime of the first min(5, C) of top5) / best.
// Same checks as tile_topk_error with k = 5.
double tile_kaggle_score(const std::vector<double>& runtimes, const std::vector<int64_t>& top5,
                         const std::string& source);

// Per-kernel tile metrics of predicted scores (higher = slower): the Kaggle score and the paper's
// top-1/5/10 errors of the ranking by score. Tied scores are ordered by a random permutation
// seeded by (tie_seed, source), never by row index: train/valid files put the default
// configuration first, so breaking ties toward row 0 would credit a constant model with the
// default's runtime.
struct TileMetrics {
  double score = 0;  // tile_kaggle_score
  double err1 = 0, err5 = 0, err10 = 0;
  int64_t n = 0;  // number of configurations
};
TileMetrics tile_metrics(const std::vector<double>& scores, const std::vector<double>& runtimes,
                         const std::string& source, uint64_t tie_seed = 0);
// Plain mean of each field over kernels (n = number of kernels); NaN fields when empty.
TileMetrics mean_tile_metrics(const std::vector<TileMetrics>& per_kernel);

}  // namespace tgraph
