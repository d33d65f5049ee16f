// `tgraph train`: train a layout or tile model on one collection (the collection picks the task).
#include <cstdlib>
#include <iostream>

#include "cli/model_flags.h"
#include "cli/reach_flags.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

void register_train(CLI::App& app, Action* action) {
  struct Opts {
    TrainOptions t;
    ContextFlags ctx;
    bool bf16 = false;
    int cross_attention = -1;
    ReachFlags reach;
    bool no_progress = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "train",
      "Train a model on one collection (layout: tgraph | tgraph-cpu | baseline; tile: "
      "tile | tile-baseline)");
  sub->add_option("--data", o->t.data_root, "TpuGraphs npz root (contains layout/ and tile/)")
      ->required();
  sub->add_option("--collection", o->t.collection, "layout:{xla|nlp}:{random|default} or tile:xla")
      ->capture_default_str();
  sub->add_option("--train-also", o->t.train_also,
                  "more layout collections whose train split joins --collection's (validation "
                  "stays --collection's)");
  sub->add_option("--out", o->t.out_dir,
                  "run directory (best.tgm, last.tgm, log.jsonl, checkpoint/)")
      ->required();
  sub->add_option("--cache", o->t.cache_dir,
                  "packed-graph cache directory (default RUN/cache; share it between runs)");
  sub->add_option("--model", o->t.model,
                  "layout: tgraph | tgraph-cpu | baseline; tile: tile (= tgraph) | tile-baseline "
                  "(= baseline)")
      ->capture_default_str();
  sub->add_option("--graphs-per-step,--kernels-per-step", o->t.graphs_per_step,
                  "graphs (tile: kernels) per optimiser step (default 1 layout, 8 tile)");
  sub->add_option("--max-valid-graphs", o->t.max_valid_graphs,
                  "validate on at most this many graphs (default: all)");
  sub->add_option("--cross-attention", o->cross_attention,
                  "1/0 (default: on for default collections)");
  sub->add_option("--hidden", o->t.hidden, "block width (default: the preset's)");
  sub->add_option("--arch", o->t.arch,
                  "KEY=VALUE override of the preset's architecture, repeatable (dropout=0.1, "
                  "graph_layers=3, dense_layers=1, config_relu=false, ...; `tgraph info MODEL` "
                  "shows all under config)");
  sub->add_option(
      "--loss", o->t.loss.name,
      "hinge | listmle | listmle-fast | diffmat (default: hinge; listmle for baseline and tile)");
  sub->add_option("--mape-weight", o->t.loss.mape_weight, "diffmat: weight of the MAPE term");
  sub->add_option("--log-mse-weight", o->t.loss.log_mse_weight,
                  "any loss: + W * mean((score - log target)^2); tile targets are runtime / the "
                  "default configuration's runtime (default 0)");
  sub->add_option(
      "--slate", o->t.slate,
      "configurations per graph and step (default 64 default / 128 random; 32 tgraph-cpu; 16 "
      "baseline; 256 tile)");
  sub->add_option("--eval-slate", o->t.eval_slate,
                  "slate size when scoring validation graphs (default: 2 x --slate with "
                  "cross-attention, else 512)");
  sub->add_option("--activation-budget", o->t.activation_budget_mb,
                  "MiB of saved activations per training pass: larger slates train in passes "
                  "(same gradient, one more forward pass; not with cross-attention); 0 = never "
                  "split")
      ->capture_default_str();
  sub->add_option("--lr", o->t.lr, "peak learning rate (default 1e-3; 3e-3 for tgraph-cpu)");
  sub->add_option("--weight-decay", o->t.weight_decay, "AdamW weight decay")->capture_default_str();
  sub->add_option("--warmup", o->t.warmup, "warm-up fraction of the budget")->capture_default_str();
  sub->add_option("--clip", o->t.clip, "gradient-norm clip (0 = off)")->capture_default_str();
  sub->add_option("--steps", o->t.steps, "step budget");
  sub->add_option("--time-budget", o->t.time_budget_s, "wall-clock budget in seconds");
  sub->add_option("--eval-every", o->t.eval_every_s,
                  "seconds between validations (default: the time budget / 6; with only a step "
                  "budget, every steps / 6)");
  sub->add_option("--eval-every-steps", o->t.eval_every_steps, "steps between validations");
  add_reach_flags(sub, &o->reach, "train on whole graphs (= --reach whole)");
  sub->add_option("--init", o->t.init_model,
                  "start from this model file's weights and normalisers (same task, preset, "
                  "width and reach; tensors it lacks, e.g. cross-attention, start fresh)");
  sub->add_flag("--resume", o->t.resume, "continue from RUN/checkpoint if present");
  sub->add_flag("--snapshots", o->t.snapshots,
                "also write the model at every validation as RUN/snapshots/step<N>.tgm (combine "
                "the last few with `tgraph ensemble`)");
  sub->add_option("--ema", o->t.ema,
                  "decay of a moving average of the weights, which validation scores and the "
                  "model files hold (e.g. 0.999; 0 = off, the raw weights)")
      ->capture_default_str();
  sub->add_flag("--no-progress", o->no_progress, "no progress bar");
  sub->add_option("--dist-init", o->t.dist.init,
                  "data-parallel rendezvous when WORLD_SIZE > 1: env:// (MASTER_ADDR/PORT) or "
                  "file:///shared/path")
      ->capture_default_str();
  sub->add_option("--dist-timeout", o->t.dist.timeout_s,
                  "seconds a collective may wait (a dead peer's closed socket fails sooner)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  add_context_flags(sub, &o->ctx);
  sub->add_flag("--bf16", o->bf16,
                "multiply the per-configuration layers in bfloat16 (AVX512-BF16 CPUs; measured in "
                "docs/results.md)");
  // Train's own options: the library's table (usage bounds); the loss's weights: here.
  for (const TrainOptionRange& r : train_option_ranges()) bound(sub, r.flag, r.lo, r.usage_hi);
  bound(sub, "--mape-weight", 0, 1e6);
  bound(sub, "--log-mse-weight", 0, 1e6);
  sub->callback([o, action] {
    *action = [o] {
      TrainOptions t = o->t;
      ContextFlags cf = o->ctx;
      // One GPU per local rank under a launcher (torchrun/srun set LOCAL_RANK): "cuda" -> cuda:N.
      const char* ws = std::getenv("WORLD_SIZE");
      const char* lr = std::getenv("LOCAL_RANK");
      if (cf.device == "cuda" && ws && std::atoi(ws) > 1 && lr)
        cf.device = std::string("cuda:") + lr;
      t.ctx = make_context(cf);
      t.ctx.bf16_matmul = o->bf16;
      t.cross_attention = o->cross_attention;
      t.reach = reach_from_flags(o->reach);
      t.progress = !o->no_progress;
      TrainResult r = train(t);
      std::cout << r.to_json().dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
