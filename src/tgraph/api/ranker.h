// A thin helper over the cost-model API (cost_model.h): load a model (layout or tile, single or
// ensemble) and rank the configurations a graph file already holds, fastest first.
//
// This header pulls in no LibTorch headers; link the `tgraph_model` library. Example:
//
//   tgraph::Ranker r = tgraph::Ranker::load("run/best.tgm");
//   tgraph::Ranking k = r.rank_file("my_graph.npz");
//   std::cout << "fastest configuration: " << k.order[0] << "\n";
//
// Errors (unreadable model, mismatched feature schema, invalid graph) throw tgraph::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

struct RankerOptions {
  std::string device = "cpu";  // "cpu" | "cuda" | "cuda:N"
  int threads = 0;             // intra-op threads; 0 = all cores
  int64_t slate = 0;  // configurations scored together; 0: the model's (default_inference_slate)
  uint64_t seed = 0;  // fixes the slate partition
  int slate_repeats = 0;  // slate partitions averaged; 0: the model's (default_slate_repeats)
};

struct Ranking {
  std::string graph;           // stem of the graph
  std::vector<double> scores;  // [C] model score per configuration (higher = predicted slower)
  std::vector<double> spread;  // [C] ensemble members' disagreement (0 for a single model)
  std::vector<int64_t> order;  // [C] configuration indices, fastest first
};

class Ranker {
 public:
  static Ranker load(const std::string& model_path, const RankerOptions& opt = {});
  ~Ranker();
  Ranker(Ranker&&) noexcept;
  Ranker& operator=(Ranker&&) noexcept;

  // A TpuGraphs layout or tile .npz (labelled or not). Layout graphs go through a temporary pack,
  // so their configurations are never all in memory.
  Ranking rank_file(const std::string& npz_path) const;
  // An in-memory layout graph (node_config_feat loaded) or tile kernel.
  Ranking rank(const LayoutGraph& g) const;
  Ranking rank(const TileGraph& g) const;

  std::string model_name() const;  // "tgraph" | "baseline" | "tile" | ...
  std::string trained_on() const;  // training collection, e.g. "layout:xla:random"

 private:
  struct Impl;
  explicit Ranker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tgraph
