#include "tgraph/synth/cost_model.h"

#include <algorithm>
#include <cmath>

#include "tgraph/util/error.h"

namespace tgraph::synth {

namespace {

int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

bool is_elementwise(uint8_t opc) {
  switch (opc) {
    case op::kAbs:
    case op::kAdd:
    case op::kCompare:
    case op::kConvert:
    case op::kCopy:
    case op::kDivide:
    case op::kExp:
    case op::kLog:
    case op::kMaximum:
    case op::kMinimum:
    case op::kMultiply:
    case op::kNegate:
    case op::kPower:
    case op::kRsqrt:
    case op::kSelect:
    case op::kSqrt:
    case op::kSubtract:
    case op::kTanh:
    case op::kLogistic:
      return true;
    default:
      return false;
  }
}

// The layout XLA's layout assignment would give an operand of a conv/dot: the dim with the best
// MXU role minor-most (ties: the later dim), the others in descending order.
Layout canonical_layout(const std::array<float, 6>& role, int rank) {
  Layout l;
  l.rank = static_cast<uint8_t>(rank);
  if (rank == 0) return l;
  int best = rank - 1;
  for (int d = rank - 1; d >= 0; --d)
    if (role[size_t(d)] > role[size_t(best)]) best = d;
  l.m2m[0] = static_cast<uint8_t>(best);
  int k = 1;
  for (int d = rank - 1; d >= 0; --d)
    if (d != best) l.m2m[size_t(k++)] = static_cast<uint8_t>(d);
  return l;
}

}  // namespace

Layout Layout::descending(int rank) {
  Layout l;
  l.rank = static_cast<uint8_t>(rank);
  for (int i = 0; i < rank; ++i) l.m2m[size_t(i)] = static_cast<uint8_t>(rank - 1 - i);
  return l;
}

int64_t sublane_tile(int eb) {
  return eb >= 4 ? 8 : (eb == 2 ? 16 : 32);
}

double padded_bytes(const int64_t* dims, const Layout& L, int eb, int64_t lanes) {
  if (L.rank == 0) return eb;
  if (L.rank == 1) return double(round_up(dims[0], lanes)) * eb;
  const int m1 = L.m2m[0], m2 = L.m2m[1];
  double n = double(round_up(dims[m1], lanes)) * double(round_up(dims[m2], sublane_tile(eb)));
  for (int i = 2; i < L.rank; ++i) n *= double(dims[L.m2m[size_t(i)]]);
  return n * eb;
}

bool same_physical(const Layout& a, const Layout& b, const int64_t* dims) {
  if (a.rank != b.rank) return false;
  int i = 0, j = 0;
  while (true) {
    while (i < a.rank && dims[a.m2m[size_t(i)]] == 1) ++i;
    while (j < b.rank && dims[b.m2m[size_t(j)]] == 1) ++j;
    if (i == a.rank || j == b.rank) return i == a.rank && j == b.rank;
    if (a.m2m[size_t(i)] != b.m2m[size_t(j)]) return false;
    ++i;
    ++j;
  }
}

namespace {
// Physical order (major to minor) of the groups of one side of a reshape, or false if a group is
// not stored contiguously in logical order (then the reshape has to move data). group[d] is the
// group of dim d, -1 for size-1 dims, which never matter.
bool group_order(const std::vector<int64_t>& dims, const Layout& l, const std::vector<int>& group,
                 int num_groups, std::vector<int>* order) {
  const int r = static_cast<int>(dims.size());
  std::vector<int> first(size_t(num_groups), -1), next(size_t(r), -1);
  int prev = -1;
  for (int d = 0; d < r; ++d) {
    if (group[size_t(d)] < 0) continue;
    if (first[size_t(group[size_t(d)])] < 0) first[size_t(group[size_t(d)])] = d;
    if (prev >= 0 && group[size_t(prev)] == group[size_t(d)]) next[size_t(prev)] = d;
    prev = d;
  }
  std::vector<bool> seen(size_t(num_groups), false);
  int expect = -1;
  for (int k = l.rank - 1; k >= 0; --k) {
    const int d = l.m2m[size_t(k)];
    const int g = group[size_t(d)];
    if (g < 0) continue;
    if (expect < 0) {
      if (seen[size_t(g)] || d != first[size_t(g)]) return false;
      seen[size_t(g)] = true;
      order->push_back(g);
    } else if (d != expect) {
      return false;
    }
    expect = next[size_t(d)];
  }
  return expect < 0;
}
}  // namespace

bool reshape_is_bitcast(const std::vector<int64_t>& in_dims, const Layout& in_l,
                        const std::vector<int64_t>& out_dims, const Layout& out_l) {
  // Factor both shapes into common groups of dims with equal products (size-1 dims ignored).
  std::vector<int> gi(in_dims.size(), -1), go(out_dims.size(), -1);
  size_t i = 0, j = 0;
  int g = 0;
  auto skip1 = [](const std::vector<int64_t>& d, size_t& k) {
    while (k < d.size() && d[k] == 1) ++k;
  };
  skip1(in_dims, i);
  skip1(out_dims, j);
  while (i < in_dims.size() && j < out_dims.size()) {
    int64_t pi = in_dims[i], po = out_dims[j];
    gi[i++] = g;
    go[j++] = g;
    while (pi != po) {
      if (pi < po) {
        skip1(in_dims, i);
        if (i >= in_dims.size()) return false;
        pi *= in_dims[i];
        gi[i++] = g;
      } else {
        skip1(out_dims, j);
        if (j >= out_dims.size()) return false;
        po *= out_dims[j];
        go[j++] = g;
      }
    }
    ++g;
    skip1(in_dims, i);
    skip1(out_dims, j);
  }
  if (i < in_dims.size() || j < out_dims.size()) return false;  // element counts differ
  std::vector<int> oi, oo;
  if (!group_order(in_dims, in_l, gi, g, &oi) || !group_order(out_dims, out_l, go, g, &oo))
    return false;
  return oi == oo;
}

bool complete_slot(const float* s, int rank, Layout* out) {
  if (s[0] < 0) return false;
  out->rank = static_cast<uint8_t>(rank);
  bool used[6] = {false, false, false, false, false, false};
  int n = 0;
  for (int k = 0; k < 6 && s[k] >= 0; ++k) {
    const int d = static_cast<int>(s[k]);
    TG_CHECK(d < rank && !used[d], "configuration slot lists dim ", d, " of a rank-", rank,
             " tensor twice or out of range");
    used[d] = true;
    out->m2m[size_t(n++)] = static_cast<uint8_t>(d);
  }
  for (int d = rank - 1; d >= 0; --d)
    if (!used[d]) out->m2m[size_t(n++)] = static_cast<uint8_t>(d);
  return true;
}

// ---------------------------------------------------------------------------------------------

LayoutCostModel::LayoutCostModel(const Module& m, Device dev) : dev_(dev) {
  const int64_t N = m.size();
  nodes_.resize(size_t(N));
  shapes_.resize(size_t(N));
  for (int64_t i = 0; i < N; ++i) {
    const Instr& in = m.at(i);
    Node& n = nodes_[size_t(i)];
    shapes_[size_t(i)] = in.dims;
    n.rank = static_cast<uint8_t>(in.rank());
    for (int d = 0; d < in.rank(); ++d) n.dims[size_t(d)] = in.dims[size_t(d)];
    n.eb = static_cast<uint8_t>(std::max(1, elem_bytes(in.type)));
    n.bf16 = in.type == ElemType::kBF16 || in.type == ElemType::kF16;
    n.op_begin = static_cast<int32_t>(operands_.size());
    for (int32_t o : in.operands) operands_.push_back(o);
    n.op_end = static_cast<int32_t>(operands_.size());
    const uint8_t opc = in.opcode;
    if (is_configurable_opcode(opc)) {
      n.cfg = static_cast<int32_t>(config_ids_.size());
      config_ids_.push_back(i);
    }
    if (opc == op::kParameter || opc == op::kGetTupleElement || opc == op::kWhile ||
        in.is_tuple()) {
      n.cls = opc == op::kTuple ? kTuple : kFree;
    } else if (opc == op::kConstant) {
      n.cls = in.rank() == 0 ? kFlexible : kFree;
    } else if (opc == op::kBroadcast || opc == op::kIota) {
      n.cls = kFlexible;
    } else if (is_elementwise(opc) || opc == op::kAllReduce) {
      n.cls = opc == op::kAllReduce ? kMemory : kElementwise;
      n.all_reduce = opc == op::kAllReduce;
    } else if (opc == op::kReduce) {
      n.cls = kReduce;
      for (int64_t d : in.dimensions) n.red_mask |= uint8_t(1u << d);
    } else if (opc == op::kReduceWindow || opc == op::kSelectAndScatter) {
      n.cls = kWindowed;
      double w = 1;
      for (const auto& wd : in.window) w *= double(wd.size);
      n.window_factor = 1.0 + 0.1 * std::log2(std::max(1.0, w));
    } else if (opc == op::kSlice || opc == op::kPad || opc == op::kConcatenate ||
               opc == op::kDynamicSlice || opc == op::kScatter) {
      n.cls = kMemory;
    } else if (opc == op::kGather) {
      n.cls = kGather;
    } else if (opc == op::kTranspose) {
      n.cls = kTranspose;
      for (size_t k = 0; k < in.dimensions.size(); ++k)
        n.inv_perm[size_t(in.dimensions[k])] = static_cast<uint8_t>(k);
    } else if (opc == op::kConvolution) {
      n.cls = kConv;
      const ConvDims& c = in.conv;
      const Instr& w = m.at(in.operands[1]);
      double kspatial = 1;
      for (int64_t d : c.k_spatial) kspatial *= double(w.dims[size_t(d)]);
      n.flops = 2.0 * double(in.numel()) * kspatial * double(w.dims[size_t(c.k_in)]);
      // MXU roles: feature dims stream through the 128 lanes best, batch next, spatial worst.
      n.role_a.fill(0.55f);
      n.role_a[size_t(c.in_batch)] = 0.9f;
      n.role_a[size_t(c.in_feature)] = 1.0f;
      n.role_b.fill(0.5f);
      n.role_b[size_t(c.k_in)] = 0.9f;
      n.role_b[size_t(c.k_out)] = 1.0f;
      n.role_out.fill(0.55f);
      n.role_out[size_t(c.out_batch)] = 0.85f;
      n.role_out[size_t(c.out_feature)] = 1.0f;
    } else if (opc == op::kDot) {
      n.cls = kDot;
      const DotDims& dd = in.dot;
      const Instr& a = m.at(in.operands[0]);
      double k = 1;
      for (int64_t d : dd.lhs_contract) k *= double(a.dims[size_t(d)]);
      n.flops = 2.0 * double(in.numel()) * k;
      const Instr& bb = m.at(in.operands[1]);
      n.role_a.fill(0.8f);  // lhs free (M)
      for (int64_t d : dd.lhs_batch) n.role_a[size_t(d)] = 0.45f;
      for (int64_t d : dd.lhs_contract) n.role_a[size_t(d)] = 1.0f;
      n.role_b.fill(1.0f);  // rhs free (N)
      for (int64_t d : dd.rhs_batch) n.role_b[size_t(d)] = 0.45f;
      for (int64_t d : dd.rhs_contract) n.role_b[size_t(d)] = 0.95f;
      // Output: [batch..., lhs free..., rhs free...].
      const size_t nb = dd.lhs_batch.size();
      const size_t na = a.dims.size() - nb - dd.lhs_contract.size();
      (void)bb;
      for (size_t d = 0; d < size_t(in.rank()); ++d)
        n.role_out[d] = d < nb ? 0.45f : (d < nb + na ? 0.8f : 1.0f);
    } else if (opc == op::kReshape) {
      n.cls = kReshape;
    } else {
      n.cls = kMemory;
    }
    if (n.cls == kConv || n.cls == kDot) {
      n.canon_a = canonical_layout(n.role_a, m.at(in.operands[0]).rank());
      n.canon_b = canonical_layout(n.role_b, m.at(in.operands[1]).rank());
    }
    // The operand a follower inherits its layout from.
    if (n.cls == kElementwise || n.cls == kWindowed || n.cls == kMemory) {
      for (int32_t k = n.op_begin; k < n.op_end; ++k) {
        const int32_t v = operands_[size_t(k)];
        const Node& o = nodes_[size_t(v)];
        if (o.cls == kFlexible || o.rank != n.rank) continue;
        if (n.cls != kElementwise && k != n.op_begin) break;  // only operand 0 drives
        n.driver = v;
        break;
      }
    } else if (n.cls == kReduce || n.cls == kTranspose) {
      n.driver = operands_[size_t(n.op_begin)];
    }
  }
  // Which layouts and costs can change with the configuration.
  for (int64_t i = 0; i < N; ++i) {
    Node& n = nodes_[size_t(i)];
    if (n.cfg >= 0) n.dyn = true;
    if (n.driver >= 0 && nodes_[size_t(n.driver)].dyn) n.dyn = true;
    n.active = n.dyn || n.cfg >= 0;
    for (int32_t k = n.op_begin; k < n.op_end && !n.active; ++k)
      n.active = nodes_[size_t(operands_[size_t(k)])].dyn;
    if (n.active) active_.push_back(static_cast<int32_t>(i));
  }
  // Static layouts and costs (the all-unset configuration for configurable nodes).
  static_L_.resize(size_t(N));
  static_op_.assign(size_t(N), 0.0);
  static_copy_.assign(size_t(N), 0.0);
  for (int64_t i = 0; i < N; ++i) compute_layout(int32_t(i), static_L_, nullptr);
  for (int64_t i = 0; i < N; ++i) {
    static_op_[size_t(i)] = node_cost(int32_t(i), static_L_, nullptr, &static_copy_[size_t(i)]);
    static_total_ += static_op_[size_t(i)] + static_copy_[size_t(i)];
  }
}

LayoutCostModel::Workspace LayoutCostModel::make_workspace() const {
  Workspace ws;
  ws.L = static_L_;
  ws.changed.assign(static_L_.size(), 0);
  ws.want.resize(config_ids_.size() * 3);
  ws.set.assign(config_ids_.size() * 3, 0);
  return ws;
}

double LayoutCostModel::bytes(int32_t v, const Layout& l) const {
  const Node& n = nodes_[size_t(v)];
  return padded_bytes(n.dims.data(), l, n.eb, dev_.lanes);
}

double LayoutCostModel::copy_cost(int32_t v, const Layout& have, const Layout& want) const {
  const Node& n = nodes_[size_t(v)];
  if (n.rank < 2 || same_physical(have, want, n.dims.data())) return 0.0;
  // Minor-most non-trivial dim of each layout: a change there is a real transpose.
  auto minor = [&](const Layout& l) {
    for (int k = 0; k < l.rank; ++k)
      if (n.dims[l.m2m[size_t(k)]] != 1) return int(l.m2m[size_t(k)]);
    return -1;
  };
  const double f = minor(have) != minor(want) ? dev_.transpose_factor : 1.0;
  return dev_.copy_overhead_ns + (bytes(v, have) + bytes(v, want)) / dev_.hbm_bytes_per_ns * f;
}

double LayoutCostModel::mxu_factor(const Node& n, const std::array<float, 6>& role, int32_t tensor,
                                   const Layout& l) const {
  (void)n;
  const Node& t = nodes_[size_t(tensor)];
  if (t.rank == 0) return 1.0;
  const int m1 = l.m2m[0];
  const double d1 = double(t.dims[size_t(m1)]);
  double e = role[size_t(m1)] * d1 / double(round_up(t.dims[size_t(m1)], dev_.lanes));
  if (t.rank >= 2) {
    const int64_t d2 = t.dims[l.m2m[1]];
    e *= std::sqrt(double(d2) / double(round_up(d2, sublane_tile(t.eb))));
  }
  return e;
}

Layout LayoutCostModel::follower_layout(const Node& n, const std::vector<Layout>& L) const {
  if (n.driver < 0) return Layout::descending(n.rank);
  const Layout& in = L[size_t(n.driver)];
  if (n.cls == kTranspose) {
    Layout o;
    o.rank = n.rank;
    for (int k = 0; k < n.rank; ++k) o.m2m[size_t(k)] = n.inv_perm[in.m2m[size_t(k)]];
    return o;
  }
  if (n.cls == kReduce) {
    // Drop reduced dims, renumber the rest.
    uint8_t renum[6];
    uint8_t next = 0;
    for (int d = 0; d < in.rank; ++d) renum[d] = (n.red_mask >> d) & 1 ? 255 : next++;
    Layout o;
    o.rank = n.rank;
    int k = 0;
    for (int j = 0; j < in.rank; ++j)
      if (renum[in.m2m[size_t(j)]] != 255) o.m2m[size_t(k++)] = renum[in.m2m[size_t(j)]];
    return o;
  }
  return in;
}

void LayoutCostModel::compute_layout(int32_t i, std::vector<Layout>& L, const Workspace* ws) const {
  const Node& n = nodes_[size_t(i)];
  if (n.cfg >= 0) {
    const size_t s = size_t(n.cfg) * 3;
    L[size_t(i)] = (ws && ws->set[s]) ? ws->want[s] : Layout::descending(n.rank);
    return;
  }
  switch (n.cls) {
    case kElementwise:
    case kWindowed:
    case kMemory:
    case kReduce:
    case kTranspose:
      L[size_t(i)] = follower_layout(n, L);
      return;
    default:
      L[size_t(i)] = Layout::descending(n.rank);
      return;
  }
}

double LayoutCostModel::node_cost(int32_t i, const std::vector<Layout>& L, const Workspace* ws,
                                  double* copy) const {
  const Node& n = nodes_[size_t(i)];
  const Layout& Li = L[size_t(i)];
  const double bw = dev_.hbm_bytes_per_ns;
  *copy = 0.0;
  switch (n.cls) {
    case kFree:
    case kTranspose:
      return 0.0;
    case kFlexible:
      return dev_.fused_fraction * bytes(i, Li) / bw;
    case kTuple: {
      for (int32_t k = n.op_begin; k < n.op_end; ++k) {
        const int32_t v = operands_[size_t(k)];
        const Node& o = nodes_[size_t(v)];
        if (o.rank >= 2 && o.cls != kFlexible)
          *copy += copy_cost(v, L[size_t(v)], Layout::descending(o.rank));
      }
      return 0.0;
    }
    case kGather: {
      double t = bytes(i, Li);
      for (int32_t k = n.op_begin; k < n.op_end; ++k)
        t += bytes(operands_[size_t(k)], L[size_t(operands_[size_t(k)])]) * 0.1;
      return dev_.op_overhead_ns + t / bw;
    }
    case kReduce: {
      const int32_t v = operands_[size_t(n.op_begin)];
      const Layout& Lv = L[size_t(v)];
      const bool minor_reduced = Lv.rank > 0 && ((n.red_mask >> Lv.m2m[0]) & 1);
      const double t = bytes(v, Lv) + bytes(i, Li);
      return dev_.op_overhead_ns + t / bw * (minor_reduced ? dev_.cross_lane_factor : 1.0);
    }
    case kElementwise:
    case kWindowed:
    case kMemory: {
      double t = bytes(i, Li);
      for (int32_t k = n.op_begin; k < n.op_end; ++k) {
        const int32_t v = operands_[size_t(k)];
        const Node& o = nodes_[size_t(v)];
        if (o.rank == n.rank && o.cls != kFlexible && n.rank >= 2) {
          // Operands must arrive in this op's layout.
          *copy += copy_cost(v, L[size_t(v)], Li);
          t += bytes(v, Li);
        } else {
          t += bytes(v, o.cls == kFlexible ? Layout::descending(o.rank) : L[size_t(v)]);
        }
      }
      if (n.cls == kElementwise) return dev_.fused_fraction * t / bw;
      const double f = n.cls == kWindowed ? n.window_factor : (n.all_reduce ? 3.0 : 1.0);
      return dev_.op_overhead_ns + t / bw * f;
    }
    case kConv:
    case kDot:
    case kReshape: {
      // Operand layouts the op wants: its configured slots; unset, a reshape takes what its
      // producer delivers and a conv/dot is normalised to its canonical operand layout (XLA's
      // layout assignment), which costs a copy where the producer delivers something else.
      Layout want[2];
      const int nops = std::min<int>(2, n.op_end - n.op_begin);
      for (int s = 0; s < nops; ++s) {
        const int32_t v = operands_[size_t(n.op_begin + s)];
        const bool flexible = nodes_[size_t(v)].cls == kFlexible;
        const size_t si = size_t(n.cfg) * 3 + size_t(s) + 1;
        const Layout have = flexible ? Layout::descending(nodes_[size_t(v)].rank) : L[size_t(v)];
        if (ws && ws->set[si])
          want[s] = ws->want[si];
        else if (n.cls == kReshape || flexible)
          want[s] = have;
        else
          want[s] = s == 0 ? n.canon_a : n.canon_b;
        if (!flexible) *copy += copy_cost(v, have, want[s]);
      }
      const int32_t a = operands_[size_t(n.op_begin)];
      if (n.cls == kReshape) {
        if (reshape_is_bitcast(shapes_[size_t(a)], want[0], shapes_[size_t(i)], Li)) return 0.0;
        return dev_.copy_overhead_ns +
               (bytes(a, want[0]) + bytes(i, Li)) / bw * dev_.transpose_factor;
      }
      const int32_t b = operands_[size_t(n.op_begin + 1)];
      const double e_a = mxu_factor(n, n.role_a, a, want[0]);
      const double e_b = mxu_factor(n, n.role_b, b, want[1]);
      const double e_o = mxu_factor(n, n.role_out, i, Li);
      double u = std::pow(e_a, 0.5) * std::pow(e_b, 0.3) * std::pow(e_o, 0.2);
      u = std::min(1.0, std::max(0.02, u));
      const double peak = n.bf16 ? dev_.peak_flops_bf16 : dev_.peak_flops_f32;
      const double compute = n.flops / (peak * u);
      const double mem = (bytes(a, want[0]) + bytes(b, want[1]) + bytes(i, Li)) / bw;
      return dev_.op_overhead_ns + std::max(compute, mem);
    }
  }
  return 0.0;
}

double LayoutCostModel::runtime_ns(const float* row, Workspace& ws, CostBreakdown* bd) const {
  const size_t NC = config_ids_.size();
  for (size_t k = 0; k < NC; ++k) {
    const Node& n = nodes_[size_t(config_ids_[k])];
    for (int s = 0; s < 3; ++s) {
      int rank = 0;
      bool exists = true;
      if (s == 0) {
        rank = n.rank;
      } else if (s <= n.op_end - n.op_begin && s <= 2) {
        rank = nodes_[size_t(operands_[size_t(n.op_begin + s - 1)])].rank;
      } else {
        exists = false;
      }
      const float* slot = row + k * 18 + size_t(s) * 6;
      ws.set[k * 3 + size_t(s)] = exists && complete_slot(slot, rank, &ws.want[k * 3 + size_t(s)]);
    }
  }
  double total = static_total_;
  if (bd) {
    bd->op_ns = static_op_;
    bd->copy_ns = static_copy_;
  }
  // Incremental evaluation against the default configuration: only nodes with a configured slot
  // or an operand whose layout changed are re-costed; the sum runs in node order, so the result
  // is the same on any thread.
  auto same = [](const Layout& a, const Layout& b) {
    return a.rank == b.rank && std::equal(a.m2m.begin(), a.m2m.begin() + a.rank, b.m2m.begin());
  };
  for (int32_t i : active_) {
    const Node& n = nodes_[size_t(i)];
    bool touched = false;
    if (n.cfg >= 0) {
      const size_t s = size_t(n.cfg) * 3;
      touched = ws.set[s] || ws.set[s + 1] || ws.set[s + 2];
    }
    for (int32_t k = n.op_begin; k < n.op_end && !touched; ++k)
      touched = ws.changed[size_t(operands_[size_t(k)])];
    if (!touched) {
      if (ws.changed[size_t(i)]) {
        ws.L[size_t(i)] = static_L_[size_t(i)];
        ws.changed[size_t(i)] = 0;
      }
      continue;
    }
    if (n.dyn) {
      compute_layout(i, ws.L, &ws);
      ws.changed[size_t(i)] = !same(ws.L[size_t(i)], static_L_[size_t(i)]);
    }
    double copy = 0;
    const double c = node_cost(i, ws.L, &ws, &copy);
    total += (c - static_op_[size_t(i)]) + (copy - static_copy_[size_t(i)]);
    if (bd) {
      bd->op_ns[size_t(i)] = c;
      bd->copy_ns[size_t(i)] = copy;
    }
  }
  if (bd) bd->total_ns = total;
  return total;
}

double LayoutCostModel::runtime_ns(const float* row, CostBreakdown* bd) const {
  Workspace ws = make_workspace();
  return runtime_ns(row, ws, bd);
}

double LayoutCostModel::default_runtime_ns() const {
  std::vector<float> row(config_ids_.size() * 18, -1.f);
  return runtime_ns(row.data());
}

// ---- tile -------------------------------------------------------------------------------------

namespace {

struct TileGeometry {
  double n_out = 1;     // output tiles
  double cols = 1;      // tiles along the last output dim
  double rows = 1;      // n_out / cols
  double waste = 1;     // padded tile volume / useful volume
  double out_tile = 0;  // bytes of one padded output tile
  double ksplit = 1;    // product of kernel bounds
  double csplit = 1;    // splits of the contraction dims
  double cwaste = 1;    // lane padding of the contraction tile
};

TileGeometry geometry(const TileKernel& k, const TileConfig& c, const Device& dev) {
  TileGeometry g;
  const size_t r = k.out_dims.size();
  double useful = 1, padded = 1, tile = 1;
  for (size_t i = 0; i < r; ++i) {
    const int64_t d = k.out_dims[i];
    const int64_t b = std::max<int64_t>(1, std::min(d, c.output_bounds[i]));
    const int64_t t = (d + b - 1) / b;
    int64_t pt = t;
    if (i + 1 == r)
      pt = round_up(t, dev.lanes);
    else if (i + 2 == r)
      pt = round_up(t, sublane_tile(k.eb));
    useful *= double(d);
    padded *= double(b) * double(pt);
    tile *= double(pt);
    g.n_out *= double(b);
    if (i + 1 == r) g.cols = double(b);
  }
  g.rows = g.n_out / g.cols;
  g.waste = padded / useful;
  g.out_tile = tile * k.eb;
  if (!k.kernel_dims.empty()) {
    // Contraction dims of the weight: all but the last (conv: kh, kw, Cin; dot: K).
    const size_t kr = k.kernel_dims.size();
    for (size_t j = 0; j < kr; ++j) {
      const int64_t b = std::max<int64_t>(1, std::min(k.kernel_dims[j], c.kernel_bounds[j]));
      g.ksplit *= double(b);
      if (j + 1 < kr) g.csplit *= double(b);
    }
    const int64_t inner = k.kernel_dims[kr - 2];  // Cin or K: mapped onto the lanes
    const int64_t bi = std::max<int64_t>(1, std::min(inner, c.kernel_bounds[kr - 2]));
    const int64_t ti = (inner + bi - 1) / bi;
    g.cwaste = double(round_up(ti, dev.lanes) * bi) / double(inner);
    // Splitting the weight's output dim beyond the output tiling only adds steps.
  }
  return g;
}

}  // namespace

namespace {

struct TileCost {
  double runtime_ns = 0;
  double vmem_bytes = 0;  // double-buffered tiles of one step
  double steps = 0;       // grid steps
};

TileCost tile_cost(const TileKernel& k, const TileConfig& c, const Device& dev) {
  TG_CHECK(c.output_bounds.size() == k.out_dims.size(), "output_bounds rank");
  TG_CHECK(c.kernel_bounds.size() == k.kernel_dims.size(), "kernel_bounds rank");
  const TileGeometry g = geometry(k, c, dev);
  const bool mxu = !k.kernel_dims.empty();
  const double peak = k.eb == 2 ? dev.peak_flops_bf16 : dev.peak_flops_f32;
  // Vector units are ~8x slower than the MXU for elementwise work.
  const double rate = mxu ? peak : peak / 8;
  const double compute = k.flops * g.waste * (mxu ? std::sqrt(g.cwaste) : 1.0) / rate;
  double traffic, vmem;
  if (mxu) {
    // Each output-column tile re-reads its activation rows; each output-row tile re-reads the
    // weights; contraction splits accumulate partial sums through HBM.
    traffic = k.act_bytes * g.cols + k.weight_bytes * g.rows + k.out_bytes * g.waste +
              k.out_bytes * 2.0 * (g.csplit - 1.0);
    const double act_tile = k.act_bytes / g.rows / g.csplit;
    const double w_tile = k.weight_bytes / g.cols / g.ksplit;
    vmem = 2.0 * (g.out_tile + act_tile + w_tile);
  } else {
    traffic = (k.act_bytes + k.weight_bytes) * g.waste + k.out_bytes * g.waste;
    vmem = 2.0 * (g.out_tile + (k.act_bytes + k.weight_bytes) / g.n_out * g.waste);
  }
  // Tiles that overflow VMEM spill: extra traffic growing linearly with the overflow.
  const double spill = vmem > dev.vmem_bytes ? 1.0 + 1.5 * (vmem / dev.vmem_bytes - 1.0) : 1.0;
  const double work = std::max(compute, traffic * spill / dev.hbm_bytes_per_ns);
  TileCost t;
  t.steps = g.n_out * g.ksplit;
  t.vmem_bytes = vmem;
  const double cores = double(dev.cores);
  const double per_core = std::ceil(t.steps / cores);  // steps on the busiest core
  t.runtime_ns = dev.kernel_launch_ns + per_core * dev.grid_step_ns + work * per_core / t.steps;
  return t;
}

}  // namespace

double tile_runtime_ns(const TileKernel& k, const TileConfig& c, const Device& dev) {
  return tile_cost(k, c, dev).runtime_ns;
}

bool tile_config_feasible(const TileKernel& k, const TileConfig& c, const Device& dev) {
  const TileCost t = tile_cost(k, c, dev);
  return t.steps <= kMaxTileSteps && t.vmem_bytes <= 4.0 * dev.vmem_bytes;
}

TileConfig default_tile_config(const TileKernel& k, const Device& dev) {
  TileConfig c;
  const size_t r = k.out_dims.size();
  c.output_bounds.assign(r, 1);
  c.kernel_bounds.assign(k.kernel_dims.size(), 1);
  // Minor dims: lane-sized tiles of at most 512 x 256. Then, major dims first, double the tile
  // counts until a step's tiles take at most half of VMEM; split the contraction (lane) dim of
  // a weight tile above 4 MiB. The heuristic ignores re-reads and core count: it is a good
  // configuration, not always the best one.
  if (r >= 1) c.output_bounds[r - 1] = (k.out_dims[r - 1] + 511) / 512;
  if (r >= 2) c.output_bounds[r - 2] = (k.out_dims[r - 2] + 255) / 256;
  if (!k.kernel_dims.empty()) {
    const size_t j = k.kernel_dims.size() - 2;
    auto wtile = [&]() {
      return k.weight_bytes / double(c.output_bounds[r - 1]) / double(c.kernel_bounds[j]);
    };
    while (wtile() > 4.0 * 1024 * 1024 && c.kernel_bounds[j] * 2 <= k.kernel_dims[j])
      c.kernel_bounds[j] *= 2;
  }
  // Greedy: double the bound whose split shrinks the step's tiles most, while they exceed half
  // of VMEM and a split still helps.
  while (tile_cost(k, c, dev).vmem_bytes > dev.vmem_bytes / 2) {
    const TileCost now = tile_cost(k, c, dev);
    TileConfig best = c;
    double best_vmem = now.vmem_bytes;
    auto consider = [&](TileConfig t) {
      const TileCost tc = tile_cost(k, t, dev);
      if (tc.steps <= kMaxTileSteps / 2 && tc.vmem_bytes < best_vmem * 0.95) {
        best_vmem = tc.vmem_bytes;
        best = std::move(t);
      }
    };
    for (size_t i = 0; i < r; ++i)
      if (c.output_bounds[i] < k.out_dims[i]) {
        TileConfig t = c;
        t.output_bounds[i] = std::min(k.out_dims[i], t.output_bounds[i] * 2);
        consider(std::move(t));
      }
    for (size_t j = 0; j < k.kernel_dims.size(); ++j)
      if (c.kernel_bounds[j] * 2 <= k.kernel_dims[j]) {
        TileConfig t = c;
        t.kernel_bounds[j] *= 2;
        consider(std::move(t));
      }
    if (best == c) break;
    c = std::move(best);
  }
  return c;
}

std::array<float, 24> tile_config_features(const TileConfig& c) {
  std::array<float, 24> f{};
  auto block = [&](size_t off, const std::vector<int64_t>& v) {
    if (v.empty()) return;  // empty block: all 0, product included (tile features use 0)
    int64_t sum = 0, prod = 1;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i < 6) f[off + i] = static_cast<float>(v[i]);
      sum += v[i];
      prod *= v[i];
    }
    f[off + 6] = static_cast<float>(sum);
    f[off + 7] = static_cast<float>(prod);
  };
  block(0, c.kernel_bounds);
  block(8, c.output_bounds);
  return f;
}

}  // namespace tgraph::synth
