// Explicit run context for everything that touches LibTorch: device, threads, seed (no globals).
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace tgraph {

struct RunContext {
  torch::Device device = torch::kCPU;
  int threads = 0;  // intra-op threads; 0 = all cores
  uint64_t seed = 0;
  // The per-configuration Linear layers of TGraph-style models multiply in bfloat16 (fp32
  // accumulation and master weights, outputs back to fp32): 2x the fp32 GEMM rate on CPUs with
  // AVX512-BF16. Opt-in (`--bf16`); its effect on ranking is measured in docs/results.md.
  bool bf16_matmul = false;
};

// Throws tgraph::Error naming --bf16 when ctx asks for bfloat16 matmuls on a CPU without
// AVX512-BF16 (LibTorch would emulate them, slower than fp32) or on another device.
void check_bf16_support(const RunContext& ctx);

// Parses "cpu", "cuda", "cuda:1"; throws tgraph::Error if CUDA is asked for but unavailable.
torch::Device parse_device(const std::string& name);

// Checks the context (check_bf16_support), applies threads and seed to LibTorch (torch keeps these
// process-wide, so this is called once by whoever owns the context, e.g. the CLI) and returns a
// one-line description of the runtime: device, thread count and the BLAS library actually loaded.
std::string init_torch(const RunContext& ctx);

// The BLAS shared library the process has mapped (e.g. ".../openblas-openmp/libblas.so.3"), or
// "unknown". Debian's LibTorch reaches BLAS through the libblas.so.3 alternative, so this is the
// only reliable way to tell reference BLAS from OpenBLAS.
std::string loaded_blas_library();

// Measured float32 (bf16: bfloat16) matmul throughput (GFLOP/s) for an n x n x n product on the
// context's device.
double measure_matmul_gflops(const RunContext& ctx, int64_t n = 1000, int reps = 5,
                             bool bf16 = false);

}  // namespace tgraph
