#include "tgraph/model/graph_tensors.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <torch/torch.h>

#include "tgraph/data/features.h"
#include "tgraph/data/sample.h"
#include "tgraph/util/error.h"

namespace tgraph {

GraphTensors GraphTensors::to(torch::Device d) const {
  GraphTensors g = *this;
  g.node_num = node_num.to(d);
  g.m2m = m2m.to(d);
  g.opcode = opcode.to(d);
  g.config_pos = config_pos.to(d);
  g.adj_mean = adj_mean.to(d);
  g.adj_sym = adj_sym.to(d);
  g.match_user = match_user.to(d);
  g.match_prod = match_prod.to(d);
  g.match_prod_cfg = match_prod_cfg.to(d);
  g.tiling_table = tiling_table.to(d);
  g.fit_dims = fit_dims.to(d);
  g.fit_rank = fit_rank.to(d);
  g.fit_minor = fit_minor.to(d);
  g.fit_second = fit_second.to(d);
  return g;
}

namespace {
torch::Tensor long_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(torch::ArrayRef<int64_t>(v), torch::kLong);
}

torch::Tensor sparse_matrix(const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
                            const std::vector<float>& vals, int64_t n) {
  auto li = torch::TensorOptions().dtype(torch::kLong);
  auto r =
      torch::from_blob(const_cast<int64_t*>(rows.data()), {static_cast<int64_t>(rows.size())}, li);
  auto c =
      torch::from_blob(const_cast<int64_t*>(cols.data()), {static_cast<int64_t>(cols.size())}, li);
  auto v = torch::from_blob(const_cast<float*>(vals.data()), {static_cast<int64_t>(vals.size())},
                            torch::kFloat32);
  return torch::sparse_coo_tensor(torch::stack({r, c}), v.clone(), {n, n}).coalesce();
}

// Size of dim d of an un-normalised node row, bounded so a damaged file gives finite numbers
// (NaN and 0 -> 1).
double bounded_dim(const float* feat, int d) {
  return std::min(std::max(1.0, static_cast<double>(feat[kShapeDimsCol + d])), 1e15);
}

constexpr int kTilingCells = 49;     // (a + 1) * 7 + (b + 1) for the two most-minor entries a, b
constexpr int kTilingCellWidth = 4;  // padding, minor size, second size, packed padding

// Rows of a tile's second-most-minor dimension: 8 of 32 bits; a 16-bit or 8-bit type packs 2 or
// 4 values per 32-bit word, so its tile has 16 or 32 rows. feat: an un-normalised node row.
int tile_rows(const float* feat) {
  int type = 0;
  for (int i = 1; i < 19; ++i)
    if (feat[kElementTypeCol + i] > feat[kElementTypeCol + type]) type = i;
  switch (type) {
    case 1:
    case 2:
    case 6:
      return 32;  // pred (stored in 8 bits), s8, u8
    case 3:
    case 7:
    case 10:
    case 13:
      return 16;  // s16, u16, f16, bf16
    default:
      return 8;
  }
}

// The layout_tiling_features numbers of every (a, b) for one tensor: feat is its node's
// un-normalised row (dims in columns 21-26, its own minor_to_major in 134-139, -1 past the rank).
// out: [49 * kTilingCellWidth].
void tiling_cells(const float* feat, float* out) {
  const int rank = feature_rank(feat);  // the rank re-padding used
  const double rows = tile_rows(feat);
  double dims[6];
  for (int d = 0; d < 6; ++d) dims[d] = bounded_dim(feat, d);
  int own[6];
  for (int d = 0; d < 6; ++d)
    own[d] = static_cast<int>(std::lround(std::clamp(feat[kMinorToMajorCol + d], -1.f, 5.f)));
  auto size = [&](int d) { return d >= 0 && d < rank ? dims[d] : 1.0; };
  for (int a = -1; a <= 5; ++a)
    for (int b = -1; b <= 5; ++b) {
      int minor = a, second = b;
      if (a < 0) {  // compiler chooses: the tensor's own layout
        minor = own[0];
        second = own[1];
      } else if (b < 0) {  // a one-dimension prefix: the next dimension of the own layout
        second = -1;
        for (int d = 0; d < 6 && second < 0; ++d)
          if (own[d] >= 0 && own[d] != a) second = own[d];
      }
      const double sm = size(minor), ss = second == minor ? 1.0 : size(second);
      const double lanes = std::ceil(sm / 128) * 128 / sm;
      float* o = out + ((a + 1) * 7 + (b + 1)) * kTilingCellWidth;
      o[0] = static_cast<float>(std::log(lanes * (std::ceil(ss / 8) * 8 / ss)));
      o[1] = static_cast<float>(std::log1p(sm));
      o[2] = static_cast<float>(std::log1p(ss));
      o[3] = static_cast<float>(std::log(lanes * (std::ceil(ss / rows) * rows / ss)));
    }
}
}  // namespace

