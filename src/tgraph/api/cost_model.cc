#include "tgraph/api/cost_model.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <random>
#include <shared_mutex>

#include <torch/torch.h>

#include "tgraph/data/pack.h"
#include "tgraph/data/sample.h"
#include "tgraph/model/context.h"
#include "tgraph/model/graph_tensors.h"
#include "tgraph/model/losses.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/util/error.h"

namespace tgraph {

struct GraphHandle::State {
  const void* owner = nullptr;  // the CostModel::Impl that prepared it
  Sample sample;
  std::vector<GraphTensors> tensors;  // per member (each member has its own normaliser)
  // Cached encode_graph() per member, valid for the model's weights at `version`.
  std::mutex mu;
  uint64_t version = std::numeric_limits<uint64_t>::max();
  std::vector<torch::Tensor> codes;
};

GraphHandle::GraphHandle() = default;
GraphHandle::~GraphHandle() = default;
GraphHandle::GraphHandle(const GraphHandle&) = default;
GraphHandle& GraphHandle::operator=(const GraphHandle&) = default;
int64_t GraphHandle::num_nodes() const {
  return s_ ? s_->sample.num_nodes : 0;
}
int64_t GraphHandle::num_config_nodes() const {
  return s_ ? s_->sample.num_config_nodes() : 0;
}
int64_t GraphHandle::num_configs() const {
  return s_ ? s_->sample.num_configs : 0;
}

struct CostModel::Impl {
  CostModelOptions opt;
  RunContext ctx;
  LoadedModel m;
  LossOptions loss;
  double weight_decay = 1e-5;
  // Scores share the model; update() and save() take it alone. `version` changes with weights.
  mutable std::shared_mutex mu;
  uint64_t version = 0;
  std::vector<std::unique_ptr<torch::optim::AdamW>> optims;  // per member, made by update()
  int64_t updates = 0;
  std::mt19937_64 rng;

  const GraphHandle::State& state(const GraphHandle& h) const {
    if (!h.s_) throw_error("cost model", "graph handle", "a handle from prepare()", "an empty one");
    if (h.s_->owner != this)
      throw_error("cost model", "graph handle", "a handle prepared by this model",
                  "one prepared by another CostModel");
    return *h.s_;
  }

  // Under a shared (or exclusive) lock of mu.
  std::vector<torch::Tensor> codes(const GraphHandle& h) const {
    GraphHandle::State& s = *h.s_;
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.version != version) {
      torch::NoGradGuard ng;
      s.codes.clear();
      for (size_t j = 0; j < m.members.size(); ++j)
        s.codes.push_back(m.members[j].net->encode_graph(s.tensors[j]));
      s.version = version;
    }
    return s.codes;
  }

  void make_optimizers() {
    if (!optims.empty()) return;
    for (LoadedNet& n : m.members) {
      auto o = std::make_unique<torch::optim::AdamW>(
          n.net->parameters(),
          torch::optim::AdamWOptions(opt.update_lr).weight_decay(weight_decay));
      // Continue from the optimiser state a previous save() wrote.
      if (!n.file.optimizer.is_null()) {
        for (const auto& p : n.net->named_parameters()) {
          auto a = n.file.optimizer_tensors.find(p.key() + ".exp_avg");
          auto b = n.file.optimizer_tensors.find(p.key() + ".exp_avg_sq");
          if (a == n.file.optimizer_tensors.end() || b == n.file.optimizer_tensors.end()) continue;
          if (a->second.sizes() != p.value().sizes() || b->second.sizes() != p.value().sizes())
            throw_error(m.path, "optimizer." + p.key(), TG_STR("shape " << p.value().sizes()),
                        TG_STR("shape " << a->second.sizes()));
          auto st = std::make_unique<torch::optim::AdamWParamState>();
          st->step(
              n.file.optimizer.value("steps", nlohmann::json::object()).value(p.key(), int64_t(0)));
          st->exp_avg(a->second.to(ctx.device).clone());
          st->exp_avg_sq(b->second.to(ctx.device).clone());
          o->state()[c10::guts::to_string(p.value().unsafeGetTensorImpl())] = std::move(st);
        }
      }
      optims.push_back(std::move(o));
    }
  }

