#include "tgraph/search/search.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <unordered_set>

#include "tgraph/util/error.h"

namespace tgraph::search {

namespace {

struct Pool {
  int64_t width = 0;
  std::vector<float> rows;  // [n, width]
  std::vector<double> score, spread;
  int64_t size() const { return int64_t(score.size()); }
  const float* row(int64_t i) const { return rows.data() + i * width; }
  void add(const float* r, double s, double sp) {
    rows.insert(rows.end(), r, r + width);
    score.push_back(s);
    spread.push_back(sp);
  }
  // Keeps the n best (lowest score), sorted; ties keep the earlier row.
  void keep_best(int64_t n) {
    std::vector<int64_t> idx(static_cast<size_t>(size()));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t a, int64_t b) { return score[size_t(a)] < score[size_t(b)]; });
    idx.resize(size_t(std::min(n, size())));
    Pool o;
    o.width = width;
    for (int64_t i : idx) o.add(row(i), score[size_t(i)], spread[size_t(i)]);
    *this = std::move(o);
  }
};

// Resets random changed nodes to the default until at most `limit` remain.
void clamp_changes(float* row, const LayoutSpace& space, int64_t limit, std::mt19937_64& rng) {
  if (limit <= 0) return;
  std::vector<int64_t> ch = space.changed_nodes(row);
  constexpr int kNode = kSlots * kSlotDims;
  while (int64_t(ch.size()) > limit) {
    const size_t i = size_t(rng() % ch.size());
    std::fill(row + ch[i] * kNode, row + (ch[i] + 1) * kNode, -1.f);
    ch.erase(ch.begin() + long(i));
  }
}

}  // namespace

SearchResult evolve(const CostModel& model, const GraphHandle& h, const LayoutSpace& space,
                    const SearchOptions& opt) {
  const int64_t W = space.width();
  if (model.candidate_width(h) != W)
    throw_error("search", "graph", TG_STR(W << " values per configuration for the model"),
                TG_STR(model.candidate_width(h)));
  if (opt.budget_evals < 2)
    throw_error("--budget-evals", "", ">= 2", std::to_string(opt.budget_evals));
  if (opt.population < 2) throw_error("--population", "", ">= 2", std::to_string(opt.population));
  if (opt.top < 1) throw_error("--top", "", ">= 1", std::to_string(opt.top));
  if (opt.max_mutations < 1)
    throw_error("--max-mutations", "", ">= 1", std::to_string(opt.max_mutations));
  const bool joint = !model.context_free();
  int64_t P = std::min(std::max(opt.population, opt.top), opt.budget_evals);
  // Population and children must share one slate when scores depend on the call.
  if (joint) P = std::min(P, std::max<int64_t>(1, model.slate() / 2));
  P = std::max<int64_t>(P, 2);

  std::mt19937_64 rng(opt.seed);
  std::unordered_set<uint64_t> seen;
  SearchResult res;
  res.population = P;

  // Generation 0: the default, the given configurations, then near-default mutants and fully
  // random configurations in equal parts.
  std::vector<float> batch;
  int64_t n0 = 0;
  auto push = [&](const float* r) {
    if (!seen.insert(row_hash(r, W)).second) return false;
    batch.insert(batch.end(), r, r + W);
    ++n0;
    return true;
  };
  std::vector<float> row = space.default_row();
  push(row.data());
  for (size_t i = 0; i + size_t(W) <= opt.initial.size() && n0 < P; i += size_t(W)) {
    if (!space.legal(opt.initial.data() + i) ||
        (opt.max_changed_nodes > 0 &&
         int64_t(space.changed_nodes(opt.initial.data() + i).size()) > opt.max_changed_nodes)) {
      ++res.initial_skipped;
      continue;
    }
    push(opt.initial.data() + i);
  }
  for (int64_t attempt = 0; n0 < P && attempt < 50 * P; ++attempt) {
    row = space.default_row();
    if (attempt % 2 == 0) {
      space.mutate(row.data(), 1 + int64_t(rng() % uint64_t(opt.max_mutations)), rng);
    } else {
      for (int64_t k : space.searchable()) space.redraw_node(row.data(), k, rng);
    }
    clamp_changes(row.data(), space, opt.max_changed_nodes, rng);
    push(row.data());
  }
  Pool pop;
  pop.width = W;
  {
    const Scores s = model.score(h, batch.data(), n0);
    res.evaluations += n0;
    for (int64_t i = 0; i < n0; ++i)
      pop.add(batch.data() + i * W, s.score[size_t(i)], s.spread[size_t(i)]);
    pop.keep_best(P);
  }
  if (opt.on_generation) opt.on_generation(0, res.evaluations, pop.score[0]);

  auto tournament = [&]() {
    const int64_t a = int64_t(rng() % uint64_t(pop.size())),
                  b = int64_t(rng() % uint64_t(pop.size()));
    return std::min(a, b);  // the pool is sorted: the lower index is the better one
  };
  const auto& nodes = space.searchable();
  while (true) {
    const int64_t left = opt.budget_evals - res.evaluations;
    const int64_t want = joint ? std::min(P, left - pop.size()) : std::min(P, left);
    if (want < 1) break;
    batch.clear();
    int64_t nc = 0;
    for (int64_t attempt = 0; nc < want && attempt < 20 * want; ++attempt) {
      const int64_t p1 = tournament();
      row.assign(pop.row(p1), pop.row(p1) + W);
      if (std::uniform_real_distribution<double>(0, 1)(rng) < opt.crossover) {
        const float* other = pop.row(tournament());
        for (int64_t k : nodes)
          if (rng() & 1) {
            const int64_t off = k * kSlots * kSlotDims;
            std::copy(other + off, other + off + kSlots * kSlotDims, row.data() + off);
          }
      }
      space.mutate(row.data(), 1 + int64_t(rng() % uint64_t(opt.max_mutations)), rng);
      clamp_changes(row.data(), space, opt.max_changed_nodes, rng);
      if (!seen.insert(row_hash(row.data(), W)).second) continue;
      batch.insert(batch.end(), row.begin(), row.end());
      ++nc;
    }
    if (nc == 0) break;  // the space is exhausted around the population
    if (joint) {
      // Re-score the population with its children in one call: [pop; children].
      std::vector<float> all(pop.rows);
      all.insert(all.end(), batch.begin(), batch.end());
      const int64_t n = pop.size() + nc;
      const Scores s = model.score(h, all.data(), n);
      res.evaluations += n;
      Pool next;
      next.width = W;
      for (int64_t i = 0; i < n; ++i)
        next.add(all.data() + i * W, s.score[size_t(i)], s.spread[size_t(i)]);
      pop = std::move(next);
    } else {
      const Scores s = model.score(h, batch.data(), nc);
      res.evaluations += nc;
      for (int64_t i = 0; i < nc; ++i)
        pop.add(batch.data() + i * W, s.score[size_t(i)], s.spread[size_t(i)]);
    }
    pop.keep_best(P);
    ++res.generations;
    if (opt.on_generation) opt.on_generation(res.generations, res.evaluations, pop.score[0]);
  }
  const int64_t K = std::min(opt.top, pop.size());
  res.rows.assign(pop.rows.begin(), pop.rows.begin() + K * W);
  res.score.assign(pop.score.begin(), pop.score.begin() + K);
  res.spread.assign(pop.spread.begin(), pop.spread.begin() + K);
  return res;
}

}  // namespace tgraph::search
