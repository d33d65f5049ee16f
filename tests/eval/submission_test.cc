#include "tgraph/eval/submission.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../test_util.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

using test::error_of;

std::vector<SubmissionRow> valid_rows() {
  return {
      {"layout:xla:random:g1", {4, 3, 2, 1, 0}, 5, true},
      {"layout:nlp:default:g2", {1, 0, 2}, 3, true},
      {"tile:xla:k1", {9, 0, 3, 5, 7}, 10, false},
      {"tile:xla:k2", {2, 0, 1}, 3, false},  // fewer than 5 configurations: all of them
  };
}

TEST(Submission, ValidRowsPass) {
  EXPECT_NO_THROW(validate_submission(valid_rows()));
}

TEST(Submission, DuplicateIdIsRefused) {
  auto rows = valid_rows();
  rows.push_back(rows[2]);
  std::string e = error_of([&] { validate_submission(rows); });
  EXPECT_EQ(e,
            "submission: tile:xla:k1: ID: expected unique IDs, found a duplicate (data rows 3 "
            "and 5)");
}

TEST(Submission, IndexOutOfRangeIsRefused) {
  auto rows = valid_rows();
  rows[2].top[1] = 10;
  std::string e = error_of([&] { validate_submission(rows); });
  EXPECT_EQ(e,
            "submission: tile:xla:k1: TopConfigs: expected indices in [0, 10) (C = 10), found "
            "10 at position 1");
  rows = valid_rows();
  rows[0].top[4] = -1;
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("layout:xla:random:g1: TopConfigs: expected indices in [0, 5)"),
            std::string::npos)
      << e;
}

TEST(Submission, IncompletePermutationIsRefused) {
  auto rows = valid_rows();
  rows[0].top.pop_back();
  std::string e = error_of([&] { validate_submission(rows); });
  EXPECT_EQ(e,
            "submission: layout:xla:random:g1: TopConfigs: expected a full permutation of 5 "
            "configurations, found 4 entries");
}

TEST(Submission, RepeatedIndexIsRefused) {
  auto rows = valid_rows();
  rows[0].top = {0, 1, 1, 3, 4};  // right length, but 2 is missing
  std::string e = error_of([&] { validate_submission(rows); });
  EXPECT_EQ(e,
            "submission: layout:xla:random:g1: TopConfigs: expected each index once, found 1 at "
            "positions 1 and 2");
  rows = valid_rows();
  rows[2].top = {1, 2, 3, 4, 1};
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("tile:xla:k1: TopConfigs: expected each index once"), std::string::npos) << e;
}

TEST(Submission, TileRowLengthAndIdFormat) {
  auto rows = valid_rows();
  rows[2].top.pop_back();
  std::string e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("tile:xla:k1: TopConfigs: expected 5 entries (min(5, C), C = 10), found 4"),
            std::string::npos)
      << e;
  rows = valid_rows();
  rows[3].top.pop_back();  // C = 3 needs all 3
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("tile:xla:k2: TopConfigs: expected 3 entries"), std::string::npos) << e;

  rows = valid_rows();
  rows[0].id = "layout:xla:fast:g1";
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("layout:xla:fast:g1: ID: expected"), std::string::npos) << e;
  rows = valid_rows();
  rows[2].id = "tile:xla:";
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("expected a non-empty file stem"), std::string::npos) << e;
  rows = valid_rows();
  rows[2].full_permutation = true;  // tile rows are top-5 lists
  e = error_of([&] { validate_submission(rows); });
  EXPECT_NE(e.find("tile:xla:k1: TopConfigs: expected a top-5 list"), std::string::npos) << e;
}

