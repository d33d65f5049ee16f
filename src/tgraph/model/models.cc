#include "tgraph/model/models.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <ATen/record_function.h>
#include <torch/torch.h>

#include "tgraph/model/act_kernels.h"
#include "tgraph/model/norm_kernels.h"
#include "tgraph/util/error.h"

namespace tgraph {

// A range named `name` in LibTorch's profiler (`tgraph bench --profile`) around one of tgraph's own
// kernels, so their time shows under their name instead of between ATen ops. With no profiler on
// it costs a check of a flag per call (calls are per pass, not per element).
#define TG_RECORD(name) RECORD_FUNCTION(name, std::vector<c10::IValue>())

// ---------------------------------------------------------------------------------------------
// Config

nlohmann::json ModelConfig::to_json() const {
  return {{"name", name},
          {"hidden", hidden},
          {"gate_bottleneck", gate_bottleneck},
          {"dense_layers", dense_layers},
          {"graph_layers", graph_layers},
          {"cross_attention", cross_attention},
          {"dropout", dropout},
          {"opcode_dim", opcode_dim},
          {"layout_emb_dim", layout_emb_dim},
          {"attn_temperature", attn_temperature},
          {"config_relu", config_relu},
          {"layout_match", layout_match},
          {"layout_tiling", layout_tiling},
          {"layout_tiling_packed", layout_tiling_packed},
          {"root_readout", root_readout},
          {"config_product", config_product},
          {"tile_fit", tile_fit}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c.name = j.at("name").get<std::string>();
    c.hidden = j.at("hidden").get<int>();
    c.gate_bottleneck = j.at("gate_bottleneck").get<int>();
    c.dense_layers = j.at("dense_layers").get<int>();
    c.graph_layers = j.at("graph_layers").get<int>();
    c.cross_attention = j.at("cross_attention").get<bool>();
    c.dropout = j.at("dropout").get<double>();
    c.opcode_dim = j.at("opcode_dim").get<int>();
    c.layout_emb_dim = j.at("layout_emb_dim").get<int>();
    c.attn_temperature = j.at("attn_temperature").get<double>();
    c.config_relu = j.value("config_relu", true);  // absent in files before it existed
    c.layout_match = j.value("layout_match", false);
    c.layout_tiling = j.value("layout_tiling", false);
    c.layout_tiling_packed = j.value("layout_tiling_packed", false);
    c.root_readout = j.value("root_readout", false);
    c.config_product = j.value("config_product", false);
    c.tile_fit = j.value("tile_fit", false);
  } catch (const nlohmann::json::exception& e) {
    throw_error("model config", "", "all hyper-parameters of a tgraph model", e.what());
  }
  if (c.name != "tgraph" && c.name != "baseline" && c.name != "tile" && c.name != "tile-baseline")
    throw_error("model config", "name", "tgraph | baseline | tile | tile-baseline",
                "'" + c.name + "'");
  // Bounded before anything is built: a model file asking for hidden 2^30 must not allocate.
  if (c.hidden < 2 || c.hidden > 8192 || c.hidden % 2 || c.dense_layers < 1 ||
      c.dense_layers > 32 || c.graph_layers < 0 || c.graph_layers > 32 || c.gate_bottleneck < 1 ||
      c.gate_bottleneck > 8192 || c.opcode_dim < 1 || c.opcode_dim > 4096 || c.layout_emb_dim < 1 ||
      c.layout_emb_dim > 256 || !(c.dropout >= 0 && c.dropout < 1) ||
      !(c.attn_temperature > 0 && c.attn_temperature < 1e6))
    throw_error("model config", "",
                "even hidden in [2, 8192], 1..32 dense and 0..32 graph layers, gate and "
                "embedding sizes in range, dropout in [0, 1), temperature > 0",
                c.to_json().dump());
  if (c.layout_tiling_packed && !c.layout_tiling)
    throw_error("model config", "layout_tiling_packed", "layout_tiling=true with it",
                "layout_tiling=false");
  return c;
}

ModelConfig ModelConfig::with_overrides(const std::vector<std::string>& overrides,
                                        const std::string& what) const {
  nlohmann::json j = to_json();
  for (const std::string& kv : overrides) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key == "name" || !j.contains(key)) {
      std::string fields;
      for (const auto& item : j.items())
        if (item.key() != "name") fields += (fields.empty() ? "" : " | ") + item.key();
      throw_error(what, key, "key=value with a key among " + fields, "'" + kv + "'");
    }
    const nlohmann::json v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
    const bool same_type = v.type() == j[key].type() || (j[key].is_number() && v.is_number());
    if (v.is_discarded() || !same_type)
      throw_error(what, key, "a value of type " + std::string(j[key].type_name()),
                  "'" + kv.substr(eq + 1) + "'");
    j[key] = v;
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw_error(what, "", "hyper-parameters within bounds", e.what());
  }
}

Kind ModelConfig::task() const {
  return (name == "tile" || name == "tile-baseline") ? Kind::kTile : Kind::kLayout;
}

ModelConfig ModelConfig::preset(const std::string& name, bool cross_attention) {
  ModelConfig c;
  c.cross_attention = cross_attention;
  if (name == "tgraph") return c;
  if (name == "tgraph-cpu") {
    // CPU-friendly: a quarter of the width (~16x fewer multiply-adds per node and config).
    c.hidden = 64;
    c.gate_bottleneck = 16;
    c.dropout = 0.1;
    return c;
  }
  if (name == "baseline") {
    c.name = "baseline";
    c.hidden = 32;
    c.opcode_dim = 32;
    c.graph_layers = 2;
    c.dense_layers = 1;
    c.dropout = 0.0;
    c.cross_attention = false;
    return c;
  }
  if (name == "tile") {
    // Section 4: the TGraph node encoder at the reference width (kernels are small: ~45 nodes).
    c.name = "tile";
    c.cross_attention = false;
    // Not in the reference: +0.02 tile score and a quarter of the top-1 error on the benchmark
    // (docs/results.md, "The tile fit input"); --arch tile_fit=false gives the reference.
    c.tile_fit = true;
    return c;
  }
  if (name == "tile-baseline") {
    c.name = "tile-baseline";
    c.hidden = 64;
    c.opcode_dim = 32;
    c.dropout = 0.0;
    c.cross_attention = false;
    return c;
  }
  throw_error("--model", "", "tgraph | tgraph-cpu | baseline | tile | tile-baseline",
              "'" + name + "'");
}

