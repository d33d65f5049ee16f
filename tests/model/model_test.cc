// Layers, models, losses and model files of the layout model.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include <torch/torch.h>

#include "../test_util.h"
#include "tgraph/data/features.h"
#include "tgraph/model/context.h"
#include "tgraph/model/graph_tensors.h"
#include "tgraph/model/losses.h"
#include "tgraph/model/model_file.h"
#include "tgraph/model/models.h"
#include "tgraph/train/schedule.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

struct Toy {
  std::vector<float> feat;  // [N, 140]
  std::vector<uint8_t> op;
  std::vector<int64_t> edges;
  std::vector<int64_t> config_pos;
};

Toy make_toy(int64_t N, int64_t NC, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  Toy t;
  t.feat.resize(static_cast<size_t>(N * 140));
  for (int64_t i = 0; i < N; ++i) {
    for (int c = 0; c < 134; ++c) t.feat[i * 140 + c] = nd(rng);
    for (int c = 134; c < 140; ++c)
      t.feat[i * 140 + c] = c - 134 < 3 ? static_cast<float>(2 - (c - 134)) : -1.f;
  }
  for (int64_t i = 0; i < N; ++i) t.op.push_back(static_cast<uint8_t>(rng() % 121));
  for (int64_t u = 1; u < N; ++u) {
    t.edges.push_back(u);
    t.edges.push_back(rng() % u);
    if (u > 2) {
      t.edges.push_back(u);
      t.edges.push_back(u - 1);
    }
  }
  for (int64_t k = 0; k < NC; ++k) t.config_pos.push_back(k * (N / NC));
  return t;
}

GraphTensors toy_tensors(const Toy& t) {
  return make_graph_tensors(t.feat, t.op, t.edges, t.config_pos, torch::kCPU);
}

torch::Tensor random_configs(int64_t S, int64_t NC, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> v(static_cast<size_t>(S * NC * 18));
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 7) - 1);
  return config_indices(v.data(), S, NC, torch::kCPU);
}

// Central finite differences of f at x (double) against autograd.
void check_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& f, torch::Tensor x,
                    double tol = 1e-6) {
  x = x.to(torch::kFloat64).detach().requires_grad_(true);
  auto y = f(x);
  auto g = torch::autograd::grad({y}, {x})[0];
  const double h = 1e-6;
  auto flat = x.detach().clone().view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto xp = flat.clone(), xm = flat.clone();
    xp[i] += h;
    xm[i] -= h;
    double num =
        (f(xp.view(x.sizes())).item<double>() - f(xm.view(x.sizes())).item<double>()) / (2 * h);
    EXPECT_NEAR(g.view(-1)[i].item<double>(), num, tol) << "element " << i;
  }
}

}  // namespace

TEST(Schedule, WarmupThenCosine) {
  EXPECT_DOUBLE_EQ(lr_factor(0.0, 0.05), 0.0);
  EXPECT_DOUBLE_EQ(lr_factor(0.025, 0.05), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(0.05, 0.05), 1.0);
  EXPECT_NEAR(lr_factor(0.525, 0.05), 0.5, 1e-12);
  EXPECT_NEAR(lr_factor(1.0, 0.05), 0.0, 1e-12);
  EXPECT_NEAR(lr_factor(2.0, 0.05), 0.0, 1e-12);  // clamped past the budget
}

TEST(Layers, InstanceNormNormalisesOverNodesOnly) {
  torch::manual_seed(0);
  auto x = torch::randn({50, 3, 8}) * 5 + 2;
  torch::Tensor y;
  {
    torch::AutoGradMode on(true);
    y = instance_norm_nodes(x);
  }
  EXPECT_TRUE(torch::allclose(y.mean(0), torch::zeros({3, 8}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(y.var(0, false), torch::ones({3, 8}), 1e-3, 1e-3));
  // Never mixes configurations: changing configuration 1 leaves configuration 0 alone.
  auto x2 = x.clone();
  x2.select(1, 1).mul_(10);
  EXPECT_TRUE(torch::equal(instance_norm_nodes(x2).select(1, 0), y.select(1, 0)));
  // The inference path and the composite of element-wise ops compute the same map.
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::allclose(instance_norm_nodes(x), y, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(instance_norm_nodes_composite(x), y, 1e-5, 1e-5));
}

namespace {

// Central differences of sum(f(x) * w) with respect to every element of x, against x.grad()
// (the float op itself; step 1e-2, float rounding bounds the tolerance).
void expect_finite_differences(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                               const torch::Tensor& x, const torch::Tensor& w) {
  auto flat = x.detach().clone().view(-1);
  const float h = 1e-2f;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto xp = flat.clone(), xm = flat.clone();
    xp[i] += h;
    xm[i] -= h;
    torch::NoGradGuard ng;
    const double num = ((f(xp.view(x.sizes())) * w).sum().item<double>() -
                        (f(xm.view(x.sizes())) * w).sum().item<double>()) /
                       (2 * h);
    EXPECT_NEAR(x.grad().view(-1)[i].item<double>(), num, 2e-2 * (1 + std::abs(num)))
        << "element " << i;
  }
}

}  // namespace

// The fused kernels (norm_kernels.cc) against the composite in double precision: values and
// gradients, for one column block (N = 37) and for many narrow blocks with a ragged tail (N = 3000:
// 16 columns per block, M = 95), on 1 and 2 threads; plus central differences of the fused op.
TEST(Layers, FusedInstanceNormMatchesCompositeAndFiniteDifferences) {
  const int threads = torch::get_num_threads();
  for (int64_t N : {37, 3000}) {
    for (int t : {1, 2}) {
      SCOPED_TRACE(testing::Message() << "N " << N << ", threads " << t);
      torch::set_num_threads(t);
      torch::manual_seed(N + t);
      auto x = (torch::randn({N, 5, 19}) * 3 + 1).requires_grad_(true);
      auto w = torch::randn({N, 5, 19});
      auto y = instance_norm_nodes(x);
      (y * w).sum().backward();
      auto xd = x.detach().to(torch::kFloat64).requires_grad_(true);
      auto yd = instance_norm_nodes_composite(xd);
      (yd * w.to(torch::kFloat64)).sum().backward();
      EXPECT_LT((y.to(torch::kFloat64) - yd).abs().max().item<double>(), 2e-5);
      EXPECT_LT((x.grad().to(torch::kFloat64) - xd.grad()).abs().max().item<double>(), 2e-4);
    }
  }
  torch::set_num_threads(threads);
  // Central differences on the fused float op itself.
  torch::manual_seed(7);
  auto x = (torch::randn({6, 2, 3}) * 2).requires_grad_(true);
  auto w = torch::randn({6, 2, 3});
  (instance_norm_nodes(x) * w).sum().backward();
  expect_finite_differences([](const torch::Tensor& v) { return instance_norm_nodes(v); }, x, w);
}

// The fused gate (act_kernels.cc) against x * sigmoid(z) in double: values and both gradients,
// on 1 and 2 threads, over a range that reaches both tails of the sigmoid; the no-grad path
// gives the same values; central differences of the fused op.
TEST(Layers, FusedGateMatchesCompositeAndFiniteDifferences) {
  const int threads = torch::get_num_threads();
  for (int t : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "threads " << t);
    torch::set_num_threads(t);
    torch::manual_seed(11 + t);
    auto x = (torch::randn({300, 7, 33}) * 3).requires_grad_(true);
    auto z = (torch::randn({300, 7, 33}) * 12).requires_grad_(true);  // up to |z| ~ 60
    auto w = torch::randn({300, 7, 33});
    auto y = gate_mul(x, z);
    (y * w).sum().backward();
    auto xd = x.detach().to(torch::kFloat64).requires_grad_(true);
    auto zd = z.detach().to(torch::kFloat64).requires_grad_(true);
    auto yd = gate_mul_composite(xd, zd);
    (yd * w.to(torch::kFloat64)).sum().backward();
    EXPECT_LT((y.to(torch::kFloat64) - yd).abs().max().item<double>(), 1e-5);
    EXPECT_LT((x.grad().to(torch::kFloat64) - xd.grad()).abs().max().item<double>(), 1e-5);
    EXPECT_LT((z.grad().to(torch::kFloat64) - zd.grad()).abs().max().item<double>(), 1e-5);
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::equal(gate_mul(x, z), y));
  }
  torch::set_num_threads(threads);
  torch::manual_seed(3);
  auto x = (torch::randn({4, 2, 3}) * 2).requires_grad_(true);
  auto z = torch::randn({4, 2, 3}) * 2;
  auto w = torch::randn({4, 2, 3});
  (gate_mul(x, z) * w).sum().backward();
  expect_finite_differences([&](const torch::Tensor& v) { return gate_mul(v, z); }, x, w);
  auto z2 = z.clone().requires_grad_(true);
  (gate_mul(x.detach(), z2) * w).sum().backward();
  expect_finite_differences([&](const torch::Tensor& v) { return gate_mul(x.detach(), v); }, z2, w);
}

