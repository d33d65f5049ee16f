#include "tgraph/data/sample.h"

#include <cmath>

#include "tgraph/data/features.h"
#include "tgraph/data/prune.h"
#include "tgraph/util/error.h"

namespace tgraph {

Sample sample_from_pack(std::shared_ptr<const PackedGraph> pg) {
  Sample s;
  s.task = Kind::kLayout;
  s.stem = pg->stem();
  s.source = pg->path();
  s.num_nodes = pg->num_nodes();
  s.node_feat = pg->node_feat();
  s.node_opcode = pg->node_opcode();
  s.edge_index = pg->edge_index();
  s.config_pos = pg->config_pos();
  s.num_configs = pg->num_configs();
  s.config_width = pg->num_config_nodes() * kLayoutConfigDim;
  s.runtimes = pg->config_runtime();
  s.targets.assign(s.runtimes.begin(), s.runtimes.end());
  s.labelled = pg->labelled();
  s.read_configs = [pg](const std::vector<int64_t>& rows, float* out) {
    const int64_t width = pg->config_row_bytes();
    std::vector<int8_t> buf(rows.size() * static_cast<size_t>(width));
    pg->read_configs(rows, buf.data());
    for (size_t i = 0; i < buf.size(); ++i) out[i] = buf[i];
  };
  return s;
}

Sample sample_from_layout(std::shared_ptr<const LayoutGraph> g, const Reach& reach, bool repad) {
  PrunedGraph p = prune_layout(g->edge_index, g->num_nodes, g->node_config_ids, reach);
  Sample s;
  s.task = Kind::kLayout;
  s.stem = g->stem;
  s.source = g->path;
  s.num_nodes = p.num_nodes;
  s.node_feat = gather_rows(g->node_feat.data(), kNodeFeatDim, p.node_ids);
  if (repad) repad_minor_to_major(s.node_feat.data(), p.num_nodes);
  s.node_opcode = gather_rows(g->node_opcode.data(), 1, p.node_ids);
  s.edge_index = std::move(p.edge_index);
  s.config_pos = std::move(p.config_pos);
  s.num_configs = g->config_feat_loaded ? g->num_configs : 0;
  s.config_width = g->num_config_nodes * kLayoutConfigDim;
  s.runtimes = g->config_runtime;
  s.runtimes.resize(static_cast<size_t>(s.num_configs));
  s.targets.assign(s.runtimes.begin(), s.runtimes.end());
  s.labelled = g->labelled && s.num_configs > 0;
  s.read_configs = [g](const std::vector<int64_t>& rows, float* out) {
    const int64_t width = g->num_config_nodes * kLayoutConfigDim;
    for (size_t i = 0; i < rows.size(); ++i) {
      TG_CHECK(rows[i] >= 0 && rows[i] < g->num_configs, "configuration row out of range");
      const float* src = g->config_row(rows[i]);
      std::copy(src, src + width, out + static_cast<int64_t>(i) * width);
    }
  };
  return s;
}

Sample sample_from_tile(std::shared_ptr<const TileGraph> t, bool repad) {
  Sample s;
  s.task = Kind::kTile;
  s.stem = t->stem;
  s.source = t->path;
  s.num_nodes = t->num_nodes;
  s.node_feat = t->node_feat;
  if (repad) repad_minor_to_major(s.node_feat.data(), t->num_nodes);
  s.node_opcode = t->node_opcode;
  s.edge_index = t->edge_index;
  s.num_configs = t->num_configs;
  s.config_width = kTileConfigDim;
  s.runtimes = t->config_runtime;
  s.labelled = t->labelled;
  s.targets.resize(static_cast<size_t>(t->num_configs));
  for (int64_t i = 0; i < t->num_configs; ++i) {
    // Relative to the default configuration measured in the same batch (tpugraphs-format.md).
    const double norm = static_cast<double>(t->config_runtime_normalizers[i]);
    const double rt = static_cast<double>(t->config_runtime[i]);
    s.targets[i] = norm > 0 ? rt / norm : rt;
  }
  s.read_configs = [t](const std::vector<int64_t>& rows, float* out) {
    for (size_t i = 0; i < rows.size(); ++i) {
      TG_CHECK(rows[i] >= 0 && rows[i] < t->num_configs, "configuration row out of range");
      const float* src = t->config_feat.data() + rows[i] * kTileConfigDim;
      std::copy(src, src + kTileConfigDim, out + static_cast<int64_t>(i) * kTileConfigDim);
    }
  };
  return s;
}

Sample subset_rows(const Sample& s, std::vector<int64_t> rows) {
  Sample out = s;
  out.num_configs = static_cast<int64_t>(rows.size());
  out.runtimes.clear();
  out.targets.clear();
  for (int64_t r : rows) {
    TG_CHECK(r >= 0 && r < s.num_configs, "subset row out of range");
    out.runtimes.push_back(s.runtimes[r]);
    out.targets.push_back(s.targets[r]);
  }
  auto inner = s.read_configs;
  auto map = std::make_shared<const std::vector<int64_t>>(std::move(rows));
  out.read_configs = [inner, map](const std::vector<int64_t>& r, float* o) {
    std::vector<int64_t> src(r.size());
    for (size_t i = 0; i < r.size(); ++i) src[i] = map->at(static_cast<size_t>(r[i]));
    inner(src, o);
  };
  return out;
}

void validate_candidates(const Sample& s, const float* values, int64_t K, int64_t width,
                         const std::string& source) {
  const bool layout = s.task == Kind::kLayout;
  if (width != s.config_width)
    throw_error(source, "candidates",
                layout ? TG_STR("[K, " << s.num_config_nodes() << ", 18] values (NC = "
                                       << s.num_config_nodes() << " configurable nodes)")
                       : std::string("[K, 24] tile values"),
                TG_STR(width << " values per candidate"));
  if (K < 0) throw_error(source, "candidates", "K >= 0", std::to_string(K));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < width; ++j) {
      const float v = values[k * width + j];
      const bool ok =
          layout ? (std::isfinite(v) && v >= -1 && v <= 5 && v == std::floor(v)) : std::isfinite(v);
      if (!ok)
        throw_error(source, "candidates",
                    layout ? "integral layout values in [-1, 5]" : "finite tile values",
                    layout ? TG_STR(v << " at candidate " << k << ", configurable node "
                                      << j / kLayoutConfigDim << ", slot " << j % kLayoutConfigDim)
                           : TG_STR(v << " at candidate " << k << ", column " << j));
    }
}

}  // namespace tgraph