  GraphHandle prepare(Sample s) const {
    GraphHandle h;
    h.s_ = std::make_shared<GraphHandle::State>();
    h.s_->owner = this;
    for (const LoadedNet& n : m.members)
      h.s_->tensors.push_back(make_graph_tensors(s, n.node_norm, ctx.device));
    s.node_feat = {};  // in the tensors now
    h.s_->sample = std::move(s);
    return h;
  }

  void check_candidates(const GraphHandle::State& s, const float* values, int64_t count) const {
    if (count > 0 && !values)
      throw_error("cost model", "candidates", "values for " + std::to_string(count), "null");
    validate_candidates(s.sample, values, count, s.sample.config_width,
                        "candidates for " + s.sample.stem);
  }
};

CostModel::CostModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CostModel::~CostModel() = default;
CostModel::CostModel(CostModel&&) noexcept = default;
CostModel& CostModel::operator=(CostModel&&) noexcept = default;

CostModel CostModel::load(const std::string& path, const CostModelOptions& opt) {
  if (opt.slate < 0)
    throw_error("cost model options", "slate", ">= 0 (0: the model's)", std::to_string(opt.slate));
  if (!(opt.update_lr > 0))
    throw_error("cost model options", "update_lr", "> 0", std::to_string(opt.update_lr));
  auto impl = std::make_unique<Impl>();
  impl->opt = opt;
  impl->ctx.device = parse_device(opt.device);
  impl->ctx.threads = opt.threads;
  impl->ctx.seed = opt.seed;
  init_torch(impl->ctx);
  impl->m = load_model(path, impl->ctx.device);
  if (opt.slate_repeats < 0)
    throw_error("cost model options", "slate_repeats", ">= 0 (0: the model's)",
                std::to_string(opt.slate_repeats));
  if (impl->opt.slate == 0) impl->opt.slate = default_inference_slate(impl->m);
  if (impl->opt.slate_repeats == 0) impl->opt.slate_repeats = default_slate_repeats(impl->m);
  const ModelFile& f = impl->m.file();
  impl->loss.name = f.training.value("loss", "hinge");
  validate_loss_options(impl->loss);
  impl->weight_decay = f.training.value("weight_decay", 1e-5);
  impl->updates = f.training.value("updates", int64_t(0));
  impl->rng.seed(opt.seed);
  return CostModel(std::move(impl));
}

void CostModel::save(const std::string& path) const {
  std::unique_lock<std::shared_mutex> lk(impl_->mu);
  LoadedModel& m = impl_->m;
  for (size_t j = 0; j < m.members.size(); ++j) {
    ModelFile& f = m.members[j].file;
    f.training["updates"] = impl_->updates;
    if (j >= impl_->optims.size()) continue;  // never updated: the file's state stays as it was
    f.optimizer = {
        {"name", "adamw"}, {"lr", impl_->opt.update_lr}, {"steps", nlohmann::json::object()}};
    f.optimizer_tensors.clear();
    auto& state = impl_->optims[j]->state();
    for (const auto& p : m.members[j].net->named_parameters()) {
      auto it = state.find(c10::guts::to_string(p.value().unsafeGetTensorImpl()));
      if (it == state.end()) continue;
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      f.optimizer["steps"][p.key()] = st.step();
      f.optimizer_tensors[p.key() + ".exp_avg"] =
          st.exp_avg().detach().to(torch::kCPU, torch::kFloat32).contiguous();
      f.optimizer_tensors[p.key() + ".exp_avg_sq"] =
          st.exp_avg_sq().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    }
  }
  save_loaded_model(path, m);
}

GraphHandle CostModel::prepare(const LayoutGraph& g) const {
  if (impl_->m.task != Kind::kLayout)
    throw_error(g.path, "graph", "a tile kernel for this tile model", "a layout graph");
  if (g.num_config_nodes == 0)
    throw_error(g.path, "node_config_ids", "at least one configurable node", "none");
  return impl_->prepare(
      sample_from_layout(std::make_shared<const LayoutGraph>(g), impl_->m.reach, impl_->m.repad));
}

