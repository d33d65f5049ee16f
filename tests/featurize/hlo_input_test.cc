// Tests of reading users' HLO dumps (hlo_input.h): the HloModuleProto of the real layout record in
// ../shared/data/real written as every dump kind XLA users produce (HloProto, bare module,
// HloSnapshot; binary, text format, gzip) must featurize exactly like the record, and the files
// that are not such dumps (HLO text, StableHLO, garbage, broken gzip) must give clear errors.
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../test_util.h"
#include "proto/tuning.pb.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/featurize/hlo_input.h"
#include "tgraph/featurize/opcodes.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

namespace tgraph::featurize {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// gzip (a single member, as --xla_dump_compress_protos writes) of `data`.
std::string gzip(const std::string& data, int level = 6) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string text_of(const google::protobuf::Message& m) {
  std::string s;
  EXPECT_TRUE(google::protobuf::TextFormat::PrintToString(m, &s));
  return s;
}

// The error `f` throws: one line starting with "<path>: ", containing every one of `parts`.
template <typename F>
void expect_error(F f, const std::string& path, const std::vector<std::string>& parts) {
  const std::string msg = test::error_of(f);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  for (const auto& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "want '" << p << "' in: " << msg;
}

struct Variant {
  std::string file;
  HloFileKind kind;
  bool text, gz;
};

// ---------------------------------------------------------------- the real module as dumps

class HloDumps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    record_ = std::make_unique<xla::ModuleTuningData>();
    ASSERT_TRUE(record_->ParseFromString(test::read_bytes(test::real_layout_record())));
    golden_ =
        std::make_unique<LayoutGraph>(featurize_record(test::real_layout_record()).layouts.at(0));

    const xla::HloModuleProto& module = record_->module();
    xla::HloProto proto;
    *proto.mutable_hlo_module() = module;
    xla::HloSnapshot snap;
    *snap.mutable_hlo() = proto;
    snap.set_execution_platform("Host");
    // A snapshot also holds the arguments and result (LiteralProto, fields 2 and 3, undeclared
    // here): append a fake argument on the wire.
    std::string snap_bytes = snap.SerializeAsString();
    snap_bytes +=
        std::string("\x12\x04\x0a\x02\x10\x0b", 6);  // arguments { shape { element_type: F32 } }

    auto put = [](const std::string& name, const std::string& bytes) {
      test::write_bytes(dir_->file(name), bytes);
    };
    put("m.hlo.pb", proto.SerializeAsString());
    put("m.module.pb", module.SerializeAsString());
    put("m.snapshot.pb", snap_bytes);
    put("m.hlo.pb.gz", gzip(proto.SerializeAsString()));
    put("m.snapshot.pb.gz", gzip(snap_bytes, 9));
    put("m.hlo.pbtxt", text_of(proto));
    put("m.module.pbtxt", text_of(module));
    put("m.snapshot.pbtxt", text_of(snap));
    put("m.module.pbtxt.gz", gzip(text_of(module), 1));
    variants_ = {
        {"m.hlo.pb", HloFileKind::kHloProto, false, false},
        {"m.module.pb", HloFileKind::kHloModule, false, false},
        {"m.snapshot.pb", HloFileKind::kHloSnapshot, false, false},
        {"m.hlo.pb.gz", HloFileKind::kHloProto, false, true},
        {"m.snapshot.pb.gz", HloFileKind::kHloSnapshot, false, true},
        {"m.hlo.pbtxt", HloFileKind::kHloProto, true, false},
        {"m.module.pbtxt", HloFileKind::kHloModule, true, false},
        {"m.snapshot.pbtxt", HloFileKind::kHloSnapshot, true, false},
        {"m.module.pbtxt.gz", HloFileKind::kHloModule, true, true},
    };
    graph_ = std::make_unique<ModuleGraph>(featurize_module_file(dir_->file("m.hlo.pb.gz")));
  }
  static void TearDownTestSuite() {
    graph_.reset();
    golden_.reset();
    record_.reset();
    dir_.reset();
  }
  static std::string path(const std::string& f) { return dir_->file(f); }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<xla::ModuleTuningData> record_;
  static std::unique_ptr<LayoutGraph> golden_;
  static std::unique_ptr<ModuleGraph> graph_;
  static std::vector<Variant> variants_;
};
std::unique_ptr<TempDir> HloDumps::dir_;
std::unique_ptr<xla::ModuleTuningData> HloDumps::record_;
std::unique_ptr<LayoutGraph> HloDumps::golden_;
std::unique_ptr<ModuleGraph> HloDumps::graph_;
std::vector<Variant> HloDumps::variants_;