TEST(Submission, WriteReadRoundTrip) {
  test::TempDir d;
  std::string p = d.file("submission.csv");
  write_submission_csv(p, valid_rows());
  EXPECT_EQ(test::read_bytes(p),
            "ID,TopConfigs\n"
            "layout:xla:random:g1,4;3;2;1;0\n"
            "layout:nlp:default:g2,1;0;2\n"
            "tile:xla:k1,9;0;3;5;7\n"
            "tile:xla:k2,2;0;1\n");
  std::vector<SubmissionRow> got = read_submission_csv(p);
  auto want = valid_rows();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(want[i].id);
    EXPECT_EQ(got[i].id, want[i].id);
    EXPECT_EQ(got[i].top, want[i].top);
    EXPECT_EQ(got[i].full_permutation, want[i].full_permutation);
    // Layout rows know C from the permutation; the CSV does not say C for tile rows.
    EXPECT_EQ(got[i].num_configs, want[i].full_permutation ? want[i].num_configs : -1);
  }
  // Written back, the rows read give the same bytes.
  std::string p2 = d.file("again.csv");
  write_submission_csv(p2, got);
  EXPECT_EQ(test::read_bytes(p2), test::read_bytes(p));
}

TEST(Submission, InvalidRowsWriteNothingAndKeepTheOldFile) {
  test::TempDir d;
  std::string p = d.file("s.csv");
  auto rows = valid_rows();
  rows[1].top.pop_back();
  EXPECT_THROW(write_submission_csv(p, rows), Error);
  EXPECT_FALSE(std::filesystem::exists(p));
  test::write_bytes(p, "old");
  EXPECT_THROW(write_submission_csv(p, rows), Error);
  EXPECT_EQ(test::read_bytes(p), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()),
                          std::filesystem::directory_iterator()),
            1);  // no temporary left behind
}

TEST(Submission, ReadAcceptsCrlfAndRefusesMalformedLinesNamingThem) {
  test::TempDir d;
  std::string p = d.file("s.csv");
  test::write_bytes(p, "ID,TopConfigs\r\ntile:xla:a,1;0\r\nlayout:xla:default:b,0;1\r\n");
  auto rows = read_submission_csv(p);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].top, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(rows[1].num_configs, 2);

  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases{
      {"", p + ": header: expected ID,TopConfigs, found an empty file"},
      {"id,top\n", p + ":1: header: expected ID,TopConfigs, found 'id,top'"},
      {"ID,TopConfigs\ntile:xla:a,1;0\ntile:xla:b,3;x;1\n",
       p + ":3: TopConfigs: expected a non-negative integer index, found 'x'"},
      {"ID,TopConfigs\ntile:xla:a,1;-2\n",
       p + ":2: TopConfigs: expected a non-negative integer index, found '-2'"},
      {"ID,TopConfigs\ntile:xla:a,1;;2\n",
       p + ":2: TopConfigs: expected a non-negative integer index, found ''"},
      {"ID,TopConfigs\ntile:xla:a,1;2;\n", p + ":2: TopConfigs: expected no trailing ';'"},
      {"ID,TopConfigs\ntile:xla:a 1;2\n",
       p + ":2: expected two fields 'ID,TopConfigs', found no ','"},
      {"ID,TopConfigs\ntile:xla:a,1,2\n", p + ":2: expected two fields"},
      {"ID,TopConfigs\ntile:xla:a,\n", p + ":2: TopConfigs: expected at least one index"},
      {"ID,TopConfigs\ntile:xla:a,99999999999999999999\n", p + ":2: TopConfigs: expected a non"},
      {"ID,TopConfigs\ntile:xla:a,1\n\ntile:xla:b,1\n", p + ":4: expected no blank lines"},
      {"ID,TopConfigs\ntile:xla:a,1\ntile:xla:a,2\n", p + ": tile:xla:a: ID: expected unique IDs"},
      {"ID,TopConfigs\nlayout:xla:random:g,0;2\n",
       p + ": layout:xla:random:g: TopConfigs: expected indices in [0, 2)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    test::write_bytes(p, c.text);
    std::string e = error_of([&] { read_submission_csv(p); });
    EXPECT_EQ(e.rfind(c.expect, 0), 0u) << e;
  }
  EXPECT_NE(error_of([&] { read_submission_csv(d.file("missing.csv")); }).find("cannot open"),
            std::string::npos);
}

}  // namespace
}  // namespace tgraph
