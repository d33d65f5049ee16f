// tgraph: command-line front end. Parses the subcommand, runs it, and turns tgraph::Error into a
// one-line message and a non-zero exit code (the only place that catches it).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include <unistd.h>

#if defined(TGRAPH_TCMALLOC_EXTENSION)
#include <gperftools/malloc_extension.h>
#endif

#include "cli/commands.h"
#include "tgraph/util/blas_core.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {
int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}
std::string default_cache_dir(const std::string& flag, const std::string& data_root) {
  if (!flag.empty()) return flag;
  std::error_code ec;
  const std::string root = std::filesystem::weakly_canonical(data_root, ec).string();
  char key[17];
  std::snprintf(key, sizeof key, "%016llx",
                static_cast<unsigned long long>(std::hash<std::string>{}(ec ? data_root : root)));
  return (std::filesystem::temp_directory_path() / "tgraph-cache" / key).string();
}

void bound(CLI::App* sub, const std::string& name, double lo, double hi) {
  sub->get_option(name)->check(CLI::Range(lo, hi));
}
void add_context_flags(CLI::App* sub, ContextFlags* f) {
  sub->add_option("--device", f->device, "cpu | cuda | cuda:N")->capture_default_str();
  sub->add_option("--threads", f->threads, "intra-op threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--seed", f->seed, "random seed")->capture_default_str();
}
void add_scoring_flags(CLI::App* sub, int64_t* slate, int* repeats) {
  sub->add_option("--slate", *slate,
                  "configurations scored together (default: the model's: 2 x its training slate "
                  "with cross-attention, else 512)")
      ->check(CLI::Range(0, 1 << 20));
  sub->add_option("--slate-repeats", *repeats,
                  "independent slate partitions whose scores are averaged (cross-attention models; "
                  "default: the model's: 8 with cross-attention, else 1)")
      ->check(CLI::Range(0, 1024));
}
}  // namespace tgraph::cli

int main(int argc, char** argv) {
  // OpenBLAS chose its kernels when it was loaded, before main(). Where it fell back to generic
  // ones on a CPU it does not know (up to 5x slower matmuls), run again with the right core forced
  // (tgraph/util/blas_core.h). OPENBLAS_CORETYPE set by the user wins; TGRAPH_NO_BLAS_REEXEC=1 opts
  // out.
  if (!std::getenv("TGRAPH_NO_BLAS_REEXEC")) {
    const std::string core = tgraph::openblas_core_advice();
    if (!core.empty() && setenv("OPENBLAS_CORETYPE", core.c_str(), 1) == 0) {
      execv("/proc/self/exe", argv);
      unsetenv("OPENBLAS_CORETYPE");  // exec failed: go on with the generic kernels
    }
  }
#if defined(TGRAPH_TCMALLOC_EXTENSION)
  // tcmalloc hands freed large spans back to the kernel at its default release rate, and every
  // step's activations (MBs each) are then mapped and zeroed afresh: page faults took 12-17 % of
  // a cross-attention run of `tgraph bench`, and rate 0 gave 1.2x its training and inference
  // throughput (docs/results.md). Peak memory is the same: freed spans are reused, not kept
  // beside new ones. TCMALLOC_RELEASE_RATE set by the user wins.
  if (!std::getenv("TCMALLOC_RELEASE_RATE")) MallocExtension::instance()->SetMemoryReleaseRate(0);
#endif
  CLI::App app{"tgraph: a learned cost model (TGraph GNN) for XLA layout and tile configurations"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tgraph 0.1.0");
  tgraph::cli::Action action;
  tgraph::cli::register_inspect(app, &action);
  tgraph::cli::register_pack(app, &action);
  tgraph::cli::register_featurize(app, &action);
  tgraph::cli::register_synth(app, &action);
  tgraph::cli::register_train(app, &action);
  tgraph::cli::register_evaluate(app, &action);
  tgraph::cli::register_predict(app, &action);
  tgraph::cli::register_info(app, &action);
  tgraph::cli::register_rank(app, &action);
  tgraph::cli::register_bench(app, &action);
  tgraph::cli::register_merge(app, &action);
  tgraph::cli::register_ensemble(app, &action);
  tgraph::cli::register_candidates(app, &action);
  tgraph::cli::register_search(app, &action);
  tgraph::cli::register_oracle(app, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error (unknown flag, value out of range) exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return action ? action() : 0;
  } catch (const tgraph::Error& e) {
    std::cerr << "tgraph: error: " << e.what() << "\n";
    return 1;
  } catch (const tgraph::InternalError& e) {
    std::cerr << "tgraph: " << e.what() << "\n";
    return 3;
  } catch (const std::bad_alloc&) {
    std::cerr << "tgraph: error: out of memory\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // e.g. --out under a regular file: bad input naming the path, not a crash.
    std::cerr << "tgraph: error: " << e.path1().string() << ": " << e.code().message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // Anything else (a LibTorch or c10d error, a filesystem error) is reported, never an abort.
    std::string msg = e.what();
    std::cerr << "tgraph: internal error: " << msg.substr(0, msg.find('\n')) << "\n";
    return 3;
  }
}
