// The synthetic generator's ground truth for any layout configuration: the noise-free runtime its
// cost model gives, for configurations the file never held (search results, random candidates).
//
// A layout file of a dataset written by `tgraph synth` is traced back to its module by replaying
// the dataset's plan from its manifest (synth.json: preset and seed); the regenerated module's
// features, edges and configurable nodes must equal the file's, so a file from another dataset
// (or edited) is refused rather than given made-up runtimes. This is how `tgraph oracle` measures
// the true speed-up of proposed layouts (docs/search.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tgraph::synth {

class SynthOracle {
 public:
  // graph: .../npz/layout/<source>/<search>/<split>/<stem>.npz; dataset_dir: the directory with
  // synth.json (empty: the parent of the path's "npz" directory). Throws tgraph::Error when the
  // manifest is missing or unreadable, or the file is not one of that dataset's graphs.
  static SynthOracle open(const std::string& graph, const std::string& dataset_dir = "");
  SynthOracle(SynthOracle&&) noexcept;
  ~SynthOracle();

  int64_t num_config_nodes() const;
  int64_t num_nodes() const;
  const std::vector<int64_t>& node_config_ids() const;  // [NC] ascending, as in the file
  // Noise-free runtime (ns) of `count` configurations [count, NC, 18] (values -1..5).
  std::vector<double> runtimes_ns(const float* rows, int64_t count, int threads = 1) const;
  double default_runtime_ns() const;  // the all -1 configuration
  std::string describe() const;       // "synth preset small seed 7: layout xla test <stem>"

 private:
  struct Impl;
  explicit SynthOracle(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tgraph::synth