int64_t ModelImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

// ---------------------------------------------------------------------------------------------
// Blocks

namespace {

// The fused InstanceNorm of float CPU tensors: one autograd node whose forward and backward are
// the loops of norm_kernels.cc (3 passes forward, 2 backward, only the output and rstd saved),
// instead of the composite's ~8 element-wise ops and their saved intermediates each way.
struct InstanceNormFn : torch::autograd::Function<InstanceNormFn> {
  // Splits the columns of [N, M] between the intra-op threads.
  template <typename F>
  static void over_columns(int64_t N, int64_t M, const F& f) {
    const int64_t grain = std::max<int64_t>(16, (int64_t(1) << 16) / std::max<int64_t>(N, 1));
    at::parallel_for(0, M, grain, f);
  }
  // y [N, S, F] and rstd [S * F] of contiguous x, without autograd.
  static std::pair<torch::Tensor, torch::Tensor> run(const torch::Tensor& x, double eps) {
    const int64_t N = x.size(0), M = N ? x.numel() / N : 0;
    auto y = torch::empty_like(x);
    auto rstd = torch::empty({M}, x.options());
    const float* xp = x.data_ptr<float>();
    float *yp = y.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    TG_RECORD("tgraph::instance_norm");
    over_columns(N, M, [&](int64_t b, int64_t e) {
      instance_norm_forward_cols(xp, N, M, eps, yp, rp, b, e);
    });
    return {y, rstd};
  }
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               double eps) {
    auto [y, rstd] = run(x_in.contiguous(), eps);
    ctx->save_for_backward({y, rstd});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& y = saved[0];
    const auto& rstd = saved[1];
    auto gy = grads[0].contiguous();
    const int64_t N = y.size(0), M = N ? y.numel() / N : 0;
    auto gx = torch::empty_like(y);
    const float *gp = gy.data_ptr<float>(), *yp = y.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    float* op = gx.data_ptr<float>();
    TG_RECORD("tgraph::instance_norm_backward");
    over_columns(N, M, [&](int64_t b, int64_t e) {
      instance_norm_backward_cols(gp, yp, rp, N, M, op, b, e);
    });
    return {gx, torch::Tensor()};
  }
};

}  // namespace

namespace {

bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32;
}

// Splits a flat element range between the intra-op threads.
template <typename F>
void over_elements(int64_t n, const F& f) {
  at::parallel_for(0, n, int64_t(1) << 15, f);
}

thread_local at::Generator* dropout_generator = nullptr;  // DropoutGeneratorScope's

// The generator dropout draws from on this thread: the scope's, else the default CPU one.
uint64_t draw_dropout_seed() {
  at::Generator gen = dropout_generator ? *dropout_generator : at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// x * sigmoid(z) as one autograd node: one loop forward (writing the output and sigmoid(z)),
// one backward (both gradients), where the composite runs sigmoid, mul, and three ops back.
// Saves x and sigmoid(z), as the composite does.
struct GateFn : torch::autograd::Function<GateFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& z_in) {
    auto x = x_in.contiguous(), z = z_in.contiguous();
    auto out = torch::empty_like(x), s = torch::empty_like(x);
    const float *xp = x.data_ptr<float>(), *zp = z.data_ptr<float>();
    float *op = out.data_ptr<float>(), *sp = s.data_ptr<float>();
    TG_RECORD("tgraph::gate");
    over_elements(x.numel(), [&](int64_t b, int64_t e) { gate_forward(xp, zp, op, sp, b, e); });
    ctx->save_for_backward({x, s});
    return out;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    auto g = grads[0].contiguous();
    auto gx = torch::empty_like(g), gz = torch::empty_like(g);
    const float *gp = g.data_ptr<float>(), *xp = saved[0].data_ptr<float>(),
                *sp = saved[1].data_ptr<float>();
    float *gxp = gx.data_ptr<float>(), *gzp = gz.data_ptr<float>();
    TG_RECORD("tgraph::gate_backward");
    over_elements(g.numel(),
                  [&](int64_t b, int64_t e) { gate_backward(gp, xp, sp, gxp, gzp, b, e); });
    return {gx, gz};
  }
};

