// I/O throughput: reading a layout node_config_feat-like member from stored vs deflated npz,
// whole and as a row range near the end (the cost a slate sampler pays without a packed cache).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "tgraph/io/npz.h"

namespace {

constexpr int64_t kRows = 20000, kNC = 60, kDim = 18;  // [C, NC, 18] float32, 86 MB

const std::string& archive(int level) {
  static std::string paths[10];
  std::string& p = paths[level];
  if (p.empty()) {
    p = (std::filesystem::temp_directory_path() /
         ("tgraph_io_bench_" + std::to_string(level) + ".npz"))
            .string();
    std::mt19937 rng(1);
    std::vector<float> v(static_cast<size_t>(kRows * kNC * kDim));
    for (auto& x : v)
      x = static_cast<float>(static_cast<int>(rng() % 7) - 1);  // layout-like values
    tgraph::NpzWriter w(p, level);
    w.add("node_config_feat", v, {kRows, kNC, kDim});
    w.commit();
  }
  return p;
}

void BM_ReadWhole(benchmark::State& st) {
  const std::string& p = archive(static_cast<int>(st.range(0)));
  for (auto _ : st) {
    tgraph::NpzReader r(p);
    benchmark::DoNotOptimize(r.read("node_config_feat").raw());
  }
  st.SetBytesProcessed(st.iterations() * kRows * kNC * kDim * 4);
}
BENCHMARK(BM_ReadWhole)->Arg(0)->Arg(6)->Unit(benchmark::kMillisecond);

void BM_ReadLastRows(benchmark::State& st) {
  const std::string& p = archive(static_cast<int>(st.range(0)));
  for (auto _ : st) {
    tgraph::NpzReader r(p);
    benchmark::DoNotOptimize(r.read_rows("node_config_feat", kRows - 128, kRows).raw());
  }
  st.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(st.iterations() * 128), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadLastRows)->Arg(0)->Arg(6)->Unit(benchmark::kMillisecond);

}  // namespace
