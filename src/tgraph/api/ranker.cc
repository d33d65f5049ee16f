#include "tgraph/api/ranker.h"

#include <filesystem>

#include "tgraph/api/cost_model.h"
#include "tgraph/eval/metrics.h"

namespace tgraph {

struct Ranker::Impl {
  CostModel model;
};

Ranker::Ranker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ranker::~Ranker() = default;
Ranker::Ranker(Ranker&&) noexcept = default;
Ranker& Ranker::operator=(Ranker&&) noexcept = default;

Ranker Ranker::load(const std::string& model_path, const RankerOptions& opt) {
  CostModelOptions o;
  o.device = opt.device;
  o.threads = opt.threads;
  o.slate = opt.slate;
  o.seed = opt.seed;
  o.slate_repeats = opt.slate_repeats;
  return Ranker(std::make_unique<Impl>(Impl{CostModel::load(model_path, o)}));
}

namespace {
Ranking rank_handle(const CostModel& m, const GraphHandle& h, std::string stem) {
  Scores s = m.score_own(h);
  Ranking r;
  r.graph = std::move(stem);
  r.scores = std::move(s.score);
  r.spread = std::move(s.spread);
  r.order = ranking_by_score(r.scores);
  return r;
}
template <typename G>
Ranking rank_graph(const CostModel& m, const G& g) {
  return rank_handle(m, m.prepare(g), g.stem);
}
}  // namespace

Ranking Ranker::rank(const LayoutGraph& g) const {
  return rank_graph(impl_->model, g);
}
Ranking Ranker::rank(const TileGraph& g) const {
  return rank_graph(impl_->model, g);
}

Ranking Ranker::rank_file(const std::string& npz_path) const {
  return rank_handle(impl_->model, impl_->model.prepare_file(npz_path),
                     std::filesystem::path(npz_path).stem().string());
}

std::string Ranker::model_name() const {
  return impl_->model.model_name();
}
std::string Ranker::trained_on() const {
  return impl_->model.trained_on();
}

}  // namespace tgraph
