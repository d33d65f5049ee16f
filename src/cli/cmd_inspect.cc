// `tgraph inspect PATH...`: validate TpuGraphs files and summarise them.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "tgraph/graph/inspect.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph::cli {

namespace {
struct InspectOpts {
  std::vector<std::string> paths;
  bool json = false;
  bool files = false;
  int threads = 0;
};

int run_inspect(const InspectOpts& o) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  bool any_dir = false;
  for (const auto& p : o.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      any_dir = true;
      auto v = list_graph_files_recursive(p);
      if (v.empty()) throw_error(p, "", "a directory containing .npz files", "none found");
      files.insert(files.end(), v.begin(), v.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      throw_error(p, "", "an .npz file or a directory", "no such file or directory");
    }
  }
  // A single file: errors propagate as the one-line message.
  if (files.size() == 1 && !any_dir) {
    GraphSummary s = summarize_graph_file(files[0]);
    if (o.json)
      std::cout << to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else
      std::cout << format_file_table({s});
    return 0;
  }
  auto sums = summarize_graph_files(files, o.threads > 0 ? o.threads : default_threads());
  auto dirs = group_by_directory(sums);
  int64_t errors = 0;
  for (const auto& s : sums) errors += !s.error.empty();
  if (o.json) {
    nlohmann::json j;
    j["files"] = nlohmann::json::array();
    for (const auto& s : sums) j["files"].push_back(to_json(s));
    j["directories"] = nlohmann::json::array();
    for (const auto& d : dirs) j["directories"].push_back(to_json(d));
    j["total_files"] = sums.size();
    j["errors"] = errors;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (o.files || !any_dir) std::cout << format_file_table(sums) << "\n";
    std::cout << format_dir_table(dirs);
    for (const auto& s : sums)
      if (!s.error.empty()) std::cerr << "tgraph: error: " << s.error << "\n";
  }
  return errors ? 1 : 0;
}
}  // namespace

void register_inspect(CLI::App& app, Action* action) {
  auto opts = std::make_shared<InspectOpts>();
  auto* sub = app.add_subcommand(
      "inspect",
      "Validate TpuGraphs .npz files and summarise them (N, E, NC, C, runtimes, duplicates)");
  sub->add_option("paths", opts->paths, "npz files and/or directories (searched recursively)")
      ->required();
  sub->add_flag("--json", opts->json, "machine-readable JSON output");
  sub->add_flag("--files", opts->files, "list every file, not only per-directory totals");
  sub->add_option("--threads", opts->threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->callback([opts, action] { *action = [opts] { return run_inspect(*opts); }; });
}

}  // namespace tgraph::cli
