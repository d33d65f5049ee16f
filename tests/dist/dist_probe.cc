// One rank of the collective checks, run as WORLD_SIZE processes by dist_test.sh: the all-reduced
// gradient equals the mean of every rank's gradient computed here independently, and
// broadcast_parameters leaves every rank with rank 0's weights. Prints "rank R: ok" or fails.
#include <iostream>

#include <torch/torch.h>

#include "tgraph/model/models.h"
#include "tgraph/train/distributed.h"
#include "tgraph/util/error.h"

namespace {

tgraph::Model make(int seed) {
  torch::manual_seed(seed);
  tgraph::ModelConfig c = tgraph::ModelConfig::preset("tgraph", false);
  c.hidden = 8;
  c.gate_bottleneck = 2;
  return tgraph::make_model(c);
}

// Rank r's gradients: seeded noise, and no gradient at all for the head on odd ranks (a parameter
// unused by that rank's graphs must count as zeros).
void fill_grads(tgraph::ModelImpl& m, int r) {
  torch::manual_seed(1000 + r);
  for (auto& p : m.named_parameters()) {
    if (r % 2 == 1 && p.key().rfind("head", 0) == 0) continue;
    p.value().mutable_grad() = torch::randn_like(p.value());
  }
}

}  // namespace

int main() {
  try {
    tgraph::DistOptions o;
    o.timeout_s = 60;
    auto d = tgraph::Distributed::from_env(o, torch::kCPU);
    if (!d) {
      std::cerr << "dist_probe: run with WORLD_SIZE > 1\n";
      return 2;
    }
    const int rank = d->rank(), world = d->world();
    // Gradients.
    tgraph::Model m = make(7);
    fill_grads(*m, rank);
    d->average_gradients(*m);
    double worst = 0;
    for (auto& p : m->named_parameters()) {
      torch::Tensor expect = torch::zeros_like(p.value());
      for (int r = 0; r < world; ++r) {
        tgraph::Model mr = make(7);
        fill_grads(*mr, r);
        auto g = mr->named_parameters()[p.key()].grad();
        if (g.defined()) expect += g;
      }
      expect /= world;
      worst = std::max(worst, (p.value().grad() - expect).abs().max().item<double>());
    }
    if (worst > 1e-6) {
      std::cerr << "rank " << rank << ": all-reduced gradient differs from the mean by " << worst
                << "\n";
      return 1;
    }
    // Parameters: every rank starts from a different seed, rank 0's weights win.
    tgraph::Model b = make(50 + rank);
    const uint64_t before = tgraph::parameter_checksum(*b);
    d->broadcast_parameters(*b);
    const uint64_t after = tgraph::parameter_checksum(*b);
    const uint64_t rank0 = tgraph::parameter_checksum(*make(50));
    for (uint64_t c : d->gather_checksums(after))
      if (c != rank0) {
        std::cerr << "rank " << rank << ": parameters differ after the broadcast\n";
        return 1;
      }
    if (rank != 0 && before == after) {
      std::cerr << "rank " << rank << ": broadcast changed nothing\n";
      return 1;
    }
    std::cout << "rank " << rank << ": ok (gradient error " << worst << ")\n";
  } catch (const tgraph::Error& e) {
    std::cerr << "dist_probe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
