#include "tgraph/search/space.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <unordered_set>

#include "tgraph/util/error.h"

namespace tgraph::search {

namespace {

constexpr int kOpConvolution = 26, kOpDot = 34, kOpReshape = 75;  // TpuGraphs opcode ids
constexpr int kShapeDimsCol = 21;                                 // node_feat dims 0..5
constexpr int kTupleTypeCol = 18;                                 // element type one-hot: tuple

// Rank of a node's output from its shape features: dims are >= 1 for every real array, so the
// rank is the count of leading non-zero dims (capped at 6 by the encoding).
int output_rank(const LayoutGraph& g, int64_t node) {
  const float* f = g.node_feat.data() + node * kNodeFeatDim;
  if (f[kTupleTypeCol] != 0.f) return 0;
  int r = 0;
  while (r < kSlotDims && f[kShapeDimsCol + r] != 0.f) ++r;
  return r;
}

// What the graph's own configurations say about a slot: the longest list and largest dim used.
struct Evidence {
  int max_len = 0;
  int max_value = -1;
};

}  // namespace

int64_t SlotSpace::options() const {
  int64_t n = 1;
  for (int i = 0; i < listed; ++i) n *= rank - i;
  return rank > 0 ? n : 0;
}

LayoutSpace::LayoutSpace(const LayoutGraph& g, const SpaceOptions& opt) {
  nc_ = g.num_config_nodes;
  node_ids_ = g.node_config_ids;
  if (nc_ <= 0) throw_error(g.path, "node_config_ids", "at least one configurable node", "none");
  slots_.assign(size_t(nc_), {});

  // Evidence from (at most kEvidenceConfigs of) the graph's own configurations.
  std::vector<std::array<Evidence, kSlots>> ev(static_cast<size_t>(nc_));
  if (g.config_feat_loaded) {
    const int64_t rows = std::min<int64_t>(g.num_configs, kEvidenceConfigs);
    for (int64_t c = 0; c < rows; ++c) {
      const float* row = g.config_row(c);
      for (int64_t k = 0; k < nc_; ++k)
        for (int s = 0; s < kSlots; ++s) {
          const float* v = row + (k * kSlots + s) * kSlotDims;
          int len = 0;
          while (len < kSlotDims && v[len] >= 0.f) {
            ev[size_t(k)][size_t(s)].max_value =
                std::max(ev[size_t(k)][size_t(s)].max_value, static_cast<int>(v[len]));
            ++len;
          }
          ev[size_t(k)][size_t(s)].max_len = std::max(ev[size_t(k)][size_t(s)].max_len, len);
        }
    }
  }

  // Operands of each configurable node, from the (user, operand) edges.
  std::vector<std::vector<int64_t>> operands(static_cast<size_t>(nc_));
  for (int64_t e = 0; e < g.num_edges; ++e) {
    const int64_t u = g.edge_index[size_t(2 * e)], v = g.edge_index[size_t(2 * e + 1)];
    auto it = std::lower_bound(node_ids_.begin(), node_ids_.end(), u);
    if (it != node_ids_.end() && *it == u) operands[size_t(it - node_ids_.begin())].push_back(v);
  }

  std::vector<uint8_t> wanted(size_t(nc_), opt.nodes.empty() ? 1 : 0);
  for (int64_t n : opt.nodes) {
    auto it = std::lower_bound(node_ids_.begin(), node_ids_.end(), n);
    if (it == node_ids_.end() || *it != n)
      throw_error(g.path, "--nodes", "configurable node indices (node_config_ids)",
                  TG_STR("node " << n));
    wanted[size_t(it - node_ids_.begin())] = 1;
  }

  for (int64_t k = 0; k < nc_; ++k) {
    const int64_t node = node_ids_[size_t(k)];
    const int op = g.node_opcode[size_t(node)];
    const auto& e = ev[size_t(k)];
    auto lower_bound_of = [&](int s) {
      return std::max(e[size_t(s)].max_len, e[size_t(s)].max_value + 1);
    };
    std::vector<int> ranks;
    for (int64_t v : operands[size_t(k)]) ranks.push_back(output_rank(g, v));
    std::sort(ranks.begin(), ranks.end());
    // An operand slot's rank: with one distinct operand rank, that one; otherwise the smallest
    // operand rank the evidence allows (without evidence the smallest: a layout of that rank is a
    // legal prefix for either operand).
    auto operand_rank = [&](int s) {
      const int lb = lower_bound_of(s);
      if (ranks.empty()) return lb;
      for (int r : ranks)
        if (r >= lb) return r;
      return lb;
    };
    int r[kSlots] = {std::max(output_rank(g, node), lower_bound_of(0)), 0, 0};
    r[1] = operand_rank(1);
    const bool two_operands = op == kOpConvolution || op == kOpDot;
    r[2] = two_operands || lower_bound_of(2) > 0 ? operand_rank(2) : 0;
    (void)kOpReshape;  // reshape: output and its one operand
    for (int s = 0; s < kSlots; ++s) {
      SlotSpace& sl = slots_[size_t(k)][size_t(s)];
      sl.rank = std::min(r[s], kSlotDims);
      if (sl.rank <= 0) {
        sl = {};
        continue;
      }
      sl.listed = e[size_t(s)].max_len > 0 ? std::min(e[size_t(s)].max_len, sl.rank) : sl.rank;
      if (opt.minor_dims > 0) sl.listed = std::min(sl.listed, opt.minor_dims);
    }
    bool any = false;
    for (const auto& sl : slots_[size_t(k)]) any |= sl.rank > 0;
    bool op_ok = opt.opcodes.empty() ||
                 std::find(opt.opcodes.begin(), opt.opcodes.end(), op) != opt.opcodes.end();
    if (any && wanted[size_t(k)] && op_ok) searchable_.push_back(k);
  }
  if (searchable_.empty())
    throw_error(g.path, "search space",
                "at least one configurable node with a tensor of rank >= 1 to lay out",
                opt.nodes.empty() && opt.opcodes.empty() ? "none" : "none among the chosen nodes");
}

double LayoutSpace::log10_size() const {
  double s = 0;
  for (int64_t k : searchable_)
    for (const auto& sl : slots_[size_t(k)])
      if (sl.rank > 0) s += std::log10(double(sl.options() + 1));
  return s;
}

bool LayoutSpace::redraw_node(float* row, int64_t k, std::mt19937_64& rng) const {
  bool changed = false;
  for (int s = 0; s < kSlots; ++s) {
    const SlotSpace& sl = slots_[size_t(k)][size_t(s)];
    if (sl.rank <= 0) continue;
    float* v = row + (k * kSlots + s) * kSlotDims;
    float nv[kSlotDims];
    std::fill(nv, nv + kSlotDims, -1.f);
    const int64_t options = sl.options();
    // "Unset" is one of options + 1 equally likely choices; a layout is a uniformly random
    // ordered prefix of a permutation (partial Fisher-Yates).
    if (std::uniform_int_distribution<int64_t>(0, options)(rng) != 0) {
      int perm[kSlotDims];
      std::iota(perm, perm + sl.rank, 0);
      for (int i = 0; i < sl.listed; ++i) {
        const int j = std::uniform_int_distribution<int>(i, sl.rank - 1)(rng);
        std::swap(perm[i], perm[j]);
        nv[i] = static_cast<float>(perm[i]);
      }
    }
    if (std::memcmp(nv, v, sizeof nv) != 0) changed = true;
    std::copy(nv, nv + kSlotDims, v);
  }
  return changed;
}

void LayoutSpace::mutate(float* row, int64_t n, std::mt19937_64& rng) const {
  const int64_t S = static_cast<int64_t>(searchable_.size());
  n = std::clamp<int64_t>(n, 1, S);
  std::vector<int64_t> pick(searchable_);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = std::uniform_int_distribution<int64_t>(i, S - 1)(rng);
    std::swap(pick[size_t(i)], pick[size_t(j)]);
    // A node whose only layout is [0] changes with probability 1/2 per draw: retry a few times.
    for (int t = 0; t < 32 && !redraw_node(row, pick[size_t(i)], rng); ++t) {
    }
  }
}

