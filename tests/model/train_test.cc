// Training, resume, scoring and the C++ API on a tiny synthetic collection.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include <torch/torch.h>

#include "../test_util.h"
#include "tgraph/api/ranker.h"
#include "tgraph/data/prune.h"
#include "tgraph/data/sample.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/io/npz.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/trainer.h"
#include "tgraph/train/weight_average.h"
#include "tgraph/util/error.h"
#include "toy_data.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

using test::write_toy_collection;
using test::write_toy_graph;

TrainOptions tiny_options(const std::string& root, const std::string& out) {
  TrainOptions o;
  o.data_root = root;
  o.collection = "layout:xla:random";
  o.out_dir = out;
  o.model = "tgraph";
  o.hidden = 16;
  o.slate = 16;
  o.eval_slate = 64;
  o.lr = 3e-3;
  o.steps = 120;
  o.eval_every_steps = 40;
  o.progress = false;
  o.ctx.threads = 1;
  o.ctx.seed = 3;
  return o;
}

// A 20-step run that validates twice (steps 10 and 20).
TrainOptions two_validations(const std::string& root, const std::string& out) {
  TrainOptions o = tiny_options(root, out);
  o.steps = 20;
  o.eval_every_steps = 10;
  return o;
}

std::vector<nlohmann::json> read_log(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::ifstream in((fs::path(out) / "log.jsonl").string());
  for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line));
  return v;
}

}  // namespace

TEST(Train, TinyOverfitLossFallsAndTauRises) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = tiny_options(d.file("npz"), d.file("run"));
  // Before training: tau of a fresh model.
  TrainResult r = train(o);
  auto log = read_log(o.out_dir);
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(r.steps, 120);
  EXPECT_LT(log.back()["train_loss"].get<double>(), log.front()["train_loss"].get<double>());
  EXPECT_GT(r.best, 0.5) << "the toy cost is learnable from the layouts";
  EXPECT_GT(r.best, log.front()["valid"]["mean_tau"].get<double>() - 1e-9);
  EXPECT_TRUE(fs::exists(r.best_model));
  EXPECT_TRUE(fs::exists(d.file("run/summary.json")));
  // The best model file evaluates to the logged best tau.
  EXPECT_EQ(r.metric, "tau");
  LoadedModel lm = load_model(r.best_model, torch::kCPU);
  auto inputs = samples_for_split(lm, o.data_root, parse_collection(o.collection), "valid",
                                  d.file("run/cache"), 1);
  EvalReport e = evaluate_model(lm, inputs, o.eval_slate, o.ctx.seed);
  EXPECT_NEAR(e.metric("tau"), r.best, 1e-9);
  EXPECT_EQ(lm.file().training["collection"], "layout:xla:random");
  EXPECT_EQ(lm.file().training["valid_tau"].get<double>(), r.best);
  // The last model is reported too: its file evaluates to it, and it is the final log line's.
  EXPECT_GE(r.best, r.last);
  EXPECT_NEAR(log.back()["valid"]["mean_tau"].get<double>(), r.last, 1e-12);
  LoadedModel last = load_model(r.last_model, torch::kCPU);
  EXPECT_NEAR(evaluate_model(last, inputs, o.eval_slate, o.ctx.seed).metric("tau"), r.last, 1e-9);
  std::ifstream sj(d.file("run/summary.json"));
  EXPECT_NEAR(nlohmann::json::parse(sj)["last_tau"].get<double>(), r.last, 1e-12);
  // Metrics refuse the unlabelled test split.
  auto test_in = samples_for_split(lm, o.data_root, parse_collection(o.collection), "test",
                                   d.file("run/cache"), 1);
  EXPECT_FALSE(test_in[0].labelled);
  EXPECT_THROW(evaluate_model(lm, test_in, 64, 0), Error);
}

