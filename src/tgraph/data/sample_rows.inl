// Template body of sample_rows (declared in sample.h): Floyd's sampling without replacement.
#pragma once

#include <algorithm>
#include <random>
#include <unordered_set>

namespace tgraph {

template <typename Rng>
std::vector<int64_t> sample_rows(int64_t C, int64_t k, Rng& rng) {
  std::vector<int64_t> rows;
  if (C <= k) {
    rows.resize(static_cast<size_t>(std::max<int64_t>(C, 0)));
    for (int64_t i = 0; i < C; ++i) rows[i] = i;
    return rows;
  }
  // For j = C-k .. C-1: draw t in [0, j]; take t unless already taken, else take j. Every k-subset
  // is equally likely and only k draws are made.
  std::unordered_set<int64_t> taken;
  taken.reserve(static_cast<size_t>(2 * k));
  for (int64_t j = C - k; j < C; ++j) {
    std::uniform_int_distribution<int64_t> d(0, j);
    int64_t t = d(rng);
    taken.insert(taken.count(t) ? j : t);
  }
  rows.assign(taken.begin(), taken.end());
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace tgraph
