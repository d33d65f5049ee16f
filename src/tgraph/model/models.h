// The four cost models behind one interface: layout TGraph (docs: tgraph-model.md section 2) and
// the TpuGraphs-style layout baseline (section 5); the tile late-fusion model (section 4) and the
// early-join tile baseline. The two TGraph variants share one node encoder (TGraphEncoder).
//
// Every model scores a slate of configurations of one graph (higher score = slower). Scoring is
// split in two so that callers can cache the configuration-independent part of a graph:
//   code = encode_graph(g)            // depends on the graph and the weights only
//   scores = score(g, code, configs)  // [S]
// forward(g, configs) does both. Internal activation layout is [N, S, F] (nodes, configurations
// of the slate, channels): the sparse aggregation is then one [N, N] x [N, S*F] product.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

#include "tgraph/graph/tpugraphs.h"
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
  // Tile late fusion: ReLU after the configuration MLP's last layer (the reference). Without it
  // the configuration vector can be negative, so the head sees a signed configuration code.
  bool config_relu = true;
  // Layout TGraph: the first layer also sees layout_match_features (graph_tensors.h), whether
  // each configurable node's layouts agree with its operands' and users'. Off in the reference
  // and in files written before it existed.
  bool layout_match = false;
  // Layout TGraph: the first layer also sees layout_tiling_features (graph_tensors.h), the tile
  // padding and the minor dimensions' sizes each configuration gives a node's tensors. Off in the
  // reference and in files written before it existed.
  bool layout_tiling = false;
  // With layout_tiling: three more numbers, the padding with tiles of 16 or 32 rows for 16-bit
  // and 8-bit element types (layout_tiling_features' packed columns). Off in files before it.
  bool layout_tiling_packed = false;
  // Tile late fusion: the readout also takes the kernel's root (its last node: operands come
  // before users and the entry computation's root last), before and after the blocks. A tile's
  // cost depends on the output it tiles, which mean and max over all nodes blur. Off in the
  // reference and in files written before it existed.
  bool root_readout = false;
  // Tile late fusion: the head also sees the configuration vector multiplied channel by channel
  // with a projection of the kernel vector, so a tile size can count differently per kernel
  // without the head's MLP having to build the product. Off in the reference.
  bool config_product = false;
  // Tile late fusion: the configuration branch also sees tile_fit_features (graph_tensors.h), how
  // the output tile sizes divide and pad the kernel's output. Off in the reference and in files
  // written before it existed.
  bool tile_fit = false;

  // The task a model name belongs to (layout for tgraph/baseline, tile for tile/tile-baseline).
  Kind task() const;
  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);  // throws tgraph::Error on bad values
  // Reference sizes per model name; "tgraph-cpu" is the CPU-friendly preset (hidden 64).
  static ModelConfig preset(const std::string& name, bool cross_attention);
  // Applies "key=value" overrides (--arch) to the JSON fields above, value in JSON syntax
  // (dropout=0.1, graph_layers=3, config_relu=false); throws tgraph::Error naming what, the key
  // and the fields, or the bounds from_json enforces.
  ModelConfig with_overrides(const std::vector<std::string>& overrides,
                             const std::string& what) const;
};

class ModelImpl : public torch::nn::Module {
 public:
  // The configuration-independent part of one graph; valid while the weights do not change.
  virtual torch::Tensor encode_graph(const GraphTensors& g) = 0;
  // configs: layout [S, NC, 18] long layout indices (value + 2); tile [S, 24] float normalised,
  // or [S, 30] with the raw output bounds after them (config_tensor; tile_fit needs them).
  // Returns [S] scores.
  virtual torch::Tensor score(const GraphTensors& g, const torch::Tensor& code,
                              const torch::Tensor& configs) = 0;
  torch::Tensor forward(const GraphTensors& g, const torch::Tensor& configs) {
    return score(g, encode_graph(g), configs);
  }
  virtual const ModelConfig& config() const = 0;
  // Estimated bytes of activations one configuration of a slate keeps for the backward pass on
  // a graph of num_nodes nodes (float32; counted from the saved tensors of each block, checked
  // against peak RSS at full scale in docs/results.md). The trainer splits slates by it.
  virtual double activation_bytes_per_config(int64_t num_nodes) const = 0;
  int64_t num_parameters() const;
  // RunContext::bf16_matmul: the per-configuration Linear layers multiply in bfloat16 (layout
  // TGraph; the other models keep fp32, where those products are not the cost).
  virtual void set_matmul_bf16(bool /*on*/) {}
  // On (the default), the TGraph encoder scores float CPU tensors in eval mode without autograd
  // through its forward-only path (TGraphEncoder::blocks_inference); off, through the same
  // autograd composition as training. Tests and benchmarks compare the two.
  virtual void set_fast_inference(bool /*on*/) {}
};
using Model = std::shared_ptr<ModelImpl>;

