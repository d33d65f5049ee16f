// The cost-model API: prepare/score against the evaluation path, candidate validation,
// concurrent scoring, update + save/load continuation, and seed ensembles.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include "../model/toy_data.h"
#include "../test_util.h"
#include "tgraph/api/cost_model.h"
#include "tgraph/api/ranker.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

// Tiny trained models shared by the tests of this file (training them once keeps the suite fast).
struct Fixture {
  test::TempDir dir;
  std::string layout_root, tile_root;
  std::string layout_model, layout_model2, baseline_model, tile_model;

  Fixture() {
    layout_root = dir.file("npz_layout");
    tile_root = dir.file("npz_tile");
    test::write_toy_collection(layout_root);
    test::write_tile_collection(tile_root);
    auto opts = [&](const std::string& root, const std::string& coll, const std::string& model,
                    const std::string& out, uint64_t seed) {
      TrainOptions o;
      o.data_root = root;
      o.collection = coll;
      o.model = model;
      o.out_dir = dir.file(out);
      o.hidden = 16;
      o.slate = 16;
      o.eval_slate = 64;
      o.lr = 3e-3;
      o.steps = 30;
      o.progress = false;
      o.ctx.threads = 1;
      o.ctx.seed = seed;
      return o;
    };
    layout_model = train(opts(layout_root, "layout:xla:random", "tgraph", "l1", 1)).last_model;
    layout_model2 = train(opts(layout_root, "layout:xla:random", "tgraph", "l2", 2)).last_model;
    baseline_model = train(opts(layout_root, "layout:xla:random", "baseline", "b1", 1)).last_model;
    TrainOptions t = opts(tile_root, "tile:xla", "tile", "t1", 1);
    t.graphs_per_step = 4;
    tile_model = train(t).last_model;
  }
};

Fixture& fx() {
  // A function-local static: built on first use, and its TempDir is removed at exit (/tmp is
  // not cleaned for us; ctest runs every test in its own process).
  static Fixture f;
  return f;
}

CostModelOptions one_thread() {
  CostModelOptions o;
  o.threads = 1;
  return o;
}

// All configurations a file holds, as raw candidate values.
std::vector<float> own_candidates(const LayoutGraph& g) {
  return g.node_config_feat;
}

}  // namespace

TEST(CostModelApi, ScoresOfCandidatesEqualTheEvaluationPath) {
  const std::string f = fx().layout_root + "/layout/xla/random/valid/g0.npz";
  CostModel m = CostModel::load(fx().layout_model, one_thread());
  EXPECT_EQ(m.task(), Kind::kLayout);
  EXPECT_EQ(m.model_name(), "tgraph");
  EXPECT_EQ(m.trained_on(), "layout:xla:random");
  LayoutGraph g = load_layout(f);
  GraphHandle h = m.prepare(g);
  EXPECT_EQ(h.num_config_nodes(), 4);
  EXPECT_EQ(m.candidate_width(h), 4 * 18);
  // The evaluator's scores of the file's own configurations.
  LoadedModel lm = load_model(fx().layout_model, torch::kCPU);
  Sample s = sample_from_layout(std::make_shared<const LayoutGraph>(g), Reach{}, true);
  std::vector<double> ref = score_sample(lm, s, 512, 0).score;
  // The same configurations as in-memory candidates (cached graph encoding, any batch split).
  Scores a = m.score(h, own_candidates(g));
  Scores own = m.score_own(h);
  ASSERT_EQ(a.score.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_NEAR(a.score[i], ref[i], 1e-5) << i;
    EXPECT_EQ(own.score[i], ref[i]) << i;
    EXPECT_EQ(a.spread[i], 0.0);
  }
  // One candidate at a time gives the same scores (no cross-attention in this model).
  for (int64_t k : {0, 7, 47}) {
    Scores one = m.score(h, g.config_row(k), 1);
    EXPECT_NEAR(one.score[0], ref[k], 1e-5);
  }
  // The Ranker is a thin helper over the same path.
  RankerOptions ro;
  ro.threads = 1;
  Ranking r = Ranker::load(fx().layout_model, ro).rank_file(f);
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(r.scores[i], ref[i]);
}