std::vector<int64_t> LayoutSpace::changed_nodes(const float* row) const {
  constexpr int kNode = kSlots * kSlotDims;
  std::vector<int64_t> out;
  for (int64_t k = 0; k < nc_; ++k)
    if (std::any_of(row + k * kNode, row + (k + 1) * kNode, [](float v) { return v != -1.f; }))
      out.push_back(k);
  return out;
}

bool LayoutSpace::legal(const float* row, std::string* why) const {
  std::vector<uint8_t> searchable(size_t(nc_), 0);
  for (int64_t k : searchable_) searchable[size_t(k)] = 1;
  for (int64_t k = 0; k < nc_; ++k)
    for (int s = 0; s < kSlots; ++s) {
      const SlotSpace& sl = slots_[size_t(k)][size_t(s)];
      const float* v = row + (k * kSlots + s) * kSlotDims;
      int len = 0;
      while (len < kSlotDims && v[len] != -1.f) ++len;
      bool ok = std::all_of(v + len, v + kSlotDims, [](float x) { return x == -1.f; });
      ok &= len == 0 || (searchable[size_t(k)] && len <= sl.rank);
      unsigned seen = 0;
      for (int i = 0; ok && i < len; ++i) {
        const int d = static_cast<int>(v[i]);
        ok = float(d) == v[i] && d >= 0 && d < sl.rank && !(seen >> d & 1u);
        seen |= 1u << std::max(d, 0);
      }
      if (!ok) {
        if (why)
          *why = TG_STR("node " << node_ids_[size_t(k)] << " slot " << s << ": not a layout of "
                                << (searchable[size_t(k)] ? "a rank-" + std::to_string(sl.rank)
                                                          : std::string("an unsearched"))
                                << " tensor");
        return false;
      }
    }
  return true;
}

