// Tests of `tgraph featurize`: the real XLA tuning records in ../shared/data/real (a unet_3d-like
// layout module and 15 tile kernels) against the facts of tpugraphs-format.md sections 2-3 and 6,
// read back through tgraph's loaders and numpy, plus malformed records.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "../test_util.h"
#include "proto/tuning.pb.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/featurize/opcodes.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph::featurize {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr int kConv = 26, kDot = 34, kReshape = 75, kAdd = 2;

const float* row(const GraphBase& g, int64_t i) {
  return g.node_feat.data() + i * kNodeFeatDim;
}

// Columns of node_feat whose value is not 0.
std::vector<int> nonzero_cols(const float* r) {
  std::vector<int> v;
  for (int j = 0; j < kNodeFeatDim; ++j)
    if (r[j] != 0.f) v.push_back(j);
  return v;
}

void expect_edges_valid(const GraphBase& g) {
  ASSERT_EQ(g.edge_index.size(), static_cast<size_t>(2 * g.num_edges));
  for (int64_t e = 0; e < g.num_edges; ++e) {
    const int64_t u = g.edge_index[2 * e], v = g.edge_index[2 * e + 1];
    EXPECT_GT(u, v) << "edge " << e << " of " << g.stem << ": the user comes after its operand";
    EXPECT_LT(u, g.num_nodes);
    EXPECT_GE(v, 0);
    if (e > 0) {
      const std::pair<int64_t, int64_t> prev{g.edge_index[2 * e - 2], g.edge_index[2 * e - 1]};
      EXPECT_LT(prev, std::make_pair(u, v)) << "edge " << e << ": rows sorted and unique";
    }
  }
}

// Featurizing `path` must throw one tgraph::Error line naming the file and `field`.
void expect_record_error(const std::string& path, const std::string& field,
                         RecordKind kind = RecordKind::kAuto, const std::string& also = "") {
  FeaturizeOptions opt;
  opt.kind = kind;
  try {
    featurize_record(path, opt);
    ADD_FAILURE() << path << ": no error, expected one naming " << field;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(": " + field), std::string::npos)
        << "wanted field " << field << " in: " << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
    EXPECT_NE(msg.find(also), std::string::npos) << "wanted " << also << " in: " << msg;
  }
}

// The CLI on a bad record: exit 1, one line on stderr naming file and field, and no output files.
void expect_cli_error(const std::string& record, const std::string& field) {
  TempDir d;
  const std::string out = d.file("out");
  auto r = test::run_command(test::cli_path() + " featurize " + record + " --out " + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_EQ(r.output.rfind("tgraph: error: " + record + ": ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(field), std::string::npos) << r.output;
  EXPECT_TRUE(!fs::exists(out) || fs::is_empty(out)) << "partial output in " << out;
}

// ---------------------------------------------------------------- layout record

class LayoutRecord : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(test::real_layout_record())) << test::real_layout_record();
    rec_ = std::make_unique<FeaturizedRecord>(featurize_record(test::real_layout_record()));
  }
  static void TearDownTestSuite() { rec_.reset(); }
  static const LayoutGraph& g() { return rec_->layouts.at(0); }
  static std::unique_ptr<FeaturizedRecord> rec_;
};
std::unique_ptr<FeaturizedRecord> LayoutRecord::rec_;

TEST_F(LayoutRecord, DetectedAsLayoutWithOneGraph) {
  EXPECT_EQ(detect_record_kind(test::real_layout_record()), RecordKind::kLayout);
  EXPECT_EQ(rec_->kind, RecordKind::kLayout);
  ASSERT_EQ(rec_->layouts.size(), 1u);
  EXPECT_TRUE(rec_->tiles.empty());
  EXPECT_EQ(g().stem, "main__.10904");  // the HloModuleProto name
}

TEST_F(LayoutRecord, NodesEdgesAndSplits) {
  EXPECT_EQ(g().num_nodes, 3163);
  EXPECT_EQ(g().num_edges, 5112);
  EXPECT_EQ(g().node_splits, (std::vector<int64_t>{0, 449, 453, 467, 471, 498, 502, 3163}));
  EXPECT_EQ(g().node_feat.size(), 3163u * kNodeFeatDim);
  EXPECT_EQ(g().node_opcode.size(), 3163u);
  EXPECT_EQ(rec_->stats.unknown_opcode_nodes, 0);
}

TEST_F(LayoutRecord, EveryEdgeGoesFromUserToEarlierOperand) {
  expect_edges_valid(g());
}

TEST_F(LayoutRecord, OpcodeMixMatchesTheDecodedModule) {
  // Section 5.2: multiply 589, add 389, broadcast 383, parameter 287, get-tuple-element 253, ...
  std::map<int, int> n;
  for (uint8_t op : g().node_opcode) ++n[op];
  EXPECT_EQ(n[opcode_id("multiply")], 589);
  EXPECT_EQ(n[kAdd], 389);
  EXPECT_EQ(n[opcode_id("broadcast")], 383);
  EXPECT_EQ(n[opcode_id("parameter")], 287);
  EXPECT_EQ(n[opcode_id("get-tuple-element")], 253);
  EXPECT_EQ(n[kConv], 53);
  EXPECT_EQ(n[0], 0);
}