TEST(CostModelApi, TileKernelsScoreLikeTheEvaluator) {
  const std::string f = fx().tile_root + "/tile/xla/valid/k1.npz";
  CostModel m = CostModel::load(fx().tile_model, one_thread());
  EXPECT_EQ(m.task(), Kind::kTile);
  TileGraph t = load_tile(f);
  GraphHandle h = m.prepare(t);
  EXPECT_EQ(m.candidate_width(h), 24);
  LoadedModel lm = load_model(fx().tile_model, torch::kCPU);
  std::vector<double> ref =
      score_sample(lm, sample_from_tile(std::make_shared<const TileGraph>(t), true), 512, 0).score;
  Scores s = m.score(h, t.config_feat);
  ASSERT_EQ(s.score.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(s.score[i], ref[i], 1e-5);
  // A layout graph for a tile model (and the reverse) is refused.
  EXPECT_NE(test::error_of([&] {
              m.prepare_file(fx().layout_root + "/layout/xla/random/valid/g0.npz");
            }).find("a tile kernel for this tile model"),
            std::string::npos);
  CostModel l = CostModel::load(fx().layout_model, one_thread());
  EXPECT_THROW(l.prepare(t), Error);
}

TEST(CostModelApi, BadCandidatesAreClearErrors) {
  CostModel m = CostModel::load(fx().layout_model, one_thread());
  LayoutGraph g = load_layout(fx().layout_root + "/layout/xla/random/valid/g1.npz");
  GraphHandle h = m.prepare(g);
  std::vector<float> c(g.node_config_feat.begin(), g.node_config_feat.begin() + 2 * 72);
  EXPECT_NO_THROW(m.score(h, c));
  std::vector<float> short_c(c.begin(), c.begin() + 71);
  EXPECT_NE(test::error_of([&] { m.score(h, short_c); }).find("a multiple of 72 values"),
            std::string::npos);
  auto bad = [&](float v, size_t at) {
    std::vector<float> b = c;
    b[at] = v;
    return test::error_of([&] { m.score(h, b); });
  };
  std::string e = bad(6.f, 72 + 19);
  EXPECT_NE(e.find("integral layout values in [-1, 5]"), std::string::npos) << e;
  EXPECT_NE(e.find("candidate 1, configurable node 1, slot 1"), std::string::npos) << e;
  EXPECT_NE(bad(0.5f, 3).find("found 0.5 at candidate 0"), std::string::npos);
  EXPECT_NE(bad(std::nanf(""), 0).find("integral layout values"), std::string::npos);
  // A handle from another model, an empty handle, bad update inputs.
  CostModel other = CostModel::load(fx().layout_model2, one_thread());
  EXPECT_NE(test::error_of([&] { other.score(h, c); }).find("prepared by another CostModel"),
            std::string::npos);
  EXPECT_THROW(m.score(GraphHandle(), c), Error);
  std::vector<int64_t> rt = {100, 100};
  EXPECT_NE(test::error_of([&] { m.update(h, c.data(), 2, rt, 1); }).find("different runtimes"),
            std::string::npos);
  rt = {100, -1};
  EXPECT_THROW(m.update(h, c.data(), 2, rt, 1), Error);
  rt = {100};
  EXPECT_THROW(m.update(h, c.data(), 2, rt, 1), Error);
}

TEST(CostModelApi, ConcurrentScoresOnOneModelAgree) {
  CostModel m = CostModel::load(fx().layout_model, one_thread());
  LayoutGraph g = load_layout(fx().layout_root + "/layout/xla/random/valid/g0.npz");
  GraphHandle h = m.prepare(g);
  const std::vector<float> c = own_candidates(g);
  const std::vector<double> ref = m.score(h, c).score;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        if (m.score(h, c).score != ref) ++mismatches[t];
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// Several chunks in flight (2 threads, one intra-op thread each) score like one thread: every
// row once, the same values (up to float summation order), errors propagated.
TEST(CostModelApi, ParallelChunksScoreLikeOneThread) {
  std::vector<int> seen(1000, 0);
  for_each_chunk(1000, 7, 2, [&](int64_t b, int64_t k) {
    for (int64_t i = b; i < b + k; ++i) ++seen[size_t(i)];
  });
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
  EXPECT_THROW(for_each_chunk(100, 3, 2,
                              [](int64_t b, int64_t) {
                                if (b == 51) throw_error("x", "", "", "");
                              }),
               Error);
  LayoutGraph g = load_layout(fx().layout_root + "/layout/xla/random/valid/g0.npz");
  // 3000 candidates: the file's rows repeated, several chunks of ~500 rows.
  std::vector<float> c;
  for (int r = 0; r < 63; ++r) {
    const std::vector<float> own = own_candidates(g);
    c.insert(c.end(), own.begin(), own.end());
  }
  CostModel one = CostModel::load(fx().layout_model, one_thread());
  const std::vector<double> ref = one.score(one.prepare(g), c).score;
  CostModelOptions two;
  two.threads = 2;
  CostModel m2 = CostModel::load(fx().layout_model, two);
  const std::vector<double> got = m2.score(m2.prepare(g), c).score;
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i)
    EXPECT_NEAR(got[i], ref[i], 1e-5 * (1 + std::abs(ref[i])));
  EXPECT_EQ(torch::get_num_threads(), 2);  // the caller's setting is restored
  CostModel::load(fx().layout_model, one_thread());
}

TEST(CostModelApi, UpdateLearnsAndSaveLoadContinuesTheOptimiser) {
  // The baseline has no dropout, so update() is deterministic and runs can be compared exactly.
  test::TempDir d;
  LayoutGraph g = load_layout(fx().layout_root + "/layout/xla/random/valid/g1.npz");
  const std::vector<float> c = own_candidates(g);
  const std::vector<int64_t>& rt = g.config_runtime;
  const int64_t K = g.num_configs;
  auto tau_of = [&](const CostModel& m, const GraphHandle& h) {
    std::vector<double> s = m.score(h, c).score;
    return rank_metrics(s, rt, "g1").tau;
  };
  CostModel a = CostModel::load(fx().baseline_model, one_thread());
  GraphHandle ha = a.prepare(g);
  const double tau0 = tau_of(a, ha);
  const double first = a.update(ha, c.data(), K, rt, 1);
  a.update(ha, c.data(), K, rt, 2);
  EXPECT_EQ(a.updates(), 3);
  a.save(d.file("tuned.tgm"));
  a.update(ha, c.data(), K, rt, 2);
  const double last = a.update(ha, c.data(), K, rt, 40);
  EXPECT_LT(last, first) << "fine-tuning on the measured candidates lowers their loss";
  EXPECT_GT(tau_of(a, ha), tau0);

  // Continuous: 5 steps. Interrupted: 3 steps, save, load, 2 steps. Same weights and scores.
  CostModel b = CostModel::load(fx().baseline_model, one_thread());
  GraphHandle hb = b.prepare(g);
  b.update(hb, c.data(), K, rt, 5);
  CostModel r = CostModel::load(d.file("tuned.tgm"), one_thread());
  EXPECT_EQ(r.updates(), 3);
  GraphHandle hr = r.prepare(g);
  r.update(hr, c.data(), K, rt, 2);
  std::vector<double> sb = b.score(hb, c).score, sr = r.score(hr, c).score;
  for (size_t i = 0; i < sb.size(); ++i) EXPECT_NEAR(sb[i], sr[i], 1e-6) << i;
  // Without the saved optimiser state the continuation would differ (the check has teeth).
  ModelFile mf = load_model_file(d.file("tuned.tgm"));
  EXPECT_EQ(mf.optimizer["name"], "adamw");
  EXPECT_FALSE(mf.optimizer_tensors.empty());
  mf.optimizer = nullptr;
  mf.optimizer_tensors.clear();
  save_model_file(d.file("no_state.tgm"), mf);
  CostModel n = CostModel::load(d.file("no_state.tgm"), one_thread());
  GraphHandle hn = n.prepare(g);
  n.update(hn, c.data(), K, rt, 2);
  std::vector<double> sn = n.score(hn, c).score;
  double diff = 0;
  for (size_t i = 0; i < sb.size(); ++i) diff += std::abs(sb[i] - sn[i]);
  EXPECT_GT(diff, 1e-6);
}

TEST(CostModelApi, EnsembleIsTheMeanOfStandardisedMemberScores) {
  test::TempDir d;
  save_ensemble_file(d.file("e.tgm"), {fx().layout_model, fx().layout_model2},
                     {{0.5, 2.0}, {-1.0, 0.25}});
  CostModel e = CostModel::load(d.file("e.tgm"), one_thread());
  EXPECT_EQ(e.members(), 2);
  EXPECT_EQ(e.trained_on(), "layout:xla:random");
  LayoutGraph g = load_layout(fx().layout_root + "/layout/xla/random/valid/g0.npz");
  const std::vector<float> c = own_candidates(g);
  CostModel m1 = CostModel::load(fx().layout_model, one_thread());
  CostModel m2 = CostModel::load(fx().layout_model2, one_thread());
  std::vector<double> s1 = m1.score(m1.prepare(g), c).score;
  std::vector<double> s2 = m2.score(m2.prepare(g), c).score;
  Scores se = e.score(e.prepare(g), c);
  double max_spread = 0;
  for (size_t i = 0; i < c.size() / 72; ++i) {
    const double z1 = (s1[i] - 0.5) / 2.0, z2 = (s2[i] + 1.0) / 0.25;
    EXPECT_NEAR(se.score[i], (z1 + z2) / 2, 1e-5);
    EXPECT_NEAR(se.spread[i], std::abs(z1 - z2) / 2, 1e-5);
    max_spread = std::max(max_spread, se.spread[i]);
  }
  EXPECT_GT(max_spread, 0);
  // Members must agree on task and collection.
  EXPECT_NE(test::error_of([&] {
              save_ensemble_file(d.file("bad.tgm"), {fx().layout_model, fx().tile_model},
                                 {{0, 1}, {0, 1}});
            }).find("task"),
            std::string::npos);
  EXPECT_THROW(save_ensemble_file(d.file("one.tgm"), {fx().layout_model}, {{0, 1}}), Error);
  // An ensemble survives save() (e.g. after update()) as an ensemble.
  e.save(d.file("e2.tgm"));
  CostModel e2 = CostModel::load(d.file("e2.tgm"), one_thread());
  EXPECT_EQ(e2.members(), 2);
  Scores se2 = e2.score(e2.prepare(g), c);
  for (size_t i = 0; i < se.score.size(); ++i) EXPECT_EQ(se2.score[i], se.score[i]);
}

}  // namespace tgraph
