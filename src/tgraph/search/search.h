// Model-guided layout search: an evolutionary search over a graph's LayoutSpace with a trained
// cost model as the fitness, for `tgraph search` and the API.
//
// Each generation breeds children from the current population (tournament selection, node-wise
// crossover, mutation of 1..max_mutations nodes), never proposing a configuration twice, scores
// them in one batched call and keeps the best `population`. Scores of a cross-attention model
// depend on the other candidates of the call (CostModel::context_free() is false):
// then the population is re-scored together with its children in one slate every generation, so
// every comparison is between scores of one call (and the re-scoring counts against the budget).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tgraph/api/cost_model.h"
#include "tgraph/search/space.h"

namespace tgraph::search {

struct SearchOptions {
  int64_t budget_evals = 2048;  // candidates scored by the model, re-scored ones included
  int64_t population = 64;      // kept per generation; children per generation too
  int64_t top = 10;             // configurations returned
  int max_mutations = 3;        // a child changes 1 .. max_mutations nodes
  double crossover = 0.25;      // probability that a child mixes two parents node by node
  // > 0: only configurations that differ from the default in at most this many nodes (a trust
  // region around the compiler's choice, where a model trained on near-default data is reliable).
  int64_t max_changed_nodes = 0;
  uint64_t seed = 0;
  // Extra starting configurations [*, NC, 18], e.g. the graph's own (illegal ones are skipped).
  std::vector<float> initial;
  // Called after every generation with (generation, evaluations so far, best score).
  std::function<void(int64_t, int64_t, double)> on_generation;
};

struct SearchResult {
  std::vector<float> rows;  // [K, NC, 18] best first
  std::vector<double> score, spread;
  int64_t evaluations = 0, generations = 0;
  int64_t population = 0;       // as used (capped to fit a slate with its children)
  int64_t initial_skipped = 0;  // initial rows not legal in the space
};

SearchResult evolve(const CostModel& model, const GraphHandle& h, const LayoutSpace& space,
                    const SearchOptions& opt);

}  // namespace tgraph::search
