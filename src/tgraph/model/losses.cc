#include "tgraph/model/losses.h"

#include <torch/torch.h>

#include "tgraph/util/error.h"

namespace tgraph {

torch::Tensor pairwise_hinge_loss(const torch::Tensor& s, const torch::Tensor& y, double margin) {
  auto yd = y.to(torch::kFloat64);
  auto slower = (yd.unsqueeze(1) > yd.unsqueeze(0)).to(s.dtype());  // [S, S]: 1 if y_i > y_j
  auto diff = s.unsqueeze(1) - s.unsqueeze(0);                      // s_i - s_j
  auto l = torch::relu(margin - diff) * slower;
  return l.sum() / slower.sum().clamp_min(1.0);
}

torch::Tensor listmle_loss(const torch::Tensor& s, const torch::Tensor& y) {
  auto order = torch::argsort(y.to(torch::kFloat64), /*dim=*/0, /*descending=*/true);
  auto ss = s.index_select(0, order);
  // log sum_{k >= i} exp(s_k) for every i: reverse cumulative logsumexp.
  auto lse = torch::logcumsumexp(ss.flip(0), 0).flip(0);
  return (lse - ss).mean();
}

torch::Tensor listmle_fast_loss(const torch::Tensor& s, const torch::Tensor& y) {
  // Negating both turns "slowest first with utilities s" into "fastest first with utilities -s".
  return listmle_loss(-s, -y.to(torch::kFloat64));
}

torch::Tensor diffmat_loss(const torch::Tensor& s, const torch::Tensor& y, double margin,
                           double mape_weight) {
  auto yd = y.to(torch::kFloat64);
  auto sign = torch::sign(yd.unsqueeze(1) - yd.unsqueeze(0)).to(s.dtype());
  auto upper = torch::ones({s.size(0), s.size(0)}, s.options()).triu(1) * (sign != 0);
  auto diff = s.unsqueeze(1) - s.unsqueeze(0);
  auto l = (torch::relu(margin - sign * diff) * upper).sum() / upper.sum().clamp_min(1.0);
  if (mape_weight > 0) {
    auto target = (yd / yd.min()).to(s.dtype());
    l = l + mape_weight * ((s - target).abs() / target).mean();
  }
  return l;
}

void validate_loss_options(const LossOptions& o) {
  if (o.name != "hinge" && o.name != "listmle" && o.name != "listmle-fast" && o.name != "diffmat")
    throw_error("--loss", "", "hinge | listmle | listmle-fast | diffmat", "'" + o.name + "'");
  if (!(o.log_mse_weight >= 0))
    throw_error("--log-mse-weight", "", "a weight >= 0", std::to_string(o.log_mse_weight));
  if (!(o.mape_weight >= 0))
    throw_error("--mape-weight", "", "a weight >= 0", std::to_string(o.mape_weight));
}

namespace {
torch::Tensor rank_term(const LossOptions& o, const torch::Tensor& s, const torch::Tensor& y) {
  if (o.name == "hinge") return pairwise_hinge_loss(s, y, o.margin);
  if (o.name == "listmle") return listmle_loss(s, y);
  if (o.name == "listmle-fast") return listmle_fast_loss(s, y);
  if (o.name == "diffmat") return diffmat_loss(s, y, o.diffmat_margin, o.mape_weight);
  validate_loss_options(o);
  return {};
}
}  // namespace

torch::Tensor ranking_loss(const LossOptions& o, const torch::Tensor& s, const torch::Tensor& y) {
  auto l = rank_term(o, s, y);
  if (o.log_mse_weight > 0)
    l = l + o.log_mse_weight * (s - y.to(torch::kFloat64).log().to(s.dtype())).pow(2).mean();
  return l;
}

}  // namespace tgraph
