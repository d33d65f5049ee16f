// Learning-rate schedule shared by the layout and tile trainers: linear warm-up, then cosine decay.
#pragma once

#include <algorithm>
#include <cmath>

namespace tgraph {

// Multiplier of the peak learning rate at progress p in [0, 1] (fraction of the step or time
// budget), with the first `warmup` fraction a linear ramp from 0.
inline double lr_factor(double progress, double warmup) {
  progress = std::clamp(progress, 0.0, 1.0);
  if (warmup > 0 && progress < warmup) return progress / warmup;
  const double p = warmup < 1 ? (progress - warmup) / (1 - warmup) : 1.0;
  return 0.5 * (1 + std::cos(M_PI * p));
}

}  // namespace tgraph
