#include "tgraph/data/features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph {
namespace {

// One [140] row: element type (index into the one-hot), shape dims, minor_to_major.
std::vector<float> row(int type, std::vector<float> dims, std::vector<float> m2m) {
  std::vector<float> r(kNodeFeatDim, 0.f);
  r[kElementTypeCol + type] = 1.f;
  float sum = 0, prod = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    r[kShapeDimsCol + d] = dims[d];
    sum += dims[d];
    prod *= dims[d];
  }
  r[27] = sum;
  r[28] = prod;
  for (size_t d = 0; d < m2m.size(); ++d) r[kMinorToMajorCol + d] = m2m[d];
  return r;
}

std::vector<float> m2m_of(const std::vector<float>& feat, int64_t i) {
  return {feat.begin() + i * kNodeFeatDim + kMinorToMajorCol,
          feat.begin() + (i + 1) * kNodeFeatDim};
}

constexpr int kF32 = 11, kBF16 = 13;

TEST(Repad, SetsPositionsPastTheRankToMinusOne) {
  std::vector<std::vector<float>> rows = {
      row(kF32, {3, 4}, {1, 0}),                          // rank 2
      row(kBF16, {2, 96, 96, 96, 32}, {4, 3, 2, 1, 0}),   // rank 5 (dim-0 in last position)
      row(kF32, {}, {}),                                  // scalar
      row(kTupleType, {}, {}),                            // tuple: no layout
      row(kF32, {7}, {0}),                                // rank 1
      row(kF32, {2, 3, 4, 5, 6, 7}, {5, 4, 3, 2, 1, 0}),  // rank 6: nothing to pad
      row(kF32, {4, 0}, {0, 1}),  // zero-size trailing dim: rank recovered from the layout
  };
  rows[3][29] = 2;  // tuple_shapes_size
  std::vector<float> feat;
  for (const auto& r : rows) feat.insert(feat.end(), r.begin(), r.end());
  const std::vector<float> before = feat;
  repad_minor_to_major(feat.data(), static_cast<int64_t>(rows.size()));
  EXPECT_EQ(m2m_of(feat, 0), (std::vector<float>{1, 0, -1, -1, -1, -1}));
  EXPECT_EQ(m2m_of(feat, 1), (std::vector<float>{4, 3, 2, 1, 0, -1}));
  EXPECT_EQ(m2m_of(feat, 2), (std::vector<float>(6, -1)));
  EXPECT_EQ(m2m_of(feat, 3), (std::vector<float>(6, -1)));
  EXPECT_EQ(m2m_of(feat, 4), (std::vector<float>{0, -1, -1, -1, -1, -1}));
  EXPECT_EQ(m2m_of(feat, 5), (std::vector<float>{5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(m2m_of(feat, 6), (std::vector<float>{0, 1, -1, -1, -1, -1}));
  for (size_t i = 0; i < rows.size(); ++i)  // columns 0..133 untouched
    for (int c = 0; c < kMinorToMajorCol; ++c)
      ASSERT_EQ(feat[i * kNodeFeatDim + c], before[i * kNodeFeatDim + c]);
  // Idempotent: re-padding a re-padded row changes nothing.
  std::vector<float> again = feat;
  repad_minor_to_major(again.data(), static_cast<int64_t>(rows.size()));
  EXPECT_EQ(again, feat);
}

TEST(Repad, TokenAndOpaqueHaveNoLayout) {
  std::vector<float> feat = row(kTokenType, {}, {});
  std::vector<float> r2 = row(kOpaqueType, {}, {});
  feat.insert(feat.end(), r2.begin(), r2.end());
  repad_minor_to_major(feat.data(), 2);
  EXPECT_EQ(m2m_of(feat, 0), (std::vector<float>(6, -1)));
  EXPECT_EQ(m2m_of(feat, 1), (std::vector<float>(6, -1)));
}

TEST(FeatureRank, FromDimsAndLayout) {
  EXPECT_EQ(feature_rank(row(kF32, {}, {}).data()), 0);
  EXPECT_EQ(feature_rank(row(kF32, {5}, {}).data()), 1);
  EXPECT_EQ(feature_rank(row(kF32, {5, 1, 3}, {2, 1, 0}).data()), 3);
  EXPECT_EQ(feature_rank(row(kF32, {0}, {0}).data()), 0);  // the documented ambiguity
}

// Three nodes; column 3 varies, column 5 is constant, column 28 spans a large range.
std::vector<float> three_rows() {
  std::vector<float> f(3 * kNodeFeatDim, 0.f);
  const float c3[3] = {1, 2, 6}, c28[3] = {1, 1e3f, 1e9f};
  for (int i = 0; i < 3; ++i) {
    f[i * kNodeFeatDim + 3] = c3[i];
    f[i * kNodeFeatDim + 5] = 7;
    f[i * kNodeFeatDim + 28] = c28[i];
    f[i * kNodeFeatDim + 53] = i == 0 ? -4.f : 0.f;  // a negative padding value
    f[i * kNodeFeatDim + 134] = 42;                  // minor_to_major: never normalised
  }
  return f;
}

TEST(FeatureNormalizer, PlainZScoreMatchesHandComputation) {
  std::vector<float> f = three_rows();
  FeatureNormalizer n = fit_normalizer_blocks({{f.data(), 3}}, /*log_transform=*/false);
  ASSERT_EQ(n.mean.size(), 134u);
  EXPECT_FALSE(n.log_transform);
  EXPECT_FLOAT_EQ(n.mean[3], 3.f);                                     // (1 + 2 + 6) / 3
  EXPECT_FLOAT_EQ(n.std[3], static_cast<float>(std::sqrt(14.0 / 3)));  // (4 + 1 + 9) / 3
  EXPECT_FLOAT_EQ(n.mean[5], 7.f);
  EXPECT_FLOAT_EQ(n.std[5], 1.f);  // constant column: std floored to 1
  EXPECT_FLOAT_EQ(n.mean[0], 0.f);
  EXPECT_FLOAT_EQ(n.std[0], 1.f);
  const double m28 = (1 + 1e3 + 1e9) / 3.0;
  EXPECT_FLOAT_EQ(n.mean[28], static_cast<float>(m28));
  n.apply(f.data(), 3);
  EXPECT_NEAR(f[3], (1 - 3) / std::sqrt(14.0 / 3), 1e-6);
  EXPECT_NEAR(f[2 * kNodeFeatDim + 3], (6 - 3) / std::sqrt(14.0 / 3), 1e-6);
  EXPECT_EQ(f[kNodeFeatDim + 5], 0.f);  // constant column -> 0
  EXPECT_EQ(f[134], 42.f);              // minor_to_major untouched
}

TEST(FeatureNormalizer, LogTransformThenZScore) {
  std::vector<float> f = three_rows();
  FeatureNormalizer n = fit_normalizer_blocks({{f.data(), 2}, {f.data() + 2 * kNodeFeatDim, 1}});
  EXPECT_TRUE(n.log_transform);
  auto t = [](double x) { return std::copysign(std::log1p(std::fabs(x)), x); };
  const double v[3] = {t(1), t(1e3), t(1e9)};
  const double m = (v[0] + v[1] + v[2]) / 3;
  double var = 0;
  for (double x : v) var += (x - m) * (x - m) / 3;
  EXPECT_NEAR(n.mean[28], m, 1e-5);
  EXPECT_NEAR(n.std[28], std::sqrt(var), 1e-5);
  EXPECT_NEAR(n.mean[53], -t(4) / 3, 1e-6);  // sign kept for negative values
  n.apply(f.data(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(f[i * kNodeFeatDim + 28], (v[i] - m) / std::sqrt(var), 1e-5);
    EXPECT_LT(std::fabs(f[i * kNodeFeatDim + 28]), 2.f);  // a 1e9 outlier stays O(1)
  }
}

TEST(FeatureNormalizer, JsonRoundTrip) {
  std::vector<float> f = three_rows();
  for (bool log : {false, true}) {
    FeatureNormalizer n = fit_normalizer_blocks({{f.data(), 3}}, log);
    FeatureNormalizer m = FeatureNormalizer::from_json(nlohmann::json::parse(n.to_json().dump()));
    EXPECT_EQ(m.log_transform, log);
    EXPECT_EQ(m.mean, n.mean);  // bit-exact: floats print round-trippable
    EXPECT_EQ(m.std, n.std);
  }
}

TEST(FeatureNormalizer, MalformedJsonNamesSourceAndField) {
  std::vector<float> f = three_rows();
  nlohmann::json good = fit_normalizer_blocks({{f.data(), 3}}).to_json();
  auto expect_error = [](const nlohmann::json& j, const std::string& field) {
    try {
      FeatureNormalizer::from_json(j, "model.json[normalizer]");
      ADD_FAILURE() << "no error for " << field;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(m.rfind("model.json[normalizer]: " + field, 0), 0u) << m;
    }
  };
  nlohmann::json j = good;
  j["mean"].erase(0);
  expect_error(j, "mean");
  j = good;
  j["std"][5] = 0.0;
  expect_error(j, "std");
  j = good;
  j["transform"] = "sqrt";
  expect_error(j, "transform");
  j = good;
  j.erase("kind");
  expect_error(j, "kind");
  expect_error(nlohmann::json::array(), "");
}

TEST(FeatureNormalizer, NoRowsIsAnError) {
  EXPECT_THROW(fit_normalizer_blocks({}), Error);
}

}  // namespace
}  // namespace tgraph
