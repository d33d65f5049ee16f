// Subcommand registration for the `tgraph` CLI. Each cmd_*.cc parses its flags and calls the
// library.
#pragma once

#include <cstdint>
#include <functional>

#include <CLI/CLI.hpp>

namespace tgraph::cli {

// A registered subcommand stores its action here; main() runs the one the user picked.
using Action = std::function<int()>;

void register_inspect(CLI::App& app, Action* action);
void register_pack(CLI::App& app, Action* action);
void register_featurize(CLI::App& app, Action* action);
void register_synth(CLI::App& app, Action* action);

void register_train(CLI::App& app, Action* action);
void register_evaluate(CLI::App& app, Action* action);
void register_predict(CLI::App& app, Action* action);
void register_info(CLI::App& app, Action* action);
void register_rank(CLI::App& app, Action* action);
void register_bench(CLI::App& app, Action* action);
void register_merge(CLI::App& app, Action* action);
void register_ensemble(CLI::App& app, Action* action);

// Own programs: candidate layouts, model-guided search, the synthetic generator's true runtimes.
void register_candidates(CLI::App& app, Action* action);
void register_search(CLI::App& app, Action* action);
void register_oracle(CLI::App& app, Action* action);

// Default worker-thread count: the machine's cores.
int default_threads();

// --device / --threads / --seed, shared by every subcommand that runs a model.
struct ContextFlags {
  std::string device = "cpu";
  int threads = 0;
  uint64_t seed = 0;
};
void add_context_flags(CLI::App* sub, ContextFlags* f);

// Range check (CLI11) on an already added numeric option: out of range is a usage error (exit 2)
// before anything runs, e.g. --slate 0, which would otherwise never finish a graph.
void bound(CLI::App* sub, const std::string& name, double lo, double hi);

// --slate and --slate-repeats of the commands that score a model (evaluate, predict, rank); 0 =
// the model's defaults (default_inference_slate, default_slate_repeats).
void add_scoring_flags(CLI::App* sub, int64_t* slate, int* repeats);

// --cache, or (when empty) a directory under the system's temp dir keyed by the data root, so runs
// on different data roots never share packs.
std::string default_cache_dir(const std::string& flag, const std::string& data_root);

}  // namespace tgraph::cli
