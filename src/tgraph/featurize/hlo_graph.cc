#include "tgraph/featurize/hlo_graph.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "tgraph/featurize/opcodes.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph::featurize {

namespace {

// xla::PrimitiveType value of each one-hot column (cols 2-20). The column order is TpuGraphs'
// (invalid, pred, s8..u64, f16, f32, f64, bf16, c64, c128, tuple, opaque, token), not the enum's.
constexpr std::array<int, 19> kElementTypeColumns = {
    0,   // PRIMITIVE_TYPE_INVALID
    1,   // PRED
    2,   // S8
    3,   // S16
    4,   // S32
    5,   // S64
    6,   // U8
    7,   // U16
    8,   // U32
    9,   // U64
    10,  // F16
    11,  // F32
    12,  // F64
    16,  // BF16
    15,  // C64
    18,  // C128
    13,  // TUPLE
    14,  // OPAQUE_TYPE
    17,  // TOKEN
};

// Appends features left to right; TG_CHECKed against 140 at the end.
class FeatureWriter {
 public:
  explicit FeatureWriter(float* out) : out_(out) {}

  void value(int64_t v) { out_[n_++] = static_cast<float>(v); }

  // k leading values (0-padded), then sum and product. The product of an empty list is 1, or 0
  // when zero_if_empty (the tile config blocks); int64 products wrap like the reference's.
  template <typename Range, typename Get>
  void seq(const Range& r, int k, bool zero_product_if_empty, Get get) {
    int64_t sum = 0;
    uint64_t product = 1;
    int i = 0;
    for (const auto& x : r) {
      const int64_t v = get(x);
      sum += v;
      product *= static_cast<uint64_t>(v);
      if (i < k) value(v);
      ++i;
    }
    for (; i < k; ++i) value(0);
    value(sum);
    value(r.empty() && zero_product_if_empty ? 0 : static_cast<int64_t>(product));
  }
  template <typename Range>
  void seq(const Range& r, int k) {
    seq(r, k, false, [](int64_t v) { return v; });
  }

  // k leading values, then 0 up to slot pad_from and `pad` from there on; no aggregates.
  template <typename Range>
  void leading(const Range& r, int k, float pad = 0.f, int pad_from = 0) {
    int i = 0;
    for (int64_t v : r) {
      if (i >= k) break;
      value(v);
      ++i;
    }
    for (; i < k; ++i) out_[n_++] = i < pad_from ? 0.f : pad;
  }

  // k booleans (0-padded), then the true and false counts over the whole list.
  template <typename Range, typename Get>
  void bools(const Range& r, int k, Get get) {
    int64_t t = 0, f = 0;
    int i = 0;
    for (const auto& x : r) {
      const bool b = get(x);
      if (i < k) value(b ? 1 : 0);
      ++i;
      (b ? t : f) += 1;
    }
    for (; i < k; ++i) value(0);
    value(t);
    value(f);
  }

  int count() const { return n_; }

 private:
  float* out_;
  int n_ = 0;
};

bool name_marks_split(const std::string& name) {
  // Only "major" computations end a node_splits segment (TpuGraphs: cluster, while bodies and
  // conditions); reducers and fused computations stay in the segment of the code after them.
  return name.find("cluster") != std::string::npos || name.find("while") != std::string::npos ||
         name.find("cond") != std::string::npos;
}

}  // namespace

