#include "tgraph/data/features.h"

#include <algorithm>
#include <cmath>

#include "tgraph/data/pack.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {
inline double transform(double x, bool log) {
  return log ? std::copysign(std::log1p(std::fabs(x)), x) : x;
}
}  // namespace

int feature_rank(const float* row) {
  int rank = 0;
  for (int d = 0; d < 6; ++d)
    if (row[kShapeDimsCol + d] != 0.f) rank = d + 1;
  // A layout of rank r is a permutation of 0..r-1, so its largest entry gives r when r >= 2;
  // an all-zero minor_to_major says nothing (scalar, rank 1, or no layout).
  float mx = 0.f;
  for (int d = 0; d < 6; ++d) mx = std::max(mx, row[kMinorToMajorCol + d]);
  if (mx > 0.f) rank = std::max(rank, std::min(6, static_cast<int>(mx) + 1));
  return rank;
}

void repad_minor_to_major(float* node_feat, int64_t N) {
  for (int64_t i = 0; i < N; ++i) {
    float* row = node_feat + i * kNodeFeatDim;
    const bool no_layout = row[kElementTypeCol + kTupleType] != 0.f ||
                           row[kElementTypeCol + kOpaqueType] != 0.f ||
                           row[kElementTypeCol + kTokenType] != 0.f;
    const int rank = no_layout ? 0 : feature_rank(row);
    for (int d = rank; d < 6; ++d) row[kMinorToMajorCol + d] = -1.f;
  }
}

void FeatureNormalizer::apply(float* feat, int64_t N) const {
  TG_CHECK(mean.size() == kNumericFeatDim && std.size() == kNumericFeatDim,
           "normalizer not fitted");
  for (int64_t i = 0; i < N; ++i) {
    float* row = feat + i * kNodeFeatDim;
    for (int c = 0; c < kNumericFeatDim; ++c)
      row[c] = static_cast<float>((transform(row[c], log_transform) - mean[c]) / std[c]);
  }
}

nlohmann::json FeatureNormalizer::to_json() const {
  nlohmann::json j;
  j["kind"] = "zscore";
  j["columns"] = kNumericFeatDim;
  j["transform"] = log_transform ? "signed_log1p" : "none";
  j["mean"] = mean;
  j["std"] = std;
  return j;
}

FeatureNormalizer FeatureNormalizer::from_json(const nlohmann::json& j, const std::string& source) {
  auto fail = [&](const std::string& field, const std::string& expected, const std::string& found) {
    throw_error(source, field, expected, found);
  };
  if (!j.is_object()) fail("", "a JSON object", j.type_name());
  if (!j.contains("kind") || !j["kind"].is_string() || j["kind"].get<std::string>() != "zscore")
    fail("kind", "\"zscore\"", j.contains("kind") ? j["kind"].dump().substr(0, 40) : "missing");
  FeatureNormalizer n;
  const std::string t = j.contains("transform") && j["transform"].is_string()
                            ? j["transform"].get<std::string>()
                            : std::string("missing");
  if (t == "signed_log1p")
    n.log_transform = true;
  else if (t == "none")
    n.log_transform = false;
  else
    fail("transform", "\"signed_log1p\" or \"none\"", t);
  for (const char* key : {"mean", "std"}) {
    if (!j.contains(key) || !j[key].is_array())
      fail(key, TG_STR("an array of " << kNumericFeatDim << " numbers"), "missing");
    const auto& a = j[key];
    if (a.size() != kNumericFeatDim)
      fail(key, TG_STR(kNumericFeatDim << " numbers"), TG_STR(a.size()));
    std::vector<float> v;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_number()) fail(key, "numbers", TG_STR(a[i].dump() << " at [" << i << "]"));
      const double x = a[i].get<double>();
      if (!std::isfinite(x) || (key[0] == 's' && !(x > 0)))
        fail(key, key[0] == 's' ? "finite values > 0" : "finite values",
             TG_STR(x << " at [" << i << "]"));
      v.push_back(static_cast<float>(x));
    }
    (key[0] == 'm' ? n.mean : n.std) = std::move(v);
  }
  return n;
}

