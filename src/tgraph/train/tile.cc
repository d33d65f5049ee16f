#include "tgraph/train/tile.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <torch/torch.h>

#include "tgraph/data/features.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/model/graph_tensors.h"
#include "tgraph/model/losses.h"
#include "tgraph/model/model_file.h"
#include "tgraph/model/models.h"
#include "tgraph/train/schedule.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {

namespace {

using Clock = std::chrono::steady_clock;

double signed_log1p(double x) {
  return x < 0 ? -std::log1p(-x) : std::log1p(x);
}

// z-score of the 24 tile values after signed log1p (bounds and their products span 1..1e6).
struct ConfigNorm {
  std::vector<float> mean, std;
  void fit(const std::vector<TileGraph>& ks) {
    std::vector<double> s(kTileConfigDim, 0), q(kTileConfigDim, 0);
    double n = 0;
    for (const auto& k : ks)
      for (int64_t r = 0; r < k.num_configs; ++r, ++n)
        for (int c = 0; c < kTileConfigDim; ++c)
          s[c] += signed_log1p(k.config_feat[r * kTileConfigDim + c]);
    mean.assign(kTileConfigDim, 0);
    std.assign(kTileConfigDim, 1);
    for (int c = 0; c < kTileConfigDim; ++c) mean[c] = static_cast<float>(s[c] / std::max(n, 1.0));
    for (const auto& k : ks)
      for (int64_t r = 0; r < k.num_configs; ++r)
        for (int c = 0; c < kTileConfigDim; ++c) {
          double d = signed_log1p(k.config_feat[r * kTileConfigDim + c]) - mean[c];
          q[c] += d * d;
        }
    for (int c = 0; c < kTileConfigDim; ++c) {
      double sd = std::sqrt(q[c] / std::max(n, 1.0));
      std[c] = sd < 1e-6 ? 1.f : static_cast<float>(sd);
    }
  }
  std::vector<float> apply(const std::vector<float>& v) const {
    std::vector<float> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      int c = static_cast<int>(i % kTileConfigDim);
      out[i] = static_cast<float>((signed_log1p(v[i]) - mean[c]) / std[c]);
    }
    return out;
  }
  nlohmann::json to_json() const {
    return {{"transform", "signed_log1p"}, {"mean", mean}, {"std", std}};
  }
  static ConfigNorm from_json(const nlohmann::json& j, const std::string& source) {
    ConfigNorm n;
    try {
      n.mean = j.at("mean").get<std::vector<float>>();
      n.std = j.at("std").get<std::vector<float>>();
    } catch (const nlohmann::json::exception& e) {
      throw_error(source, "preprocessing.config_norm", "mean and std of 24 columns", e.what());
    }
    if (n.mean.size() != kTileConfigDim || n.std.size() != kTileConfigDim)
      throw_error(source, "preprocessing.config_norm", "24 columns", std::to_string(n.mean.size()));
    return n;
  }
};

struct Kernel {
  std::string stem, path;
  GraphTensors g;
  torch::Tensor cfg;             // [C, 24] normalised
  std::vector<double> runtimes;  // [C] ns
  torch::Tensor target;          // [C] runtime / normaliser
  int64_t C = 0;
  bool labelled = false;
};

Kernel make_kernel(const TileGraph& t, const FeatureNormalizer& nn, const ConfigNorm& cn,
                   torch::Device dev) {
  Kernel k;
  k.stem = t.stem;
  k.path = t.path;
  std::vector<float> feat = t.node_feat;
  repad_minor_to_major(feat.data(), t.num_nodes);
  nn.apply(feat.data(), t.num_nodes);
  k.g = make_graph_tensors(feat, t.node_opcode, t.edge_index, {}, dev);
  k.C = t.num_configs;
  std::vector<float> c = cn.apply(t.config_feat);
  k.cfg = torch::from_blob(c.data(), {k.C, kTileConfigDim}, torch::kFloat32).clone().to(dev);
  k.labelled = t.labelled;
  std::vector<double> tgt(static_cast<size_t>(k.C));
  for (int64_t i = 0; i < k.C; ++i) {
    k.runtimes.push_back(static_cast<double>(t.config_runtime[i]));
    double norm = static_cast<double>(t.config_runtime_normalizers[i]);
    tgt[i] = norm > 0 ? k.runtimes[i] / norm : k.runtimes[i];
  }
  k.target = torch::tensor(tgt, torch::kFloat64).to(dev);
  return k;
}

