// Own programs: the layout search space inferred from a graph, candidate generation, the
// synthetic oracle, and the model-guided search (budget, legality, determinism, slates).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>

#include "../test_util.h"
#include "tgraph/api/cost_model.h"
#include "tgraph/search/search.h"
#include "tgraph/search/space.h"
#include "tgraph/synth/cost_model.h"
#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/oracle.h"
#include "tgraph/synth/synth.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

// A tiny synthetic dataset (its oracle knows every runtime) and two tiny models trained on it:
// one without cross-attention (random search space) and one with (default search space).
struct Fixture {
  test::TempDir dir;
  std::string data, npz, random_model, xattn_model;
  uint64_t seed = 5;

  Fixture() {
    data = dir.file("data");
    synth::SynthOptions so;
    so.out_dir = data;
    so.preset = "tiny";
    so.seed = seed;
    synth::synthesize(so);
    npz = data + "/npz";
    auto opts = [&](const std::string& coll, const std::string& out) {
      TrainOptions o;
      o.data_root = npz;
      o.collection = coll;
      o.model = "tgraph";
      o.out_dir = dir.file(out);
      o.hidden = 16;
      o.slate = 16;
      o.eval_slate = 64;
      o.lr = 3e-3;
      o.steps = 20;
      o.progress = false;
      o.ctx.threads = 1;
      o.ctx.seed = 1;
      return o;
    };
    random_model = train(opts("layout:xla:random", "r")).last_model;
    xattn_model = train(opts("layout:xla:default", "d")).last_model;
  }
  std::vector<std::string> files(const std::string& search, const std::string& split) const {
    return list_graph_files(npz + "/layout/xla/" + search + "/" + split);
  }
};

Fixture& fx() {
  // A function-local static: built on first use, and its TempDir is removed at exit (/tmp is
  // not cleaned for us; ctest runs every test in its own process).
  static Fixture f;
  return f;
}

synth::Module module_of(const std::string& path) {
  const fs::path p(path);
  return synth::regenerate_layout_module("tiny", fx().seed, "xla",
                                         p.parent_path().filename().string(), p.stem().string());
}

TEST(LayoutSpace, RanksMatchTheModuleTheGraphCameFrom) {
  for (const std::string& f : fx().files("random", "train")) {
    const LayoutGraph g = load_layout(f);
    const synth::Module m = module_of(f);
    const search::LayoutSpace with_evidence(g);
    const search::LayoutSpace bare(search::with_configs(g, {}, 0));
    ASSERT_EQ(with_evidence.num_config_nodes(), g.num_config_nodes);
    for (int64_t k = 0; k < g.num_config_nodes; ++k) {
      const synth::Instr& in = m.at(g.node_config_ids[size_t(k)]);
      const int true_rank[3] = {
          in.rank(), in.operands.size() > 0 ? m.at(in.operands[0]).rank() : 0,
          in.operands.size() > 1 && in.opcode != 75 ? m.at(in.operands[1]).rank() : 0};
      for (int s = 0; s < 3; ++s) {
        SCOPED_TRACE(f + " node " + std::to_string(g.node_config_ids[size_t(k)]) + " slot " +
                     std::to_string(s));
        // Without configurations the rank is never above the true one (a layout of a smaller rank
        // is a legal prefix); with the file's own configurations as evidence it is exact for every
        // slot the file ever sets.
        EXPECT_LE(bare.slot(k, s).rank, true_rank[s]);
        if (bare.slot(k, s).rank > 0) {
          EXPECT_GE(bare.slot(k, s).listed, 1);
        }
        bool set = false;
        for (int64_t c = 0; c < g.num_configs && !set; ++c)
          set = g.config_row(c)[(k * 3 + s) * 6] >= 0.f;
        if (set) {
          EXPECT_EQ(with_evidence.slot(k, s).rank, true_rank[s]);
        } else {
          EXPECT_LE(with_evidence.slot(k, s).rank, true_rank[s]);
        }
        if (s == 0) {
          EXPECT_EQ(bare.slot(k, s).rank, std::min(true_rank[0], 6));
        }
      }
    }
    // Every configuration of the file is legal in the space inferred from it.
    for (int64_t c = 0; c < g.num_configs; ++c) {
      std::string why;
      ASSERT_TRUE(with_evidence.legal(g.config_row(c), &why)) << f << " row " << c << ": " << why;
    }
  }
}

