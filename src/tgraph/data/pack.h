// The packed layout cache: one pre-processed binary file per graph, from which a slate of
// configurations is read with pread without inflating the source npz.
//
// `pack_layout_graph` streams a TpuGraphs layout .npz once (node_config_feat chunk by chunk, never
// whole) and writes <stem>.tgpack holding the pruned graph, re-padded raw node features, runtimes
// and node_config_feat as int8 [C, NC, 18] rows (values -1..5 are exact in int8; 4x smaller than
// the f32 source, and a row of a configuration is contiguous). File format: docs in pack.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/data/prune.h"
#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

struct PackOptions {
  Reach reach;         // which nodes and edges are kept (prune_layout; default hops:1)
  bool dedup = false;  // training split only: identical configuration rows -> one row
  bool repad = true;   // minor_to_major columns re-padded with -1 (repad_minor_to_major)
  bool operator==(const PackOptions& o) const {
    return reach == o.reach && dedup == o.dedup && repad == o.repad;
  }
  bool operator!=(const PackOptions& o) const { return !(*this == o); }
};

constexpr uint32_t kPackFormatVersion = 2;  // 2: staleness by content key (was size + mtime)

// What a pack is keyed on: the source archive's member names, sizes and CRC-32s (free from the
// ZIP central directory, so no data is read) and the feature-schema version. A same-size file with
// other contents and the same mtime gets another key.
uint64_t source_content_key(const std::string& npz_path);

// Packs one layout .npz into out_path atomically (temporary file + rename). Validates the source
// like load_layout (config values integral in [-1, 5]); throws tgraph::Error naming the file.
//
// Dedup: rows with identical node_config_feat (128-bit hash of the int8 row) keep the first
// occurrence; its runtime becomes the rounded mean of the copies' runtimes (the copies are repeated
// measurements of one configuration, max/min <= 0.4 % in the real data, so the mean is the best
// estimate; the alternative, the minimum, would favour lucky measurements). The original row index
// of each kept row is stored (source_rows) and the number of removed rows is recorded.
void pack_layout_graph(const std::string& npz_path, const std::string& out_path,
                       const PackOptions& opt);

// A packed graph: everything except the configuration rows is loaded by open(); read_configs
// fetches rows on demand. Thread-safe for concurrent read_configs (pread on one descriptor).
class PackedGraph {
 public:
  // Validates magic, version, header and section sizes against the file size, checksums of the
  // loaded sections and index ranges; throws tgraph::Error naming the file and the field.
  static PackedGraph open(const std::string& path);

  PackedGraph() = default;
  ~PackedGraph();
  PackedGraph(PackedGraph&& o) noexcept;
  PackedGraph& operator=(PackedGraph&& o) noexcept;
  PackedGraph(const PackedGraph&) = delete;
  PackedGraph& operator=(const PackedGraph&) = delete;

  const std::string& path() const { return path_; }
  const std::string& stem() const { return stem_; }
  const PackOptions& options() const { return options_; }
  bool labelled() const { return labelled_; }
  uint64_t source_size() const { return source_size_; }
  uint64_t source_key() const { return source_key_; }  // source_content_key at pack time
  uint64_t file_bytes() const { return file_bytes_; }

  int64_t num_nodes() const { return num_nodes_; }                    // N' (after pruning)
  int64_t num_edges() const { return num_edges_; }                    // E'
  int64_t num_config_nodes() const { return num_config_nodes_; }      // NC
  int64_t num_configs() const { return num_configs_; }                // C (after dedup)
  int64_t source_num_nodes() const { return source_num_nodes_; }      // N in the npz
  int64_t source_num_edges() const { return source_num_edges_; }      // E in the npz
  int64_t source_num_configs() const { return source_num_configs_; }  // C in the npz
  int64_t duplicates_removed() const { return duplicates_removed_; }  // source C - C

  const std::vector<float>& node_feat() const { return node_feat_; }        // [N', 140] raw
  const std::vector<uint8_t>& node_opcode() const { return node_opcode_; }  // [N']
  const std::vector<int64_t>& edge_index() const { return edge_index_; }    // [E', 2] new ids
  const std::vector<int64_t>& config_pos() const { return config_pos_; }    // [NC] into nodes
  const std::vector<int64_t>& node_ids() const { return node_ids_; }        // [N'] original ids
  const std::vector<int64_t>& config_runtime() const { return config_runtime_; }  // [C] ns
  const std::vector<int64_t>& source_rows() const { return source_rows_; }  // [C] npz row index

  int64_t config_row_bytes() const { return num_config_nodes_ * kLayoutConfigDim; }
  // out: [rows.size(), NC, 18] int8, in the order of `rows` (any order, repeats allowed). Runs of
  // consecutive rows are read with one pread. Throws tgraph::Error for a row outside [0, C), a
  // short read, or a value outside [-1, 5] (a corrupt file).
  void read_configs(const std::vector<int64_t>& rows, int8_t* out) const;

  // True if npz_path no longer matches the size and content key recorded at pack time (or no
  // longer exists).
  bool is_stale(const std::string& npz_path) const;

 private:
  void close_fd();
  std::string path_, stem_;
  int fd_ = -1;
  PackOptions options_;
  bool labelled_ = false;
  uint64_t source_size_ = 0, file_bytes_ = 0;
  uint64_t source_key_ = 0;
  int64_t num_nodes_ = 0, num_edges_ = 0, num_config_nodes_ = 0, num_configs_ = 0;
  int64_t source_num_nodes_ = 0, source_num_edges_ = 0, source_num_configs_ = 0;
  int64_t duplicates_removed_ = 0;
  uint64_t config_offset_ = 0;
  std::vector<float> node_feat_;
  std::vector<uint8_t> node_opcode_;
  std::vector<int64_t> edge_index_, config_pos_, node_ids_, config_runtime_, source_rows_;
};

// Packs one layout .npz into a temporary file (TMPDIR) and opens it; the file is unlinked at
// once and lives as long as the returned graph's descriptor. For one-off commands (`bench`,
// `rank`, the API's prepare_file) on graphs whose configurations do not fit in memory: rows are
// read on demand. Nothing is left behind, also when the source is refused (tgraph::Error).
std::shared_ptr<const PackedGraph> pack_to_temporary(const std::string& npz_path,
                                                     const PackOptions& opt);

// What pack_collection did.
struct PackCollectionStats {
  int64_t files = 0;    // source .npz files in the split
  int64_t packed = 0;   // (re)written
  int64_t skipped = 0;  // already up to date
  int64_t removed = 0;  // orphan .tgpack files (no source any more) deleted
};

// Packs every .npz of collection c / split under npz_root into
// cache_root/<layout/src/search>/<split>/<stem>.tgpack with `threads` workers. A file whose pack
// exists, opens cleanly, matches the options and is not stale is skipped; orphans are removed.
// Returns that directory. Layout collections only.
std::string pack_collection(const std::string& npz_root, const Collection& c,
                            const std::string& split, const std::string& cache_root,
                            const PackOptions& opt, int threads,
                            PackCollectionStats* stats = nullptr);

// Sorted *.tgpack paths directly in dir (temporary files of an interrupted pack are ignored).
std::vector<std::string> list_packed(const std::string& dir);

// Size and modification time (ns since the epoch) of a file; throws tgraph::Error if missing.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
FileStamp file_stamp(const std::string& path);

}  // namespace tgraph
