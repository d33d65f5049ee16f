#include "tgraph/graph/tpugraphs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {

namespace {

// Loads and checks one member: dtype class, rank and (where given, >= 0) each dimension.
class Validator {
 public:
  explicit Validator(const std::string& path) : path_(path), npz_(path) {}
  NpzReader& npz() { return npz_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const std::string& found) {
    throw_error(path_, key, expected, found);
  }

  NpyHeader header(const std::string& key, bool want_float, const std::vector<int64_t>& dims,
                   const std::string& shape_desc) {
    if (!npz_.has(key)) npz_.member(key);  // throws "missing" with the list of keys
    NpyHeader h = npz_.header(key);
    check_header(key, h, want_float, dims, shape_desc);
    return h;
  }

  void check_header(const std::string& key, const NpyHeader& h, bool want_float,
                    const std::vector<int64_t>& dims, const std::string& shape_desc) {
    if (want_float && !dtype_is_float(h.dtype))
      fail(key, "a float dtype (<f4)", TG_STR("dtype " << dtype_descr(h.dtype)));
    if (!want_float && !dtype_is_integer(h.dtype))
      fail(key, "an integer dtype", TG_STR("dtype " << dtype_descr(h.dtype)));
    if (h.shape.size() != dims.size())
      fail(key, TG_STR("rank " << dims.size() << ", shape " << shape_desc),
           TG_STR("rank " << h.shape.size() << ", shape " << h.shape_str()));
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] >= 0 && h.shape[i] != dims[i])
        fail(key, TG_STR("shape " << shape_desc), TG_STR("shape " << h.shape_str()));
  }

  std::vector<float> floats(const std::string& key, const std::vector<int64_t>& dims,
                            const std::string& shape_desc, std::vector<int64_t>* shape_out) {
    NpyHeader h = header(key, true, dims, shape_desc);
    NdArray a = npz_.read(key);
    if (shape_out) *shape_out = h.shape;
    std::vector<float> v = a.dtype() == DType::kF32
                               ? std::vector<float>(a.data<float>(), a.data<float>() + a.numel())
                               : a.to_vector<float>();
    check_finite(key, v.data(), v.size(), h.shape, 0);
    return v;
  }

  std::vector<int64_t> ints(const std::string& key, const std::vector<int64_t>& dims,
                            const std::string& shape_desc, std::vector<int64_t>* shape_out) {
    NpyHeader h = header(key, false, dims, shape_desc);
    NdArray a = npz_.read(key);
    if (shape_out) *shape_out = h.shape;
    return a.to_vector<int64_t>();
  }

  void check_finite(const std::string& key, const float* v, size_t n,
                    const std::vector<int64_t>& shape, int64_t first_flat) {
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(v[i]))
        fail(key, "finite values", TG_STR(v[i] << " at " << index_str(shape, first_flat + i)));
  }

  static std::string index_str(const std::vector<int64_t>& shape, int64_t flat) {
    std::vector<int64_t> idx(shape.size());
    for (size_t ax = shape.size(); ax-- > 0;) {
      int64_t d = std::max<int64_t>(shape[ax], 1);
      idx[ax] = flat % d;
      flat /= d;
    }
    std::string s = "[";
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
    return s + "]";
  }

 private:
  std::string path_;
  NpzReader npz_;
};

std::string stem_of(const std::string& path) {
  return fs::path(path).stem().string();
}

void load_base(Validator& v, GraphBase* g) {
  g->path = v.path();
  g->stem = stem_of(v.path());
  std::vector<int64_t> shape;
  g->node_feat = v.floats("node_feat", {-1, kNodeFeatDim}, "(N, 140)", &shape);
  g->num_nodes = shape[0];
  const int64_t N = g->num_nodes;
  if (N < 1) v.fail("node_feat", "at least one node", "shape " + shape_to_string(shape));

  auto op = v.ints("node_opcode", {N}, TG_STR("(N,) with N = " << N), nullptr);
  g->node_opcode.resize(op.size());
  for (size_t i = 0; i < op.size(); ++i) {
    if (op[i] < 0 || op[i] >= kNumOpcodes)
      v.fail("node_opcode", TG_STR("opcode ids in [0, " << kNumOpcodes - 1 << "]"),
             TG_STR(op[i] << " at [" << i << "]"));
    g->node_opcode[i] = static_cast<uint8_t>(op[i]);
  }

  // An empty edge list may be saved as shape (0,) by some writers; accept it.
  NpyHeader eh = v.npz().has("edge_index") ? v.npz().header("edge_index") : NpyHeader{};
  if (!v.npz().has("edge_index")) v.npz().member("edge_index");
  if (eh.shape.size() == 1 && eh.shape[0] == 0 && dtype_is_integer(eh.dtype)) {
    g->edge_index.clear();
  } else {
    g->edge_index = v.ints("edge_index", {-1, 2}, "(E, 2)", &shape);
  }
  g->num_edges = static_cast<int64_t>(g->edge_index.size() / 2);
  for (size_t i = 0; i < g->edge_index.size(); ++i) {
    int64_t x = g->edge_index[i];
    if (x < 0 || x >= N)
      v.fail("edge_index", TG_STR("node ids in [0, " << N - 1 << "] (N = " << N << ")"),
             TG_STR(x << " at [" << i / 2 << ", " << i % 2 << "]"));
  }
}