void instruction_features(const xla::HloInstructionProto& inst, bool is_root,
                          const NodeFeatureOptions& opt, float* out) {
  FeatureWriter w(out);
  const auto& shape = inst.shape();
  w.value(is_root ? 1 : 0);  // 0
  w.value(0);                // 1: element_size_in_bits, never set by TpuGraphs
  const int type = static_cast<int>(shape.element_type());       // open enum: any value on the wire
  for (int t : kElementTypeColumns) w.value(type == t ? 1 : 0);  // 2-20
  w.seq(shape.dimensions(), 6);                                  // 21-28
  w.value(shape.tuple_shapes_size());                            // 29
  w.value(inst.parameter_number());                              // 30
  w.leading(inst.dimensions(), 6);                               // 31-36

  const auto& wd = inst.window().dimensions();  // 37-92
  using WD = xla::WindowDimension;
  w.seq(wd, 6, false, [](const WD& d) { return d.size(); });
  w.seq(wd, 6, false, [](const WD& d) { return d.stride(); });
  w.seq(wd, 6, false, [](const WD& d) { return d.padding_low(); });
  w.seq(wd, 6, false, [](const WD& d) { return d.padding_high(); });
  w.seq(wd, 6, false, [](const WD& d) { return d.window_dilation(); });
  w.seq(wd, 6, false, [](const WD& d) { return d.base_dilation(); });
  w.bools(wd, 6, [](const WD& d) { return d.window_reversal(); });

  const auto& cd = inst.convolution_dimension_numbers();  // 93-106
  w.value(cd.input_batch_dimension());
  w.value(cd.input_feature_dimension());
  w.leading(cd.input_spatial_dimensions(), 4);
  w.value(cd.kernel_input_feature_dimension());
  w.value(cd.kernel_output_feature_dimension());
  w.leading(cd.kernel_spatial_dimensions(), 4);
  w.value(cd.output_batch_dimension());
  w.value(cd.output_feature_dimension());

  w.value(inst.feature_group_count());  // 107
  w.value(inst.batch_group_count());    // 108

  const auto& sd = inst.slice_dimensions();  // 109-120
  using SD = xla::HloInstructionProto::SliceDimensions;
  w.seq(sd, 2, false, [](const SD& d) { return d.start(); });
  w.seq(sd, 2, false, [](const SD& d) { return d.stride(); });
  w.seq(sd, 2, false, [](const SD& d) { return d.limit(); });
  w.seq(inst.dynamic_slice_sizes(), 2);  // 121-124

  const auto& pd = inst.padding_config().dimensions();  // 125-132
  using PD = xla::PaddingConfig::PaddingConfigDimension;
  w.seq(pd, 2, false, [](const PD& d) { return d.edge_padding_low(); });
  w.seq(pd, 2, false, [](const PD& d) { return d.edge_padding_high(); });

  w.value(inst.is_stable() ? 1 : 0);  // 133
  // 134-139. Slots past the tensor's rank get the pad value; a rank-r array without a layout
  // keeps TpuGraphs' zeros in its first r slots.
  w.leading(shape.layout().minor_to_major(), 6, opt.minor_to_major_pad, shape.dimensions_size());
  TG_CHECK(w.count() == kNodeFeatDim, "wrote ", w.count(), " node features, expected ",
           kNodeFeatDim);
}

void tile_config_features(const xla::TileSizeConfig& config, float* out) {
  FeatureWriter w(out);
  const auto id = [](int64_t v) { return v; };
  w.seq(config.kernel_bounds(), 6, true, id);  // 0-7
  w.seq(config.output_bounds(), 6, true, id);  // 8-15
  w.seq(config.input_bounds(), 6, true, id);   // 16-23
  TG_CHECK(w.count() == kTileConfigDim, "wrote ", w.count(), " tile config features, expected ",
           kTileConfigDim);
}

