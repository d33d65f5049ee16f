// Tests of the synthetic generator: HLO encoding, cost model properties, configuration sampling,
// and whole tiny datasets (loaders, numpy, determinism).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "../test_util.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/synth/config_sampler.h"
#include "tgraph/synth/cost_model.h"
#include "tgraph/synth/hlo_builder.h"
#include "tgraph/synth/models.h"
#include "tgraph/synth/synth.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;
using namespace tgraph::synth;

namespace {

// x [N, H, W, C] -> conv1 -> relu (maximum with a broadcast 0) -> conv2 -> root tuple.
struct TwoConvs {
  Module m;
  int32_t conv1 = -1, relu = -1, conv2 = -1;
};

TwoConvs two_convs(int64_t n, int64_t hw, int64_t c) {
  TwoConvs t;
  HloBuilder b("two_convs");
  b.begin("cluster_0");
  int32_t x = b.parameter(0, ElemType::kBF16, {n, hw, hw, c});
  int32_t w1 = b.parameter(1, ElemType::kBF16, {3, 3, c, c});
  int32_t w2 = b.parameter(2, ElemType::kBF16, {3, 3, c, c});
  ConvDims cd;
  cd.in_batch = 0, cd.in_feature = 3, cd.in_spatial = {1, 2};
  cd.k_spatial = {0, 1}, cd.k_in = 2, cd.k_out = 3;
  cd.out_batch = 0, cd.out_feature = 3, cd.out_spatial = {1, 2};
  WindowDim wd;
  wd.size = 3, wd.pad_lo = 1, wd.pad_hi = 1;
  t.conv1 = b.convolution(x, w1, {wd, wd}, cd);
  t.relu = b.binary(op::kMaximum, t.conv1, b.splat(ElemType::kBF16, {n, hw, hw, c}));
  t.conv2 = b.convolution(t.relu, w2, {wd, wd}, cd);
  b.end(b.tuple({t.conv2}));
  t.m = b.finish();
  return t;
}

void set_slot(std::vector<float>& row, int64_t k, int slot, std::vector<int> dims) {
  for (int i = 0; i < 6; ++i)
    row[size_t(k * 18 + slot * 6 + i)] = i < int(dims.size()) ? float(dims[size_t(i)]) : -1.f;
}

std::vector<float> unset_row(const LayoutCostModel& cm) {
  return std::vector<float>(size_t(cm.num_config_nodes()) * 18, -1.f);
}

}  // namespace

// ---- encoding ---------------------------------------------------------------------------------

TEST(SynthHlo, ConvolutionFeaturesFollowTheTpuGraphsFeaturizer) {
  TwoConvs t = two_convs(8, 16, 32);
  auto f = featurize(t.m.at(t.conv1));
  EXPECT_EQ(f[2 + int(ElemType::kBF16)], 1.f);  // col 15: bf16
  EXPECT_EQ(f[21], 8.f);
  EXPECT_EQ(f[24], 32.f);
  EXPECT_EQ(f[27], 8.f + 16 + 16 + 32);  // dims sum
  EXPECT_EQ(f[28], 8.f * 16 * 16 * 32);  // dims product
  EXPECT_EQ(f[37], 3.f);                 // window size
  EXPECT_EQ(f[43], 6.f);                 // window size sum
  EXPECT_EQ(f[44], 9.f);                 // window size product
  EXPECT_EQ(f[53], 1.f);                 // padding low
  EXPECT_EQ(f[92], 2.f);                 // window reversal false count
  EXPECT_EQ(f[94], 3.f);                 // input feature dim
  EXPECT_EQ(f[95], 1.f);
  EXPECT_EQ(f[96], 2.f);  // input spatial dims
  EXPECT_EQ(f[99], 2.f);
  EXPECT_EQ(f[100], 3.f);  // kernel in/out feature dims
  EXPECT_EQ(f[106], 3.f);  // output feature dim
  EXPECT_EQ(f[107], 1.f);
  EXPECT_EQ(f[108], 1.f);                   // group counts
  const float m2m[6] = {3, 2, 1, 0, 0, 0};  // row-major, 0-padded
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f[size_t(134 + i)], m2m[i]) << i;
  // A scalar: empty products are 1 in node features (cols 28, 44, ..., 132), nothing else set
  // apart from the element type.
  HloBuilder b("s");
  b.begin("c");
  int32_t p = b.parameter(0, ElemType::kS32, {});
  int32_t a = b.binary(op::kAdd, p, p);
  b.end(a);
  Module m = b.finish();
  auto g = featurize(m.at(a));
  std::set<int> ones{
      0, 2 + int(ElemType::kS32), 28, 44, 52, 60, 68, 76, 84, 112, 116, 120, 124, 128, 132};
  for (int i = 0; i < 140; ++i) EXPECT_EQ(g[size_t(i)], ones.count(i) ? 1.f : 0.f) << "col " << i;
}

