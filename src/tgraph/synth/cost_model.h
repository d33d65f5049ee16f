// Analytic runtime model of the synthetic generator: layout configurations of a whole module
// (layout collections) and tile configurations of one fused kernel (tile collection).
//
// docs/synth.md gives the formulas. In short, for layouts: every tensor is stored in (8,128)-tiled
// form, so its bytes depend on which dims are minor-most; convolutions and dots run at an MXU
// efficiency that depends on the minor dims of their operand and output layouts; and wherever a
// consumer wants an operand in a layout other than the one its producer delivers, a copy is paid
// on that edge. Non-configurable ops inherit layouts from their operands, so one configurable
// node's choice changes the bytes and copies of its neighbours: ranking needs the graph.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/models.h"

namespace tgraph::synth {

// A TPU-like device. Units: ns, bytes, flops.
struct Device {
  double peak_flops_bf16 = 197e3;  // flop/ns (MXU, bf16)
  double peak_flops_f32 = 49e3;    // flop/ns (MXU, f32 passes)
  double hbm_bytes_per_ns = 820;
  double op_overhead_ns = 400;     // launch of a non-fused kernel (conv, dot, reduce, ...)
  double copy_overhead_ns = 300;   // launch of a layout-transition copy
  double fused_fraction = 0.35;    // share of an elementwise op's traffic that reaches HBM
  double transpose_factor = 1.6;   // copies / relayouts that change the minor-most dim
  double cross_lane_factor = 1.3;  // reductions over the minor-most dim
  int64_t lanes = 128;             // minor-most tile extent
  double vmem_bytes = 16.0 * 1024 * 1024;
  double grid_step_ns = 250;  // per tile step of a tiled kernel
  double kernel_launch_ns = 1500;
  int cores = 2;
};

// A physical layout: minor_to_major of a rank-r array (first = minor-most).
struct Layout {
  uint8_t rank = 0;
  std::array<uint8_t, 6> m2m{};
  static Layout descending(int rank);
};

// Second-minor tile extent for an element size (f32: 8, bf16: 16, 8-bit: 32).
int64_t sublane_tile(int elem_bytes);
// Bytes of a (8,128)-tiled array in layout L.
double padded_bytes(const int64_t* dims, const Layout& L, int elem_bytes, int64_t lanes = 128);
// True when both layouts order the dims of size > 1 the same way.
bool same_physical(const Layout& a, const Layout& b, const int64_t* dims);
// True when a reshape between the two layouts keeps the linear element order (a bitcast).
bool reshape_is_bitcast(const std::vector<int64_t>& in_dims, const Layout& in_l,
                        const std::vector<int64_t>& out_dims, const Layout& out_l);
// Completes a configuration slot (a minor_to_major prefix, -1 padded) to a full layout: the
// listed dims first, then the remaining dims in descending order. Returns false if the slot is
// unset (all -1).
bool complete_slot(const float* slot6, int rank, Layout* out);

struct CostBreakdown {
  std::vector<double> op_ns;    // [N] the node's own execution time
  std::vector<double> copy_ns;  // [N] layout-transition copies on the node's operand edges
  double total_ns = 0;
};

class LayoutCostModel {
 public:
  explicit LayoutCostModel(const Module& m, Device dev = {});

  const std::vector<int64_t>& config_node_ids() const { return config_ids_; }
  int64_t num_config_nodes() const { return static_cast<int64_t>(config_ids_.size()); }

  // Per-thread scratch for runtime_ns.
  struct Workspace {
    std::vector<Layout> L;         // [N] current layouts
    std::vector<uint8_t> changed;  // [N] L differs from the default configuration's layout
    std::vector<Layout> want;      // [NC * 3] decoded slots
    std::vector<uint8_t> set;      // [NC * 3] slot is set
  };
  Workspace make_workspace() const;

  // Noise-free runtime (ns) of the module under one configuration `row` [NC, 18].
  double runtime_ns(const float* row, Workspace& ws, CostBreakdown* bd = nullptr) const;
  double runtime_ns(const float* row, CostBreakdown* bd = nullptr) const;

