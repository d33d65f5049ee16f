// `tgraph featurize FILE --out DIR`: raw XLA tuning records -> TpuGraphs .npz files, and a user's
// own HLO dump (HloProto / HloModuleProto / HloSnapshot) -> one unlabelled layout .npz with the
// module's own layouts plus its instruction names (docs/hlo_input.md).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/featurize/hlo_input.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

namespace {
struct FeaturizeOpts {
  std::string record;
  std::string out;
  std::string kind = "auto";
  int minor_to_major_pad = 0;
  int compress = 6;
  std::string name;
  bool keep_default_layout = false;
};

// An HLO dump: one graph, the module's own layouts as its single (unlabelled) configuration.
int write_module(const featurize::ModuleGraph& m, const FeaturizeOpts& o) {
  const auto paths = featurize::write_module_graph(m, o.out, o.compress);
  const auto& g = m.graph;
  std::cout << paths[0] << ": layout N=" << g.num_nodes << " E=" << g.num_edges
            << " NC=" << g.num_config_nodes << " C=" << g.num_configs << "\n";
  std::cout << "read " << m.info.describe() << " " << o.record << ": module '" << m.module_name
            << "': N=" << g.num_nodes << " E=" << g.num_edges << " NC=" << g.num_config_nodes
            << " configurations 1 (the module's own layouts, unlabelled)";
  if (m.unknown_opcode_nodes)
    std::cout << ", " << m.unknown_opcode_nodes << " nodes with an unknown opcode (id 0)";
  std::cout << "; node names in " << paths[1] << "\n";
  return 0;
}

int run_featurize(const FeaturizeOpts& o) {
  // --kind auto: an HLO dump goes to the module path; tuning records, and binary files that are
  // none of the HLO kinds, keep the record path (whose errors name a damaged record's field).
  if (o.kind == "auto") {
    featurize::ModuleGraphOptions mo;
    mo.minor_to_major_pad = static_cast<float>(o.minor_to_major_pad);
    mo.name = o.name;
    if (auto m = featurize::try_featurize_module_file(o.record, mo)) return write_module(*m, o);
  }

  featurize::FeaturizeOptions opt;
  opt.kind = o.kind == "layout" ? featurize::RecordKind::kLayout
             : o.kind == "tile" ? featurize::RecordKind::kTile
                                : featurize::RecordKind::kAuto;
  opt.minor_to_major_pad = static_cast<float>(o.minor_to_major_pad);
  opt.default_config_all_minus_one = !o.keep_default_layout;
  opt.name = o.name;

  // Everything is featurized in memory first, so a bad kernel leaves no output at all.
  const featurize::FeaturizedRecord r = featurize::featurize_record(o.record, opt);
  const auto paths = featurize::write_featurized(r, o.out, o.compress);

  size_t i = 0;
  for (const auto& g : r.layouts)
    std::cout << paths[i++] << ": layout N=" << g.num_nodes << " E=" << g.num_edges
              << " NC=" << g.num_config_nodes << " C=" << g.num_configs << "\n";
  for (const auto& g : r.tiles)
    std::cout << paths[i++] << ": tile N=" << g.num_nodes << " E=" << g.num_edges
              << " C=" << g.num_configs << "\n";
  const auto& s = r.stats;
  std::cout << "wrote " << paths.size()
            << (r.kind == featurize::RecordKind::kTile ? " tile" : " layout") << " file(s) from "
            << o.record << ": " << s.runs_kept << " of " << s.runs_total << " runs kept ("
            << s.runs_error << " with error";
  if (s.runs_no_runtime) std::cout << ", " << s.runs_no_runtime << " without runtime";
  std::cout << ")";
  if (s.kernels_skipped)
    std::cout << ", " << s.kernels_skipped << " of " << s.kernels_total
              << " kernels skipped (fewer than 2 runs or no tile config)";
  if (s.unknown_opcode_nodes)
    std::cout << ", " << s.unknown_opcode_nodes << " nodes with an unknown opcode (id 0)";
  std::cout << "\n";
  return 0;
}
}  // namespace

void register_featurize(CLI::App& app, Action* action) {
  auto opts = std::make_shared<FeaturizeOpts>();
  auto* sub = app.add_subcommand(
      "featurize",
      "Convert a raw XLA tuning record (.pb) into TpuGraphs .npz files (one per graph or kernel), "
      "or a user's HLO dump into one unlabelled layout .npz (the module's own layouts as its one "
      "configuration; convolution, dot and reshape nodes configurable) plus <stem>.names.json "
      "(instruction names in node order)");
  sub->add_option("record", opts->record,
                  "ModuleTuningData (layout) or TuningData (tile) record, or an HLO dump: "
                  "HloProto (--xla_dump_hlo_as_proto), bare HloModuleProto or HloSnapshot; binary "
                  "or text format, gzip or not (detected from the contents)")
      ->required();
  sub->add_option("--out", opts->out, "output directory (created if missing)")->required();
  sub->add_option("--kind", opts->kind,
                  "record kind: layout, tile or auto (detect, HLO dumps included)")
      ->check(CLI::IsMember({"layout", "tile", "auto"}))
      ->capture_default_str();
  sub->add_option("--minor-to-major-pad", opts->minor_to_major_pad,
                  "node_feat minor_to_major slots past the tensor's rank: 0 (TpuGraphs) or -1")
      ->check(CLI::IsMember({-1, 0}))
      ->capture_default_str();
  sub->add_option("--compress", opts->compress, "0 = stored, 1-9 = deflate level")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  sub->add_option("--name", opts->name,
                  "output stem instead of the HLO module name (tile: prefix before the "
                  "fingerprint), e.g. the model name");
  sub->add_flag("--keep-default-layout", opts->keep_default_layout,
                "layout record: keep the layouts recorded in the default run instead of all -1");
  sub->callback([opts, action] { *action = [opts] { return run_featurize(*opts); }; });
}

}  // namespace tgraph::cli
