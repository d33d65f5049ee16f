#include "tgraph/api/ranker.h"

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
  return Ranker(std::make_unique<Impl>(Impl{CostModel::load(model_path, o)}));
}

namespace {
template <typename G>
Ranking rank_graph(const CostModel& m, const G& g) {
  Scores s = m.score_own(m.prepare(g));
  Ranking r;
  r.graph = g.stem;
  r.scores = std::move(s.score);
  r.spread = std::move(s.spread);
  r.order = ranking_by_score(r.scores);
  return r;
}
}  // namespace

Ranking Ranker::rank(const LayoutGraph& g) const {
  return rank_graph(impl_->model, g);
}
Ranking Ranker::rank(const TileGraph& g) const {
  return rank_graph(impl_->model, g);
}

Ranking Ranker::rank_file(const std::string& npz_path) const {
  return detect_kind(npz_path) == Kind::kTile ? rank(load_tile(npz_path))
                                              : rank(load_layout(npz_path));
}

std::string Ranker::model_name() const {
  return impl_->model.model_name();
}
std::string Ranker::trained_on() const {
  return impl_->model.trained_on();
}

}  // namespace tgraph
