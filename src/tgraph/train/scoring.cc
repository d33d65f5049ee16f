#include "tgraph/train/scoring.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>

#include <torch/torch.h>

#include "tgraph/data/prune.h"
#include "tgraph/model/model_file.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {
std::vector<float> normalised(std::vector<float> feat, int64_t N, const FeatureNormalizer& norm) {
  if (!norm.empty()) norm.apply(feat.data(), N);
  return feat;
}
}  // namespace

GraphInput graph_input_from_pack(std::shared_ptr<const PackedGraph> pg,
                                 const FeatureNormalizer& norm, torch::Device device) {
  GraphInput in;
  in.stem = pg->stem();
  in.source = pg->path();
  in.tensors = make_graph_tensors(normalised(pg->node_feat(), pg->num_nodes(), norm),
                                  pg->node_opcode(), pg->edge_index(), pg->config_pos(), device);
  in.num_configs = pg->num_configs();
  in.num_config_nodes = pg->num_config_nodes();
  in.runtimes = pg->config_runtime();
  in.labelled = pg->labelled();
  in.read_configs = [pg](const std::vector<int64_t>& rows, int8_t* out) {
    pg->read_configs(rows, out);
  };
  return in;
}

GraphInput graph_input_from_layout(std::shared_ptr<const LayoutGraph> g, bool prune, bool repad,
                                   const FeatureNormalizer& norm, torch::Device device) {
  TG_CHECK(g->config_feat_loaded, "graph_input_from_layout needs node_config_feat in memory");
  PrunedGraph p = prune_layout(g->edge_index, g->num_nodes, g->node_config_ids, prune);
  std::vector<float> feat = gather_rows(g->node_feat.data(), kNodeFeatDim, p.node_ids);
  if (repad) repad_minor_to_major(feat.data(), p.num_nodes);
  std::vector<uint8_t> op = gather_rows(g->node_opcode.data(), 1, p.node_ids);
  GraphInput in;
  in.stem = g->stem;
  in.source = g->path;
  in.tensors = make_graph_tensors(normalised(std::move(feat), p.num_nodes, norm), op, p.edge_index,
                                  p.config_pos, device);
  in.num_configs = g->num_configs;
  in.num_config_nodes = g->num_config_nodes;
  in.runtimes = g->config_runtime;
  in.labelled = g->labelled;
  in.read_configs = [g](const std::vector<int64_t>& rows, int8_t* out) {
    const int64_t row = g->num_config_nodes * kLayoutConfigDim;
    for (size_t i = 0; i < rows.size(); ++i) {
      const float* src = g->config_row(rows[i]);
      for (int64_t k = 0; k < row; ++k)
        out[static_cast<int64_t>(i) * row + k] = static_cast<int8_t>(src[k]);
    }
  };
  return in;
}

std::vector<double> score_all_configs(LayoutModelImpl& model, const GraphInput& g, int64_t slate,
                                      uint64_t seed) {
  torch::NoGradGuard ng;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t C = g.num_configs, NC = g.num_config_nodes;
  std::vector<int64_t> order(static_cast<size_t>(C));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<double> scores(static_cast<size_t>(C), 0.0);
  const torch::Device dev = g.tensors.node_num.device();
  std::vector<int8_t> buf;
  for (int64_t b = 0; b < C; b += slate) {
    std::vector<int64_t> rows(order.begin() + b, order.begin() + std::min(C, b + slate));
    // Sorted rows read faster (consecutive runs); scores map back through `rows`.
    std::sort(rows.begin(), rows.end());
    buf.resize(rows.size() * static_cast<size_t>(NC * kLayoutConfigDim));
    g.read_configs(rows, buf.data());
    auto cfg = config_indices(buf.data(), static_cast<int64_t>(rows.size()), NC, dev);
    auto s = model.forward(g.tensors, cfg).to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = s.data_ptr<double>();
    for (size_t i = 0; i < rows.size(); ++i) scores[rows[i]] = p[i];
  }
  if (was_training) model.train();
  return scores;
}

std::vector<GraphInput> inputs_for_split(const ModelFile& model, const std::string& data_root,
                                         const Collection& c, const std::string& split,
                                         const std::string& cache_dir, int threads,
                                         torch::Device device) {
  PackOptions po;
  po.prune = model.preprocessing.value("prune", true);
  po.repad = model.preprocessing.value("repad", true);
  po.dedup = false;
  FeatureNormalizer norm = FeatureNormalizer::from_json(model.normalizer, "model normalizer");
  std::string dir = pack_collection(data_root, c, split, cache_dir, po, threads);
  std::vector<GraphInput> out;
  for (const auto& p : list_packed(dir))
    out.push_back(graph_input_from_pack(std::make_shared<const PackedGraph>(PackedGraph::open(p)),
                                        norm, device));
  if (out.empty()) throw_error(c.dir(data_root, split), "", "layout graphs (.npz)", "none");
  return out;
}

EvalReport evaluate_graphs(LayoutModelImpl& model, const std::vector<GraphInput>& graphs,
                           int64_t slate, uint64_t seed) {
  auto t0 = std::chrono::steady_clock::now();
  EvalReport r;
  std::vector<RankMetrics> per;
  for (size_t i = 0; i < graphs.size(); ++i) {
    const GraphInput& g = graphs[i];
    if (!g.labelled)
      throw_error(g.source, "config_runtime",
                  "a labelled graph (runtimes > 0) to compute metrics on",
                  "all zeros (unlabelled test data): use `tgraph predict` instead");
    auto s = score_all_configs(model, g, slate, seed + i);
    RankMetrics m = rank_metrics(s, g.runtimes, g.source);
    r.graphs.push_back({g.stem, m});
    per.push_back(m);
  }
  r.mean = mean_rank_metrics(per);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::json EvalReport::to_json() const {
  nlohmann::json j;
  auto num = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  j["mean_tau"] = num(mean.tau);
  j["mean_opa"] = num(mean.opa);
  j["graphs"] = nlohmann::json::array();
  for (const auto& g : graphs)
    j["graphs"].push_back({{"graph", g.stem},
                           {"tau", num(g.metrics.tau)},
                           {"opa", num(g.metrics.opa)},
                           {"configs", g.metrics.n}});
  j["seconds"] = seconds;
  return j;
}

std::string EvalReport::table() const {
  std::ostringstream o;
  o << std::left << std::setw(56) << "graph" << std::right << std::setw(9) << "configs"
    << std::setw(9) << "tau" << std::setw(9) << "OPA"
    << "\n";
  o << std::fixed << std::setprecision(4);
  for (const auto& g : graphs) {
    std::string n = g.stem.size() > 55 ? g.stem.substr(0, 52) + "..." : g.stem;
    o << std::left << std::setw(56) << n << std::right << std::setw(9) << g.metrics.n
      << std::setw(9) << g.metrics.tau << std::setw(9) << g.metrics.opa << "\n";
  }
  o << std::left << std::setw(56) << ("mean over " + std::to_string(graphs.size()) + " graphs")
    << std::right << std::setw(9) << "" << std::setw(9) << mean.tau << std::setw(9) << mean.opa
    << "\n";
  return o.str();
}

}  // namespace tgraph
