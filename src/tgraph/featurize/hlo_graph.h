// HloModuleProto -> TpuGraphs graph: node order, edges, node_splits, opcode ids and the 140 node
// features (tpugraphs-format.md sections 2.2, 3.1 and 3.4). Internal to tgraph_featurize: it
// exposes protobuf types, which featurize.h keeps out of its public interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/tuning.pb.h"

namespace tgraph::featurize {

struct NodeFeatureOptions {
  // Written to the minor_to_major slots (cols 134-139) past the tensor's rank. 0 reproduces the
  // TpuGraphs files (ambiguous with dimension 0); -1 marks "no such dimension".
  float minor_to_major_pad = 0.f;
};

struct HloGraph {
  int64_t num_nodes = 0;             // N
  std::vector<float> node_feat;      // [N, 140]
  std::vector<uint8_t> node_opcode;  // [N]
  std::vector<int64_t> edge_index;   // [E, 2] rows (user, operand), sorted, unique
  std::vector<int64_t> node_splits;  // [S] 0, ..., N
  int64_t unknown_opcode_nodes = 0;  // nodes whose opcode string has no id (written as 0)
};

// Encodes every computation of `module` in proto order. `source` (the record file) and `field`
// (the module's path in the record, e.g. "ModuleTuningData.module") name it in error messages;
// dangling operand / computation ids and duplicate instruction ids throw tgraph::Error.
HloGraph encode_hlo_module(const xla::HloModuleProto& module, const NodeFeatureOptions& opt,
                           const std::string& source, const std::string& field);

// The 140 node features of one instruction, written to out[0..139].
void instruction_features(const xla::HloInstructionProto& inst, bool is_root,
                          const NodeFeatureOptions& opt, float* out);

// The 24 tile config features of a run (kernel, output and input bounds: 6 values, sum, product
// each; an empty list has product 0 here, unlike node features), written to out[0..23].
void tile_config_features(const xla::TileSizeConfig& config, float* out);

}  // namespace tgraph::featurize
