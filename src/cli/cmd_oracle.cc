// `tgraph oracle GRAPH.npz [--configs FILE.npz]`: the synthetic generator's noise-free runtime of
// configurations of one of its layout graphs, and their speed-up over the default configuration.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/synth/oracle.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_oracle(CLI::App& app, Action* action) {
  struct Opts {
    std::string graph, configs, data, out;
    int threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "oracle",
      "True (noise-free) runtimes of layout configurations of a graph made by `tgraph synth`");
  sub->add_option("graph", o->graph, "layout .npz of a `tgraph synth` dataset")->required();
  sub->add_option("--configs", o->configs,
                  "layout .npz of the same graph whose configurations to time (default: the "
                  "graph's own), e.g. from `tgraph candidates` or `tgraph search`");
  sub->add_option("--data", o->data, "dataset directory with synth.json (default: from the path)");
  sub->add_option("--out", o->out, "CSV: row,runtime_ns,speedup_over_default");
  sub->add_option("--threads", o->threads, "threads (default: all cores)");
  sub->add_flag("--json", o->json, "print a JSON summary");
  bound(sub, "--threads", 0, 1024);
  sub->callback([o, action] {
    *action = [o] {
      const synth::SynthOracle oracle = synth::SynthOracle::open(o->graph, o->data);
      const std::string src = o->configs.empty() ? o->graph : o->configs;
      // The graph without its configurations first (to check it is the oracle's), then every
      // configuration streamed through the oracle chunk by chunk: bounded memory at 100 000.
      LoadOptions head;
      head.max_configs = 0;
      head.validate_config_values = false;
      LayoutGraph g = load_layout(src, head);
      if (g.num_config_nodes != oracle.num_config_nodes())
        throw_error(src, "node_config_ids",
                    TG_STR(oracle.num_config_nodes() << " configurable nodes (" << o->graph << ")"),
                    TG_STR(g.num_config_nodes));
      // The oracle checked o->graph against its module; the configurations must be that graph's.
      if (g.node_config_ids != oracle.node_config_ids() || g.num_nodes != oracle.num_nodes())
        throw_error(src, "node_config_ids", "the configurable nodes of " + o->graph,
                    "another graph's");
      const int threads = o->threads > 0 ? o->threads : default_threads();
      std::vector<double> t;
      LoadOptions all;
      all.load_config_feat = false;
      all.on_configs = [&](const float* rows, int64_t, int64_t count) {
        const std::vector<double> part = oracle.runtimes_ns(rows, count, threads);
        t.insert(t.end(), part.begin(), part.end());
      };
      g = load_layout(src, all);
      const double def = oracle.default_runtime_ns();
      int64_t best = 0;
      for (int64_t i = 1; i < g.num_configs; ++i)
        if (t[size_t(i)] < t[size_t(best)]) best = i;
      if (!o->out.empty()) {
        std::string csv = "row,runtime_ns,speedup_over_default\n";
        for (int64_t i = 0; i < g.num_configs; ++i)
          csv += str_cat(i, ",", static_cast<int64_t>(t[size_t(i)] + 0.5), ",",
                         TG_STR(def / t[size_t(i)]), "\n");
        write_file_atomic(o->out, csv);
      }
      const double best_t = g.num_configs ? t[size_t(best)] : def;
      if (o->json) {
        nlohmann::json j = {{"graph", o->graph},
                            {"configs", src},
                            {"oracle", oracle.describe()},
                            {"count", g.num_configs},
                            {"default_ns", def},
                            {"best_row", best},
                            {"best_ns", best_t},
                            {"best_speedup", def / best_t},
                            {"first_ns", g.num_configs ? t[0] : def},
                            {"first_speedup", g.num_configs ? def / t[0] : 1.0}};
        std::cout << j.dump() << "\n";
      } else {
        std::printf(
            "%s\n%lld configurations of %s: default %.0f ns; best row %lld %.0f ns "
            "(speed-up %.4fx); row 0 %.4fx\n",
            oracle.describe().c_str(), static_cast<long long>(g.num_configs), src.c_str(), def,
            static_cast<long long>(best), best_t, def / best_t, g.num_configs ? def / t[0] : 1.0);
      }
      return 0;
    };
  });
}

}  // namespace tgraph::cli
