// Versioned, self-describing model files: magic, format version, feature-schema version, model
// name and hyper-parameters, normaliser statistics, pre-processing, training metadata, weights.
//
// Layout (little-endian): "TGRAPHMF" | u32 format version | u64 header length | header JSON |
// raw tensor bytes. The header's "tensors" list gives each tensor's name, dtype, shape, offset and
// size within the data block. Weights are stored as float32 on the CPU.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "tgraph/model/models.h"

namespace tgraph {

constexpr uint32_t kModelFormatVersion = 1;
// Bump whenever node/config features change meaning (columns, padding, normalisation inputs):
// a model trained on one schema must not silently score inputs made for another.
constexpr uint32_t kFeatureSchemaVersion = 1;

struct ModelFile {
  std::string task = "layout";  // layout | tile
  ModelConfig config;
  nlohmann::json normalizer;     // FeatureNormalizer::to_json()
  nlohmann::json preprocessing;  // {"prune": bool, "repad": bool}
  nlohmann::json training;       // collection, loss, steps, seconds, best validation, seed, ...
  std::map<std::string, torch::Tensor> tensors;  // named parameters and buffers
};

// Collects a module's parameters and buffers (moved to CPU float32).
std::map<std::string, torch::Tensor> module_tensors(const torch::nn::Module& m);
// Copies named tensors into a module; throws tgraph::Error (naming `source`) on a missing,
// unexpected or mis-shaped tensor.
void load_module_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t,
                         const std::string& source);

void save_model_file(const std::string& path, const ModelFile& f);  // atomic
ModelFile load_model_file(const std::string& path);                 // validates everything
// Header only (no weights): for `tgraph info`.
nlohmann::json read_model_header(const std::string& path);

// Model + its file, ready to score.
struct LoadedModel {
  ModelFile file;
  LayoutModel model;
};
LoadedModel load_layout_model(const std::string& path, torch::Device device);

}  // namespace tgraph