GraphTensors make_graph_tensors(const std::vector<float>& node_feat,
                                const std::vector<uint8_t>& opcode,
                                const std::vector<int64_t>& edge_index,
                                const std::vector<int64_t>& config_pos, torch::Device device,
                                const std::vector<float>* raw_feat) {
  const int64_t N = static_cast<int64_t>(opcode.size());
  TG_CHECK(static_cast<int64_t>(node_feat.size()) == N * 140, "node_feat size");
  if (!raw_feat) raw_feat = &node_feat;
  TG_CHECK(static_cast<int64_t>(raw_feat->size()) == N * 140, "raw node_feat size");
  GraphTensors g;
  g.num_nodes = N;
  auto feat = torch::from_blob(const_cast<float*>(node_feat.data()), {N, 140}, torch::kFloat32);
  g.node_num = feat.slice(1, 0, kNumericFeatures).clone();
  g.m2m = (feat.slice(1, kLayoutFeatStart, 140).round().to(torch::kLong) + kEmbedOffset)
              .clamp(0, 7)
              .contiguous();
  g.opcode = torch::from_blob(const_cast<uint8_t*>(opcode.data()), {N}, torch::kUInt8)
                 .to(torch::kLong)
                 .clone();
  g.config_pos = torch::from_blob(const_cast<int64_t*>(config_pos.data()),
                                  {static_cast<int64_t>(config_pos.size())}, torch::kLong)
                     .clone();

  // Mean aggregation in the reference direction: messages flow user -> operand, so row v (an
  // operand) averages over its distinct users u. Nodes with no users get a zero row (PyG's mean).
  const int64_t E = static_cast<int64_t>(edge_index.size() / 2);
  std::vector<int64_t> deg(static_cast<size_t>(N), 0);
  for (int64_t e = 0; e < E; ++e) ++deg[edge_index[2 * e + 1]];
  std::vector<int64_t> rows, cols;
  std::vector<float> vals;
  rows.reserve(E);
  cols.reserve(E);
  vals.reserve(E);
  for (int64_t e = 0; e < E; ++e) {
    int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
    rows.push_back(v);
    cols.push_back(u);
    vals.push_back(1.f / static_cast<float>(deg[v]));
  }
  g.adj_mean = sparse_matrix(rows, cols, vals, N);

  // Symmetric GCN normalisation with self loops over the undirected graph.
  std::vector<int64_t> sdeg(static_cast<size_t>(N), 1);
  for (int64_t e = 0; e < E; ++e) {
    ++sdeg[edge_index[2 * e]];
    ++sdeg[edge_index[2 * e + 1]];
  }
  rows.clear();
  cols.clear();
  vals.clear();
  for (int64_t i = 0; i < N; ++i) {
    rows.push_back(i);
    cols.push_back(i);
    vals.push_back(1.f / static_cast<float>(sdeg[i]));
  }
  for (int64_t e = 0; e < E; ++e) {
    int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
    float w = 1.f / std::sqrt(static_cast<float>(sdeg[u]) * static_cast<float>(sdeg[v]));
    rows.push_back(u);
    cols.push_back(v);
    vals.push_back(w);
    rows.push_back(v);
    cols.push_back(u);
    vals.push_back(w);
  }
  g.adj_sym = sparse_matrix(rows, cols, vals, N);

  const int64_t NC = static_cast<int64_t>(config_pos.size());
  std::vector<int64_t> cfg_index(static_cast<size_t>(N), -1);
  for (int64_t k = 0; k < NC; ++k) cfg_index[config_pos[k]] = k;
  std::vector<int64_t> mu, mp, mpc;
  std::vector<std::vector<int64_t>> operands(static_cast<size_t>(NC));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t u = edge_index[2 * e], v = edge_index[2 * e + 1];
    if (cfg_index[u] < 0) continue;
    mu.push_back(cfg_index[u]);
    mp.push_back(v);
    mpc.push_back(cfg_index[v] < 0 ? NC : cfg_index[v]);
    operands[cfg_index[u]].push_back(v);
  }
  g.match_user = long_tensor(mu);
  g.match_prod = long_tensor(mp);
  g.match_prod_cfg = long_tensor(mpc);

  // Slot t of configurable node k describes its output (t = 0) or its operand t - 1.
  g.tiling_table = torch::zeros({NC * 3 * kTilingCells, kTilingCellWidth});
  float* table = g.tiling_table.data_ptr<float>();
  for (int64_t k = 0; k < NC; ++k)
    for (int t = 0; t < 3; ++t) {
      int64_t node = config_pos[k];
      if (t > 0) {
        if (operands[k].size() < static_cast<size_t>(t)) continue;  // no such operand: zeros
        node = operands[k][t - 1];
      }
      tiling_cells(raw_feat->data() + node * 140,
                   table + (k * 3 + t) * kTilingCells * kTilingCellWidth);
    }

  // Candidates for the tensor a tile configuration tiles: the last node of each rank.
  std::vector<float> fit_dims(7 * 6, 1.f);
  std::vector<int64_t> fit_rank(7, 0), fit_minor(7, -1), fit_second(7, -1);
  std::vector<int64_t> last_of_rank(7, N - 1);
  std::vector<bool> found(7, false);
  for (int64_t n = N - 1; n >= 0; --n) {
    const int r = feature_rank(raw_feat->data() + n * 140);
    if (!found[r]) last_of_rank[r] = n;
    found[r] = true;
  }
  for (int k = 0; k < 7 && N > 0; ++k) {
    const float* row = raw_feat->data() + last_of_rank[k] * 140;
    const int rank = feature_rank(row);
    fit_rank[k] = rank;
    for (int d = 0; d < rank; ++d) fit_dims[k * 6 + d] = static_cast<float>(bounded_dim(row, d));
    // Entries of the own layout past the rank are padding (-1 after re-padding, or 0).
    auto entry = [&](int i) {
      const float v = std::clamp(row[kMinorToMajorCol + i], -1.f, 5.f);
      const int e = static_cast<int>(std::lround(v));
      return i < rank && e < rank ? e : -1;
    };
    const int minor = entry(0), second = rank >= 2 ? entry(1) : -1;
    fit_minor[k] = minor;
    fit_second[k] = second == minor ? -1 : second;
  }
  g.fit_dims = torch::tensor(torch::ArrayRef<float>(fit_dims)).view({7, 6});
  g.fit_rank = long_tensor(fit_rank);
  g.fit_minor = long_tensor(fit_minor);
  g.fit_second = long_tensor(fit_second);
  return device.is_cpu() ? g : g.to(device);
}