TEST(Candidates, DistinctLegalDefaultFirstAndSeeded) {
  const std::string f = fx().files("random", "test").at(0);
  const LayoutGraph g = load_layout(f);
  const search::LayoutSpace space(g);
  for (int64_t changes : {0, 2}) {
    search::CandidateOptions o;
    o.count = 300;
    o.seed = 9;
    o.changes = changes;
    int64_t k = 0;
    const std::vector<float> rows = search::generate_candidates(space, o, &k);
    ASSERT_EQ(k, 300);
    ASSERT_EQ(int64_t(rows.size()), k * space.width());
    EXPECT_TRUE(
        std::all_of(rows.begin(), rows.begin() + space.width(), [](float v) { return v == -1.f; }));
    std::set<uint64_t> hashes;
    for (int64_t i = 0; i < k; ++i) {
      const float* r = rows.data() + i * space.width();
      std::string why;
      EXPECT_TRUE(space.legal(r, &why)) << why;
      hashes.insert(search::row_hash(r, space.width()));
      if (changes > 0 && i > 0) {
        int64_t nodes = 0;
        for (int64_t n = 0; n < space.num_config_nodes(); ++n)
          nodes += !std::all_of(r + n * 18, r + n * 18 + 18, [](float v) { return v == -1.f; });
        EXPECT_GE(nodes, 1);
        EXPECT_LE(nodes, changes);
      }
    }
    EXPECT_EQ(int64_t(hashes.size()), k);
    int64_t k2 = 0;
    EXPECT_EQ(search::generate_candidates(space, o, &k2), rows);
    o.seed = 10;
    EXPECT_NE(search::generate_candidates(space, o, &k2), rows);
  }
}

TEST(Candidates, RestrictedSpacesAndTheirLimits) {
  const std::string f = fx().files("random", "test").at(0);
  const LayoutGraph g = load_layout(f);
  // One node only: every other node stays at the default, and a small space runs out.
  search::SpaceOptions so;
  so.nodes = {g.node_config_ids.back()};
  so.minor_dims = 1;
  const search::LayoutSpace one(g, so);
  ASSERT_EQ(one.searchable().size(), 1u);
  search::CandidateOptions o;
  o.count = 1000;
  int64_t k = 0;
  const std::vector<float> rows = search::generate_candidates(one, o, &k);
  EXPECT_LT(k, 1000);
  EXPECT_GE(k, 2);
  const int64_t last = g.num_config_nodes - 1;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t n = 0; n < last; ++n)
      for (int v = 0; v < 18; ++v) EXPECT_EQ(rows[size_t(i * one.width() + n * 18 + v)], -1.f);
  // --minor-dims 1: at most one dim listed per slot.
  for (int64_t i = 0; i < k; ++i)
    for (int s = 0; s < 3; ++s)
      EXPECT_EQ(rows[size_t(i * one.width() + last * 18 + s * 6 + 1)], -1.f);
  // A node that is not configurable is a clear error naming it.
  so.nodes = {0};
  if (g.node_config_ids[0] != 0) {
    EXPECT_NE(test::error_of([&] { search::LayoutSpace(g, so); }).find("node 0"),
              std::string::npos);
  }
}

TEST(SynthOracle, AgreesWithTheFileRuntimesUpToTheirNoise) {
  for (const std::string& f : fx().files("random", "train")) {
    const LayoutGraph g = load_layout(f);
    const synth::SynthOracle o = synth::SynthOracle::open(f);
    const std::vector<double> t = o.runtimes_ns(g.node_config_feat.data(), g.num_configs, 2);
    for (int64_t c = 0; c < g.num_configs; ++c)  // noise sigma <= 1.2 %: 6 sigma
      ASSERT_LT(std::abs(std::log(double(g.config_runtime[size_t(c)]) / t[size_t(c)])), 0.072)
          << f << " row " << c;
    const std::vector<float> def(size_t(g.num_config_nodes) * 18, -1.f);
    EXPECT_EQ(o.runtimes_ns(def.data(), 1)[0], o.default_runtime_ns());
  }
}

