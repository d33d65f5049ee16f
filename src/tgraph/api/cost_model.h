// The cost-model API an autotuner calls: load a trained model (layout or tile, single or seed
// ensemble), prepare a graph once, then score batches of candidate configurations many times and
// fine-tune on the few that were measured. Modelled on the batched interfaces of autotuners'
// cost models (TVM MetaSchedule's CostModel{Load, Save, Update, Predict}; Halide's
// enqueue / evaluate_costs / backprop).
//
// This header pulls in no LibTorch headers; link the `tgraph_model` library. Example:
//
//   tgraph::CostModel m = tgraph::CostModel::load("run/best.tgm");
//   tgraph::GraphHandle h = m.prepare(tgraph::load_layout("graph.npz"));
//   std::vector<float> cands(K * m.candidate_width(h));   // [K, NC, 18] layout values -1..5
//   tgraph::Scores s = m.score(h, cands.data(), K);      // s.score[k]: lower = predicted faster
//   m.update(h, measured.data(), 20, runtimes_ns, /*steps=*/10);
//   m.save("run/tuned.tgm");
//
// Candidates are row-major float values in the TpuGraphs encoding:
//   layout: [K, NC, 18], NC = the graph's configurable nodes in node_config_ids order, each slot
//           an integral layout value in [-1, 5] (-1: leave it to the compiler);
//   tile:   [K, 24] config_feat values (finite).
// Anything else is refused with tgraph::Error naming the candidate and slot.
//
// Thread safety: score() may be called concurrently from any number of threads on one CostModel
// (and one handle); update() and save() take the model exclusively (concurrent scores wait).
// With a cross-attention model (layout *default* collections) a candidate's score depends on the
// others in its slate: score() puts candidates, in the order given, into ceil(K / slate) slates
// of equal size (differing by at most one).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tgraph/graph/tpugraphs.h"

namespace tgraph {

struct CostModelOptions {
  std::string device = "cpu";  // "cpu" | "cuda" | "cuda:N"
  int threads = 0;             // intra-op threads; 0 = all cores (process-wide in LibTorch)
  int64_t slate = 0;  // candidates scored together; 0: the model's (default_inference_slate)
  uint64_t seed = 0;  // slate partitions of score() and score_own(); update()'s slate sampling
  // Cross-attention models: independent slate partitions whose scores are averaged (a score
  // depends on its slate companions); 0: the model's (default_slate_repeats). score() keeps the
  // candidates' order for the first partition and shuffles the others.
  int slate_repeats = 0;
  double update_lr = 1e-4;  // AdamW learning rate of update()
};

// Scores of K candidates: lower = predicted faster. For an ensemble, `score` is the mean of the
// members' standardised scores and `spread` their standard deviation (an uncertainty estimate);
// for a single model `spread` is all 0.
struct Scores {
  std::vector<double> score;   // [K]
  std::vector<double> spread;  // [K]
};

// A prepared graph: everything about it that does not depend on the candidates (pruned graph,
// normalised features, per-node static projection) is computed once and cached here. Cheap to
// copy (shared); valid for the CostModel that made it.
class GraphHandle {
 public:
  GraphHandle();
  ~GraphHandle();
  GraphHandle(const GraphHandle&);
  GraphHandle& operator=(const GraphHandle&);
  int64_t num_nodes() const;         // nodes the model sees (after pruning)
  int64_t num_config_nodes() const;  // layout NC (0 for tile)
  int64_t num_configs() const;       // configurations the graph came with (may be 0)
  struct State;

 private:
  friend class CostModel;
  std::shared_ptr<State> s_;
};

class CostModel {
 public:
  static CostModel load(const std::string& path, const CostModelOptions& opt = {});
  ~CostModel();
  CostModel(CostModel&&) noexcept;
  CostModel& operator=(CostModel&&) noexcept;

  // Writes the model (weights as fine-tuned by update(), and the optimiser state) atomically;
  // load() of the written file continues where this object left off.
  void save(const std::string& path) const;

  // Prepare a graph (a layout graph for a layout model, a tile kernel for a tile model; a
  // mismatch throws tgraph::Error). The graph's own configurations, if loaded, stay available to
  // score_own(); candidates do not need them.
  GraphHandle prepare(const LayoutGraph& g) const;
  GraphHandle prepare(const TileGraph& g) const;
  // Either kind. A layout file goes through an unlinked temporary pack: its configurations are
  // read slate by slate in score_own(), so files larger than memory work.
  GraphHandle prepare_file(const std::string& npz_path) const;

  // Values per candidate: NC * 18 (layout) or 24 (tile).
  int64_t candidate_width(const GraphHandle& h) const;

  // One score per candidate; values has count * candidate_width(h) floats.
  Scores score(const GraphHandle& h, const float* values, int64_t count) const;
  Scores score(const GraphHandle& h, const std::vector<float>& values) const;
  // Scores of the configurations the graph came with (slates by a seeded shuffle, exactly like
  // `tgraph evaluate` / `predict`).
  Scores score_own(const GraphHandle& h) const;

  // Fine-tunes on measured candidates: `steps` AdamW steps of the model's ranking loss on slates
  // of the given candidates (runtimes in ns, > 0; at least 2 distinct). The optimiser state lives
  // in this object and is written by save(). Cached graph encodings are recomputed afterwards.
  // Returns the mean loss over the steps.
  double update(const GraphHandle& h, const float* values, int64_t count,
                const std::vector<int64_t>& runtimes, int steps);

  Kind task() const;
  std::string model_name() const;  // "tgraph" | "baseline" | "tile" | "tile-baseline"
  std::string trained_on() const;  // training collection, e.g. "layout:xla:random"
  int members() const;             // 1, or the ensemble's size
  // True when a candidate's score does not depend on the other candidates of the call: no member
  // uses cross-attention (ensembles standardise with fixed calibrated scales). Otherwise only
  // scores from one call compare with each other.
  bool context_free() const;
  int64_t slate() const;    // candidates scored together (CostModelOptions::slate)
  int64_t updates() const;  // update() steps applied so far (saved with the model)

 private:
  struct Impl;
  explicit CostModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tgraph