FeatureNormalizer fit_normalizer_blocks(const std::vector<FeatBlock>& blocks, bool log_transform) {
  std::vector<double> sum(kNumericFeatDim, 0.0), sq(kNumericFeatDim, 0.0);
  int64_t n = 0;
  for (const auto& b : blocks) {
    for (int64_t i = 0; i < b.rows; ++i) {
      const float* row = b.data + i * kNodeFeatDim;
      for (int c = 0; c < kNumericFeatDim; ++c) sum[c] += transform(row[c], log_transform);
    }
    n += b.rows;
  }
  if (n == 0) throw_error("fit_normalizer", "", "at least one training node", "none");
  std::vector<double> mean(kNumericFeatDim);
  for (int c = 0; c < kNumericFeatDim; ++c) mean[c] = sum[c] / static_cast<double>(n);
  // Second pass on deviations: E[x^2] - E[x]^2 cancels badly for raw values near 1e9.
  for (const auto& b : blocks)
    for (int64_t i = 0; i < b.rows; ++i) {
      const float* row = b.data + i * kNodeFeatDim;
      for (int c = 0; c < kNumericFeatDim; ++c) {
        const double d = transform(row[c], log_transform) - mean[c];
        sq[c] += d * d;
      }
    }
  FeatureNormalizer out;
  out.log_transform = log_transform;
  out.mean.resize(kNumericFeatDim);
  out.std.resize(kNumericFeatDim);
  for (int c = 0; c < kNumericFeatDim; ++c) {
    const double s = std::sqrt(sq[c] / static_cast<double>(n));
    out.mean[c] = static_cast<float>(mean[c]);
    out.std[c] = static_cast<float>(s < kStdFloor ? 1.0 : s);
  }
  return out;
}

FeatureNormalizer fit_normalizer(const std::vector<const PackedGraph*>& graphs,
                                 bool log_transform) {
  std::vector<FeatBlock> blocks;
  for (const PackedGraph* g : graphs) blocks.push_back({g->node_feat().data(), g->num_nodes()});
  return fit_normalizer_blocks(blocks, log_transform);
}

namespace {
double signed_log1p(double x) {
  return x < 0 ? -std::log1p(-x) : std::log1p(x);
}
}  // namespace

void TileConfigNormalizer::fit(const std::vector<const std::vector<float>*>& config_feats) {
  // Two passes in double precision (mean, then population std), like the node normaliser.
  std::vector<double> s(kTileConfigDim, 0), q(kTileConfigDim, 0);
  double n = 0;
  for (const auto* v : config_feats) {
    for (size_t i = 0; i < v->size(); ++i) s[i % kTileConfigDim] += signed_log1p((*v)[i]);
    n += static_cast<double>(v->size() / kTileConfigDim);
  }
  if (n == 0) throw_error("fit tile config normaliser", "", "at least one configuration", "none");
  mean.assign(kTileConfigDim, 0);
  std.assign(kTileConfigDim, 1);
  for (int c = 0; c < kTileConfigDim; ++c) mean[c] = static_cast<float>(s[c] / n);
  for (const auto* v : config_feats)
    for (size_t i = 0; i < v->size(); ++i) {
      double d = signed_log1p((*v)[i]) - mean[i % kTileConfigDim];
      q[i % kTileConfigDim] += d * d;
    }
  for (int c = 0; c < kTileConfigDim; ++c) {
    double sd = std::sqrt(q[c] / n);
    std[c] = sd < kStdFloor ? 1.f : static_cast<float>(sd);
  }
}

void TileConfigNormalizer::apply(float* values, int64_t rows) const {
  TG_CHECK(mean.size() == kTileConfigDim && std.size() == kTileConfigDim,
           "tile config normaliser not fitted");
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < kTileConfigDim; ++c) {
      float& v = values[r * kTileConfigDim + c];
      v = static_cast<float>((signed_log1p(v) - mean[c]) / std[c]);
    }
}

nlohmann::json TileConfigNormalizer::to_json() const {
  return {{"transform", "signed_log1p"}, {"mean", mean}, {"std", std}};
}

TileConfigNormalizer TileConfigNormalizer::from_json(const nlohmann::json& j,
                                                     const std::string& source) {
  TileConfigNormalizer n;
  try {
    n.mean = j.at("mean").get<std::vector<float>>();
    n.std = j.at("std").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw_error(source, "preprocessing.config_norm", "mean and std of 24 columns", e.what());
  }
  if (n.mean.size() != kTileConfigDim || n.std.size() != kTileConfigDim)
    throw_error(source, "preprocessing.config_norm", "24 columns",
                TG_STR(n.mean.size() << " means and " << n.std.size() << " stds"));
  for (int c = 0; c < kTileConfigDim; ++c)
    if (!std::isfinite(n.mean[c]) || !std::isfinite(n.std[c]) || n.std[c] <= 0)
      throw_error(source, "preprocessing.config_norm", "finite means and positive stds",
                  TG_STR("column " << c << ": mean " << n.mean[c] << ", std " << n.std[c]));
  return n;
}

}  // namespace tgraph