TEST(SynthOracle, RefusesGraphsOfAnotherDataset) {
  test::TempDir d;
  synth::SynthOptions so;
  so.out_dir = d.file("other");
  so.preset = "tiny";
  so.seed = fx().seed + 1;
  synth::synthesize(so);
  // This dataset's file under a name the other dataset's plan has: another graph is regenerated.
  const std::string f = fx().files("random", "train").at(0);
  const std::string other = list_graph_files(d.file("other/npz/layout/xla/random/train")).at(0);
  fs::copy_file(f, other, fs::copy_options::overwrite_existing);
  EXPECT_NE(test::error_of([&] { synth::SynthOracle::open(other); }).find("a different graph"),
            std::string::npos);
  // A name the plan does not have.
  const std::string renamed = d.file("other/npz/layout/xla/random/train/no_such_graph.npz");
  fs::copy_file(f, renamed);
  EXPECT_NE(test::error_of([&] { synth::SynthOracle::open(renamed); }).find("no_such_graph"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { synth::SynthOracle::open(d.file("x.npz")); }).find("npz/layout"),
            std::string::npos);
  const std::vector<float> bad(size_t(load_layout(f).num_config_nodes) * 18, 7.f);
  EXPECT_NE(test::error_of([&] {
              synth::SynthOracle::open(f).runtimes_ns(bad.data(), 1);
            }).find("[-1, 5]"),
            std::string::npos);
}

struct Searched {
  search::SearchResult r;
  int64_t width = 0;
};

Searched run_search(const std::string& model_path, const std::string& graph, int64_t budget,
                    uint64_t seed, int64_t slate = 512) {
  CostModelOptions mo;
  mo.threads = 1;
  mo.slate = slate;
  const CostModel m = CostModel::load(model_path, mo);
  LayoutGraph g = load_layout(graph);
  const search::LayoutSpace space(g);
  const GraphHandle h = m.prepare(search::with_configs(g, {}, 0));
  search::SearchOptions so;
  so.budget_evals = budget;
  so.population = 32;
  so.top = 8;
  so.seed = seed;
  Searched s{search::evolve(m, h, space, so), space.width()};
  for (int64_t i = 0; i < int64_t(s.r.score.size()); ++i) {
    std::string why;
    EXPECT_TRUE(space.legal(s.r.rows.data() + i * space.width(), &why)) << why;
  }
  return s;
}

TEST(Search, StaysWithinBudgetReturnsDistinctSortedAndIsSeeded) {
  const std::string f = fx().files("random", "test").at(0);
  const Searched a = run_search(fx().random_model, f, 500, 3);
  EXPECT_LE(a.r.evaluations, 500);
  EXPECT_GT(a.r.evaluations, 400);  // the budget is used, not left idle
  EXPECT_GE(a.r.generations, 10);
  ASSERT_EQ(a.r.score.size(), 8u);
  EXPECT_TRUE(std::is_sorted(a.r.score.begin(), a.r.score.end()));
  std::set<uint64_t> h;
  for (int i = 0; i < 8; ++i) h.insert(search::row_hash(a.r.rows.data() + i * a.width, a.width));
  EXPECT_EQ(h.size(), 8u);
  const Searched b = run_search(fx().random_model, f, 500, 3);
  EXPECT_EQ(a.r.rows, b.r.rows);
  EXPECT_EQ(a.r.score, b.r.score);
  // A context-free model scores a row alike in any call: the returned scores are the model's.
  CostModelOptions mo;
  mo.threads = 1;
  const CostModel m = CostModel::load(fx().random_model, mo);
  EXPECT_TRUE(m.context_free());
  const GraphHandle hd = m.prepare(search::with_configs(load_layout(f), {}, 0));
  const Scores s = m.score(hd, a.r.rows.data(), 8);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(s.score[size_t(i)], a.r.score[size_t(i)], 1e-4);
  // The default is in the first generation, so the best found is never predicted slower.
  const std::vector<float> def(size_t(a.width), -1.f);
  EXPECT_LE(a.r.score[0], m.score(hd, def.data(), 1).score[0] + 1e-6);
}

