// `tgraph merge OUT.csv IN.csv...`: combine per-collection prediction CSVs into one submission,
// validated (no duplicate IDs, complete permutations, indices in range) before it is written.
#include <iostream>

#include "cli/commands.h"
#include "tgraph/eval/submission.h"

namespace tgraph::cli {

void register_merge(CLI::App& app, Action* action) {
  struct Opts {
    std::string out, data, split = "test";
    std::vector<std::string> inputs;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "merge", "Merge prediction CSVs (ID,TopConfigs) into one validated submission");
  sub->add_option("--out", o->out, "submission CSV to write")->required();
  sub->add_option("inputs", o->inputs, "CSV files written by `tgraph predict`")->required();
  sub->add_option("--data", o->data,
                  "TpuGraphs npz root: check every ID, index range and that no graph is missing");
  sub->add_option("--split", o->split, "the split the rows predict (with --data)")
      ->capture_default_str();
  sub->callback([o, action] {
    *action = [o] {
      std::vector<SubmissionRow> rows;
      for (const auto& f : o->inputs) {
        auto r = read_submission_csv(f);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      if (!o->data.empty()) check_submission_against_data(&rows, o->data, o->split);
      write_submission_csv(o->out, rows);  // validates the union first
      std::cout << "wrote " << rows.size() << " rows from " << o->inputs.size() << " files to "
                << o->out << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
