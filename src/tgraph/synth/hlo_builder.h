// HLO-like modules for the synthetic generator: instructions with consistent shapes, computations
// in module order, and the TpuGraphs encoding (node_feat [N, 140], edge_index [E, 2], node_splits).
//
// The encoding follows ../shared/docs/tpugraphs-format.md sections 2.2 and 3.1: nodes are emitted
// callees first (reducers, loop body, loop condition, entry), operands before users, so every edge
// [user, operand] has user > operand; each instruction that calls a computation also gets an edge
// to that computation's root.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph::synth {

// XLA PrimitiveType order, which is also the order of the one-hot columns 2..20 of node_feat.
enum class ElemType : uint8_t {
  kInvalid = 0,
  kPred,
  kS8,
  kS16,
  kS32,
  kS64,
  kU8,
  kU16,
  kU32,
  kU64,
  kF16,
  kF32,
  kF64,
  kBF16,
  kC64,
  kC128,
  kTuple,
  kOpaque,
  kToken
};
int elem_bytes(ElemType t);  // storage bytes of one element (tuple/token: 0)

// TpuGraphs opcode ids (../shared/docs/tpugraphs-format.md section 3.4) of the ops we emit.
namespace op {
constexpr uint8_t kAbs = 1, kAdd = 2, kAllReduce = 5, kBroadcast = 13, kCompare = 20,
                  kConcatenate = 22, kConstant = 24, kConvert = 25, kConvolution = 26, kCopy = 27,
                  kDivide = 32, kDot = 34, kDynamicSlice = 35, kExp = 37, kGather = 42,
                  kGetTupleElement = 45, kIota = 48, kLog = 50, kMaximum = 57, kMinimum = 58,
                  kMultiply = 59, kNegate = 60, kPad = 62, kParameter = 63, kPower = 66,
                  kReduce = 70, kReduceWindow = 72, kReshape = 75, kRsqrt = 81, kScatter = 82,
                  kSelect = 83, kSelectAndScatter = 84, kSlice = 92, kSqrt = 94, kSubtract = 95,
                  kTanh = 96, kTranspose = 98, kTuple = 100, kWhile = 102, kLogistic = 107;
}

struct WindowDim {
  int64_t size = 1, stride = 1, pad_lo = 0, pad_hi = 0, window_dilation = 1, base_dilation = 1;
  bool reversal = false;
};

// XLA ConvolutionDimensionNumbers (dimension indices into input / kernel / output).
struct ConvDims {
  int64_t in_batch = 0, in_feature = 0;
  std::vector<int64_t> in_spatial;
  int64_t k_in = 0, k_out = 0;
  std::vector<int64_t> k_spatial;
  int64_t out_batch = 0, out_feature = 0;
  std::vector<int64_t> out_spatial;
};

// XLA DotDimensionNumbers. The output is [batch..., lhs free..., rhs free...] (free = neither batch
// nor contracting, in dimension order). Not featurized by TpuGraphs; used by the cost model.
struct DotDims {
  std::vector<int64_t> lhs_batch, rhs_batch, lhs_contract, rhs_contract;
};

struct Instr {
  uint8_t opcode = 0;
  ElemType type = ElemType::kF32;
  std::vector<int64_t> dims;  // array shape (empty: scalar or tuple)
  int64_t tuple_size = 0;     // tuple-shaped instructions: number of elements
  std::vector<int32_t> operands;
  std::vector<int32_t> called_roots;  // roots of called computations (extra edges)
  int64_t parameter_number = 0;
  int64_t tuple_index = 0;          // get-tuple-element
  std::vector<int64_t> dimensions;  // reduce / broadcast / transpose / concatenate dims
  std::vector<WindowDim> window;    // convolution, reduce-window, select-and-scatter
  bool is_conv = false;
  ConvDims conv;
  int64_t feature_group_count = 0, batch_group_count = 0;  // proto default 0 unless conv
  DotDims dot;
  std::vector<int64_t> slice_start, slice_stride, slice_limit;
  std::vector<int64_t> dynamic_slice_sizes;
  std::vector<int64_t> pad_lo, pad_hi;  // pad: edge padding per dimension
  bool is_root = false;                 // root of its own computation
  bool is_stable = false;

  bool is_tuple() const { return type == ElemType::kTuple; }
  int rank() const { return static_cast<int>(dims.size()); }
  int64_t numel() const;  // product of dims (1 for scalars, 0 for tuples)
};

struct Module {
  std::string name;
  std::vector<Instr> instrs;
  std::vector<int64_t> splits;  // node_splits: 0, ends of cluster/while/cond computations, N

  int64_t size() const { return static_cast<int64_t>(instrs.size()); }
  const Instr& at(int64_t i) const { return instrs.at(static_cast<size_t>(i)); }
  // Configurable nodes (convolution, dot, reshape), ascending.
  std::vector<int64_t> configurable_nodes() const;
};

bool is_configurable_opcode(uint8_t opcode);  // convolution, dot, reshape

