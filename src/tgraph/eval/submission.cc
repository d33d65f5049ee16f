#include "tgraph/eval/submission.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tgraph/graph/tpugraphs.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {
constexpr const char* kHeader = "ID,TopConfigs";
}  // namespace

bool collection_of_id(const std::string& id, Collection* out, std::string* stem) {
  for (const Collection& c : all_collections()) {
    std::string prefix = c.name() + ":";
    if (id.compare(0, prefix.size(), prefix) == 0) {
      *out = c;
      *stem = id.substr(prefix.size());
      return true;
    }
  }
  return false;
}

namespace {

void validate_row(const SubmissionRow& r, const std::string& source) {
  const std::string where = source + ": " + (r.id.empty() ? std::string("(empty ID)") : r.id);
  Collection c;
  std::string stem;
  if (!collection_of_id(r.id, &c, &stem))
    throw_error(where, "ID", "'layout:<xla|nlp>:<default|random>:<stem>' or 'tile:xla:<stem>'",
                "'" + r.id + "'");
  // These characters would break the unquoted CSV or the ';' list.
  if (stem.empty() || stem.find_first_of(",;\"\r\n") != std::string::npos)
    throw_error(where, "ID", "a non-empty file stem without ',', ';', '\"' or line breaks",
                "'" + stem + "'");
  const bool layout = c.kind == Kind::kLayout;
  if (r.full_permutation != layout)
    throw_error(where, "TopConfigs",
                layout ? "a full permutation (layout row)" : "a top-5 list (tile row)",
                r.full_permutation ? "a row marked full permutation" : "a row marked top-k");
  const int64_t C = r.num_configs;
  const bool known = C != -1;
  if (known && C < 1) throw_error(where, "num_configs", "at least 1 configuration", TG_STR(C));
  if (!known && layout)
    throw_error(where, "num_configs", "a known configuration count for a layout row", "-1");

  const int64_t n = static_cast<int64_t>(r.top.size());
  if (layout && n != C)
    throw_error(where, "TopConfigs", TG_STR("a full permutation of " << C << " configurations"),
                TG_STR(n << " entries"));
  if (!layout) {
    if (known && n != std::min(kTileSubmissionK, C))
      throw_error(where, "TopConfigs",
                  TG_STR(std::min(kTileSubmissionK, C) << " entries (min(5, C), C = " << C << ")"),
                  TG_STR(n << " entries"));
    if (!known && (n < 1 || n > kTileSubmissionK))
      throw_error(where, "TopConfigs", "1 to 5 entries", TG_STR(n << " entries"));
  }
  // Indices of a tile row with unknown C can be anything >= 0; a hash map keeps that cheap.
  std::unordered_map<int64_t, int64_t> first_pos;
  first_pos.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t t = r.top[i];
    if (t < 0 || (known && t >= C) || t >= kMaxConfigIndex)
      throw_error(where, "TopConfigs",
                  known ? TG_STR("indices in [0, " << C << ") (C = " << C << ")")
                        : std::string("indices in [0, 2^31)"),
                  TG_STR(t << " at position " << i));
    const auto ins = first_pos.emplace(t, i);  // (no structured binding: captured by TG_STR)
    if (!ins.second)
      throw_error(where, "TopConfigs", "each index once",
                  TG_STR(t << " at positions " << ins.first->second << " and " << i));
  }
}

int64_t parse_index(const std::string& tok, const std::string& where) {
  int64_t v = 0;
  const char* b = tok.data();
  const char* e = b + tok.size();
  // Digits only: from_chars alone would accept a leading '-'.
  bool digits = !tok.empty() && tok.find_first_not_of("0123456789") == std::string::npos;
  auto res = std::from_chars(b, e, v);
  if (!digits || res.ec != std::errc() || res.ptr != e)
    throw_error(where, "TopConfigs", "a non-negative integer index", "'" + tok + "'");
  return v;
}

}  // namespace

