// `tgraph search GRAPH.npz|MODULE.hlo.pb --model M --budget-evals N --top K --out DIR`: an
// evolutionary search over the graph's layouts with the model as fitness; writes the top K as a
// layout .npz (to be measured and fed back) and as JSON (instruction name -> layouts).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/layout_input.h"
#include "cli/space_flags.h"
#include "tgraph/api/cost_model.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/search/search.h"
#include "tgraph/util/atomic_file.h"

namespace tgraph::cli {

namespace {

nlohmann::json layouts_json(const LayoutInput& in, const search::LayoutSpace& space,
                            const float* row) {
  static const char* kSlotNames[search::kSlots] = {"output", "operand0", "operand1"};
  nlohmann::json j = nlohmann::json::object();
  for (int64_t k = 0; k < space.num_config_nodes(); ++k) {
    nlohmann::json node = nlohmann::json::object();
    for (int s = 0; s < search::kSlots; ++s) {
      const float* v = row + (k * search::kSlots + s) * search::kSlotDims;
      std::vector<int> m2m;
      for (int d = 0; d < search::kSlotDims && v[d] >= 0.f; ++d) m2m.push_back(int(v[d]));
      if (!m2m.empty()) node[kSlotNames[s]] = m2m;
    }
    if (!node.empty()) j[node_label(in, space.node_ids()[size_t(k)])] = node;
  }
  return j;
}

}  // namespace

void register_search(CLI::App& app, Action* action) {
  struct Opts {
    std::string input, model, out;
    search::SearchOptions s;
    SpaceFlags space;
    CostModelOptions m;
    bool include_own = false;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "search", "Search a graph's (or HLO module's) layouts with a trained model as fitness");
  sub->add_option("input", o->input, "layout .npz, or an HLO dump (.hlo.pb, .pbtxt, gzip)")
      ->required();
  sub->add_option("--model", o->model, "trained layout model (.tgm)")->required();
  sub->add_option("--out", o->out, "output directory: <stem>.npz and <stem>.layouts.json")
      ->required();
  sub->add_option("--budget-evals", o->s.budget_evals, "model evaluations (candidates scored)")
      ->capture_default_str();
  sub->add_option("--top", o->s.top, "configurations written")->capture_default_str();
  sub->add_option("--population", o->s.population, "population (and children per generation)")
      ->capture_default_str();
  sub->add_option("--max-mutations", o->s.max_mutations, "nodes a child changes: 1..this")
      ->capture_default_str();
  sub->add_option("--crossover", o->s.crossover, "probability of a node-wise crossover")
      ->capture_default_str();
  sub->add_option("--max-changed-nodes", o->s.max_changed_nodes,
                  "only configurations that differ from the default in at most this many nodes "
                  "(0: no limit)")
      ->capture_default_str();
  sub->add_flag(
      "--include-own", o->include_own,
      "start from the graph's own configurations too (its first 4096; e.g. the module's layouts)");
  sub->add_option("--seed", o->s.seed, "random seed")->capture_default_str();
  sub->add_option("--device", o->m.device, "cpu | cuda | cuda:N")->capture_default_str();
  sub->add_option("--threads", o->m.threads, "intra-op threads (default: all cores)");
  sub->add_option("--slate", o->m.slate,
                  "candidates scored together (cross-attention: population + children must fit)")
      ->capture_default_str();
  sub->add_flag("--quiet", o->quiet, "no progress lines");
  add_space_flags(sub, &o->space);
  bound(sub, "--budget-evals", 2, 1e9);
  bound(sub, "--top", 1, 1e6);
  bound(sub, "--population", 2, 1e6);
  bound(sub, "--max-mutations", 1, 1e6);
  bound(sub, "--crossover", 0, 1);
  bound(sub, "--max-changed-nodes", 0, 1e9);
  bound(sub, "--slate", 2, 1 << 20);
  bound(sub, "--threads", 0, 1024);
  sub->callback([o, action] {
    *action = [o] {
      CostModelOptions mo = o->m;
      if (mo.threads <= 0) mo.threads = default_threads();
      mo.seed = o->s.seed;
      CostModel model = CostModel::load(o->model, mo);
      if (model.task() != Kind::kLayout)
        throw_error(o->model, "task", "a layout model", "a tile model");
      LayoutInput in = load_layout_input(o->input);
      const search::LayoutSpace space(in.graph, space_options(o->space));
      search::SearchOptions so = o->s;
      if (o->include_own && in.graph.config_feat_loaded) so.initial = in.graph.node_config_feat;
      if (!o->quiet)
        so.on_generation = [](int64_t g, int64_t evals, double best) {
          if (g % 10 == 0)
            std::fprintf(stderr, "generation %lld: %lld evaluations, best score %.5f\n",
                         static_cast<long long>(g), static_cast<long long>(evals), best);
        };
      // The prepared graph needs no configurations: drop them from the copy the model sees.
      LayoutGraph g = search::with_configs(in.graph, {}, 0);
      const GraphHandle h = model.prepare(g);
      const search::SearchResult r = search::evolve(model, h, space, so);
      const int64_t K = static_cast<int64_t>(r.score.size());

      // The default scored in the same call as the top K, so the two compare (any model).
      std::vector<float> ref = space.default_row();
      ref.insert(ref.end(), r.rows.begin(), r.rows.end());
      const Scores rs = model.score(h, ref.data(), K + 1);

      namespace fs = std::filesystem;
      fs::create_directories(o->out);
      const std::string stem = in.graph.stem.empty() ? "graph" : in.graph.stem;
      const std::string npz = (fs::path(o->out) / (stem + ".npz")).string();
      const std::string json = (fs::path(o->out) / (stem + ".layouts.json")).string();
      nlohmann::json j;
      j["input"] = o->input;
      j["read_as"] = in.what;
      j["model"] = o->model;
      j["model_name"] = model.model_name();
      j["trained_on"] = model.trained_on();
      j["evaluations"] = r.evaluations;
      j["generations"] = r.generations;
      j["population"] = r.population;
      j["max_changed_nodes"] = so.max_changed_nodes;
      j["searchable_nodes"] = space.searchable().size();
      j["log10_space"] = space.log10_size();
      j["score_note"] = "lower = predicted faster; rescored with the default in one call";
      j["default_score"] = rs.score[0];
      nlohmann::json top = nlohmann::json::array();
      for (int64_t i = 0; i < K; ++i) {
        const float* row = r.rows.data() + i * space.width();
        const int64_t changed = static_cast<int64_t>(space.changed_nodes(row).size());
        top.push_back({{"rank", i + 1},
                       {"score", rs.score[size_t(i + 1)]},
                       {"spread", rs.spread[size_t(i + 1)]},
                       {"nodes_set", changed},
                       {"layouts", layouts_json(in, space, row)}});
      }
      j["top"] = top;
      LayoutGraph outg = search::with_configs(in.graph, r.rows, K);
      outg.stem = stem;
      featurize::write_layout_npz(outg, npz);
      try {
        write_file_atomic(json, j.dump(2) + "\n");
      } catch (...) {
        std::error_code ec;
        fs::remove(npz, ec);  // both files or neither
        throw;
      }
      std::printf("%s: %s, %zu searchable nodes, 10^%.1f configurations\n", o->input.c_str(),
                  in.what.c_str(), space.searchable().size(), space.log10_size());
      std::printf("%lld model evaluations in %lld generations (population %lld)\n",
                  static_cast<long long>(r.evaluations), static_cast<long long>(r.generations),
                  static_cast<long long>(r.population));
      std::printf("rank  score      nodes set   (default: score %.5f)\n", rs.score[0]);
      for (int64_t i = 0; i < K; ++i)
        std::printf("%4lld  %9.5f  %9lld\n", static_cast<long long>(i + 1), rs.score[size_t(i + 1)],
                    static_cast<long long>(top[size_t(i)]["nodes_set"].get<int64_t>()));
      std::printf("wrote %s and %s\n", npz.c_str(), json.c_str());
      return 0;
    };
  });
}

}  // namespace tgraph::cli