// The loss each model trains with when --loss is not given: the preset's (ListMLE for the
// layout baseline and both tile models, the hinge for layout TGraph), and a loss that is given
// wins (TrainOptions must not start from LossOptions' own "hinge", or no preset applies).
TEST(Train, LossDefaultsToThePresetsUnlessGiven) {
  auto resolved = [](const std::string& collection, const std::string& model,
                     const std::string& loss) {
    TrainOptions o;
    o.collection = collection;
    o.model = model;
    o.out_dir = "unused";
    o.time_budget_s = 1;
    if (!loss.empty()) o.loss.name = loss;
    return resolve_defaults(o).loss.name;
  };
  EXPECT_EQ(resolved("layout:xla:random", "tgraph-cpu", ""), "hinge");
  EXPECT_EQ(resolved("layout:xla:default", "tgraph", ""), "hinge");
  EXPECT_EQ(resolved("layout:xla:random", "baseline", ""), "listmle");
  EXPECT_EQ(resolved("tile:xla", "tile", ""), "listmle");
  EXPECT_EQ(resolved("tile:xla", "tile-baseline", ""), "listmle");
  EXPECT_EQ(resolved("layout:nlp:default", "baseline", "hinge"), "hinge");
  EXPECT_EQ(resolved("tile:xla", "tile", "hinge"), "hinge");
  EXPECT_EQ(resolved("layout:xla:random", "tgraph-cpu", "listmle"), "listmle");
}

// --snapshots: one model file per validation, named by its step; the last one is the last model.
TEST(Train, SnapshotsKeepTheModelOfEveryValidation) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = two_validations(d.file("npz"), d.file("run"));
  o.snapshots = true;
  TrainResult r = train(o);
  auto log = read_log(o.out_dir);
  ASSERT_GE(log.size(), 2u);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.file("run/snapshots"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, log.size());
  for (const auto& line : log) {
    const std::string f =
        d.file("run/snapshots/step" + std::to_string(line["step"].get<int64_t>()) + ".tgm");
    ASSERT_TRUE(fs::exists(f)) << f;
    EXPECT_EQ(load_model_file(f).training["steps"], line["step"]);
  }
  LoadedModel snap = load_model(d.file("run/snapshots/step20.tgm"), torch::kCPU);
  auto inputs = samples_for_split(snap, o.data_root, parse_collection(o.collection), "valid",
                                  d.file("run/cache"), 1);
  EXPECT_NEAR(evaluate_model(snap, inputs, o.eval_slate, o.ctx.seed).metric("tau"), r.last, 1e-9);
  // Off by default.
  TrainOptions q = o;
  q.out_dir = d.file("plain");
  q.snapshots = false;
  train(q);
  EXPECT_FALSE(fs::exists(d.file("plain/snapshots")));
}

// The average follows its formula step by step (warm-up decay included), and a swap puts it into
// the module and the raw weights back bit for bit.
TEST(Train, WeightAverageFollowsItsFormulaAndSwapsBack) {
  torch::nn::Linear lin(3, 2);
  torch::NoGradGuard ng;
  WeightAverage off(*lin, 0);
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.tensors().empty());
  WeightAverage a(*lin, 0.9);
  std::vector<torch::Tensor> expect;
  for (const auto& p : lin->parameters()) expect.push_back(p.detach().clone());
  for (int64_t step = 1; step <= 30; ++step) {
    for (auto& p : lin->parameters()) p.add_(torch::randn_like(p));
    a.update(*lin, step);
    const double d = std::min(0.9, (1.0 + step) / (10.0 + step));
    EXPECT_DOUBLE_EQ(a.step_decay(step), d);
    auto ps = lin->parameters();
    for (size_t i = 0; i < ps.size(); ++i) expect[i] = d * expect[i] + (1 - d) * ps[i];
  }
  EXPECT_DOUBLE_EQ(a.step_decay(100), 0.9);  // past the warm-up (80 steps) the flag's decay
  std::vector<torch::Tensor> raw;
  for (const auto& p : lin->parameters()) raw.push_back(p.detach().clone());
  {
    WeightAverage::Swap s(a, *lin);
    auto ps = lin->parameters();
    for (size_t i = 0; i < ps.size(); ++i) {
      EXPECT_TRUE(torch::allclose(ps[i], expect[i], 1e-5, 1e-6)) << i;
      EXPECT_FALSE(torch::equal(ps[i], raw[i])) << i;
    }
  }
  auto ps = lin->parameters();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(torch::equal(ps[i], raw[i])) << i;
  // set() takes only tensors shaped as the module's parameters.
  EXPECT_FALSE(a.set({torch::zeros({2, 3})}));
  EXPECT_TRUE(a.set({torch::zeros({2, 3}), torch::ones({2})}));
  EXPECT_TRUE(torch::equal(a.tensors()[1], torch::ones({2})));
}