TEST_F(LayoutRecord, ConfigurableNodesAreConvolutionsAndReshapes) {
  // config_index_to_node holds node indices (not instruction ids, which differ from index 54 on).
  ASSERT_EQ(g().num_config_nodes, 62);
  ASSERT_EQ(g().node_config_ids.size(), 62u);
  EXPECT_TRUE(std::is_sorted(g().node_config_ids.begin(), g().node_config_ids.end()));
  std::map<int, int> n;
  for (int64_t id : g().node_config_ids) ++n[g().node_opcode.at(id)];
  EXPECT_EQ(n[kConv], 53);
  EXPECT_EQ(n[kReshape], 9);
  EXPECT_EQ(n[kConv] + n[kReshape] + n[kDot], 62);
}

TEST_F(LayoutRecord, RuntimesAndErrorRunsDropped) {
  EXPECT_EQ(g().num_configs, 112);
  EXPECT_EQ(rec_->stats.runs_total, 122);
  EXPECT_EQ(rec_->stats.runs_error, 10);
  EXPECT_EQ(rec_->stats.runs_kept, 112);
  ASSERT_EQ(g().config_runtime.size(), 112u);
  auto [lo, hi] = std::minmax_element(g().config_runtime.begin(), g().config_runtime.end());
  EXPECT_GE(*lo, 910'875'000);  // "about 910.88 M"
  EXPECT_LE(*lo, 910'885'000);
  EXPECT_GE(*hi, 925'635'000);  // "about 925.64 M"
  EXPECT_LE(*hi, 925'645'000);
  EXPECT_EQ(g().node_config_feat.size(), 112u * 62 * kLayoutConfigDim);
}

TEST_F(LayoutRecord, ExactlyOneAllMinusOneRowAndItIsTheDefaultRun) {
  const int64_t row_size = g().num_config_nodes * kLayoutConfigDim;
  std::vector<int64_t> all_minus_one;
  for (int64_t c = 0; c < g().num_configs; ++c) {
    const float* r = g().config_row(c);
    if (std::all_of(r, r + row_size, [](float x) { return x == -1.f; })) all_minus_one.push_back(c);
  }
  ASSERT_EQ(all_minus_one.size(), 1u);
  EXPECT_EQ(all_minus_one[0], 0);  // the default run is stored first
  // Section 5.3: default run 910.90 M ns.
  EXPECT_GE(g().config_runtime[all_minus_one[0]], 910'895'000);
  EXPECT_LE(g().config_runtime[all_minus_one[0]], 910'905'000);
}

TEST_F(LayoutRecord, LayoutConfigValuesAreMinorToMajorPrefixes) {
  for (int64_t c = 1; c < g().num_configs; ++c) {
    const float* r = g().config_row(c);
    for (int64_t k = 0; k < g().num_config_nodes; ++k) {
      const int op = g().node_opcode[g().node_config_ids[k]];
      int lens[3];
      for (int t = 0; t < 3; ++t) {
        const float* slot = r + k * kLayoutConfigDim + t * 6;
        int n = 0;
        while (n < 6 && slot[n] >= 0) ++n;
        for (int d = 0; d < 6; ++d) {
          EXPECT_EQ(slot[d], std::floor(slot[d]));
          EXPECT_LE(slot[d], 5.f);
          if (d >= n) {
            EXPECT_EQ(slot[d], -1.f) << "config " << c << " node " << k << " slot " << t;
          }
        }
        lens[t] = n;
      }
      if (op == kConv) {  // output, input, kernel: the two most-minor dims each (section 3.2)
        EXPECT_EQ(lens[0], 2);
        EXPECT_EQ(lens[1], 2);
        EXPECT_EQ(lens[2], 2);
      } else {
        EXPECT_EQ(lens[2], 0) << "a reshape has only output and operand slots";
      }
    }
  }
}

// The worked example of section 3.1: a 5-D bf16 convolution [2,96,96,96,32].
std::array<float, kNodeFeatDim> worked_example_conv() {
  std::array<float, kNodeFeatDim> f{};
  f[2 + 13] = 1;  // bf16 (one-hot position 13)
  const float dims[8] = {2, 96, 96, 96, 32, 0, 322, 56623104};
  std::copy(dims, dims + 8, &f[21]);
  const float size[8] = {3, 3, 3, 0, 0, 0, 9, 27};
  const float ones[8] = {1, 1, 1, 0, 0, 0, 3, 1};
  std::copy(size, size + 8, &f[37]);
  for (int b : {45, 53, 61, 69, 77}) std::copy(ones, ones + 8, &f[b]);  // stride, pads, dilations
  f[92] = 3;                                                            // 3 reversal flags false
  const float conv[14] = {0, 4, 1, 2, 3, 0, 3, 4, 0, 1, 2, 0, 0, 4};
  std::copy(conv, conv + 14, &f[93]);
  f[107] = f[108] = 1;                                    // feature / batch group counts
  for (int c : {112, 116, 120, 124, 128, 132}) f[c] = 1;  // empty slice / pad products
  const float layout[6] = {4, 3, 2, 1, 0, 0};
  std::copy(layout, layout + 6, &f[134]);
  return f;
}

TEST_F(LayoutRecord, ConvolutionMatchesTheWorkedExample) {
  const auto want = worked_example_conv();
  int64_t found = -1;
  for (int64_t i = 0; i < g().num_nodes && found < 0; ++i) {
    if (g().node_opcode[i] != kConv) continue;
    // Column 0 (is_root) is not part of the example.
    if (std::equal(want.begin() + 1, want.end(), row(g(), i) + 1)) found = i;
  }
  ASSERT_GE(found, 0) << "no convolution with exactly the features of section 3.1";
  EXPECT_FLOAT_EQ(row(g(), found)[28], 56623104.f);
}