// dropout(gelu(y + r)) as one autograd node (kResidual false: dropout(gelu(y)), one input). The
// dropout mask is a hash of (seed, element), so nothing but the pre-activation is saved (y itself
// without a residual) and the backward recomputes the mask; the composite saves the
// pre-activation and a float noise tensor, and draws that noise element by element from the
// generator (14 % of a training step, measured).
template <bool kResidual>
struct GeluFn : torch::autograd::Function<GeluFn<kResidual>> {
  static torch::Tensor run(torch::autograd::AutogradContext* ctx, const torch::Tensor& y_in,
                           const torch::Tensor* r_in, double p, int64_t seed) {
    auto y = y_in.contiguous();
    auto r = r_in ? r_in->contiguous() : torch::Tensor();
    auto out = torch::empty_like(y);
    auto pre = r_in ? torch::empty_like(y) : y;
    const uint32_t thr = dropout_threshold(p);
    const float scale = thr ? static_cast<float>(1.0 / (1.0 - p)) : 1.0f;
    const float *yp = y.data_ptr<float>(), *rp = r_in ? r.data_ptr<float>() : nullptr;
    float *prep = r_in ? pre.data_ptr<float>() : nullptr, *op = out.data_ptr<float>();
    const auto sd = static_cast<uint64_t>(seed);
    TG_RECORD("tgraph::gelu");
    over_elements(y.numel(), [&](int64_t b, int64_t e) {
      gelu_forward(yp, rp, prep, op, thr, scale, sd, b, e);
    });
    ctx->save_for_backward({pre});
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return out;
  }
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& y,
                               const torch::Tensor& r, double p, int64_t seed) {
    return run(ctx, y, &r, p, seed);
  }
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& y,
                               double p, int64_t seed) {
    return run(ctx, y, nullptr, p, seed);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto pre = ctx->get_saved_variables()[0];
    const double p = ctx->saved_data["p"].toDouble();
    const auto sd = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    const uint32_t thr = dropout_threshold(p);
    const float scale = thr ? static_cast<float>(1.0 / (1.0 - p)) : 1.0f;
    auto g = grads[0].contiguous();
    auto gpre = torch::empty_like(g);
    const float *gp = g.data_ptr<float>(), *prep = pre.data_ptr<float>();
    float* op = gpre.data_ptr<float>();
    TG_RECORD("tgraph::gelu_backward");
    over_elements(g.numel(),
                  [&](int64_t b, int64_t e) { gelu_backward(gp, prep, op, thr, scale, sd, b, e); });
    if (kResidual) return {gpre, gpre, torch::Tensor(), torch::Tensor()};
    return {gpre, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gate_mul_composite(const torch::Tensor& x, const torch::Tensor& z) {
  return x * torch::sigmoid(z);
}

torch::Tensor gate_mul(const torch::Tensor& x, const torch::Tensor& z) {
  if (!fusable(x) || !fusable(z) || x.sizes() != z.sizes()) return gate_mul_composite(x, z);
  if (torch::GradMode::is_enabled() && (x.requires_grad() || z.requires_grad()))
    return GateFn::apply(x, z);
  auto xc = x.contiguous(), zc = z.contiguous();  // inference: one loop, nothing saved
  auto out = torch::empty_like(xc);
  const float *xp = xc.data_ptr<float>(), *zp = zc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  TG_RECORD("tgraph::gate");
  over_elements(xc.numel(), [&](int64_t b, int64_t e) { gate_forward(xp, zp, op, nullptr, b, e); });
  return out;
}

torch::Tensor gelu_residual_composite(const torch::Tensor& y, const torch::Tensor& r) {
  return torch::gelu(r.defined() ? y + r : y);
}

torch::Tensor gelu_residual_dropout(const torch::Tensor& y, const torch::Tensor& r, double p) {
  const bool fuse = fusable(y) && (!r.defined() || (fusable(r) && r.sizes() == y.sizes()));
  if (!fuse) {
    auto v = gelu_residual_composite(y, r);
    if (!(p > 0)) return v;
    // Other devices: LibTorch's dropout (from the scope's generator on the CPU).
    if (!dropout_generator) return torch::dropout(v, p, /*train=*/true);
    auto noise = at::empty_like(v).bernoulli_(1 - p, *dropout_generator).div_(1 - p);
    return v * noise;
  }
  const int64_t seed = p > 0 ? static_cast<int64_t>(draw_dropout_seed()) : 0;
  const bool grad =
      torch::GradMode::is_enabled() && (y.requires_grad() || (r.defined() && r.requires_grad()));
  if (grad)
    return r.defined() ? GeluFn<true>::apply(y, r, p, seed) : GeluFn<false>::apply(y, p, seed);
  auto yc = y.contiguous();  // no autograd: one loop, nothing saved
  auto rc = r.defined() ? r.contiguous() : r;
  auto out = torch::empty_like(yc);
  const uint32_t thr = dropout_threshold(p);
  const float scale = thr ? static_cast<float>(1.0 / (1.0 - p)) : 1.0f;
  const float *yp = yc.data_ptr<float>(), *rp = rc.defined() ? rc.data_ptr<float>() : nullptr;
  float* op = out.data_ptr<float>();
  TG_RECORD("tgraph::gelu");
  over_elements(yc.numel(), [&](int64_t b, int64_t e) {
    gelu_forward(yp, rp, nullptr, op, thr, scale, static_cast<uint64_t>(seed), b, e);
  });
  return out;
}

torch::Tensor instance_norm_nodes_composite(const torch::Tensor& x, double eps) {
  auto mean = x.mean(0, /*keepdim=*/true);
  auto var = (x - mean).pow(2).mean(0, true);
  return (x - mean) * torch::rsqrt(var + eps);
}

torch::Tensor instance_norm_nodes(const torch::Tensor& x, double eps) {
  const bool grad = torch::GradMode::is_enabled() && x.requires_grad();
  if (grad && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.size(0) > 0)
    return InstanceNormFn::apply(x, eps);
  if (!grad) {
    // Inference: batch_norm over the rows of [N, S*F] with batch statistics is the same map. It
    // beat the fused forward by 6-8 % at width 256 (docs/results.md), and runs on any device.
    const auto N = x.size(0);
    return torch::batch_norm(x.reshape({N, -1}), {}, {}, {}, {}, /*training=*/true, 0.0, eps,
                             /*cudnn_enabled=*/false)
        .view(x.sizes());
  }
  return instance_norm_nodes_composite(x, eps);
}

torch::Tensor config_cross_attention_composite(const torch::Tensor& x,
                                               const torch::Tensor& temperature) {
  auto a = torch::softmax(x / temperature, /*dim=*/1);
  return torch::cat({x, x * a}, -1);
}

namespace {

// Splits the nodes of [N, S, F] between the intra-op threads, about 32 k elements a chunk.
template <typename F>
void over_nodes(int64_t N, int64_t per_node, const F& f) {
  at::parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(per_node, 1)),
                   f);
}

// The fused forward: out [N, S, 2F] of contiguous x [N, S, F]; the weights go to a when it is
// defined (what the backward needs), else nowhere.
torch::Tensor cross_attention_forward(const torch::Tensor& x, float inv_t, torch::Tensor a) {
  const int64_t N = x.size(0), S = x.size(1), F = x.size(2);
  auto out = torch::empty({N, S, 2 * F}, x.options());  // [N, S, 2F]
  const float* xp = x.data_ptr<float>();
  float *op = out.data_ptr<float>(), *ap = a.defined() ? a.data_ptr<float>() : nullptr;
  TG_RECORD("tgraph::cross_attention");
  over_nodes(N, S * F, [&](int64_t b, int64_t e) { xattn_forward(xp, S, F, inv_t, op, ap, b, e); });
  return out;
}

// The cross-attention as one autograd node: one loop over each node's [S, F] block forward
// (act_kernels.cc) that writes the concatenated output and the weights a, one backward that
// writes x's gradient and the per-node terms of the temperature's, where the composite runs
// div, softmax, mul and cat forward and about eight ops back. Saves x and a, as the composite
// does. The temperature's gradient is summed over nodes in node order, so it does not depend
// on the number of threads.
struct CrossAttentionFn : torch::autograd::Function<CrossAttentionFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& temperature) {
    auto x = x_in.contiguous();
    const float inv_t = 1.0f / temperature.item<float>();
    auto a = torch::empty_like(x);  // [N, S, F]
    auto out = cross_attention_forward(x, inv_t, a);
    ctx->save_for_backward({x, a});
    ctx->saved_data["inv_t"] = static_cast<double>(inv_t);
    return out;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& a = saved[1];
    const auto inv_t = static_cast<float>(ctx->saved_data["inv_t"].toDouble());
    auto g = grads[0].contiguous();
    const int64_t N = x.size(0), S = x.size(1), F = x.size(2);
    auto gx = torch::empty_like(x);
    std::vector<double> zdz(static_cast<size_t>(N));
    const float *gp = g.data_ptr<float>(), *xp = x.data_ptr<float>(), *ap = a.data_ptr<float>();
    float* gxp = gx.data_ptr<float>();
    TG_RECORD("tgraph::cross_attention_backward");
    over_nodes(N, S * F, [&](int64_t b, int64_t e) {
      xattn_backward(gp, xp, ap, S, F, inv_t, gxp, zdz.data(), b, e);
    });
    double sum = 0;
    for (double v : zdz) sum += v;
    // z = x / T, so dL/dT = sum dL/dz * (-z / T).
    auto gt = torch::full({}, -static_cast<double>(inv_t) * sum, g.options());
    return {gx, gt};
  }
};

}  // namespace

