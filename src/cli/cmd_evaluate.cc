// `tgraph evaluate`: per-graph and mean metrics of a model (or a heuristic) on a labelled split:
// Kendall tau-b and OPA for layout, tile score and top-K errors for tile.
#include <filesystem>
#include <iostream>

#include "cli/model_flags.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_evaluate(CLI::App& app, Action* action) {
  struct Opts {
    std::string model, data, collection, split = "valid", cache, json_out, heuristic;
    int64_t slate = 0;
    int repeats = 0;
    ContextFlags ctx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "evaluate", "Per-graph metrics of a model on a labelled split (layout tau/OPA, tile score)");
  sub->add_option("--model", o->model, "model file (.tgm, single or ensemble)");
  sub->add_option("--heuristic", o->heuristic,
                  "instead of a model: row0 (the file's first rows; row 0 = default config)");
  sub->add_option("--data", o->data, "TpuGraphs npz root")->required();
  sub->add_option("--collection", o->collection,
                  "default: the model's training collection (tile:xla for --heuristic)");
  sub->add_option("--split", o->split, "train | valid (test files are unlabelled)")
      ->capture_default_str();
  sub->add_option("--cache", o->cache, "packed-graph cache directory (default: a temp dir)");
  add_scoring_flags(sub, &o->slate, &o->repeats);
  sub->add_option("--json", o->json_out, "also write the report as JSON here");
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      RunContext ctx = make_context(o->ctx);
      init_torch(ctx);
      if (o->model.empty() == o->heuristic.empty())
        throw_error("evaluate", "--model / --heuristic", "exactly one of them",
                    o->model.empty() ? "neither" : "both");
      EvalReport r;
      std::string coll, what;
      const std::string cache = default_cache_dir(o->cache, o->data);
      if (!o->heuristic.empty()) {
        if (o->heuristic != "row0")
          throw_error("--heuristic", "", "row0", "'" + o->heuristic + "'");
        coll = o->collection.empty() ? "tile:xla" : o->collection;
        Collection c = parse_collection(coll);
        auto samples = task_for(c.kind).load_split(o->data, c, o->split, Preprocessing{}, false,
                                                   cache, ctx.threads);
        r = evaluate_row_order(c.kind, samples);
        what = "heuristic:row0";
      } else {
        LoadedModel m = load_model(o->model, ctx.device);
        coll = o->collection.empty() ? m.collection : o->collection;
        auto samples =
            samples_for_split(m, o->data, parse_collection(coll), o->split, cache, ctx.threads);
        r = evaluate_model(m, samples, o->slate, ctx.seed, o->repeats);
        what = o->model;
      }
      std::cout << coll << " " << o->split << " (" << what << ")\n"
                << r.table() << r.summary() << "\n";
      if (!o->json_out.empty()) {
        auto j = r.to_json();
        j["collection"] = coll;
        j["split"] = o->split;
        j["model"] = what;
        write_file_atomic(o->json_out, j.dump(2));
      }
      return 0;
    };
  });
}

}  // namespace tgraph::cli