// Builds a Module instruction by instruction. Shapes are inferred and checked (TG_CHECK: a
// mismatch is a bug in a model builder). Computations are contiguous node ranges: open one with
// begin(), emit its instructions, close it with end(root).
class HloBuilder {
 public:
  explicit HloBuilder(std::string module_name);

  void begin(const std::string& computation_name);
  // Marks `root` as the root of the open computation and closes it; returns root.
  int32_t end(int32_t root);
  // Finishes the module (node_splits gets its final N) and returns it.
  Module finish();

  const Instr& at(int32_t i) const { return m_.instrs.at(static_cast<size_t>(i)); }
  Instr& mutable_at(int32_t i) { return m_.instrs.at(static_cast<size_t>(i)); }
  const std::vector<int64_t>& dims(int32_t i) const { return at(i).dims; }
  ElemType type(int32_t i) const { return at(i).type; }
  int32_t size() const { return static_cast<int32_t>(m_.instrs.size()); }

  // A scalar reducer computation (param, param, op -> root); call with no computation open.
  int32_t reducer(uint8_t opcode, ElemType t, const std::string& name);
  // select-and-scatter's select computation: compare(p0, p1) GE -> root.
  int32_t ge_selector(ElemType t, const std::string& name);

  int32_t parameter(int64_t number, ElemType t, std::vector<int64_t> dims);
  int32_t tuple_parameter(int64_t number, int64_t tuple_size);
  int32_t constant(ElemType t, std::vector<int64_t> dims = {});
  int32_t iota(ElemType t, std::vector<int64_t> dims, int64_t dim);
  int32_t unary(uint8_t opcode, int32_t x);
  int32_t binary(uint8_t opcode, int32_t a, int32_t b);
  int32_t compare(int32_t a, int32_t b);  // -> pred
  int32_t select(int32_t pred, int32_t a, int32_t b);
  int32_t convert(int32_t x, ElemType t);
  // Broadcast of x into `out_dims`; `dimensions[i]` = output dim of operand dim i.
  int32_t broadcast(int32_t x, std::vector<int64_t> out_dims, std::vector<int64_t> dimensions);
  // Scalar constant broadcast to `dims` (type t). Shapes are taken by value throughout: a
  // reference into another instruction's dims would dangle once emitting reallocates.
  int32_t splat(ElemType t, std::vector<int64_t> dims);
  int32_t reshape(int32_t x, std::vector<int64_t> dims);
  int32_t transpose(int32_t x, std::vector<int64_t> perm);  // out[i] = x[perm[i]]
  int32_t convolution(int32_t x, int32_t w, std::vector<WindowDim> window, ConvDims cd,
                      int64_t feature_groups = 1, int64_t batch_groups = 1);
  int32_t dot(int32_t lhs, int32_t rhs, DotDims dd);
  int32_t reduce(int32_t x, std::vector<int64_t> reduce_dims, int32_t reducer_root);
  int32_t reduce_window(int32_t x, std::vector<WindowDim> window, int32_t reducer_root);
  int32_t select_and_scatter(int32_t x, int32_t source, std::vector<WindowDim> window,
                             int32_t select_root, int32_t scatter_root);
  int32_t slice(int32_t x, std::vector<int64_t> start, std::vector<int64_t> limit,
                std::vector<int64_t> stride = {});
  int32_t pad(int32_t x, std::vector<int64_t> lo, std::vector<int64_t> hi);
  int32_t concatenate(const std::vector<int32_t>& xs, int64_t dim);
  int32_t dynamic_slice(int32_t x, const std::vector<int32_t>& starts, std::vector<int64_t> sizes);
  // gather of rows of `table` [V, H] by integer `ids` [...] -> [..., H].
  int32_t gather(int32_t table, int32_t ids);
  // scatter-add of `updates` [..., H] into `table_like` [V, H] at `ids` (add reducer).
  int32_t scatter(int32_t table_like, int32_t ids, int32_t updates, int32_t reducer_root);
  int32_t all_reduce(int32_t x, int32_t reducer_root);
  int32_t tuple(const std::vector<int32_t>& xs);
  int32_t get_tuple_element(int32_t t, int64_t index, ElemType et, std::vector<int64_t> dims);
  int32_t while_loop(int32_t init, int32_t cond_root, int32_t body_root);

 private:
  int32_t emit(Instr in);
  Module m_;
  int64_t open_start_ = -1;
  std::string open_name_;
};

// node_feat [N, 140] (section 3.1 of the format doc), row-major.
std::vector<float> node_features(const Module& m);
// One row of node_feat for instruction i.
std::array<float, 140> featurize(const Instr& in);
// edge_index [E, 2] rows (user, operand), deduplicated, sorted lexicographically.
std::vector<int64_t> edge_index(const Module& m);
// node_opcode [N].
std::vector<uint8_t> node_opcodes(const Module& m);

// The module as an in-memory TpuGraphs layout graph without configurations (node_feat, opcodes,
// edges, node_config_ids): what a caller of the cost-model API prepares.
LayoutGraph layout_graph(const Module& m, const std::string& stem);

// Row-major (descending) minor_to_major of a rank-r array: [r-1, ..., 0].
std::vector<int64_t> default_minor_to_major(int rank);

}  // namespace tgraph::synth