  // The default configuration (all slots -1).
  double default_runtime_ns() const;

 private:
  enum Cls : uint8_t {
    kFree,      // parameter, get-tuple-element, while, non-scalar constant: fixed layout, no cost
    kFlexible,  // broadcast, scalar constant, iota: materialised in whatever layout is wanted
    kElementwise,  // inherits its driver operand's layout; fused traffic
    kReduce,       // layout of the operand minus the reduced dims
    kWindowed,     // reduce-window, select-and-scatter
    kMemory,       // slice, pad, concatenate, dynamic-slice, scatter, all-reduce
    kGather,       // row gather: row-major output, operands taken as they are
    kTranspose,    // a bitcast: permutes its operand's layout
    kTuple,        // tuple: wants row-major elements (loop-carried / result layouts are fixed)
    kConv,
    kDot,
    kReshape,
  };
  struct Node {
    Cls cls = kFree;
    uint8_t rank = 0;
    uint8_t eb = 4;
    bool bf16 = false;
    bool all_reduce = false;
    bool dyn = false;                  // layout depends on the configuration
    bool active = false;               // cost depends on the configuration
    int32_t cfg = -1;                  // index among configurable nodes
    int32_t driver = -1;               // operand whose layout a follower inherits (-1: row-major)
    int32_t op_begin = 0, op_end = 0;  // range in operands_
    std::array<int64_t, 6> dims{};
    uint8_t red_mask = 0;               // reduce: reduced dims
    std::array<uint8_t, 6> inv_perm{};  // transpose
    double flops = 0;
    double window_factor = 1;
    std::array<float, 6> role_out{}, role_a{}, role_b{};  // conv/dot: MXU role factor per dim
    Layout canon_a, canon_b;  // conv/dot: operand layouts the compiler normalises to by default
  };

  Layout follower_layout(const Node& n, const std::vector<Layout>& L) const;
  double bytes(int32_t v, const Layout& l) const;
  double copy_cost(int32_t v, const Layout& have, const Layout& want) const;
  double mxu_factor(const Node& n, const std::array<float, 6>& role, int32_t tensor,
                    const Layout& l) const;
  // Cost of node i given layouts; fills its copy cost.
  double node_cost(int32_t i, const std::vector<Layout>& L, const Workspace* ws,
                   double* copy) const;
  void compute_layout(int32_t i, std::vector<Layout>& L, const Workspace* ws) const;

  Device dev_;
  std::vector<Node> nodes_;
  std::vector<int32_t> operands_;
  std::vector<int64_t> config_ids_;
  std::vector<std::vector<int64_t>> shapes_;  // dims per node (reshape bitcast check)
  std::vector<int32_t> active_;               // ascending
  std::vector<Layout> static_L_;
  std::vector<double> static_op_, static_copy_;
  double static_total_ = 0;  // cost of every node under the default configuration
};

// ---- tile -------------------------------------------------------------------------------------

// A tile configuration: number of tiles along each output dim, and splits of the weight operand's
// dims (conv/dot kernels only). input_bounds are always empty, as in the real data.
struct TileConfig {
  std::vector<int64_t> kernel_bounds;
  std::vector<int64_t> output_bounds;
  bool operator==(const TileConfig& o) const {
    return kernel_bounds == o.kernel_bounds && output_bounds == o.output_bounds;
  }
};

double tile_runtime_ns(const TileKernel& k, const TileConfig& c, const Device& dev = {});
// Whether the autotuner would run a configuration: at most kMaxTileSteps grid steps and tiles
// within 4x VMEM (beyond that compilation fails; such runs are absent from real files too).
constexpr double kMaxTileSteps = 1024;
bool tile_config_feasible(const TileKernel& k, const TileConfig& c, const Device& dev = {});
// The compiler's heuristic choice (the "default" row of a tile file).
TileConfig default_tile_config(const TileKernel& k, const Device& dev = {});
// config_feat row: kernel, output, input bounds as 6 values + sum + product (empty: all 0).
std::array<float, 24> tile_config_features(const TileConfig& c);

}  // namespace tgraph::synth
