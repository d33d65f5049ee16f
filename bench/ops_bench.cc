// The fused element-wise ops of layout TGraph (src/tgraph/model/models.h: InstanceNorm over nodes,
// channel gate, residual + GELU, cross-attention over configurations) against their LibTorch
// composites, at the shapes a training step and a scoring call of the resnet50 benchmark graph
// produce (529 nodes after pruning; `tgraph-cpu` with cross-attention: slate 32, 32 channels
// before the attention's concat; scoring slate 512). Forward + backward with autograd, and
// forward alone without it. Threads: TGRAPH_BENCH_THREADS (default 1). Run it with tcmalloc's
// release rate at 0, as the CLI sets it (README, "Stack notes"); at the default rate the
// composites' large temporaries are faulted in afresh and their times vary by 10x between runs:
//
//   TCMALLOC_RELEASE_RATE=0 ./build/bench/tgraph_ops_bench
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <functional>

#include "tgraph/model/models.h"

namespace {

constexpr int64_t kNodes = 529;

using Op = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

void set_threads() {
  const char* t = std::getenv("TGRAPH_BENCH_THREADS");
  torch::set_num_threads(t ? std::atoi(t) : 1);
}

// x [N, S, F] (and a second operand of the same shape where the op has one); the backward
// takes a fixed upstream gradient of the output's shape.
void run(benchmark::State& st, const Op& op, bool backward) {
  set_threads();
  const int64_t S = st.range(0), F = st.range(1);
  torch::manual_seed(1);
  auto x = torch::randn({kNodes, S, F}).requires_grad_(backward);
  auto z = torch::randn({kNodes, S, F}).requires_grad_(backward);
  torch::Tensor g;
  for (auto _ : st) {
    if (backward) {
      auto y = op(x, z);
      if (!g.defined()) g = torch::randn_like(y);
      y.backward(g);
      benchmark::DoNotOptimize(x.grad().data_ptr());
    } else {
      torch::NoGradGuard ng;
      benchmark::DoNotOptimize(op(x, z).data_ptr());
    }
  }
  st.SetItemsProcessed(st.iterations() * kNodes * S * F);
}

const torch::Tensor& temperature() {
  static torch::Tensor t = torch::tensor(0.5f);
  return t;
}

// {op name, fused, composite}
struct Pair {
  const char* name;
  Op fused, composite;
};

const Pair kOps[] = {
    {"instance_norm",
     [](const torch::Tensor& x, const torch::Tensor&) { return tgraph::instance_norm_nodes(x); },
     [](const torch::Tensor& x, const torch::Tensor&) {
       return tgraph::instance_norm_nodes_composite(x);
     }},
    {"gate", [](const torch::Tensor& x, const torch::Tensor& z) { return tgraph::gate_mul(x, z); },
     [](const torch::Tensor& x, const torch::Tensor& z) {
       return tgraph::gate_mul_composite(x, z);
     }},
    {"gelu_residual",
     [](const torch::Tensor& x, const torch::Tensor& z) {
       return tgraph::gelu_residual_dropout(x, z, 0.0);
     },
     [](const torch::Tensor& x, const torch::Tensor& z) {
       return tgraph::gelu_residual_composite(x, z);
     }},
    {"cross_attention",
     [](const torch::Tensor& x, const torch::Tensor&) {
       return tgraph::config_cross_attention(x, temperature());
     },
     [](const torch::Tensor& x, const torch::Tensor&) {
       return tgraph::config_cross_attention_composite(x, temperature());
     }},
};

// Registered per op, implementation and mode: forward + backward at the training shape (slate
// 32), the forward alone at the training and the scoring shape (slate 512).
const bool registered = [] {
  for (const Pair& p : kOps) {
    for (bool fused : {true, false}) {
      for (bool backward : {true, false}) {
        const std::string name = std::string(p.name) + (fused ? "/fused" : "/composite") +
                                 (backward ? "/fwd+bwd" : "/fwd");
        const Op op = fused ? p.fused : p.composite;
        auto* b = benchmark::RegisterBenchmark(
            name.c_str(), [op, backward](benchmark::State& st) { run(st, op, backward); });
        b->Args({32, 32})->Unit(benchmark::kMillisecond);
        if (!backward) b->Args({512, 32});
      }
    }
  }
  return true;
}();

}  // namespace
