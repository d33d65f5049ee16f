// Scoring graphs with a layout model: graph inputs from packed files or in-memory graphs,
// slate-wise scoring of every configuration, evaluation (tau-b, OPA) and prediction (rankings).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/data/features.h"
#include "tgraph/data/pack.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/model/graph_tensors.h"
#include "tgraph/model/models.h"

namespace tgraph {

// Everything needed to score the configurations of one graph.
struct GraphInput {
  std::string stem;
  std::string source;  // file it came from (for messages)
  GraphTensors tensors;
  int64_t num_configs = 0, num_config_nodes = 0;
  std::vector<int64_t> runtimes;  // [C] ns (all 0 when unlabelled)
  bool labelled = false;
  // Fills out [rows.size(), NC, 18] with layout values (-1..5) of the given configuration rows.
  std::function<void(const std::vector<int64_t>& rows, int8_t* out)> read_configs;
};

// From a packed file (pruning/re-padding already applied at pack time).
GraphInput graph_input_from_pack(std::shared_ptr<const PackedGraph> pg,
                                 const FeatureNormalizer& norm, torch::Device device);
// From an in-memory layout graph (the C++ API and tests): prunes and re-pads as the model expects.
GraphInput graph_input_from_layout(std::shared_ptr<const LayoutGraph> g, bool prune, bool repad,
                                   const FeatureNormalizer& norm, torch::Device device);

// Scores all configurations in slates of `slate` rows. The slate partition is a fixed shuffle
// (seeded) of the rows, so cross-attention models see mixed slates and results are reproducible.
// Returns [C] scores (higher = predicted slower).
std::vector<double> score_all_configs(LayoutModelImpl& model, const GraphInput& g, int64_t slate,
                                      uint64_t seed);

struct GraphEval {
  std::string stem;
  RankMetrics metrics;
};
struct EvalReport {
  std::vector<GraphEval> graphs;
  MeanRankMetrics mean;
  double seconds = 0;
  nlohmann::json to_json() const;
  std::string table() const;
};
// Inputs for every graph of a collection split, pre-processed the way the model file says
// (packed into cache_dir, never de-duplicated: evaluation and prediction see every row).
struct ModelFile;
std::vector<GraphInput> inputs_for_split(const ModelFile& model, const std::string& data_root,
                                         const Collection& c, const std::string& split,
                                         const std::string& cache_dir, int threads,
                                         torch::Device device);

// Refuses unlabelled graphs (tgraph::Error naming the file).
EvalReport evaluate_graphs(LayoutModelImpl& model, const std::vector<GraphInput>& graphs,
                           int64_t slate, uint64_t seed);

}  // namespace tgraph
