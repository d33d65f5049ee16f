// `tgraph synth --out DIR --preset tiny|small|full --seed S`: write a synthetic TpuGraphs dataset.
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "tgraph/synth/synth.h"

namespace tgraph::cli {

namespace {
int run_synth(synth::SynthOptions o, bool quiet) {
  if (!quiet) o.log = [](const std::string& s) { std::cerr << "synth: " << s << "\n"; };
  const auto t0 = std::chrono::steady_clock::now();
  synth::SynthReport r = synth::synthesize(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t layout = 0, tile = 0;
  for (const auto& f : r.files) (f.collection == "tile:xla" ? tile : layout)++;
  std::cout << "synth: wrote " << r.files.size() << " files (" << layout << " layout, " << tile
            << " tile), " << std::fixed << std::setprecision(1)
            << double(r.total_bytes) / (1024.0 * 1024.0) << " MiB, in " << secs << " s to "
            << o.out_dir << "/npz (manifest: " << o.out_dir << "/synth.json)\n";
  return 0;
}
}  // namespace

void register_synth(CLI::App& app, Action* action) {
  auto opts = std::make_shared<synth::SynthOptions>();
  auto quiet = std::make_shared<bool>(false);
  opts->threads = default_threads();
  auto* sub = app.add_subcommand(
      "synth", "Write a synthetic dataset in the TpuGraphs format (docs/synth.md)");
  sub->add_option("--out", opts->out_dir, "output directory (files go to OUT/npz/...)")->required();
  sub->add_option("--preset", opts->preset, "tiny | small | full")->capture_default_str();
  sub->add_option("--seed", opts->seed, "random seed (same seed => byte-identical files)")
      ->capture_default_str();
  sub->add_option("--threads", opts->threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_flag("--only-largest", opts->only_largest,
                "write only the largest layout graph (random and default) of the preset");
  sub->add_option("--max-configs", opts->max_configs, "cap the configurations of every file");
  sub->add_option("--compression", opts->compression_level, "zlib level 0..9")
      ->capture_default_str();
  sub->add_flag("--force", opts->force, "replace existing .npz files under OUT/npz");
  sub->add_flag("--quiet", *quiet, "no progress lines");
  sub->callback(
      [opts, quiet, action] { *action = [opts, quiet] { return run_synth(*opts, *quiet); }; });
}

}  // namespace tgraph::cli