// ---------------------------------------------------------------------------------------------
// Models

class TileModelImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const GraphTensors& g, const torch::Tensor& cfg) = 0;  // [C]
};

// Late fusion: the TGraph node encoder once per kernel, mean+max readout, configuration MLP, head.
class TileLateFusion : public TileModelImpl {
 public:
  explicit TileLateFusion(const ModelConfig& c) {
    const int H = c.hidden;
    layout_emb_ = register_module("layout_emb", torch::nn::Embedding(8, c.layout_emb_dim));
    opcode_emb_ = register_module("opcode_emb", torch::nn::Embedding(121, c.opcode_dim));
    in_ = register_module(
        "in", torch::nn::Linear(kNumericFeatures + 6 * c.layout_emb_dim + c.opcode_dim, H));
    for (int i = 0; i < c.dense_layers; ++i) {
      if (i > 0)
        dense_.push_back(register_module("dense" + std::to_string(i), torch::nn::Linear(H, H)));
      dense_gate_.push_back(
          register_module("dense_gate" + std::to_string(i), ChannelGate(H, c.gate_bottleneck)));
    }
    for (int i = 0; i < c.graph_layers; ++i) {
      sage_l_.push_back(register_module("sage_l" + std::to_string(i), torch::nn::Linear(H, H)));
      sage_r_.push_back(
          register_module("sage_r" + std::to_string(i),
                          torch::nn::Linear(torch::nn::LinearOptions(H, H).bias(false))));
      graph_gate_.push_back(
          register_module("graph_gate" + std::to_string(i), ChannelGate(H, c.gate_bottleneck)));
    }
    cfg1_ = register_module("cfg1", torch::nn::Linear(kTileConfigDim, H));
    cfg2_ = register_module("cfg2", torch::nn::Linear(H, H));
    head1_ = register_module("head1", torch::nn::Linear(4 * H, H));
    head2_ = register_module("head2", torch::nn::Linear(H, H));
    head3_ = register_module("head3", torch::nn::Linear(H, 1));
    dropout_ = register_module("dropout", torch::nn::Dropout(c.dropout));
  }
  torch::Tensor forward(const GraphTensors& g, const torch::Tensor& cfg) override {
    const int64_t N = g.num_nodes;
    auto h0 =
        in_(torch::cat({g.node_num, layout_emb_(g.m2m).view({N, -1}), opcode_emb_(g.opcode)}, 1));
    auto x = h0.unsqueeze(1);  // [N, 1, H]: the layout model's blocks with one "configuration"
    for (size_t i = 0; i < dense_gate_.size(); ++i) {
      if (i > 0) x = dense_[i - 1](x);
      x = torch::gelu(dense_gate_[i](instance_norm_nodes(x)));
    }
    for (size_t i = 0; i < sage_l_.size(); ++i) {
      auto y = instance_norm_nodes(x);
      y = graph_gate_[i](sage_l_[i](aggregate(g.adj_mean, y)) + sage_r_[i](y));
      x = dropout_(torch::gelu(y + x));
    }
    // InstanceNorm over the nodes of one kernel removes whatever all its nodes share (e.g. a
    // kernel-wide tensor size), so the readout also gets the mean of the first projection.
    auto pooled = torch::cat({x.mean(0), std::get<0>(x.max(0)), h0.mean(0, true)}, -1);  // [1, 3H]
    auto c = torch::relu(cfg2_(torch::relu(cfg1_(cfg))));                                // [C, H]
    auto h = torch::cat({pooled.expand({cfg.size(0), pooled.size(1)}), c}, 1);           // [C, 4H]
    return head3_(torch::relu(head2_(torch::relu(head1_(h))))).squeeze(-1);
  }

