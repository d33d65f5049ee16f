#include "tgraph/model/act_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tgraph/model/kernel_clones.h"

#if defined(__GNUC__)
#define TG_INLINE inline __attribute__((always_inline))
#else
#define TG_INLINE inline
#endif

namespace tgraph {

namespace {

// exp(x) for float, written with plain arithmetic so the loops below vectorise (a libm call
// does not): x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to degree 6 (relative
// error < 2e-7 on that range), 2^n through the exponent bits. Only for x in [-80, 80]: the
// callers clamp their arguments first. A clamp in here would not do: GCC evaluates each clamped
// branch as a constant for every vector and blends it in, and for the sigmoid at the lower end
// that constant is subnormal (sigmoid(-88) = 6e-39). On Intel cores each multiply by it takes a
// microcode assist: the gate loop ran 8x slower than the GELU one, whatever the data (measured
// on a Xeon; AMD cores handle subnormals at full speed).
TG_INLINE float exp_approx(float x) {
  // Round to nearest by the 1.5 * 2^23 trick (exact for |t| < 2^22; the compiler may not
  // fold it away without -ffast-math).
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145751953125f;  // ln2, high part (exact in float times small n)
  r = r - n * 1.42860682030941723e-6f;   // ln2, low part
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) * (int32_t(1) << 23);
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// z is clamped to [-40, 40], beyond which sigmoid is within 4.3e-18 of 0 or rounds to 1 (and a
// product with the clamped value is subnormal only for |x| < 3e-21; see exp_approx).
TG_INLINE float sigmoid(float z) {
  z = std::min(std::max(z, -40.0f), 40.0f);
  return 1.0f / (1.0f + exp_approx(-z));
}

// The standard normal CDF Phi(x) and density phi(x) for the exact GELU x * Phi(x). erfc(a)
// for a = |x| / sqrt(2) by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), the formula of
// ATen's vectorised erf; taking Phi(x) = erfc(a) / 2 for x < 0 directly, rather than
// (1 + erf) / 2, avoids cancellation in the tail.
TG_INLINE void normal_cdf_pdf(float x, float* cdf, float* pdf) {
  const float a = std::fabs(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  // exp(-x^2 / 2), its argument kept >= -80 (exp_approx's range): for |x| > 12.6 that leaves Phi
  // and phi within 2e-35 of their values.
  const float ex = exp_approx(std::max(-a * a, -80.0f));
  const float half_erfc = 0.5f * q * t * ex;
  *cdf = x < 0 ? half_erfc : 1.0f - half_erfc;
  *pdf = 0.39894228040143268f * ex;
}

// A 32-bit integer hash with good avalanche (Wellons' "lowbias32"); two rounds mix the seed's
// two halves and the element index. Only 32-bit multiplies, so it vectorises.
TG_INLINE uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

TG_INLINE uint32_t element_hash(uint64_t seed, int64_t i) {
  const uint32_t lo = static_cast<uint32_t>(static_cast<uint64_t>(i));
  const uint32_t hi = static_cast<uint32_t>(static_cast<uint64_t>(i) >> 32);
  const uint32_t h = mix32(lo + static_cast<uint32_t>(seed));
  return mix32(h ^ (static_cast<uint32_t>(seed >> 32) + hi * 0x9e3779b9U));
}

TG_INLINE float mask_scale(uint64_t seed, int64_t i, uint32_t threshold, float scale) {
  return element_hash(seed, i) >= threshold ? scale : 0.0f;
}

TG_CLONES void gate_fwd(const float* __restrict x, const float* __restrict z, float* __restrict out,
                        int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) out[i] = x[i] * sigmoid(z[i]);
}

TG_CLONES void gate_fwd_saving(const float* __restrict x, const float* __restrict z,
                               float* __restrict out, float* __restrict s, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float v = sigmoid(z[i]);
    s[i] = v;
    out[i] = x[i] * v;
  }
}

TG_CLONES void gate_bwd(const float* __restrict g, const float* __restrict x,
                        const float* __restrict s, float* __restrict gx, float* __restrict gz,
                        int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float gs = g[i] * s[i];
    gx[i] = gs;
    gz[i] = gs * x[i] * (1.0f - s[i]);
  }
}

// The variants below differ only in what they read and write; each loop is its own function so
// that every one of them vectorises without run-time branches on null pointers.
TG_CLONES void gelu_fwd(const float* __restrict y, float* __restrict out, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float c, d;
    normal_cdf_pdf(y[i], &c, &d);
    out[i] = y[i] * c;
  }
}

