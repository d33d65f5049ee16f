// Raw XLA tuning records (.pb) -> TpuGraphs layout / tile graphs, and writing them as .npz files.
//
// A layout record (ModuleTuningData) becomes one LayoutGraph; a tile record (TuningData) one
// TileGraph per kernel. Feature rules: ../shared/docs/tpugraphs-format.md sections 2-3. Bad input
// (unparseable bytes, a missing module, dangling ids, no default run, ...) throws tgraph::Error
// with one line naming the record file and the field path, e.g.
// "x.pb: ModuleTuningData.runs[57]: expected 646 bytes, found 120 bytes before the end of the
// data".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph::featurize {

enum class RecordKind { kAuto, kLayout, kTile };

struct FeaturizeOptions {
  RecordKind kind = RecordKind::kAuto;  // kAuto: detect_record_kind
  // Value of minor_to_major slots (node_feat cols 134-139) past the tensor's rank: 0 is exactly
  // TpuGraphs; -1 removes the ambiguity with dimension 0.
  float minor_to_major_pad = 0.f;
  // Layout: the is_default run's row is all -1 ("the compiler chooses"), as in TpuGraphs. False
  // keeps the layouts the compiler recorded for that run.
  bool default_config_all_minus_one = true;
  // Replaces the HLO module name in output stems (e.g. the model name); empty: module name.
  std::string name;
};

// What was read and what was left out.
struct FeaturizeStats {
  int64_t runs_total = 0;            // runs in the record (all kernels)
  int64_t runs_kept = 0;             // rows written
  int64_t runs_error = 0;            // dropped: error flag set
  int64_t runs_default_repeats = 0;  // layout: is_default runs after the first (one row kept)
  int64_t runs_no_runtime = 0;       // tile: dropped, compute_time_ns <= 1 (as TpuGraphs)
  int64_t kernels_total = 0;         // tile: ModuleTuningData entries
  int64_t kernels_skipped = 0;       // tile: fewer than 2 runs, or a run without a tile config
  int64_t unknown_opcode_nodes = 0;  // nodes whose opcode has no TpuGraphs id (written as 0)
};

struct FeaturizedRecord {
  RecordKind kind = RecordKind::kLayout;  // kLayout or kTile
  std::string source;                     // the record file
  std::vector<LayoutGraph> layouts;       // kLayout: one graph
  std::vector<TileGraph> tiles;           // kTile: one per kept kernel, record order
  FeaturizeStats stats;
};

// Layout (ModuleTuningData) or tile (TuningData) record, from its top-level fields.
RecordKind detect_record_kind(const std::string& path);

// Reads and featurizes a whole record in memory; graphs get `stem` (output name), `path` empty.
// A gzip-compressed record (magic bytes 1f 8b) is inflated first. Users' HLO dumps (HloProto,
// ...) are read by hlo_input.h instead.
FeaturizedRecord featurize_record(const std::string& path, const FeaturizeOptions& opt = {});
std::vector<LayoutGraph> featurize_layout_record(const std::string& path,
                                                 const FeaturizeOptions& opt = {});
std::vector<TileGraph> featurize_tile_record(const std::string& path,
                                             const FeaturizeOptions& opt = {});

// One .npz in the TpuGraphs schema (key order and dtypes of section 2). level: 0 stored, 1-9
// deflate (6 = np.savez_compressed).
void write_layout_npz(const LayoutGraph& g, const std::string& path, int level = 6);
void write_tile_npz(const TileGraph& g, const std::string& path, int level = 6);

// Writes every graph of `r` as out_dir/<stem>.npz (creating out_dir). All or nothing: if one file
// cannot be written, the files already written by this call are removed. Returns the paths.
std::vector<std::string> write_featurized(const FeaturizedRecord& r, const std::string& out_dir,
                                          int level = 6);

// Output-name helpers: characters outside [A-Za-z0-9._-] become '_'; a fingerprint as TpuGraphs
// prints it (signed 64-bit hex: "-1bae27a41d70f4dc").
std::string sanitize_stem(const std::string& s);
std::string signed_hex(uint64_t fingerprint);

}  // namespace tgraph::featurize
