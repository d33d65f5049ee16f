// Versioned, self-describing model files: magic, format version, feature-schema version, model
// name and hyper-parameters, normaliser statistics, pre-processing, training metadata, weights.
//
// Layout (little-endian): "TGRAPHMF" | u32 format version | u64 header length | header JSON |
// raw tensor bytes. The header's "tensors" list gives each tensor's name, dtype, shape, offset and
// size within the data block. Weights are stored as float32 on the CPU.
//
// Two optional parts: "optimizer" (AdamW state of a model fine-tuned through the cost-model API;
// its tensors are named "optimizer.<parameter>.<exp_avg|exp_avg_sq>") and "ensemble" (a seed
// ensemble: the header lists each member's model/normaliser/pre-processing/training and its score
// calibration, the member's tensors are named "member<i>/<name>"; there is no top-level "model").
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "tgraph/data/features.h"
#include "tgraph/data/prune.h"
#include "tgraph/model/models.h"

namespace tgraph {

constexpr uint32_t kModelFormatVersion = 1;
// kFeatureSchemaVersion (data/features.h) is written into every model file and pack.

struct ModelFile {
  std::string task = "layout";  // layout | tile
  ModelConfig config;
  nlohmann::json normalizer;     // FeatureNormalizer::to_json()
  nlohmann::json preprocessing;  // {"prune": true | false | "hops:K" | "contract", "repad": bool}
  nlohmann::json training;       // collection, loss, steps, seconds, best validation, seed, ...
  std::map<std::string, torch::Tensor> tensors;  // named parameters and buffers
  nlohmann::json optimizer;                      // null, or {"name": "adamw", "lr", "step", ...}
  std::map<std::string, torch::Tensor> optimizer_tensors;  // "<parameter>.exp_avg" etc.
};

// Collects a module's parameters and buffers (moved to CPU float32).
std::map<std::string, torch::Tensor> module_tensors(const torch::nn::Module& m);
// Copies named tensors into a module; throws tgraph::Error (naming `source`) on a missing,
// unexpected or mis-shaped tensor.
void load_module_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t,
                         const std::string& source);
// Copies only the tensors whose name and shape match (the rest of m is left as it is); returns
// how many. For starting one architecture from another's weights (train --init).
size_t load_matching_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t);

void save_model_file(const std::string& path, const ModelFile& f);  // atomic
ModelFile load_model_file(const std::string& path);                 // validates everything
// Header only (no weights): for `tgraph info`.
nlohmann::json read_model_header(const std::string& path);

// One network with the pre-processing its file prescribes, ready to score (eval mode).
struct LoadedNet {
  ModelFile file;
  Model net;
  FeatureNormalizer node_norm;
  TileConfigNormalizer config_norm;  // tile only
  double offset = 0, scale = 1;      // ensemble calibration: member score -> (s - offset) / scale
};

// preprocessing.prune of a layout model file: true (hops:1, the reference), false (whole) or the
// reach's name. Other reaches are written as strings on purpose: a build that predates them
// refuses the file ("expected true | false") instead of scoring it with the wrong graph.
nlohmann::json reach_to_json(const Reach& r);
// Throws tgraph::Error naming path and preprocessing.prune.
Reach reach_from_json(const nlohmann::json& v, const std::string& path);

// A model file loaded for scoring: one network, or the members of a seed ensemble. All members
// share the task and the graph pre-processing (checked when the ensemble is written).
struct LoadedModel {
  std::string path;
  torch::Device device = torch::kCPU;
  Kind task = Kind::kLayout;
  Reach reach;                     // layout graph reach (prune.h); tile: whole
  bool repad = true;               // re-pad minor_to_major
  std::string collection;          // training collection
  std::vector<LoadedNet> members;  // one unless an ensemble
  bool ensemble = false;           // written by save_ensemble_file
  // The first (or only) member's network and file: what single-model callers use.
  ModelImpl& net() const { return *members.at(0).net; }
  const ModelFile& file() const { return members.at(0).file; }
};

// The slate a model is scored in when the caller does not choose one (slate 0 in evaluate,
// predict, rank and the API). Without cross-attention the slate does not change a score: 512. With
// it a score depends on the slate, and slates near the training slate rank best: 2 x the training
// slate recorded in the file (64 for tgraph-cpu), chosen on synthetic datasets independent of the
// benchmark and confirmed on the benchmark's validation graphs (docs/results.md, "Inference
// slate").
int64_t default_inference_slate(const LoadedModel& m);
constexpr int64_t kPlainInferenceSlate = 512;

// How many independent slate partitions a model's scores are averaged over when the caller does
// not choose (repeats 0 in evaluate, predict, rank and the API; score_configs): 1 without
// cross-attention, where the partition changes nothing; kXattnSlateRepeats with it, where a score
// depends on its slate companions (measured on the benchmark's validation graphs: docs/results.md,
// "Slate repeats").
int default_slate_repeats(const LoadedModel& m);
constexpr int kXattnSlateRepeats = 8;

// Loads any model file (layout or tile, single or ensemble); throws tgraph::Error naming the file.
LoadedModel load_model(const std::string& path, torch::Device device);
// As load_model, and refuses a file of the other task.
LoadedModel load_model(const std::string& path, torch::Device device, Kind expected_task);

// Writes a seed ensemble of model files of the same task, collection and pre-processing.
// calibration[i] = {offset, scale} standardises member i's scores (see docs/model.md).
void save_ensemble_file(const std::string& path, const std::vector<std::string>& members,
                        const std::vector<std::pair<double, double>>& calibration);

// Writes a loaded model back (a single model file, or an ensemble file when m.ensemble) with the
// members' current weights; each member's file.optimizer / optimizer_tensors are written as set.
void save_loaded_model(const std::string& path, const LoadedModel& m);

}  // namespace tgraph