TG_CLONES void gelu_fwd_res(const float* __restrict y, const float* __restrict r,
                            float* __restrict pre, float* __restrict out, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float v = y[i] + r[i];
    float c, d;
    normal_cdf_pdf(v, &c, &d);
    pre[i] = v;
    out[i] = v * c;
  }
}

TG_CLONES void gelu_fwd_res_nosave(const float* __restrict y, const float* __restrict r,
                                   float* __restrict out, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float v = y[i] + r[i];
    float c, d;
    normal_cdf_pdf(v, &c, &d);
    out[i] = v * c;
  }
}

TG_CLONES void gelu_fwd_drop(const float* __restrict y, const float* __restrict r,
                             float* __restrict pre, float* __restrict out, uint32_t threshold,
                             float scale, uint64_t seed, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float v = r ? y[i] + r[i] : y[i];
    float c, d;
    normal_cdf_pdf(v, &c, &d);
    if (pre) pre[i] = v;
    out[i] = v * c * mask_scale(seed, i, threshold, scale);
  }
}

TG_CLONES void gelu_bwd(const float* __restrict g, const float* __restrict pre,
                        float* __restrict gpre, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float c, d;
    normal_cdf_pdf(pre[i], &c, &d);
    gpre[i] = g[i] * (c + pre[i] * d);
  }
}

TG_CLONES void gelu_bwd_drop(const float* __restrict g, const float* __restrict pre,
                             float* __restrict gpre, uint32_t threshold, float scale, uint64_t seed,
                             int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float c, d;
    normal_cdf_pdf(pre[i], &c, &d);
    gpre[i] = g[i] * mask_scale(seed, i, threshold, scale) * (c + pre[i] * d);
  }
}

// One node of the cross-attention: x and a are [S, F], out is [S, 2F]. m and r are F floats of
// scratch (the running maximum, then the reciprocal of the sum). The exponentials are parked in
// out's second half between the passes, so the node's block is read three times and written once.
TG_CLONES void xattn_fwd_node(const float* __restrict x, int64_t S, int64_t F, float inv_t,
                              float* __restrict out, float* __restrict a, float* __restrict m,
                              float* __restrict r) {
  for (int64_t f = 0; f < F; ++f) m[f] = x[f] * inv_t;
  for (int64_t s = 1; s < S; ++s) {
    const float* xs = x + s * F;
    for (int64_t f = 0; f < F; ++f) m[f] = std::max(m[f], xs[f] * inv_t);
  }
  for (int64_t f = 0; f < F; ++f) r[f] = 0.0f;
  for (int64_t s = 0; s < S; ++s) {
    const float* xs = x + s * F;
    float* ex = out + s * 2 * F + F;
    // exp of at most 0; below -80 it is < 2e-35 of the sum's largest term, so clamp there
    // (exp_approx's range).
    for (int64_t f = 0; f < F; ++f) {
      const float v = exp_approx(std::max(xs[f] * inv_t - m[f], -80.0f));
      ex[f] = v;
      r[f] += v;
    }
  }
  for (int64_t f = 0; f < F; ++f) r[f] = 1.0f / r[f];
  for (int64_t s = 0; s < S; ++s) {
    const float* xs = x + s * F;
    float* os = out + s * 2 * F;
    float* as = a + s * F;
    for (int64_t f = 0; f < F; ++f) {
      const float av = os[F + f] * r[f];
      as[f] = av;
      os[f] = xs[f];
      os[F + f] = xs[f] * av;
    }
  }
}

// The backward of one node: with da = g2 * x (g2 the gradient of the second half),
// dz = a * (da - sum_s da * a) and gx = g1 + g2 * a + dz * inv_t; returns sum dz * z.
// t and acc are F floats of scratch.
TG_CLONES double xattn_bwd_node(const float* __restrict g, const float* __restrict x,
                                const float* __restrict a, int64_t S, int64_t F, float inv_t,
                                float* __restrict gx, float* __restrict t, float* __restrict acc) {
  for (int64_t f = 0; f < F; ++f) t[f] = 0.0f, acc[f] = 0.0f;
  for (int64_t s = 0; s < S; ++s) {
    const float *g2 = g + s * 2 * F + F, *xs = x + s * F, *as = a + s * F;
    for (int64_t f = 0; f < F; ++f) t[f] += g2[f] * xs[f] * as[f];
  }
  for (int64_t s = 0; s < S; ++s) {
    const float *g1 = g + s * 2 * F, *g2 = g1 + F, *xs = x + s * F, *as = a + s * F;
    float* gs = gx + s * F;
    for (int64_t f = 0; f < F; ++f) {
      const float dz = as[f] * (g2[f] * xs[f] - t[f]);
      gs[f] = g1[f] + g2[f] * as[f] + dz * inv_t;
      acc[f] += dz * xs[f];
    }
  }
  double sum = 0;
  for (int64_t f = 0; f < F; ++f) sum += acc[f];
  return sum * inv_t;
}

