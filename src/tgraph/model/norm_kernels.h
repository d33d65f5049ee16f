// Hand-written loops of the fused InstanceNorm (over nodes, no affine), torch-free so that they
// compile fast and once per instruction set (AVX-512, AVX2, baseline; chosen at load time).
//
// Layout: x is [N, M] row-major (N nodes, M = slate x channels); statistics are per column. Each
// call handles the columns [j0, j1), so callers can split columns between threads; the loops walk
// the rows in blocks of columns small enough that a block's N rows stay in cache between passes.
#pragma once

#include <cstdint>

namespace tgraph {

// y = (x - mean) * rstd per column, rstd = 1 / sqrt(var + eps), var the population variance
// (sums of x and x^2 accumulated in double, one pass). Writes y[:, j0:j1] and rstd[j0:j1].
void instance_norm_forward_cols(const float* x, int64_t N, int64_t M, double eps, float* y,
                                float* rstd, int64_t j0, int64_t j1);

// The gradient of that map: gx = rstd * (gy - mean(gy) - y * mean(gy * y)), means over the
// rows, from the saved output y and rstd. Writes gx[:, j0:j1].
void instance_norm_backward_cols(const float* gy, const float* y, const float* rstd, int64_t N,
                                 int64_t M, float* gx, int64_t j0, int64_t j1);

}  // namespace tgraph
