#include "tgraph/util/blas_core.h"

#include <gtest/gtest.h>

namespace tgraph {

// Forces a core only over OpenBLAS's pre-AVX2 choices, and only the one this CPU can run.
TEST(BlasCore, SuggestsACoreOnlyWhereOpenBlasFellBackToGenericKernels) {
  EXPECT_EQ(suggested_openblas_core("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(suggested_openblas_core("prescott", true, true), "SkylakeX");
  EXPECT_EQ(suggested_openblas_core("Prescott", false, true), "Haswell");
  EXPECT_EQ(suggested_openblas_core("Nehalem", false, true), "Haswell");
  EXPECT_EQ(suggested_openblas_core("Barcelona", true, true), "SkylakeX");
  EXPECT_EQ(suggested_openblas_core("Prescott", false, false), "");
  EXPECT_EQ(suggested_openblas_core("SkylakeX", true, true), "");
  EXPECT_EQ(suggested_openblas_core("Haswell", true, true), "");
  EXPECT_EQ(suggested_openblas_core("Zen", true, true), "");
  EXPECT_EQ(suggested_openblas_core("", true, true), "");
}

}  // namespace tgraph
