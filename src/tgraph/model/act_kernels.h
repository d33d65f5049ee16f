// Hand-written loops of the fused channel gate (x * sigmoid(z)), of the fused residual + exact
// GELU + dropout, of the fused cross-attention over configurations and of the sparse mean
// aggregation, torch-free and compiled once per instruction set (AVX-512, AVX2, baseline; chosen
// at load time), like norm_kernels.h.
//
// Every function handles the flat index range [b, e) of contiguous arrays of one shape, so
// callers can split a range between threads. Dropout masks are not stored: element i is kept
// iff a hash of (seed, i) is at least `threshold`, so the backward pass (or a second pass over
// the same slate) recomputes the mask from the seed alone.
#pragma once

#include <cstdint>

namespace tgraph {

// out = x * sigmoid(z); s = sigmoid(z) when s is not null (what the backward needs).
void gate_forward(const float* x, const float* z, float* out, float* s, int64_t b, int64_t e);
// The gradient of that map: gx = g * s, gz = g * x * s * (1 - s).
void gate_backward(const float* g, const float* x, const float* s, float* gx, float* gz, int64_t b,
                   int64_t e);

// The hash threshold that keeps an element with probability 1 - p.
uint32_t dropout_threshold(double p);
// Whether element i survives dropout under (seed, threshold); threshold 0 keeps everything.
bool dropout_keep(uint64_t seed, int64_t i, uint32_t threshold);

// pre = y + r (r null: pre = y); out = gelu(pre) * (kept(i) ? scale : 0), gelu the exact
// (erf) GELU. pre is written to pre_out when it is not null. threshold 0 is no dropout (then
// scale should be 1).
void gelu_forward(const float* y, const float* r, float* pre_out, float* out, uint32_t threshold,
                  float scale, uint64_t seed, int64_t b, int64_t e);
// The gradient of that map with respect to pre: gpre = g * mask(i) * gelu'(pre).
void gelu_backward(const float* g, const float* pre, float* gpre, uint32_t threshold, float scale,
                   uint64_t seed, int64_t b, int64_t e);

// Cross-attention over the configuration axis of x [N, S, F], for the nodes n in [b, e):
// a[n, :, f] = softmax over s of x[n, :, f] * inv_t, and out [N, S, 2F] = concat(x, x * a) on the
// last axis. a is also written to a_out [N, S, F] when a_out is not null (what the backward needs).
void xattn_forward(const float* x, int64_t S, int64_t F, float inv_t, float* out, float* a_out,
                   int64_t b, int64_t e);
// The gradient of that map for the nodes [b, e): g [N, S, 2F] is out's gradient, x and a are the
// forward's, gx [N, S, F] receives x's gradient, and zdz[n] = sum over s and f of dL/dz * z, where
// z = x * inv_t, from which the caller forms the temperature's gradient: dL/dT = -inv_t * sum zdz.
void xattn_backward(const float* g, const float* x, const float* a, int64_t S, int64_t F,
                    float inv_t, float* gx, double* zdz, int64_t b, int64_t e);

// The mean aggregation (models.h, aggregate; training and scoring): a sparse [N, N] matrix in CSR
// form (rowptr [N + 1], col and val [nnz]) times x [N, M], for the rows [b, e) of out [N, M]
// (row ranges here, not element ranges). A row without entries is zero. out must not overlap x.
void csr_aggregate_rows(const int64_t* rowptr, const int64_t* col, const float* val, const float* x,
                        int64_t M, float* out, int64_t b, int64_t e);

}  // namespace tgraph