TEST(SynthHlo, EdgesAreUserAfterOperandSortedAndReachCalledRoots) {
  ModelSpec s;
  s.family = "resnet";
  s.train = true;
  s.depth = 1;
  s.batch = 4;
  s.image = 32;
  s.width = 16;
  s.classes = 10;
  s.name = "r";
  Module m = build_model(s);
  auto e = edge_index(m);
  ASSERT_FALSE(e.empty());
  std::set<std::pair<int64_t, int64_t>> seen;
  for (size_t i = 0; i < e.size(); i += 2) {
    EXPECT_GT(e[i], e[i + 1]);
    if (i > 0) {
      EXPECT_TRUE(std::make_pair(e[i - 2], e[i - 1]) < std::make_pair(e[i], e[i + 1]));
    }
    seen.insert({e[i], e[i + 1]});
  }
  int calls = 0;
  for (int64_t u = 0; u < m.size(); ++u)
    for (int32_t r : m.at(u).called_roots) {
      EXPECT_TRUE(seen.count({u, r})) << "no edge from caller " << u << " to root " << r;
      EXPECT_TRUE(m.at(r).is_root);
      ++calls;
    }
  EXPECT_GT(calls, 0);
  // A training step: while body and condition close splits, then the entry computation.
  ASSERT_EQ(m.splits.size(), 4u);
  EXPECT_EQ(m.splits.front(), 0);
  EXPECT_EQ(m.splits.back(), m.size());
  EXPECT_EQ(m.at(m.size() - 1).opcode, op::kWhile);
}

// ---- cost model ------------------------------------------------------------------------------

TEST(SynthCostModel, ProducerLayoutChangesTheConsumersTransitionCost) {
  TwoConvs t = two_convs(16, 32, 64);
  LayoutCostModel cm(t.m);
  ASSERT_EQ(cm.num_config_nodes(), 2);  // conv1 (k = 0), conv2 (k = 1)
  auto row = unset_row(cm);
  CostBreakdown base;
  const double r0 = cm.runtime_ns(row.data(), &base);
  EXPECT_EQ(base.copy_ns[size_t(t.relu)], 0.0);
  EXPECT_EQ(base.copy_ns[size_t(t.conv2)], 0.0);
  // conv1 writes its output W-minor; relu follows its operand, so conv2 (whose input slot pins
  // the row-major layout) now pays a transposing copy on its input edge.
  set_slot(row, 1, 1, {3, 2, 1, 0});
  CostBreakdown pinned;
  const double r1 = cm.runtime_ns(row.data(), &pinned);
  EXPECT_EQ(pinned.copy_ns[size_t(t.conv2)], 0.0);
  EXPECT_DOUBLE_EQ(r1, r0);  // pinning what is delivered anyway changes nothing
  set_slot(row, 0, 0, {2, 3});
  CostBreakdown moved;
  const double r2 = cm.runtime_ns(row.data(), &moved);
  EXPECT_GT(moved.copy_ns[size_t(t.conv2)], 0.0);
  EXPECT_NE(moved.op_ns[size_t(t.relu)], pinned.op_ns[size_t(t.relu)]);  // relu's bytes changed
  EXPECT_NE(r2, r1);
  // Unpinning conv2's input removes the copy but changes conv2's own cost (its input layout).
  set_slot(row, 1, 1, {});
  CostBreakdown accepted;
  cm.runtime_ns(row.data(), &accepted);
  EXPECT_GT(accepted.copy_ns[size_t(t.conv2)], 0.0);  // unset conv input: normalised (a copy)
  set_slot(row, 1, 1, {2, 3});                        // accept the delivered W-minor layout
  CostBreakdown agreed;
  cm.runtime_ns(row.data(), &agreed);
  EXPECT_EQ(agreed.copy_ns[size_t(t.conv2)], 0.0);
  EXPECT_NE(agreed.op_ns[size_t(t.conv2)], pinned.op_ns[size_t(t.conv2)]);
}

