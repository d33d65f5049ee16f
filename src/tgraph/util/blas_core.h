// OpenBLAS kernel choice: which core OpenBLAS picked at load time, and the core to force when it
// fell back to generic kernels on a CPU it does not recognise.
//
// Why: a DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU model when it is loaded. Debian 12's
// 0.3.21 does not know recent Intel models (e.g. family 6 model 207 under KVM) and falls back to
// "Prescott" (SSE3): 1000^3 fp32 matmuls ran at 30 GFLOP/s on one thread against 164 with
// OPENBLAS_CORETYPE=SkylakeX on the same machine (docs/results.md, issue #11). The choice is made
// before main() runs, so the CLI re-executes itself with the variable set (cli/main.cc); library
// users get the advice in init_torch's runtime line.
#pragma once

#include <string>

namespace tgraph {

// The core OpenBLAS chose ("Prescott", "SkylakeX", ...), or "" when the loaded BLAS is not
// OpenBLAS.
std::string openblas_core_name();

// The OPENBLAS_CORETYPE to force, or "" to leave the choice alone: only when `current` is a core
// whose kernels are older than AVX2 while the CPU has AVX-512 (F, BW, DQ, VL -> "SkylakeX") or
// AVX2 + FMA (-> "Haswell"). Pure, so tests can give it any CPU.
std::string suggested_openblas_core(const std::string& current, bool avx512, bool avx2_fma);

// suggested_openblas_core for this process: the loaded OpenBLAS and this CPU; "" when
// OPENBLAS_CORETYPE is already set (the user's choice wins).
std::string openblas_core_advice();

}  // namespace tgraph
