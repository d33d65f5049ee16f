#include "tgraph/util/error.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../test_util.h"
#include "tgraph/util/atomic_file.h"

namespace tgraph {

TEST(Error, FormatsOneLineWithAllParts) {
  EXPECT_EQ(format_error("a.npz", "edge_index", "node ids in [0, 9]", "12 at [3, 0]"),
            "a.npz: edge_index: expected node ids in [0, 9], found 12 at [3, 0]");
  EXPECT_EQ(format_error("a.npz", "", "x", ""), "a.npz: expected x");
  EXPECT_EQ(format_error("f", "k", "e", "line1\nline2"), "f: k: expected e, found line1 line2");
}

TEST(Error, ThrowErrorIsTgraphError) {
  EXPECT_THROW(throw_error("f", "k", "e", "x"), Error);
}

TEST(Error, CheckMacroThrowsInternalErrorWithLocation) {
  try {
    TG_CHECK(1 + 1 == 3, "value ", 42);
    FAIL() << "no throw";
  } catch (const InternalError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("error_test.cc"), std::string::npos) << m;
    EXPECT_NE(m.find("value 42"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(TG_CHECK(true));
}

TEST(AtomicFile, NoFileUnlessCommitted) {
  test::TempDir d;
  std::string p = d.file("out.txt");
  {
    AtomicFile f(p);
    f.stream() << "partial";
  }  // destroyed without commit, as after an exception
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 0);
  {
    AtomicFile f(p);
    f.stream() << "done";
    f.commit();
  }
  EXPECT_EQ(test::read_bytes(p), "done");
}

}  // namespace tgraph
