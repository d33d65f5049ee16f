#include <gtest/gtest.h>
TEST(SynthPlaceholder, Builds) {}
