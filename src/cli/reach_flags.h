// --reach / --no-prune: how much of a layout graph `pack`, `train` and `bench` keep (prune.h).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "tgraph/data/prune.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

struct ReachFlags {
  std::string reach;  // empty: the default (hops:1)
  bool no_prune = false;
};

inline void add_reach_flags(CLI::App* sub, ReachFlags* f, const char* no_prune_help) {
  sub->add_option("--reach", f->reach,
                  "graph reach: hops:K (nodes within K hops of a configurable node; default "
                  "hops:1, the reference), contract (hops:1 plus one edge per chain of dropped "
                  "nodes between kept ones) or whole");
  sub->add_flag("--no-prune", f->no_prune, no_prune_help);
}

inline Reach reach_from_flags(const ReachFlags& f) {
  if (f.no_prune && !f.reach.empty() && f.reach != "whole")
    throw_error("--no-prune", "", "no --reach, or --reach whole", "--reach " + f.reach);
  if (f.no_prune) return Reach::whole();
  return f.reach.empty() ? Reach{} : Reach::parse(f.reach, "--reach");
}

}  // namespace tgraph::cli
