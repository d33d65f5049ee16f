#include "tgraph/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <sstream>

#include "../test_util.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

using test::error_of;

// Direct O(n^2) definitions, independent of Knight's algorithm.
struct Naive {
  double tau, opa;
};
Naive naive(const std::vector<double>& x, const std::vector<double>& y) {
  int64_t P = 0, Q = 0, n1 = 0, n2 = 0, tot = 0, ordered = 0;
  double credit = 0;
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = i + 1; j < x.size(); ++j) {
      ++tot;
      double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0) ++n1;
      if (dy == 0) ++n2;
      if (dx * dy > 0) ++P;
      if (dx * dy < 0) ++Q;
      if (dy != 0) {
        ++ordered;
        credit += dx == 0 ? 0.5 : (dx * dy > 0 ? 1.0 : 0.0);
      }
    }
  Naive r;
  r.tau = (n1 == tot || n2 == tot) ? NAN : (P - Q) / std::sqrt(double(tot - n1) * (tot - n2));
  r.opa = ordered == 0 ? NAN : credit / ordered;
  return r;
}

bool have_scipy() {
  return std::system("/usr/bin/python3 -c 'import scipy.stats' >/dev/null 2>&1") == 0;
}

std::string fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

TEST(KendallTauB, PerfectAndReversedOrder) {
  std::vector<double> x{1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(kendall_tau_b(x, {10, 20, 30, 40, 50}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b(x, {50, 40, 30, 20, 10}), -1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2}, {7, 3}), -1.0);
}

TEST(KendallTauB, HandComputedExamplesWithTies) {
  // Pairs: 5 concordant, (1,2) tied in x only. tau = 5 / sqrt((6-1) * 6).
  EXPECT_NEAR(kendall_tau_b({1, 2, 2, 3}, {1, 3, 2, 4}), 5 / std::sqrt(30.0), 1e-15);
  // P = 2, Q = 0, n1 = 2 ((0,1), (2,3)), n2 = 3 ((0,1), (0,2), (1,2)): tau = 2 / sqrt(4 * 3).
  EXPECT_NEAR(kendall_tau_b({1, 1, 2, 2}, {1, 1, 1, 2}), 2 / std::sqrt(12.0), 1e-15);
  // P = 0, Q = 2, n2 = 1: tau = -2 / sqrt(3 * 2).
  EXPECT_NEAR(kendall_tau_b({1, 2, 3}, {3, 3, 1}), -2 / std::sqrt(6.0), 1e-15);
}

TEST(KendallTauB, NaNCasesLikeScipy) {
  EXPECT_TRUE(std::isnan(kendall_tau_b({}, {})));
  EXPECT_TRUE(std::isnan(kendall_tau_b({1}, {2})));
  EXPECT_TRUE(std::isnan(kendall_tau_b({3, 3, 3}, {1, 2, 3})));  // constant x
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, 2, 3}, {5, 5, 5})));  // constant y
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, NAN, 3}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, 2, 3}, {1, 2, NAN})));
}

TEST(KendallTauB, MatchesNaiveDefinitionOnRandomTies) {
  std::mt19937_64 rng(7);
  for (int levels : {2, 3, 10, 1000}) {
    for (int n : {2, 5, 17, 300}) {
      std::uniform_int_distribution<int> d(0, levels - 1);
      std::vector<double> x(n), y(n);
      for (int i = 0; i < n; ++i) x[i] = d(rng), y[i] = d(rng) * 0.5 - 1;
      Naive e = naive(x, y);
      SCOPED_TRACE(testing::Message() << "levels " << levels << " n " << n);
      double tau = kendall_tau_b(x, y), opa = ordered_pair_accuracy(x, y);
      EXPECT_EQ(std::isnan(tau), std::isnan(e.tau));
      if (!std::isnan(e.tau)) {
        EXPECT_NEAR(tau, e.tau, 1e-12);
      }
      EXPECT_EQ(std::isnan(opa), std::isnan(e.opa));
      if (!std::isnan(e.opa)) {
        EXPECT_NEAR(opa, e.opa, 1e-12);
      }
    }
  }
}

