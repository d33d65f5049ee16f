#include "tgraph/model/graph_tensors.h"

#include <cmath>

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
  return g;
}

namespace {
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
}  // namespace

GraphTensors make_graph_tensors(const std::vector<float>& node_feat,
                                const std::vector<uint8_t>& opcode,
                                const std::vector<int64_t>& edge_index,
                                const std::vector<int64_t>& config_pos, torch::Device device) {
  const int64_t N = static_cast<int64_t>(opcode.size());
  TG_CHECK(static_cast<int64_t>(node_feat.size()) == N * 140, "node_feat size");
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
  return device.is_cpu() ? g : g.to(device);
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
  return make_graph_tensors(feat, s.node_opcode, s.edge_index, s.config_pos, device);
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
  auto t = torch::from_blob(const_cast<float*>(raw), {K, width}, torch::kFloat32).clone();
  tile_norm->apply(t.data_ptr<float>(), K);
  return t.to(device);
}

}  // namespace tgraph
