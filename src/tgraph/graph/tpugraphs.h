// TpuGraphs files: typed layout and tile graphs loaded from .npz with full schema validation.
//
// Schema: ../shared/docs/tpugraphs-format.md section 2. Every violation throws tgraph::Error with
// one line naming the file, the key, what was expected and what was found. Files whose
// config_runtime is all zeros (the test split) load fine and are flagged unlabelled.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tgraph {

constexpr int kNodeFeatDim = 140;  // node_feat columns
constexpr int kLayoutTensors = 3;  // layout config slots: output, operand 0, operand 1
constexpr int kLayoutDims = 6;     // values per slot (a minor_to_major list, -1 padded)
constexpr int kLayoutConfigDim = kLayoutTensors * kLayoutDims;  // node_config_feat last axis: 18
constexpr int kTileConfigDim = 24;                              // config_feat columns
constexpr int kNumOpcodes = 121;                                // opcode ids 0..120

enum class Kind { kLayout, kTile };

// Common graph part of both file kinds.
struct GraphBase {
  std::string path;                  // file it came from
  std::string stem;                  // file name without .npz (the graph id in submissions)
  int64_t num_nodes = 0;             // N
  int64_t num_edges = 0;             // E
  std::vector<float> node_feat;      // [N, 140]
  std::vector<uint8_t> node_opcode;  // [N]
  std::vector<int64_t> edge_index;   // [E, 2] rows (user, operand): user consumes operand's output
  std::vector<int64_t> config_runtime;  // [C] ns; all 0 in unlabelled (test) files
  int64_t num_configs = 0;              // C
  bool labelled = false;                // any runtime > 0
};

struct LayoutGraph : GraphBase {
  int64_t num_config_nodes = 0;          // NC
  std::vector<int64_t> node_config_ids;  // [NC] ascending node indices
  std::vector<float> node_config_feat;   // [C, NC, 18]; empty when loaded without config features
  std::vector<int64_t> node_splits;      // [S] computation boundaries, 0 .. N
  bool config_feat_loaded = false;

  const float* config_row(int64_t c) const {  // [NC, 18] of configuration c
    return node_config_feat.data() + c * num_config_nodes * kLayoutConfigDim;
  }
};

struct TileGraph : GraphBase {
  std::vector<float> config_feat;                   // [C, 24]
  std::vector<int64_t> config_runtime_normalizers;  // [C]
};

struct LoadOptions {
  // Layout only: load node_config_feat into memory. When false it is still streamed through
  // validation (dtype, shape, value range) chunk by chunk, unless validate_config_values is false.
  // The member is always read in chunks, so loading costs its size once (not twice).
  bool load_config_feat = true;
  bool validate_config_values = true;
  // Layout only, >= 0: keep only the first max_configs configurations (num_configs,
  // config_runtime and node_config_feat then describe those; every row is still validated).
  // For commands that need a sample of a graph's configurations, not all 100 000 (12.7 GB).
  int64_t max_configs = -1;
  // Layout only: called with each validated chunk of configurations ([rows, NC, 18] floats from
  // row `first` of the file), whether or not they are kept: a pass over every configuration in
  // bounded memory (`tgraph oracle`).
  std::function<void(const float* rows, int64_t first, int64_t count)> on_configs;
};

LayoutGraph load_layout(const std::string& path, const LoadOptions& opt = {});
TileGraph load_tile(const std::string& path);

// Which kind a file is, from its keys (node_config_feat => layout, config_feat => tile).
Kind detect_kind(const std::string& path);

// A collection such as "layout:xla:random" or "tile:xla" and its directory under an npz root.
struct Collection {
  Kind kind = Kind::kLayout;
  std::string source;        // xla | nlp
  std::string search;        // random | default (layout only)
  std::string name() const;  // "layout:xla:random"
  std::string dir(const std::string& npz_root, const std::string& split) const;
};
Collection parse_collection(const std::string& spec);  // throws tgraph::Error on a bad spec
std::vector<Collection> all_collections();             // the five TpuGraphs collections

// Sorted .npz paths directly in a directory (e.g. npz/layout/xla/random/train).
std::vector<std::string> list_graph_files(const std::string& dir);
// Sorted .npz paths anywhere below a directory.
std::vector<std::string> list_graph_files_recursive(const std::string& dir);

// Kaggle submission id of a file: "layout:xla:random:<stem>" / "tile:xla:<stem>".
std::string submission_id(const Collection& c, const std::string& stem);

}  // namespace tgraph