TEST(SynthCostModel, IncrementalEvaluationMatchesAFreshWorkspace) {
  ModelSpec s;
  s.family = "bert";
  s.train = true;
  s.adam = true;
  s.depth = 1;
  s.hidden = 128;
  s.heads = 2;
  s.seq = 64;
  s.batch = 8;
  s.vocab = 1000;
  s.name = "b";
  Module m = build_model(s);
  LayoutCostModel cm(m);
  for (Search search : {Search::kRandom, Search::kDefault}) {
    LayoutConfigSampler smp(m, search, 11, 200);
    std::vector<float> row(size_t(cm.num_config_nodes()) * 18);
    auto ws = cm.make_workspace();  // reused across configurations, in a scrambled order
    for (int64_t i = 0; i < 200; ++i) {
      const int64_t c = (i * 37) % 200;
      smp.row(c, row.data());
      const double reused = cm.runtime_ns(row.data(), ws);
      const double fresh = cm.runtime_ns(row.data());
      CostBreakdown bd;
      cm.runtime_ns(row.data(), &bd);
      double sum = 0;
      for (size_t n = 0; n < bd.op_ns.size(); ++n) sum += bd.op_ns[n] + bd.copy_ns[n];
      EXPECT_DOUBLE_EQ(reused, fresh) << c;
      EXPECT_NEAR(sum, fresh, 1e-6 * fresh) << c;
    }
  }
}

TEST(SynthCostModel, DefaultConfigurationIsNotAlwaysBest) {
  // In a training step the compiler's default normalises backward-conv and gradient-dot operands
  // to their canonical layouts (copies); the default search finds configurations that avoid them.
  int graphs_with_better = 0, graphs = 0;
  for (const std::string fam : {"resnet", "vgg", "unet3d", "bert"}) {
    ModelSpec s;
    s.family = fam;
    s.train = true;
    s.adam = fam == "bert";
    s.depth = 2;
    s.batch = fam == "unet3d" ? 2 : 16;
    s.image = fam == "unet3d" ? 32 : 64;
    s.width = fam == "unet3d" ? 8 : 32;
    s.hidden = 256;
    s.heads = 4;
    s.seq = 128;
    s.vocab = 1000;
    s.name = fam;
    Module m = build_model(s);
    LayoutCostModel cm(m);
    const double def = cm.default_runtime_ns();
    LayoutConfigSampler smp(m, Search::kDefault, 5, 300);
    std::vector<float> row(size_t(cm.num_config_nodes()) * 18);
    double best = def, worst = def;
    for (int64_t c = 0; c < 300; ++c) {
      smp.row(c, row.data());
      const double r = cm.runtime_ns(row.data());
      best = std::min(best, r);
      worst = std::max(worst, r);
    }
    ++graphs;
    graphs_with_better += best < 0.98 * def;
    EXPECT_GT(worst, 1.01 * def) << fam;  // and layouts matter in both directions
  }
  EXPECT_GE(graphs_with_better, 2) << "of " << graphs;
}

