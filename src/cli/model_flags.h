// Turns the CLI's context flags into a RunContext (kept out of commands.h so that only the
// model subcommands see LibTorch headers).
#pragma once

#include "cli/commands.h"
#include "tgraph/model/context.h"

namespace tgraph::cli {

inline RunContext make_context(const ContextFlags& f) {
  RunContext c;
  c.device = parse_device(f.device);
  c.threads = f.threads > 0 ? f.threads : default_threads();
  c.seed = f.seed;
  return c;
}

}  // namespace tgraph::cli
