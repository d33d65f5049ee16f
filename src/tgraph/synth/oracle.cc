#include "tgraph/synth/oracle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tgraph/graph/tpugraphs.h"
#include "tgraph/synth/cost_model.h"
#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/synth.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph::synth {

struct SynthOracle::Impl {
  std::string what;
  std::unique_ptr<Module> module;
  std::unique_ptr<LayoutCostModel> cost;
};

SynthOracle::SynthOracle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SynthOracle::SynthOracle(SynthOracle&&) noexcept = default;
SynthOracle::~SynthOracle() = default;

SynthOracle SynthOracle::open(const std::string& graph, const std::string& dataset_dir) {
  // .../npz/layout/<source>/<search>/<split>/<stem>.npz
  const fs::path p = fs::absolute(graph).lexically_normal();
  const fs::path split_dir = p.parent_path(), search_dir = split_dir.parent_path(),
                 source_dir = search_dir.parent_path(), layout_dir = source_dir.parent_path(),
                 npz_dir = layout_dir.parent_path();
  if (layout_dir.filename() != "layout" || npz_dir.filename() != "npz")
    throw_error(graph, "path", "a layout file at npz/layout/<source>/<search>/<split>/<stem>.npz",
                "'" + graph + "'");
  const std::string root = dataset_dir.empty() ? npz_dir.parent_path().string() : dataset_dir;
  const std::string manifest = (fs::path(root) / "synth.json").string();
  std::ifstream f(manifest);
  if (!f)
    throw_error(manifest, "", "the manifest of a dataset written by `tgraph synth`",
                "no readable file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw_error(manifest, "", "JSON", e.what());
  }
  if (!j.is_object() || !j.contains("preset") || !j["preset"].is_string() || !j.contains("seed") ||
      !j["seed"].is_number_unsigned())
    throw_error(manifest, "preset / seed", "the preset name and seed of `tgraph synth`",
                "missing or of the wrong type");
  const std::string preset = j["preset"].get<std::string>();
  const uint64_t seed = j["seed"].get<uint64_t>();
  const std::string source = source_dir.filename().string(), split = split_dir.filename().string(),
                    stem = p.stem().string();

  auto impl = std::make_unique<Impl>();
  impl->module =
      std::make_unique<Module>(regenerate_layout_module(preset, seed, source, split, stem));
  impl->what =
      str_cat("synth preset ", preset, " seed ", seed, ": layout ", source, " ", split, " ", stem);
  // The file must be this module's graph: same features, edges and configurable nodes.
  LoadOptions lo;
  lo.load_config_feat = false;
  lo.validate_config_values = false;
  const LayoutGraph g = load_layout(graph, lo);
  const Module& m = *impl->module;
  if (g.node_feat != node_features(m) || g.edge_index != edge_index(m) ||
      g.node_config_ids != m.configurable_nodes())
    throw_error(graph, "node_feat / edge_index / node_config_ids",
                "the graph the manifest's plan regenerates (" + impl->what + ")",
                "a different graph (another dataset, or an edited file)");
  impl->cost = std::make_unique<LayoutCostModel>(m);
  return SynthOracle(std::move(impl));
}

int64_t SynthOracle::num_config_nodes() const {
  return impl_->cost->num_config_nodes();
}

int64_t SynthOracle::num_nodes() const {
  return impl_->module->size();
}

const std::vector<int64_t>& SynthOracle::node_config_ids() const {
  return impl_->cost->config_node_ids();
}

double SynthOracle::default_runtime_ns() const {
  return impl_->cost->default_runtime_ns();
}

std::string SynthOracle::describe() const {
  return impl_->what;
}

std::vector<double> SynthOracle::runtimes_ns(const float* rows, int64_t count, int threads) const {
  const int64_t W = num_config_nodes() * kLayoutConfigDim;
  for (int64_t i = 0; i < count * W; ++i)
    if (!(rows[i] >= -1.f && rows[i] <= 5.f && rows[i] == static_cast<float>(int(rows[i]))))
      throw_error("configurations", TG_STR("row " << i / W << " value " << i % W),
                  "an integral layout value in [-1, 5]", TG_STR(rows[i]));
  std::vector<double> out(size_t(std::max<int64_t>(count, 0)));
  threads = std::max(1, std::min<int>(threads, static_cast<int>(std::max<int64_t>(count, 1))));
  auto work = [&](int t) {
    auto ws = impl_->cost->make_workspace();
    for (int64_t c = t; c < count; c += threads)
      out[size_t(c)] = impl_->cost->runtime_ns(rows + c * W, ws);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  return out;
}

}  // namespace tgraph::synth