TEST(SynthCostModel, ReshapeIsABitcastOnlyWhenElementOrderIsKept) {
  const std::vector<int64_t> in{4, 8, 16}, out{32, 16};
  auto L = [](std::vector<uint8_t> m) {
    Layout l;
    l.rank = uint8_t(m.size());
    for (size_t i = 0; i < m.size(); ++i) l.m2m[i] = m[i];
    return l;
  };
  EXPECT_TRUE(reshape_is_bitcast(in, L({2, 1, 0}), out, L({1, 0})));
  EXPECT_FALSE(reshape_is_bitcast(in, L({1, 2, 0}), out, L({1, 0})));
  // Merged dims kept together in the same order on both sides, but made major: still a bitcast.
  EXPECT_TRUE(reshape_is_bitcast(in, L({1, 0, 2}), out, L({0, 1})));
  EXPECT_FALSE(reshape_is_bitcast(in, L({0, 2, 1}), out, L({0, 1})));  // group split
  EXPECT_FALSE(reshape_is_bitcast(in, L({0, 1, 2}), out, L({0, 1})));
  // Size-1 dims never matter.
  EXPECT_TRUE(reshape_is_bitcast({1, 8, 16}, L({0, 2, 1}), {8, 16}, L({1, 0})));
  // Padded bytes: (8,128) tiles on the two minor-most dims.
  const int64_t d[2] = {3, 200};
  EXPECT_EQ(padded_bytes(d, L({1, 0}), 4), 8.0 * 256 * 4);
  EXPECT_EQ(padded_bytes(d, L({0, 1}), 4), 200.0 * 128 * 4);
  EXPECT_EQ(padded_bytes(d, L({1, 0}), 2), 16.0 * 256 * 2);
}

TEST(SynthCostModel, TileRuntimeDependsOnTheTiling) {
  Rng rng(3);
  int kernels = 0, default_not_best = 0;
  for (int i = 0; i < 40; ++i) {
    TileKernel k = build_tile_kernel(rng);
    TileConfig def = default_tile_config(k);
    const double d = tile_runtime_ns(k, def);
    EXPECT_GT(d, 0);
    // Halving / doubling one output bound at a time.
    double best = d, worst = d;
    for (size_t j = 0; j < def.output_bounds.size(); ++j)
      for (int64_t f : {2, 4}) {
        TileConfig c = def;
        c.output_bounds[j] = std::min(k.out_dims[j], c.output_bounds[j] * f);
        const double r = tile_runtime_ns(k, c);
        best = std::min(best, r);
        worst = std::max(worst, r);
        c = def;
        c.output_bounds[j] = std::max<int64_t>(1, c.output_bounds[j] / f);
        const double r2 = tile_runtime_ns(k, c);
        best = std::min(best, r2);
        worst = std::max(worst, r2);
      }
    ++kernels;
    default_not_best += best < 0.99 * d;
    EXPECT_GT(worst, d) << k.kind;
  }
  EXPECT_GT(default_not_best, 0) << "of " << kernels;
  EXPECT_LT(default_not_best, kernels);
  auto f = tile_config_features({{}, {4, 2}});
  EXPECT_EQ(f[7], 0.f);  // empty kernel_bounds: all 0, product included
  EXPECT_EQ(f[8], 4.f);
  EXPECT_EQ(f[14], 6.f);
  EXPECT_EQ(f[15], 8.f);
  EXPECT_EQ(f[23], 0.f);
}

// ---- configurations --------------------------------------------------------------------------