TEST(KendallTauB, MatchesScipyKendalltauOnRandomDataWithTies) {
  if (!have_scipy()) GTEST_SKIP() << "/usr/bin/python3 has no scipy";
  std::mt19937_64 rng(2024);
  std::vector<std::pair<std::vector<double>, std::vector<double>>> sets;
  auto add_int = [&](int n, int xl, int yl) {
    std::uniform_int_distribution<int> dx(0, xl - 1), dy(0, yl - 1);
    std::vector<double> x(n), y(n);
    for (int i = 0; i < n; ++i) {
      x[i] = dx(rng);
      y[i] = dy(rng) + (x[i] > xl / 2 ? yl / 3 : 0);  // some correlation
    }
    sets.emplace_back(x, y);
  };
  add_int(2, 3, 3);
  add_int(3, 2, 2);
  add_int(10, 4, 3);
  add_int(100, 10, 20);
  add_int(1000, 50, 7);
  add_int(2000, 5, 10);  // heavy ties in both
  add_int(2000, 3, 2000000);
  add_int(5000, 1000000, 1000000);  // almost no ties
  // Non-integer values with ties, and a negatively correlated pair.
  {
    std::uniform_int_distribution<int> d(0, 40);
    std::vector<double> x(700), y(700);
    for (int i = 0; i < 700; ++i) x[i] = d(rng) / 7.0, y[i] = -x[i] * 3.3 + d(rng) / 13.0;
    sets.emplace_back(x, y);
  }
  sets.push_back({{1, 1, 1, 1}, {1, 2, 3, 4}});  // constant x: NaN in both

  test::TempDir dir;
  std::ostringstream data;
  for (const auto& [x, y] : sets) {
    for (size_t i = 0; i < x.size(); ++i) data << (i ? " " : "") << fmt(x[i]);
    data << "\n";
    for (size_t i = 0; i < y.size(); ++i) data << (i ? " " : "") << fmt(y[i]);
    data << "\n";
  }
  test::write_bytes(dir.file("data.txt"), data.str());
  std::string out = test::run_python(
      "import numpy as np, scipy.stats\n"
      "lines = open('" +
      dir.file("data.txt") +
      "').read().split('\\n')\n"
      "for i in range(0, len(lines) - 1, 2):\n"
      "    x = np.array([float(v) for v in lines[i].split()])\n"
      "    y = np.array([float(v) for v in lines[i + 1].split()])\n"
      "    print(repr(float(scipy.stats.kendalltau(x, y)[0])))\n");
  std::istringstream is(out);
  for (size_t k = 0; k < sets.size(); ++k) {
    std::string s;
    ASSERT_TRUE(static_cast<bool>(is >> s)) << "scipy printed too few values:\n" << out;
    SCOPED_TRACE(testing::Message() << "set " << k << " n " << sets[k].first.size());
    double want = s == "nan" ? NAN : std::stod(s);
    double got = kendall_tau_b(sets[k].first, sets[k].second);
    EXPECT_EQ(std::isnan(got), std::isnan(want)) << got << " vs " << s;
    if (!std::isnan(want)) {
      EXPECT_NEAR(got, want, 1e-12);
    }
  }
}

TEST(KendallTauB, LargeInputWithTiesMatchesStructure) {
  // 200k values on 100 levels: the O(n log n) path; identical inputs must give exactly 1.
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> d(0, 99);
  std::vector<double> x(200000);
  for (double& v : x) v = d(rng);
  EXPECT_DOUBLE_EQ(kendall_tau_b(x, x), 1.0);
  std::vector<double> neg(x.size());
  for (size_t i = 0; i < x.size(); ++i) neg[i] = -x[i];
  EXPECT_DOUBLE_EQ(kendall_tau_b(x, neg), -1.0);
  EXPECT_NEAR(ordered_pair_accuracy(x, x), 1.0, 1e-15);
}

