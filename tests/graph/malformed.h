// Malformed TpuGraphs fixtures: each is a small file with exactly one defect and the words its
// one-line error must contain.
#pragma once

#include <string>
#include <vector>

namespace tgraph::test {

struct MalformedCase {
  std::string name;
  std::string path;
  std::vector<std::string> expect;  // substrings of the error message (besides the path)
};

// Writes every case into `dir` and returns them.
std::vector<MalformedCase> make_malformed_fixtures(const std::string& dir);

}  // namespace tgraph::test