TEST(SynthConfigs, RowsArePureFunctionsOfTheIndexAndValid) {
  ModelSpec s;
  s.family = "inception";
  s.depth = 2;
  s.batch = 8;
  s.image = 64;
  s.width = 32;
  s.name = "i";
  Module m = build_model(s);
  const auto ids = m.configurable_nodes();
  const size_t nc = ids.size();
  double set_fraction[2] = {0, 0};
  for (Search search : {Search::kRandom, Search::kDefault}) {
    LayoutConfigSampler a(m, search, 99, 300), b(m, search, 99, 300), other(m, search, 98, 300);
    std::vector<float> ra(nc * 18), rb(nc * 18), ro(nc * 18);
    int64_t set_slots = 0, differs = 0;
    for (int64_t c = 0; c < 300; ++c) {
      a.row(c, ra.data());
      b.row(299 - c, rb.data());  // other order: same rows
      b.row(c, rb.data());
      other.row(c, ro.data());
      EXPECT_EQ(ra, rb);
      differs += ra != ro;
      for (size_t k = 0; k < nc; ++k) {
        const Instr& in = m.at(ids[k]);
        for (int slot = 0; slot < 3; ++slot) {
          const float* sl = &ra[k * 18 + size_t(slot) * 6];
          if (sl[0] < 0) {
            for (int i = 0; i < 6; ++i) EXPECT_EQ(sl[i], -1.f);
            continue;
          }
          ++set_slots;
          ASSERT_LT(slot, in.opcode == op::kReshape ? 2 : 3);
          const int rank = slot == 0 ? in.rank() : m.at(in.operands[size_t(slot - 1)]).rank();
          std::set<int> seen;
          int n = 0;
          for (; n < 6 && sl[n] >= 0; ++n) {
            EXPECT_LT(int(sl[n]), rank);
            EXPECT_TRUE(seen.insert(int(sl[n])).second);
          }
          for (int i = n; i < 6; ++i) EXPECT_EQ(sl[i], -1.f);
          // Convolutions list the two minor-most dims, dots and reshapes full permutations.
          EXPECT_EQ(n, in.opcode == op::kConvolution ? std::min(2, rank) : rank);
        }
      }
    }
    EXPECT_GT(differs, 250);
    set_fraction[search == Search::kDefault] = double(set_slots) / double(300 * nc * 3);
  }
  // The default search stays near the default (mostly -1); the random search sets many slots.
  EXPECT_GT(set_fraction[0], 0.2);
  EXPECT_LT(set_fraction[1], 0.5 * set_fraction[0]);
}

// ---- whole datasets -----------------------------------------------------------------------------

namespace {

SynthReport generate(const std::string& dir, uint64_t seed, int threads) {
  SynthOptions o;
  o.out_dir = dir;
  o.preset = "tiny";
  o.seed = seed;
  o.threads = threads;
  return synthesize(o);
}

std::map<std::string, std::string> read_tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).string()] = tgraph::test::read_bytes(e.path().string());
  return files;
}

}  // namespace

