#include "tgraph/util/blas_core.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace tgraph {

std::string openblas_core_name() {
  using Fn = char* (*)();
  void* fn = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  if (!fn) {
    // Loaded as a dependency of a library opened with RTLD_LOCAL (the Python module): not in the
    // global scope, but already mapped.
    if (void* h = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
      fn = dlsym(h, "openblas_get_corename");
      dlclose(h);
    }
  }
  if (!fn) return "";
  const char* name = reinterpret_cast<Fn>(fn)();
  return name ? name : "";
}

std::string suggested_openblas_core(const std::string& current, bool avx512, bool avx2_fma) {
  if (current.empty() || !(avx512 || avx2_fma)) return "";
  std::string lower(current);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // OpenBLAS's x86-64 cores without AVX2 kernels, among them its fallbacks for unknown CPUs.
  static const std::array<const char*, 16> kOld = {
      "prescott",    "core2",  "penryn",     "dunnington", "nehalem", "atom",
      "sandybridge", "katmai", "coppermine", "northwood",  "banias",  "opteron",
      "barcelona",   "bobcat", "bulldozer",  "piledriver"};
  if (std::find(kOld.begin(), kOld.end(), lower) == kOld.end()) return "";
  return avx512 ? "SkylakeX" : "Haswell";
}

std::string openblas_core_advice() {
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return suggested_openblas_core(openblas_core_name(), avx512, avx2_fma);
#else
  return "";
#endif
}

}  // namespace tgraph
