// `tgraph train`: train a layout model on one collection.
#include <iostream>

#include "cli/model_flags.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/train/tile.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_train(CLI::App& app, Action* action) {
  struct Opts {
    TrainOptions t;
    ContextFlags ctx;
    int cross_attention = -1;
    bool no_prune = false, no_progress = false;
    int64_t kernels_per_step = 8;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "train", "Train a layout model (tgraph | tgraph-cpu | baseline) on one collection");
  sub->add_option("--data", o->t.data_root, "TpuGraphs npz root (contains layout/ and tile/)")
      ->required();
  sub->add_option("--collection", o->t.collection, "layout:{xla|nlp}:{random|default} or tile:xla")
      ->capture_default_str();
  sub->add_option("--out", o->t.out_dir,
                  "run directory (best.tgm, last.tgm, log.jsonl, checkpoint/)")
      ->required();
  sub->add_option("--cache", o->t.cache_dir,
                  "packed-graph cache directory (default RUN/cache; share it between runs)");
  sub->add_option("--model", o->t.model,
                  "layout: tgraph | tgraph-cpu | baseline; tile: tile (= tgraph) | tile-baseline "
                  "(= baseline)")
      ->capture_default_str();
  sub->add_option("--kernels-per-step", o->kernels_per_step, "tile: kernels per optimiser step")
      ->capture_default_str();
  sub->add_option("--cross-attention", o->cross_attention,
                  "1/0 (default: on for default collections)");
  sub->add_option("--hidden", o->t.hidden, "block width (default: the preset's)");
  sub->add_option("--loss", o->t.loss.name,
                  "hinge | listmle | diffmat (default: hinge; listmle for baseline)");
  sub->add_option("--mape-weight", o->t.loss.mape_weight, "diffmat: weight of the MAPE term");
  sub->add_option(
      "--slate", o->t.slate,
      "configurations per step (default 64 default / 128 random; 32 tgraph-cpu; 16 baseline)");
  sub->add_option("--eval-slate", o->t.eval_slate, "slate size when scoring validation graphs")
      ->capture_default_str();
  sub->add_option("--lr", o->t.lr, "peak learning rate (default 1e-3; 3e-3 for tgraph-cpu)");
  sub->add_option("--weight-decay", o->t.weight_decay, "AdamW weight decay")->capture_default_str();
  sub->add_option("--warmup", o->t.warmup, "warm-up fraction of the budget")->capture_default_str();
  sub->add_option("--clip", o->t.clip, "gradient-norm clip (0 = off)")->capture_default_str();
  sub->add_option("--steps", o->t.steps, "step budget");
  sub->add_option("--time-budget", o->t.time_budget_s, "wall-clock budget in seconds");
  sub->add_option("--eval-every", o->t.eval_every_s,
                  "seconds between validations (default budget/10)");
  sub->add_option("--eval-every-steps", o->t.eval_every_steps, "steps between validations");
  sub->add_flag("--no-prune", o->no_prune, "train on whole graphs (no pruning)");
  sub->add_flag("--resume", o->t.resume, "continue from RUN/checkpoint if present");
  sub->add_flag("--no-progress", o->no_progress, "no progress bar");
  add_context_flags(sub, &o->ctx);
  sub->callback([o, action] {
    *action = [o] {
      if (parse_collection(o->t.collection).kind == Kind::kTile) {
        TileTrainOptions t;
        t.data_root = o->t.data_root;
        t.out_dir = o->t.out_dir;
        const std::string& m = o->t.model;
        t.model = (m == "baseline" || m == "tile-baseline") ? "tile-baseline" : "tile";
        if (m != "tgraph" && m != "tile" && m != "baseline" && m != "tile-baseline")
          throw_error("--model", "", "tile | tile-baseline (or tgraph | baseline) for tile:xla",
                      "'" + m + "'");
        t.hidden = o->t.hidden;
        t.kernels_per_step = o->kernels_per_step;
        if (o->t.slate > 0) t.slate = o->t.slate;
        if (o->t.lr > 0) t.lr = o->t.lr;
        t.weight_decay = o->t.weight_decay;
        t.warmup = o->t.warmup;
        t.clip = o->t.clip;
        t.steps = o->t.steps;
        t.time_budget_s = o->t.time_budget_s;
        t.eval_every_s = o->t.eval_every_s;
        t.eval_every_steps = o->t.eval_every_steps;
        t.progress = !o->no_progress;
        t.ctx = make_context(o->ctx);
        std::cout << train_tile(t).to_json().dump(2) << "\n";
        return 0;
      }
      TrainOptions t = o->t;
      t.ctx = make_context(o->ctx);
      t.cross_attention = o->cross_attention;
      t.prune = !o->no_prune;
      t.progress = !o->no_progress;
      TrainResult r = train_layout(t);
      std::cout << r.to_json().dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
