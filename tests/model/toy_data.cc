#include "toy_data.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include "../test_util.h"
#include "tgraph/io/npz.h"

namespace fs = std::filesystem;

namespace tgraph::test {

// A graph whose runtime is a learnable function of the layout of its configurable nodes:
// each configurable node k adds cost w_k if its output layout's minor-most dim is 0, and the
// cost of node k doubles when it disagrees with its predecessor (an interaction through the graph).
void write_toy_graph(const std::string& path, int64_t N, int64_t NC, int64_t C, uint32_t seed,
                     bool labelled) {
  test::LayoutArrays a = test::make_layout_arrays(N, NC, C, labelled);
  std::mt19937 rng(seed);
  float* cf = a.node_config_feat.data<float>();
  int64_t* rt = a.config_runtime.data<int64_t>();
  for (int64_t c = 0; c < C; ++c) {
    double cost = 1000;
    int prev = -1;
    for (int64_t k = 0; k < NC; ++k) {
      float* s = cf + (c * NC + k) * 18;
      int minor = static_cast<int>(rng() % 2);
      s[0] = static_cast<float>(minor);
      s[1] = static_cast<float>(1 - minor);
      s[6] = static_cast<float>(rng() % 3) - 1;  // noise slot, no effect on cost
      double w = 100.0 * (k + 1);
      if (minor == 0) cost += (prev == 1 ? 2 : 1) * w;
      prev = minor;
    }
    if (labelled) rt[c] = static_cast<int64_t>(cost + (rng() % 7));
  }
  test::write_layout(path, a);
}

void write_toy_collection(const std::string& root) {
  for (const char* split : {"train", "valid", "test"}) {
    fs::path d = fs::path(root) / "layout/xla/random" / split;
    fs::create_directories(d);
    int n = std::string(split) == "train" ? 4 : 2;
    for (int i = 0; i < n; ++i)
      write_toy_graph((d / ("g" + std::to_string(i) + ".npz")).string(), 24 + 4 * i, 4, 48,
                      static_cast<uint32_t>(i + 17 * split[0]), std::string(split) != "test");
  }
}

// A kernel whose runtime is smallest when the first output bound equals a kernel-wide size (shape
// column 21 of every node): learnable only from (graph, configuration) together. Row 0 is the
// default configuration, as in TpuGraphs train/valid files; test files are unlabelled.
void write_kernel(const std::string& path, int64_t N, int64_t C, uint32_t seed, bool labelled) {
  test::LayoutArrays a = test::make_layout_arrays(N, 1, 2);
  std::mt19937 rng(seed);
  const double sweet = 2.0 + static_cast<double>(seed % 5);
  float* nf = a.node_feat.data<float>();
  std::fill(nf, nf + N * 140, 0.f);
  for (int64_t i = 0; i < N; ++i) nf[i * 140 + 21] = static_cast<float>(sweet);
  std::vector<float> cf(static_cast<size_t>(C * 24), 0.f);
  std::vector<int64_t> rt(static_cast<size_t>(C)), norm(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    float b0 = static_cast<float>(1 + rng() % 8), b1 = static_cast<float>(1 + rng() % 4);
    float* r = cf.data() + c * 24 + 8;  // output_bounds block
    r[0] = b0;
    r[1] = b1;
    r[6] = b0 + b1;
    r[7] = b0 * b1;
    rt[c] = static_cast<int64_t>(1000 * (1 + std::abs(b0 - sweet)) + 10 * b1 + rng() % 5);
  }
  for (auto& n : norm) n = rt[0];
  if (!labelled) std::fill(rt.begin(), rt.end(), 0);
  NpzWriter w(path);
  w.add("node_feat", a.node_feat);
  w.add("node_opcode", a.node_opcode);
  w.add("edge_index", a.edge_index);
  w.add("config_feat", cf, {C, 24});
  w.add("config_runtime", rt, {C});
  w.add("config_runtime_normalizers", norm, {C});
  w.commit();
}

void write_tile_collection(const std::string& root) {
  int i = 0;
  for (const char* split : {"train", "valid", "test"}) {
    fs::path d = fs::path(root) / "tile/xla" / split;
    fs::create_directories(d);
    int n = std::string(split) == "train" ? 30 : 4;
    for (int k = 0; k < n; ++k, ++i)
      write_kernel((d / ("k" + std::to_string(k) + ".npz")).string(), 6 + k % 7, k == 0 ? 3 : 24,
                   static_cast<uint32_t>(i), std::string(split) != "test");
  }
}

}  // namespace tgraph::test