// The fused residual + exact GELU without dropout against torch::gelu(y + r) in double, with and
// without the residual, over [-12, 12] (both tails); no-grad values equal the autograd ones;
// central differences.
TEST(Layers, FusedGeluMatchesCompositeAndFiniteDifferences) {
  for (bool residual : {true, false}) {
    SCOPED_TRACE(testing::Message() << "residual " << residual);
    torch::manual_seed(residual ? 5 : 6);
    auto y = (torch::rand({200, 9, 17}) * 24 - 12).requires_grad_(true);
    auto r = (torch::randn({200, 9, 17}) * 0.5).requires_grad_(true);
    auto w = torch::randn({200, 9, 17});
    torch::Tensor rr = residual ? r : torch::Tensor();
    auto out = gelu_residual_dropout(y, rr, 0.0);
    (out * w).sum().backward();
    auto yd = y.detach().to(torch::kFloat64).requires_grad_(true);
    auto rd = r.detach().to(torch::kFloat64).requires_grad_(true);
    auto outd = gelu_residual_composite(yd, residual ? rd : torch::Tensor());
    (outd * w.to(torch::kFloat64)).sum().backward();
    EXPECT_LT((out.to(torch::kFloat64) - outd).abs().max().item<double>(), 2e-6 * 13);
    EXPECT_LT((y.grad().to(torch::kFloat64) - yd.grad()).abs().max().item<double>(), 1e-5);
    if (residual) {
      EXPECT_LT((r.grad().to(torch::kFloat64) - rd.grad()).abs().max().item<double>(), 1e-5);
    } else {
      EXPECT_FALSE(r.grad().defined());
    }
    // The far negative tail has no cancellation: relative error stays within 0.5 % (1.6e-3 at -5)
    // where gelu is ~ -1e-6 (the A&S formula's absolute error is 1.5e-7 of erfc).
    auto tail = torch::tensor({-5.0f, -4.0f, -3.0f});
    auto gt = gelu_residual_dropout(tail, torch::Tensor(), 0.0);
    auto gd = gelu_residual_composite(tail.to(torch::kFloat64), torch::Tensor());
    EXPECT_LT(((gt.to(torch::kFloat64) - gd) / gd).abs().max().item<double>(), 5e-3);
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::equal(gelu_residual_dropout(y, rr, 0.0), out));
  }
  torch::manual_seed(8);
  auto y = (torch::randn({4, 2, 3}) * 2).requires_grad_(true);
  auto r = torch::randn({4, 2, 3});
  auto w = torch::randn({4, 2, 3});
  (gelu_residual_dropout(y, r, 0.0) * w).sum().backward();
  expect_finite_differences(
      [&](const torch::Tensor& v) { return gelu_residual_dropout(v, r, 0.0); }, y, w);
}

// Dropout inside the fused GELU: the kept share is 1 - p, kept elements are gelu / (1 - p) and
// dropped ones 0, the gradient uses the same mask (recomputed from the seed, not stored), the
// same generator state redraws the same mask (what split slates rely on), and generator
// scopes with other seeds draw other masks.
TEST(Layers, FusedDropoutKeepsOneMinusPAndReusesItsMaskInTheBackward) {
  const double p = 0.1;
  torch::manual_seed(21);
  auto y = torch::randn({400, 8, 64}).requires_grad_(true);  // 204 800 elements
  auto r = torch::randn({400, 8, 64});
  auto w = torch::randn({400, 8, 64});
  at::Generator def = at::detail::getDefaultCPUGenerator();
  auto state = def.get_state();
  auto out = gelu_residual_dropout(y, r, p);
  (out * w).sum().backward();
  auto ref = gelu_residual_composite(y.detach(), r);
  auto kept = out != 0;
  const double share = kept.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(share, 1 - p, 0.005);
  EXPECT_LT((out - ref / (1 - p)).masked_select(kept).abs().max().item<float>(), 1e-4);
  // The gradient: zero where dropped, the undropped gradient / (1 - p) where kept.
  auto y0 = y.detach().clone().requires_grad_(true);
  (gelu_residual_dropout(y0, r, 0.0) * w).sum().backward();
  EXPECT_EQ(y.grad().masked_select(kept.logical_not()).abs().max().item<float>(), 0.0f);
  EXPECT_LT((y.grad() - y0.grad() / (1 - p)).masked_select(kept).abs().max().item<float>(), 1e-4);
  // Same generator state: same mask.
  def.set_state(state);
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::equal(gelu_residual_dropout(y, r, p), out.detach()));
  }
  // A scope's generator replaces the default one: two seeds, two masks; one seed, one mask.
  auto masked = [&](uint64_t seed) {
    DropoutGeneratorScope scope(at::detail::createCPUGenerator(seed));
    torch::NoGradGuard ng;
    return gelu_residual_dropout(y, r, p) != 0;
  };
  EXPECT_TRUE(torch::equal(masked(1), masked(1)));
  const double agree = (masked(1) == masked(2)).to(torch::kFloat64).mean().item<double>();
  EXPECT_LT(agree, 0.9);  // independent masks agree on ~ 0.9^2 + 0.1^2 = 0.82 of the elements
}

// The training path of layout TGraph's configuration input (one-hot rows times a product table)
// against linear(embedding(configs)): values and the gradients of both weights.
TEST(Layers, OneHotConfigProjectionMatchesEmbeddingThenLinear) {
  torch::manual_seed(4);
  auto emb = torch::randn({8, 4}, torch::kFloat64).requires_grad_(true);
  auto proj = torch::randn({10, 18 * 4}, torch::kFloat64).requires_grad_(true);
  auto configs = torch::randint(0, 8, {5, 7, 18}, torch::kLong);
  auto w = torch::randn({5, 7, 10}, torch::kFloat64);
  auto a = one_hot_config_projection(emb, proj, configs);
  (a * w).sum().backward();
  auto ge = emb.grad().clone(), gp = proj.grad().clone();
  emb.mutable_grad().zero_();
  proj.mutable_grad().zero_();
  auto b = torch::nn::functional::linear(torch::embedding(emb, configs).view({5, 7, 72}), proj);
  (b * w).sum().backward();
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-12);
  EXPECT_LT((ge - emb.grad()).abs().max().item<double>(), 1e-12);
  EXPECT_LT((gp - proj.grad()).abs().max().item<double>(), 1e-12);
}