// --ema: validation scores the average and the model files hold it (the logged last tau is the
// last file's), the checkpoint keeps the raw weights and the average, which resume restores;
// resuming with another --ema is refused.
TEST(Train, EmaModelFilesHoldTheAverageAndResumeKeepsIt) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = two_validations(d.file("npz"), d.file("run"));
  o.ema = 0.95;
  TrainResult r = train(o);
  LoadedModel last = load_model(r.last_model, torch::kCPU);
  EXPECT_EQ(last.file().training["ema"].get<double>(), 0.95);
  auto inputs = samples_for_split(last, o.data_root, parse_collection(o.collection), "valid",
                                  d.file("run/cache"), 1);
  EXPECT_NEAR(evaluate_model(last, inputs, o.eval_slate, o.ctx.seed).metric("tau"), r.last, 1e-9);
  std::ifstream st(d.file("run/checkpoint/state.json"));
  auto state = nlohmann::json::parse(st);
  EXPECT_EQ(state["ema"], "ema-20.pt");
  int files = 0;
  for (auto& e : fs::directory_iterator(d.file("run/checkpoint"))) files += e.is_regular_file();
  EXPECT_EQ(files, 4) << "state, model, optimiser and average of the newest checkpoint only";
  ModelFile raw = load_model_file(d.file("run/checkpoint/" + state["model"].get<std::string>()));
  ModelFile avg = load_model_file(r.last_model);
  size_t differ = 0;
  for (const auto& [name, t] : avg.tensors) differ += !torch::equal(t, raw.tensors.at(name));
  EXPECT_GT(differ, 0u) << "last.tgm holds the average, the checkpoint the raw weights";

  // Resumed at its end, the run restores the average from the checkpoint (a fresh one would
  // start from the raw weights): the same last model again.
  TrainOptions h = o;
  h.resume = true;
  TrainResult hr = train(h);
  EXPECT_EQ(hr.steps, 20);
  ModelFile hm = load_model_file(hr.last_model);
  for (const auto& [name, t] : avg.tensors)
    EXPECT_TRUE(torch::equal(t, hm.tensors.at(name))) << name;
  EXPECT_NEAR(hr.last, r.last, 1e-12);

  TrainOptions x = h;
  x.ema = 0.9;
  x.steps = 30;
  std::string m = test::error_of([&] { train(x); });
  EXPECT_NE(m.find("training.ema"), std::string::npos) << m;
  x.ema = 0;
  m = test::error_of([&] { train(x); });
  EXPECT_NE(m.find("training.ema"), std::string::npos) << m;
}

TEST(Train, ResumeContinuesFromTheCheckpoint) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = two_validations(d.file("npz"), d.file("run"));
  train(o);
  std::ifstream st(d.file("run/checkpoint/state.json"));
  auto state = nlohmann::json::parse(st);
  EXPECT_EQ(state["trainer"]["step"], 20);
  // Only the newest checkpoint files are kept.
  int files = 0;
  for (auto& e : fs::directory_iterator(d.file("run/checkpoint"))) files += e.is_regular_file();
  EXPECT_EQ(files, 3);
  o.steps = 30;
  o.resume = true;
  TrainResult r = train(o);
  EXPECT_EQ(r.steps, 30);
  auto log = read_log(o.out_dir);
  EXPECT_EQ(log.back()["step"], 30);
  EXPECT_EQ(log[log.size() - 2]["step"], 20);  // the first run's last evaluation, kept in the log
}

// --init (transfer): a run that starts from a model file and barely moves scores like that file;
// a cross-attention model can start from one without (its attention tensors start fresh);
// another width or reach is refused, naming the file.
TEST(Train, InitStartsFromAModelFilesWeights) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = tiny_options(d.file("npz"), d.file("run"));
  TrainResult src = train(o);
  TrainOptions t = tiny_options(d.file("npz"), d.file("init"));
  t.init_model = src.last_model;
  t.lr = 1e-12;
  t.weight_decay = 0;
  t.steps = 1;
  t.ctx.seed = 11;  // other fresh weights: only --init can make the two runs agree
  TrainResult r = train(t);
  EXPECT_NEAR(r.last, src.last, 1e-6);
  LoadedModel lm = load_model(r.last_model, torch::kCPU);
  EXPECT_EQ(lm.file().training["init_from"], src.last_model);
  const auto n = static_cast<int64_t>(load_model_file(src.last_model).tensors.size());
  EXPECT_EQ(lm.file().training["init_tensors"].get<int64_t>(), n);

  TrainOptions x = t;
  x.out_dir = d.file("xattn");
  x.cross_attention = 1;
  TrainResult rx = train(x);
  LoadedModel lx = load_model(rx.last_model, torch::kCPU);
  const int64_t nx = lx.file().training["init_tensors"].get<int64_t>();
  EXPECT_GT(nx, 0);  // cross-attention narrows most layers: only some tensors carry over
  EXPECT_LT(nx, static_cast<int64_t>(lx.file().tensors.size()));

  TrainOptions w = t;
  w.out_dir = d.file("wide");
  w.hidden = 32;
  std::string m = test::error_of([&] { train(w); });
  EXPECT_NE(m.find(src.last_model), std::string::npos) << m;
  EXPECT_NE(m.find("hidden 32"), std::string::npos) << m;
  TrainOptions c = t;
  c.out_dir = d.file("contract");
  c.reach = Reach::contract();
  m = test::error_of([&] { train(c); });
  EXPECT_NE(m.find("preprocessing.prune"), std::string::npos) << m;
}

