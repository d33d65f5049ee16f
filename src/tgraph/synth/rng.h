// Portable, explicitly passed randomness for the synthetic generator (no std distributions).
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the std:: distributions are
// implementation-defined; everything here is built on raw 64-bit draws so that the same seed gives
// byte-identical files with any standard library. Sub-streams (per file, per configuration) are
// seeded with derive_seed(), so results never depend on thread count or evaluation order.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace tgraph::synth {

using Rng = std::mt19937_64;

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Seed of an independent sub-stream `(a, b)` of a parent seed.
inline uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0) {
  return splitmix64(splitmix64(seed ^ 0x5DEECE66DULL) ^ splitmix64(a * 0x9E3779B97F4A7C15ULL + 1) ^
                    splitmix64(b * 0xC2B2AE3D27D4EB4FULL + 2));
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(Rng& r) {
  return static_cast<double>(r() >> 11) * 0x1.0p-53;
}

inline double uniform(Rng& r, double lo, double hi) {
  return lo + (hi - lo) * uniform01(r);
}

// Uniform integer in [lo, hi] (inclusive); Lemire's multiply-shift (bias < 2^-64 * range).
inline int64_t randint(Rng& r, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  const unsigned __int128 m = static_cast<unsigned __int128>(r()) * range;
  return lo + static_cast<int64_t>(m >> 64);
}

inline bool bernoulli(Rng& r, double p) {
  return uniform01(r) < p;
}

// Standard normal (Box-Muller, one value per call).
inline double normal(Rng& r) {
  double u1 = uniform01(r);
  const double u2 = uniform01(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Log-uniform in [lo, hi] (both > 0).
inline double log_uniform(Rng& r, double lo, double hi) {
  return std::exp(uniform(r, std::log(lo), std::log(hi)));
}

// Integer log-uniform in [lo, hi].
inline int64_t log_randint(Rng& r, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  int64_t v = static_cast<int64_t>(std::floor(log_uniform(r, double(lo), double(hi) + 1.0)));
  return v < lo ? lo : (v > hi ? hi : v);
}

template <typename T>
void shuffle(std::vector<T>& v, Rng& r) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(randint(r, 0, static_cast<int64_t>(i) - 1));
    std::swap(v[i - 1], v[j]);
  }
}

template <typename T>
const T& pick(const std::vector<T>& v, Rng& r) {
  return v[static_cast<size_t>(randint(r, 0, static_cast<int64_t>(v.size()) - 1))];
}

// Index drawn with probability proportional to weights (all >= 0, not all 0).
inline size_t pick_weighted(const std::vector<double>& w, Rng& r) {
  double total = 0;
  for (double x : w) total += x;
  double u = uniform01(r) * total;
  for (size_t i = 0; i < w.size(); ++i) {
    if (u < w[i]) return i;
    u -= w[i];
  }
  return w.size() - 1;
}

}  // namespace tgraph::synth