// The fused cross-attention (act_kernels.cc) against softmax / mul / cat in double: values and
// the gradients of x and of the temperature, on 1 and 2 threads, for a slate of 1, a small one
// and a training-sized one with a ragged channel count, with logits from flat to peaked (|x / T|
// up to ~100, where the softmax is one-hot and the exponentials reach the clamp); the no-grad
// path gives the same values; central differences of the fused op in x and in T.
TEST(Layers, FusedCrossAttentionMatchesCompositeAndFiniteDifferences) {
  const int threads = torch::get_num_threads();
  for (int t : {1, 2}) {
    for (auto shape : std::vector<std::vector<int64_t>>{{5, 1, 3}, {9, 7, 4}, {300, 64, 33}}) {
      for (double spread : {0.3, 20.0}) {
        SCOPED_TRACE(testing::Message()
                     << "threads " << t << ", S " << shape[1] << ", spread " << spread);
        torch::set_num_threads(t);
        torch::manual_seed(31 + t + shape[1]);
        auto x = (torch::randn(shape) * spread).requires_grad_(true);
        auto log_t = torch::tensor(std::log(0.5f)).requires_grad_(true);
        std::vector<int64_t> oshape = {shape[0], shape[1], 2 * shape[2]};
        auto w = torch::randn(oshape);
        auto y = config_cross_attention(x, log_t.exp());
        ASSERT_EQ(y.sizes(), torch::IntArrayRef(oshape));
        (y * w).sum().backward();
        auto xd = x.detach().to(torch::kFloat64).requires_grad_(true);
        auto log_td = log_t.detach().to(torch::kFloat64).requires_grad_(true);
        auto yd = config_cross_attention_composite(xd, log_td.exp());
        (yd * w.to(torch::kFloat64)).sum().backward();
        const double scale = 1 + yd.abs().max().item<double>();
        EXPECT_LT((y.to(torch::kFloat64) - yd).abs().max().item<double>(), 2e-6 * scale);
        EXPECT_LT((x.grad().to(torch::kFloat64) - xd.grad()).abs().max().item<double>(),
                  2e-5 * scale);
        const double gt = log_td.grad().item<double>();
        EXPECT_NEAR(log_t.grad().item<double>(), gt, 1e-4 * (1 + std::abs(gt)) * scale);
        torch::NoGradGuard ng;
        EXPECT_TRUE(torch::equal(config_cross_attention(x, log_t.exp()), y));
      }
    }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(9);
  auto x = (torch::randn({3, 4, 2}) * 2).requires_grad_(true);
  auto T = torch::tensor(0.7f);
  auto w = torch::randn({3, 4, 4});
  (config_cross_attention(x, T) * w).sum().backward();
  expect_finite_differences([&](const torch::Tensor& v) { return config_cross_attention(v, T); }, x,
                            w);
  auto T2 = T.clone().requires_grad_(true);
  (config_cross_attention(x.detach(), T2) * w).sum().backward();
  expect_finite_differences(
      [&](const torch::Tensor& v) { return config_cross_attention(x.detach(), v); }, T2, w);
}

TEST(Layers, CrossAttentionIsPermutationEquivariantOverConfigs) {
  torch::manual_seed(1);
  auto x = torch::randn({7, 5, 4});
  auto T = torch::tensor(0.5);
  auto y = config_cross_attention(x, T);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{7, 5, 8}));
  auto perm = torch::tensor({3, 0, 4, 1, 2});
  auto yp = config_cross_attention(x.index_select(1, perm), T);
  EXPECT_TRUE(torch::allclose(yp, y.index_select(1, perm), 1e-6, 1e-6));
  // softmax weights over configurations sum to 1 for every node and channel
  auto a = y.slice(2, 4, 8) / x;
  EXPECT_TRUE(torch::allclose(a.sum(1), torch::ones({7, 4}), 1e-5, 1e-5));
}

TEST(Layers, MeanAggregationMatchesHandComputationAndGradient) {
  // Edges (user, operand): 2 uses 0 and 1, 3 uses 1. Operand 1 averages users {2, 3}.
  std::vector<float> feat(4 * 140, 0.f);
  std::vector<uint8_t> op(4, 2);
  std::vector<int64_t> edges = {2, 0, 2, 1, 3, 1};
  GraphTensors g = make_graph_tensors(feat, op, edges, {2}, torch::kCPU);
  auto x = torch::arange(8, torch::kFloat32).view({4, 1, 2});
  auto y = aggregate(g.adj_mean, x);
  EXPECT_TRUE(torch::equal(y[0][0], x[2][0]));                     // only user 2
  EXPECT_TRUE(torch::allclose(y[1][0], (x[2][0] + x[3][0]) / 2));  // mean of 2 and 3
  EXPECT_TRUE(torch::equal(y[2][0], torch::zeros({2})));           // no users
  auto adj = g.adj_mean.to(torch::kFloat64);
  auto w = torch::randn({4, 1, 2}, torch::kFloat64);
  check_gradient([&](const torch::Tensor& v) { return (aggregate(adj, v) * w).sum(); },
                 torch::randn({4, 1, 2}));
}

// The CSR aggregation (act_kernels.cc) against LibTorch's sparse product: values, and x's
// gradient through the transpose, on a random sparse matrix with empty rows and repeated
// columns, on 1 and 2 threads; central differences of the fused op.
TEST(Layers, CsrAggregationMatchesSparseProductAndItsTranspose) {
  const int threads = torch::get_num_threads();
  std::mt19937 rng(11);
  const int64_t N = 300;
  std::vector<int64_t> rows, cols;
  std::vector<float> vals;
  for (int64_t v = 0; v < N; ++v) {
    if (v % 7 == 3) continue;  // rows without entries
    for (int k = 0; k < 1 + static_cast<int>(rng() % 5); ++k) {
      rows.push_back(v);
      cols.push_back(static_cast<int64_t>(rng() % 40));  // few columns: many rows share them
      vals.push_back(0.1f + static_cast<float>(rng() % 100) / 50.f);
    }
  }
  const auto nnz = static_cast<int64_t>(rows.size());
  auto idx = torch::stack({torch::tensor(rows), torch::tensor(cols)});
  auto adj = torch::sparse_coo_tensor(idx, torch::tensor(vals), {N, N}).coalesce();
  for (int t : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "threads " << t << ", nnz " << nnz);
    torch::set_num_threads(t);
    torch::manual_seed(t);
    auto x = torch::randn({N, 3, 5}).requires_grad_(true);
    auto w = torch::randn({N, 3, 5});
    auto y = aggregate(adj, x);
    (y * w).sum().backward();
    auto xc = x.detach().clone().requires_grad_(true);
    auto yc = aggregate_composite(adj, xc);
    (yc * w).sum().backward();
    EXPECT_TRUE(torch::allclose(y, yc, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(x.grad(), xc.grad(), 1e-5, 1e-5));
    EXPECT_TRUE(torch::equal(y[3], torch::zeros({3, 5})));  // an empty row
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(aggregate(adj, x.detach()), yc, 1e-5, 1e-5));
  }
  torch::set_num_threads(threads);
  auto small = torch::sparse_coo_tensor(torch::tensor({0, 0, 2, 3, 3, 1, 0, 1}).view({2, 4}),
                                        torch::tensor({0.5f, 2.f, -1.f, 0.25f}), {4, 4})
                   .coalesce();
  auto x = torch::randn({4, 2, 3}).requires_grad_(true);
  auto w = torch::randn({4, 2, 3});
  (aggregate(small, x) * w).sum().backward();
  expect_finite_differences([&](const torch::Tensor& v) { return aggregate(small, v); }, x, w);
}

// The encoder's forward-only path against the autograd composition it replaces at inference,
// called directly and through the models' switch, for layout TGraph with and without
// cross-attention, 1 to 3 dense and 0 to 2 graph blocks, and the tile model.
TEST(Layers, FastInferenceMatchesTheAutogradComposition) {
  Toy t = make_toy(60, 6, 4);
  auto g = toy_tensors(t);
  for (bool attn : {false, true})
    for (auto [dense, graph] : {std::pair{1, 0}, std::pair{2, 2}, std::pair{3, 1}}) {
      SCOPED_TRACE(testing::Message()
                   << "attn " << attn << ", dense " << dense << ", graph " << graph);
      torch::manual_seed(dense * 10 + graph + attn);
      ModelConfig c = ModelConfig::preset("tgraph-cpu", attn);
      c.hidden = 16;
      c.gate_bottleneck = 4;
      c.dense_layers = dense;
      c.graph_layers = graph;
      torch::nn::Module owner;
      TGraphEncoder enc;
      enc.build_embeddings(owner, c);
      const int L = attn ? 8 : 16;
      enc.build_blocks(owner, c, 16, L);
      // Non-zero biases everywhere, so leaving out the dense Linear's is tested.
      for (auto& p : owner.parameters()) p.data().normal_(0, 0.5);
      owner.eval();
      torch::NoGradGuard ng;
      auto x = torch::randn({60, 5, L}) * 2;
      auto fast = enc.blocks_inference(x, g.adj_mean);
      enc.set_fast_inference(false);
      auto ref = enc.blocks(x, g.adj_mean);
      ASSERT_EQ(fast.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(fast, ref, 1e-4, 1e-4)) << (fast - ref).abs().max().item<float>();
      enc.set_fast_inference(true);
      EXPECT_TRUE(torch::equal(enc.blocks(x, g.adj_mean), fast));  // blocks() takes it
      // Whole models: the switch changes only rounding.
      auto m = make_model(c);
      m->eval();
      auto cfg = random_configs(7, 6, 2);
      auto s_fast = m->forward(g, cfg);
      m->set_fast_inference(false);
      auto s_ref = m->forward(g, cfg);
      EXPECT_TRUE(torch::allclose(s_fast, s_ref, 1e-4, 1e-4));
    }
  torch::manual_seed(5);
  ModelConfig tc = ModelConfig::preset("tile", false);
  tc.hidden = 16;
  tc.gate_bottleneck = 4;
  auto tile = make_model(tc);
  tile->eval();
  torch::NoGradGuard ng;
  auto code = tile->encode_graph(g);
  tile->set_fast_inference(false);
  EXPECT_TRUE(torch::allclose(code, tile->encode_graph(g), 1e-4, 1e-4));
}