TEST(OpaMetric, HandComputedAndTiesCountHalf) {
  EXPECT_DOUBLE_EQ(ordered_pair_accuracy({1, 2, 3}, {10, 20, 30}), 1.0);
  EXPECT_DOUBLE_EQ(ordered_pair_accuracy({3, 2, 1}, {10, 20, 30}), 0.0);
  // 6 pairs ordered in y: 5 concordant, 1 tied in pred => (5 + 0.5) / 6.
  EXPECT_DOUBLE_EQ(ordered_pair_accuracy({1, 2, 2, 3}, {1, 3, 2, 4}), 5.5 / 6);
  // Pairs tied in y are left out: 3 ordered pairs, 2 concordant, 1 tied in pred.
  EXPECT_DOUBLE_EQ(ordered_pair_accuracy({1, 1, 2, 2}, {1, 1, 1, 2}), 2.5 / 3);
  // Constant prediction: every pair half right.
  EXPECT_DOUBLE_EQ(ordered_pair_accuracy({0, 0, 0, 0}, {4, 3, 2, 1}), 0.5);
  EXPECT_TRUE(std::isnan(ordered_pair_accuracy({1, 2}, {5, 5})));
  EXPECT_TRUE(std::isnan(ordered_pair_accuracy({1}, {5})));
  EXPECT_TRUE(std::isnan(ordered_pair_accuracy({NAN, 2}, {1, 5})));
}

TEST(OpaMetric, TauEqualsTwoOpaMinusOneWithoutTies) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g;
  for (int n : {2, 3, 50, 1000, 20000}) {
    std::vector<double> p(n), y(n);
    for (int i = 0; i < n; ++i) {
      y[i] = g(rng);
      p[i] = 0.3 * y[i] + g(rng);  // continuous: no ties (almost surely)
    }
    SCOPED_TRACE(n);
    EXPECT_NEAR(kendall_tau_b(p, y), 2 * ordered_pair_accuracy(p, y) - 1, 1e-12);
  }
}

TEST(RankMetrics, ScoresAgainstIntegerRuntimes) {
  RankMetrics m = rank_metrics({0.1, 0.2, 0.3, 0.4}, {100, 200, 300, 400}, "g.npz");
  EXPECT_DOUBLE_EQ(m.tau, 1.0);
  EXPECT_DOUBLE_EQ(m.opa, 1.0);
  EXPECT_EQ(m.n, 4);
  // Runtime ties (duplicate configs) are kept exactly.
  m = rank_metrics({1, 2, 3}, {500, 500, 100}, "g.npz");
  EXPECT_NEAR(m.tau, -2 / std::sqrt(6.0), 1e-15);
  EXPECT_DOUBLE_EQ(m.opa, 0.0);
}

TEST(RankMetrics, RefusesUnlabelledAndBadRuntimes) {
  std::string e = error_of([] { rank_metrics({1, 2, 3}, {0, 0, 0}, "test/g.npz"); });
  EXPECT_EQ(e,
            "test/g.npz: config_runtime: expected a labelled graph (runtimes > 0), found all zeros "
            "(unlabelled test data)");
  e = error_of([] { rank_metrics({1, 2, 3}, {5, 0, 7}, "g.npz"); });
  EXPECT_NE(e.find("g.npz: config_runtime: expected runtimes > 0, found 0 at [1]"),
            std::string::npos)
      << e;
  e = error_of([] { rank_metrics({1, 2}, {5, 6, 7}, "g.npz"); });
  EXPECT_NE(e.find("g.npz: scores"), std::string::npos) << e;
  e = error_of([] { rank_metrics({}, {}, "g.npz"); });
  EXPECT_NE(e.find("g.npz: config_runtime"), std::string::npos) << e;
}

TEST(RankMetrics, MeanSkipsAndCountsNaNGraphs) {
  std::vector<RankMetrics> g{{1.0, 1.0, 3}, {0.5, 0.75, 4}, {NAN, 0.5, 5}, {NAN, NAN, 2}};
  MeanRankMetrics m = mean_rank_metrics(g);
  EXPECT_EQ(m.graphs, 4);
  EXPECT_EQ(m.nan_tau, 2);
  EXPECT_EQ(m.nan_opa, 1);
  EXPECT_DOUBLE_EQ(m.tau, 0.75);
  EXPECT_DOUBLE_EQ(m.opa, 0.75);
  MeanRankMetrics e = mean_rank_metrics({});
  EXPECT_TRUE(std::isnan(e.tau));
  EXPECT_EQ(e.graphs, 0);
}

