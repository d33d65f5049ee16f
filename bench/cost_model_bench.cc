// Latency of the cost-model API an autotuner calls (tgraph/api/cost_model.h): prepare() once per
// graph, then score() of 1, 16, 256 and 4096 candidates, on a small (~300 nodes), a median
// (~1 000) and a large (~40 000 nodes before pruning) synthetic module, for the CPU preset with and
// without cross-attention and for the baseline. Weights are random (latency does not depend on
// them). Run (docs/results.md has the figures):
//   ./build/bench/tgraph_cost_model_bench --benchmark_counters_tabular=true
// Threads: TGRAPH_BENCH_THREADS (default 1).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include <torch/torch.h>

#include "tgraph/api/cost_model.h"
#include "tgraph/data/features.h"
#include "tgraph/data/sample.h"
#include "tgraph/model/model_file.h"
#include "tgraph/synth/config_sampler.h"
#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/models.h"

namespace {

namespace fs = std::filesystem;
namespace syn = tgraph::synth;

int threads() {
  const char* t = std::getenv("TGRAPH_BENCH_THREADS");
  return t ? std::atoi(t) : 1;
}

// Graph 0: small, 1: median, 2: large.
struct Graph {
  syn::Module mod;
  tgraph::LayoutGraph g;
  std::vector<float> candidates;  // [4096, NC, 18]
};

const Graph& graph(int which) {
  static std::map<int, std::unique_ptr<Graph>> cache;
  auto& slot = cache[which];
  if (!slot) {
    slot = std::make_unique<Graph>();
    syn::Rng rng(7 + which);
    slot->mod = syn::build_model(which == 2 ? syn::largest_model(40000)
                                            : syn::sample_model("xla", which ? 1000 : 300, rng));
    slot->g = syn::layout_graph(slot->mod, "bench" + std::to_string(which));
    const int64_t W = slot->g.num_config_nodes * 18;
    syn::LayoutConfigSampler s(slot->mod, syn::Search::kRandom, 3, 4096);
    slot->candidates.resize(static_cast<size_t>(4096 * W));
    for (int64_t k = 0; k < 4096; ++k) s.row(k, slot->candidates.data() + k * W);
  }
  return *slot;
}

// Model 0: tgraph-cpu, 1: tgraph-cpu with cross-attention, 2: baseline. A file with random
// weights and a normaliser fitted on the small graph.
const std::string& model_file(int which) {
  static std::map<int, std::string> cache;
  std::string& p = cache[which];
  if (p.empty()) {
    torch::manual_seed(1);
    tgraph::ModelConfig c =
        tgraph::ModelConfig::preset(which == 2 ? "baseline" : "tgraph-cpu", which == 1);
    tgraph::Model m = tgraph::make_model(c);
    tgraph::Sample s = tgraph::sample_from_layout(
        std::make_shared<const tgraph::LayoutGraph>(graph(0).g), tgraph::Reach{}, true);
    tgraph::ModelFile f;
    f.config = c;
    f.normalizer = tgraph::fit_normalizer_blocks({{s.node_feat.data(), s.num_nodes}}).to_json();
    f.preprocessing = {{"prune", true}, {"repad", true}};
    f.training = {{"collection", which == 1 ? "layout:xla:default" : "layout:xla:random"}};
    f.tensors = tgraph::module_tensors(*m);
    p = (fs::temp_directory_path() / ("tgraph_cost_model_bench_" + std::to_string(which) + ".tgm"))
            .string();
    tgraph::save_model_file(p, f);
  }
  return p;
}

tgraph::CostModel& cost_model(int which) {
  static std::map<int, std::unique_ptr<tgraph::CostModel>> cache;
  auto& slot = cache[which];
  if (!slot) {
    tgraph::CostModelOptions o;
    o.threads = threads();
    slot = std::make_unique<tgraph::CostModel>(tgraph::CostModel::load(model_file(which), o));
  }
  return *slot;
}

void label(benchmark::State& st, int model, const Graph& g, const tgraph::GraphHandle& h) {
  static const char* names[] = {"tgraph-cpu", "tgraph-cpu+xattn", "baseline"};
  st.SetLabel(std::string(names[model]) + " N=" + std::to_string(g.g.num_nodes) + "->" +
              std::to_string(h.num_nodes()) + " NC=" + std::to_string(g.g.num_config_nodes));
}

// Args: model, graph.
void BM_Prepare(benchmark::State& st) {
  const int model = static_cast<int>(st.range(0));
  const Graph& g = graph(static_cast<int>(st.range(1)));
  tgraph::CostModel& m = cost_model(model);
  tgraph::GraphHandle h;
  for (auto _ : st) {
    h = m.prepare(g.g);
    // The static projection is computed lazily by the first score(): include it.
    benchmark::DoNotOptimize(m.score(h, g.candidates.data(), 1));
  }
  label(st, model, g, h);
}

// Args: model, graph, K candidates per call.
void BM_Score(benchmark::State& st) {
  const int model = static_cast<int>(st.range(0));
  const Graph& g = graph(static_cast<int>(st.range(1)));
  const int64_t K = st.range(2);
  tgraph::CostModel& m = cost_model(model);
  tgraph::GraphHandle h = m.prepare(g.g);
  m.score(h, g.candidates.data(), 1);  // warm: cached encoding
  for (auto _ : st) benchmark::DoNotOptimize(m.score(h, g.candidates.data(), K));
  st.counters["us_per_candidate"] = benchmark::Counter(
      static_cast<double>(K) * 1e-6,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  st.counters["candidates_per_s"] =
      benchmark::Counter(static_cast<double>(K), benchmark::Counter::kIsIterationInvariantRate);
  label(st, model, g, h);
}

void Args(benchmark::internal::Benchmark* b) {
  for (int model = 0; model < 3; ++model)
    for (int graph = 0; graph < 3; ++graph)
      for (int64_t k : {1, 16, 256, 4096}) b->Args({model, graph, k});
}

BENCHMARK(BM_Prepare)
    ->ArgsProduct({{0, 1, 2}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.2);
BENCHMARK(BM_Score)->Apply(Args)->Unit(benchmark::kMillisecond)->MinTime(0.2);

}  // namespace