// A layout TGraph field that adds `width` input features through a bias-free Linear `param`:
// it is saved in the model's config, files written before it read it as off, and a model with it
// scores a toy graph (shapes in columns 21-23) and trains the projection.
void check_added_input(const std::string& key, bool ModelConfig::*field, const std::string& param,
                       int64_t width) {
  ModelConfig c = ModelConfig::preset("tgraph-cpu", false).with_overrides({key + "=true"}, "x");
  ASSERT_TRUE(c.*field);
  EXPECT_TRUE(ModelConfig::from_json(c.to_json()).*field);
  auto old = c.to_json();
  old.erase(key);
  EXPECT_FALSE(ModelConfig::from_json(old).*field);
  c.hidden = 8;
  c.gate_bottleneck = 2;
  torch::manual_seed(3);
  auto m = make_model(c);
  ModelConfig off = c;
  off.*field = false;
  EXPECT_EQ(m->num_parameters() - make_model(off)->num_parameters(), c.hidden * width);
  Toy t = make_toy(12, 3, 6);
  for (int64_t i = 0; i < 12; ++i)
    for (int d = 0; d < 3; ++d) t.feat[i * 140 + 21 + d] = static_cast<float>(7 * (i + d) + 3);
  auto sc = m->forward(toy_tensors(t), random_configs(4, 3, 1));
  ASSERT_EQ(sc.sizes(), (std::vector<int64_t>{4}));
  sc.sum().backward();
  auto w = m->named_parameters()[param];
  ASSERT_TRUE(w.defined());
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{c.hidden, width}));
  EXPECT_GT(w.grad().abs().sum().item<float>(), 0.f);
}

TEST(Layers, LayoutMatchFeaturesCountAgreementsByHand) {
  // Edges (user, operand): 1 uses 0; 2 uses 0 and 1; 3 uses 2. Nodes 1 and 2 are configurable
  // (indices 0 and 1); nodes 0 and 1 have minor_to_major [1, 0].
  std::vector<float> feat(4 * 140, 0.f);
  for (int n = 0; n < 4; ++n)
    for (int c = 134; c < 140; ++c) feat[n * 140 + c] = -1.f;
  for (int n : {0, 1}) {
    feat[n * 140 + 134] = 1.f;
    feat[n * 140 + 135] = 0.f;
  }
  std::vector<uint8_t> op(4, 2);
  std::vector<int64_t> edges = {1, 0, 2, 0, 2, 1, 3, 2};
  GraphTensors g = make_graph_tensors(feat, op, edges, {1, 2}, torch::kCPU);
  std::vector<int8_t> v(2 * 2 * 18, -1);
  auto set = [&](int s, int k, int slot, std::vector<int8_t> layout) {
    for (size_t i = 0; i < layout.size(); ++i) v[(s * 2 + k) * 18 + slot * 6 + i] = layout[i];
  };
  // Configuration 0: node 1 out [0, 1], in [1, 0]; node 2 in [0, 1], kernel [1, 0].
  set(0, 0, 0, {0, 1});
  set(0, 0, 1, {1, 0});
  set(0, 1, 1, {0, 1});
  set(0, 1, 2, {1, 0});
  // Configuration 1: prefixes and "compiler chooses": node 1 in [1] (out unset, so node 1 is
  // taken in its own [1, 0]); node 2 out [1, 0], in [1, 0, 2].
  set(1, 0, 1, {1});
  set(1, 1, 0, {1, 0});
  set(1, 1, 1, {1, 0, 2});
  auto f = layout_match_features(g, config_indices(v.data(), 2, 2, torch::kCPU));
  auto expect = torch::tensor({1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0,   // config 0, node 1
                               1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,   // config 0, node 2
                               1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,   // config 1, node 1
                               2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},  // config 1, node 2
                              torch::kFloat32)
                    .view({2, 2, kLayoutMatchFeatures});
  EXPECT_TRUE(torch::equal(f, expect)) << f;

  check_added_input("layout_match", &ModelConfig::layout_match, "in_match.weight",
                    kLayoutMatchFeatures);
}

TEST(Layers, LayoutTilingFeaturesFollowTheMinorDimensionsByHand) {
  // Node 0 [300, 20] and node 1 [20, 300], both in minor_to_major [1, 0]; node 1 (configurable)
  // reads node 0, its only operand, so its kernel slot has no tensor.
  std::vector<float> feat(2 * 140, 0.f);
  for (int n = 0; n < 2; ++n) {
    for (int c = 134; c < 140; ++c) feat[n * 140 + c] = -1.f;
    feat[n * 140 + 134] = 1.f;
    feat[n * 140 + 135] = 0.f;
  }
  feat[21] = 300.f;
  feat[22] = 20.f;
  feat[140 + 21] = 20.f;
  feat[140 + 22] = 300.f;
  feat[kElementTypeCol + 11] = 1.f;        // node 0: f32
  feat[140 + kElementTypeCol + 13] = 1.f;  // node 1: bf16, whose tiles have 16 rows
  std::vector<uint8_t> op(2, 2);
  std::vector<int64_t> edges = {1, 0};
  GraphTensors g = make_graph_tensors(feat, op, edges, {1}, torch::kCPU);
  std::vector<int8_t> v(2 * 18, -1);
  // Configuration 0: everything "compiler chooses". Configuration 1: output [0, 1], input [0].
  v[18 + 0] = 0;
  v[18 + 1] = 1;
  v[18 + 6] = 0;
  auto configs = config_indices(v.data(), 2, 1, torch::kCPU);
  auto f = layout_tiling_features(g, configs);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 1, kLayoutTilingFeatures}));
  // Most-minor m, second s: padding (ceil(m/128)*128/m) * (ceil(s/8)*8/s).
  const double pad_300_20 = std::log(384.0 / 300 * 24.0 / 20);   // m = 300, s = 20
  const double pad_20_300 = std::log(128.0 / 20 * 304.0 / 300);  // m = 20, s = 300
  const double l300 = std::log1p(300.0), l20 = std::log1p(20.0);
  const std::vector<double> expect = {
      // configuration 0: own layouts; node 1's minor dim is its dim 1 (300), node 0's is 20
      pad_300_20, l300, l20, pad_20_300, l20, l300, 0, 0, 0,
      // configuration 1: output minor dim 0 (20) then 1; input [0] then node 0's next dim (1)
      pad_20_300, l20, l300, pad_300_20, l300, l20, 0, 0, 0};
  auto got = f.to(torch::kFloat64).flatten();
  for (size_t i = 0; i < expect.size(); ++i)
    EXPECT_NEAR(got[static_cast<int64_t>(i)].item<double>(), expect[i], 1e-5) << i;

  // Packed: the same 9, then each slot's padding with its element type's tile rows. Only the
  // bf16 output with 20 rows in configuration 0 pads differently (to 32 rather than 24).
  auto packed = layout_tiling_features(g, configs, true);
  ASSERT_EQ(packed.sizes(), (std::vector<int64_t>{2, 1, kLayoutTilingPackedFeatures}));
  EXPECT_TRUE(torch::equal(packed.slice(2, 0, kLayoutTilingFeatures), f));
  const std::vector<double> expect_packed = {
      std::log(384.0 / 300 * 32.0 / 20), pad_20_300, 0, pad_20_300, pad_300_20, 0};
  auto got_packed = packed.slice(2, kLayoutTilingFeatures).to(torch::kFloat64).flatten();
  for (size_t i = 0; i < expect_packed.size(); ++i)
    EXPECT_NEAR(got_packed[static_cast<int64_t>(i)].item<double>(), expect_packed[i], 1e-5) << i;

  // Normalised features do not move the table: the shapes come from the raw ones.
  std::vector<float> normalised = feat;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 134; ++c) normalised[n * 140 + c] = 0.25f * c - 3.f;
  EXPECT_TRUE(
      torch::equal(make_graph_tensors(normalised, op, edges, {1}, torch::kCPU, &feat).tiling_table,
                   g.tiling_table));

  check_added_input("layout_tiling", &ModelConfig::layout_tiling, "in_tiling.weight",
                    kLayoutTilingFeatures);

  // The packed columns widen the same projection; they need layout_tiling, and files written
  // before them read them as off.
  ModelConfig c = ModelConfig::preset("tgraph-cpu", false);
  try {
    c.with_overrides({"layout_tiling_packed=true"}, "--arch");
    ADD_FAILURE() << "layout_tiling_packed accepted without layout_tiling";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layout_tiling=true"), std::string::npos) << e.what();
  }
  c = c.with_overrides({"layout_tiling=true", "layout_tiling_packed=true"}, "--arch");
  auto old = c.to_json();
  EXPECT_TRUE(ModelConfig::from_json(old).layout_tiling_packed);
  old.erase("layout_tiling_packed");
  EXPECT_FALSE(ModelConfig::from_json(old).layout_tiling_packed);
  EXPECT_EQ(make_model(c)->named_parameters()["in_tiling.weight"].sizes(),
            (std::vector<int64_t>{c.hidden, kLayoutTilingPackedFeatures}));
}

