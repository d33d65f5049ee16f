// `tgraph evaluate`: per-graph and mean Kendall tau-b / OPA of a model on a labelled split.
#include <filesystem>
#include <iostream>

#include "cli/model_flags.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/tile.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_evaluate(CLI::App& app, Action* action) {
  struct Opts {
    std::string model, data, collection, split = "valid", cache, json_out, heuristic;
    int64_t slate = 512;
    ContextFlags ctx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("evaluate", "Kendall tau-b and OPA per graph of a labelled split");
  sub->add_option("--model", o->model, "model file (.tgm)");
  sub->add_option("--heuristic", o->heuristic,
                  "instead of a model: row0 (tile: the file's first rows, row 0 = default config)");
  sub->add_option("--data", o->data, "TpuGraphs npz root")->required();
  sub->add_option("--collection", o->collection, "default: the model's training collection");
  sub->add_option("--split", o->split, "train | valid (test files are unlabelled)")
      ->capture_default_str();
  sub->add_option("--cache", o->cache, "packed-graph cache directory (default: a temp dir)");
  sub->add_option("--slate", o->slate, "configurations scored together")->capture_default_str();
  sub->add_option("--json", o->json_out, "also write the report as JSON here");
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      RunContext ctx = make_context(o->ctx);
      init_torch(ctx);
      if (o->model.empty() == o->heuristic.empty())
        throw_error("evaluate", "--model / --heuristic", "exactly one of them",
                    o->model.empty() ? "neither" : "both");
      const bool tile =
          !o->heuristic.empty() || read_model_header(o->model).value("task", "") == "tile";
      if (tile) {
        if (!o->heuristic.empty() && o->heuristic != "row0")
          throw_error("--heuristic", "", "row0", "'" + o->heuristic + "'");
        TileEvalReport r = o->heuristic.empty()
                               ? evaluate_tile_model(o->model, o->data, o->split, ctx)
                               : evaluate_row_order_heuristic(o->data, o->split);
        std::cout << "tile:xla " << o->split << " ("
                  << (o->model.empty() ? "heuristic row0" : o->model) << "): " << r.summary()
                  << "\n";
        if (!o->json_out.empty()) {
          auto j = r.to_json();
          j["collection"] = "tile:xla";
          j["split"] = o->split;
          j["model"] = o->model.empty() ? "heuristic:row0" : o->model;
          write_file_atomic(o->json_out, j.dump(2));
        }
        return 0;
      }
      LoadedModel lm = load_layout_model(o->model, ctx.device);
      std::string coll =
          o->collection.empty() ? lm.file.training.value("collection", "") : o->collection;
      std::string cache = o->cache.empty()
                              ? (std::filesystem::temp_directory_path() / "tgraph-cache").string()
                              : o->cache;
      auto inputs = inputs_for_split(lm.file, o->data, parse_collection(coll), o->split, cache,
                                     ctx.threads, ctx.device);
      EvalReport r = evaluate_graphs(*lm.model, inputs, o->slate, ctx.seed);
      std::cout << coll << " " << o->split << " (" << o->model << ")\n" << r.table();
      if (!o->json_out.empty()) {
        auto j = r.to_json();
        j["collection"] = coll;
        j["split"] = o->split;
        j["model"] = o->model;
        write_file_atomic(o->json_out, j.dump(2));
      }
      return 0;
    };
  });
}

}  // namespace tgraph::cli
