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
};

// Parses "cpu", "cuda", "cuda:1"; throws tgraph::Error if CUDA is asked for but unavailable.
torch::Device parse_device(const std::string& name);

// Applies threads and seed to LibTorch (torch keeps these process-wide, so this is called once by
// whoever owns the context, e.g. the CLI) and returns a one-line description of the runtime:
// device, thread count and the BLAS library actually loaded.
std::string init_torch(const RunContext& ctx);

// The BLAS shared library the process has mapped (e.g. ".../openblas-openmp/libblas.so.3"), or
// "unknown". Debian's LibTorch reaches BLAS through the libblas.so.3 alternative, so this is the
// only reliable way to tell reference BLAS from OpenBLAS.
std::string loaded_blas_library();

// Measured float32 matmul throughput (GFLOP/s) for an n x n x n product on the context's device.
double measure_matmul_gflops(const RunContext& ctx, int64_t n = 1000, int reps = 5);

}  // namespace tgraph
