// `tgraph ensemble --out E.tgm A.tgm B.tgm ...`: one model file whose score is the mean of its
// members' standardised scores (and whose members' spread is an uncertainty estimate).
#include <cmath>
#include <iostream>
#include <random>

#include "cli/model_flags.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_ensemble(CLI::App& app, Action* action) {
  struct Opts {
    std::string out, data, split = "train", cache;
    std::vector<std::string> members;
    int64_t graphs = 8, configs = 512, slate = 512;
    ContextFlags ctx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "ensemble", "Combine model files of one task and collection (e.g. seeds) into one model");
  sub->add_option("--out", o->out, "ensemble model file to write (.tgm)")->required();
  sub->add_option("members", o->members, "member model files (.tgm), at least 2")->required();
  sub->add_option("--data", o->data,
                  "TpuGraphs npz root: each member's score scale is measured on its collection")
      ->required();
  sub->add_option("--split", o->split, "split used for the calibration")->capture_default_str();
  sub->add_option("--graphs", o->graphs, "calibration graphs (the split's first ones)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  sub->add_option("--configs", o->configs, "configurations sampled per calibration graph")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(2), int64_t(1) << 40));
  sub->add_option("--cache", o->cache, "packed-graph cache directory (default: a temp dir)");
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      RunContext ctx = make_context(o->ctx);
      init_torch(ctx);
      if (o->members.size() < 2)
        throw_error("ensemble", "members", "at least 2 model files",
                    std::to_string(o->members.size()));
      // Same task and collection first (save_ensemble_file checks everything again).
      const nlohmann::json h0 = read_model_header(o->members[0]);
      for (const auto& path : o->members) {
        const nlohmann::json h = read_model_header(path);
        for (const char* key : {"task", "collection"}) {
          const nlohmann::json& a = std::string(key) == "task" ? h0 : h0["training"];
          const nlohmann::json& b = std::string(key) == "task" ? h : h["training"];
          if (a.value(key, "") != b.value(key, ""))
            throw_error(path, key, "the same as " + o->members[0] + " (" + a.value(key, "") + ")",
                        "'" + b.value(key, "") + "'");
        }
      }
      // Calibration: standardising by each member's typical within-graph score spread makes
      // members trained with different seeds (whose score scales drift apart) weigh alike.
      std::vector<std::pair<double, double>> calibration;
      std::vector<Sample> samples;
      for (const auto& path : o->members) {
        LoadedModel m = load_model(path, ctx.device);
        if (m.ensemble) throw_error(path, "ensemble", "a single model", "an ensemble");
        if (samples.empty()) {
          auto all = samples_for_split(m, o->data, parse_collection(m.collection), o->split,
                                       default_cache_dir(o->cache, o->data), ctx.threads);
          std::mt19937_64 rng(ctx.seed);
          for (size_t i = 0; i < all.size() && static_cast<int64_t>(samples.size()) < o->graphs;
               ++i)
            if (all[i].num_configs >= 2)
              samples.push_back(
                  subset_rows(all[i], sample_rows(all[i].num_configs, o->configs, rng)));
          if (samples.empty())
            throw_error(o->data, o->split, "a graph with >= 2 configurations", "none");
        }
        double mean_sum = 0, std_sum = 0;
        for (size_t i = 0; i < samples.size(); ++i) {
          std::vector<double> s = score_sample(m, samples[i], o->slate, ctx.seed + i).score;
          double mu = 0, sq = 0;
          for (double v : s) mu += v / s.size();
          for (double v : s) sq += (v - mu) * (v - mu) / s.size();
          mean_sum += mu;
          std_sum += std::sqrt(sq);
        }
        const double n = static_cast<double>(samples.size());
        double scale = std_sum / n;
        if (!(scale > 1e-12) || !std::isfinite(scale)) scale = 1;  // a constant member
        calibration.emplace_back(mean_sum / n, scale);
        std::cout << path << ": offset " << mean_sum / n << ", scale " << scale << "\n";
      }
      save_ensemble_file(o->out, o->members, calibration);
      std::cout << "wrote " << o->out << " (" << o->members.size() << " members, calibrated on "
                << samples.size() << " " << o->split << " graphs)\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