torch::Tensor config_cross_attention(const torch::Tensor& x, const torch::Tensor& temperature) {
  if (!fusable(x) || !fusable(temperature) || x.dim() != 3 || temperature.numel() != 1)
    return config_cross_attention_composite(x, temperature);
  if (torch::GradMode::is_enabled() && (x.requires_grad() || temperature.requires_grad()))
    return CrossAttentionFn::apply(x, temperature.reshape({}));
  // Inference: the same loops, nothing saved.
  return cross_attention_forward(x.contiguous(), 1.0f / temperature.item<float>(), {});
}

namespace {

// A sparse [N, N] matrix in CSR form, for csr_aggregate_rows.
struct Csr {
  std::vector<int64_t> rowptr, col;
  torch::Tensor val;  // [nnz] float, contiguous
};

// adj (sparse COO, float) or its transpose in CSR form; O(nnz) by counting the rows.
Csr to_csr(const torch::Tensor& adj, bool transpose) {
  auto a = adj.is_coalesced() ? adj : adj.coalesce();
  auto idx = a._indices().contiguous();  // [2, nnz], sorted by row
  auto val = a._values().to(torch::kFloat32).contiguous();
  const int64_t n = a.size(0), nnz = idx.size(1);
  const int64_t* rows = idx.data_ptr<int64_t>() + (transpose ? nnz : 0);
  const int64_t* cols = idx.data_ptr<int64_t>() + (transpose ? 0 : nnz);
  Csr c;
  c.rowptr.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t k = 0; k < nnz; ++k) ++c.rowptr[static_cast<size_t>(rows[k] + 1)];
  for (int64_t v = 0; v < n; ++v) c.rowptr[v + 1] += c.rowptr[v];
  if (!transpose) {
    c.col.assign(cols, cols + nnz);
    c.val = val;
    return c;
  }
  // Entries in row order of the transpose, each row's columns ascending (the source is sorted by
  // its rows, which are the transpose's columns).
  std::vector<int64_t> next(c.rowptr.begin(), c.rowptr.end() - 1);
  c.col.resize(static_cast<size_t>(nnz));
  c.val = torch::empty({nnz}, val.options());
  const float* vs = val.data_ptr<float>();
  float* vt = c.val.data_ptr<float>();
  for (int64_t k = 0; k < nnz; ++k) {
    const int64_t at = next[static_cast<size_t>(rows[k])]++;
    c.col[static_cast<size_t>(at)] = cols[k];
    vt[at] = vs[k];
  }
  return c;
}

// csr [N, N] x [N, M] -> [N, M] through csr_aggregate_rows, rows split between the threads.
torch::Tensor csr_product(const Csr& csr, const torch::Tensor& x_in /*[N, ...]*/) {
  auto x = x_in.contiguous();
  const int64_t N = x.size(0), M = N ? x.numel() / N : 0;
  auto out = torch::empty_like(x);
  const float *xp = x.data_ptr<float>(), *vp = csr.val.data_ptr<float>();
  float* op = out.data_ptr<float>();
  TG_RECORD("tgraph::csr_aggregate");
  over_nodes(N, M, [&](int64_t b, int64_t e) {
    csr_aggregate_rows(csr.rowptr.data(), csr.col.data(), vp, xp, M, op, b, e);
  });
  return out;
}

