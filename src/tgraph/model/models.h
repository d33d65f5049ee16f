// The layout models: TGraph (docs: tgraph-model.md section 2) and the TpuGraphs-style baseline
// (section 5), both scoring a slate of configurations of one graph (higher score = slower).
//
// Internal activation layout is [N, S, F] (nodes, configurations of the slate, channels): the
// sparse aggregation is then one [N, N] x [N, S*F] product with no transposes.
#pragma once

#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

#include "tgraph/model/graph_tensors.h"

namespace tgraph {

struct ModelConfig {
  std::string name = "tgraph";  // "tgraph" | "baseline" (layout); "tile" | "tile-baseline"
  int hidden = 256;             // block width (with cross-attention each layer outputs hidden/2)
  int gate_bottleneck = 32;     // channel gate: hidden -> bottleneck -> hidden
  int dense_layers = 2;
  int graph_layers = 2;
  bool cross_attention = false;  // on for *default* collections in the reference
  double dropout = 0.2;
  int opcode_dim = 16;
  int layout_emb_dim = 4;  // shared embedding of layout values -2..5
  double attn_temperature = 0.5;

  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);  // throws tgraph::Error on bad values
  // Reference sizes per model name; "tgraph-cpu" is the CPU-friendly preset (hidden 64).
  static ModelConfig preset(const std::string& name, bool cross_attention);
};

class LayoutModelImpl : public torch::nn::Module {
 public:
  // g: graph tensors; configs: [S, NC, 18] long layout indices (value + 2). Returns [S] scores.
  virtual torch::Tensor forward(const GraphTensors& g, const torch::Tensor& configs) = 0;
  virtual const ModelConfig& config() const = 0;
  int64_t num_parameters() const;
};
using LayoutModel = std::shared_ptr<LayoutModelImpl>;

LayoutModel make_layout_model(const ModelConfig& cfg);

// Building blocks, exposed for tests.
// Normalises over nodes (dim 0) for each configuration and channel; no affine parameters.
torch::Tensor instance_norm_nodes(const torch::Tensor& x /*[N, S, F]*/, double eps = 1e-5);
// x * softmax over configurations (dim 1) of x / T, concatenated to x: [N, S, F] -> [N, S, 2F].
torch::Tensor config_cross_attention(const torch::Tensor& x, const torch::Tensor& temperature);
// Sparse [N, N] x [N, S, F] -> [N, S, F].
torch::Tensor aggregate(const torch::Tensor& adj, const torch::Tensor& x);

struct ChannelGateImpl : torch::nn::Module {
  ChannelGateImpl(int channels, int bottleneck);
  torch::Tensor forward(const torch::Tensor& x);  // x * sigmoid(W2 relu(W1 x))
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ChannelGate);

}  // namespace tgraph