void load_runtime(Validator& v, GraphBase* g, int64_t C, const std::string& c_from) {
  std::vector<int64_t> shape;
  NpyHeader h = v.header("config_runtime", false, {-1}, "(C,)");
  if (C >= 0 && h.shape[0] != C)
    v.fail("config_runtime", TG_STR("shape (" << C << ",) to match C of " << c_from),
           TG_STR("shape " << h.shape_str()));
  g->config_runtime = v.ints("config_runtime", {-1}, "(C,)", &shape);
  g->num_configs = shape[0];
  if (g->num_configs < 1) v.fail("config_runtime", "at least one configuration", "shape (0,)");
  bool any_pos = false;
  for (int64_t r : g->config_runtime) any_pos |= r > 0;
  g->labelled = any_pos;
  for (size_t i = 0; i < g->config_runtime.size(); ++i) {
    int64_t r = g->config_runtime[i];
    if (r < 0) v.fail("config_runtime", "runtimes >= 0 ns", TG_STR(r << " at [" << i << "]"));
    if (any_pos && r == 0)
      v.fail("config_runtime",
             "all runtimes > 0 in a labelled file (or all 0 in an unlabelled test file)",
             TG_STR("0 at [" << i << "]"));
  }
}

void check_layout_config_values(Validator& v, const float* p, size_t n,
                                const std::vector<int64_t>& shape, int64_t first_flat) {
  for (size_t i = 0; i < n; ++i) {
    float x = p[i];
    if (!(x >= -1.f && x <= 5.f) || x != std::floor(x))
      v.fail(
          "node_config_feat", "integral layout values in [-1, 5]",
          TG_STR(x << " at " << Validator::index_str(shape, first_flat + static_cast<int64_t>(i))));
  }
}

}  // namespace

LayoutGraph load_layout(const std::string& path, const LoadOptions& opt) {
  Validator v(path);
  LayoutGraph g;
  load_base(v, &g);
  const int64_t N = g.num_nodes;

  std::vector<int64_t> shape;
  g.node_config_ids = v.ints("node_config_ids", {-1}, "(NC,)", &shape);
  g.num_config_nodes = shape[0];
  // A layout graph without configurable nodes has nothing to rank (pruning leaves 0 nodes and every
  // score would be NaN).
  if (g.num_config_nodes == 0)
    v.fail("node_config_ids", "at least one configurable node", "none (NC = 0)");
  for (size_t i = 0; i < g.node_config_ids.size(); ++i) {
    int64_t id = g.node_config_ids[i];
    if (id < 0 || id >= N)
      v.fail("node_config_ids", TG_STR("node ids in [0, " << N - 1 << "]"),
             TG_STR(id << " at [" << i << "]"));
    if (i > 0 && id <= g.node_config_ids[i - 1])
      v.fail("node_config_ids", "strictly ascending node ids",
             TG_STR(id << " at [" << i << "] after " << g.node_config_ids[i - 1]));
  }

  const int64_t NC = g.num_config_nodes;
  NpyHeader ch = v.header("node_config_feat", true, {-1, NC, kLayoutConfigDim},
                          TG_STR("(C, NC, 18) with NC = " << NC));
  const int64_t C = ch.shape[0];
  load_runtime(v, &g, C, "node_config_feat");

  // Streamed in chunks of about 16 MB: validation, the optional callback and the rows kept.
  const int64_t keep = !opt.load_config_feat  ? 0
                       : opt.max_configs >= 0 ? std::min(opt.max_configs, C)
                                              : C;
  if (keep > 0 || opt.validate_config_values || opt.on_configs) {
    const int64_t row = NC * kLayoutConfigDim;
    const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(row, 1));
    g.node_config_feat.reserve(static_cast<size_t>(keep * row));
    std::vector<float> converted;  // only for members stored in another dtype
    v.npz().for_each_rows("node_config_feat", chunk, [&](const NdArray& a, int64_t r0) {
      if (a.dtype() != DType::kF32) converted = a.to_vector<float>();
      const float* f = a.dtype() == DType::kF32 ? a.data<float>() : converted.data();
      const size_t n = static_cast<size_t>(a.numel());
      v.check_finite("node_config_feat", f, n, ch.shape, r0 * row);
      if (opt.validate_config_values) check_layout_config_values(v, f, n, ch.shape, r0 * row);
      const int64_t rows = a.numel() / std::max<int64_t>(row, 1);
      if (opt.on_configs) opt.on_configs(f, r0, rows);
      const int64_t take = std::clamp<int64_t>(keep - r0, 0, rows);
      g.node_config_feat.insert(g.node_config_feat.end(), f, f + take * row);
    });
  }
  if (opt.load_config_feat) {
    g.config_feat_loaded = true;
    if (keep < C) {
      g.num_configs = keep;
      g.config_runtime.resize(static_cast<size_t>(keep));
    }
  }

  // node_splits is (1, S) on disk; accept (S,) too.
  NpyHeader sh = v.npz().has("node_splits") ? v.npz().header("node_splits") : NpyHeader{};
  if (!v.npz().has("node_splits")) v.npz().member("node_splits");
  if (sh.shape.size() == 1)
    g.node_splits = v.ints("node_splits", {-1}, "(1, S)", nullptr);
  else
    g.node_splits = v.ints("node_splits", {1, -1}, "(1, S)", nullptr);
  const auto& s = g.node_splits;
  if (s.size() < 2 || s.front() != 0 || s.back() != N)
    v.fail(
        "node_splits", TG_STR("boundaries starting at 0 and ending at N = " << N),
        TG_STR(s.size() << " values"
                        << (s.empty() ? "" : TG_STR(" from " << s.front() << " to " << s.back()))));
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] < s[i - 1])
      v.fail("node_splits", "non-decreasing boundaries",
             TG_STR(s[i] << " at [0, " << i << "] after " << s[i - 1]));
  return g;
}

