#include "tgraph/model/norm_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tgraph/model/kernel_clones.h"

namespace tgraph {

namespace {

// Columns per block: a block's N rows (N * width floats) stay within ~256 KB of cache, so the
// second and third passes over it do not go to memory.
int64_t block_width(int64_t N) {
  int64_t w = (int64_t(64) << 10) / std::max<int64_t>(N, 1);
  return std::clamp<int64_t>(w / 16 * 16, 16, 1024);
}

TG_CLONES void forward_block(const float* __restrict x, int64_t N, int64_t M, double eps,
                             float* __restrict y, float* __restrict rstd, int64_t j0, int64_t w,
                             double* __restrict acc, double* __restrict acc2,
                             float* __restrict meanf) {
  // One pass for the sums of x and x^2 in double: E[x^2] - mean^2 loses nothing that matters
  // unless |mean| / std exceeds ~1e6, far beyond the activations here.
  std::fill(acc, acc + w, 0.0);
  std::fill(acc2, acc2 + w, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const float* r = x + i * M + j0;
    for (int64_t j = 0; j < w; ++j) {
      const double v = r[j];
      acc[j] += v;
      acc2[j] += v * v;
    }
  }
  float* rs = rstd + j0;
  for (int64_t j = 0; j < w; ++j) {
    const double mean = acc[j] / N;
    const double var = std::max(acc2[j] / N - mean * mean, 0.0);
    meanf[j] = static_cast<float>(mean);
    rs[j] = static_cast<float>(1.0 / std::sqrt(var + eps));
  }
  for (int64_t i = 0; i < N; ++i) {
    const float* r = x + i * M + j0;
    float* o = y + i * M + j0;
    for (int64_t j = 0; j < w; ++j) o[j] = (r[j] - meanf[j]) * rs[j];
  }
}

TG_CLONES void backward_block(const float* __restrict gy, const float* __restrict y,
                              const float* __restrict rstd, int64_t N, int64_t M,
                              float* __restrict gx, int64_t j0, int64_t w, double* __restrict sg,
                              double* __restrict sgy, float* __restrict a, float* __restrict b) {
  std::fill(sg, sg + w, 0.0);
  std::fill(sgy, sgy + w, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const float* g = gy + i * M + j0;
    const float* v = y + i * M + j0;
    for (int64_t j = 0; j < w; ++j) {
      sg[j] += g[j];
      sgy[j] += double(g[j]) * v[j];
    }
  }
  const float* rs = rstd + j0;
  for (int64_t j = 0; j < w; ++j) {
    a[j] = static_cast<float>(sg[j] / N);   // mean(gy)
    b[j] = static_cast<float>(sgy[j] / N);  // mean(gy * y)
  }
  for (int64_t i = 0; i < N; ++i) {
    const float* g = gy + i * M + j0;
    const float* v = y + i * M + j0;
    float* o = gx + i * M + j0;
    for (int64_t j = 0; j < w; ++j) o[j] = rs[j] * (g[j] - a[j] - v[j] * b[j]);
  }
}

}  // namespace

void instance_norm_forward_cols(const float* x, int64_t N, int64_t M, double eps, float* y,
                                float* rstd, int64_t j0, int64_t j1) {
  const int64_t W = block_width(N);
  std::vector<double> acc(static_cast<size_t>(W)), acc2(static_cast<size_t>(W));
  std::vector<float> meanf(static_cast<size_t>(W));
  for (int64_t j = j0; j < j1; j += W)
    forward_block(x, N, M, eps, y, rstd, j, std::min(W, j1 - j), acc.data(), acc2.data(),
                  meanf.data());
}

void instance_norm_backward_cols(const float* gy, const float* y, const float* rstd, int64_t N,
                                 int64_t M, float* gx, int64_t j0, int64_t j1) {
  const int64_t W = block_width(N);
  std::vector<double> sg(static_cast<size_t>(W)), sgy(static_cast<size_t>(W));
  std::vector<float> a(static_cast<size_t>(W)), b(static_cast<size_t>(W));
  for (int64_t j = j0; j < j1; j += W)
    backward_block(gy, y, rstd, N, M, gx, j, std::min(W, j1 - j), sg.data(), sgy.data(), a.data(),
                   b.data());
}

}  // namespace tgraph
