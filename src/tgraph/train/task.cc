#include "tgraph/train/task.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "tgraph/eval/metrics.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {

class LayoutTask : public Task {
 public:
  Kind kind() const override { return Kind::kLayout; }
  std::string name() const override { return "layout"; }
  std::vector<std::string> metric_names() const override { return {"tau", "opa"}; }
  std::vector<std::string> metric_labels() const override { return {"tau", "OPA"}; }
  std::vector<double> metrics(const std::vector<double>& scores, const Sample& s) const override {
    RankMetrics m = rank_metrics(scores, s.runtimes, s.source);
    return {m.tau, m.opa};
  }
  std::vector<Sample> load_split(const std::string& data_root, const Collection& c,
                                 const std::string& split, const Preprocessing& pre, bool dedup,
                                 const std::string& cache_dir, int threads) const override {
    PackOptions po{pre.reach, dedup, pre.repad};
    std::string dir = pack_collection(data_root, c, split, cache_dir, po, threads);
    std::vector<Sample> out;
    for (const auto& p : list_packed(dir))
      out.push_back(sample_from_pack(std::make_shared<const PackedGraph>(PackedGraph::open(p))));
    if (out.empty()) throw_error(c.dir(data_root, split), "", "layout graphs (.npz)", "none");
    return out;
  }
};

class TileTask : public Task {
 public:
  Kind kind() const override { return Kind::kTile; }
  std::string name() const override { return "tile"; }
  std::vector<std::string> metric_names() const override {
    return {"score", "err1", "err5", "err10"};
  }
  std::vector<std::string> metric_labels() const override {
    return {"tile score", "top-1 error", "top-5 error", "top-10 error"};
  }
  std::vector<double> metrics(const std::vector<double>& scores, const Sample& s) const override {
    std::vector<double> rt(s.runtimes.begin(), s.runtimes.end());
    TileMetrics m = tile_metrics(scores, rt, s.source);
    return {m.score, m.err1, m.err5, m.err10};
  }
  std::vector<Sample> load_split(const std::string& data_root, const Collection& c,
                                 const std::string& split, const Preprocessing& pre, bool,
                                 const std::string&, int) const override {
    std::vector<Sample> out;
    for (const auto& p : list_graph_files(c.dir(data_root, split)))
      out.push_back(sample_from_tile(std::make_shared<const TileGraph>(load_tile(p)), pre.repad));
    if (out.empty()) throw_error(c.dir(data_root, split), "", "tile kernels (.npz)", "none");
    return out;
  }
};

}  // namespace

const Task& task_for(Kind kind) {
  static const LayoutTask layout;
  static const TileTask tile;
  return kind == Kind::kTile ? static_cast<const Task&>(tile) : layout;
}

double EvalReport::metric(const std::string& name) const {
  for (size_t i = 0; i < metric_names.size(); ++i)
    if (metric_names[i] == name) return mean.at(i);
  TG_CHECK(false, "no metric named ", name);
  return 0;
}

double EvalReport::selection() const {
  if (graphs.empty()) return std::nan("");
  double sum = 0;
  for (const auto& g : graphs)
    if (std::isfinite(g.values.at(0))) sum += g.values[0];
  return sum / static_cast<double>(graphs.size());
}

EvalReport evaluate_samples(const Task& task, const std::vector<Sample>& samples,
                            const ScoreFn& score) {
  auto t0 = std::chrono::steady_clock::now();
  EvalReport r;
  r.task = task.kind();
  r.metric_names = task.metric_names();
  r.metric_labels = task.metric_labels();
  const size_t M = r.metric_names.size();
  std::vector<double> sum(M, 0);
  std::vector<int64_t> finite(M, 0);
  r.nan_count.assign(M, 0);
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (!s.labelled)
      throw_error(s.source, "config_runtime",
                  "a labelled graph (runtimes > 0) to compute metrics on",
                  "all zeros (unlabelled test data): use `tgraph predict` instead");
    std::vector<double> v = task.metrics(score(s, i), s);
    for (size_t m = 0; m < M; ++m) {
      if (std::isfinite(v[m])) {
        sum[m] += v[m];
        ++finite[m];
      } else {
        ++r.nan_count[m];
      }
    }
    r.graphs.push_back({s.stem, s.num_configs, std::move(v)});
  }
  r.mean.resize(M);
  for (size_t m = 0; m < M; ++m) r.mean[m] = finite[m] ? sum[m] / finite[m] : std::nan("");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::json EvalReport::to_json() const {
  auto num = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  j["task"] = task == Kind::kTile ? "tile" : "layout";
  for (size_t m = 0; m < metric_names.size(); ++m) {
    j["mean_" + metric_names[m]] = num(mean[m]);
    j["nan_" + metric_names[m]] = nan_count[m];
  }
  j["selection"] = num(selection());
  j["graphs"] = nlohmann::json::array();
  for (const auto& g : graphs) {
    nlohmann::json gj = {{"graph", g.stem}, {"configs", g.configs}};
    for (size_t m = 0; m < metric_names.size(); ++m) gj[metric_names[m]] = num(g.values[m]);
    j["graphs"].push_back(gj);
  }
  j["seconds"] = seconds;
  return j;
}

std::string EvalReport::table() const {
  std::ostringstream o;
  o << std::left << std::setw(56) << "graph" << std::right << std::setw(9) << "configs";
  for (const auto& n : metric_labels) o << std::setw(std::max<int>(9, n.size() + 2)) << n;
  o << "\n" << std::fixed << std::setprecision(4);
  auto row = [&](const std::string& name, const std::string& configs,
                 const std::vector<double>& v) {
    o << std::left << std::setw(56) << name << std::right << std::setw(9) << configs;
    for (size_t m = 0; m < v.size(); ++m)
      o << std::setw(std::max<int>(9, metric_labels[m].size() + 2)) << v[m];
    o << "\n";
  };
  for (const auto& g : graphs)
    row(g.stem.size() > 55 ? g.stem.substr(0, 52) + "..." : g.stem, std::to_string(g.configs),
        g.values);
  row("mean over " + std::to_string(graphs.size()) + " graphs", "", mean);
  return o.str();
}

std::string EvalReport::summary() const {
  std::ostringstream o;
  o << std::fixed << std::setprecision(4) << graphs.size()
    << (task == Kind::kTile ? " kernels: " : " graphs: ");
  for (size_t m = 0; m < mean.size(); ++m) {
    o << (m ? ", " : "") << metric_labels[m] << " " << mean[m];
    if (nan_count[m]) o << " (" << nan_count[m] << " NaN left out)";
  }
  return o.str();
}

}  // namespace tgraph