TileGraph load_tile(const std::string& path) {
  Validator v(path);
  TileGraph g;
  load_base(v, &g);
  std::vector<int64_t> shape;
  NpyHeader ch = v.header("config_feat", true, {-1, kTileConfigDim}, "(C, 24)");
  const int64_t C = ch.shape[0];
  load_runtime(v, &g, C, "config_feat");
  g.config_feat = v.floats("config_feat", {C, kTileConfigDim}, "(C, 24)", nullptr);
  g.config_runtime_normalizers =
      v.ints("config_runtime_normalizers", {C}, TG_STR("(C,) with C = " << C), nullptr);
  for (size_t i = 0; i < g.config_runtime_normalizers.size(); ++i)
    if (g.config_runtime_normalizers[i] < 0)
      v.fail("config_runtime_normalizers", "values >= 0 ns",
             TG_STR(g.config_runtime_normalizers[i] << " at [" << i << "]"));
  return g;
}

Kind detect_kind(const std::string& path) {
  NpzReader r(path);
  if (r.has("node_config_feat")) return Kind::kLayout;
  if (r.has("config_feat")) return Kind::kTile;
  throw_error(path, "node_config_feat / config_feat",
              "a layout (node_config_feat) or tile (config_feat) TpuGraphs file",
              "neither key present");
}

std::string Collection::name() const {
  return kind == Kind::kTile ? "tile:" + source : "layout:" + source + ":" + search;
}

std::string Collection::dir(const std::string& npz_root, const std::string& split) const {
  fs::path p(npz_root);
  if (kind == Kind::kTile)
    p /= fs::path("tile") / source / split;
  else
    p /= fs::path("layout") / source / search / split;
  return p.string();
}

Collection parse_collection(const std::string& spec) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t k = spec.find(':', start);
    parts.push_back(spec.substr(start, k == std::string::npos ? std::string::npos : k - start));
    if (k == std::string::npos) break;
    start = k + 1;
  }
  Collection c;
  if (parts.size() == 3 && parts[0] == "layout" && (parts[1] == "xla" || parts[1] == "nlp") &&
      (parts[2] == "random" || parts[2] == "default")) {
    c.kind = Kind::kLayout;
    c.source = parts[1];
    c.search = parts[2];
    return c;
  }
  if (parts.size() == 2 && parts[0] == "tile" && parts[1] == "xla") {
    c.kind = Kind::kTile;
    c.source = "xla";
    return c;
  }
  throw_error("--collection", "", "layout:{xla|nlp}:{random|default} or tile:xla",
              "'" + spec + "'");
}

std::vector<Collection> all_collections() {
  return {parse_collection("layout:xla:random"), parse_collection("layout:xla:default"),
          parse_collection("layout:nlp:random"), parse_collection("layout:nlp:default"),
          parse_collection("tile:xla")};
}

std::vector<std::string> list_graph_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw_error(dir, "", "a directory of .npz files", "not a directory");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npz") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> list_graph_files_recursive(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw_error(dir, "", "a directory", "not a directory");
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npz") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string submission_id(const Collection& c, const std::string& stem) {
  return c.name() + ":" + stem;
}

}  // namespace tgraph