 private:
  torch::nn::Embedding layout_emb_{nullptr}, opcode_emb_{nullptr};
  torch::nn::Linear in_{nullptr}, cfg1_{nullptr}, cfg2_{nullptr}, head1_{nullptr}, head2_{nullptr},
      head3_{nullptr};
  std::vector<torch::nn::Linear> dense_, sage_l_, sage_r_;
  std::vector<ChannelGate> dense_gate_, graph_gate_;
  torch::nn::Dropout dropout_{nullptr};
};

// Early join (the TpuGraphs tile baseline's shape): the configuration is added to every node before
// the GraphSAGE layers, so the graph is encoded once per configuration.
class TileEarlyJoin : public TileModelImpl {
 public:
  explicit TileEarlyJoin(const ModelConfig& c) {
    const int H = c.hidden;
    opcode_emb_ = register_module("opcode_emb", torch::nn::Embedding(121, c.opcode_dim));
    in_ = register_module("in", torch::nn::Linear(kNumericFeatures + 6 + c.opcode_dim, H));
    in_cfg_ = register_module(
        "in_cfg", torch::nn::Linear(torch::nn::LinearOptions(kTileConfigDim, H).bias(false)));
    for (int i = 0; i < c.graph_layers; ++i) {
      sage_l_.push_back(register_module("sage_l" + std::to_string(i), torch::nn::Linear(H, H)));
      sage_r_.push_back(
          register_module("sage_r" + std::to_string(i),
                          torch::nn::Linear(torch::nn::LinearOptions(H, H).bias(false))));
    }
    mlp1_ = register_module("mlp1", torch::nn::Linear(H, H));
    mlp2_ = register_module("mlp2", torch::nn::Linear(H, 1));
  }
  torch::Tensor forward(const GraphTensors& g, const torch::Tensor& cfg) override {
    auto m2m = (g.m2m - kEmbedOffset).to(torch::kFloat32);
    auto stat = in_(torch::cat({g.node_num, m2m, opcode_emb_(g.opcode)}, 1));  // [N, H]
    auto x = torch::relu(stat.unsqueeze(1) + in_cfg_(cfg).unsqueeze(0));       // [N, C, H]
    for (size_t i = 0; i < sage_l_.size(); ++i)
      x = torch::relu(sage_l_[i](aggregate(g.adj_mean, x)) + sage_r_[i](x));
    return mlp2_(torch::relu(mlp1_(x.mean(0)))).squeeze(-1);  // [C]
  }

 private:
  torch::nn::Embedding opcode_emb_{nullptr};
  torch::nn::Linear in_{nullptr}, in_cfg_{nullptr}, mlp1_{nullptr}, mlp2_{nullptr};
  std::vector<torch::nn::Linear> sage_l_, sage_r_;
};

std::shared_ptr<TileModelImpl> make_tile_model(const ModelConfig& c) {
  if (c.name == "tile") return std::make_shared<TileLateFusion>(c);
  if (c.name == "tile-baseline") return std::make_shared<TileEarlyJoin>(c);
  throw_error("model config", "name", "tile | tile-baseline", "'" + c.name + "'");
}

std::vector<TileGraph> load_split(const std::string& root, const std::string& split) {
  std::vector<TileGraph> out;
  for (const auto& p : list_graph_files(parse_collection("tile:xla").dir(root, split)))
    out.push_back(load_tile(p));
  if (out.empty())
    throw_error(parse_collection("tile:xla").dir(root, split), "", "tile kernels", "none");
  return out;
}

struct LoadedTile {
  ModelFile file;
  std::shared_ptr<TileModelImpl> model;
  FeatureNormalizer nn;
  ConfigNorm cn;
};