TEST(SynthDataset, TinyPresetPassesTheLoadersAndMatchesTheSchema) {
  tgraph::test::TempDir d;
  SynthReport r = generate(d.path().string(), 1, 2);
  const Preset p = preset_by_name("tiny");
  const std::regex hex32("[0-9a-f]{32}");
  const std::regex tile_stem("[A-Za-z0-9_.]+_-?[0-9a-f]{1,16}");
  std::map<std::string, int> per_dir;
  std::map<std::string, std::set<std::string>> stems;  // "xla:train" -> stems (per search)
  int layout_files = 0, tile_files = 0;
  for (const auto& f : r.files) {
    const std::string path = (d.path() / f.path).string();
    const fs::path fp(f.path);
    const std::string stem = fp.stem().string();
    const std::string dir = fp.parent_path().string();
    per_dir[dir]++;
    if (f.split == "test") {
      EXPECT_TRUE(std::regex_match(stem, hex32)) << f.path;
    } else if (f.collection == "tile:xla") {
      EXPECT_TRUE(std::regex_match(stem, tile_stem)) << f.path;
    }
    if (f.collection == "tile:xla") {
      ++tile_files;
      tgraph::TileGraph g = tgraph::load_tile(path);
      EXPECT_EQ(g.labelled, f.split != "test") << f.path;
      EXPECT_EQ(g.num_configs, f.configs);
      for (int64_t v : g.config_runtime_normalizers) EXPECT_GT(v, 0);
      if (f.split != "test") {
        EXPECT_EQ(g.config_runtime[0], g.config_runtime_normalizers[0]);
      }
      std::set<std::vector<float>> rows;
      for (int64_t c = 0; c < g.num_configs; ++c) {
        std::vector<float> row(g.config_feat.begin() + c * 24, g.config_feat.begin() + c * 24 + 24);
        EXPECT_EQ(row[16], 0.f);  // input_bounds always empty
        EXPECT_GT(row[15], 0.f);  // output_bounds product
        rows.insert(row);
      }
      EXPECT_EQ(int64_t(rows.size()), g.num_configs) << "duplicate tile configs in " << f.path;
      continue;
    }
    ++layout_files;
    tgraph::LayoutGraph g = tgraph::load_layout(path);
    EXPECT_EQ(g.labelled, f.split != "test") << f.path;
    if (f.split != "train") {
      EXPECT_EQ(g.num_configs, p.eval_configs) << f.path;
    }
    EXPECT_EQ(g.num_nodes, f.nodes);
    EXPECT_EQ(g.num_config_nodes, f.config_nodes);
    EXPECT_GT(g.num_config_nodes, 0);
    for (size_t i = 0; i < g.edge_index.size(); i += 2)
      EXPECT_GT(g.edge_index[i], g.edge_index[i + 1]);
    for (int64_t id : g.node_config_ids) {
      const uint8_t opc = g.node_opcode[size_t(id)];
      EXPECT_TRUE(opc == 26 || opc == 34 || opc == 75) << int(opc);
    }
    // Node features agree with the shapes: dims product column, layout columns row-major.
    for (int64_t n = 0; n < g.num_nodes; ++n) {
      const float* row = &g.node_feat[size_t(n) * 140];
      int rank = 0;
      double prod = 1;
      while (rank < 6 && row[21 + rank] > 0) prod *= row[21 + rank++];
      EXPECT_FLOAT_EQ(row[28], float(prod));
      for (int i = 0; i < 6; ++i)
        EXPECT_EQ(row[134 + i], i < rank ? float(rank - 1 - i) : 0.f) << f.path << " node " << n;
    }
    const std::string source = f.collection.substr(7, 3);
    stems[source + ":" + f.split + ":" + f.collection.substr(11)].insert(stem);
  }
  EXPECT_EQ(layout_files, 2 * (p.xla_train + p.xla_valid + p.xla_test) +
                              2 * (p.nlp_train + p.nlp_valid + p.nlp_test));
  EXPECT_EQ(tile_files, p.tile_train + p.tile_valid + p.tile_test);
  // The same graphs (same stems) in random and default.
  for (const char* src : {"xla", "nlp"})
    for (const char* split : {"train", "valid", "test"})
      EXPECT_EQ(stems[std::string(src) + ":" + split + ":random"],
                stems[std::string(src) + ":" + split + ":default"])
          << src << " " << split;
  EXPECT_EQ(per_dir.size(), 15u);
  EXPECT_TRUE(fs::exists(d.path() / "synth.json"));

  // numpy reads every file with the exact keys (in order), dtypes and shapes.
  if (!tgraph::test::have_numpy()) GTEST_SKIP() << "no numpy in /usr/bin/python3";
  const std::string out = tgraph::test::run_python(R"(
import glob, numpy as np, os, sys
root = ')" + (d.path() / "npz").string() + R"('
L = ['node_feat', 'node_opcode', 'edge_index', 'node_config_feat', 'node_config_ids', 'config_runtime', 'node_splits']
T = ['node_feat', 'node_opcode', 'edge_index', 'config_feat', 'config_runtime', 'config_runtime_normalizers']
n = 0
for f in sorted(glob.glob(root + '/**/*.npz', recursive=True)):
    z = np.load(f)
    tile = '/tile/' in f
    assert list(z.keys()) == (T if tile else L), (f, list(z.keys()))
    N = z['node_feat'].shape[0]
    assert z['node_feat'].dtype == np.float32 and z['node_feat'].shape == (N, 140), f
    assert z['node_opcode'].dtype == np.uint8 and z['node_opcode'].shape == (N,), f
    e = z['edge_index']
    assert e.dtype == np.int64 and e.ndim == 2 and e.shape[1] == 2, f
    assert (e[:, 0] > e[:, 1]).all(), f
    assert (np.lexsort((e[:, 1], e[:, 0])) == np.arange(len(e))).all(), f
    rt = z['config_runtime']
    assert rt.dtype == np.int64, f
    if tile:
        C = z['config_feat'].shape[0]
        assert z['config_feat'].dtype == np.float32 and z['config_feat'].shape == (C, 24), f
        assert rt.shape == (C,) and z['config_runtime_normalizers'].dtype == np.int64, f
        assert z['config_runtime_normalizers'].shape == (C,), f
    else:
        cf = z['node_config_feat']
        C, NC = cf.shape[0], cf.shape[1]
        assert cf.dtype == np.float32 and cf.shape == (C, NC, 18), f
        assert set(np.unique(cf)).issubset(set(range(-1, 6))), f
        ids = z['node_config_ids']
        assert ids.dtype == np.int64 and ids.shape == (NC,) and (np.diff(ids) > 0).all(), f
        assert rt.shape == (C,), f
        s = z['node_splits']
        assert s.dtype == np.int64 and s.ndim == 2 and s.shape[0] == 1, f
        assert s[0, 0] == 0 and s[0, -1] == N, f
    if '/test/' in f:
        assert (rt == 0).all(), f
    else:
        assert (rt > 0).all(), f
    n += 1
print('ok', n)
)");
  EXPECT_EQ(out, "ok " + std::to_string(r.files.size()) + "\n");
}

