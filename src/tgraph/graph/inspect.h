// Summaries of TpuGraphs files for `tgraph inspect`: sizes, runtime spread, duplicates, labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tgraph {

struct GraphSummary {
  std::string path;
  std::string stem;
  std::string kind;  // "layout" | "tile"
  std::string
      collection;     // "layout:xla:random" when the path follows the TpuGraphs layout, else ""
  std::string split;  // "train" | "valid" | "test" | ""
  int64_t num_nodes = 0, num_edges = 0;
  int64_t num_config_nodes = -1;  // layout only
  int64_t num_configs = 0;
  bool labelled = false;
  int64_t runtime_min = 0, runtime_median = 0, runtime_max = 0;  // 0 when unlabelled
  int64_t duplicate_configs = 0;         // configurations whose features equal an earlier one
  bool edges_user_after_operand = true;  // every edge has user > operand
  std::string error;                     // non-empty: the file failed to load (one-line message)
};

// Loads and validates one file; throws tgraph::Error for an invalid file.
GraphSummary summarize_graph_file(const std::string& path);

// Summarises many files with `threads` workers; a file that fails gets its `error` set.
std::vector<GraphSummary> summarize_graph_files(const std::vector<std::string>& paths, int threads);

// Per-directory aggregation for directory listings.
struct DirSummary {
  std::string dir;
  std::string collection, split;
  int64_t files = 0, errors = 0, labelled = 0;
  int64_t nodes_min = 0, nodes_median = 0, nodes_max = 0;
  int64_t configs_min = 0, configs_median = 0, configs_max = 0, configs_total = 0;
  int64_t duplicate_configs = 0;
};
std::vector<DirSummary> group_by_directory(const std::vector<GraphSummary>& files);

nlohmann::json to_json(const GraphSummary& s);
nlohmann::json to_json(const DirSummary& s);
std::string format_file_table(const std::vector<GraphSummary>& files);
std::string format_dir_table(const std::vector<DirSummary>& dirs);

}  // namespace tgraph
