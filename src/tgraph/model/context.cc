#include "tgraph/model/context.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <torch/torch.h>

#include "tgraph/util/blas_core.h"
#include "tgraph/util/error.h"

namespace tgraph {

void check_bf16_support(const RunContext& ctx) {
  if (!ctx.bf16_matmul) return;
  if (!ctx.device.is_cpu())
    throw_error("--bf16", "", "the CPU device (bfloat16 matmuls are a CPU path)", ctx.device.str());
#if defined(__x86_64__) && defined(__GNUC__)
  const bool ok = __builtin_cpu_supports("avx512bf16");
#else
  const bool ok = false;
#endif
  if (!ok) throw_error("--bf16", "", "a CPU with AVX512-BF16", "this CPU has none");
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw_error("--device", "", "cpu, or cuda on a machine with a CUDA LibTorch and a GPU",
                  "'" + name + "' but CUDA is not available in this build/machine");
    return torch::Device(name);
  }
  throw_error("--device", "", "cpu | cuda | cuda:N", "'" + name + "'");
}

std::string loaded_blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    auto p = line.find('/');
    if (p == std::string::npos) continue;
    std::string path = line.substr(p);
    if (path.find("blas") != std::string::npos || path.find("mkl_") != std::string::npos) {
      // Prefer the implementation over thin wrappers (libcblas -> libblas).
      if (found.empty() || path.find("openblas") != std::string::npos ||
          path.find("mkl") != std::string::npos)
        found = path;
    }
  }
  return found.empty() ? "unknown (statically linked or not loaded yet)" : found;
}

double measure_matmul_gflops(const RunContext& ctx, int64_t n, int reps, bool bf16) {
  torch::NoGradGuard ng;
  auto opts =
      torch::TensorOptions().dtype(bf16 ? torch::kBFloat16 : torch::kFloat32).device(ctx.device);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto c = torch::mm(a, b);  // warm-up, also loads BLAS
  if (ctx.device.is_cuda()) torch::cuda::synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
  if (ctx.device.is_cuda()) torch::cuda::synchronize();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * n * n * n * reps / s / 1e9;
}

std::string init_torch(const RunContext& ctx) {
  check_bf16_support(ctx);
  int threads =
      ctx.threads > 0 ? ctx.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  torch::set_num_threads(threads);
  torch::manual_seed(ctx.seed);
  if (ctx.device.is_cuda()) torch::cuda::manual_seed_all(ctx.seed);
  // Touch BLAS once so the library is mapped before we report it.
  {
    torch::NoGradGuard ng;
    (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  }
  const std::string core = openblas_core_name(), advice = openblas_core_advice();
  return TG_STR("device " << ctx.device << ", " << torch::get_num_threads() << " threads, BLAS "
                          << loaded_blas_library() << (core.empty() ? "" : " (core " + core + ")")
                          << (advice.empty() ? ""
                                             : ": generic kernels on this CPU, set "
                                               "OPENBLAS_CORETYPE=" +
                                                   advice + " for up to 5x faster matmuls")
                          << (ctx.bf16_matmul ? ", bfloat16 matmuls" : ""));
}

}  // namespace tgraph