// --train-also: another layout collection's train graphs join the run's; validation and the
// model file's collection stay the run's own, the file records the extra collections, and resume
// refuses a run with other ones.
TEST(Train, TrainAlsoAddsAnotherCollectionsTrainGraphs) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  fs::copy(d.file("npz/layout/xla/random"), d.file("npz/layout/xla/default"),
           fs::copy_options::recursive);
  fs::remove_all(d.file("npz/layout/xla/default/train/g0.npz"));  // 3 train graphs there
  TrainOptions o = tiny_options(d.file("npz"), d.file("run"));
  o.collection = "layout:xla:default";
  o.train_also = {"layout:xla:random"};
  o.steps = 4;
  o.eval_every_steps = 2;
  TrainResult r = train(o);
  ModelFile f = load_model_file(r.last_model);
  EXPECT_EQ(f.training["collection"], "layout:xla:default");
  EXPECT_EQ(f.training["train_also"], nlohmann::json::array({"layout:xla:random"}));
  EXPECT_EQ(f.training["train_graphs"].get<int64_t>(), 3 + 4);
  EXPECT_EQ(f.training["valid_graphs"].get<int64_t>(), 2);
  TrainOptions alone = tiny_options(d.file("npz"), d.file("alone"));
  alone.collection = o.collection;
  alone.steps = 2;
  alone.eval_every_steps = 2;
  ModelFile fa = load_model_file(train(alone).last_model);
  EXPECT_EQ(fa.training["train_graphs"].get<int64_t>(), 3);
  EXPECT_FALSE(fa.training.contains("train_also"));

  TrainOptions res = o;
  res.train_also.clear();
  res.resume = true;
  res.steps = 6;
  std::string m = test::error_of([&] { train(res); });
  EXPECT_NE(m.find("training.train_also"), std::string::npos) << m;
  TrainOptions same = o;
  same.out_dir = d.file("same");
  same.train_also = {"layout:xla:default"};
  m = test::error_of([&] { train(same); });
  EXPECT_NE(m.find("--train-also"), std::string::npos) << m;
  TrainOptions tile = o;
  tile.out_dir = d.file("tile");
  tile.train_also = {"tile:xla"};
  m = test::error_of([&] { train(tile); });
  EXPECT_NE(m.find("a layout collection"), std::string::npos) << m;
}

