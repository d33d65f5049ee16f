// `tgraph pack`: pre-process layout collections into the packed on-disk cache (.tgpack files).
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/reach_flags.h"
#include "tgraph/data/pack.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

namespace {
struct PackOpts {
  std::string data, out, split = "all";
  std::vector<std::string> collections;
  ReachFlags reach;
  bool no_repad = false, dedup = false, no_dedup = false;
  int threads = 0;
};

std::string mib(uint64_t b) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << b / 1048576.0 << " MiB";
  return o.str();
}

int run_pack(const PackOpts& o) {
  namespace fs = std::filesystem;
  if (o.dedup && o.no_dedup) throw_error("--dedup", "", "either --dedup or --no-dedup", "both");
  std::vector<Collection> cols;
  for (const auto& spec : o.collections) {
    if (spec == "all" || spec == "layout") {
      for (const auto& c : all_collections())
        if (c.kind == Kind::kLayout) cols.push_back(c);
      continue;
    }
    Collection c = parse_collection(spec);
    if (c.kind != Kind::kLayout)
      throw_error("--collection", "", "a layout collection (tile graphs are not packed)", spec);
    cols.push_back(c);
  }
  std::vector<std::string> splits;
  if (o.split == "all")
    splits = {"train", "valid", "test"};
  else if (o.split == "train" || o.split == "valid" || o.split == "test")
    splits = {o.split};
  else
    throw_error("--split", "", "train, valid, test or all", "'" + o.split + "'");
  const int threads = o.threads > 0 ? o.threads : default_threads();

  for (const auto& c : cols) {
    for (const auto& split : splits) {
      std::error_code ec;
      if (o.split == "all" && !fs::is_directory(c.dir(o.data, split), ec)) {
        std::cout << c.name() << " " << split << ": no directory " << c.dir(o.data, split)
                  << ", skipped\n";
        continue;
      }
      PackOptions opt;
      opt.reach = reach_from_flags(o.reach);
      opt.repad = !o.no_repad;
      // Dedup only where runtimes are learned from; valid/test keep every row so predictions
      // line up with the file's configuration indices.
      opt.dedup = o.dedup || (!o.no_dedup && split == "train");
      const auto t0 = std::chrono::steady_clock::now();
      PackCollectionStats st;
      const std::string dir = pack_collection(o.data, c, split, o.out, opt, threads, &st);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t n = 0, n2 = 0, e = 0, e2 = 0, kept = 0, removed = 0;
      uint64_t bytes = 0;
      for (const auto& p : list_packed(dir)) {
        PackedGraph g = PackedGraph::open(p);
        n += g.source_num_nodes();
        n2 += g.num_nodes();
        e += g.source_num_edges();
        e2 += g.num_edges();
        kept += g.num_configs();
        removed += g.duplicates_removed();
        bytes += g.file_bytes();
      }
      std::cout << std::fixed << std::setprecision(1) << c.name() << " " << split << ": "
                << st.files << " files (" << st.packed << " packed, " << st.skipped << " up to date"
                << (st.removed ? TG_STR(", " << st.removed << " orphans removed") : "")
                << "), nodes " << n << " -> " << n2 << " (" << (n ? 100.0 * n2 / n : 0.0)
                << " %), edges " << e << " -> " << e2 << ", configs " << kept << " kept, "
                << removed << " duplicates removed" << (opt.dedup ? "" : " (no dedup)") << ", "
                << mib(bytes) << " on disk, " << std::setprecision(2) << secs << " s -> " << dir
                << "\n";
    }
  }
  return 0;
}
}  // namespace

void register_pack(CLI::App& app, Action* action) {
  auto o = std::make_shared<PackOpts>();
  auto* sub = app.add_subcommand(
      "pack", "Pre-process layout graphs (prune, -1 re-pad, dedup) into the packed .tgpack cache");
  sub->add_option("--data", o->data, "npz root (contains layout/{xla,nlp}/{random,default}/SPLIT)")
      ->required();
  sub->add_option("--collection", o->collections,
                  "layout:{xla|nlp}:{random|default}, repeatable; 'all' = the four layout ones")
      ->required();
  sub->add_option("--split", o->split,
                  "train | valid | test | all (default; missing ones skipped)");
  sub->add_option("--out", o->out, "cache root; packs go to OUT/layout/SRC/SEARCH/SPLIT/*.tgpack")
      ->required();
  add_reach_flags(sub, &o->reach, "keep the whole graph (= --reach whole)");
  sub->add_flag("--no-repad", o->no_repad, "keep minor_to_major 0-padded as in the files");
  sub->add_flag("--dedup", o->dedup,
                "de-duplicate configurations in every split (default: train only)");
  sub->add_flag("--no-dedup", o->no_dedup, "never de-duplicate");
  sub->add_option("--threads", o->threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->callback([o, action] { *action = [o] { return run_pack(*o); }; });
}

}  // namespace tgraph::cli
