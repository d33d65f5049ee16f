// `tgraph merge OUT.csv IN.csv...`: combine per-collection prediction CSVs into one submission,
// validated (no duplicate IDs, complete permutations, indices in range) before it is written.
#include <iostream>

#include "cli/commands.h"
#include "tgraph/eval/submission.h"

namespace tgraph::cli {

void register_merge(CLI::App& app, Action* action) {
  struct Opts {
    std::string out;
    std::vector<std::string> inputs;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "merge", "Merge prediction CSVs (ID,TopConfigs) into one validated submission");
  sub->add_option("--out", o->out, "submission CSV to write")->required();
  sub->add_option("inputs", o->inputs, "CSV files written by `tgraph predict`")->required();
  sub->callback([o, action] {
    *action = [o] {
      std::vector<SubmissionRow> rows;
      for (const auto& f : o->inputs) {
        auto r = read_submission_csv(f);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      write_submission_csv(o->out, rows);  // validates the union first
      std::cout << "wrote " << rows.size() << " rows from " << o->inputs.size() << " files to "
                << o->out << "\n";
      return 0;
    };
  });
}

}  // namespace tgraph::cli