TEST_F(LayoutRecord, ScalarAddHasOnlyTypeAndEmptyProducts) {
  const std::vector<int> want = {6, 28, 44, 52, 60, 68, 76, 84, 112, 116, 120, 124, 128, 132};
  int matches = 0;
  for (int64_t i = 0; i < g().num_nodes; ++i) {
    if (g().node_opcode[i] != kAdd || row(g(), i)[6] != 1.f || row(g(), i)[0] != 0.f) continue;
    if (row(g(), i)[21] != 0.f) continue;  // rank > 0
    EXPECT_EQ(nonzero_cols(row(g(), i)), want) << "node " << i;
    for (int c : want) EXPECT_EQ(row(g(), i)[c], 1.f);
    ++matches;
  }
  EXPECT_GT(matches, 0) << "no non-root scalar s32 add";
}

TEST_F(LayoutRecord, ReducerComputationRootAndF32Type) {
  // The first computation is Sum-reduction(x, y) -> add: nodes 0, 1 parameters, node 2 its root.
  EXPECT_EQ(g().node_opcode[0], opcode_id("parameter"));
  EXPECT_EQ(g().node_opcode[2], kAdd);
  EXPECT_EQ(row(g(), 0)[0], 0.f);
  EXPECT_EQ(row(g(), 1)[0], 0.f);
  EXPECT_EQ(row(g(), 2)[0], 1.f);
  EXPECT_EQ(row(g(), 1)[30], 1.f);      // parameter_number of y
  EXPECT_EQ(row(g(), 2)[2 + 11], 1.f);  // f32 is one-hot position 11
  // add(x, y): two edges into the parameters.
  EXPECT_EQ(std::vector<int64_t>(g().edge_index.begin(), g().edge_index.begin() + 4),
            (std::vector<int64_t>{2, 0, 2, 1}));
}

TEST_F(LayoutRecord, MinorToMajorPadMinusOne) {
  FeaturizeOptions opt;
  opt.minor_to_major_pad = -1.f;
  const LayoutGraph m = featurize_layout_record(test::real_layout_record(), opt).at(0);
  ASSERT_EQ(m.node_feat.size(), g().node_feat.size());
  int64_t repadded = 0;
  for (int64_t i = 0; i < m.num_nodes; ++i) {
    const float* a = row(g(), i);
    const float* b = row(m, i);
    for (int j = 0; j < 134; ++j) ASSERT_EQ(a[j], b[j]) << "node " << i << " col " << j;
    for (int j = 134; j < 140; ++j) {
      if (b[j] == -1.f) {
        EXPECT_EQ(a[j], 0.f);
        ++repadded;
      } else {
        EXPECT_EQ(a[j], b[j]);
      }
    }
  }
  EXPECT_GT(repadded, 0);
  // The worked-example convolution: rank 5 -> [4,3,2,1,0,-1]; everything else unchanged.
  auto want = worked_example_conv();
  want[139] = -1;
  bool found = false;
  for (int64_t i = 0; i < m.num_nodes && !found; ++i)
    found = m.node_opcode[i] == kConv && std::equal(want.begin() + 1, want.end(), row(m, i) + 1);
  EXPECT_TRUE(found);
  EXPECT_EQ(m.edge_index, g().edge_index);
  EXPECT_EQ(m.node_config_feat, g().node_config_feat);
}

TEST_F(LayoutRecord, KeepDefaultLayoutOption) {
  FeaturizeOptions opt;
  opt.default_config_all_minus_one = false;
  const LayoutGraph k = featurize_layout_record(test::real_layout_record(), opt).at(0);
  const int64_t row_size = k.num_config_nodes * kLayoutConfigDim;
  ASSERT_EQ(k.node_config_feat.size(), g().node_config_feat.size());
  // Row 0 now holds the layouts recorded for the default run; the other rows are unchanged.
  const float* r0 = k.config_row(0);
  EXPECT_TRUE(std::any_of(r0, r0 + row_size, [](float x) { return x >= 0.f; }));
  EXPECT_TRUE(std::equal(k.node_config_feat.begin() + row_size, k.node_config_feat.end(),
                         g().node_config_feat.begin() + row_size));
}

TEST_F(LayoutRecord, RoundTripThroughNpzAndLoader) {
  TempDir d;
  const auto paths = write_featurized(*rec_, d.path().string(), 6);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(fs::path(paths[0]).filename(), "main__.10904.npz");
  const LayoutGraph back = load_layout(paths[0]);
  EXPECT_EQ(back.num_nodes, g().num_nodes);
  EXPECT_EQ(back.num_edges, g().num_edges);
  EXPECT_EQ(back.node_feat, g().node_feat);
  EXPECT_EQ(back.node_opcode, g().node_opcode);
  EXPECT_EQ(back.edge_index, g().edge_index);
  EXPECT_EQ(back.node_config_ids, g().node_config_ids);
  EXPECT_EQ(back.node_config_feat, g().node_config_feat);
  EXPECT_EQ(back.config_runtime, g().config_runtime);
  EXPECT_EQ(back.node_splits, g().node_splits);
  EXPECT_TRUE(back.labelled);
  EXPECT_EQ(detect_kind(paths[0]), Kind::kLayout);
}