TEST(SynthDataset, SameSeedGivesByteIdenticalFilesWhateverTheThreadCount) {
  tgraph::test::TempDir a, b, c;
  generate(a.path().string(), 7, 1);
  generate(b.path().string(), 7, 2);
  generate(c.path().string(), 8, 2);
  const auto fa = read_tree(a.path()), fb = read_tree(b.path()), fc = read_tree(c.path());
  ASSERT_GT(fa.size(), 50u);
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [name, bytes] : fa) {
    auto it = fb.find(name);
    ASSERT_NE(it, fb.end()) << name;
    EXPECT_TRUE(bytes == it->second) << name << " differs between runs";
  }
  // --only-largest writes exactly the files of that graph in a full run.
  tgraph::test::TempDir l;
  SynthOptions o;
  o.out_dir = l.path().string();
  o.preset = "tiny";
  o.seed = 7;
  o.only_largest = true;
  SynthReport lr = synthesize(o);
  ASSERT_EQ(lr.files.size(), 2u);
  int64_t max_nodes = 0;
  for (const auto& [name, bytes] : fa) {
    (void)bytes;
    if (name.find("/layout/") == std::string::npos) continue;
    max_nodes = std::max(max_nodes, tgraph::load_layout((a.path() / name).string()).num_nodes);
  }
  for (const auto& f : lr.files) {
    EXPECT_EQ(f.nodes, max_nodes);
    ASSERT_TRUE(fa.count(f.path)) << f.path;
    EXPECT_TRUE(fa.at(f.path) == tgraph::test::read_bytes((l.path() / f.path).string())) << f.path;
  }
  // Another seed: other graphs, stems and configurations.
  int same = 0;
  for (const auto& [name, bytes] : fc) {
    auto it = fa.find(name);
    same += it != fa.end() && it->second == bytes;
  }
  EXPECT_EQ(same, 0);
  EXPECT_NE(fa.begin()->first, "");
}

TEST(SynthDataset, BadOptionsAreOneLineErrors) {
  tgraph::test::TempDir d;
  SynthOptions o;
  o.out_dir = d.path().string();
  o.preset = "huge";
  try {
    synthesize(o);
    FAIL() << "no error";
  } catch (const tgraph::Error& e) {
    EXPECT_STREQ(e.what(), "--preset: expected tiny, small or full, found 'huge'");
  }
  // A second run into the same directory refuses to mix datasets unless forced.
  o.preset = "tiny";
  o.max_configs = 20;
  synthesize(o);
  EXPECT_THROW(synthesize(o), tgraph::Error);
  o.force = true;
  SynthReport r = synthesize(o);
  for (const auto& f : r.files) EXPECT_LE(f.configs, 20) << f.path;
}
