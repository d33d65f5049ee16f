// `tgraph predict`: submission rows (layout: full permutation; tile: top 5; fastest first) for
// every graph of a split, from one model or one model per collection (--all).
#include <iostream>
#include <map>

#include "cli/model_flags.h"
#include "tgraph/eval/submission.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_predict(CLI::App& app, Action* action) {
  struct Opts {
    std::vector<std::string> models;
    std::string data, collection, split = "test", cache, out;
    bool all = false;
    int64_t slate = 0;
    int repeats = 0;
    ContextFlags ctx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "predict", "Write ID,TopConfigs rows (fastest first) for every graph of a split");
  sub->add_option("--model", o->models, "model file (.tgm); with --all one per collection")
      ->required();
  sub->add_flag(
      "--all", o->all,
      "one submission for all five collections (each model predicts its training collection)");
  sub->add_option("--data", o->data, "TpuGraphs npz root")->required();
  sub->add_option("--collection", o->collection, "default: the model's training collection");
  sub->add_option("--split", o->split, "train | valid | test")->capture_default_str();
  sub->add_option("--cache", o->cache, "packed-graph cache directory (default: a temp dir)");
  add_scoring_flags(sub, &o->slate, &o->repeats);
  sub->add_option("--out", o->out, "CSV file to write")->required();
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      RunContext ctx = make_context(o->ctx);
      init_torch(ctx);
      if (!o->all && o->models.size() != 1)
        throw_error("predict", "--model", "one model (or --all with one per collection)",
                    std::to_string(o->models.size()) + " models");
      const std::string cache = default_cache_dir(o->cache, o->data);
      std::vector<SubmissionRow> rows;
      std::map<std::string, std::string> seen;  // collection -> model
      for (const auto& path : o->models) {
        LoadedModel m = load_model(path, ctx.device);
        std::string coll_name = (!o->all && !o->collection.empty()) ? o->collection : m.collection;
        if (seen.count(coll_name))
          throw_error("predict --all", "--model", "one model per collection",
                      "two for " + coll_name + ": " + seen[coll_name] + " and " + path);
        seen[coll_name] = path;
        Collection coll = parse_collection(coll_name);
        auto samples = samples_for_split(m, o->data, coll, o->split, cache, ctx.threads);
        auto part = predict_rows(m, samples, coll, o->slate, ctx.seed, o->repeats);
        std::cout << coll_name << " " << o->split << ": " << part.size() << " rows (" << path
                  << ")\n";
        rows.insert(rows.end(), part.begin(), part.end());
      }
      if (o->all && seen.size() != all_collections().size()) {
        std::string have;
        for (const auto& kv : seen) have += (have.empty() ? "" : ", ") + kv.first;
        throw_error("predict --all", "--model", "a model for each of the 5 collections",
                    "models for " + have);
      }
      write_submission_csv(o->out, rows);  // validated before anything is written
      std::cout << "wrote " << rows.size() << " rows to " << o->out << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
