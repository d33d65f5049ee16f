// `tgraph predict`: Kaggle-format rankings (fastest first) for every graph of a split.
#include <filesystem>
#include <iostream>

#include "cli/model_flags.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/eval/submission.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"

namespace tgraph::cli {

void register_predict(CLI::App& app, Action* action) {
  struct Opts {
    std::string model, data, collection, split = "test", cache, out;
    int64_t slate = 512;
    ContextFlags ctx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("predict", "Write ID,TopConfigs rows (full permutation, fastest first) for a split");
  sub->add_option("--model", o->model, "model file (.tgm)")->required();
  sub->add_option("--data", o->data, "TpuGraphs npz root")->required();
  sub->add_option("--collection", o->collection, "default: the model's training collection");
  sub->add_option("--split", o->split, "train | valid | test")->capture_default_str();
  sub->add_option("--cache", o->cache, "packed-graph cache directory (default: a temp dir)");
  sub->add_option("--slate", o->slate, "configurations scored together")->capture_default_str();
  sub->add_option("--out", o->out, "CSV file to write")->required();
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      RunContext ctx = make_context(o->ctx);
      init_torch(ctx);
      LoadedModel lm = load_layout_model(o->model, ctx.device);
      std::string coll_name = o->collection.empty() ? lm.file.training.value("collection", "") : o->collection;
      Collection coll = parse_collection(coll_name);
      std::string cache = o->cache.empty()
          ? (std::filesystem::temp_directory_path() / "tgraph-cache").string() : o->cache;
      auto inputs = inputs_for_split(lm.file, o->data, coll, o->split, cache, ctx.threads, ctx.device);
      std::vector<SubmissionRow> rows;
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto s = score_all_configs(*lm.model, inputs[i], o->slate, ctx.seed + i);
        rows.push_back({submission_id(coll, inputs[i].stem), ranking_by_score(s), inputs[i].num_configs, true});
      }
      write_submission_csv(o->out, rows);
      std::cout << "wrote " << rows.size() << " rows (" << coll_name << " " << o->split << ") to " << o->out << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
