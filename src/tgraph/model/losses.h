// Ranking losses over one slate: scores [S] (higher = predicted slower) vs measured runtimes [S].
#pragma once

#include <string>

#include <torch/types.h>

namespace tgraph {

struct LossOptions {
  std::string name = "hinge";  // hinge | listmle | listmle-fast | diffmat
  double margin = 1.0;         // hinge margin (diffmat uses diffmat_margin)
  double diffmat_margin = 0.1;
  double mape_weight = 0.0;  // diffmat: weight of the MAPE term on runtime / slate minimum
  // Any loss: + weight * mean((score - log target)^2). Tile targets are runtime / normaliser (the
  // default configuration's runtime), so this asks for scores on one scale across kernels, 0 =
  // as fast as the default (the "default-configuration prior" of issue #12).
  double log_mse_weight = 0.0;
};

// mean over ordered pairs with y_i > y_j of max(0, margin - (s_i - s_j)). Pairs with equal
// runtimes carry no order and are left out; 0 if the slate has no such pair.
torch::Tensor pairwise_hinge_loss(const torch::Tensor& scores, const torch::Tensor& runtimes,
                                  double margin = 1.0);
// ListMLE (Plackett-Luce negative log-likelihood of the slowest-first order), mean per position.
torch::Tensor listmle_loss(const torch::Tensor& scores, const torch::Tensor& runtimes);
// ListMLE of the fastest-first order (utilities -scores): its first factor is the softmax
// likelihood of the fastest configuration, so the top of the ranking weighs most. For top-K
// metrics (tile); the slowest-first ListMLE spends its sharpest terms on the slow end.
torch::Tensor listmle_fast_loss(const torch::Tensor& scores, const torch::Tensor& runtimes);
// DiffMat: margin ranking on the upper triangle of the pairwise-difference matrix, plus an
// optional MAPE term between scores and runtime / min(runtime of the slate).
torch::Tensor diffmat_loss(const torch::Tensor& scores, const torch::Tensor& runtimes,
                           double margin, double mape_weight);

torch::Tensor ranking_loss(const LossOptions& o, const torch::Tensor& scores,
                           const torch::Tensor& runtimes);
void validate_loss_options(const LossOptions& o);  // throws tgraph::Error for an unknown name

}  // namespace tgraph