TEST_F(HloDumps, EveryKindIsDetectedFromItsContents) {
  for (const auto& v : variants_) {
    SCOPED_TRACE(v.file);
    const HloFileInfo info = detect_hlo_file(path(v.file));
    EXPECT_EQ(info.kind, v.kind);
    EXPECT_EQ(info.text_format, v.text);
    EXPECT_EQ(info.gzip, v.gz);
    const auto tried = try_detect_hlo_file(path(v.file));
    ASSERT_TRUE(tried.has_value());
    EXPECT_EQ(tried->kind, v.kind);
    EXPECT_TRUE(is_hlo_dump_path(path(v.file)));
  }
  EXPECT_EQ(detect_hlo_file(path("m.hlo.pb.gz")).describe(), "HloProto (binary, gzip)");
  EXPECT_EQ(detect_hlo_file(path("m.module.pbtxt")).describe(), "HloModuleProto (text format)");
  EXPECT_EQ(detect_hlo_file(path("m.snapshot.pb")).describe(), "HloSnapshot (binary)");
  // The tuning records themselves.
  EXPECT_EQ(detect_hlo_file(test::real_layout_record()).kind, HloFileKind::kTuningLayout);
  EXPECT_EQ(detect_hlo_file(test::real_tile_record()).kind, HloFileKind::kTuningTile);
  EXPECT_EQ(detect_hlo_file(test::real_tile_record()).describe(),
            "TuningData tile record (binary)");
}

TEST_F(HloDumps, EveryKindFeaturizesExactlyLikeTheRecord) {
  const LayoutGraph& want = *golden_;
  ASSERT_EQ(want.num_nodes, 3163);
  ASSERT_EQ(want.num_edges, 5112);
  for (const auto& v : variants_) {
    SCOPED_TRACE(v.file);
    const ModuleGraph m = featurize_module_file(path(v.file));
    const LayoutGraph& g = m.graph;
    EXPECT_EQ(m.info.kind, v.kind);
    EXPECT_EQ(m.module_name, "main__.10904");
    EXPECT_EQ(g.stem, "main__.10904");
    EXPECT_EQ(g.num_nodes, 3163);
    EXPECT_EQ(g.num_edges, 5112);
    EXPECT_EQ(g.node_feat, want.node_feat);
    EXPECT_EQ(g.node_opcode, want.node_opcode);
    EXPECT_EQ(g.edge_index, want.edge_index);
    EXPECT_EQ(g.node_splits, want.node_splits);
    EXPECT_EQ(m.node_names.size(), 3163u);
    EXPECT_EQ(m.unknown_opcode_nodes, 0);
    EXPECT_TRUE(std::includes(g.node_config_ids.begin(), g.node_config_ids.end(),
                              want.node_config_ids.begin(), want.node_config_ids.end()));
    EXPECT_EQ(g.node_config_ids, graph_->graph.node_config_ids);
    EXPECT_EQ(g.node_config_feat, graph_->graph.node_config_feat);
    EXPECT_EQ(m.node_names, graph_->node_names);
  }
}

TEST_F(HloDumps, ConfigurableNodesAreEveryConvolutionDotAndReshape) {
  const LayoutGraph& g = graph_->graph;
  EXPECT_EQ(g.num_configs, 1);
  EXPECT_EQ(g.config_runtime, std::vector<int64_t>{0});
  EXPECT_FALSE(g.labelled);
  EXPECT_TRUE(g.config_feat_loaded);
  ASSERT_EQ(g.node_config_feat.size(), static_cast<size_t>(g.num_config_nodes) * 18);
  EXPECT_TRUE(std::is_sorted(g.node_config_ids.begin(), g.node_config_ids.end()));
  std::map<int, int> n;
  for (int64_t id : g.node_config_ids) ++n[g.node_opcode.at(id)];
  int conv = 0, dot = 0, reshape = 0;
  for (uint8_t op : g.node_opcode) {
    conv += op == opcode_id("convolution");
    dot += op == opcode_id("dot");
    reshape += op == opcode_id("reshape");
  }
  EXPECT_EQ(n[opcode_id("convolution")], conv);
  EXPECT_EQ(n[opcode_id("dot")], dot);
  EXPECT_EQ(n[opcode_id("reshape")], reshape);
  EXPECT_EQ(g.num_config_nodes, conv + dot + reshape);
  // How the module's rule compares with the record's 62 configurable nodes (config_index_to_node):
  // the module has 53 convolutions, 9 reshapes and no dot, and they are exactly the record's 62
  // nodes, so here the TpuGraphs rule reproduces the autotuner's set (equal, not only a superset).
  EXPECT_EQ(conv, 53);
  EXPECT_EQ(dot, 0);
  EXPECT_EQ(reshape, 9);
  EXPECT_EQ(g.num_config_nodes, 62);
  EXPECT_EQ(g.node_config_ids, golden_->node_config_ids);
}