LoadedTile load_tile_model(const std::string& path, torch::Device dev) {
  LoadedTile t;
  t.file = load_model_file(path);
  if (t.file.task != "tile") throw_error(path, "task", "a tile model", "'" + t.file.task + "'");
  t.model = make_tile_model(t.file.config);
  load_module_tensors(*t.model, t.file.tensors, path);
  t.model->to(dev);
  t.model->eval();
  t.nn = FeatureNormalizer::from_json(t.file.normalizer, path);
  t.cn = ConfigNorm::from_json(t.file.preprocessing.value("config_norm", nlohmann::json()), path);
  return t;
}

std::vector<double> score_kernel(TileModelImpl& m, const Kernel& k) {
  torch::NoGradGuard ng;
  auto s = m.forward(k.g, k.cfg).to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

TileEvalReport evaluate_kernels(TileModelImpl& m, const std::vector<Kernel>& ks) {
  const bool was = m.is_training();
  m.eval();
  TileEvalReport r;
  std::vector<TileMetrics> per;
  for (const auto& k : ks) {
    TileMetrics t = tile_metrics(score_kernel(m, k), k.runtimes, k.path);
    r.kernels.emplace_back(k.stem, t);
    per.push_back(t);
  }
  r.mean = mean_tile_metrics(per);
  if (was) m.train();
  return r;
}

}  // namespace

nlohmann::json TileTrainResult::to_json() const {
  return {{"best_score", best_score},
          {"best_step", best_step},
          {"steps", steps},
          {"seconds", seconds},
          {"kernels_per_second", kernels_per_second},
          {"best_model", best_model},
          {"last_model", last_model}};
}

nlohmann::json TileEvalReport::to_json() const {
  nlohmann::json j = {{"mean_score", mean.score},
                      {"mean_err1", mean.err1},
                      {"mean_err5", mean.err5},
                      {"mean_err10", mean.err10},
                      {"kernels", kernels.size()}};
  return j;
}

std::string TileEvalReport::summary() const {
  std::ostringstream o;
  o << std::fixed << std::setprecision(4) << kernels.size() << " kernels: tile score " << mean.score
    << ", top-1 error " << mean.err1 << ", top-5 error " << mean.err5 << ", top-10 error "
    << mean.err10;
  return o.str();
}