GraphHandle CostModel::prepare(const TileGraph& g) const {
  if (impl_->m.task != Kind::kTile)
    throw_error(g.path, "graph", "a layout graph for this layout model", "a tile kernel");
  return impl_->prepare(sample_from_tile(std::make_shared<const TileGraph>(g), impl_->m.repad));
}

GraphHandle CostModel::prepare_file(const std::string& npz_path) const {
  if (detect_kind(npz_path) == Kind::kTile) return prepare(load_tile(npz_path));
  if (impl_->m.task != Kind::kLayout)
    throw_error(npz_path, "graph", "a tile kernel for this tile model", "a layout graph");
  // Through a temporary pack: the configurations are read slate by slate, so a graph whose
  // node_config_feat is larger than memory (full-scale TpuGraphs) still ranks.
  auto pg = pack_to_temporary(npz_path, PackOptions{impl_->m.reach, false, impl_->m.repad});
  if (pg->num_config_nodes() == 0)
    throw_error(npz_path, "node_config_ids", "at least one configurable node", "none");
  return impl_->prepare(sample_from_pack(pg));
}

int64_t CostModel::candidate_width(const GraphHandle& h) const {
  return impl_->state(h).sample.config_width;
}

Scores CostModel::score(const GraphHandle& h, const float* values, int64_t count) const {
  const GraphHandle::State& s = impl_->state(h);
  impl_->check_candidates(s, values, count);
  std::shared_lock<std::shared_mutex> lk(impl_->mu);
  const LoadedModel& m = impl_->m;
  std::vector<torch::Tensor> codes = impl_->codes(h);
  torch::NoGradGuard ng;
  const int64_t W = s.sample.config_width;
  std::vector<std::vector<double>> raw(m.members.size(), std::vector<double>(count));
  for (size_t j = 0; j < m.members.size(); ++j) {
    const LoadedNet& n = m.members[j];
    // Scores of k candidate rows (row-major, W values each) in one forward pass: [k] float64.
    auto forward = [&](const float* rows, int64_t k) {
      auto cfg = config_tensor(m.task, rows, k, W, &n.config_norm, impl_->ctx.device);
      return n.net->score(s.tensors[j], codes[j], cfg)
          .to(torch::kCPU, torch::kFloat64)
          .contiguous();
    };
    // Equal slates in the order given for partition 0, so no candidate ends up in a much smaller
    // last slate; further partitions (slate_repeats) shuffle the candidates.
    SlateScoring how = slate_scoring(*n.net, impl_->ctx.device, s.sample.num_nodes,
                                     impl_->opt.slate, impl_->opt.seed, impl_->opt.slate_repeats);
    how.first_in_order = true;
    auto read = [&](const std::vector<int64_t>& rows, float* out) {
      for (size_t i = 0; i < rows.size(); ++i)
        std::copy(values + rows[i] * W, values + (rows[i] + 1) * W, out + i * W);
    };
    raw[j] = score_in_slates(count, W, how, read, forward);
  }
  if (m.members.empty() || count == 0) return Scores{};
  ModelScores ms = combine_member_scores(m, raw);
  require_finite_scores(ms.score, "candidates for " + s.sample.stem);
  return Scores{std::move(ms.score), std::move(ms.spread)};
}

Scores CostModel::score(const GraphHandle& h, const std::vector<float>& values) const {
  const int64_t W = candidate_width(h);
  if (values.size() % static_cast<size_t>(W) != 0)
    throw_error("candidates", "values",
                TG_STR("a multiple of " << W << " values (K x " << W << ")"),
                std::to_string(values.size()));
  return score(h, values.data(), static_cast<int64_t>(values.size()) / W);
}

