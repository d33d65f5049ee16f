// Example of the C++ API: rank the layout configurations of one graph with a trained model.
//
//   ./build/examples/rank_configs run/best.tgm graph.npz [top_k]
//
// Prints the top_k fastest configurations (by predicted score) and, when the file is labelled, the
// measured runtime of each and the Kendall tau-b of the whole ranking.
#include <iostream>

#include "tgraph/api/ranker.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.tgm GRAPH.npz [TOP_K]\n";
    return 2;
  }
  try {
    const int64_t top_k = argc > 3 ? std::stoll(argv[3]) : 10;
    tgraph::Ranker ranker = tgraph::Ranker::load(argv[1]);
    tgraph::LayoutGraph g = tgraph::load_layout(argv[2]);
    tgraph::Ranking r = ranker.rank(g);
    std::cout << g.stem << ": " << g.num_configs << " configurations, model " << ranker.model_name()
              << " trained on " << ranker.trained_on() << "\n";
    for (int64_t i = 0; i < std::min<int64_t>(top_k, g.num_configs); ++i) {
      int64_t c = r.order[i];
      std::cout << "  #" << i + 1 << "  config " << c << "  score " << r.scores[c];
      if (g.labelled) std::cout << "  measured " << g.config_runtime[c] << " ns";
      std::cout << "\n";
    }
    if (g.labelled) {
      auto m = tgraph::rank_metrics(r.scores, g.config_runtime, g.path);
      std::cout << "Kendall tau-b " << m.tau << ", OPA " << m.opa << "\n";
    }
  } catch (const tgraph::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
