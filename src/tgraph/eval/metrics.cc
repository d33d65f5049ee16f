#include "tgraph/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>

#include "tgraph/util/error.h"

namespace tgraph {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pair counts of Knight's algorithm, named as in scipy's kendalltau so the formulas can be checked
// against it line by line.
struct PairCounts {
  int64_t tot = 0;   // n(n-1)/2
  int64_t xtie = 0;  // pairs tied in x
  int64_t ytie = 0;  // pairs tied in y
  int64_t ntie = 0;  // pairs tied in both
  int64_t dis = 0;   // discordant pairs (strictly opposite order)
};

int64_t pairs_of(int64_t run) {
  return run * (run - 1) / 2;
}

bool any_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double a) { return std::isnan(a); });
}

// Counts inversions (i < j with v[i] > v[j], strictly) while sorting v ascending. Equal values are
// taken from the left run first, so ties are never counted as inversions.
int64_t sort_counting_inversions(std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<double> buf(n);
  int64_t inv = 0;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        if (v[j] < v[i]) {
          inv += static_cast<int64_t>(mid - i);  // v[j] jumps over every element left in the run
          buf[o++] = v[j++];
        } else {
          buf[o++] = v[i++];
        }
      }
      while (i < mid) buf[o++] = v[i++];
      while (j < hi) buf[o++] = v[j++];
    }
    v.swap(buf);
  }
  return inv;
}

// O(n log n): sort by (x, y), count runs of equal x and of equal (x, y), count the inversions left
// in y (= discordant pairs, since ties in x are already y-sorted), then runs of equal y.
PairCounts count_pairs(const std::vector<double>& x, const std::vector<double>& y) {
  TG_CHECK(x.size() == y.size(), "size mismatch: ", x.size(), " vs ", y.size());
  const int64_t n = static_cast<int64_t>(x.size());
  PairCounts c;
  c.tot = pairs_of(n);
  if (n < 2) return c;
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](int64_t a, int64_t b) { return x[a] != x[b] ? x[a] < x[b] : y[a] < y[b]; });
  std::vector<double> ys(n);
  for (int64_t i = 0; i < n; ++i) ys[i] = y[idx[i]];
  int64_t xrun = 1, jrun = 1;
  for (int64_t i = 1; i <= n; ++i) {
    bool same_x = i < n && x[idx[i]] == x[idx[i - 1]];
    bool same_xy = same_x && ys[i] == ys[i - 1];
    if (same_x) {
      ++xrun;
    } else {
      c.xtie += pairs_of(xrun);
      xrun = 1;
    }
    if (same_xy) {
      ++jrun;
    } else {
      c.ntie += pairs_of(jrun);
      jrun = 1;
    }
  }
  c.dis = sort_counting_inversions(ys);
  int64_t yrun = 1;
  for (int64_t i = 1; i <= n; ++i) {
    if (i < n && ys[i] == ys[i - 1]) {
      ++yrun;
    } else {
      c.ytie += pairs_of(yrun);
      yrun = 1;
    }
  }
  return c;
}

// Labelled runtimes: non-empty, not all zero, every value > 0 (and finite for doubles). The loader
// already refuses a zero runtime in a labelled file; here it would also make `best` zero.
template <typename T>
void check_runtimes(const std::vector<T>& r, const std::string& source) {
  if (r.empty()) throw_error(source, "config_runtime", "at least one configuration", "none");
  if (std::all_of(r.begin(), r.end(), [](T v) { return v == 0; }))
    throw_error(source, "config_runtime", "a labelled graph (runtimes > 0)",
                "all zeros (unlabelled test data)");
  for (size_t i = 0; i < r.size(); ++i) {
    // Written as !(v > 0) so that a NaN runtime is refused too.
    if (!(r[i] > 0) || !std::isfinite(static_cast<double>(r[i])))
      throw_error(source, "config_runtime", "runtimes > 0", TG_STR(r[i] << " at [" << i << "]"));
  }
}