Model make_model(const ModelConfig& cfg);  // any of the four names

// While alive, dropout in the models draws its masks from `gen` on this thread (the default
// generator otherwise). The trainer runs parts of one slate on several threads through one shared
// model; each part gets its own generator, seeded in part order, so a step's masks do not depend
// on how the threads interleave. LibTorch's modules take no per-call generator, hence a scope.
class DropoutGeneratorScope {
 public:
  explicit DropoutGeneratorScope(at::Generator gen);
  ~DropoutGeneratorScope();
  DropoutGeneratorScope(const DropoutGeneratorScope&) = delete;
  DropoutGeneratorScope& operator=(const DropoutGeneratorScope&) = delete;

 private:
  at::Generator* previous_;
  at::Generator gen_;
};

// Building blocks, exposed for tests.
// Normalises over nodes (dim 0) for each configuration and channel; no affine parameters.
// Float CPU tensors take the fused kernels (norm_kernels.h; one autograd node), others the
// composite of element-wise ops, which is also the reference the fused one is tested against.
torch::Tensor instance_norm_nodes(const torch::Tensor& x /*[N, S, F]*/, double eps = 1e-5);
torch::Tensor instance_norm_nodes_composite(const torch::Tensor& x /*[N, S, F]*/,
                                            double eps = 1e-5);
// The channel gate's product x * sigmoid(z) (same shapes). Float CPU tensors take the fused loops
// of act_kernels.h (one autograd node; no saved tensor at inference), others the composite.
torch::Tensor gate_mul(const torch::Tensor& x, const torch::Tensor& z);
torch::Tensor gate_mul_composite(const torch::Tensor& x, const torch::Tensor& z);
// dropout_p(gelu(y + r)), the exact GELU; r may be undefined (then gelu(y)), p = 0 is no dropout.
// Float CPU tensors take the fused loops (one autograd node that saves only y + r; the dropout
// mask is a hash of a seed drawn from the DropoutGeneratorScope's generator, else the default
// one, and of the element's index), others LibTorch's ops. The composite (no dropout) is the
// reference in tests.
torch::Tensor gelu_residual_dropout(const torch::Tensor& y, const torch::Tensor& r, double p);
torch::Tensor gelu_residual_composite(const torch::Tensor& y, const torch::Tensor& r);
// linear(embedding(configs)) without bias: emb [V, D], proj [L, slots * D], configs [S, NC, slots]
// long in [0, V) -> [S, NC, L], computed as one-hot rows [S * NC, slots * V] times the table of
// proj's slot blocks applied to every embedding row. The same map; its backward is two small
// matmuls, where LibTorch's embedding backward sorts the S * NC * slots indices (4.6 ms of an
// 89 ms tgraph-cpu step on the resnet50 benchmark graph, measured). Layout TGraph trains with it.
torch::Tensor one_hot_config_projection(const torch::Tensor& emb, const torch::Tensor& proj,
                                        const torch::Tensor& configs);
// x * softmax over configurations (dim 1) of x / T, concatenated to x: [N, S, F] -> [N, S, 2F];
// T a one-element tensor. Float CPU tensors take the fused loops of act_kernels.h (one autograd
// node; nothing saved at inference), others the composite, which is the reference in tests.
torch::Tensor config_cross_attention(const torch::Tensor& x, const torch::Tensor& temperature);
torch::Tensor config_cross_attention_composite(const torch::Tensor& x,
                                               const torch::Tensor& temperature);
