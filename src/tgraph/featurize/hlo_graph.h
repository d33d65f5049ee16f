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

// Parses the `size` bytes at `data` (byte `base` of a file of `total` bytes, the whole file when
// base = 0 and size = total) into `msg`. On failure, throws tgraph::Error naming `source` and the
// first broken field found at the wire level; field paths start at `root` (empty: the message
// type's name), e.g. "HloProto.hlo_module.computations[3].instructions[7]".
void parse_message(const std::string& source, const char* data, size_t size, size_t base,
                   size_t total, google::protobuf::Message* msg, const std::string& root = "");

// The 140 node features of one instruction, written to out[0..139].
void instruction_features(const xla::HloInstructionProto& inst, bool is_root,
                          const NodeFeatureOptions& opt, float* out);

// The 24 tile config features of a run (kernel, output and input bounds: 6 values, sum, product
// each; an empty list has product 0 here, unlike node features), written to out[0..23].
void tile_config_features(const xla::TileSizeConfig& config, float* out);

// The whole file at `path` (a record or a dump). A directory or an unreadable file throws
// tgraph::Error expecting `what` (e.g. "a tuning record file (.pb)"), or `readable` for read
// errors.
std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& readable);

// ---- Wire-level scanning (record and dump kind detection) ----

// One top-level field of a binary protobuf message.
struct WireField {
  int num = 0;
  int wire = 0;
  size_t begin = 0, end = 0;  // payload (length-delimited: clipped to the data when cut short)
  bool complete = true;
};

// Calls fn(field) for the tags in [pos, end) while they are well formed and fn returns true.
// Returns true when the whole range was scanned and every field was complete; false when it
// stopped at a malformed or truncated field (reported to fn first if it was a cut-short
// length-delimited field) or because fn asked to stop.
template <typename Fn>
bool scan_fields(const std::string& bytes, size_t pos, size_t end, Fn fn) {
  const auto* d = reinterpret_cast<const uint8_t*>(bytes.data());
  auto varint = [&](uint64_t* v) {
    *v = 0;
    for (int i = 0; i < 10 && pos < end; ++i) {
      const uint8_t b = d[pos++];
      *v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  while (pos < end) {
    uint64_t tag, v;
    if (!varint(&tag) || (tag >> 3) == 0 || (tag >> 3) > 536870911) return false;
    WireField f;
    f.num = static_cast<int>(tag >> 3);
    f.wire = static_cast<int>(tag & 7);
    if (f.wire == 0) {
      f.begin = pos;
      if (!varint(&v)) return false;
      f.end = pos;
    } else if (f.wire == 1 || f.wire == 5) {
      const size_t n = f.wire == 1 ? 8 : 4;
      if (end - pos < n) return false;
      f.begin = pos;
      f.end = pos += n;
    } else if (f.wire == 2) {
      if (!varint(&v)) return false;
      f.begin = pos;
      f.complete = v <= end - pos;
      f.end = f.complete ? pos + static_cast<size_t>(v) : end;
      pos = f.end;
    } else {
      return false;  // groups do not occur in XLA's protos; an invalid wire type
    }
    if (!fn(f) || !f.complete) return false;
  }
  return true;
}

}  // namespace tgraph::featurize