// The module's instruction of node `node`, and the instruction of its k-th operand.
const xla::HloInstructionProto* instruction_at(const xla::HloModuleProto& m, int64_t node,
                                               const xla::HloComputationProto** comp) {
  for (const auto& c : m.computations()) {
    if (node < c.instructions_size()) {
      *comp = &c;
      return &c.instructions(static_cast<int>(node));
    }
    node -= c.instructions_size();
  }
  return nullptr;
}

std::vector<float> slot_of(const xla::ShapeProto& s) {
  std::vector<float> v(6, -1.f);
  for (int i = 0; i < s.layout().minor_to_major_size(); ++i) v[i] = s.layout().minor_to_major(i);
  return v;
}

TEST_F(HloDumps, TheConfigurationIsTheModulesOwnLayouts) {
  const LayoutGraph& g = graph_->graph;
  const auto& module = record_->module();
  int checked_conv = 0, checked_reshape = 0;
  for (int64_t k = 0; k < g.num_config_nodes; ++k) {
    const xla::HloComputationProto* comp = nullptr;
    const auto* inst = instruction_at(module, g.node_config_ids[k], &comp);
    ASSERT_NE(inst, nullptr);
    EXPECT_EQ(graph_->node_names[g.node_config_ids[k]], inst->name());
    const float* row = g.node_config_feat.data() + k * 18;
    const std::vector<float> out(row, row + 6), in0(row + 6, row + 12), in1(row + 12, row + 18);
    auto operand = [&](int i) -> const xla::HloInstructionProto& {
      for (const auto& x : comp->instructions())
        if (x.id() == inst->operand_ids(i)) return x;
      throw std::runtime_error("no operand");
    };
    EXPECT_EQ(out, slot_of(inst->shape())) << inst->name();
    EXPECT_EQ(in0, slot_of(operand(0).shape())) << inst->name();
    if (inst->opcode() == "convolution") {
      EXPECT_EQ(in1, slot_of(operand(1).shape())) << inst->name();
      ++checked_conv;
    } else {
      EXPECT_EQ(in1, std::vector<float>(6, -1.f)) << inst->name();
      ++checked_reshape;
    }
  }
  EXPECT_EQ(checked_conv, 53);
  EXPECT_EQ(checked_reshape, 9);

  // By hand. The first configurable node (443, reshape.58) reshapes a u32[1]{0} to a scalar: no
  // output dimensions, operand layout {0}. The first convolution (node 660, convolution.1043,
  // section 3.1's bf16[2,96,96,96,32] example) has XLA's default descending layouts for its
  // output, input and kernel.
  auto row_of = [&](int64_t node) {
    const auto it = std::find(g.node_config_ids.begin(), g.node_config_ids.end(), node);
    EXPECT_NE(it, g.node_config_ids.end()) << node;
    const float* r = g.node_config_feat.data() + (it - g.node_config_ids.begin()) * 18;
    return std::vector<float>(r, r + 18);
  };
  EXPECT_EQ(g.node_config_ids[0], 443);
  EXPECT_EQ(graph_->node_names[443], "reshape.58");
  EXPECT_EQ(row_of(443), (std::vector<float>{-1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1,
                                             -1, -1, -1, -1}));
  EXPECT_EQ(graph_->node_names[660], "convolution.1043");
  EXPECT_EQ(g.node_opcode[660], opcode_id("convolution"));
  EXPECT_EQ(row_of(660),
            (std::vector<float>{4, 3, 2, 1, 0, -1, 4, 3, 2, 1, 0, -1, 4, 3, 2, 1, 0, -1}));
}

TEST_F(HloDumps, NamesOptionAndMinorToMajorPad) {
  ModuleGraphOptions opt;
  opt.name = "my model/v2";
  opt.minor_to_major_pad = -1.f;
  const ModuleGraph m = featurize_module_file(path("m.module.pb"), opt);
  EXPECT_EQ(m.graph.stem, "my_model_v2");
  FeaturizeOptions fo;
  fo.minor_to_major_pad = -1.f;
  EXPECT_EQ(m.graph.node_feat,
            featurize_record(test::real_layout_record(), fo).layouts.at(0).node_feat);
}

TEST_F(HloDumps, TuningRecordsArePointedAtTheRecordPath) {
  expect_error([] { featurize_module_file(test::real_layout_record()); },
               test::real_layout_record(),
               {"ModuleTuningData layout record", "featurize it as a record"});
  expect_error([] { featurize_module_file(test::real_tile_record()); }, test::real_tile_record(),
               {"TuningData tile record"});
  EXPECT_FALSE(try_featurize_module_file(test::real_layout_record()).has_value());
  EXPECT_FALSE(try_featurize_module_file(test::real_tile_record()).has_value());
  // A gzip-compressed record is read by the record path too, with the same result.
  test::write_bytes(path("rec.pb.gz"), gzip(test::read_bytes(test::real_layout_record())));
  EXPECT_EQ(detect_hlo_file(path("rec.pb.gz")).describe(),
            "ModuleTuningData layout record (binary, gzip)");
  const LayoutGraph g = featurize_record(path("rec.pb.gz")).layouts.at(0);
  EXPECT_EQ(g.node_feat, golden_->node_feat);
  EXPECT_EQ(g.node_config_feat, golden_->node_config_feat);
  EXPECT_EQ(g.config_runtime, golden_->config_runtime);
}