namespace {
// [..., 6] layout indices a, b -> [..., 2] float: (match, differ), as layout_match_features says.
torch::Tensor compare_layouts(const torch::Tensor& a, const torch::Tensor& b) {
  auto both = a.ge(kEmbedOffset).logical_and(b.ge(kEmbedOffset));
  auto differ = both.logical_and(a.ne(b)).any(-1);
  auto match = both.any(-1).logical_and(differ.logical_not());
  return torch::stack({match, differ}, -1).to(torch::kFloat32);
}
}  // namespace

torch::Tensor layout_match_features(const GraphTensors& g, const torch::Tensor& configs) {
  const int64_t S = configs.size(0), NC = configs.size(1);
  TG_CHECK(NC == g.config_pos.size(0), "configs [S, NC, 18] do not match the graph's NC");
  // Row NC: a non-configurable producer, whose slot reads as all "unspecified".
  auto padded = torch::cat({configs, torch::zeros({S, 1, 18}, configs.options())}, 1);
  auto slot = padded.index_select(1, g.match_prod_cfg).slice(2, 0, 6);  // [S, E1, 6]
  auto own = g.m2m.index_select(0, g.match_prod).unsqueeze(0);          // [1, E1, 6]
  auto prod_out = torch::where(slot.ge(kEmbedOffset).any(-1, true), slot, own);
  auto user = configs.index_select(1, g.match_user);  // [S, E1, 18]
  auto edge = torch::cat({compare_layouts(user.slice(2, 6, 12), prod_out),
                          compare_layouts(user.slice(2, 12, 18), prod_out)},
                         -1);  // [S, E1, 4]
  auto opts = edge.options();
  auto to_user = torch::zeros({S, NC, 4}, opts).index_add_(1, g.match_user, edge);
  auto to_prod =
      torch::zeros({S, NC + 1, 4}, opts).index_add_(1, g.match_prod_cfg, edge).slice(1, 0, NC);
  auto out = configs.slice(2, 0, 6);
  return torch::cat({to_user, to_prod, compare_layouts(out, configs.slice(2, 6, 12)),
                     compare_layouts(out, configs.slice(2, 12, 18))},
                    -1);  // [S, NC, 12]
}

