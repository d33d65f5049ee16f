// `tgraph candidates GRAPH.npz|MODULE.hlo.pb --count K --seed S --out FILE.npz`: K distinct legal
// layout configurations of a graph (the default first), ready to be measured or scored.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/layout_input.h"
#include "cli/space_flags.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/search/space.h"

namespace tgraph::cli {

void register_candidates(CLI::App& app, Action* action) {
  struct Opts {
    std::string input, out;
    search::CandidateOptions c;
    SpaceFlags space;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "candidates",
      "Write K distinct legal layout configurations of a graph or HLO module (default first)");
  sub->add_option("input", o->input, "layout .npz, or an HLO dump (.hlo.pb, .pbtxt, gzip)")
      ->required();
  sub->add_option("--out", o->out, "output layout .npz (the graph with the K configurations)")
      ->required();
  sub->add_option("--count", o->c.count, "K, the default configuration included")
      ->capture_default_str();
  sub->add_option("--seed", o->c.seed, "random seed")->capture_default_str();
  sub->add_option("--changes", o->c.changes,
                  "0: every node drawn at random; N: N random nodes differ from the default")
      ->capture_default_str();
  add_space_flags(sub, &o->space);
  bound(sub, "--count", 1, 1e8);
  bound(sub, "--changes", 0, 1e9);
  sub->callback([o, action] {
    *action = [o] {
      LayoutInput in = load_layout_input(o->input);
      const search::LayoutSpace space(in.graph, space_options(o->space));
      int64_t k = 0;
      std::vector<float> rows = search::generate_candidates(space, o->c, &k);
      LayoutGraph out = search::with_configs(in.graph, std::move(rows), k);
      featurize::write_layout_npz(out, o->out);
      std::printf("%s: %s, N=%lld, NC=%lld, %zu searchable nodes, 10^%.1f configurations\n",
                  o->input.c_str(), in.what.c_str(), static_cast<long long>(in.graph.num_nodes),
                  static_cast<long long>(space.num_config_nodes()), space.searchable().size(),
                  space.log10_size());
      std::printf("wrote %lld distinct configurations (row 0 the default)%s to %s\n",
                  static_cast<long long>(k),
                  k < o->c.count ? " -- fewer than asked: no more distinct ones were found" : "",
                  o->out.c_str());
      return 0;
    };
  });
}

}  // namespace tgraph::cli
