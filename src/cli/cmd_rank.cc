// `tgraph rank MODEL GRAPH.npz`: rank one graph's (or kernel's) configurations through the C++ API.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tgraph/api/ranker.h"
#include "tgraph/eval/metrics.h"

namespace tgraph::cli {

void register_rank(CLI::App& app, Action* action) {
  struct Opts {
    std::string model, graph;
    int64_t top = 10;
    bool json = false;
    RankerOptions r;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "rank", "Rank the configurations of one graph (layout or tile), fastest first");
  sub->add_option("model", o->model, "model file (.tgm)")->required();
  sub->add_option("graph", o->graph, "layout or tile .npz")->required();
  sub->add_option("--top", o->top, "how many to print (0 = all)")->capture_default_str();
  sub->add_flag("--json", o->json, "JSON: scores and the full order");
  sub->add_option("--device", o->r.device, "cpu | cuda")->capture_default_str();
  sub->add_option("--threads", o->r.threads, "threads (default: all cores)");
  add_scoring_flags(sub, &o->r.slate, &o->r.slate_repeats);
  bound(sub, "--top", 0, 1e12);
  bound(sub, "--threads", 0, 1024);
  sub->callback([o, action] {
    *action = [o] {
      RankerOptions ro = o->r;
      if (ro.threads <= 0) ro.threads = default_threads();
      Ranker ranker = Ranker::load(o->model, ro);
      GraphBase g;
      Ranking r;
      if (detect_kind(o->graph) == Kind::kTile) {
        TileGraph t = load_tile(o->graph);
        r = ranker.rank(t);
        g = t;
      } else {
        // Scored through a temporary pack (rank_file), so the configurations stream; only the
        // graph and its runtimes are loaded here.
        r = ranker.rank_file(o->graph);
        LoadOptions lo;
        lo.load_config_feat = false;
        lo.validate_config_values = false;  // the pack validated them
        g = load_layout(o->graph, lo);
      }
      const int64_t n = o->top > 0 ? std::min<int64_t>(o->top, g.num_configs) : g.num_configs;
      if (o->json) {
        nlohmann::json j = {{"graph", r.graph}, {"order", r.order}, {"scores", r.scores}};
        if (ranker.model_name().rfind("ensemble", 0) == 0) j["spread"] = r.spread;
        if (g.labelled) {
          auto m = rank_metrics(r.scores, g.config_runtime, g.path);
          j["runtimes"] = g.config_runtime;
          j["tau"] = m.tau;
          j["opa"] = m.opa;
        }
        std::cout << j.dump() << "\n";
        return 0;
      }
      std::cout << "rank  config        score" << (g.labelled ? "   runtime_ns" : "") << "\n";
      for (int64_t i = 0; i < n; ++i) {
        int64_t c = r.order[i];
        std::printf("%4lld  %6lld  %11.5f", static_cast<long long>(i + 1),
                    static_cast<long long>(c), r.scores[c]);
        if (g.labelled) std::printf("  %11lld", static_cast<long long>(g.config_runtime[c]));
        std::printf("\n");
      }
      if (g.labelled) {
        auto m = rank_metrics(r.scores, g.config_runtime, g.path);
        std::printf("Kendall tau-b %.4f, OPA %.4f over %lld configurations\n", m.tau, m.opa,
                    static_cast<long long>(g.num_configs));
      }
      return 0;
    };
  });
}

}  // namespace tgraph::cli