TEST(TopKMetric, LowestScoreFirstStableAndNaNLast) {
  std::vector<double> s{3, 1, 2, 1, NAN, 0};
  EXPECT_EQ(ranking_by_score(s), (std::vector<int64_t>{5, 1, 3, 2, 0, 4}));
  EXPECT_EQ(top_k_by_score(s, 3), (std::vector<int64_t>{5, 1, 3}));
  EXPECT_EQ(top_k_by_score(s, 100).size(), 6u);
  EXPECT_TRUE(top_k_by_score(s, 0).empty());
  EXPECT_TRUE(ranking_by_score({}).empty());
  EXPECT_EQ(top_k_by_score({2, 2, 2, 2}, 2), (std::vector<int64_t>{0, 1}));
}

TEST(TileMetrics, TopKErrorAndKaggleScoreOnAHandMadeKernel) {
  std::vector<double> rt{5, 3, 8, 1, 9, 2, 7};  // best = 1 at index 3
  std::vector<int64_t> good{2, 0, 1, 5, 3, 6, 4};
  EXPECT_DOUBLE_EQ(tile_topk_error(rt, good, 1, "k"), 7.0);  // (8 - 1) / 1
  EXPECT_DOUBLE_EQ(tile_topk_error(rt, good, 4, "k"), 1.0);  // best of {8,5,3,2} = 2
  EXPECT_DOUBLE_EQ(tile_topk_error(rt, good, 5, "k"), 0.0);
  EXPECT_DOUBLE_EQ(tile_kaggle_score(rt, good, "k"), 1.0);
  std::vector<int64_t> bad{6, 4, 2, 0, 1, 3, 5};
  EXPECT_DOUBLE_EQ(tile_topk_error(rt, bad, 5, "k"), 2.0);  // best of {7,9,8,5,3} = 3
  EXPECT_DOUBLE_EQ(tile_kaggle_score(rt, bad, "k"), -1.0);  // 2 - 3/1
  // k = 10 > C = 7: all 7 are used.
  EXPECT_DOUBLE_EQ(tile_topk_error(rt, bad, 10, "k"), 0.0);
  // Only the first min(k, C) entries count; a top-5 list is enough for k = 5.
  EXPECT_DOUBLE_EQ(tile_kaggle_score(rt, {6, 4, 2, 0, 1}, "k"), -1.0);
}

TEST(TileMetrics, KernelsWithOneToFourConfigurations) {
  EXPECT_DOUBLE_EQ(tile_kaggle_score({4}, {0}, "k1"), 1.0);
  EXPECT_DOUBLE_EQ(tile_topk_error({4}, {0}, 1, "k1"), 0.0);
  EXPECT_DOUBLE_EQ(tile_kaggle_score({4, 2}, {0, 1}, "k2"), 1.0);
  EXPECT_DOUBLE_EQ(tile_topk_error({4, 2}, {0, 1}, 1, "k2"), 1.0);  // (4 - 2) / 2
  EXPECT_DOUBLE_EQ(tile_topk_error({3, 6, 9}, {2, 1, 0}, 1, "k3"), 2.0);
  EXPECT_DOUBLE_EQ(tile_topk_error({3, 6, 9}, {2, 1, 0}, 2, "k3"), 1.0);
  EXPECT_DOUBLE_EQ(tile_kaggle_score({3, 6, 9}, {2, 1, 0}, "k3"), 1.0);
  std::vector<double> rt4{10, 20, 40, 30};
  EXPECT_DOUBLE_EQ(tile_topk_error(rt4, {1, 2, 3, 0}, 1, "k4"), 1.0);
  EXPECT_DOUBLE_EQ(tile_topk_error(rt4, {1, 2, 3, 0}, 10, "k4"), 0.0);
  EXPECT_DOUBLE_EQ(tile_kaggle_score(rt4, {1, 2, 3, 0}, "k4"), 1.0);
  // Fewer than min(5, C) indices is an incomplete prediction, not a shorter list to score.
  std::string e = error_of([&] { tile_kaggle_score(rt4, {1, 2, 3}, "k4"); });
  EXPECT_NE(e.find("k4: top configs: expected at least 4 predicted indices"), std::string::npos)
      << e;
}

