// What differs between the layout and the tile task, behind one small interface, so that one
// trainer, one evaluator and one predictor serve both (like XGBoost's registry of objectives and
// metrics): how a split's samples are prepared, which metrics a graph gets, and their names.
//
// No LibTorch in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/data/prune.h"
#include "tgraph/data/sample.h"
#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

// Graph pre-processing a model was trained with (stored in its file).
struct Preprocessing {
  Reach reach;        // layout: which nodes and edges are kept (prune.h; tile: always whole)
  bool repad = true;  // minor_to_major re-padded with -1
};

class Task {
 public:
  virtual ~Task() = default;
  virtual Kind kind() const = 0;
  virtual std::string name() const = 0;  // "layout" | "tile": a model file's "task"
  // Per-graph metric names; the first one selects the best checkpoint (higher is better).
  virtual std::vector<std::string> metric_names() const = 0;
  // Human-readable names for the same metrics (e.g. "tile score", "top-1 error").
  virtual std::vector<std::string> metric_labels() const = 0;
  // Metrics of predicted scores (higher = slower) against the sample's measured runtimes; throws
  // tgraph::Error naming the sample's file on unlabelled data.
  virtual std::vector<double> metrics(const std::vector<double>& scores, const Sample& s) const = 0;
  // Samples of one split of collection c. Layout graphs are packed into cache_dir (dedup on
  // request, for training); tile kernels are loaded directly. Throws if the split has no graph.
  virtual std::vector<Sample> load_split(const std::string& data_root, const Collection& c,
                                         const std::string& split, const Preprocessing& pre,
                                         bool dedup, const std::string& cache_dir,
                                         int threads) const = 0;
};

const Task& task_for(Kind kind);

// Per-graph metrics and their means over a split, for either task.
struct EvalReport {
  Kind task = Kind::kLayout;
  std::vector<std::string> metric_names, metric_labels;
  struct Graph {
    std::string stem;
    int64_t configs = 0;
    std::vector<double> values;  // one per metric
  };
  std::vector<Graph> graphs;
  std::vector<double> mean;        // per metric: mean over graphs with a finite value
  std::vector<int64_t> nan_count;  // per metric: graphs left out of that mean (NaN)
  double seconds = 0;

  double metric(const std::string& name) const;  // the mean of one metric
  // What picks the best checkpoint: the first metric's mean with NaN graphs counted as 0 (a model
  // that breaks on some graphs must not look better for it).
  double selection() const;
  // mean_<name>, nan_<name>, selection, graphs [{graph, configs, <name>}]
  nlohmann::json to_json() const;
  std::string table() const;    // one row per graph and a mean row
  std::string summary() const;  // one line: "<n> graphs: <label> <mean>, ..."
};

// Scores of every configuration of sample i (higher = slower).
using ScoreFn = std::function<std::vector<double>(const Sample& s, size_t i)>;

// The one evaluator: metrics of `score` on every sample (refuses unlabelled samples).
EvalReport evaluate_samples(const Task& task, const std::vector<Sample>& samples,
                            const ScoreFn& score);

}  // namespace tgraph
