#include "tgraph/api/ranker.h"

#include <torch/torch.h>

#include "tgraph/data/features.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/model/context.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"

namespace tgraph {

struct Ranker::Impl {
  RankerOptions opt;
  RunContext ctx;
  LoadedModel lm;
  FeatureNormalizer norm;
  bool prune = true, repad = true;
};

Ranker::Ranker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ranker::~Ranker() = default;
Ranker::Ranker(Ranker&&) noexcept = default;
Ranker& Ranker::operator=(Ranker&&) noexcept = default;

Ranker Ranker::load(const std::string& model_path, const RankerOptions& opt) {
  auto impl = std::make_unique<Impl>();
  impl->opt = opt;
  impl->ctx.device = parse_device(opt.device);
  impl->ctx.threads = opt.threads;
  impl->ctx.seed = opt.seed;
  init_torch(impl->ctx);
  impl->lm = load_layout_model(model_path, impl->ctx.device);
  impl->norm = FeatureNormalizer::from_json(impl->lm.file.normalizer, model_path);
  impl->prune = impl->lm.file.preprocessing.value("prune", true);
  impl->repad = impl->lm.file.preprocessing.value("repad", true);
  return Ranker(std::move(impl));
}

Ranking Ranker::rank(const LayoutGraph& g) const {
  auto shared = std::make_shared<const LayoutGraph>(g);
  GraphInput in =
      graph_input_from_layout(shared, impl_->prune, impl_->repad, impl_->norm, impl_->ctx.device);
  Ranking r;
  r.graph = g.stem;
  r.scores = score_all_configs(*impl_->lm.model, in, impl_->opt.slate, impl_->opt.seed);
  r.order = ranking_by_score(r.scores);
  return r;
}

Ranking Ranker::rank_file(const std::string& npz_path) const {
  return rank(load_layout(npz_path));
}

std::string Ranker::model_name() const {
  return impl_->lm.file.config.name;
}
std::string Ranker::trained_on() const {
  return impl_->lm.file.training.value("collection", "");
}

}  // namespace tgraph