// ---------------------------------------------------------------- tile record

class TileRecord : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(test::real_tile_record())) << test::real_tile_record();
    rec_ = std::make_unique<FeaturizedRecord>(featurize_record(test::real_tile_record()));
  }
  static void TearDownTestSuite() { rec_.reset(); }
  static const std::vector<TileGraph>& tiles() { return rec_->tiles; }
  static const TileGraph& by_prefix(const std::string& p) {
    for (const auto& t : tiles())
      if (t.stem.rfind(p, 0) == 0) return t;
    throw std::runtime_error("no kernel " + p);
  }
  static std::unique_ptr<FeaturizedRecord> rec_;
};
std::unique_ptr<FeaturizedRecord> TileRecord::rec_;

TEST_F(TileRecord, FifteenKernelsWithDocumentedSizes) {
  EXPECT_EQ(detect_record_kind(test::real_tile_record()), RecordKind::kTile);
  EXPECT_EQ(rec_->kind, RecordKind::kTile);
  ASSERT_EQ(tiles().size(), 15u);
  EXPECT_EQ(rec_->stats.kernels_total, 15);
  EXPECT_EQ(rec_->stats.kernels_skipped, 0);
  int64_t nmin = INT64_MAX, nmax = 0, cmin = INT64_MAX, cmax = 0;
  for (const auto& t : tiles()) {
    nmin = std::min(nmin, t.num_nodes), nmax = std::max(nmax, t.num_nodes);
    cmin = std::min(cmin, t.num_configs), cmax = std::max(cmax, t.num_configs);
  }
  EXPECT_EQ(nmin, 2);
  EXPECT_EQ(nmax, 56);
  EXPECT_EQ(cmin, 2);
  EXPECT_GE(cmax, 2);
  EXPECT_LE(cmax, 581);
  // Runs as stored (before dropping error runs): 2 to 581 per kernel.
  xla::TuningData raw;
  ASSERT_TRUE(raw.ParseFromString(test::read_bytes(test::real_tile_record())));
  int rmin = INT32_MAX, rmax = 0, total = 0;
  for (const auto& m : raw.modules()) {
    rmin = std::min(rmin, m.runs_size()), rmax = std::max(rmax, m.runs_size());
    total += m.runs_size();
  }
  EXPECT_EQ(rmin, 2);
  EXPECT_EQ(rmax, 581);
  EXPECT_EQ(rec_->stats.runs_total, total);
  EXPECT_EQ(rec_->stats.runs_kept + rec_->stats.runs_error + rec_->stats.runs_no_runtime, total);
}

TEST_F(TileRecord, RowZeroIsTheDefaultRunAndItsNormaliser) {
  for (const auto& t : tiles()) {
    ASSERT_EQ(t.config_runtime.size(), static_cast<size_t>(t.num_configs)) << t.stem;
    ASSERT_EQ(t.config_runtime_normalizers.size(), t.config_runtime.size()) << t.stem;
    ASSERT_EQ(t.config_feat.size(), static_cast<size_t>(t.num_configs) * kTileConfigDim);
    EXPECT_EQ(t.config_runtime[0], t.config_runtime_normalizers[0]) << t.stem;
    for (size_t c = 0; c < t.config_runtime.size(); ++c) {
      EXPECT_GT(t.config_runtime[c], 1) << t.stem;
      EXPECT_EQ(t.config_runtime_normalizers[c], t.config_runtime_normalizers[0]) << t.stem;
    }
  }
}

TEST_F(TileRecord, GraphsAreWellFormed) {
  for (const auto& t : tiles()) {
    expect_edges_valid(t);
    EXPECT_EQ(t.node_feat.size(), static_cast<size_t>(t.num_nodes) * kNodeFeatDim);
    int roots = 0;
    for (int64_t i = 0; i < t.num_nodes; ++i) roots += row(t, i)[0] == 1.f;
    EXPECT_GE(roots, 1) << t.stem;
  }
}

TEST_F(TileRecord, ConfigFeaturesFollowTheBounds) {
  // Section 3.3 examples: kb [] ob [2,26,4,2]; kb [3,1,24,3] ob [12,4,4,3]; kb [16,32] ob [4,32].
  auto first = [](const TileGraph& t) {
    return std::vector<float>(t.config_feat.begin(), t.config_feat.begin() + kTileConfigDim);
  };
  std::vector<float> a(24, 0.f), b(24, 0.f), c(24, 0.f);
  const float ob_a[8] = {2, 26, 4, 2, 0, 0, 34, 416};
  std::copy(ob_a, ob_a + 8, a.begin() + 8);  // empty kernel bounds: product 0, not 1
  const float kb_b[8] = {3, 1, 24, 3, 0, 0, 31, 216}, ob_b[8] = {12, 4, 4, 3, 0, 0, 23, 576};
  std::copy(kb_b, kb_b + 8, b.begin());
  std::copy(ob_b, ob_b + 8, b.begin() + 8);
  const float kb_c[8] = {16, 32, 0, 0, 0, 0, 48, 512}, ob_c[8] = {4, 32, 0, 0, 0, 0, 36, 128};
  std::copy(kb_c, kb_c + 8, c.begin());
  std::copy(ob_c, ob_c + 8, c.begin() + 8);
  EXPECT_EQ(first(by_prefix("fusion.232_")), a);
  EXPECT_EQ(first(by_prefix("fusion.191_")), b);
  EXPECT_EQ(first(by_prefix("fusion.209_")), c);
  for (const auto& t : tiles())
    for (int64_t r = 0; r < t.num_configs; ++r)
      for (int j = 16; j < 24; ++j)
        EXPECT_EQ(t.config_feat[r * kTileConfigDim + j], 0.f) << "input bounds are never set";
}

