// A user's own XLA program -> one unlabelled TpuGraphs layout graph: reads the HLO dumps XLA
// users can produce (HloProto, bare HloModuleProto, HloSnapshot; binary or text format; gzip or
// not), says which one a file is, and featurizes its module exactly like the tuning-record path.
//
// The configurable nodes are the module's convolution, dot and reshape instructions (the TpuGraphs
// rule); the graph carries one configuration, the module's own layouts (runtime 0). HLO *text*
// dumps and StableHLO are refused with an error that says how to dump a proto instead.
// Detection rules and how to produce each dump: docs/hlo_input.md.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph::featurize {

enum class HloFileKind {
  kHloModule,     // a bare HloModuleProto
  kHloProto,      // HloProto (hlo_module = 1), what --xla_dump_hlo_as_proto writes
  kHloSnapshot,   // HloSnapshot (hlo = 1 -> HloProto)
  kTuningLayout,  // ModuleTuningData (a layout tuning record): use featurize_record instead
  kTuningTile,    // TuningData (a tile tuning record): use featurize_record instead
};

// What a file was found to be: kind, text or binary, gzip or not, e.g. "HloProto (binary, gzip)".
struct HloFileInfo {
  HloFileKind kind = HloFileKind::kHloModule;
  bool text_format = false;  // protobuf text format (.pbtxt)
  bool gzip = false;         // --xla_dump_compress_protos
  std::string describe() const;
};

// libprotobuf's limit on one message, and so on what a gzip dump may inflate to (2 GiB - 1).
constexpr size_t kMaxProtoBytes = INT_MAX;

// Detects the kind of `path` from its contents (not its name). Throws tgraph::Error for HLO text
// dumps, StableHLO / MLIR, and files that are none of the above. A truncated file is classified
// from what it holds (the featurizer then names the broken field).
HloFileInfo detect_hlo_file(const std::string& path);

// As detect_hlo_file, but a binary file that is none of the kinds, or whose top-level message is
// cut short (a truncated HloProto and a truncated layout record look the same), gives nullopt
// instead of an error, so that the caller can fall back to featurize_record, whose errors name the
// broken field of a damaged tuning record. HLO text, StableHLO, broken text-format protos and
// broken gzip data still throw.
std::optional<HloFileInfo> try_detect_hlo_file(const std::string& path);

struct ModuleGraphOptions {
  // As FeaturizeOptions::minor_to_major_pad.
  float minor_to_major_pad = 0.f;
  // Output stem; empty: the module name.
  std::string name;
  // Most bytes a gzip dump may inflate to (a smaller bound for fuzzing).
  size_t max_bytes = kMaxProtoBytes;
};

// A featurized user program.
struct ModuleGraph {
  HloFileInfo info;
  std::string module_name;
  LayoutGraph graph;  // 1 configuration (the module's own layouts), config_runtime {0}
  // [N] instruction name of every node (TpuGraphs node order), for reporting layouts by name.
  std::vector<std::string> node_names;
  int64_t unknown_opcode_nodes = 0;  // nodes whose opcode has no TpuGraphs id (written as 0)
};

// Reads, detects and featurizes one HLO dump (any kind above except the tuning records, which
// throw an Error pointing at `tgraph featurize`'s record path).
ModuleGraph featurize_module_file(const std::string& path, const ModuleGraphOptions& opt = {});

// featurize_module_file for what try_detect_hlo_file recognizes as an HLO dump; nullopt for
// tuning records and for what it does not recognize (read the file with featurize_record then).
std::optional<ModuleGraph> try_featurize_module_file(const std::string& path,
                                                     const ModuleGraphOptions& opt = {});

// In-memory variants (the file's bytes; `source` names them in errors), e.g. for fuzzing.
HloFileInfo detect_hlo_bytes(const std::string& bytes, const std::string& source,
                             size_t max_bytes = kMaxProtoBytes);
ModuleGraph featurize_module_bytes(const std::string& bytes, const std::string& source,
                                   const ModuleGraphOptions& opt = {});

// Writes out_dir/<stem>.npz (the TpuGraphs layout schema) and out_dir/<stem>.names.json (a JSON
// array of the N instruction names in node order), creating out_dir. All or nothing: on an error
// neither file is left. Returns the two paths.
std::vector<std::string> write_module_graph(const ModuleGraph& m, const std::string& out_dir,
                                            int level = 6);

// True when `path` looks like an HLO dump rather than an .npz (cheap: magic bytes / extension).
// Existing files: false for directories, ZIP archives (.npz) and .tgpack files, true for gzip,
// text, MLIR bytecode and protobuf-like (first byte 0x0a) files. Missing files: by extension
// (.pb, .pbtxt, .textproto, .txt, .hlo, .mlir, .gz and compound forms such as .pb.gz).
bool is_hlo_dump_path(const std::string& path);

// gzip helpers (also used for gzip-compressed tuning records): the magic bytes 1f 8b, and
// inflating every member of `data`. Throws tgraph::Error naming `source` for corrupt or truncated
// data, trailing bytes, or more than `max_bytes` of output.
bool is_gzip(const std::string& data);
std::string gunzip(const std::string& data, const std::string& source,
                   size_t max_bytes = kMaxProtoBytes);

}  // namespace tgraph::featurize