TEST_F(HloDumps, TruncatedDumpsNameTheBrokenField) {
  const std::string bytes = test::read_bytes(path("m.hlo.pb"));
  test::write_bytes(path("cut.hlo.pb"), bytes.substr(0, bytes.size() / 2));
  // Best guess for the API; the CLI keeps the record path for it (a truncated HloProto and a
  // truncated layout record are the same bytes), see HloCli.
  EXPECT_EQ(detect_hlo_file(path("cut.hlo.pb")).kind, HloFileKind::kHloProto);
  EXPECT_FALSE(try_detect_hlo_file(path("cut.hlo.pb")).has_value());
  expect_error([&] { featurize_module_file(path("cut.hlo.pb")); }, path("cut.hlo.pb"),
               {"HloProto.hlo_module", "truncated or corrupt"});
  const std::string snap = test::read_bytes(path("m.snapshot.pb"));
  test::write_bytes(path("cut.snapshot.pb"), snap.substr(0, snap.size() - 100));
  expect_error([&] { featurize_module_file(path("cut.snapshot.pb")); }, path("cut.snapshot.pb"),
               {"HloSnapshot"});
  const std::string gz = test::read_bytes(path("m.hlo.pb.gz"));
  test::write_bytes(path("cut.hlo.pb.gz"), gz.substr(0, gz.size() - 20));
  expect_error([&] { detect_hlo_file(path("cut.hlo.pb.gz")); }, path("cut.hlo.pb.gz"),
               {"gzip", "truncated"});
}

// ---------------------------------------------------------------- a small module by hand

// p0 f32[2,3]{0,1}, p1 f32[3,4]{1,0}, dot f32[2,4]{1,0}, reshape f32[8]{0} of the dot, p2 a rank-7
// array, reshape of p2 without a layout, and a tuple root; plus fields this tgraph does not
// declare (metadata, tiles, frontend attributes, a numbered field, an unknown enum-valued field).
// clang-format off (kept as written: the tests below edit it by exact substrings)
const char* kSmallModule = R"txt(
# a comment line
name: "small_module"
entry_computation_name: "main.8"
computations {
  name: "main.8"
  instructions {
    name: "p0"
    opcode: "parameter"
    shape {
      element_type: F32
      dimensions: 2
      dimensions: 3
      layout { minor_to_major: 0 minor_to_major: 1 tiles { dimensions: 8 dimensions: 128 } dim_level_types: DIM_DENSE }
      is_dynamic_dimension: false
      is_dynamic_dimension: false
    }
    metadata { op_name: "jit(f)/x" source_file: "f.py" source_line: 3 }
    id: 1
  }
  instructions {
    name: "p1" opcode: "parameter" parameter_number: 1
    shape { element_type: F32 dimensions: 3 dimensions: 4 layout { minor_to_major: 1 minor_to_major: 0 } }
    id: 2
  }
  instructions {
    name: "dot.3" opcode: "dot"
    shape { element_type: F32 dimensions: 2 dimensions: 4 layout { minor_to_major: 1 minor_to_major: 0 } }
    dot_dimension_numbers { lhs_contracting_dimensions: 1 rhs_contracting_dimensions: 0 }
    precision_config { operand_precision: DEFAULT operand_precision: DEFAULT }
    frontend_attributes { map { key: "_xla" value: "1" } }
    id: 3 operand_ids: 1 operand_ids: 2
  }
  instructions {
    name: "reshape.4" opcode: "reshape"
    shape { element_type: F32 dimensions: 8 layout { minor_to_major: 0 } }
    id: 4 operand_ids: 3
    12345: 7
  }
  instructions {
    name: "p2" opcode: "parameter" parameter_number: 2
    shape { element_type: BF16 dimensions: [1, 1, 1, 1, 1, 1, 2]
            layout { minor_to_major: [6, 5, 4, 3, 2, 1, 0] } }
    id: 5
  }
  instructions {
    name: "reshape.6" opcode: "reshape"
    shape { element_type: BF16 dimensions: 2 }
    id: 6 operand_ids: 5
  }
  instructions {
    name: "tuple.7" opcode: "tuple"
    shape { element_type: TUPLE tuple_shapes { element_type: F32 dimensions: 8 } tuple_shapes { element_type: BF16 dimensions: 2 } }
    id: 7 operand_ids: 4 operand_ids: 6
  }
  id: 8
  root_id: 7
  program_shape { parameter_names: "p0" }
  execution_thread: "main"
}
future_field_of_a_newer_xla { anything: "goes" }
)txt";
// clang-format on

