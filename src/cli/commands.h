// Subcommand registration for the `tgraph` CLI. Each cmd_*.cc parses its flags and calls the library.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tgraph::cli {

// A registered subcommand stores its action here; main() runs the one the user picked.
using Action = std::function<int()>;

void register_inspect(CLI::App& app, Action* action);

// Default worker-thread count: the machine's cores.
int default_threads();

}  // namespace tgraph::cli