TEST_F(TileRecord, StemsAreKernelNameAndSignedHexFingerprint) {
  std::set<std::string> stems;
  const std::regex re("^[A-Za-z0-9._-]+_-?[0-9a-f]{1,16}$");
  for (const auto& t : tiles()) {
    EXPECT_TRUE(std::regex_match(t.stem, re)) << t.stem;
    EXPECT_TRUE(stems.insert(t.stem).second) << t.stem;
  }
  EXPECT_EQ(tiles()[0].stem, "fusion.232_579e7b2c540f0929");  // fingerprint 6313619157939063081
}

TEST(SignedHex, MatchesTpuGraphsFileNames) {
  EXPECT_EQ(signed_hex(0), "0");
  EXPECT_EQ(signed_hex(6313619157939063081ull), "579e7b2c540f0929");
  EXPECT_EQ(signed_hex(static_cast<uint64_t>(-0x1bae27a41d70f4dcll)), "-1bae27a41d70f4dc");
  EXPECT_EQ(signed_hex(0x8000000000000000ull), "-8000000000000000");
  EXPECT_EQ(sanitize_stem("a/b c:d.e-f_g"), "a_b_c_d.e-f_g");
  EXPECT_EQ(sanitize_stem(".."), "");
}

TEST(FeaturizeHostile, RepeatedDefaultRunsKeepOneRow) {
  TempDir d;
  xla::ModuleTuningData lay;
  ASSERT_TRUE(lay.ParseFromString(test::read_bytes(test::real_layout_record())));
  int def = -1;
  for (int r = 0; r < lay.runs_size(); ++r)
    if (lay.runs(r).is_default() && !lay.runs(r).error()) def = r;
  ASSERT_GE(def, 0);
  // 2000 more default runs: a few bytes each on the wire, NC x 72 bytes each if kept.
  for (int i = 0; i < 2000; ++i) *lay.add_runs() = lay.runs(def);
  const std::string f = d.file("defaults.pb");
  test::write_bytes(f, lay.SerializeAsString());
  auto r = featurize_record(f);
  ASSERT_EQ(r.layouts.size(), 1u);
  EXPECT_EQ(r.layouts[0].num_configs, 112);  // as the record without the repeats
  EXPECT_EQ(r.stats.runs_default_repeats, 2000);
}

TEST(FeaturizeHostile, TileStemsStayUniqueWhateverTheKernelNames) {
  TempDir d;
  xla::TuningData tiles;
  ASSERT_TRUE(tiles.ParseFromString(test::read_bytes(test::real_tile_record())));
  tiles.mutable_modules()->DeleteSubrange(1, tiles.modules_size() - 1);
  // "a_1" + fingerprint 2 -> a_1_2; "a" + 1 -> a_1; "a" + 1 again -> a_1 taken, a_1_2 taken too.
  const std::pair<const char*, uint64_t> kernels[] = {{"a_1", 2}, {"a", 1}, {"a", 1}};
  for (int k = 1; k < 3; ++k) *tiles.add_modules() = tiles.modules(0);
  for (int k = 0; k < 3; ++k) {
    tiles.mutable_modules(k)->mutable_module()->set_name(kernels[k].first);
    tiles.mutable_modules(k)->set_fingerprint(kernels[k].second);
  }
  const std::string f = d.file("names.pb");
  test::write_bytes(f, tiles.SerializeAsString());
  auto r = featurize_record(f);
  ASSERT_EQ(r.tiles.size(), 3u);
  std::set<std::string> stems;
  for (const auto& t : r.tiles) stems.insert(t.stem);
  EXPECT_EQ(stems.size(), 3u);
  EXPECT_NO_THROW(write_featurized(r, d.file("out")));
}

TEST(FeaturizeDetect, SingleKernelTileRecordsAndBareModules) {
  TempDir d;
  xla::TuningData tiles;
  ASSERT_TRUE(tiles.ParseFromString(test::read_bytes(test::real_tile_record())));
  tiles.mutable_modules()->DeleteSubrange(1, tiles.modules_size() - 1);
  const std::string one = d.file("one.pb"), nofp = d.file("nofp.pb"), bare = d.file("bare.pb");
  test::write_bytes(one, tiles.SerializeAsString());
  EXPECT_EQ(detect_record_kind(one), RecordKind::kTile);
  auto r = featurize_record(one);
  ASSERT_EQ(r.tiles.size(), 1u);
  EXPECT_EQ(r.tiles[0].stem, "fusion.232_579e7b2c540f0929");
  // Without a fingerprint (field 2 absent on the wire) the kernel index names the file.
  tiles.mutable_modules(0)->clear_fingerprint();
  test::write_bytes(nofp, tiles.SerializeAsString());
  EXPECT_EQ(detect_record_kind(nofp), RecordKind::kTile);
  r = featurize_record(nofp);
  ASSERT_EQ(r.tiles.size(), 1u);
  EXPECT_EQ(r.tiles[0].stem, "fusion.232_0");
  // A layout record reduced to its module is still read as a layout record.
  xla::ModuleTuningData lay;
  ASSERT_TRUE(lay.ParseFromString(test::read_bytes(test::real_layout_record())));
  lay.clear_runs();
  lay.clear_config_index_to_node();
  lay.clear_fingerprint();
  test::write_bytes(bare, lay.SerializeAsString());
  EXPECT_EQ(detect_record_kind(bare), RecordKind::kLayout);
  expect_record_error(bare, "ModuleTuningData.config_index_to_node");
}

