// What `tgraph candidates` / `search` / `oracle` accept as a graph: a TpuGraphs layout .npz, or
// the user's own HLO dump (featurized on the fly), with instruction names when known.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/featurize/hlo_input.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/search/space.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

struct LayoutInput {
  LayoutGraph graph;
  std::vector<std::string> names;  // [N] instruction names, or empty when unknown
  std::string what;                // one line for the log
};

inline LayoutInput load_layout_input(const std::string& path) {
  LayoutInput in;
  if (featurize::is_hlo_dump_path(path)) {
    featurize::ModuleGraph mg = featurize::featurize_module_file(path);
    in.what = mg.info.describe() + ", module '" + mg.module_name + "'";
    in.graph = std::move(mg.graph);
    in.names = std::move(mg.node_names);
    return in;
  }
  // Only the first configurations are needed (legal-value evidence, search's own candidates);
  // the rest are validated as they stream past.
  LoadOptions lo;
  lo.max_configs = search::kEvidenceConfigs;
  in.graph = load_layout(path, lo);
  in.what = "layout file";
  // `tgraph featurize` of an HLO dump writes the names beside the graph: <stem>.names.json.
  namespace fs = std::filesystem;
  const fs::path names = fs::path(path).parent_path() / (in.graph.stem + ".names.json");
  std::ifstream f(names);
  if (f) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(f);
    } catch (const std::exception& e) {
      throw_error(names.string(), "", "a JSON array of instruction names", e.what());
    }
    if (!j.is_array() || static_cast<int64_t>(j.size()) != in.graph.num_nodes)
      throw_error(names.string(), "", TG_STR("an array of " << in.graph.num_nodes << " names"),
                  j.is_array() ? TG_STR(j.size() << " entries") : std::string("not an array"));
    for (const auto& n : j) in.names.push_back(n.is_string() ? n.get<std::string>() : "");
  }
  return in;
}

inline std::string node_label(const LayoutInput& in, int64_t node) {
  if (node < static_cast<int64_t>(in.names.size()) && !in.names[size_t(node)].empty())
    return in.names[size_t(node)];
  return "node_" + std::to_string(node);
}

}  // namespace tgraph::cli
