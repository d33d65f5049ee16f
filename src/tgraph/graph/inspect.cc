#include "tgraph/graph/inspect.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "tgraph/graph/tpugraphs.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {

namespace {

// 128-bit row fingerprint (two independent 64-bit FNV-1a variants): counting distinct rows
// without keeping them, so a multi-GB node_config_feat can be streamed.
struct RowHash {
  uint64_t a, b;
  bool operator==(const RowHash& o) const { return a == o.a && b == o.b; }
};
struct RowHashHasher {
  size_t operator()(const RowHash& h) const { return static_cast<size_t>(h.a ^ (h.b * 31)); }
};

RowHash hash_row(const uint8_t* p, size_t n) {
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; ++i) {
    a = (a ^ p[i]) * 1099511628211ull;
    b = (b ^ (p[i] + 0x5bu)) * 0x100000001b3ull + (b >> 29);
  }
  return {a, b};
}

int64_t count_duplicate_rows(const std::string& path, const std::string& key) {
  NpzReader r(path);
  NpyHeader h = r.header(key);
  const int64_t rows = h.shape.empty() ? 0 : h.shape[0];
  if (rows == 0) return 0;
  const uint64_t row_bytes = h.data_bytes() / static_cast<uint64_t>(rows);
  const int64_t chunk =
      std::max<int64_t>(1, static_cast<int64_t>((16u << 20) / std::max<uint64_t>(row_bytes, 1)));
  std::unordered_set<RowHash, RowHashHasher> seen;
  seen.reserve(static_cast<size_t>(rows));
  int64_t dups = 0;
  r.for_each_rows(key, chunk, [&](const NdArray& a, int64_t) {
    for (int64_t i = 0; i < a.dim(0); ++i)
      if (!seen.insert(hash_row(a.raw() + i * row_bytes, row_bytes)).second) ++dups;
  });
  return dups;
}

template <typename T>
T median_of(std::vector<T> v) {
  if (v.empty()) return T{};
  size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(m), v.end());
  return v[m];  // upper median: an actual value, no averaging of integers
}

void fill_runtime(const GraphBase& g, GraphSummary* s) {
  s->num_nodes = g.num_nodes;
  s->num_edges = g.num_edges;
  s->num_configs = g.num_configs;
  s->labelled = g.labelled;
  if (g.labelled) {
    auto mm = std::minmax_element(g.config_runtime.begin(), g.config_runtime.end());
    s->runtime_min = *mm.first;
    s->runtime_max = *mm.second;
    s->runtime_median = median_of(g.config_runtime);
  }
  for (int64_t e = 0; e < g.num_edges; ++e)
    if (g.edge_index[2 * e] <= g.edge_index[2 * e + 1]) s->edges_user_after_operand = false;
}

// ".../layout/xla/random/train/x.npz" -> collection and split.
void infer_collection(const std::string& path, GraphSummary* s) {
  std::vector<std::string> parts;
  for (const auto& p : fs::path(path).parent_path()) parts.push_back(p.string());
  const size_t n = parts.size();
  auto is_split = [](const std::string& x) { return x == "train" || x == "valid" || x == "test"; };
  if (n >= 4 && parts[n - 4] == "layout" && is_split(parts[n - 1])) {
    s->collection = "layout:" + parts[n - 3] + ":" + parts[n - 2];
    s->split = parts[n - 1];
  } else if (n >= 3 && parts[n - 3] == "tile" && is_split(parts[n - 1])) {
    s->collection = "tile:" + parts[n - 2];
    s->split = parts[n - 1];
  }
}

std::string human(int64_t v) {
  std::ostringstream o;
  if (v >= 1000000000)
    o << std::fixed << std::setprecision(2) << v / 1e9 << "G";
  else if (v >= 1000000)
    o << std::fixed << std::setprecision(2) << v / 1e6 << "M";
  else if (v >= 10000)
    o << std::fixed << std::setprecision(1) << v / 1e3 << "k";
  else
    o << v;
  return o.str();
}

}  // namespace

GraphSummary summarize_graph_file(const std::string& path) {
  GraphSummary s;
  s.path = path;
  s.stem = fs::path(path).stem().string();
  infer_collection(path, &s);
  if (detect_kind(path) == Kind::kLayout) {
    s.kind = "layout";
    LoadOptions opt;
    opt.load_config_feat = false;  // streamed through validation, never held whole
    LayoutGraph g = load_layout(path, opt);
    fill_runtime(g, &s);
    s.num_config_nodes = g.num_config_nodes;
    s.duplicate_configs = count_duplicate_rows(path, "node_config_feat");
  } else {
    s.kind = "tile";
    TileGraph g = load_tile(path);
    fill_runtime(g, &s);
    s.duplicate_configs = count_duplicate_rows(path, "config_feat");
  }
  return s;
}