TEST(Opcodes, TableOfSection34) {
  EXPECT_EQ(opcode_id("abs"), 1);
  EXPECT_EQ(opcode_id("convolution"), 26);
  EXPECT_EQ(opcode_id("dot"), 34);
  EXPECT_EQ(opcode_id("reshape"), 75);
  EXPECT_EQ(opcode_id("trace"), 97);
  EXPECT_EQ(opcode_id("transpose"), 98);
  EXPECT_EQ(opcode_id("tuple-select"), 101);
  EXPECT_EQ(opcode_id("while"), 102);
  EXPECT_EQ(opcode_id("tan"), 120);
  EXPECT_EQ(opcode_id("no-such-op"), 0);
  EXPECT_EQ(opcode_id(""), 0);
  for (int i = 1; i < kNumOpcodes; ++i) EXPECT_EQ(opcode_id(opcode_name(i)), i);
}

TEST_F(TileRecord, RoundTripThroughNpzAndLoader) {
  TempDir d;
  const auto paths = write_featurized(*rec_, d.path().string(), 6);
  ASSERT_EQ(paths.size(), 15u);
  for (size_t i = 0; i < paths.size(); ++i) {
    const TileGraph back = load_tile(paths[i]);
    const TileGraph& t = tiles()[i];
    EXPECT_EQ(back.stem, t.stem);
    EXPECT_EQ(back.node_feat, t.node_feat);
    EXPECT_EQ(back.node_opcode, t.node_opcode);
    EXPECT_EQ(back.edge_index, t.edge_index);
    EXPECT_EQ(back.config_feat, t.config_feat);
    EXPECT_EQ(back.config_runtime, t.config_runtime);
    EXPECT_EQ(back.config_runtime_normalizers, t.config_runtime_normalizers);
    EXPECT_EQ(detect_kind(paths[i]), Kind::kTile);
  }
}

// ---------------------------------------------------------------- numpy and the CLI

// Checks every output file with numpy (key order, dtypes, shapes, edge order) and prints a summary
// line per file; DIR is replaced by the output root.
constexpr const char* kNumpyCheck = R"PY(
import glob, numpy as np
L = ['node_feat', 'node_opcode', 'edge_index', 'node_config_feat', 'node_config_ids',
     'config_runtime', 'node_splits']
T = ['node_feat', 'node_opcode', 'edge_index', 'config_feat', 'config_runtime',
     'config_runtime_normalizers']
def common(d):
    n = d['node_feat'].shape[0]
    assert d['node_feat'].dtype == np.dtype('<f4') and d['node_feat'].shape == (n, 140)
    assert d['node_opcode'].dtype == np.uint8 and d['node_opcode'].shape == (n,)
    e = d['edge_index']
    assert e.dtype == np.dtype('<i8') and e.ndim == 2 and e.shape[1] == 2
    assert (e[:, 0] > e[:, 1]).all()
    assert (np.lexsort((e[:, 1], e[:, 0])) == np.arange(len(e))).all()
    assert d['config_runtime'].dtype == np.dtype('<i8')
    return n, len(e)
for f in sorted(glob.glob('DIR/layout/*.npz')):
    d = np.load(f)
    assert list(d.keys()) == L, list(d.keys())
    n, e = common(d)
    c, nc, k = d['node_config_feat'].shape
    assert k == 18 and d['node_config_feat'].dtype == np.dtype('<f4')
    assert d['node_config_ids'].dtype == np.dtype('<i8') and d['node_config_ids'].shape == (nc,)
    assert d['config_runtime'].shape == (c,)
    s = d['node_splits']
    assert s.dtype == np.dtype('<i8') and s.ndim == 2 and s.shape[0] == 1
    minus1 = int((d['node_config_feat'] == -1).all(axis=(1, 2)).sum())
    print('layout', n, e, nc, c, ','.join(map(str, s[0])), minus1, d['config_runtime'].min(),
          d['config_runtime'].max())
for f in sorted(glob.glob('DIR/tile/*.npz')):
    d = np.load(f)
    assert list(d.keys()) == T, list(d.keys())
    n, e = common(d)
    c = d['config_feat'].shape[0]
    assert d['config_feat'].dtype == np.dtype('<f4') and d['config_feat'].shape == (c, 24)
    assert d['config_runtime'].shape == (c,)
    assert d['config_runtime_normalizers'].dtype == np.dtype('<i8')
    assert d['config_runtime'][0] == d['config_runtime_normalizers'][0]
    print('tile', n, e, c)
)PY";

std::string with_dir(std::string code, const std::string& dir) {
  for (size_t p; (p = code.find("DIR")) != std::string::npos;) code.replace(p, 3, dir);
  return code;
}