Scores CostModel::score_own(const GraphHandle& h) const {
  const GraphHandle::State& s = impl_->state(h);
  std::shared_lock<std::shared_mutex> lk(impl_->mu);
  const LoadedModel& m = impl_->m;
  std::vector<std::vector<double>> raw;
  for (size_t j = 0; j < m.members.size(); ++j)
    raw.push_back(score_configs(*m.members[j].net, s.tensors[j], s.sample,
                                &m.members[j].config_norm, impl_->opt.slate, impl_->opt.seed,
                                impl_->opt.slate_repeats));
  if (s.sample.num_configs == 0) return Scores{};
  ModelScores ms = combine_member_scores(m, raw);
  require_finite_scores(ms.score, s.sample.source);
  return Scores{std::move(ms.score), std::move(ms.spread)};
}

double CostModel::update(const GraphHandle& h, const float* values, int64_t count,
                         const std::vector<int64_t>& runtimes, int steps) {
  const GraphHandle::State& s = impl_->state(h);
  impl_->check_candidates(s, values, count);
  if (static_cast<int64_t>(runtimes.size()) != count)
    throw_error("update", "runtimes", TG_STR(count << " runtimes (one per candidate)"),
                std::to_string(runtimes.size()));
  bool distinct = false;
  for (int64_t i = 0; i < count; ++i) {
    if (runtimes[i] <= 0)
      throw_error("update", "runtimes", "measured runtimes > 0 ns",
                  TG_STR(runtimes[i] << " at candidate " << i));
    distinct = distinct || runtimes[i] != runtimes[0];
  }
  if (!distinct)
    throw_error("update", "runtimes", "at least 2 candidates with different runtimes",
                TG_STR(count << " candidates, all equal"));
  if (steps < 1) throw_error("update", "steps", ">= 1", std::to_string(steps));
  std::unique_lock<std::shared_mutex> lk(impl_->mu);
  impl_->make_optimizers();
  LoadedModel& m = impl_->m;
  const int64_t W = s.sample.config_width;
  double total = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<int64_t> rows = sample_rows(count, impl_->opt.slate, impl_->rng);
    std::vector<float> buf(rows.size() * static_cast<size_t>(W));
    std::vector<double> y(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      std::copy(values + rows[i] * W, values + (rows[i] + 1) * W, buf.begin() + i * W);
      y[i] = static_cast<double>(runtimes[rows[i]]);
    }
    auto target = torch::tensor(y, torch::kFloat64).to(impl_->ctx.device);
    for (size_t j = 0; j < m.members.size(); ++j) {
      LoadedNet& n = m.members[j];
      n.net->train();
      auto cfg = config_tensor(m.task, buf.data(), static_cast<int64_t>(rows.size()), W,
                               &n.config_norm, impl_->ctx.device);
      impl_->optims[j]->zero_grad();
      auto loss = ranking_loss(impl_->loss, n.net->forward(s.tensors[j], cfg), target);
      if (!std::isfinite(loss.item<double>()))
        throw_error("update", "loss", "a finite loss",
                    "NaN or infinity (this step was not applied)");
      loss.backward();
      torch::nn::utils::clip_grad_norm_(n.net->parameters(), 1.0);
      impl_->optims[j]->step();
      n.net->eval();
      total += loss.item<double>() / static_cast<double>(m.members.size());
    }
  }
  impl_->updates += steps;
  ++impl_->version;  // cached graph encodings are stale now
  return total / steps;
}

Kind CostModel::task() const {
  return impl_->m.task;
}
std::string CostModel::model_name() const {
  return impl_->m.ensemble ? "ensemble of " + impl_->m.members[0].file.config.name
                           : impl_->m.file().config.name;
}
std::string CostModel::trained_on() const {
  return impl_->m.collection;
}
int CostModel::members() const {
  return static_cast<int>(impl_->m.members.size());
}
bool CostModel::context_free() const {
  // Ensemble members are standardised with fixed calibrated offsets and scales, so only
  // cross-attention makes a score depend on the rest of its call.
  for (const auto& n : impl_->m.members)
    if (n.net->config().cross_attention) return false;
  return true;
}
int64_t CostModel::slate() const {
  return impl_->opt.slate;
}
int64_t CostModel::updates() const {
  return impl_->updates;
}

}  // namespace tgraph