// Returns {min runtime among the first min(k, C) predicted indices, min of all runtimes}.
std::pair<double, double> best_of_top(const std::vector<double>& runtimes,
                                      const std::vector<int64_t>& top, int k,
                                      const std::string& source) {
  TG_CHECK(k >= 1, "k = ", k);
  check_runtimes(runtimes, source);
  const int64_t C = static_cast<int64_t>(runtimes.size());
  const int64_t kk = std::min<int64_t>(k, C);
  if (static_cast<int64_t>(top.size()) < kk)
    throw_error(
        source, "top configs",
        TG_STR("at least " << kk << " predicted indices (k = " << k << ", C = " << C << ")"),
        TG_STR(top.size()));
  std::vector<char> seen(C, 0);
  double m = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < kk; ++i) {
    int64_t t = top[i];
    if (t < 0 || t >= C)
      throw_error(source, "top configs", TG_STR("indices in [0, " << C << ")"),
                  TG_STR(t << " at [" << i << "]"));
    if (seen[t]) throw_error(source, "top configs", "distinct indices", TG_STR(t << " repeated"));
    seen[t] = 1;
    m = std::min(m, runtimes[t]);
  }
  double best = *std::min_element(runtimes.begin(), runtimes.end());
  return {m, best};
}

}  // namespace

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  TG_CHECK(x.size() == y.size(), "size mismatch: ", x.size(), " vs ", y.size());
  if (any_nan(x) || any_nan(y)) return kNaN;
  PairCounts c = count_pairs(x, y);
  if (c.xtie == c.tot || c.ytie == c.tot) return kNaN;  // also n < 2, where tot == 0
  int64_t con_minus_dis = c.tot - c.xtie - c.ytie + c.ntie - 2 * c.dis;
  // Same operation order as scipy so results agree to the last bit.
  double tau = static_cast<double>(con_minus_dis) / std::sqrt(static_cast<double>(c.tot - c.xtie)) /
               std::sqrt(static_cast<double>(c.tot - c.ytie));
  return std::min(1.0, std::max(-1.0, tau));
}

double ordered_pair_accuracy(const std::vector<double>& pred, const std::vector<double>& y) {
  TG_CHECK(pred.size() == y.size(), "size mismatch: ", pred.size(), " vs ", y.size());
  if (any_nan(pred) || any_nan(y)) return kNaN;
  PairCounts c = count_pairs(pred, y);
  int64_t ordered = c.tot - c.ytie;  // pairs with y_i != y_j
  if (ordered == 0) return kNaN;
  int64_t concordant = c.tot - c.xtie - c.ytie + c.ntie - c.dis;
  int64_t pred_tied_only = c.xtie - c.ntie;  // tied in pred, ordered in y: half credit each
  return static_cast<double>(2 * concordant + pred_tied_only) /
         (2.0 * static_cast<double>(ordered));
}

RankMetrics rank_metrics(const std::vector<double>& scores, const std::vector<int64_t>& runtimes,
                         const std::string& source) {
  check_runtimes(runtimes, source);
  if (scores.size() != runtimes.size())
    throw_error(source, "scores", TG_STR(runtimes.size() << " values (one per configuration)"),
                TG_STR(scores.size()));
  // int64 ns runtimes are far below 2^53, so the conversion is exact and keeps every tie.
  std::vector<double> y(runtimes.begin(), runtimes.end());
  RankMetrics m;
  m.tau = kendall_tau_b(scores, y);
  m.opa = ordered_pair_accuracy(scores, y);
  m.n = static_cast<int64_t>(runtimes.size());
  return m;
}