uint64_t row_hash(const float* row, int64_t width) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  const auto* b = reinterpret_cast<const unsigned char*>(row);
  for (size_t i = 0; i < size_t(width) * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

std::vector<float> generate_candidates(const LayoutSpace& space, const CandidateOptions& opt,
                                       int64_t* produced) {
  if (opt.count < 1) throw_error("--count", "", ">= 1", std::to_string(opt.count));
  if (opt.changes < 0) throw_error("--changes", "", ">= 0", std::to_string(opt.changes));
  const int64_t W = space.width();
  std::vector<float> out = space.default_row();
  out.reserve(size_t(opt.count * W));
  std::unordered_set<uint64_t> seen{row_hash(out.data(), W)};
  std::mt19937_64 rng(opt.seed);
  std::vector<float> row;
  int64_t k = 1;
  for (int64_t attempt = 0; k < opt.count && attempt < 100 * opt.count; ++attempt) {
    row = space.default_row();
    if (opt.changes == 0) {
      for (int64_t n : space.searchable()) space.redraw_node(row.data(), n, rng);
    } else {
      space.mutate(row.data(), opt.changes, rng);
    }
    if (!seen.insert(row_hash(row.data(), W)).second) continue;
    out.insert(out.end(), row.begin(), row.end());
    ++k;
  }
  if (produced) *produced = k;
  return out;
}

LayoutGraph with_configs(const LayoutGraph& g, std::vector<float> rows, int64_t count) {
  LayoutGraph o;
  static_cast<GraphBase&>(o) = static_cast<const GraphBase&>(g);
  o.num_config_nodes = g.num_config_nodes;
  o.node_config_ids = g.node_config_ids;
  o.node_splits = g.node_splits;
  TG_CHECK(int64_t(rows.size()) == count * g.num_config_nodes * kLayoutConfigDim, "rows size");
  o.node_config_feat = std::move(rows);
  o.config_feat_loaded = true;
  o.num_configs = count;
  o.config_runtime.assign(size_t(count), 0);
  o.labelled = false;
  return o;
}

}  // namespace tgraph::search