TEST(HloSmallModule, ConfigRowsByHandAndUnknownTextFieldsAccepted) {
  TempDir d;
  const std::string p = d.file("small.pbtxt");
  test::write_bytes(p, kSmallModule);
  const HloFileInfo info = detect_hlo_file(p);
  EXPECT_EQ(info.kind, HloFileKind::kHloModule);
  EXPECT_TRUE(info.text_format);
  const ModuleGraph m = featurize_module_file(p);
  const LayoutGraph& g = m.graph;
  EXPECT_EQ(g.stem, "small_module");
  EXPECT_EQ(m.node_names, (std::vector<std::string>{"p0", "p1", "dot.3", "reshape.4", "p2",
                                                    "reshape.6", "tuple.7"}));
  EXPECT_EQ(g.num_nodes, 7);
  EXPECT_EQ(g.edge_index, (std::vector<int64_t>{2, 0, 2, 1, 3, 2, 5, 4, 6, 3, 6, 5}));
  EXPECT_EQ(g.node_splits, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(g.node_config_ids, (std::vector<int64_t>{2, 3, 5}));
  const std::vector<float> want = {
      1,  0,  -1, -1,      -1, -1, /**/ 0,  1,  -1,
      -1, -1, -1, /**/ 1,  0,  -1, -1,      -1, -1,  // dot
      0,  -1, -1, -1,      -1, -1, /**/ 1,  0,  -1,
      -1, -1, -1, /**/ -1, -1, -1, -1,      -1, -1,  // reshape
      -1, -1, -1, -1,      -1, -1, /**/ -1, -1, -1,
      -1, -1, -1, /**/ -1, -1, -1, -1,      -1, -1,  // no layout, rank 7
  };
  EXPECT_EQ(g.node_config_feat, want);
  // element_type written as an enum name: F32 is one-hot column 13, BF16 column 15, TUPLE 18.
  EXPECT_EQ(g.node_feat[2 * kNodeFeatDim + 13], 1.f);
  EXPECT_EQ(g.node_feat[4 * kNodeFeatDim + 15], 1.f);
  EXPECT_EQ(g.node_feat[6 * kNodeFeatDim + 18], 1.f);
  EXPECT_EQ(g.node_feat[6 * kNodeFeatDim + 0], 1.f);  // the root
  // The same module as a binary HloProto gives the same graph.
  xla::HloModuleProto module;
  struct Silent : google::protobuf::io::ErrorCollector {
    void AddError(int, google::protobuf::io::ColumnNumber, const std::string& m) override {
      ADD_FAILURE() << m;
    }
    void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  } silent;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowFieldNumber(true);
  parser.RecordErrorsTo(&silent);
  ASSERT_TRUE(parser.ParseFromString(kSmallModule, &module));
  xla::HloProto hp;
  *hp.mutable_hlo_module() = module;
  test::write_bytes(d.file("small.pb"), hp.SerializeAsString());
  const ModuleGraph b = featurize_module_file(d.file("small.pb"));
  EXPECT_EQ(b.info.kind, HloFileKind::kHloProto);
  EXPECT_EQ(b.graph.node_feat, g.node_feat);
  EXPECT_EQ(b.graph.node_config_feat, g.node_config_feat);
}

TEST(HloSmallModule, BadModulesGiveErrors) {
  TempDir d;
  auto with = [&](const std::string& name, const std::string& from, const std::string& to) {
    std::string s = kSmallModule;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    test::write_bytes(d.file(name), s);
    return d.file(name);
  };
  // No convolution, dot or reshape.
  std::string p = with("noconf.pbtxt", "opcode: \"dot\"", "opcode: \"add\"");
  {
    std::string s = test::read_bytes(p);
    for (size_t at; (at = s.find("opcode: \"reshape\"")) != std::string::npos;)
      s.replace(at, 17, "opcode: \"copy\"");
    test::write_bytes(p, s);
  }
  expect_error([&] { featurize_module_file(p); }, p,
               {"at least one configurable node", "7 instructions"});
  // A layout that is not a permutation of the dimensions.
  p = with("m2m.pbtxt",
           "layout { minor_to_major: 1 minor_to_major: 0 } }\n    dot_dimension_numbers",
           "layout { minor_to_major: 1 minor_to_major: 1 } }\n    dot_dimension_numbers");
  expect_error([&] { featurize_module_file(p); }, p,
               {"HloModuleProto.computations[0].instructions[2].shape.layout.minor_to_major",
                "permutation", "[1,1]"});
  // A dangling operand.
  p = with("dangling.pbtxt", "id: 4 operand_ids: 3", "id: 4 operand_ids: 99");
  expect_error([&] { featurize_module_file(p); }, p, {"instructions[3].operand_ids", "99"});
  // An element type this tgraph does not know, and a syntax error: the line is named.
  p = with("enum.pbtxt", "element_type: BF16 dimensions: 2 }", "element_type: F99 dimensions: 2 }");
  expect_error([&] { featurize_module_file(p); }, p, {"text format", "line ", "F99"});
  p = with("syntax.pbtxt", "root_id: 7", "root_id: {");
  expect_error([&] { featurize_module_file(p); }, p, {"HloModuleProto (text format)", "line "});
  // Text-format HloProto / HloSnapshot without the module.
  test::write_bytes(d.file("empty_proto.pbtxt"), "hlo_module: {}\n");
  expect_error([&] { featurize_module_file(d.file("empty_proto.pbtxt")); },
               d.file("empty_proto.pbtxt"), {"HloProto.hlo_module.computations"});
  test::write_bytes(d.file("empty_snap.pbtxt"), "hlo { }\nexecution_platform: \"Host\"\n");
  expect_error([&] { featurize_module_file(d.file("empty_snap.pbtxt")); },
               d.file("empty_snap.pbtxt"), {"HloSnapshot.hlo.hlo_module"});
}

// ---------------------------------------------------------------- what is not an HLO proto

TEST(HloNotAProto, HloTextAndStableHloSayHowToDumpAProto) {
  TempDir d;
  const std::string hlo_text =
      "HloModule jit_f, entry_computation_layout={(f32[2]{0})->f32[2]{0}}\n\n"
      "ENTRY main.3 {\n  Arg_0.1 = f32[2]{0} parameter(0)\n  ROOT sine.2 = f32[2]{0} "
      "sine(Arg_0.1)\n}\n";
  test::write_bytes(d.file("f.hlo.txt"), hlo_text);
  test::write_bytes(d.file("f.hlo.txt.gz"), gzip(hlo_text));
  for (const std::string f : {"f.hlo.txt", "f.hlo.txt.gz"}) {
    expect_error([&] { detect_hlo_file(d.file(f)); }, d.file(f),
                 {"HLO text dump", "--xla_dump_hlo_as_proto", "as_serialized_hlo_module_proto",
                  "hlo_serialized"});
    expect_error([&] { featurize_module_file(d.file(f)); }, d.file(f), {"HLO text dump"});
    expect_error([&] { try_detect_hlo_file(d.file(f)); }, d.file(f), {"HLO text dump"});
  }
  const std::vector<std::pair<std::string, std::string>> mlir = {
      {"a.mlir",
       "module @jit_f attributes {mhlo.num_partitions = 1 : i32} {\n  func.func public "
       "@main(%arg0: tensor<2xf32>) -> tensor<2xf32> {\n    %0 = stablehlo.sine %arg0 : "
       "tensor<2xf32>\n    return %0 : tensor<2xf32>\n  }\n}\n"},
      {"b.mlir", "#loc = loc(unknown)\nmodule {\n  func.func @main() {\n    return\n  }\n}\n"},
      {"c.mlir", "func.func @main(%arg0: tensor<f32>) -> tensor<f32> {\n  return %arg0\n}\n"},
      {"d.mlirbc", std::string("ML\xefR\x00\x05StableHLO_v1.0", 20)},
  };
  for (const auto& [f, text] : mlir) {
    test::write_bytes(d.file(f), text);
    expect_error([&] { detect_hlo_file(d.file(f)); }, d.file(f),
                 {"StableHLO", "--xla_dump_hlo_as_proto"});
  }
  // A text-format tuning record is not read either.
  test::write_bytes(d.file("rec.pbtxt"), "module {\n  name: \"m\"\n}\nfingerprint: 7\n");
  expect_error([&] { detect_hlo_file(d.file("rec.pbtxt")); }, d.file("rec.pbtxt"),
               {"text-format tuning record"});
  test::write_bytes(d.file("prose.txt"), "Hello, this is not a dump.\n");
  expect_error([&] { detect_hlo_file(d.file("prose.txt")); }, d.file("prose.txt"),
               {"a text file starting with \"Hello"});
}

TEST(HloNotAProto, GarbageEmptyAndDirectories) {
  TempDir d;
  std::string bytes = "\x01\x02garbage";
  for (int i = 0; i < 300; ++i) bytes.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  test::write_bytes(d.file("g.pb"), bytes);
  expect_error([&] { detect_hlo_file(d.file("g.pb")); }, d.file("g.pb"),
               {"expected an HLO dump", "none of these (starting 01 02 67"});
  EXPECT_FALSE(try_detect_hlo_file(d.file("g.pb")).has_value());
  EXPECT_FALSE(try_featurize_module_file(d.file("g.pb")).has_value());
  test::write_bytes(d.file("empty.pb"), "");
  expect_error([&] { featurize_module_file(d.file("empty.pb")); }, d.file("empty.pb"),
               {"an empty file"});
  expect_error([&] { featurize_module_file(d.path().string()); }, d.path().string(),
               {"a directory"});
  EXPECT_THROW(featurize_module_file(d.file("missing.pb")), Error);
  // Random bytes that happen to parse as protobuf are still not a module (no printable name, no
  // identifier-like opcodes): a module whose name field holds binary.
  xla::HloModuleProto m;
  m.set_name(std::string("\x01\x02\x03", 3));
  m.add_computations()->add_instructions()->set_opcode("parameter");
  test::write_bytes(d.file("binname.pb"), m.SerializeAsString());
  EXPECT_THROW(detect_hlo_file(d.file("binname.pb")), Error);
  m.set_name("ok");
  m.mutable_computations(0)->mutable_instructions(0)->set_opcode("Not An Opcode");
  test::write_bytes(d.file("badop.pb"), m.SerializeAsString());
  EXPECT_THROW(detect_hlo_file(d.file("badop.pb")), Error);
  m.mutable_computations(0)->mutable_instructions(0)->set_opcode("parameter");
  test::write_bytes(d.file("good.pb"), m.SerializeAsString());
  EXPECT_EQ(detect_hlo_file(d.file("good.pb")).kind, HloFileKind::kHloModule);
  expect_error([&] { featurize_module_file(d.file("good.pb")); }, d.file("good.pb"),
               {"at least one configurable node"});
}

TEST(HloGzip, MembersTrailingBytesCorruptionAndBombs) {
  const std::string a(100000, 'a'), b = "second member";
  EXPECT_EQ(gunzip(gzip(a) + gzip(b), "x.gz"), a + b);  // concatenated members, as cat a.gz b.gz
  EXPECT_TRUE(is_gzip(gzip(b)));
  EXPECT_FALSE(is_gzip(b));
  expect_error([&] { gunzip(gzip(b) + "junk", "x.gz"); }, "x.gz", {"4 trailing bytes"});
  std::string crc = gzip(a);
  crc[crc.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  expect_error([&] { gunzip(crc, "x.gz"); }, "x.gz", {"valid gzip data", "incorrect data check"});
  std::string body = gzip(a);
  body[body.size() / 2] ^= 0xff;
  EXPECT_THROW(gunzip(body, "x.gz"), Error);
  const std::string gz = gzip(a);
  for (size_t cut : {size_t(3), size_t(10), gz.size() / 2, gz.size() - 1})
    expect_error([&] { gunzip(gz.substr(0, cut), "x.gz"); }, "x.gz", {"truncated"});
  // A bomb: 64 MiB of zeros (~64 KB compressed) against a 1 MiB bound.
  const std::string zeros = gzip(std::string(64 << 20, '\0'), 9);
  EXPECT_LT(zeros.size(), 100000u);
  expect_error([&] { gunzip(zeros, "bomb.gz", 1 << 20); }, "bomb.gz",
               {"at most 1048576 bytes", "gzip bomb"});
  ModuleGraphOptions opt;
  opt.max_bytes = 1 << 20;
  expect_error([&] { featurize_module_bytes(zeros, "bomb.gz", opt); }, "bomb.gz", {"at most"});
  // Under the default 2 GiB bound it inflates, and 64 MiB of zeros is no dump.
  expect_error([&] { detect_hlo_bytes(zeros, "bomb.gz"); }, "bomb.gz",
               {"67108864 bytes (after gzip)"});
  expect_error([&] { detect_hlo_bytes(gzip(""), "e.gz"); }, "e.gz", {"inflates to nothing"});
}

TEST(HloPaths, IsHloDumpPath) {
  TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays());
  EXPECT_FALSE(is_hlo_dump_path(d.file("g.npz")));
  EXPECT_FALSE(is_hlo_dump_path(d.path().string()));
  test::write_bytes(d.file("x.pb"), std::string("\x0a\x03"
                                                "abc",
                                                5));
  EXPECT_TRUE(is_hlo_dump_path(d.file("x.pb")));
  test::write_bytes(d.file("x.bin"), gzip("x"));
  EXPECT_TRUE(is_hlo_dump_path(d.file("x.bin")));
  test::write_bytes(d.file("x.txt"), "HloModule m\n");
  EXPECT_TRUE(is_hlo_dump_path(d.file("x.txt")));
  test::write_bytes(d.file("x.tgpack"), "TGPACK01xxxxxxxx");
  EXPECT_FALSE(is_hlo_dump_path(d.file("x.tgpack")));
  EXPECT_TRUE(is_hlo_dump_path(d.file("missing.hlo.pb")));
  EXPECT_TRUE(is_hlo_dump_path(d.file("missing.pb.gz")));
  EXPECT_TRUE(is_hlo_dump_path(d.file("missing.pbtxt")));
  EXPECT_FALSE(is_hlo_dump_path(d.file("missing.npz")));
}

// ---------------------------------------------------------------- the CLI

TEST_F(HloDumps, CliWritesTheGraphAndItsNamesThenInspectReadsIt) {
  TempDir d;
  const std::string cli = test::cli_path();
  auto r = test::run_command(cli + " featurize " + path("m.hlo.pb.gz") + " --out " + d.file("o"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("read HloProto (binary, gzip) " + path("m.hlo.pb.gz") +
                          ": module 'main__.10904': N=3163 E=5112 NC=62 configurations 1 (the "
                          "module's own layouts, unlabelled)"),
            std::string::npos)
      << r.output;
  const std::string npz = d.file("o/main__.10904.npz"), names = d.file("o/main__.10904.names.json");
  ASSERT_TRUE(fs::exists(npz)) << r.output;
  ASSERT_TRUE(fs::exists(names)) << r.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(d.file("o")), fs::directory_iterator()), 2);
  const LayoutGraph g = load_layout(npz);
  EXPECT_EQ(g.num_nodes, 3163);
  EXPECT_EQ(g.num_edges, 5112);
  EXPECT_EQ(g.num_config_nodes, 62);
  EXPECT_EQ(g.num_configs, 1);
  EXPECT_FALSE(g.labelled);
  EXPECT_EQ(g.node_feat, golden_->node_feat);
  EXPECT_EQ(g.node_config_ids, graph_->graph.node_config_ids);
  EXPECT_EQ(g.node_config_feat, graph_->graph.node_config_feat);
  EXPECT_EQ(g.node_splits, golden_->node_splits);
  const auto j = nlohmann::json::parse(test::read_bytes(names));
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j.get<std::vector<std::string>>(), graph_->node_names);
  r = test::run_command(cli + " inspect " + d.file("o"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 files, 0 with errors"), std::string::npos) << r.output;
  // Text format with --name; the tuning record keeps its own path and output.
  r = test::run_command(cli + " featurize " + path("m.snapshot.pbtxt") + " --name unet --out " +
                        d.file("t"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("read HloSnapshot (text format)"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(d.file("t/unet.npz")));
  EXPECT_TRUE(fs::exists(d.file("t/unet.names.json")));
  r = test::run_command(cli + " featurize " + test::real_layout_record() + " --out " +
                        d.file("rec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("layout N=3163 E=5112 NC=62 C=112"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d.file("rec/main__.10904.names.json")));
}

TEST_F(HloDumps, CliFailsCleanlyOnBadFiles) {
  TempDir d;
  const std::string cli = test::cli_path();
  test::write_bytes(d.file("f.hlo.txt"), "HloModule jit_f\n\nENTRY main {\n}\n");
  test::write_bytes(d.file("f.mlir"), "module @jit_f {\n  func.func @main() {\n  }\n}\n");
  xla::HloModuleProto m;
  m.set_name("noconf");
  auto* c = m.add_computations();
  c->add_instructions()->set_opcode("parameter");
  test::write_bytes(d.file("noconf.pb"), m.SerializeAsString());
  const std::string gz = test::read_bytes(path("m.hlo.pb.gz"));
  test::write_bytes(d.file("cut.pb.gz"), gz.substr(0, gz.size() / 2));
  const std::string pb = test::read_bytes(path("m.hlo.pb"));
  test::write_bytes(d.file("cut.pb"), pb.substr(0, pb.size() / 2));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"f.hlo.txt", "HLO text dump"},
      {"f.mlir", "StableHLO"},
      {"noconf.pb", "at least one configurable node"},
      {"cut.pb.gz", "truncated"},
      // A truncated HloProto reads as a truncated layout record (the same bytes): the record
      // path names the field where the data stops.
      {"cut.pb", "ModuleTuningData.module.computations["},
  };
  for (const auto& [f, want] : cases) {
    const std::string out = d.file("out_" + f);
    auto r = test::run_command(cli + " featurize " + d.file(f) + " --out " + out);
    EXPECT_EQ(r.exit_code, 1) << f << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(r.output.rfind("tgraph: error: " + d.file(f) + ": ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find(want), std::string::npos) << r.output;
    EXPECT_TRUE(!fs::exists(out) || fs::is_empty(out)) << "partial output in " << out;
  }
}

}  // namespace
}  // namespace tgraph::featurize