MeanRankMetrics mean_rank_metrics(const std::vector<RankMetrics>& per_graph) {
  MeanRankMetrics m;
  m.graphs = static_cast<int64_t>(per_graph.size());
  double st = 0, so = 0;
  for (const RankMetrics& g : per_graph) {
    if (std::isnan(g.tau))
      ++m.nan_tau;
    else
      st += g.tau;
    if (std::isnan(g.opa))
      ++m.nan_opa;
    else
      so += g.opa;
  }
  int64_t nt = m.graphs - m.nan_tau, no = m.graphs - m.nan_opa;
  m.tau = nt > 0 ? st / static_cast<double>(nt) : kNaN;
  m.opa = no > 0 ? so / static_cast<double>(no) : kNaN;
  return m;
}

std::vector<int64_t> top_k_by_score(const std::vector<double>& scores, int64_t k) {
  const int64_t n = static_cast<int64_t>(scores.size());
  k = std::max<int64_t>(0, std::min(k, n));
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  // A strict total order (NaN last, ties by index) keeps the sort well defined and deterministic
  // even for a diverged model.
  auto less = [&](int64_t a, int64_t b) {
    double sa = scores[a], sb = scores[b];
    bool na = std::isnan(sa), nb = std::isnan(sb);
    if (na != nb) return nb;
    if (!na && sa != sb) return sa < sb;
    return a < b;
  };
  if (k < n) {
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), less);
    idx.resize(k);
  } else {
    std::sort(idx.begin(), idx.end(), less);
  }
  return idx;
}

std::vector<int64_t> ranking_by_score(const std::vector<double>& scores) {
  return top_k_by_score(scores, static_cast<int64_t>(scores.size()));
}

double tile_topk_error(const std::vector<double>& runtimes, const std::vector<int64_t>& top, int k,
                       const std::string& source) {
  auto [m, best] = best_of_top(runtimes, top, k, source);
  return (m - best) / best;
}

double tile_kaggle_score(const std::vector<double>& runtimes, const std::vector<int64_t>& top5,
                         const std::string& source) {
  auto [m, best] = best_of_top(runtimes, top5, 5, source);
  return 2.0 - m / best;  // the form the reference evaluators compute
}

TileMetrics tile_metrics(const std::vector<double>& scores, const std::vector<double>& runtimes,
                         const std::string& source, uint64_t tie_seed) {
  check_runtimes(runtimes, source);
  if (scores.size() != runtimes.size())
    throw_error(source, "scores", TG_STR(runtimes.size() << " values (one per configuration)"),
                TG_STR(scores.size()));
  // Rank in a seeded random row order, so that among tied scores the order is random: the
  // ranking of the permuted scores, mapped back to rows.
  const size_t n = scores.size();
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(tie_seed ^ (std::hash<std::string>{}(source)*0x9E3779B97F4A7C15ull));
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<double> permuted(n);
  for (size_t i = 0; i < n; ++i) permuted[i] = scores[size_t(perm[i])];
  std::vector<int64_t> top = top_k_by_score(permuted, 10);
  for (int64_t& t : top) t = perm[size_t(t)];
  TileMetrics t;
  t.score = tile_kaggle_score(runtimes, top, source);
  t.err1 = tile_topk_error(runtimes, top, 1, source);
  t.err5 = tile_topk_error(runtimes, top, 5, source);
  t.err10 = tile_topk_error(runtimes, top, 10, source);
  t.n = static_cast<int64_t>(runtimes.size());
  return t;
}

TileMetrics mean_tile_metrics(const std::vector<TileMetrics>& per_kernel) {
  TileMetrics m;
  m.n = static_cast<int64_t>(per_kernel.size());
  if (per_kernel.empty()) {
    m.score = m.err1 = m.err5 = m.err10 = kNaN;
    return m;
  }
  for (const TileMetrics& t : per_kernel) {
    m.score += t.score;
    m.err1 += t.err1;
    m.err5 += t.err5;
    m.err10 += t.err10;
  }
  double d = static_cast<double>(per_kernel.size());
  m.score /= d;
  m.err1 /= d;
  m.err5 /= d;
  m.err10 /= d;
  return m;
}

}  // namespace tgraph