TEST(Search, CrossAttentionScoresPopulationAndChildrenInOneSlate) {
  const std::string f = fx().files("default", "test").at(0);
  CostModelOptions mo;
  mo.threads = 1;
  EXPECT_FALSE(CostModel::load(fx().xattn_model, mo).context_free());
  // slate 40: population capped to 20 so that 20 + 20 children share one slate.
  const Searched a = run_search(fx().xattn_model, f, 400, 4, 40);
  EXPECT_EQ(a.r.population, 20);
  EXPECT_LE(a.r.evaluations, 400);
  EXPECT_GE(a.r.generations, 5);
  EXPECT_TRUE(std::is_sorted(a.r.score.begin(), a.r.score.end()));
}

// Validation, prediction and the API split configurations into equal slates, so that with
// cross-attention no configuration is scored in a slate of 1 (issue #12's protocol).
TEST(Slates, EqualSlatesAndCrossAttentionScoresFollowThem) {
  EXPECT_EQ(equal_slates(1025, 512), (std::vector<int64_t>{0, 342, 684, 1025}));
  EXPECT_EQ(equal_slates(10, 4), (std::vector<int64_t>{0, 4, 7, 10}));
  EXPECT_EQ(equal_slates(5, 8), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(equal_slates(0, 8), (std::vector<int64_t>{0}));
  CostModelOptions mo;
  mo.threads = 1;
  mo.slate = 8;
  mo.slate_repeats = 1;  // the partition in the order given alone (repeats: the next test)
  const CostModel m = CostModel::load(fx().xattn_model, mo);
  const std::string f = fx().files("default", "test").at(0);
  const LayoutGraph g = load_layout(f);
  const search::LayoutSpace space(g);
  const GraphHandle h = m.prepare(search::with_configs(g, {}, 0));
  search::CandidateOptions co;
  co.count = 9;
  int64_t k = 0;
  const std::vector<float> c = search::generate_candidates(space, co, &k);
  ASSERT_EQ(k, 9);
  const int64_t W = space.width();
  const Scores all = m.score(h, c.data(), 9);  // slates of 5 and 4, not 8 and 1
  const Scores a = m.score(h, c.data(), 5), b = m.score(h, c.data() + 5 * W, 4);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(all.score[size_t(i)], a.score[size_t(i)], 1e-6);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(all.score[size_t(5 + i)], b.score[size_t(i)], 1e-6);
  // ...and a cross-attention score does depend on its slate (else this test could not fail).
  const Scores eight = m.score(h, c.data(), 8);
  double diff = 0;
  for (int i = 0; i < 5; ++i) diff += std::abs(eight.score[size_t(i)] - a.score[size_t(i)]);
  EXPECT_GT(diff, 1e-7);
}

// slate_repeats R: a cross-attention model's scores are the mean over R partitions, the first in
// the candidates' order, partition r >= 1 a shuffle seeded with partition_seed(seed, r).
TEST(Slates, SlateRepeatsAverageShuffledPartitions) {
  const std::string f = fx().files("default", "test").at(0);
  const LayoutGraph g = load_layout(f);
  const search::LayoutSpace space(g);
  search::CandidateOptions co;
  co.count = 20;
  int64_t k = 0;
  const std::vector<float> c = search::generate_candidates(space, co, &k);
  ASSERT_EQ(k, 20);
  const int64_t W = space.width();
  CostModelOptions mo;
  mo.threads = 1;
  mo.slate = 6;  // 20 candidates: slates of 5
  mo.seed = 9;
  auto load = [&](int repeats) {
    CostModelOptions o = mo;
    o.slate_repeats = repeats;
    return CostModel::load(fx().xattn_model, o);
  };
  const CostModel one = load(1), three = load(3);
  const GraphHandle h1 = one.prepare(search::with_configs(g, {}, 0));
  const GraphHandle h3 = three.prepare(search::with_configs(g, {}, 0));
  const Scores s3 = three.score(h3, c.data(), 20);
  // The mean, built by hand from three single-partition scorings.
  std::vector<double> mean = one.score(h1, c.data(), 20).score;
  for (int r = 1; r < 3; ++r) {
    std::vector<int64_t> order(20);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(partition_seed(mo.seed, r));
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<float> shuffled;
    for (int64_t i : order)
      shuffled.insert(shuffled.end(), c.begin() + i * W, c.begin() + (i + 1) * W);
    const Scores p = one.score(h1, shuffled.data(), 20);
    for (size_t i = 0; i < 20; ++i) mean[size_t(order[i])] += p.score[i];
  }
  double moved = 0;
  const Scores s1 = one.score(h1, c.data(), 20);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_NEAR(s3.score[i], mean[i] / 3, 1e-6) << i;
    moved += std::abs(s3.score[i] - s1.score[i]);
  }
  EXPECT_GT(moved, 1e-6) << "other partitions must change cross-attention scores";
  // The default is the model's: kXattnSlateRepeats for a cross-attention model.
  const CostModel def = load(0), k4 = load(kXattnSlateRepeats);
  const Scores sd = def.score(def.prepare(search::with_configs(g, {}, 0)), c.data(), 20);
  const Scores sk = k4.score(k4.prepare(search::with_configs(g, {}, 0)), c.data(), 20);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(sd.score[i], sk.score[i]) << i;
  // One slate holds every candidate: any partition is the same slate, so repeats change nothing.
  const Scores a = one.score(h1, c.data(), 5), b = three.score(h3, c.data(), 5);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a.score[i], b.score[i]) << i;
  CostModelOptions bad = mo;
  bad.slate_repeats = -1;
  EXPECT_THROW(CostModel::load(fx().xattn_model, bad), Error);
}

