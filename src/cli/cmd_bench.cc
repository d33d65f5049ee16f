// `tgraph bench`: training and inference configurations/second of a layout model on one graph.
#include <iostream>

#include "cli/model_flags.h"
#include "cli/reach_flags.h"
#include "tgraph/train/bench.h"

namespace tgraph::cli {

void register_bench(CLI::App& app, Action* action) {
  struct Opts {
    BenchOptions b;
    ContextFlags ctx;
    bool bf16 = false;
    ReachFlags reach;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "bench", "Measure training/inference configurations per second on one layout graph");
  sub->add_option("graph", o->b.graph_path, "layout .npz")->required();
  sub->add_option("--model", o->b.model, "tgraph | tgraph-cpu | baseline")->capture_default_str();
  sub->add_option("--cross-attention", o->b.cross_attention, "1/0")->capture_default_str();
  sub->add_option("--slate", o->b.slate, "training slate")->capture_default_str();
  sub->add_option("--infer-slate", o->b.infer_slate, "inference slate")->capture_default_str();
  sub->add_option("--steps", o->b.steps, "timed training steps")->capture_default_str();
  sub->add_option("--activation-budget", o->b.activation_budget_mb,
                  "MiB of saved activations per training pass, as `tgraph train` (0 = one pass)")
      ->capture_default_str();
  sub->add_option("--train-parts", o->b.train_parts,
                  "training slate in N parts on threads (default 0: as `tgraph train` plans it; "
                  "1 = one part, for comparison)");
  bound(sub, "--train-parts", 0, 1024);
  sub->add_option("--infer-workers", o->b.infer_workers,
                  "inference passes in flight, one intra-op thread each (default 0: as scoring "
                  "runs, one per thread; 1 = one pass at a time on all threads, for comparison)");
  bound(sub, "--infer-workers", 0, 1024);
  sub->add_flag("--profile", o->b.profile,
                "also profile --steps more training steps and one more inference (one part, one "
                "pass at a time) and print each op's self time, largest first (`profile` in the "
                "JSON; tgraph's own kernels are named tgraph::...)");
  sub->add_option("--profile-top", o->b.profile_top, "ops listed by --profile (0 = all)")
      ->capture_default_str();
  bound(sub, "--profile-top", 0, 1e6);
  sub->add_option("--infer-configs", o->b.infer_configs,
                  "configurations scored for the inference figure (default: all)");
  bound(sub, "--infer-configs", 0, 1e12);
  add_reach_flags(sub, &o->reach, "whole graph (= --reach whole)");
  add_context_flags(sub, &o->ctx);
  sub->add_flag("--bf16", o->bf16,
                "multiply the per-configuration layers in bfloat16 (AVX512-BF16 CPUs; measured in "
                "docs/results.md)");
  bound(sub, "--slate", 1, 1 << 20);
  bound(sub, "--infer-slate", 1, 1 << 20);
  bound(sub, "--steps", 1, 1e6);
  bound(sub, "--cross-attention", 0, 1);
  bound(sub, "--activation-budget", 0, 1e9);
  sub->callback([o, action] {
    *action = [o] {
      BenchOptions b = o->b;
      b.ctx = make_context(o->ctx);
      b.ctx.bf16_matmul = o->bf16;
      b.reach = reach_from_flags(o->reach);
      std::cout << run_layout_bench(b).dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