TEST(Scoring, PrunedEqualsUnprunedRestrictedToWhatPruningKeeps) {
  test::TempDir d;
  write_toy_graph(d.file("g.npz"), 40, 4, 12, 5);
  auto g = std::make_shared<const LayoutGraph>(load_layout(d.file("g.npz")));
  FeatureNormalizer norm;
  Sample pruned = sample_from_layout(g, Reach{}, true);
  GraphTensors pruned_t = make_graph_tensors(pruned, norm, torch::kCPU);
  ASSERT_LT(pruned.num_nodes, g->num_nodes);
  // Restrict the whole graph by hand: keep configurable nodes and neighbours, and the edges that
  // touch a configurable node; then build the inputs without pruning from that graph.
  PrunedGraph p = prune_layout(g->edge_index, g->num_nodes, g->node_config_ids, Reach{});
  LayoutGraph r = *g;
  r.node_feat = gather_rows(g->node_feat.data(), 140, p.node_ids);
  r.node_opcode = gather_rows(g->node_opcode.data(), 1, p.node_ids);
  r.edge_index = p.edge_index;
  r.num_nodes = p.num_nodes;
  r.num_edges = p.num_edges();
  r.node_config_ids.clear();
  for (int64_t pos : p.config_pos) r.node_config_ids.push_back(pos);
  Sample restricted =
      sample_from_layout(std::make_shared<const LayoutGraph>(r), Reach::whole(), true);
  GraphTensors restricted_t = make_graph_tensors(restricted, norm, torch::kCPU);
  torch::manual_seed(0);
  for (bool attn : {false, true}) {
    ModelConfig c = ModelConfig::preset("tgraph", attn);
    c.hidden = 16;
    auto m = make_model(c);
    auto a = score_configs(*m, pruned_t, pruned, nullptr, 5, 1);
    auto b = score_configs(*m, restricted_t, restricted, nullptr, 5, 1);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
    // And the whole graph scores differently (pruning does change what the model sees).
    Sample whole = sample_from_layout(g, Reach::whole(), true);
    auto w = score_configs(*m, make_graph_tensors(whole, norm, torch::kCPU), whole, nullptr, 5, 1);
    double diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - w[i]);
    EXPECT_GT(diff, 0);
  }
}

TEST(Scoring, SlateSizeDoesNotMatterWithoutCrossAttention) {
  test::TempDir d;
  write_toy_graph(d.file("g.npz"), 30, 3, 20, 9);
  auto g = std::make_shared<const LayoutGraph>(load_layout(d.file("g.npz")));
  Sample in = sample_from_layout(g, Reach{}, true);
  GraphTensors t = make_graph_tensors(in, FeatureNormalizer{}, torch::kCPU);
  ModelConfig c = ModelConfig::preset("tgraph", false);
  c.hidden = 16;
  auto m = make_model(c);
  auto a = score_configs(*m, t, in, nullptr, 3, 1), b = score_configs(*m, t, in, nullptr, 20, 7);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
}

// Several passes in flight (slates of a cross-attention model, or chunks, each on one intra-op
// thread) score like one pass at a time on all threads: every row once per partition, in its own
// partition's slot, whatever thread ran it.
TEST(Scoring, PassesInFlightScoreLikeOnePassAtATime) {
  test::TempDir d;
  write_toy_graph(d.file("g.npz"), 30, 3, 70, 9);
  auto g = std::make_shared<const LayoutGraph>(load_layout(d.file("g.npz")));
  Sample in = sample_from_layout(g, Reach{}, true);
  GraphTensors t = make_graph_tensors(in, FeatureNormalizer{}, torch::kCPU);
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  for (bool xattn : {true, false}) {
    ModelConfig c = ModelConfig::preset("tgraph", xattn);
    c.hidden = 16;
    torch::manual_seed(6);
    auto m = make_model(c);
    // Slates in flight must fit the activation budget together; chunks are small.
    EXPECT_EQ(scoring_workers(*m, torch::kCPU, 30, 8), 2);
    EXPECT_EQ(scoring_workers(*m, torch::kCPU, 10'000'000, 64), xattn ? 1 : 2);
    for (int repeats : {1, 3}) {
      const auto one = score_configs(*m, t, in, nullptr, 8, 5, repeats, 1);
      for (int workers : {2, 3}) {
        const auto many = score_configs(*m, t, in, nullptr, 8, 5, repeats, workers);
        ASSERT_EQ(many.size(), one.size());
        for (size_t i = 0; i < one.size(); ++i)
          EXPECT_NEAR(many[i], one[i], 1e-5 * (1 + std::abs(one[i])))
              << "xattn " << xattn << " repeats " << repeats << " workers " << workers << " row "
              << i;
      }
    }
  }
  torch::set_num_threads(threads);
  // The engine itself: each row's score lands in its own slot, partitions are averaged, and a
  // pass's error reaches the caller.
  SlateScoring how;
  how.cross_attention = true;
  how.slate = 4;
  how.repeats = 3;
  how.workers = 2;
  std::vector<int> seen(11, 0);
  std::mutex mu;
  const auto v = score_in_slates(
      11, 1, how,
      [](const std::vector<int64_t>& rows, float* out) {
        for (size_t i = 0; i < rows.size(); ++i) out[i] = static_cast<float>(rows[i]);
      },
      [&](const float* rows, int64_t k) {
        std::lock_guard<std::mutex> lock(mu);
        for (int64_t i = 0; i < k; ++i) ++seen[static_cast<size_t>(rows[i])];
        return torch::from_blob(const_cast<float*>(rows), {k}).to(torch::kFloat64) * 2;
      });
  for (int64_t i = 0; i < 11; ++i) {
    EXPECT_EQ(seen[i], 3) << i;
    EXPECT_DOUBLE_EQ(v[i], 2.0 * i) << i;
  }
  EXPECT_THROW(score_in_slates(
                   11, 1, how, [](const std::vector<int64_t>&, float*) {},
                   [](const float*, int64_t) -> torch::Tensor {
                     throw_error("x", "", "", "");
                     return {};
                   }),
               Error);
}