TEST(SearchCli, CandidatesSearchOracleEndToEnd) {
  test::TempDir d;
  const std::string f = fx().files("random", "test").at(0);
  const std::string stem = fs::path(f).stem().string();
  const std::string cli = test::cli_path();
  auto run = [&](const std::string& args) {
    return std::system((cli + " " + args + " > " + d.file("log") + " 2>&1").c_str());
  };
  ASSERT_EQ(run("candidates " + f + " --count 50 --seed 2 --out " + d.file("c.npz")), 0);
  EXPECT_EQ(load_layout(d.file("c.npz")).num_configs, 50);
  ASSERT_EQ(run("oracle " + f + " --configs " + d.file("c.npz") + " --out " + d.file("t.csv")), 0);
  EXPECT_NE(test::read_bytes(d.file("t.csv")).find("0,"), std::string::npos);
  ASSERT_EQ(run("search " + f + " --model " + fx().random_model + " --budget-evals 200 --top 5 " +
                "--threads 1 --quiet --out " + d.file("s")),
            0)
      << test::read_bytes(d.file("log"));
  const LayoutGraph top = load_layout(d.file("s/" + stem + ".npz"));
  EXPECT_EQ(top.num_configs, 5);
  EXPECT_FALSE(top.labelled);
  const std::string json = test::read_bytes(d.file("s/" + stem + ".layouts.json"));
  EXPECT_NE(json.find("\"evaluations\": 200"), std::string::npos) << json.substr(0, 400);
  EXPECT_NE(json.find("node_"), std::string::npos);
  // Bad input: a tile model, or a graph from elsewhere for the oracle; nothing written.
  EXPECT_NE(run("oracle " + d.file("c.npz")), 0);
  EXPECT_NE(run("search " + f + " --model " + d.file("missing.tgm") + " --out " + d.file("s2")), 0);
  EXPECT_FALSE(fs::exists(d.file("s2")));
}

}  // namespace
}  // namespace tgraph