TEST(FeaturizeNumpy, NumpyOpensOutputsWithTheTpuGraphsSchema) {
  ASSERT_TRUE(test::have_numpy());
  TempDir d;
  const auto lay = featurize_record(test::real_layout_record());
  const auto til = featurize_record(test::real_tile_record());
  write_featurized(lay, d.file("layout"));
  write_featurized(til, d.file("tile"));
  std::istringstream out(test::run_python(with_dir(kNumpyCheck, d.path().string())));
  std::string kind;
  int layouts = 0, tiles = 0;
  std::multiset<std::tuple<int64_t, int64_t, int64_t>> want_tiles, got_tiles;
  for (const auto& t : til.tiles) want_tiles.emplace(t.num_nodes, t.num_edges, t.num_configs);
  while (out >> kind) {
    if (kind == "layout") {
      int64_t n, e, nc, c, minus1, lo, hi;
      std::string splits;
      out >> n >> e >> nc >> c >> splits >> minus1 >> lo >> hi;
      EXPECT_EQ(n, 3163);
      EXPECT_EQ(e, 5112);
      EXPECT_EQ(nc, 62);
      EXPECT_EQ(c, 112);
      EXPECT_EQ(splits, "0,449,453,467,471,498,502,3163");
      EXPECT_EQ(minus1, 1);
      EXPECT_EQ(lo, *std::min_element(lay.layouts[0].config_runtime.begin(),
                                      lay.layouts[0].config_runtime.end()));
      EXPECT_EQ(hi, *std::max_element(lay.layouts[0].config_runtime.begin(),
                                      lay.layouts[0].config_runtime.end()));
      ++layouts;
    } else if (kind == "tile") {
      int64_t n, e, c;
      out >> n >> e >> c;
      got_tiles.emplace(n, e, c);
      ++tiles;
    } else {
      ADD_FAILURE() << "unexpected python output: " << kind;
      break;
    }
  }
  EXPECT_EQ(layouts, 1);
  EXPECT_EQ(tiles, 15);
  EXPECT_EQ(got_tiles, want_tiles);
}