TEST(Losses, MatchHandValues) {
  auto s = torch::tensor({0.0, 2.0, 0.5}, torch::kFloat64);
  auto y = torch::tensor({10, 30, 20}, torch::kInt64);
  // ordered pairs with y_i > y_j: (1,0): 1-(2-0)=-1 -> 0; (1,2): 1-1.5 -> 0; (2,0): 1-0.5 = 0.5
  EXPECT_NEAR(pairwise_hinge_loss(s, y).item<double>(), 0.5 / 3, 1e-12);
  // ListMLE slowest first: order 1, 2, 0
  double l0 = std::log(std::exp(2.0) + std::exp(0.5) + 1.0) - 2.0;
  double l1 = std::log(std::exp(0.5) + 1.0) - 0.5;
  EXPECT_NEAR(listmle_loss(s, y).item<double>(), (l0 + l1 + 0.0) / 3, 1e-12);
  // Ties carry no order
  EXPECT_EQ(pairwise_hinge_loss(s, torch::tensor({5, 5, 5})).item<double>(), 0.0);
  // ListMLE fastest first, utilities -s: order 0, 2, 1
  double f0 = std::log(std::exp(-0.0) + std::exp(-0.5) + std::exp(-2.0)) + 0.0;
  double f1 = std::log(std::exp(-0.5) + std::exp(-2.0)) + 0.5;
  EXPECT_NEAR(listmle_fast_loss(s, y).item<double>(), (f0 + f1 + 0.0) / 3, 1e-12);
  // The pointwise term adds weight * mean((s - log y)^2) to any loss.
  LossOptions lo;
  lo.log_mse_weight = 0.5;
  const double mse = (std::pow(0.0 - std::log(10.0), 2) + std::pow(2.0 - std::log(30.0), 2) +
                      std::pow(0.5 - std::log(20.0), 2)) /
                     3;
  EXPECT_NEAR(ranking_loss(lo, s, y).item<double>(), 0.5 / 3 + 0.5 * mse, 1e-12);
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  auto y = torch::tensor({5, 1, 4, 4, 9, 2}, torch::kInt64);
  for (std::string name : {"hinge", "listmle", "listmle-fast", "diffmat"}) {
    SCOPED_TRACE(name);
    LossOptions o;
    o.name = name;
    o.mape_weight = name == "diffmat" ? 0.3 : 0.0;
    o.log_mse_weight = name == "hinge" ? 0.2 : 0.0;
    // Random scores away from the hinge kinks.
    check_gradient([&](const torch::Tensor& s) { return ranking_loss(o, s, y); },
                   torch::randn({6}) * 3, 1e-5);
  }
  LossOptions bad;
  bad.name = "mse";
  EXPECT_THROW(validate_loss_options(bad), Error);
  LossOptions negative;
  negative.log_mse_weight = -1;
  EXPECT_THROW(validate_loss_options(negative), Error);
}

class Models : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(Models, ShapesAndConfigurationEquivariance) {
  auto [name, attn] = GetParam();
  torch::manual_seed(3);
  ModelConfig c = ModelConfig::preset(name, attn);
  c.hidden = 16;
  c.gate_bottleneck = 4;
  auto m = make_model(c);
  m->eval();
  Toy t = make_toy(40, 4, 5);
  auto g = toy_tensors(t);
  auto cfg = random_configs(6, 4, 9);
  auto s = m->forward(g, cfg);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{6}));
  EXPECT_TRUE(torch::isfinite(s).all().item<bool>());
  // Permuting the slate permutes the scores (with or without cross-attention).
  auto perm = torch::tensor({5, 2, 0, 1, 4, 3});
  EXPECT_TRUE(torch::allclose(m->forward(g, cfg.index_select(0, perm)), s.index_select(0, perm),
                              1e-5, 1e-5));
  // Without cross-attention a configuration's score does not depend on its slate companions.
  auto single = m->forward(g, cfg.slice(0, 2, 3));
  if (!attn) {
    EXPECT_NEAR(single.item<float>(), s[2].item<float>(), 1e-5);
  }
  // Scores depend on the configuration.
  EXPECT_GT((s - s.mean()).abs().max().item<float>(), 0.f);
}

INSTANTIATE_TEST_SUITE_P(All, Models,
                         ::testing::Values(std::make_tuple("tgraph", false),
                                           std::make_tuple("tgraph", true),
                                           std::make_tuple("baseline", false)));

// --bf16: the Linear helper stays within bfloat16 rounding of fp32 (values and weight gradients),
// is exactly the fp32 layer when off, and a layout TGraph model scores a slate within bfloat16
// rounding of its fp32 scores. A CPU without AVX512-BF16, or another device, is refused by name.
TEST(Layers, Bf16LinearStaysWithinBf16RoundingOfFp32) {
  torch::manual_seed(12);
  torch::nn::Linear l(64, 32);
  auto x = torch::randn({50, 8, 64});
  auto y32 = linear_bf16_or_fp32(l, x, false);
  EXPECT_TRUE(torch::equal(y32, l->forward(x)));
  y32.square().sum().backward();
  auto g32 = l->weight.grad().clone();
  l->weight.mutable_grad().zero_();
  l->bias.mutable_grad().zero_();
  auto y16 = linear_bf16_or_fp32(l, x, true);
  EXPECT_EQ(y16.scalar_type(), torch::kFloat32);
  const double rel = ((y16 - y32).norm() / y32.norm()).item<double>();
  EXPECT_LT(rel, 1e-2);  // bfloat16 keeps 8 bits of mantissa: ~4e-3 per rounding
  EXPECT_GT(rel, 0.0);   // and it did run in bfloat16
  y16.square().sum().backward();
  EXPECT_LT(((l->weight.grad() - g32).norm() / g32.norm()).item<double>(), 2e-2);

  ModelConfig c = ModelConfig::preset("tgraph-cpu", false);
  c.dropout = 0;
  auto m = make_model(c);
  Toy t = make_toy(40, 4, 5);
  auto g = toy_tensors(t);
  auto cfg = random_configs(6, 4, 9);
  auto s32 = m->forward(g, cfg).detach();
  m->set_matmul_bf16(true);
  auto s16 = m->forward(g, cfg).detach();
  m->set_matmul_bf16(false);
  EXPECT_TRUE(torch::equal(m->forward(g, cfg).detach(), s32));
  EXPECT_LT((s16 - s32).abs().max().item<double>(), 2e-2 * (1 + s32.abs().max().item<double>()));
  EXPECT_GT((s16 - s32).abs().max().item<double>(), 0.0);

  RunContext gpu;
  gpu.device = torch::Device(torch::kCUDA, 0);
  gpu.bf16_matmul = true;
  EXPECT_THROW(check_bf16_support(gpu), Error);
  RunContext cpu;
  cpu.bf16_matmul = true;
  if (__builtin_cpu_supports("avx512bf16")) {
    EXPECT_NO_THROW(check_bf16_support(cpu));
  } else {
    EXPECT_THROW(check_bf16_support(cpu), Error);
  }
  cpu.bf16_matmul = false;
  EXPECT_NO_THROW(check_bf16_support(cpu));
}