void validate_submission(const std::vector<SubmissionRow>& rows, const std::string& source) {
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    validate_row(rows[i], source);
    const auto ins = seen.emplace(rows[i].id, i);
    if (!ins.second)
      throw_error(
          source + ": " + rows[i].id, "ID", "unique IDs",
          TG_STR("a duplicate (data rows " << ins.first->second + 1 << " and " << i + 1 << ")"));
  }
}

void write_submission_csv(const std::string& path, const std::vector<SubmissionRow>& rows) {
  validate_submission(rows, path);
  AtomicFile f(path, /*binary=*/true);
  std::ostream& os = f.stream();
  os << kHeader << '\n';
  for (const SubmissionRow& r : rows) {
    os << r.id << ',';
    for (size_t i = 0; i < r.top.size(); ++i) {
      if (i) os << ';';
      os << r.top[i];
    }
    os << '\n';
  }
  f.commit();
}

std::vector<SubmissionRow> read_submission_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error(path, "", "a readable submission CSV", "cannot open the file");
  std::vector<SubmissionRow> rows;
  std::string line;
  int64_t lineno = 0;
  bool blank_seen = false;  // a blank line is allowed only at the very end
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = TG_STR(path << ":" << lineno);
    if (lineno == 1) {
      if (line != kHeader) throw_error(where, "header", kHeader, "'" + line + "'");
      continue;
    }
    if (line.empty()) {
      blank_seen = true;
      continue;
    }
    if (blank_seen) throw_error(where, "", "no blank lines between rows", "a blank line before it");
    size_t comma = line.find(',');
    if (comma == std::string::npos || line.find(',', comma + 1) != std::string::npos)
      throw_error(where, "", "two fields 'ID,TopConfigs'",
                  comma == std::string::npos ? "no ','" : "more than one ','");
    SubmissionRow r;
    r.id = line.substr(0, comma);
    if (r.id.empty()) throw_error(where, "ID", "a non-empty ID", "''");
    std::string list = line.substr(comma + 1);
    if (list.empty()) throw_error(where, "TopConfigs", "at least one index", "''");
    std::stringstream ss(list);
    std::string tok;
    while (std::getline(ss, tok, ';')) r.top.push_back(parse_index(tok, where));
    if (list.back() == ';') throw_error(where, "TopConfigs", "no trailing ';'", "'" + list + "'");
    r.full_permutation = r.id.compare(0, 7, "layout:") == 0;
    r.num_configs = r.full_permutation ? static_cast<int64_t>(r.top.size()) : -1;
    rows.push_back(std::move(r));
  }
  if (lineno == 0) throw_error(path, "header", kHeader, "an empty file");
  validate_submission(rows, path);
  return rows;
}

void check_submission_against_data(std::vector<SubmissionRow>* rows, const std::string& data_root,
                                   const std::string& split) {
  std::map<std::string, std::set<std::string>> stems;  // collection -> stems with a row
  for (SubmissionRow& r : *rows) {
    Collection c;
    std::string stem;
    if (!collection_of_id(r.id, &c, &stem)) continue;  // validate_submission names it
    const std::string f =
        (std::filesystem::path(c.dir(data_root, split)) / (stem + ".npz")).string();
    if (!std::filesystem::is_regular_file(f))
      throw_error(r.id, "ID", "a graph of the " + split + " split under " + data_root,
                  "no file " + f);
    NpzReader z(f);
    const NpyHeader h = z.header("config_runtime");
    if (h.shape.size() != 1) throw_error(f, "config_runtime", "shape (C,)", h.shape_str());
    r.num_configs = h.shape[0];
    stems[c.name()].insert(stem);
  }
  validate_submission(*rows);
  for (const auto& [name, have] : stems) {
    const std::string dir = parse_collection(name).dir(data_root, split);
    int64_t missing = 0;
    std::string first;
    for (const auto& f : list_graph_files(dir)) {
      const std::string stem = std::filesystem::path(f).stem().string();
      if (!have.count(stem)) {
        if (missing++ == 0) first = f;
      }
    }
    if (missing)
      throw_error(dir, name, "a row for every graph of the split",
                  TG_STR(missing << " without one, e.g. " << first));
  }
}

}  // namespace tgraph