TileTrainResult train_tile(const TileTrainOptions& opt) {
  if (opt.steps <= 0 && opt.time_budget_s <= 0)
    throw_error("train", "--steps / --time-budget", "a step or time budget", "neither");
  fs::create_directories(opt.out_dir);
  std::cerr << "tgraph train (tile): " << init_torch(opt.ctx) << "\n";
  std::vector<TileGraph> train_raw = load_split(opt.data_root, "train");
  std::vector<TileGraph> valid_raw = load_split(opt.data_root, "valid");
  if (opt.max_valid_kernels > 0 && static_cast<int64_t>(valid_raw.size()) > opt.max_valid_kernels)
    valid_raw.resize(static_cast<size_t>(opt.max_valid_kernels));
  // Normalisers from the training split (nodes re-padded first, as the model sees them).
  std::vector<std::vector<float>> feats;
  std::vector<FeatBlock> blocks;
  for (const auto& t : train_raw) {
    feats.push_back(t.node_feat);
    repad_minor_to_major(feats.back().data(), t.num_nodes);
  }
  for (size_t i = 0; i < train_raw.size(); ++i)
    blocks.push_back({feats[i].data(), train_raw[i].num_nodes});
  FeatureNormalizer nn = fit_normalizer_blocks(blocks);
  ConfigNorm cn;
  cn.fit(train_raw);
  std::vector<Kernel> train, valid;
  for (const auto& t : train_raw)
    if (t.labelled && t.num_configs >= 2) train.push_back(make_kernel(t, nn, cn, opt.ctx.device));
  for (const auto& t : valid_raw) valid.push_back(make_kernel(t, nn, cn, opt.ctx.device));

  ModelConfig mc = ModelConfig::preset(opt.model, false);
  if (opt.hidden > 0) mc.hidden = opt.hidden;
  auto model = make_tile_model(mc);
  model->to(opt.ctx.device);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  std::cerr << "model " << mc.name << " (" << params << " parameters, hidden " << mc.hidden << "), "
            << train.size() << " train / " << valid.size() << " valid kernels\n";
  torch::optim::AdamW optim(model->parameters(),
                            torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  std::mt19937_64 rng(opt.ctx.seed);

  auto model_file = [&](const nlohmann::json& extra) {
    ModelFile f;
    f.task = "tile";
    f.config = mc;
    f.normalizer = nn.to_json();
    f.preprocessing = {{"repad", true}, {"config_norm", cn.to_json()}};
    f.training = {{"collection", "tile:xla"},
                  {"loss", "hinge"},
                  {"kernels_per_step", opt.kernels_per_step},
                  {"slate", opt.slate},
                  {"lr", opt.lr},
                  {"seed", opt.ctx.seed},
                  {"train_kernels", train.size()},
                  {"valid_kernels", valid.size()}};
    f.training.update(extra);
    f.tensors = module_tensors(*model);
    return f;
  };

  std::ofstream log((fs::path(opt.out_dir) / "log.jsonl").string(), std::ios::app);
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  int64_t step = 0;
  auto progress = [&] {
    double p = 0;
    if (opt.steps > 0) p = std::max(p, static_cast<double>(step) / opt.steps);
    if (opt.time_budget_s > 0) p = std::max(p, elapsed() / opt.time_budget_s);
    return std::min(p, 1.0);
  };
  const double eval_every_s = opt.eval_every_s > 0 ? opt.eval_every_s : opt.time_budget_s / 6;
  const int64_t eval_every_steps = opt.eval_every_steps > 0 ? opt.eval_every_steps
                                   : (opt.steps > 0 && opt.time_budget_s <= 0)
                                       ? std::max<int64_t>(1, opt.steps / 6)
                                       : 0;
  TileTrainResult res;
  res.best_score = -1e9;
  double last_eval = 0, loss_ema = 0, train_s = 0;
  int64_t last_eval_step = 0, kernels_seen = 0;
  auto evaluate = [&] {
    TileEvalReport r = evaluate_kernels(*model, valid);
    const bool best = r.mean.score > res.best_score;
    if (best) {
      res.best_score = r.mean.score;
      res.best_step = step;
      save_model_file((fs::path(opt.out_dir) / "best.tgm").string(),
                      model_file({{"steps", step},
                                  {"valid_score", r.mean.score},
                                  {"valid_err1", r.mean.err1},
                                  {"valid_err5", r.mean.err5},
                                  {"valid_err10", r.mean.err10}}));
    }
    nlohmann::json j = {{"step", step},
                        {"seconds", elapsed()},
                        {"train_loss", loss_ema},
                        {"valid", r.to_json()},
                        {"best", best}};
    log << j.dump() << "\n" << std::flush;
    std::cerr << "eval step " << step << ": " << r.summary() << (best ? " (best)" : "") << "\n";
  };

  model->train();
  std::vector<size_t> order;
  size_t pos = 0;
  while (progress() < 1.0) {
    auto ts = Clock::now();
    for (auto& group : optim.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options())
          .lr(opt.lr * lr_factor(progress(), opt.warmup));
    optim.zero_grad();
    torch::Tensor total;
    for (int64_t b = 0; b < opt.kernels_per_step; ++b) {
      if (pos == order.size()) {
        order.resize(train.size());
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        pos = 0;
      }
      const Kernel& k = train[order[pos++]];
      // Configurations in a random order and subset: the row-0-is-default layout of the files
      // never reaches the model (it sees no row index at all).
      std::vector<int64_t> rows(static_cast<size_t>(k.C));
      std::iota(rows.begin(), rows.end(), 0);
      std::shuffle(rows.begin(), rows.end(), rng);
      if (static_cast<int64_t>(rows.size()) > opt.slate)
        rows.resize(static_cast<size_t>(opt.slate));
      auto idx = torch::tensor(rows, torch::kLong).to(opt.ctx.device);
      auto s = model->forward(k.g, k.cfg.index_select(0, idx));
      auto l = pairwise_hinge_loss(s, k.target.index_select(0, idx));
      total = total.defined() ? total + l : l;
    }
    total = total / static_cast<double>(opt.kernels_per_step);
    total.backward();
    if (opt.clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), opt.clip);
    optim.step();
    double l = total.item<double>();
    loss_ema = step == 0 ? l : 0.98 * loss_ema + 0.02 * l;
    ++step;
    kernels_seen += opt.kernels_per_step;
    train_s += std::chrono::duration<double>(Clock::now() - ts).count();
    const bool due = (eval_every_s > 0 && elapsed() - last_eval >= eval_every_s) ||
                     (eval_every_steps > 0 && step - last_eval_step >= eval_every_steps);
    if (due && progress() < 1.0) {
      evaluate();
      last_eval = elapsed();
      last_eval_step = step;
    }
  }
  evaluate();
  res.steps = step;
  res.seconds = elapsed();
  res.kernels_per_second = kernels_seen / std::max(train_s, 1e-9);
  res.last_model = (fs::path(opt.out_dir) / "last.tgm").string();
  save_model_file(res.last_model, model_file({{"steps", step}}));
  res.best_model = (fs::path(opt.out_dir) / "best.tgm").string();
  write_file_atomic((fs::path(opt.out_dir) / "summary.json").string(), res.to_json().dump(2));
  return res;
}

