// Tiny learnable datasets for the model tests, written as TpuGraphs npz files.
#pragma once

#include <cstdint>
#include <string>

namespace tgraph::test {

// A layout graph whose runtime is a learnable function of the layouts of its configurable nodes
// (with an interaction through the graph).
void write_toy_graph(const std::string& path, int64_t N, int64_t NC, int64_t C, uint32_t seed,
                     bool labelled = true);
// root/layout/xla/random/{train: 4, valid: 2, test: 2 (unlabelled)} toy graphs of 48 configs.
void write_toy_collection(const std::string& root);

// A tile kernel whose fastest configuration depends on a kernel-wide size (row 0 = default).
void write_kernel(const std::string& path, int64_t N, int64_t C, uint32_t seed, bool labelled);
// root/tile/xla/{train: 30, valid: 4, test: 4 (unlabelled)} toy kernels.
void write_tile_collection(const std::string& root);

}  // namespace tgraph::test
