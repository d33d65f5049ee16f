#include "tgraph/synth/config_sampler.h"

#include <algorithm>

#include "tgraph/util/error.h"

namespace tgraph::synth {

namespace {
// Probabilities of the configuration kinds (see docs/synth.md, "Configurations").
constexpr double kRandomPDefault = 0.004;   // the all-unset (default) configuration
constexpr double kRandomPDuplicate = 0.01;  // a re-measurement of an earlier configuration
constexpr double kDefaultPDefault = 0.02;
constexpr double kDefaultPDuplicate = 0.01;
}  // namespace

LayoutConfigSampler::LayoutConfigSampler(const Module& m, Search search, uint64_t seed,
                                         int64_t num_configs)
    : search_(search), seed_(seed), num_configs_(num_configs) {
  for (int64_t id : m.configurable_nodes()) {
    const Instr& in = m.at(id);
    std::array<Slot, 3> s;
    const bool conv = in.opcode == op::kConvolution;
    s[0] = {in.rank(), conv};
    for (size_t k = 0; k < 2 && k < in.operands.size(); ++k)
      s[k + 1] = {m.at(in.operands[k]).rank(), conv};
    if (in.opcode == op::kReshape) s[2].rank = -1;
    bool any = false;
    for (const Slot& x : s) any |= x.rank >= 1;
    if (any) mutable_nodes_.push_back(static_cast<int32_t>(slots_.size()));
    slots_.push_back(s);
  }
  if (search_ == Search::kDefault && !mutable_nodes_.empty()) {
    // Anchors: a few nearby points the search keeps returning to (the default search clusters).
    Rng r(derive_seed(seed_, 0xA7C4));
    const int64_t na = std::clamp<int64_t>(num_configs / 40, 3, 200);
    for (int64_t a = 0; a < na; ++a) {
      std::vector<Mutation> muts;
      const int64_t k = randint(r, 2, 6);
      for (int64_t i = 0; i < k; ++i) muts.push_back(random_mutation(r));
      anchors_.push_back(std::move(muts));
    }
  }
}

void LayoutConfigSampler::random_layout(const Slot& s, Rng& r, int8_t* v) const {
  std::fill(v, v + 6, int8_t(-1));
  if (s.rank <= 0) return;
  std::vector<int8_t> dims;
  for (int d = 0; d < s.rank; ++d) dims.push_back(int8_t(d));
  shuffle(dims, r);
  const size_t n = s.prefix ? std::min<size_t>(2, dims.size()) : dims.size();
  for (size_t i = 0; i < n; ++i) v[i] = dims[i];
}

LayoutConfigSampler::Mutation LayoutConfigSampler::random_mutation(Rng& r) const {
  Mutation m;
  m.node = pick(mutable_nodes_, r);
  const auto& s = slots_[size_t(m.node)];
  std::vector<int8_t> usable;
  for (int k = 0; k < 3; ++k)
    if (s[size_t(k)].rank >= 1) usable.push_back(int8_t(k));
  m.slot = pick(usable, r);
  const Slot& sl = s[size_t(m.slot)];
  m.v.fill(-1);
  const int rank = sl.rank;
  const size_t n = sl.prefix ? std::min(2, rank) : size_t(rank);
  const double u = uniform01(r);
  if (u < 0.35 && rank >= 2) {
    // Swap the two minor-most dims of the row-major layout: the most common tweak.
    std::vector<int8_t> l;
    for (int d = rank - 1; d >= 0; --d) l.push_back(int8_t(d));
    std::swap(l[0], l[1]);
    for (size_t i = 0; i < n; ++i) m.v[i] = l[i];
  } else if (u < 0.5) {
    // Pin the row-major layout explicitly (forces a copy when the producer delivers another).
    for (size_t i = 0; i < n; ++i) m.v[i] = int8_t(rank - 1 - int(i));
  } else if (u < 0.9) {
    random_layout(sl, r, m.v.data());
  }  // else: reset to unset
  return m;
}

bool LayoutConfigSampler::apply(const Mutation& m, float* out) const {
  float* s = out + size_t(m.node) * 18 + size_t(m.slot) * 6;
  bool changed = false;
  for (int i = 0; i < 6; ++i) {
    changed |= s[i] != float(m.v[size_t(i)]);
    s[i] = float(m.v[size_t(i)]);
  }
  return changed;
}

void LayoutConfigSampler::fill(int64_t c, float* out) const {
  const size_t nc = slots_.size();
  std::fill(out, out + nc * 18, -1.f);
  if (mutable_nodes_.empty()) return;
  Rng r(derive_seed(seed_, 1, uint64_t(c)));
  if (search_ == Search::kRandom) {
    // Each node is configured with probability q (drawn per configuration), each of its slots
    // with probability 0.7, to a uniformly random layout.
    const double q = uniform(r, 0.1, 0.9);
    int8_t v[6];
    for (size_t k = 0; k < nc; ++k) {
      if (!bernoulli(r, q)) continue;
      for (size_t s = 0; s < 3; ++s) {
        const Slot& sl = slots_[k][s];
        if (sl.rank < 1 || !bernoulli(r, 0.7)) continue;
        random_layout(sl, r, v);
        for (int i = 0; i < 6; ++i) out[k * 18 + s * 6 + size_t(i)] = float(v[i]);
      }
    }
    return;
  }
  // Default search: an anchor (or the default) plus a few extra mutations.
  const bool from_default = bernoulli(r, 0.1);
  if (!from_default) {
    for (const Mutation& m : anchors_[size_t(randint(r, 0, int64_t(anchors_.size()) - 1))])
      apply(m, out);
  }
  // Extra mutations: 0 with probability 0.05 (a re-visit of the anchor), else 1 + geometric.
  int64_t extra = 0;
  if (from_default || !bernoulli(r, 0.02)) {
    extra = from_default ? 2 : 1;
    while (extra < 12 && bernoulli(r, 0.6)) ++extra;
  }
  // A mutation that changes nothing is redrawn (a few times), which keeps duplicates rare.
  for (int64_t i = 0; i < extra; ++i)
    for (int tries = 0; tries < 4 && !apply(random_mutation(r), out); ++tries) {
    }
}

void LayoutConfigSampler::row(int64_t c, float* out) const {
  TG_CHECK(c >= 0 && c < num_configs_, "configuration index ", c);
  const double p_def = search_ == Search::kRandom ? kRandomPDefault : kDefaultPDefault;
  const double p_dup = search_ == Search::kRandom ? kRandomPDuplicate : kDefaultPDuplicate;
  // Follow duplicate links back to an original configuration (always to a smaller index).
  int64_t cur = c;
  while (true) {
    Rng r(derive_seed(seed_, 2, uint64_t(cur)));
    const double u = uniform01(r);
    if (u < p_def) {
      std::fill(out, out + slots_.size() * 18, -1.f);
      return;
    }
    if (u < p_def + p_dup && cur > 0) {
      cur = randint(r, 0, cur - 1);
      continue;
    }
    fill(cur, out);
    return;
  }
}

}  // namespace tgraph::synth