// Gradients of all parameters after one slate_backward call, concatenated.
torch::Tensor slate_gradient(ModelImpl& m, const GraphTensors& g, const torch::Tensor& cfg,
                             const torch::Tensor& y, const LossOptions& lo, SlatePlan plan,
                             double* loss) {
  for (auto& p : m.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  *loss = slate_backward(m, g, cfg, y, lo, 0.5, plan);
  std::vector<torch::Tensor> parts;
  for (auto& p : m.parameters())
    parts.push_back(p.grad().defined() ? p.grad().flatten().clone() : torch::zeros({p.numel()}));
  return torch::cat(parts);
}

TEST(Training, SplitSlateGivesTheOnePassGradient) {
  Toy t = make_toy(40, 4, 5);
  auto g = toy_tensors(t);
  auto cfg = random_configs(10, 4, 9);
  auto y = torch::tensor(std::vector<double>{5, 3, 9, 1, 7, 2, 8, 6, 4, 10}, torch::kFloat64);
  for (const std::string name : {"tgraph", "baseline"})
    for (const std::string loss : {"hinge", "listmle"}) {
      SCOPED_TRACE(name + " " + loss);
      torch::manual_seed(3);
      ModelConfig c = ModelConfig::preset(name, false);
      c.hidden = 16;
      c.gate_bottleneck = 4;
      c.dropout = 0;  // the split draws other dropout masks; without dropout both are exact
      auto m = make_model(c);
      m->train();
      LossOptions lo;
      lo.name = loss;
      double l1 = 0, l3 = 0, l4 = 0, lp = 0;
      const torch::Tensor one = slate_gradient(*m, g, cfg, y, lo, {0, 1}, &l1);
      const torch::Tensor three = slate_gradient(*m, g, cfg, y, lo, {3, 1}, &l3);  // 3+3+3+1
      const torch::Tensor four = slate_gradient(*m, g, cfg, y, lo, {4, 1}, &l4);
      // Parts on two threads (each with one intra-op thread), and three parts on two threads.
      const torch::Tensor two_parts = slate_gradient(*m, g, cfg, y, lo, {0, 2}, &lp);
      const torch::Tensor three_parts = slate_gradient(*m, g, cfg, y, lo, {0, 3}, &lp);
      EXPECT_GT(one.abs().max().item<float>(), 0.f);
      EXPECT_NEAR(l3, l1, 1e-5 * (1 + std::abs(l1)));
      EXPECT_NEAR(l4, l1, 1e-5 * (1 + std::abs(l1)));
      EXPECT_NEAR(lp, l1, 1e-5 * (1 + std::abs(l1)));
      // The weight (0.5) scales the gradient; the graph part's parameters get theirs too.
      const double scale = one.abs().max().item<double>();
      EXPECT_LT((three - one).abs().max().item<double>(), 1e-5 * scale);
      EXPECT_LT((four - one).abs().max().item<double>(), 1e-5 * scale);
      EXPECT_LT((two_parts - one).abs().max().item<double>(), 1e-5 * scale);
      EXPECT_LT((three_parts - one).abs().max().item<double>(), 1e-5 * scale);
    }
}

TEST(Training, SplitSlateWithDropoutIsReproducibleAndRefusesCrossAttention) {
  Toy t = make_toy(40, 4, 5);
  auto g = toy_tensors(t);
  auto cfg = random_configs(9, 4, 9);
  auto y = torch::arange(9, torch::kFloat64);
  ModelConfig c = ModelConfig::preset("tgraph", false);
  c.hidden = 16;
  c.gate_bottleneck = 4;
  torch::manual_seed(3);
  auto m = make_model(c);
  m->train();
  LossOptions lo;
  double l = 0;
  // With dropout, the second pass of each split must redraw the first pass's masks (slate_backward
  // checks the scores agree); the same generator state gives the same gradient.
  torch::manual_seed(11);
  const torch::Tensor a = slate_gradient(*m, g, cfg, y, lo, {2, 1}, &l);
  torch::manual_seed(11);
  const torch::Tensor b = slate_gradient(*m, g, cfg, y, lo, {2, 1}, &l);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_GT(a.abs().max().item<float>(), 0.f);
  // Parts on threads: each part's masks come from its own generator, so the gradient does not
  // depend on which thread ran first (bit for bit, several times), and differs from other seeds.
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  torch::manual_seed(11);
  const torch::Tensor p0 = slate_gradient(*m, g, cfg, y, lo, {0, 2}, &l);
  for (int rep = 0; rep < 3; ++rep) {
    torch::manual_seed(11);
    EXPECT_TRUE(torch::equal(slate_gradient(*m, g, cfg, y, lo, {0, 2}, &l), p0));
  }
  torch::manual_seed(12);
  EXPECT_FALSE(torch::equal(slate_gradient(*m, g, cfg, y, lo, {0, 2}, &l), p0));
  EXPECT_EQ(torch::get_num_threads(), 2);  // restored after the parts
  torch::set_num_threads(threads);

  ModelConfig ca = ModelConfig::preset("tgraph", true);
  ca.hidden = 16;
  ca.gate_bottleneck = 4;
  auto mx = make_model(ca);
  EXPECT_THROW(slate_backward(*mx, g, cfg, y, lo, 1.0, {3, 1}), std::exception);
  EXPECT_THROW(slate_backward(*mx, g, cfg, y, lo, 1.0, {0, 2}), std::exception);
  EXPECT_NO_THROW(slate_backward(*mx, g, cfg, y, lo, 1.0, {0, 1}));
}

TEST(Training, RowsPerPassFollowTheActivationBudget) {
  ModelConfig c = ModelConfig::preset("tgraph", false);  // hidden 256
  auto m = make_model(c);
  const double per = m->activation_bytes_per_config(4254);
  EXPECT_GT(per, 4.0 * 4254 * 256);  // at least one [N, hidden] float tensor per configuration
  EXPECT_EQ(train_rows_per_pass(*m, 4254, 64, 0), 64);  // 0: never split
  const int64_t r = train_rows_per_pass(*m, 4254, 64, kDefaultActivationBudgetMb);
  EXPECT_GE(r, 1);
  EXPECT_LT(r, 64);
  EXPECT_LE(r * per, kDefaultActivationBudgetMb * 1024 * 1024);
  EXPECT_GT((r + 1) * per, kDefaultActivationBudgetMb * 1024 * 1024);
  EXPECT_EQ(train_rows_per_pass(*m, 529, 128, kDefaultActivationBudgetMb), 128);
  EXPECT_EQ(train_rows_per_pass(*m, 1000000, 64, 1), 1);  // at least one configuration
  auto mx = make_model(ModelConfig::preset("tgraph", true));
  EXPECT_EQ(train_rows_per_pass(*mx, 4254, 64, 1), 64);  // cross-attention: never split

  // Parts on threads only where a slate fits, on a CPU, without cross-attention, and for models
  // whose per-configuration pass is worth a thread (not the tile late-fusion MLP).
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  const SlatePlan fits = plan_slate(*m, 529, 128, kDefaultActivationBudgetMb, torch::kCPU);
  EXPECT_EQ(fits.rows_per_pass, 128);
  EXPECT_EQ(fits.workers, 2);
  const SlatePlan big = plan_slate(*m, 4254, 64, kDefaultActivationBudgetMb, torch::kCPU);
  EXPECT_EQ(big.rows_per_pass, r);
  EXPECT_EQ(big.workers, 1);
  EXPECT_EQ(plan_slate(*mx, 529, 64, kDefaultActivationBudgetMb, torch::kCPU).workers, 1);
  auto tile = make_model(ModelConfig::preset("tile", false));
  EXPECT_EQ(plan_slate(*tile, 45, 256, kDefaultActivationBudgetMb, torch::kCPU).workers, 1);
  torch::set_num_threads(1);
  EXPECT_EQ(plan_slate(*m, 529, 128, kDefaultActivationBudgetMb, torch::kCPU).workers, 1);
  torch::set_num_threads(threads);
}

TEST(Models, ArchOverridesChangeNamedFieldsWithinBounds) {
  const ModelConfig base = ModelConfig::preset("tile", false);
  ModelConfig c = base.with_overrides({"dropout=0.1", "graph_layers=3", "config_relu=false"}, "x");
  EXPECT_DOUBLE_EQ(c.dropout, 0.1);
  EXPECT_EQ(c.graph_layers, 3);
  EXPECT_FALSE(c.config_relu);
  EXPECT_EQ(c.hidden, base.hidden);
  // Round trip through the model file's JSON; files written before config_relu read as true.
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).to_json(), c.to_json());
  auto old = base.to_json();
  old.erase("config_relu");
  EXPECT_TRUE(ModelConfig::from_json(old).config_relu);
  auto fails = [&](const std::string& kv, const std::string& part) {
    try {
      base.with_overrides({kv}, "--arch");
      ADD_FAILURE() << kv << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  fails("widht=3", "a key among");      // unknown key, the fields are listed
  fails("name=tgraph", "a key among");  // the task's model is not an architecture knob
  fails("dropout", "key=value");
  fails("graph_layers=deep", "of type number");
  fails("config_relu=1", "of type boolean");
  fails("graph_layers=99", "within bounds");

  // Without the final ReLU the late-fusion tile model still scores every configuration.
  torch::manual_seed(4);
  ModelConfig t = c;
  t.hidden = 16;
  auto m = make_model(t);
  m->eval();
  Toy toy = make_toy(12, 2, 3);
  auto g = toy_tensors(toy);
  // The preset's tile fit input reads raw output bounds after the 24 normalised columns.
  auto cfg = torch::cat({torch::randn({5, kTileConfigDim}), torch::randint(1, 64, {5, 6})}, 1);
  auto sc = m->forward(g, cfg);
  ASSERT_EQ(sc.sizes(), (std::vector<int64_t>{5}));
  EXPECT_GT((sc - sc.mean()).abs().max().item<float>(), 0.f);
}

namespace {

// A hidden-16 tile model and the same model with one opt-in boolean field on, sharing every
// weight whose name and shape match, both in eval mode. Files written before the field read it as
// off.
std::pair<Model, Model> tile_pair(const std::string& field, uint64_t seed) {
  // Without the preset's tile fit input, so that [S, 24] configurations score.
  ModelConfig plain = ModelConfig::preset("tile", false).with_overrides({"tile_fit=false"}, "x");
  plain.hidden = 16;
  plain.gate_bottleneck = 4;
  ModelConfig on = plain.with_overrides({field + "=true"}, "--arch");
  EXPECT_TRUE(on.to_json()[field].get<bool>());
  auto old = plain.to_json();
  old.erase(field);
  EXPECT_FALSE(ModelConfig::from_json(old).to_json()[field].get<bool>());
  torch::manual_seed(seed);
  Model a = make_model(plain), b = make_model(on);
  load_matching_tensors(*b, module_tensors(*a));  // what train --init does
  a->eval();
  b->eval();
  return {a, b};
}

}  // namespace

TEST(Models, TileRootReadoutTakesTheLastNodesOwnActivations) {
  // With root_readout the kernel vector is [mean x, max x, mean h0, x[root], h0[root]]. Moving
  // each node k to the end in turn (the encoder is node-permutation equivariant) must reproduce
  // the pooled parts from the root parts: mean and max over k of x[k], mean of h0[k]; and the
  // pooled parts must equal the model without the readout, given the same weights.
  auto [plain, root] = tile_pair("root_readout", 5);
  torch::NoGradGuard ng;
  const int64_t N = 10, H = 16;
  Toy t = make_toy(N, 2, 7);
  auto code = root->encode_graph(toy_tensors(t));  // [1, 5H]
  ASSERT_EQ(code.sizes(), (std::vector<int64_t>{1, 5 * H}));
  EXPECT_TRUE(
      torch::allclose(code.slice(1, 0, 3 * H), plain->encode_graph(toy_tensors(t)), 1e-5, 1e-5));
  std::vector<torch::Tensor> xs, hs;
  for (int64_t k = 0; k < N; ++k) {
    auto swap = [&](int64_t i) { return i == k ? N - 1 : (i == N - 1 ? k : i); };
    Toy p = t;
    for (int64_t i = 0; i < N; ++i) {
      std::copy_n(&t.feat[i * 140], 140, &p.feat[swap(i) * 140]);
      p.op[swap(i)] = t.op[i];
    }
    for (auto& e : p.edges) e = swap(e);
    for (auto& c : p.config_pos) c = swap(c);
    auto ck = root->encode_graph(toy_tensors(p));
    EXPECT_TRUE(torch::allclose(ck.slice(1, 0, 3 * H), code.slice(1, 0, 3 * H), 1e-4, 1e-5));
    xs.push_back(ck.slice(1, 3 * H, 4 * H));
    hs.push_back(ck.slice(1, 4 * H, 5 * H));
  }
  auto x = torch::cat(xs), h = torch::cat(hs);  // [N, H]: every node's own activations
  EXPECT_TRUE(torch::allclose(x.mean(0, true), code.slice(1, 0, H), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(std::get<0>(x.max(0, true)), code.slice(1, H, 2 * H)));
  EXPECT_TRUE(torch::allclose(h.mean(0, true), code.slice(1, 2 * H, 3 * H), 1e-4, 1e-5));
  EXPECT_EQ(root->forward(toy_tensors(t), torch::randn({5, kTileConfigDim})).sizes(),
            (std::vector<int64_t>{5}));
}

TEST(Models, TileConfigProductOnlyAddsHeadInputs) {
  // config_product appends c * code_proj(code) to the head's input. With the head's weights on
  // that block zeroed and every other weight shared, the scores equal the plain model's; with
  // them non-zero they differ, so the block reaches the scores.
  auto [plain, prod] = tile_pair("config_product", 6);
  torch::NoGradGuard ng;
  const int64_t H = 16;
  auto w = prod->named_parameters()["head1.weight"];  // [H, 5H]: kernel 3H, c, product
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{H, 5 * H}));
  w.slice(1, 0, 4 * H).copy_(plain->named_parameters()["head1.weight"]);
  w.slice(1, 4 * H, 5 * H).zero_();
  Toy t = make_toy(10, 2, 8);
  auto g = toy_tensors(t);
  auto cfg = torch::randn({7, kTileConfigDim});
  EXPECT_TRUE(torch::allclose(prod->forward(g, cfg), plain->forward(g, cfg), 1e-5, 1e-6));
  w.slice(1, 4 * H, 5 * H).normal_(0, 0.5);
  EXPECT_FALSE(torch::allclose(prod->forward(g, cfg), plain->forward(g, cfg), 1e-3, 1e-3));
}