std::vector<GraphSummary> summarize_graph_files(const std::vector<std::string>& paths,
                                                int threads) {
  std::vector<GraphSummary> out(paths.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < paths.size();) {
      try {
        out[i] = summarize_graph_file(paths[i]);
      } catch (const Error& e) {
        out[i].path = paths[i];
        out[i].stem = fs::path(paths[i]).stem().string();
        infer_collection(paths[i], &out[i]);
        out[i].error = e.what();
      }
    }
  };
  threads = std::max(1, std::min<int>(threads, static_cast<int>(paths.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

std::vector<DirSummary> group_by_directory(const std::vector<GraphSummary>& files) {
  std::map<std::string, std::vector<const GraphSummary*>> by_dir;
  for (const auto& f : files) by_dir[fs::path(f.path).parent_path().string()].push_back(&f);
  std::vector<DirSummary> out;
  for (const auto& [dir, fl] : by_dir) {
    DirSummary d;
    d.dir = dir;
    d.collection = fl.front()->collection;
    d.split = fl.front()->split;
    std::vector<int64_t> nodes, configs;
    for (const auto* f : fl) {
      ++d.files;
      if (!f->error.empty()) {
        ++d.errors;
        continue;
      }
      d.labelled += f->labelled;
      nodes.push_back(f->num_nodes);
      configs.push_back(f->num_configs);
      d.configs_total += f->num_configs;
      d.duplicate_configs += f->duplicate_configs;
    }
    if (!nodes.empty()) {
      d.nodes_min = *std::min_element(nodes.begin(), nodes.end());
      d.nodes_max = *std::max_element(nodes.begin(), nodes.end());
      d.nodes_median = median_of(nodes);
      d.configs_min = *std::min_element(configs.begin(), configs.end());
      d.configs_max = *std::max_element(configs.begin(), configs.end());
      d.configs_median = median_of(configs);
    }
    out.push_back(d);
  }
  return out;
}

nlohmann::json to_json(const GraphSummary& s) {
  nlohmann::json j;
  j["path"] = s.path;
  j["stem"] = s.stem;
  if (!s.error.empty()) {
    j["error"] = s.error;
    return j;
  }
  j["kind"] = s.kind;
  if (!s.collection.empty()) {
    j["collection"] = s.collection;
    j["split"] = s.split;
  }
  j["nodes"] = s.num_nodes;
  j["edges"] = s.num_edges;
  if (s.kind == "layout") j["config_nodes"] = s.num_config_nodes;
  j["configs"] = s.num_configs;
  j["labelled"] = s.labelled;
  if (s.labelled) {
    j["runtime_min_ns"] = s.runtime_min;
    j["runtime_median_ns"] = s.runtime_median;
    j["runtime_max_ns"] = s.runtime_max;
  }
  j["duplicate_configs"] = s.duplicate_configs;
  j["edges_user_after_operand"] = s.edges_user_after_operand;
  return j;
}

nlohmann::json to_json(const DirSummary& d) {
  return {{"dir", d.dir},
          {"collection", d.collection},
          {"split", d.split},
          {"files", d.files},
          {"errors", d.errors},
          {"labelled", d.labelled},
          {"nodes", {{"min", d.nodes_min}, {"median", d.nodes_median}, {"max", d.nodes_max}}},
          {"configs",
           {{"min", d.configs_min},
            {"median", d.configs_median},
            {"max", d.configs_max},
            {"total", d.configs_total}}},
          {"duplicate_configs", d.duplicate_configs}};
}

std::string format_file_table(const std::vector<GraphSummary>& files) {
  std::ostringstream o;
  o << std::left << std::setw(44) << "file" << std::right << std::setw(7) << "kind" << std::setw(8)
    << "N" << std::setw(8) << "E" << std::setw(6) << "NC" << std::setw(8) << "C" << std::setw(10)
    << "rt min" << std::setw(10) << "rt med" << std::setw(10) << "rt max" << std::setw(7) << "dups"
    << "  label\n";
  for (const auto& f : files) {
    std::string name = f.stem.size() > 43 ? f.stem.substr(0, 40) + "..." : f.stem;
    o << std::left << std::setw(44) << name << std::right;
    if (!f.error.empty()) {
      o << "  ERROR " << f.error << "\n";
      continue;
    }
    o << std::setw(7) << f.kind << std::setw(8) << f.num_nodes << std::setw(8) << f.num_edges
      << std::setw(6) << (f.num_config_nodes >= 0 ? std::to_string(f.num_config_nodes) : "-")
      << std::setw(8) << f.num_configs;
    if (f.labelled)
      o << std::setw(10) << human(f.runtime_min) << std::setw(10) << human(f.runtime_median)
        << std::setw(10) << human(f.runtime_max);
    else
      o << std::setw(10) << "-" << std::setw(10) << "-" << std::setw(10) << "-";
    o << std::setw(7) << f.duplicate_configs << "  " << (f.labelled ? "yes" : "no (test)") << "\n";
  }
  return o.str();
}

std::string format_dir_table(const std::vector<DirSummary>& dirs) {
  std::ostringstream o;
  o << std::left << std::setw(22) << "collection" << std::setw(7) << "split" << std::right
    << std::setw(6) << "files" << std::setw(9) << "labelled" << std::setw(18) << "N min/med/max"
    << std::setw(22) << "C min/med/max" << std::setw(10) << "C total" << std::setw(8) << "dups"
    << std::setw(8) << "errors\n";
  int64_t files = 0, errors = 0;
  for (const auto& d : dirs) {
    std::string coll = d.collection.empty() ? d.dir : d.collection;
    o << std::left << std::setw(22) << coll << std::setw(7) << d.split << std::right << std::setw(6)
      << d.files << std::setw(9) << d.labelled << std::setw(18)
      << (human(d.nodes_min) + "/" + human(d.nodes_median) + "/" + human(d.nodes_max))
      << std::setw(22)
      << (human(d.configs_min) + "/" + human(d.configs_median) + "/" + human(d.configs_max))
      << std::setw(10) << human(d.configs_total) << std::setw(8) << d.duplicate_configs
      << std::setw(7) << d.errors << "\n";
    files += d.files;
    errors += d.errors;
  }
  o << files << " files, " << errors << " with errors\n";
  return o.str();
}

}  // namespace tgraph
