// Example of the cost-model API in an autotuner's loop, on a synthetic module whose true runtime
// the generator's analytic cost model knows (it plays the measuring device):
//
//   ./build/examples/autotune MODEL.tgm [--candidates 10000] [--measure 20] [--rounds 3]
//                             [--nodes 300] [--seed 1]
//
// prepare() the graph once; each round score every candidate, "measure" the model's top
// `measure` not measured yet, update() the model on everything measured so far, repeat. Prints the
// best measured runtime against the default configuration and against random search with the
// same number of measurements. A layout model trained on any layout collection works.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>
#include <random>
#include <string>

#include "tgraph/api/cost_model.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/synth/config_sampler.h"
#include "tgraph/synth/cost_model.h"
#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/models.h"
#include "tgraph/util/error.h"

namespace {

int64_t flag(int argc, char** argv, const char* name, int64_t def) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::stoll(argv[i + 1]);
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0]
              << " MODEL.tgm [--candidates K] [--measure M] [--rounds R] [--nodes N] [--seed S]\n";
    return 2;
  }
  try {
    const int64_t K = flag(argc, argv, "--candidates", 10000);
    const int64_t M = flag(argc, argv, "--measure", 20);
    const int64_t R = flag(argc, argv, "--rounds", 3);
    const int64_t nodes = flag(argc, argv, "--nodes", 300);
    const uint64_t seed = static_cast<uint64_t>(flag(argc, argv, "--seed", 1));

    // The program to tune: a synthetic module and its analytic cost model.
    tgraph::synth::Rng rng(seed);
    const tgraph::synth::Module mod =
        tgraph::synth::build_model(tgraph::synth::sample_model("xla", nodes, rng));
    const tgraph::synth::LayoutCostModel device(mod);
    const tgraph::LayoutGraph g =
        tgraph::synth::layout_graph(mod, "autotune_seed" + std::to_string(seed));

    // Candidates: K random layouts from the generator's candidate sampler.
    const int64_t W = g.num_config_nodes * 18;
    tgraph::synth::LayoutConfigSampler sampler(mod, tgraph::synth::Search::kRandom, seed, K);
    std::vector<float> cand(static_cast<size_t>(K * W));
    for (int64_t k = 0; k < K; ++k) sampler.row(k, cand.data() + k * W);
    auto measure = [&](int64_t k) {  // the "hardware": ns, noise-free
      return static_cast<int64_t>(std::llround(device.runtime_ns(cand.data() + k * W)));
    };

    tgraph::CostModel model = tgraph::CostModel::load(argv[1]);
    tgraph::GraphHandle h = model.prepare(g);  // once: pruning, features, static projection
    std::cout << g.stem << ": " << g.num_nodes << " nodes (" << h.num_nodes() << " after pruning), "
              << g.num_config_nodes << " configurable, " << K << " candidates; model "
              << model.model_name() << " trained on " << model.trained_on() << "\n";

    std::vector<int64_t> measured_idx, measured_rt;
    std::vector<char> done(static_cast<size_t>(K), 0);
    for (int64_t round = 0; round < R; ++round) {
      tgraph::Scores s = model.score(h, cand);
      std::vector<int64_t> order = tgraph::ranking_by_score(s.score);
      int64_t taken = 0;
      for (int64_t k : order) {
        if (taken == M) break;
        if (done[k]) continue;
        done[k] = 1;
        measured_idx.push_back(k);
        measured_rt.push_back(measure(k));
        ++taken;
      }
      std::vector<float> mv;
      for (int64_t k : measured_idx)
        mv.insert(mv.end(), cand.begin() + k * W, cand.begin() + (k + 1) * W);
      double loss = 0;
      if (std::adjacent_find(measured_rt.begin(), measured_rt.end(), std::not_equal_to<>()) !=
          measured_rt.end())
        loss =
            model.update(h, mv.data(), static_cast<int64_t>(measured_idx.size()), measured_rt, 10);
      std::cout << "round " << round + 1 << ": measured " << measured_idx.size() << ", best so far "
                << *std::min_element(measured_rt.begin(), measured_rt.end()) << " ns, update loss "
                << loss << "\n";
    }

    // Baselines with the same number of measurements.
    const double dflt = device.default_runtime_ns();
    const int64_t budget = static_cast<int64_t>(measured_idx.size());
    std::mt19937_64 rr(seed + 1);
    std::vector<int64_t> perm(static_cast<size_t>(K));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rr);
    int64_t best_random = std::numeric_limits<int64_t>::max();
    for (int64_t i = 0; i < std::min(budget, K); ++i)
      best_random = std::min(best_random, measure(perm[i]));
    const int64_t best_model = *std::min_element(measured_rt.begin(), measured_rt.end());
    std::cout << "default configuration " << static_cast<int64_t>(dflt) << " ns\n"
              << "model-guided, " << budget << " measurements: best " << best_model
              << " ns (speed-up over default " << dflt / best_model << "x)\n"
              << "random search, " << budget << " measurements: best " << best_random
              << " ns (speed-up over default " << dflt / best_random << "x)\n";
  } catch (const tgraph::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