// The aggregation of float CPU tensors as one autograd node: the forward multiplies by adj, the
// backward by its transpose, both as CSR loops (LibTorch's sparse COO product zero-fills its
// output and ran 2-3x slower on these shapes; docs/results.md). adj takes no gradient.
struct AggregateFn : torch::autograd::Function<AggregateFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& adj) {
    ctx->saved_data["adj"] = adj;
    return csr_product(to_csr(adj, false), x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto adj = ctx->saved_data["adj"].toTensor();
    return {csr_product(to_csr(adj, true), grads[0]), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor aggregate_composite(const torch::Tensor& adj, const torch::Tensor& x) {
  const auto N = x.size(0), S = x.size(1), F = x.size(2);
  return torch::mm(adj, x.reshape({N, S * F})).view({N, S, F});
}

torch::Tensor aggregate(const torch::Tensor& adj, const torch::Tensor& x) {
  if (!fusable(x) || !adj.is_sparse() || !adj.device().is_cpu() ||
      adj.scalar_type() != torch::kFloat32 || adj.requires_grad() || x.size(0) != adj.size(0) ||
      adj.size(0) != adj.size(1))
    return aggregate_composite(adj, x);
  if (torch::GradMode::is_enabled() && x.requires_grad()) return AggregateFn::apply(x, adj);
  return csr_product(to_csr(adj, false), x);
}

torch::Tensor linear_bf16_or_fp32(torch::nn::Linear& l, const torch::Tensor& x, bool bf16) {
  if (!bf16 || !x.device().is_cpu()) return l->forward(x);
  auto y = torch::nn::functional::linear(x.to(torch::kBFloat16), l->weight.to(torch::kBFloat16))
               .to(torch::kFloat32);
  return l->bias.defined() ? y + l->bias : y;
}

ChannelGateImpl::ChannelGateImpl(int channels, int bottleneck) {
  fc1 = register_module("fc1", torch::nn::Linear(channels, bottleneck));
  fc2 = register_module("fc2", torch::nn::Linear(bottleneck, channels));
}

torch::Tensor ChannelGateImpl::forward(const torch::Tensor& x) {
  return gate_mul(x,
                  linear_bf16_or_fp32(fc2, torch::relu(linear_bf16_or_fp32(fc1, x, bf16)), bf16));
}

// ---------------------------------------------------------------------------------------------
// The shared TGraph node encoder

void TGraphEncoder::build_embeddings(torch::nn::Module& owner, const ModelConfig& c) {
  layout_emb_ = owner.register_module("layout_emb", torch::nn::Embedding(8, c.layout_emb_dim));
  opcode_emb_ = owner.register_module("opcode_emb", torch::nn::Embedding(121, c.opcode_dim));
  static_dim_ = kNumericFeatures + 6 * c.layout_emb_dim + c.opcode_dim;
}

void TGraphEncoder::build_blocks(torch::nn::Module& owner, const ModelConfig& c, int width_in,
                                 int width_out) {
  const int H = width_in, L = width_out;
  cross_attention_ = c.cross_attention;
  for (int i = 0; i < c.dense_layers; ++i) {
    if (i > 0)
      dense_.push_back(owner.register_module("dense" + std::to_string(i), torch::nn::Linear(H, L)));
    dense_gate_.push_back(
        owner.register_module("dense_gate" + std::to_string(i), ChannelGate(L, c.gate_bottleneck)));
  }
  for (int i = 0; i < c.graph_layers; ++i) {
    sage_l_.push_back(owner.register_module("sage_l" + std::to_string(i), torch::nn::Linear(H, L)));
    sage_r_.push_back(
        owner.register_module("sage_r" + std::to_string(i),
                              torch::nn::Linear(torch::nn::LinearOptions(H, L).bias(false))));
    graph_gate_.push_back(
        owner.register_module("graph_gate" + std::to_string(i), ChannelGate(L, c.gate_bottleneck)));
  }
  if (c.cross_attention)
    log_temp_ = owner.register_parameter(
        "log_temperature",
        torch::full({c.dense_layers + c.graph_layers}, std::log(c.attn_temperature)));
  dropout_ = owner.register_module("dropout", torch::nn::Dropout(c.dropout));
}

torch::Tensor TGraphEncoder::static_inputs(const GraphTensors& g) {
  return torch::cat({g.node_num, layout_emb_->forward(g.m2m).view({g.num_nodes, -1}),
                     opcode_emb_->forward(g.opcode)},
                    1);
}

DropoutGeneratorScope::DropoutGeneratorScope(at::Generator gen)
    : previous_(dropout_generator), gen_(std::move(gen)) {
  dropout_generator = &gen_;
}

DropoutGeneratorScope::~DropoutGeneratorScope() {
  dropout_generator = previous_;
}

void TGraphEncoder::set_matmul_bf16(bool on) {
  bf16_ = on;
  for (auto& g : dense_gate_) g->bf16 = on;
  for (auto& g : graph_gate_) g->bf16 = on;
}

torch::Tensor TGraphEncoder::attend(const torch::Tensor& x, int block) {
  if (!cross_attention_) return x;
  return config_cross_attention(x, log_temp_[block].exp());
}

torch::Tensor TGraphEncoder::blocks(torch::Tensor x, const torch::Tensor& adj_mean) {
  if (fast_inference_ && !bf16_ && !dropout_->is_training() && !torch::GradMode::is_enabled() &&
      fusable(x) && x.numel() > 0)  // aggregate() itself falls back for another adj
    return blocks_inference(std::move(x), adj_mean);
  int block = 0;
  for (size_t i = 0; i < dense_gate_.size(); ++i) {
    if (i > 0) x = linear_bf16_or_fp32(dense_[i - 1], x, bf16_);
    x = dense_gate_[i]->forward(instance_norm_nodes(x));
    x = gelu_residual_dropout(attend(x, block++), torch::Tensor(), 0.0);
  }
  // Dropout only while training (the module's flag), as torch::nn::Dropout.
  const double p = dropout_->is_training() ? dropout_->options.p() : 0.0;
  for (size_t i = 0; i < sage_l_.size(); ++i) {
    auto y = instance_norm_nodes(x);
    y = linear_bf16_or_fp32(sage_l_[i], aggregate(adj_mean, y), bf16_) +
        linear_bf16_or_fp32(sage_r_[i], y, bf16_);
    y = attend(graph_gate_[i]->forward(y), block++);
    x = gelu_residual_dropout(y, x, p);
  }
  return x;
}

namespace {

// The fused InstanceNorm's forward without autograd (nothing saved): [N, S, F] -> [N, S, F].
torch::Tensor instance_norm_forward(const torch::Tensor& x) {
  return InstanceNormFn::run(x.contiguous(), 1e-5).first;
}

}  // namespace

torch::Tensor TGraphEncoder::gate_inference(torch::Tensor u, ChannelGate& gate,
                                            const torch::Tensor& r, int block) {
  const int64_t N = u.size(0), S = u.size(1), L = u.size(2), R = N * S;
  auto u2 = u.view({R, L});
  auto z = torch::addmm(gate->fc1->bias, u2, gate->fc1->weight.t()).relu_();  // [R, B]
  z = torch::addmm(gate->fc2->bias, z, gate->fc2->weight.t());                // [R, L]
  auto gated = gate_mul(u2, z).view({N, S, L});  // no grad: the fused loop, nothing saved
  // Each buffer is dropped as soon as it is read: with the whole slate in one pass (cross-
  // attention) they are tens of MB, and a higher peak maps fresh pages (faults are slow on VMs).
  u = u2 = z = torch::Tensor();
  if (cross_attention_)  // [N, S, 2L]
    gated = cross_attention_forward(gated, 1.0f / log_temp_[block].exp().item<float>(), {});
  return gelu_residual_dropout(gated, r, 0.0);  // eval: no dropout
}

torch::Tensor TGraphEncoder::blocks_inference(torch::Tensor x, const torch::Tensor& adj_mean) {
  torch::NoGradGuard no_grad;
  x = x.contiguous();
  const int64_t N = x.size(0), S = x.size(1), R = N * S;
  int block = 0;
  for (size_t i = 0; i < dense_gate_.size(); ++i) {
    if (i > 0)  // no bias: the InstanceNorm below subtracts every per-channel constant
      x = torch::mm(x.view({R, -1}), dense_[i - 1]->weight.t()).view({N, S, -1});
    auto y = instance_norm_forward(x);
    x = torch::Tensor();  // dropped before the gate's buffers are taken (see gate_inference)
    x = gate_inference(std::move(y), dense_gate_[i], torch::Tensor(), block++);
  }
  for (size_t i = 0; i < sage_l_.size(); ++i) {
    auto y = instance_norm_forward(x);  // [N, S, H]
    // sage_l(A y) + sage_r(y), one output: the second product accumulates into the first.
    auto u = torch::addmm(sage_l_[i]->bias, aggregate(adj_mean, y).view({R, -1}),
                          sage_l_[i]->weight.t());  // [R, L]
    u.addmm_(y.view({R, -1}), sage_r_[i]->weight.t());
    y = torch::Tensor();
    x = gate_inference(std::exchange(u, torch::Tensor()).view({N, S, -1}), graph_gate_[i], x,
                       block++);
  }
  return x;
}

torch::Tensor one_hot_config_projection(const torch::Tensor& emb, const torch::Tensor& proj,
                                        const torch::Tensor& configs) {
  const int64_t S = configs.size(0), NC = configs.size(1), slots = configs.size(2);
  const int64_t V = emb.size(0), D = emb.size(1), L = proj.size(0);
  // T[slot * V + v] = proj's block of slot applied to emb[v]. [slots * V, L]
  auto table =
      torch::einsum("vd,lsd->svl", {emb, proj.view({L, slots, D})}).reshape({slots * V, L});
  auto idx = (configs + torch::arange(slots, configs.options()) * V).view({S * NC, slots});
  auto onehot = torch::zeros({S * NC, slots * V}, table.options()).scatter_(1, idx, 1.0);
  return torch::mm(onehot, table).view({S, NC, L});
}

namespace {

// The baselines' static node input: numbers, raw minor_to_major values (-1..5; non-configurable
// nodes carry zeros), opcode embedding. [N, 134 + 6 + opcode_dim]
torch::Tensor raw_static_inputs(const GraphTensors& g, torch::nn::Embedding& opcode_emb) {
  auto m2m = (g.m2m - kEmbedOffset).to(torch::kFloat32);
  return torch::cat({g.node_num, m2m, opcode_emb(g.opcode)}, 1);
}

// ---------------------------------------------------------------------------------------------
// Layout TGraph

class TGraphModel : public ModelImpl {
 public:
  explicit TGraphModel(const ModelConfig& c) : cfg_(c) {
    const int H = c.hidden;
    const int L = c.cross_attention ? H / 2 : H;  // layer output width before the attention concat
    enc_.build_embeddings(*this, c);
    // The first Linear over concat(static, config) is split in two (exactly the same map): the
    // static part is computed once per node, not once per node and configuration.
    in_static_ = register_module("in_static", torch::nn::Linear(enc_.static_dim(), L));
    in_config_ = register_module(
        "in_config",
        torch::nn::Linear(torch::nn::LinearOptions(18 * c.layout_emb_dim, L).bias(false)));
    if (c.layout_match)
      in_match_ = register_module(
          "in_match",
          torch::nn::Linear(torch::nn::LinearOptions(kLayoutMatchFeatures, L).bias(false)));
    if (c.layout_tiling)
      in_tiling_ = register_module(
          "in_tiling",
          torch::nn::Linear(
              torch::nn::LinearOptions(
                  c.layout_tiling_packed ? kLayoutTilingPackedFeatures : kLayoutTilingFeatures, L)
                  .bias(false)));
    enc_.build_blocks(*this, c, H, L);
    head_ = register_module("head", torch::nn::Linear(H, 1));
  }

  const ModelConfig& config() const override { return cfg_; }
  void set_matmul_bf16(bool on) override { enc_.set_matmul_bf16(on); }
  void set_fast_inference(bool on) override { enc_.set_fast_inference(on); }

  torch::Tensor encode_graph(const GraphTensors& g) override {
    return in_static_(enc_.static_inputs(g)) + empty_config();  // [N, L]
  }

  torch::Tensor score(const GraphTensors& g, const torch::Tensor& code,
                      const torch::Tensor& configs) override {
    const int64_t S = configs.size(0), NC = configs.size(1);
    TG_CHECK(NC == g.config_pos.size(0), "configs [S, NC, 18] do not match the graph's NC");
    // Non-configurable nodes carry layout value -2 (row 0) in all 18 slots: one constant vector,
    // folded into `code`; configurable nodes add their difference from it.
    auto delta = config_projection(configs) - empty_config();  // [S, NC, L]
    if (in_match_) delta = delta + in_match_(layout_match_features(g, configs));
    // Configurable nodes only: another node's layout is the same in every configuration.
    if (in_tiling_)
      delta = delta + in_tiling_(layout_tiling_features(g, configs, cfg_.layout_tiling_packed));
    auto x = code.unsqueeze(1).repeat({1, S, 1});  // [N, S, L]
    x = x.index_add(0, g.config_pos, delta.transpose(0, 1));
    x = enc_.blocks(x, g.adj_mean);
    return head_(x.mean(0)).squeeze(-1);  // [S]
  }

  double activation_bytes_per_config(int64_t num_nodes) const override {
    // [N, hidden] tensors saved per configuration: a dense block keeps ~5 (Linear input,
    // InstanceNorm, gate input and sigmoid, GELU input), a GraphSAGE block ~8 (also the
    // aggregation and the residual sum; the fused GELU keeps no dropout mask, so this now
    // overestimates a little, which keeps the memory bound); ~4 more for the input and the
    // gradients in flight.
    const double per_node = 5.0 * cfg_.dense_layers + 8.0 * cfg_.graph_layers + 4.0;
    return 4.0 * static_cast<double>(num_nodes) * cfg_.hidden * per_node;
  }

 private:
  // in_config(layout_emb(configs)) [S, NC, L]: in training through one-hot rows
  // (one_hot_config_projection), at scoring through the gather, whose input is 2x smaller.
  torch::Tensor config_projection(const torch::Tensor& configs) {
    auto& emb = enc_.layout_emb();
    const bool grad = torch::GradMode::is_enabled() &&
                      (emb->weight.requires_grad() || in_config_->weight.requires_grad());
    if (grad) return one_hot_config_projection(emb->weight, in_config_->weight, configs);
    return in_config_(emb(configs).view({configs.size(0), configs.size(1), -1}));
  }
  torch::Tensor empty_config() {  // [L]
    return in_config_(enc_.layout_emb()->weight[0].repeat({18}));
  }
  ModelConfig cfg_;
  TGraphEncoder enc_;
  torch::nn::Linear in_static_{nullptr}, in_config_{nullptr}, in_match_{nullptr},
      in_tiling_{nullptr}, head_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Layout baseline: the official TpuGraphs layout baseline's shape (opcode embedding 32, hidden
// 32, residual GCN layers over the symmetrised adjacency, configuration features on the
// configurable nodes, mean + sum readout, MLP head).

class BaselineModel : public ModelImpl {
 public:
  explicit BaselineModel(const ModelConfig& c) : cfg_(c) {
    const int H = c.hidden;
    opcode_emb_ = register_module("opcode_emb", torch::nn::Embedding(121, c.opcode_dim));
    in_static_ =
        register_module("in_static", torch::nn::Linear(kNumericFeatures + 6 + c.opcode_dim, H));
    in_config_ = register_module("in_config",
                                 torch::nn::Linear(torch::nn::LinearOptions(18, H).bias(false)));
    for (int i = 0; i < c.graph_layers; ++i)
      gcn_.push_back(register_module("gcn" + std::to_string(i), torch::nn::Linear(H, H)));
    mlp1_ = register_module("mlp1", torch::nn::Linear(2 * H, H));
    mlp2_ = register_module("mlp2", torch::nn::Linear(H, 1));
  }
  const ModelConfig& config() const override { return cfg_; }

  torch::Tensor encode_graph(const GraphTensors& g) override {
    return in_static_(raw_static_inputs(g, opcode_emb_));  // [N, H]
  }

  torch::Tensor score(const GraphTensors& g, const torch::Tensor& code,
                      const torch::Tensor& configs) override {
    const int64_t N = g.num_nodes, S = configs.size(0);
    auto cfg = in_config_((configs - kEmbedOffset).to(torch::kFloat32));  // [S, NC, H]
    auto x = code.unsqueeze(1).repeat({1, S, 1}).index_add(0, g.config_pos, cfg.transpose(0, 1));
    x = torch::relu(x);
    for (auto& lin : gcn_) x = x + torch::relu(lin(aggregate(g.adj_sym, x)));
    // Sum readout scaled by 1/sqrt(N) so graphs of 300 and 40 000 nodes stay in one range.
    auto pooled = torch::cat({x.mean(0), x.sum(0) / std::sqrt(static_cast<double>(N))}, -1);
    return mlp2_(torch::relu(mlp1_(pooled))).squeeze(-1);
  }

  double activation_bytes_per_config(int64_t num_nodes) const override {
    // Per GCN layer: aggregation, Linear output, ReLU, residual sum; the input and its ReLU.
    return 4.0 * static_cast<double>(num_nodes) * cfg_.hidden * (4.0 * cfg_.graph_layers + 3.0);
  }

 private:
  ModelConfig cfg_;
  torch::nn::Embedding opcode_emb_{nullptr};
  torch::nn::Linear in_static_{nullptr}, in_config_{nullptr}, mlp1_{nullptr}, mlp2_{nullptr};
  std::vector<torch::nn::Linear> gcn_;
};

// ---------------------------------------------------------------------------------------------
// Tile late fusion: the TGraph node encoder once per kernel, mean+max readout, configuration MLP,
// head. The whole graph side is configuration-independent, so encode_graph returns the pooled
// kernel vector and scoring a slate costs only the configuration MLP and the head.

class TileLateFusion : public ModelImpl {
 public:
  explicit TileLateFusion(const ModelConfig& c) : cfg_(c) {
    const int H = c.hidden;
    TG_CHECK(!c.cross_attention, "the tile model has no cross-attention");
    enc_.build_embeddings(*this, c);
    in_ = register_module("in", torch::nn::Linear(enc_.static_dim(), H));
    enc_.build_blocks(*this, c, H, H);
    cfg1_ = register_module("cfg1", torch::nn::Linear(kTileConfigDim, H));
    if (c.tile_fit)
      in_fit_ = register_module(
          "in_fit", torch::nn::Linear(torch::nn::LinearOptions(kTileFitFeatures, H).bias(false)));
    cfg2_ = register_module("cfg2", torch::nn::Linear(H, H));
    const int code_width = (c.root_readout ? 5 : 3) * H;
    if (c.config_product)
      code_proj_ = register_module("code_proj", torch::nn::Linear(code_width, H));
    head1_ =
        register_module("head1", torch::nn::Linear(code_width + (c.config_product ? 2 : 1) * H, H));
    head2_ = register_module("head2", torch::nn::Linear(H, H));
    head3_ = register_module("head3", torch::nn::Linear(H, 1));
  }
  const ModelConfig& config() const override { return cfg_; }
  void set_fast_inference(bool on) override { enc_.set_fast_inference(on); }

  torch::Tensor encode_graph(const GraphTensors& g) override {
    auto h0 = in_(enc_.static_inputs(g));               // [N, H]
    auto x = enc_.blocks(h0.unsqueeze(1), g.adj_mean);  // [N, 1, H]: one "configuration"
    // InstanceNorm over the nodes of one kernel removes whatever all its nodes share (e.g. a
    // kernel-wide tensor size), so the readout also gets the mean of the first projection.
    auto pooled = torch::cat({x.mean(0), std::get<0>(x.max(0)), h0.mean(0, true)}, -1);  // [1, 3H]
    if (!cfg_.root_readout) return pooled;
    const int64_t root = g.num_nodes - 1;
    return torch::cat({pooled, x[root], h0.slice(0, root, root + 1)}, -1);  // [1, 5H]
  }

  torch::Tensor score(const GraphTensors& g, const torch::Tensor& code,
                      const torch::Tensor& configs) override {
    auto cfg = configs.slice(1, 0, kTileConfigDim);  // [S, 24]
    auto c1 = cfg1_(cfg);                            // [S, H]
    if (in_fit_) {
      TG_CHECK(configs.size(1) == kTileConfigDim + 6,
               "tile_fit needs the raw output bounds after the 24 columns (config_tensor)");
      c1 = c1 + in_fit_(tile_fit_features(g, configs.slice(1, kTileConfigDim)));
    }
    auto c = cfg2_(torch::relu(c1));  // [S, H]
    if (cfg_.config_relu) c = torch::relu(c);
    auto k = code.expand({cfg.size(0), code.size(1)});                          // [S, 3H or 5H]
    auto h = cfg_.config_product ? torch::cat({k, c, c * code_proj_(code)}, 1)  // [S, +2H]
                                 : torch::cat({k, c}, 1);                       // [S, +H]
    return head3_(torch::relu(head2_(torch::relu(head1_(h))))).squeeze(-1);
  }

  double activation_bytes_per_config(int64_t) const override {
    return 4.0 * cfg_.hidden * 12.0;  // the configuration MLP and head: no per-node tensors
  }

 private:
  ModelConfig cfg_;
  TGraphEncoder enc_;
  torch::nn::Linear in_{nullptr}, cfg1_{nullptr}, cfg2_{nullptr}, head1_{nullptr}, head2_{nullptr},
      head3_{nullptr}, code_proj_{nullptr}, in_fit_{nullptr};
};

// Tile early join (the TpuGraphs tile baseline's shape): the configuration is added to every node
// before the GraphSAGE layers, so the graph is encoded once per configuration.
class TileEarlyJoin : public ModelImpl {
 public:
  explicit TileEarlyJoin(const ModelConfig& c) : cfg_(c) {
    const int H = c.hidden;
    opcode_emb_ = register_module("opcode_emb", torch::nn::Embedding(121, c.opcode_dim));
    in_ = register_module("in", torch::nn::Linear(kNumericFeatures + 6 + c.opcode_dim, H));
    in_cfg_ = register_module(
        "in_cfg", torch::nn::Linear(torch::nn::LinearOptions(kTileConfigDim, H).bias(false)));
    for (int i = 0; i < c.graph_layers; ++i) {
      sage_l_.push_back(register_module("sage_l" + std::to_string(i), torch::nn::Linear(H, H)));
      sage_r_.push_back(
          register_module("sage_r" + std::to_string(i),
                          torch::nn::Linear(torch::nn::LinearOptions(H, H).bias(false))));
    }
    mlp1_ = register_module("mlp1", torch::nn::Linear(H, H));
    mlp2_ = register_module("mlp2", torch::nn::Linear(H, 1));
  }
  const ModelConfig& config() const override { return cfg_; }

  torch::Tensor encode_graph(const GraphTensors& g) override {
    return in_(raw_static_inputs(g, opcode_emb_));  // [N, H]
  }

  torch::Tensor score(const GraphTensors& g, const torch::Tensor& code,
                      const torch::Tensor& cfg) override {
    auto x = torch::relu(code.unsqueeze(1) +
                         in_cfg_(cfg.slice(1, 0, kTileConfigDim)).unsqueeze(0));  // [N, S, H]
    for (size_t i = 0; i < sage_l_.size(); ++i)
      x = torch::relu(sage_l_[i](aggregate(g.adj_mean, x)) + sage_r_[i](x));
    return mlp2_(torch::relu(mlp1_(x.mean(0)))).squeeze(-1);  // [S]
  }

  double activation_bytes_per_config(int64_t num_nodes) const override {
    // Per GraphSAGE layer: aggregation, two Linear inputs, the sum and its ReLU; the input.
    return 4.0 * static_cast<double>(num_nodes) * cfg_.hidden * (4.0 * cfg_.graph_layers + 2.0);
  }

 private:
  ModelConfig cfg_;
  torch::nn::Embedding opcode_emb_{nullptr};
  torch::nn::Linear in_{nullptr}, in_cfg_{nullptr}, mlp1_{nullptr}, mlp2_{nullptr};
  std::vector<torch::nn::Linear> sage_l_, sage_r_;
};

}  // namespace

Model make_model(const ModelConfig& cfg) {
  if (cfg.name == "tgraph") return std::make_shared<TGraphModel>(cfg);
  if (cfg.name == "baseline") return std::make_shared<BaselineModel>(cfg);
  if (cfg.name == "tile") return std::make_shared<TileLateFusion>(cfg);
  if (cfg.name == "tile-baseline") return std::make_shared<TileEarlyJoin>(cfg);
  throw_error("model config", "name", "tgraph | baseline | tile | tile-baseline",
              "'" + cfg.name + "'");
}

}  // namespace tgraph