TEST(FeaturizeCli, FeaturizeThenInspectBothRecords) {
  TempDir d;
  const std::string cli = test::cli_path();
  auto r = test::run_command(cli + " featurize " + test::real_layout_record() + " --out " +
                             d.file("layout"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("layout N=3163 E=5112 NC=62 C=112"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(d.file("layout/main__.10904.npz")));
  r = test::run_command(cli + " featurize " + test::real_tile_record() +
                        " --kind tile --compress 0 --out " + d.file("tile"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_command(cli + " inspect " + d.file("layout") + " " + d.file("tile"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("16 files, 0 with errors"), std::string::npos) << r.output;
  // --name replaces the module name in the stem.
  r = test::run_command(cli + " featurize " + test::real_layout_record() +
                        " --name unet_3d.4x4.bf16 --out " + d.file("named"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(d.file("named/unet_3d.4x4.bf16.npz")));
}

TEST(FeaturizeCli, RejectsBadOptionValues) {
  TempDir d;
  const std::string cli = test::cli_path();
  for (const std::string opt : {"--minor-to-major-pad 1", "--kind graph", "--compress 10"}) {
    auto r = test::run_command(cli + " featurize " + test::real_layout_record() + " " + opt +
                               " --out " + d.file("o"));
    EXPECT_NE(r.exit_code, 0) << opt;
    EXPECT_FALSE(fs::exists(d.file("o"))) << opt;
  }
  // -1 padding is accepted.
  auto r = test::run_command(cli + " featurize " + test::real_layout_record() +
                             " --minor-to-major-pad -1 --out " + d.file("m"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// ---------------------------------------------------------------- malformed records

TEST(FeaturizeMalformed, TruncatedLayoutRecord) {
  TempDir d;
  const std::string bytes = test::read_bytes(test::real_layout_record());
  // Half-way is inside the module (bytes 4..493113); near the end, inside config_index_to_node.
  const std::string half = d.file("half.pb"), tail = d.file("tail.pb"), run = d.file("run.pb");
  test::write_bytes(half, bytes.substr(0, bytes.size() / 2));
  test::write_bytes(tail, bytes.substr(0, bytes.size() - 3));
  test::write_bytes(run, bytes.substr(0, 560000));
  expect_record_error(half, "ModuleTuningData.module.computations[");
  expect_record_error(tail, "ModuleTuningData.config_index_to_node: expected 124 bytes");
  expect_record_error(run, "ModuleTuningData.runs[");
  expect_record_error(half, "ModuleTuningData.module", RecordKind::kLayout);
  expect_cli_error(half, "ModuleTuningData.module.computations[");
}

TEST(FeaturizeMalformed, TruncatedTileRecord) {
  TempDir d;
  const std::string bytes = test::read_bytes(test::real_tile_record());
  const std::string half = d.file("half.pb");
  test::write_bytes(half, bytes.substr(0, bytes.size() / 2));
  expect_record_error(half, "TuningData.modules[");
  expect_cli_error(half, "TuningData.modules[");
}

TEST(FeaturizeMalformed, GarbageBytes) {
  TempDir d;
  const std::string g = d.file("garbage.pb");
  std::string bytes = "this is not a protobuf record\n";
  for (int i = 0; i < 200; ++i) bytes.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  test::write_bytes(g, bytes);
  expect_record_error(g, "ModuleTuningData");
  expect_record_error(g, "ModuleTuningData", RecordKind::kLayout);
  expect_record_error(g, "TuningData", RecordKind::kTile);
  expect_cli_error(g, "ModuleTuningData");
}

TEST(FeaturizeMalformed, EmptyAndMissingFiles) {
  TempDir d;
  const std::string empty = d.file("empty.pb");
  test::write_bytes(empty, "");
  expect_record_error(empty, "ModuleTuningData.module");
  expect_record_error(empty, "TuningData.modules", RecordKind::kTile);
  EXPECT_THROW(featurize_record(d.file("missing.pb")), Error);
}

TEST(FeaturizeMalformed, LayoutRecordWithoutModule) {
  TempDir d;
  xla::ModuleTuningData rec;
  ASSERT_TRUE(rec.ParseFromString(test::read_bytes(test::real_layout_record())));
  rec.clear_module();
  const std::string p = d.file("no_module.pb");
  test::write_bytes(p, rec.SerializeAsString());
  expect_record_error(p, "ModuleTuningData.module: expected an HloModuleProto");
  expect_cli_error(p, "ModuleTuningData.module");
}

TEST(FeaturizeMalformed, TileKernelWithoutModule) {
  TempDir d;
  xla::TuningData rec;
  ASSERT_TRUE(rec.ParseFromString(test::read_bytes(test::real_tile_record())));
  rec.mutable_modules(3)->clear_module();
  const std::string p = d.file("no_module.pb");
  test::write_bytes(p, rec.SerializeAsString());
  expect_record_error(p, "TuningData.modules[3].module");
  expect_cli_error(p, "TuningData.modules[3].module");
}

TEST(FeaturizeMalformed, OneBadKernelWritesNothing) {
  TempDir d;
  xla::TuningData rec;
  ASSERT_TRUE(rec.ParseFromString(test::read_bytes(test::real_tile_record())));
  for (auto& run : *rec.mutable_modules(7)->mutable_runs()) run.set_is_default(false);
  const std::string p = d.file("no_default.pb");
  test::write_bytes(p, rec.SerializeAsString());
  expect_record_error(p, "TuningData.modules[7].runs");
  expect_cli_error(p, "TuningData.modules[7].runs");  // kernels 0-6 were fine: still no files
}

TEST(FeaturizeMalformed, DanglingIdsAndBadConfigs) {
  TempDir d;
  const std::string bytes = test::read_bytes(test::real_layout_record());
  auto variant = [&](const std::string& name, auto edit) {
    xla::ModuleTuningData rec;
    EXPECT_TRUE(rec.ParseFromString(bytes));
    edit(rec);
    const std::string p = d.file(name);
    test::write_bytes(p, rec.SerializeAsString());
    return p;
  };
  expect_record_error(
      variant(
          "operand.pb",
          [](auto& r) {
            r.mutable_module()->mutable_computations(1)->mutable_instructions(2)->set_operand_ids(
                0, 999999);
          }),
      "ModuleTuningData.module.computations[1].instructions[2].operand_ids");
  expect_record_error(variant("called.pb",
                              [](auto& r) {
                                auto* c = r.mutable_module()->mutable_computations(
                                    r.module().computations_size() - 1);
                                for (auto& inst : *c->mutable_instructions())
                                  if (inst.called_computation_ids_size() > 0) {
                                    inst.set_called_computation_ids(0, 987654);
                                    break;
                                  }
                              }),
                      "ModuleTuningData.module.computations[142].instructions[", RecordKind::kAuto,
                      "].called_computation_ids[0]: expected the id of a computation");
  expect_record_error(
      variant("root.pb",
              [](auto& r) { r.mutable_module()->mutable_computations(0)->set_root_id(424242); }),
      "ModuleTuningData.module.computations[0].root_id");
  expect_record_error(
      variant("index.pb", [](auto& r) { r.set_config_index_to_node(5, 100000); }),
      "ModuleTuningData.config_index_to_node[5]: expected a node index in [0, 3162]");
  expect_record_error(
      variant("dup.pb", [](auto& r) { r.set_config_index_to_node(5, r.config_index_to_node(4)); }),
      "ModuleTuningData.config_index_to_node[5]: expected distinct node indices");
  expect_record_error(variant("dims.pb",
                              [](auto& r) {
                                r.mutable_runs(1)
                                    ->mutable_module_config()
                                    ->mutable_layout_config()
                                    ->mutable_nodes(10)
                                    ->mutable_tensors(0)
                                    ->set_dims(0, 7);
                              }),
                      "ModuleTuningData.runs[1].module_config.layout_config.nodes[10].tensors[0]"
                      ".dims[0]: expected a dimension in [0, 5]");
  expect_record_error(variant("nodes.pb",
                              [](auto& r) {
                                r.mutable_runs(2)
                                    ->mutable_module_config()
                                    ->mutable_layout_config()
                                    ->mutable_nodes()
                                    ->RemoveLast();
                              }),
                      "ModuleTuningData.runs[2].module_config.layout_config.nodes: expected 62");
  expect_record_error(variant("nodefault.pb",
                              [](auto& r) {
                                for (auto& run : *r.mutable_runs()) run.set_is_default(false);
                              }),
                      "ModuleTuningData.runs: expected a run without error that has is_default");
  expect_record_error(variant("runtime.pb", [](auto& r) { r.mutable_runs(3)->clear_profile(); }),
                      "ModuleTuningData.runs[3].profile.compute_time_ns");
}

}  // namespace
}  // namespace tgraph::featurize