HloGraph encode_hlo_module(const xla::HloModuleProto& module, const NodeFeatureOptions& opt,
                           const std::string& source, const std::string& field) {
  const auto& comps = module.computations();
  HloGraph g;
  for (const auto& c : comps) g.num_nodes += c.instructions_size();
  if (g.num_nodes == 0)
    throw_error(source, field + ".computations", "at least one computation with instructions",
                TG_STR(comps.size() << " computations, 0 instructions"));
  const int64_t N = g.num_nodes;

  // Node index of each instruction: module order (computations in proto order, instructions in
  // stored order). Ids are resolved per computation, which is right both for modules with
  // module-unique ids and for older ones whose ids are unique only within a computation.
  std::vector<int64_t> first_node(comps.size());
  std::vector<std::unordered_map<int64_t, int64_t>> index_of(comps.size());
  std::unordered_map<int64_t, int> comp_of_id;  // computation id -> position in `comps`
  std::vector<int64_t> root_node(comps.size());
  int64_t next = 0;
  for (int c = 0; c < comps.size(); ++c) {
    const auto& comp = comps[c];
    const std::string cfield = TG_STR(field << ".computations[" << c << "]");
    first_node[c] = next;
    auto& ids = index_of[c];
    ids.reserve(comp.instructions_size());
    for (int i = 0; i < comp.instructions_size(); ++i) {
      const int64_t id = comp.instructions(i).id();
      if (!ids.emplace(id, next + i).second)
        throw_error(source, TG_STR(cfield << ".instructions[" << i << "].id"),
                    "instruction ids unique within a computation",
                    TG_STR("id " << id << " again (first at instructions["
                                 << ids[id] - first_node[c] << "])"));
    }
    next += comp.instructions_size();
    if (comp.instructions_size() > 0) {
      auto it = ids.find(comp.root_id());
      if (it == ids.end())
        throw_error(source, cfield + ".root_id",
                    TG_STR("the id of one of the computation's " << comp.instructions_size()
                                                                 << " instructions"),
                    TG_STR(comp.root_id()));
      root_node[c] = it->second;
    } else {
      root_node[c] = -1;
    }
    if (!comp_of_id.emplace(comp.id(), c).second)
      throw_error(source, cfield + ".id", "computation ids unique within the module",
                  TG_STR("id " << comp.id() << " again"));
  }

  g.node_feat.assign(static_cast<size_t>(N) * kNodeFeatDim, 0.f);
  g.node_opcode.resize(static_cast<size_t>(N));
  std::vector<std::pair<int64_t, int64_t>> edges;
  g.node_splits = {0};
  std::vector<int64_t> operands;
  for (int c = 0; c < comps.size(); ++c) {
    const auto& comp = comps[c];
    const auto& ids = index_of[c];
    for (int i = 0; i < comp.instructions_size(); ++i) {
      const auto& inst = comp.instructions(i);
      const int64_t u = first_node[c] + i;
      const std::string ifield =
          TG_STR(field << ".computations[" << c << "].instructions[" << i << "]");
      const uint8_t op = opcode_id(inst.opcode());
      g.node_opcode[u] = op;
      if (op == 0) ++g.unknown_opcode_nodes;
      instruction_features(inst, u == root_node[c], opt, &g.node_feat[u * kNodeFeatDim]);

      // One edge per distinct operand (an operand used twice, as in multiply(x, x), is one edge).
      operands.assign(inst.operand_ids().begin(), inst.operand_ids().end());
      std::sort(operands.begin(), operands.end());
      operands.erase(std::unique(operands.begin(), operands.end()), operands.end());
      for (int64_t id : operands) {
        auto it = ids.find(id);
        if (it == ids.end())
          throw_error(source, ifield + ".operand_ids",
                      TG_STR("ids of instructions of the same computation"),
                      TG_STR("unknown id " << id));
        if (it->second == u)
          throw_error(source, ifield + ".operand_ids", "no instruction using its own output",
                      TG_STR("id " << id << " (its own)"));
        edges.emplace_back(u, it->second);
      }
      // A call-like instruction also consumes the result (root) of each computation it calls.
      for (int k = 0; k < inst.called_computation_ids_size(); ++k) {
        const int64_t cid = inst.called_computation_ids(k);
        auto it = comp_of_id.find(cid);
        if (it == comp_of_id.end())
          throw_error(source, TG_STR(ifield << ".called_computation_ids[" << k << "]"),
                      "the id of a computation of the module", TG_STR("unknown id " << cid));
        if (root_node[it->second] < 0)
          throw_error(source, TG_STR(field << ".computations[" << it->second << "]"),
                      "a called computation with instructions", "an empty computation");
        if (root_node[it->second] == u)
          throw_error(source, TG_STR(ifield << ".called_computation_ids[" << k << "]"),
                      "a computation other than the caller's own", TG_STR("id " << cid));
        edges.emplace_back(u, root_node[it->second]);
      }
    }
    const int64_t end = first_node[c] + comp.instructions_size();
    if (name_marks_split(comp.name())) g.node_splits.push_back(end);
  }
  if (g.node_splits.back() < N) g.node_splits.push_back(N);

  // Sorted by (user, operand) like TpuGraphs (a reordered sparse tensor). Duplicates can only come
  // from calling one computation twice (e.g. a conditional with two identical branches).
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  g.edge_index.reserve(edges.size() * 2);
  for (const auto& [u, v] : edges) {
    g.edge_index.push_back(u);
    g.edge_index.push_back(v);
  }
  return g;
}

}  // namespace tgraph::featurize
