// TG_CLONES: one clone of a loop function per instruction set (AVX-512, AVX2, baseline x86-64),
// picked by the loader (GCC/Clang ifunc), so the inner loops vectorise and the binary still runs
// on any x86-64. Sanitizer builds (the fuzzers) take the one baseline version.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(TG_NO_CLONES)
#define TG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG_CLONES
#endif