TEST(Models, TileFitFeaturesByHandAndOnlyAddToTheConfigurationBranch) {
  // A two-node kernel whose root (the last node) is [4, 300, 20] in minor_to_major [1, 2, 0]:
  // dim 1 (300) is most-minor, dim 2 (20) second. Normalised features leave the root alone.
  std::vector<float> feat(2 * 140, 0.f), normalised(2 * 140, 0.f);
  for (int c = 134; c < 140; ++c) feat[140 + c] = -1.f;
  const float dims[3] = {4, 300, 20}, own[3] = {1, 2, 0};
  for (int d = 0; d < 3; ++d) {
    feat[140 + 21 + d] = dims[d];
    feat[140 + 134 + d] = own[d];
  }
  for (int i = 0; i < 2 * 140; ++i) normalised[i] = i >= 134 && i < 140 ? feat[i] : 0.1f * (i % 37);
  std::vector<uint8_t> op(2, 41);
  std::vector<int64_t> edges = {1, 0};
  GraphTensors g = make_graph_tensors(normalised, op, edges, {}, torch::kCPU, &feat);
  EXPECT_EQ(g.fit_rank[3].item<int64_t>(), 3);  // three bounds: the root
  EXPECT_EQ(g.fit_minor[3].item<int64_t>(), 1);
  EXPECT_EQ(g.fit_second[3].item<int64_t>(), 2);
  EXPECT_EQ(g.fit_rank[2].item<int64_t>(), 3);  // no node of rank 2: the last node

  // Row 0: output tiles [2, 128, 8]; row 1: [absent, 100, 3], so dim 0 is one whole tile.
  std::vector<float> raw(2 * kTileConfigDim, 0.f);
  const float tiles[2][3] = {{2, 128, 8}, {0, 100, 3}};
  for (int r = 0; r < 2; ++r)
    for (int d = 0; d < 3; ++d) raw[r * kTileConfigDim + 8 + d] = tiles[r][d];
  TileConfigNormalizer norm;
  norm.mean.assign(kTileConfigDim, 0.f);
  norm.std.assign(kTileConfigDim, 2.f);
  auto cfg = config_tensor(Kind::kTile, raw.data(), 2, kTileConfigDim, &norm, torch::kCPU);
  ASSERT_EQ(cfg.sizes(), (std::vector<int64_t>{2, kTileConfigDim + 6}));
  EXPECT_NEAR(cfg[0][9].item<float>(), std::log1p(128.0) / 2, 1e-6);  // normalised
  EXPECT_EQ(cfg[1][kTileConfigDim + 1].item<float>(), 100.f);         // raw bound after the 24
  auto f = tile_fit_features(g, cfg.slice(1, kTileConfigDim)).to(torch::kFloat64);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, kTileFitFeatures}));
  // Row 0: tiles per dim 2, 3, 3; padded extents 4, 384, 24; one tile is 2 * 128 * 8.
  // Row 1: tiles 1, 3, 7; padded 4, 300, 21; hardware padding 128 / 100 and 8 / 3.
  const std::vector<std::vector<double>> expect = {
      {std::log(18.0), std::log(384.0 / 300 * 24.0 / 20), 0.0, std::log1p(128.0), std::log1p(8.0),
       std::log(2048.0)},
      {std::log(21.0), std::log(21.0 / 20), std::log(128.0 / 100 * 8.0 / 3), std::log1p(100.0),
       std::log1p(3.0), std::log(1200.0)}};
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < kTileFitFeatures; ++j)
      EXPECT_NEAR(f[r][j].item<double>(), expect[r][j], 1e-5) << r << "," << j;

  // A kernel whose root is a tuple (rank 0, as in multi-output fusions of real records) after
  // that tensor: three bounds still tile the last node of rank 3.
  std::vector<float> with_tuple = feat;
  with_tuple.resize(3 * 140, 0.f);
  with_tuple[2 * 140 + kElementTypeCol + kTupleType] = 1.f;
  for (int c = 134; c < 140; ++c) with_tuple[2 * 140 + c] = -1.f;
  std::vector<int64_t> tuple_edges = {1, 0, 2, 1};
  GraphTensors gt3 =
      make_graph_tensors(with_tuple, std::vector<uint8_t>(3, 41), tuple_edges, {}, torch::kCPU);
  EXPECT_TRUE(
      torch::allclose(tile_fit_features(gt3, cfg.slice(1, kTileConfigDim)).to(torch::kFloat64), f));

  // In the model the features only add to the configuration branch: with in_fit zeroed the
  // scores equal the plain model's (which reads the first 24 columns of either width); non-zero,
  // they differ, and the projection gets a gradient.
  auto [plain, fit] = tile_pair("tile_fit", 9);
  const int64_t H = 16;
  EXPECT_EQ(fit->num_parameters() - plain->num_parameters(), H * kTileFitFeatures);
  auto w = fit->named_parameters()["in_fit.weight"];
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{H, kTileFitFeatures}));
  Toy t = make_toy(10, 2, 8);
  for (int d = 0; d < 3; ++d) t.feat[9 * 140 + 21 + d] = dims[d];  // the root's raw shape
  auto gt = toy_tensors(t);
  std::vector<float> rows(7 * kTileConfigDim);
  std::mt19937 rng(3);
  for (auto& v : rows) v = static_cast<float>(rng() % 300);
  auto c7 = config_tensor(Kind::kTile, rows.data(), 7, kTileConfigDim, &norm, torch::kCPU);
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(plain->forward(gt, c7), plain->forward(gt, c7.slice(1, 0, 24))));
    w.zero_();
    EXPECT_TRUE(torch::allclose(fit->forward(gt, c7), plain->forward(gt, c7), 1e-5, 1e-6));
    w.normal_(0, 0.5);
    EXPECT_FALSE(torch::allclose(fit->forward(gt, c7), plain->forward(gt, c7), 1e-3, 1e-3));
  }
  fit->train();
  fit->forward(gt, c7).sum().backward();
  EXPECT_GT(w.grad().abs().sum().item<float>(), 0.f);
  EXPECT_ANY_THROW(fit->forward(gt, c7.slice(1, 0, 24)));  // no raw bounds to fit
}

