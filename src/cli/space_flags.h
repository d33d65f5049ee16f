// --minor-dims / --nodes / --opcodes: the search-space flags of `tgraph candidates` and `search`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tgraph/search/space.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

struct SpaceFlags {
  int minor_dims = 0;
  std::vector<int64_t> nodes;
  std::vector<std::string> opcodes;
};

inline void add_space_flags(CLI::App* sub, SpaceFlags* f) {
  sub->add_option("--minor-dims", f->minor_dims,
                  "list only this many minor-most dims per tensor (0: as the graph's own "
                  "configurations, or whole permutations)")
      ->check(CLI::Range(0, 6))
      ->capture_default_str();
  sub->add_option("--nodes", f->nodes, "search only these node indices (comma separated)")
      ->delimiter(',');
  sub->add_option("--opcodes", f->opcodes, "search only these opcodes: convolution, dot, reshape")
      ->delimiter(',')
      ->check(CLI::IsMember({"convolution", "dot", "reshape"}));
}

inline search::SpaceOptions space_options(const SpaceFlags& f) {
  static const std::map<std::string, int> kIds = {
      {"convolution", 26}, {"dot", 34}, {"reshape", 75}};
  search::SpaceOptions o;
  o.minor_dims = f.minor_dims;
  o.nodes = f.nodes;
  for (const auto& s : f.opcodes) o.opcodes.push_back(kIds.at(s));
  return o;
}

}  // namespace tgraph::cli