TEST(TileMetrics, RefusesUnlabelledRuntimesAndBadIndices) {
  std::string e = error_of([] { tile_kaggle_score({0, 0, 0}, {0, 1, 2}, "tile/test/k.npz"); });
  EXPECT_EQ(e,
            "tile/test/k.npz: config_runtime: expected a labelled graph (runtimes > 0), found all "
            "zeros (unlabelled test data)");
  e = error_of([] { tile_topk_error({0, 0}, {0, 1}, 1, "k"); });
  EXPECT_NE(e.find("unlabelled"), std::string::npos) << e;
  e = error_of([] { tile_metrics({1, 2}, {0, 0}, "k"); });
  EXPECT_NE(e.find("unlabelled"), std::string::npos) << e;
  e = error_of([] { tile_topk_error({1, 2, 3}, {0, 3, 1}, 3, "k"); });
  EXPECT_NE(e.find("indices in [0, 3), found 3 at [1]"), std::string::npos) << e;
  e = error_of([] { tile_topk_error({1, 2, 3}, {1, 1, 0}, 3, "k"); });
  EXPECT_NE(e.find("distinct indices, found 1 repeated"), std::string::npos) << e;
  e = error_of([] { tile_topk_error({1, -2, 3}, {0, 1, 2}, 3, "k"); });
  EXPECT_NE(e.find("runtimes > 0, found -2 at [1]"), std::string::npos) << e;
}

TEST(TileMetrics, FromScoresAndMean) {
  std::vector<double> rt{5, 3, 8, 1, 9, 2, 7};
  TileMetrics perfect = tile_metrics(rt, rt, "k");  // scores = runtimes: ideal ranking
  EXPECT_DOUBLE_EQ(perfect.score, 1.0);
  EXPECT_DOUBLE_EQ(perfect.err1, 0.0);
  EXPECT_EQ(perfect.n, 7);
  std::vector<double> neg(rt.size());
  for (size_t i = 0; i < rt.size(); ++i) neg[i] = -rt[i];  // worst first
  TileMetrics worst = tile_metrics(neg, rt, "k");
  EXPECT_DOUBLE_EQ(worst.err1, 8.0);    // 9 vs 1
  EXPECT_DOUBLE_EQ(worst.score, -1.0);  // top 5 {9,8,7,5,3}: 2 - 3
  EXPECT_DOUBLE_EQ(worst.err10, 0.0);
  TileMetrics m = mean_tile_metrics({perfect, worst});
  EXPECT_DOUBLE_EQ(m.score, 0.0);
  EXPECT_DOUBLE_EQ(m.err1, 4.0);
  EXPECT_EQ(m.n, 2);
  EXPECT_TRUE(std::isnan(mean_tile_metrics({}).score));
}

TEST(TileMetrics, TiesAreBrokenByASeededPermutationNotTowardRowZero) {
  // Row 0 is the default and the fastest, as in train/valid files; a constant model has no idea.
  std::vector<double> rt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<double> constant(rt.size(), 0.5);
  int picked_row0 = 0;
  double err1 = 0;
  for (int k = 0; k < 200; ++k) {
    const TileMetrics t = tile_metrics(constant, rt, "kernel" + std::to_string(k));
    picked_row0 += t.err1 == 0.0;
    err1 += t.err1 / 200;
  }
  EXPECT_LT(picked_row0, 60);  // 1 in 12 expected (~17 of 200); index order gave 200
  EXPECT_GT(err1, 3.0);        // mean (runtime - 1) of a random row: 5.5
  // Deterministic for a seed and kernel; another seed may choose another row; untied scores
  // rank as before.
  EXPECT_EQ(tile_metrics(constant, rt, "k", 3).err1, tile_metrics(constant, rt, "k", 3).err1);
  std::set<double> seen;
  for (uint64_t seed = 0; seed < 20; ++seed)
    seen.insert(tile_metrics(constant, rt, "k", seed).err1);
  EXPECT_GT(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(tile_metrics(rt, rt, "k", 7).err1, 0.0);
}

}  // namespace
}  // namespace tgraph
