// Layout configurations of the generator's layout files: "random" and "default" search spaces.
//
// Row c of node_config_feat is a pure function of (seed, c): it is drawn from its own sub-stream,
// so rows can be produced in any order (streamed straight into the npz, or evaluated on many
// threads) with identical results.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/rng.h"

namespace tgraph::synth {

enum class Search { kRandom, kDefault };

class LayoutConfigSampler {
 public:
  // The module's configurable nodes (convolution, dot, reshape) in ascending order are the NC
  // configurable nodes of the file.
  LayoutConfigSampler(const Module& m, Search search, uint64_t seed, int64_t num_configs);

  int64_t num_configs() const { return num_configs_; }
  int64_t num_config_nodes() const { return static_cast<int64_t>(slots_.size()); }
  // Fills one configuration [NC, 18] (3 slots x 6 dims: output, operand 0, operand 1 layouts as
  // minor_to_major lists, -1 = unset / padding).
  void row(int64_t c, float* out) const;

 private:
  struct Slot {
    int rank = -1;        // -1: the node has no such tensor
    bool prefix = false;  // convolution slots list only the two minor-most dims
  };
  struct Mutation {
    int32_t node = 0;
    int8_t slot = 0;
    std::array<int8_t, 6> v{};  // -1 padded; v[0] == -1 resets the slot
  };
  Mutation random_mutation(Rng& r) const;
  void random_layout(const Slot& s, Rng& r, int8_t* v) const;
  bool apply(const Mutation& m, float* out) const;  // true if the row changed
  void fill(int64_t c, float* out) const;

  Search search_;
  uint64_t seed_;
  int64_t num_configs_;
  std::vector<std::array<Slot, 3>> slots_;
  std::vector<int32_t> mutable_nodes_;  // nodes with at least one slot of rank >= 1
  std::vector<std::vector<Mutation>> anchors_;
};

}  // namespace tgraph::synth