// out = w * x (first term of a row) and out += w * x (the others), M floats.
TG_CLONES void scale_row(float w, const float* __restrict x, float* __restrict out, int64_t M) {
  for (int64_t j = 0; j < M; ++j) out[j] = w * x[j];
}

TG_CLONES void axpy_row(float w, const float* __restrict x, float* __restrict out, int64_t M) {
  for (int64_t j = 0; j < M; ++j) out[j] += w * x[j];
}

}  // namespace

void csr_aggregate_rows(const int64_t* rowptr, const int64_t* col, const float* val, const float* x,
                        int64_t M, float* out, int64_t b, int64_t e) {
  for (int64_t v = b; v < e; ++v) {
    float* o = out + v * M;
    const int64_t k0 = rowptr[v], k1 = rowptr[v + 1];
    if (k0 == k1) {
      std::fill(o, o + M, 0.0f);
      continue;
    }
    scale_row(val[k0], x + col[k0] * M, o, M);
    for (int64_t k = k0 + 1; k < k1; ++k) axpy_row(val[k], x + col[k] * M, o, M);
  }
}

void gate_forward(const float* x, const float* z, float* out, float* s, int64_t b, int64_t e) {
  if (s)
    gate_fwd_saving(x, z, out, s, b, e);
  else
    gate_fwd(x, z, out, b, e);
}

void gate_backward(const float* g, const float* x, const float* s, float* gx, float* gz, int64_t b,
                   int64_t e) {
  gate_bwd(g, x, s, gx, gz, b, e);
}

uint32_t dropout_threshold(double p) {
  if (!(p > 0)) return 0;
  const double t = std::round(p * 4294967296.0);
  return static_cast<uint32_t>(std::min(t, 4294967295.0));
}

bool dropout_keep(uint64_t seed, int64_t i, uint32_t threshold) {
  return element_hash(seed, i) >= threshold;
}

void gelu_forward(const float* y, const float* r, float* pre_out, float* out, uint32_t threshold,
                  float scale, uint64_t seed, int64_t b, int64_t e) {
  if (threshold > 0)
    gelu_fwd_drop(y, r, pre_out, out, threshold, scale, seed, b, e);
  else if (!r)
    gelu_fwd(y, out, b, e);
  else if (pre_out)
    gelu_fwd_res(y, r, pre_out, out, b, e);
  else
    gelu_fwd_res_nosave(y, r, out, b, e);
}

void gelu_backward(const float* g, const float* pre, float* gpre, uint32_t threshold, float scale,
                   uint64_t seed, int64_t b, int64_t e) {
  if (threshold > 0)
    gelu_bwd_drop(g, pre, gpre, threshold, scale, seed, b, e);
  else
    gelu_bwd(g, pre, gpre, b, e);
}

void xattn_forward(const float* x, int64_t S, int64_t F, float inv_t, float* out, float* a_out,
                   int64_t b, int64_t e) {
  std::vector<float> scratch(2 * F + (a_out ? 0 : S * F));
  float* a_tmp = scratch.data() + 2 * F;  // without a_out: each node's weights, then dropped
  for (int64_t n = b; n < e; ++n)
    xattn_fwd_node(x + n * S * F, S, F, inv_t, out + n * S * 2 * F,
                   a_out ? a_out + n * S * F : a_tmp, scratch.data(), scratch.data() + F);
}

void xattn_backward(const float* g, const float* x, const float* a, int64_t S, int64_t F,
                    float inv_t, float* gx, double* zdz, int64_t b, int64_t e) {
  std::vector<float> scratch(2 * F);
  for (int64_t n = b; n < e; ++n)
    zdz[n] = xattn_bwd_node(g + n * S * 2 * F, x + n * S * F, a + n * S * F, S, F, inv_t,
                            gx + n * S * F, scratch.data(), scratch.data() + F);
}

}  // namespace tgraph
