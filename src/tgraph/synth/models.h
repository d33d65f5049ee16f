// Model families of the synthetic generator: CNN- and transformer-like HLO modules (an inference
// graph, or a training step: forward, backward, optimizer update inside a while loop) and small
// fused kernels for the tile collection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/rng.h"

namespace tgraph::synth {

struct ModelSpec {
  // resnet | resnet_bottleneck | vgg | alexnet | mobilenet | inception | unet3d | bert |
  // transformer
  std::string family = "resnet";
  bool train = false;
  ElemType dtype = ElemType::kBF16;
  int depth = 4;  // CNN: residual/conv blocks; transformer: encoder layers
  // CNN
  int64_t batch = 32, image = 224, width = 64, classes = 1000;
  // transformer
  int64_t hidden = 768, heads = 12, seq = 128, vocab = 30522, ffn_mult = 4, num_labels = 2;
  bool flatten_dense = false;  // dense layers on [B*S, H] (reshape around them) vs on [B, S, H]
  bool all_reduce = false;     // data-parallel step: gradients are all-reduced
  bool adam = false;           // optimizer: Adam (else momentum SGD)
  std::string name;            // file stem for train/valid
};

Module build_model(const ModelSpec& s);

// A spec for collection source "xla" (CNNs and transformers) or "nlp" (BERT-family encoders), with
// its depth chosen so that the module has about `target_nodes` nodes.
ModelSpec sample_model(const std::string& source, int64_t target_nodes, Rng& rng);

// The scale-test graph: a BERT-like training step (Adam, all-reduce) of about `target_nodes`
// nodes, about 5 % of them configurable.
ModelSpec largest_model(int64_t target_nodes);

// A fused kernel of the tile collection plus what the tile cost model needs to know about it.
struct TileKernel {
  Module module;
  std::string kind;                  // conv | dot | elementwise | reduce | softmax | optimizer
  std::string model;                 // model-like name used in the file stem
  std::vector<int64_t> out_dims;     // root output shape (tiled by output_bounds)
  std::vector<int64_t> kernel_dims;  // weight operand of conv/dot kernels (kernel_bounds), else {}
  int64_t contract = 1;              // contraction length per output element (conv/dot), else 1
  int eb = 4;                        // element bytes of the output
  double flops = 0;                  // whole kernel
  double act_bytes = 0;              // non-weight operand bytes (read per output-column tile)
  double weight_bytes = 0;           // weight operand bytes (read per output-row tile)
  double out_bytes = 0;
};

TileKernel build_tile_kernel(Rng& rng);

}  // namespace tgraph::synth