torch::Tensor layout_tiling_features(const GraphTensors& g, const torch::Tensor& configs,
                                     bool packed) {
  const int64_t S = configs.size(0), NC = configs.size(1);
  TG_CHECK(NC == g.config_pos.size(0), "configs [S, NC, 18] do not match the graph's NC");
  // Layout index v + 2 of the slots' first two entries -> cell (a + 1) * 7 + (b + 1).
  auto v = configs.view({S, NC, 3, 6}).slice(3, 0, 2).clamp_min(1) - 1;  // [S, NC, 3, 2]
  auto cell = v.select(3, 0) * 7 + v.select(3, 1);                       // [S, NC, 3]
  auto base = torch::arange(NC * 3, configs.options()).view({1, NC, 3}) * kTilingCells;
  auto cells =
      g.tiling_table.index_select(0, (cell + base).flatten()).view({S, NC, 3, kTilingCellWidth});
  auto plain = cells.slice(3, 0, 3).reshape({S, NC, kLayoutTilingFeatures});
  if (!packed) return plain;
  return torch::cat({plain, cells.select(3, 3)}, -1);  // [S, NC, 12]
}

torch::Tensor tile_fit_features(const GraphTensors& g, const torch::Tensor& raw_bounds) {
  TG_CHECK(raw_bounds.dim() == 2 && raw_bounds.size(1) == 6, "tile output bounds must be [S, 6]");
  // Bounds are integers; rounding undoes float noise before the ceilings.
  auto b = raw_bounds.round();
  // [S] number of bounds: the list is zero-padded, so its length is the last non-zero position.
  auto k = std::get<0>((torch::arange(1, 7, b.options()) * b.ge(1)).max(1)).to(torch::kLong);
  auto dims = g.fit_dims.index_select(0, k);  // [S, 6], 1 past the rank
  auto in_rank =
      torch::arange(6, k.options()).unsqueeze(0).lt(g.fit_rank.index_select(0, k).unsqueeze(1));
  auto tile = torch::where(b.ge(1).logical_and(in_rank), b, dims);  // [S, 6]
  auto count = (dims / tile).ceil();                                // tiles along each dim
  // The tile's extent along dim idx[s] (idx -1: none) and its padding to a multiple of `to`.
  auto along = [&](const torch::Tensor& idx, double to) {
    auto has = idx.ge(0);
    auto size = torch::where(has, tile.gather(1, idx.clamp_min(0).unsqueeze(1)).squeeze(1),
                             torch::ones_like(k, tile.options()));
    auto pad = ((size / to).ceil() * to / size).log();
    return std::make_pair(torch::where(has, pad, torch::zeros_like(pad)),
                          torch::where(has, size.log1p(), torch::zeros_like(pad)));
  };
  auto [minor_pad, minor] = along(g.fit_minor.index_select(0, k), 128);
  auto [second_pad, second] = along(g.fit_second.index_select(0, k), 8);
  return torch::stack({count.log().sum(1), (count * tile / dims).log().sum(1),
                       minor_pad + second_pad, minor, second, tile.log().sum(1)},
                      1);  // [S, 6]
}

torch::Tensor config_indices(const int8_t* values, int64_t S, int64_t NC, torch::Device device) {
  auto t = torch::from_blob(const_cast<int8_t*>(values), {S, NC, 18}, torch::kInt8)
               .to(torch::kLong)
               .add(kEmbedOffset)
               .clamp(0, 7);
  return t.to(device);
}

GraphTensors make_graph_tensors(const Sample& s, const FeatureNormalizer& norm,
                                torch::Device device) {
  std::vector<float> feat = s.node_feat;
  if (!norm.empty()) norm.apply(feat.data(), s.num_nodes);
  return make_graph_tensors(feat, s.node_opcode, s.edge_index, s.config_pos, device, &s.node_feat);
}

torch::Tensor config_tensor(Kind task, const float* raw, int64_t K, int64_t width,
                            const TileConfigNormalizer* tile_norm, torch::Device device) {
  if (task == Kind::kLayout) {
    TG_CHECK(width % kLayoutConfigDim == 0, "layout configuration width ", width);
    auto t = torch::from_blob(const_cast<float*>(raw),
                              {K, width / kLayoutConfigDim, kLayoutConfigDim}, torch::kFloat32)
                 .to(torch::kLong)
                 .add(kEmbedOffset)
                 .clamp(0, 7);
    return t.to(device);
  }
  TG_CHECK(width == kTileConfigDim && tile_norm && !tile_norm->empty(),
           "tile configurations need 24 columns and a fitted normaliser");
  auto in = torch::from_blob(const_cast<float*>(raw), {K, width}, torch::kFloat32);
  auto t = in.clone();
  tile_norm->apply(t.data_ptr<float>(), K);
  return torch::cat({t, in.slice(1, 8, 14)}, 1).to(device);  // [K, 30]
}

}  // namespace tgraph