TileEvalReport evaluate_tile_model(const std::string& model_path, const std::string& data_root,
                                   const std::string& split, const RunContext& ctx) {
  LoadedTile t = load_tile_model(model_path, ctx.device);
  std::vector<Kernel> ks;
  for (const auto& g : load_split(data_root, split)) {
    if (!g.labelled)
      throw_error(g.path, "config_runtime",
                  "a labelled kernel (runtimes > 0) to compute metrics on",
                  "all zeros (unlabelled test data): use `tgraph predict` instead");
    ks.push_back(make_kernel(g, t.nn, t.cn, ctx.device));
  }
  return evaluate_kernels(*t.model, ks);
}

TileEvalReport evaluate_row_order_heuristic(const std::string& data_root,
                                            const std::string& split) {
  TileEvalReport r;
  std::vector<TileMetrics> per;
  for (const auto& g : load_split(data_root, split)) {
    std::vector<double> scores(static_cast<size_t>(g.num_configs)), rt;
    std::iota(scores.begin(), scores.end(), 0.0);  // file order: row 0 predicted fastest
    for (int64_t v : g.config_runtime) rt.push_back(static_cast<double>(v));
    TileMetrics t = tile_metrics(scores, rt, g.path);
    r.kernels.emplace_back(g.stem, t);
    per.push_back(t);
  }
  r.mean = mean_tile_metrics(per);
  return r;
}

std::vector<SubmissionRow> predict_tile(const std::string& model_path, const std::string& data_root,
                                        const std::string& split, const RunContext& ctx) {
  LoadedTile t = load_tile_model(model_path, ctx.device);
  std::vector<SubmissionRow> rows;
  Collection c = parse_collection("tile:xla");
  for (const auto& g : load_split(data_root, split)) {
    Kernel k = make_kernel(g, t.nn, t.cn, ctx.device);
    auto top = top_k_by_score(score_kernel(*t.model, k), kTileSubmissionK);
    rows.push_back({submission_id(c, g.stem), top, g.num_configs, false});
  }
  return rows;
}

}  // namespace tgraph
