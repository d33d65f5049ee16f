// Exponential moving average of a model's parameters (train --ema): the average is what the
// trainer validates and writes to best.tgm / last.tgm / snapshots, while the raw weights keep
// training (and are what a checkpoint resumes). Averaging the late iterates lowers the variance
// of the final model without another run's compute.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace tgraph {

class WeightAverage {
 public:
  // decay 0 = off: update() and Swap do nothing.
  WeightAverage(const torch::nn::Module& m, double decay) : decay_(decay) {
    if (!enabled()) return;
    torch::NoGradGuard ng;
    for (const auto& p : m.parameters()) shadow_.push_back(p.detach().clone());
  }
  bool enabled() const { return decay_ > 0; }
  double decay() const { return decay_; }

  // The weight of the old average after optimiser step `step` (1, 2, ...): min(decay,
  // (1 + step) / (10 + step)), so the first steps are not dominated by the initial weights.
  double step_decay(int64_t step) const {
    const double s = static_cast<double>(step);
    return std::min(decay_, (1 + s) / (10 + s));
  }
  // average = d x average + (1 - d) x parameter, after optimiser step `step`.
  void update(const torch::nn::Module& m, int64_t step) {
    if (!enabled()) return;
    torch::NoGradGuard ng;
    const double d = step_decay(step);
    const auto ps = m.parameters();
    TORCH_CHECK(ps.size() == shadow_.size(), "WeightAverage: the module's parameters changed");
    for (size_t i = 0; i < ps.size(); ++i) shadow_[i].mul_(d).add_(ps[i].detach(), 1 - d);
  }

  // The averages, in the module's parameter order (checkpoints); set() restores them.
  const std::vector<torch::Tensor>& tensors() const { return shadow_; }
  // False when the count or a shape differs from the module's parameters.
  bool set(const std::vector<torch::Tensor>& t) {
    if (t.size() != shadow_.size()) return false;
    for (size_t i = 0; i < t.size(); ++i)
      if (!t[i].sizes().equals(shadow_[i].sizes())) return false;
    torch::NoGradGuard ng;
    for (size_t i = 0; i < t.size(); ++i) shadow_[i].copy_(t[i]);
    return true;
  }

  // For its lifetime the module holds the average (and the average the raw weights); the
  // destructor swaps them back. Copies are exact, so the raw weights return bit for bit.
  class Swap {
   public:
    Swap(WeightAverage& a, torch::nn::Module& m) : a_(a), m_(m) { a_.swap_with(m_); }
    ~Swap() { a_.swap_with(m_); }
    Swap(const Swap&) = delete;
    Swap& operator=(const Swap&) = delete;

   private:
    WeightAverage& a_;
    torch::nn::Module& m_;
  };

 private:
  void swap_with(torch::nn::Module& m) {
    if (!enabled()) return;
    torch::NoGradGuard ng;
    auto ps = m.parameters();
    for (size_t i = 0; i < ps.size(); ++i) {
      torch::Tensor raw = ps[i].detach().clone();
      ps[i].detach().copy_(shadow_[i]);
      shadow_[i].copy_(raw);
    }
  }

  double decay_ = 0;
  std::vector<torch::Tensor> shadow_;  // the averages, one per parameter
};

}  // namespace tgraph