TEST(Models, ReferenceParameterCounts) {
  // tgraph-model.md: about 0.46 M parameters without cross-attention, about 0.2 M with it.
  int64_t without = make_model(ModelConfig::preset("tgraph", false))->num_parameters();
  int64_t with = make_model(ModelConfig::preset("tgraph", true))->num_parameters();
  EXPECT_GT(without, 400000);
  EXPECT_LT(without, 520000);
  EXPECT_GT(with, 150000);
  EXPECT_LT(with, 250000);
}

TEST(Models, SplitFirstLinearEqualsLinearOverConcatenation) {
  // The model computes Linear(concat(static, config)) as two Linears; check against explicit
  // per-node, per-configuration concatenation through one Linear with the same weights.
  torch::manual_seed(4);
  ModelConfig c = ModelConfig::preset("tgraph", false);
  c.hidden = 8;
  c.gate_bottleneck = 2;
  c.dense_layers = 1;
  c.graph_layers = 0;
  auto m = make_model(c);
  m->eval();
  Toy t = make_toy(12, 3, 6);
  auto g = toy_tensors(t);
  auto cfg = random_configs(4, 3, 1);
  auto params = m->named_parameters();
  auto emb = params["layout_emb.weight"], op = params["opcode_emb.weight"];
  auto W = torch::cat({params["in_static.weight"], params["in_config.weight"]}, 1);
  auto b = params["in_static.bias"];
  // Explicit input [S, N, 246]: non-configurable nodes carry index 0 (value -2) in all 18 slots.
  auto full_cfg = torch::zeros({4, 12, 18}, torch::kLong);
  full_cfg.index_copy_(1, g.config_pos, cfg);
  auto stat = torch::cat({g.node_num, emb.index_select(0, g.m2m.view(-1)).view({12, -1}),
                          op.index_select(0, g.opcode)},
                         1);
  auto inp = torch::cat({stat.unsqueeze(0).expand({4, 12, stat.size(1)}),
                         emb.index_select(0, full_cfg.view(-1)).view({4, 12, -1})},
                        2);
  auto h = torch::matmul(inp, W.t()) + b;  // [S, N, 8]
  h = h.transpose(0, 1);                   // [N, S, 8]
  auto gate = params["dense_gate0.fc2.weight"];
  (void)gate;
  // Compare after the first normalisation (the model's next op) via the full model path:
  auto expect_first = instance_norm_nodes(h);
  // Re-run the model's first stage by hand through the public blocks.
  torch::NoGradGuard ng;
  auto h_node = torch::matmul(stat, params["in_static.weight"].t()) + b;
  auto c0 = torch::matmul(emb[0].repeat({18}), params["in_config.weight"].t());
  auto delta = torch::matmul(emb.index_select(0, cfg.view(-1)).view({4, 3, -1}),
                             params["in_config.weight"].t()) -
               c0;
  auto x = (h_node + c0)
               .unsqueeze(1)
               .repeat({1, 4, 1})
               .index_add(0, g.config_pos, delta.transpose(0, 1));
  EXPECT_TRUE(torch::allclose(instance_norm_nodes(x), expect_first, 1e-4, 1e-4));
}

TEST(ModelFile, SaveLoadGivesIdenticalScoresAndRejectsMismatches) {
  test::TempDir d;
  torch::manual_seed(5);
  ModelConfig c = ModelConfig::preset("tgraph", true);
  c.hidden = 16;
  auto m = make_model(c);
  m->eval();
  ModelFile f;
  f.config = c;
  f.normalizer = FeatureNormalizer::identity().to_json();
  f.preprocessing = {{"prune", true}};
  f.training = {{"collection", "layout:xla:default"}};
  f.tensors = module_tensors(*m);
  save_model_file(d.file("m.tgm"), f);
  LoadedModel lm = load_model(d.file("m.tgm"), torch::kCPU);
  Toy t = make_toy(30, 3, 7);
  auto g = toy_tensors(t);
  auto cfg = random_configs(5, 3, 2);
  EXPECT_TRUE(torch::equal(m->forward(g, cfg), lm.net().forward(g, cfg)));
  EXPECT_EQ(lm.file().training["collection"], "layout:xla:default");
  EXPECT_EQ(read_model_header(d.file("m.tgm"))["model"]["hidden"], 16);

  auto expect_error = [&](const std::string& bytes, const std::string& what) {
    test::write_bytes(d.file("bad.tgm"), bytes);
    try {
      load_model_file(d.file("bad.tgm"));
      ADD_FAILURE() << "no error: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  std::string good = test::read_bytes(d.file("m.tgm"));
  expect_error("not a model", "magic");
  std::string v = good;
  v[8] = 9;  // format version 9
  expect_error(v, "format_version");
  expect_error(good.substr(0, good.size() - 100), "tensors.");
  std::string schema = good;
  auto p = schema.find("\"feature_schema_version\":1");
  ASSERT_NE(p, std::string::npos);
  schema[p + 25] = '7';
  expect_error(schema, "feature_schema_version");
  // A model file of another architecture: same name, different width.
  ModelConfig c2 = c;
  c2.hidden = 32;
  auto other = make_model(c2);
  EXPECT_THROW(load_module_tensors(*other, f.tensors, "m.tgm"), Error);
}

}  // namespace tgraph