// Sparse [N, N] x [N, S, F] -> [N, S, F]. A float sparse CPU adj with float CPU x takes the CSR
// loops of act_kernels.h (one autograd node, the transpose in the backward), others the
// composite, LibTorch's sparse product, which is the reference in tests.
torch::Tensor aggregate(const torch::Tensor& adj, const torch::Tensor& x);
torch::Tensor aggregate_composite(const torch::Tensor& adj, const torch::Tensor& x);

// l(x), with the product in bfloat16 when bf16 is set and x is a CPU tensor: input and weight
// rounded to bfloat16, fp32 accumulation inside the GEMM, the product back to fp32, the bias
// added in fp32. Gradients flow through the casts to the fp32 weights.
torch::Tensor linear_bf16_or_fp32(torch::nn::Linear& l, const torch::Tensor& x, bool bf16);

struct ChannelGateImpl : torch::nn::Module {
  ChannelGateImpl(int channels, int bottleneck);
  torch::Tensor forward(const torch::Tensor& x);  // x * sigmoid(W2 relu(W1 x))
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  bool bf16 = false;  // linear_bf16_or_fp32
};
TORCH_MODULE(ChannelGate);

// The TGraph node encoder, written once for layout TGraph and the tile late-fusion model: the
// static node embedding (numeric features, minor_to_major embedding, opcode embedding), then
// `dense_layers` dense blocks and `graph_layers` GraphSAGE blocks with channel gates, optional
// cross-attention over the configurations of the slate, residuals and dropout.
//
// Its layers are registered directly on the owning module under flat names (layout_emb,
// opcode_emb, dense<i>, dense_gate<i>, sage_l<i>, sage_r<i>, graph_gate<i>, log_temperature,
// dropout), so model files written before the encoder was shared still load.
class TGraphEncoder {
 public:
  // Two steps so that the owner can register its input projection in between: registration
  // order fixes the order of random initialisation, kept as it was before the encoder was shared.
  void build_embeddings(torch::nn::Module& owner, const ModelConfig& c);
  // width_in: the width blocks read (hidden); width_out: what each layer writes (hidden, or
  // hidden / 2 with cross-attention, whose concatenation doubles it back).
  void build_blocks(torch::nn::Module& owner, const ModelConfig& c, int width_in, int width_out);
  int static_dim() const { return static_dim_; }
  // [N, 134 + 6 * layout_emb_dim + opcode_dim]
  torch::Tensor static_inputs(const GraphTensors& g);
  // x: [N, S, width_out] after the input projection -> [N, S, width_in]. Takes
  // blocks_inference when that applies (no autograd, eval mode, float CPU, fp32 matmuls, on).
  torch::Tensor blocks(torch::Tensor x, const torch::Tensor& adj_mean);
  // The same map, forward only: the fused loops without saving anything, the mean aggregation
  // as a CSR loop (act_kernels.h), the two GraphSAGE products accumulated into one output, and
  // the bias of a dense Linear left out (the InstanceNorm after it removes any per-channel
  // constant). Equal to the composition up to float rounding (test
  // Layers.FastInferenceMatchesTheAutogradComposition).
  torch::Tensor blocks_inference(torch::Tensor x, const torch::Tensor& adj_mean);
  void set_fast_inference(bool on) { fast_inference_ = on; }
  torch::nn::Embedding& layout_emb() { return layout_emb_; }
  void set_matmul_bf16(bool on);  // the dense, SAGE and gate Linears (linear_bf16_or_fp32)

 private:
  torch::Tensor attend(const torch::Tensor& x, int block);
  // blocks_inference's channel gate and what follows it: u [N, S, L], then the cross-attention
  // if on, the residual r if defined, and the GELU.
  torch::Tensor gate_inference(torch::Tensor u, ChannelGate& gate, const torch::Tensor& r,
                               int block);
  bool cross_attention_ = false, bf16_ = false, fast_inference_ = true;
  int static_dim_ = 0;
  torch::nn::Embedding layout_emb_{nullptr}, opcode_emb_{nullptr};
  std::vector<torch::nn::Linear> dense_, sage_l_, sage_r_;
  std::vector<ChannelGate> dense_gate_, graph_gate_;
  torch::Tensor log_temp_;
  torch::nn::Dropout dropout_{nullptr};
};

}  // namespace tgraph
