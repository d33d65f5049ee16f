// Kaggle submission CSVs (header "ID,TopConfigs"): validation, atomic writing, reading back.
//
// Format: ../shared/docs/tpugraphs-format.md section 4.4. One row per test graph,
// "<ID>,<i>;<j>;<k>..." with 0-based configuration indices, fastest first. IDs are
// submission_id(collection, stem): "layout:<xla|nlp>:<default|random>:<stem>" or "tile:xla:<stem>".
// Layout rows are a full permutation of the graph's configurations; tile rows list the top
// min(5, C). Every violation throws tgraph::Error naming the row's ID (or, while parsing, the
// line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

constexpr int64_t kTileSubmissionK = 5;  // tile rows list the top 5 (all if fewer)

struct SubmissionRow {
  std::string id;
  std::vector<int64_t> top;       // configuration indices, fastest first
  int64_t num_configs = -1;       // C of the graph; -1 = unknown (tile rows read from a CSV)
  bool full_permutation = false;  // layout rows: true; tile rows: false
};

// Checks, in order, for every row: the ID is "<collection>:<stem>" with one of the five
// collections and a non-empty stem free of ',', '"', ';' and line breaks; full_permutation matches
// the collection's kind (layout => true); no ID repeats an earlier row; num_configs >= 1 unless
// unknown (-1, tile only); every index is in [0, num_configs) (>= 0 when unknown) and appears once;
// a layout row has exactly num_configs entries; a tile row has min(5, C) entries, or 1..5 when C is
// unknown. `source` (a path, or "submission") starts the error message.
void validate_submission(const std::vector<SubmissionRow>& rows,
                         const std::string& source = "submission");

// Tile rows read from a CSV do not say C; no TpuGraphs graph has this many configurations.
constexpr int64_t kMaxConfigIndex = int64_t(1) << 31;

// The collection an ID belongs to and its stem, from its "<collection>:" prefix; false if none.
bool collection_of_id(const std::string& id, Collection* out, std::string* stem);

// Against the data: every row's graph must exist in data_root's `split` of its collection (its C
// is then known, so every index range is checked exactly, tile rows included), and every graph of
// each collection that has rows must have one (completeness). Throws tgraph::Error naming the ID
// or the missing file.
void check_submission_against_data(std::vector<SubmissionRow>* rows, const std::string& data_root,
                                   const std::string& split);

// Validates, then writes the CSV atomically (a failure leaves any previous file untouched).
// Rows are written in the given order.
void write_submission_csv(const std::string& path, const std::vector<SubmissionRow>& rows);

// Parses a submission CSV written by write_submission_csv or pandas (LF or CRLF line ends, no
// quoting). Layout rows get num_configs = number of entries and full_permutation = true; tile rows
// get num_configs = -1 (the CSV does not say) and full_permutation = false. The rows are then
// validated. Parse errors name the file and the 1-based line.
std::vector<SubmissionRow> read_submission_csv(const std::string& path);

}  // namespace tgraph