// Slate repeats: a cross-attention model's scores are the mean over independent partitions
// (partition r shuffled with partition_seed(seed, r)); without cross-attention they change nothing.
TEST(Scoring, SlateRepeatsAverageIndependentPartitions) {
  test::TempDir d;
  write_toy_graph(d.file("g.npz"), 30, 3, 40, 9);
  auto g = std::make_shared<const LayoutGraph>(load_layout(d.file("g.npz")));
  Sample in = sample_from_layout(g, Reach{}, true);
  GraphTensors t = make_graph_tensors(in, FeatureNormalizer{}, torch::kCPU);
  ModelConfig c = ModelConfig::preset("tgraph", true);
  c.hidden = 16;
  torch::manual_seed(4);
  auto m = make_model(c);
  const auto three = score_configs(*m, t, in, nullptr, 8, 5, 3);
  std::vector<std::vector<double>> parts;
  for (int r = 0; r < 3; ++r)
    parts.push_back(score_configs(*m, t, in, nullptr, 8, partition_seed(5, r), 1));
  EXPECT_EQ(partition_seed(5, 0), 5u);  // partition 0 is the one-partition scoring's
  EXPECT_EQ(score_configs(*m, t, in, nullptr, 8, 5), parts[0]);
  double between = 0;
  for (size_t i = 0; i < three.size(); ++i) {
    EXPECT_NEAR(three[i], (parts[0][i] + parts[1][i] + parts[2][i]) / 3, 1e-9) << i;
    between += std::abs(parts[0][i] - parts[1][i]);
  }
  EXPECT_GT(between, 1e-6) << "partitions must differ with cross-attention, else this cannot fail";
  // Every configuration in one slate: nothing to repeat.
  EXPECT_EQ(score_configs(*m, t, in, nullptr, 64, 5, 3), score_configs(*m, t, in, nullptr, 64, 5));
  ModelConfig p = ModelConfig::preset("tgraph", false);
  p.hidden = 16;
  auto plain = make_model(p);
  EXPECT_EQ(score_configs(*plain, t, in, nullptr, 8, 5, 4),
            score_configs(*plain, t, in, nullptr, 8, 5));
}

TEST(RankerApi, RanksAFileLikeTheScoringPath) {
  test::TempDir d;
  write_toy_collection(d.file("npz"));
  TrainOptions o = tiny_options(d.file("npz"), d.file("run"));
  o.steps = 10;
  o.eval_every_steps = 10;
  TrainResult r = train(o);
  RankerOptions ro;
  ro.threads = 1;
  ro.slate = 64;
  Ranker ranker = Ranker::load(r.best_model, ro);
  EXPECT_EQ(ranker.model_name(), "tgraph");
  EXPECT_EQ(ranker.trained_on(), "layout:xla:random");
  std::string f = d.file("npz/layout/xla/random/valid/g0.npz");
  Ranking k = ranker.rank_file(f);
  ASSERT_EQ(k.order.size(), 48u);
  std::vector<int64_t> sorted = k.order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 48; ++i) EXPECT_EQ(sorted[i], i);
  for (size_t i = 1; i < k.order.size(); ++i)
    EXPECT_LE(k.scores[k.order[i - 1]], k.scores[k.order[i]]);
  // Same scores as the packed path used by evaluate/predict.
  LoadedModel lm = load_model(r.best_model, torch::kCPU);
  auto inputs = samples_for_split(lm, o.data_root, parse_collection(o.collection), "valid",
                                  d.file("run/cache"), 1);
  auto s = score_sample(lm, inputs[0], 64, 0).score;
  for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(s[i], k.scores[i], 1e-5);
  EXPECT_THROW(Ranker::load(d.file("npz/layout/xla/random/valid/g0.npz")), Error);
}

}  // namespace tgraph
