// Hostile inputs (the hardening issue, first part): damaged or crafted model files, numeric flags
// out of range, layout files with nothing to rank, bad run directories and checkpoints, NaN graphs
// in model selection, a diverging loss. Each must fail with one clear line, never abort or hang.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "../test_util.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/task.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"
#include "toy_data.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

// A small valid model file's bytes, and where its header JSON sits.
struct ModelBytes {
  std::string bytes;
  nlohmann::json header;
  size_t data_start = 0;
};

ModelBytes small_model(const std::string& path) {
  torch::manual_seed(1);
  ModelConfig c = ModelConfig::preset("tgraph", false);
  c.hidden = 8;
  c.gate_bottleneck = 2;
  Model m = make_model(c);
  ModelFile f;
  f.config = c;
  f.normalizer = FeatureNormalizer::identity().to_json();
  f.preprocessing = {{"prune", true}, {"repad", true}};
  f.training = {{"collection", "layout:xla:random"}};
  f.tensors = module_tensors(*m);
  save_model_file(path, f);
  ModelBytes b;
  b.bytes = test::read_bytes(path);
  uint64_t hlen = 0;
  std::memcpy(&hlen, b.bytes.data() + 12, 8);
  b.header = nlohmann::json::parse(b.bytes.substr(20, hlen));
  b.data_start = 20 + hlen;
  return b;
}

// The same file with another header (the tensor data is kept).
std::string with_header(const ModelBytes& b, const nlohmann::json& h) {
  std::string hs = h.dump();
  std::string out = b.bytes.substr(0, 12);
  uint64_t n = hs.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  return out + hs + b.bytes.substr(b.data_start);
}

std::string load_error(const test::TempDir& d, const std::string& bytes) {
  test::write_bytes(d.file("bad.tgm"), bytes);
  return test::error_of([&] { load_model(d.file("bad.tgm"), torch::kCPU); });
}

}  // namespace

TEST(Hardening, CraftedModelFilesFailBeforeAllocatingOrScoring) {
  test::TempDir d;
  ModelBytes b = small_model(d.file("m.tgm"));
  EXPECT_NO_THROW(load_model(d.file("m.tgm"), torch::kCPU));
  auto expect = [&](const std::string& bytes, const std::string& what) {
    std::string e = load_error(d, bytes);
    EXPECT_NE(e.find(what), std::string::npos) << e;
    EXPECT_NE(e.find("bad.tgm"), std::string::npos) << e;
  };
  nlohmann::json h = b.header;
  h["model"]["hidden"] = 1073741824;  // would ask for ~750 GB
  expect(with_header(b, h), "hidden in [2, 8192]");
  h = b.header;
  h["model"]["hidden"] = 4096;  // in range, but far more weights than the file holds
  expect(with_header(b, h), "hyper-parameters matching the");
  h = b.header;
  h["feature_schema_version"] = "1";
  expect(with_header(b, h), "feature_schema_version: expected an unsigned integer");
  expect(with_header(b, nlohmann::json::array({1, 2})), "header: expected a JSON object");
  h = b.header;
  h["training"] = "fast";
  expect(with_header(b, h), "training: expected a JSON object");
  h = b.header;
  h["training"]["collection"] = 5;
  expect(with_header(b, h), "training.collection: expected a string");
  h = b.header;
  h["tensors"][0]["offset"] = 18446744073709551000ull;  // start + offset wraps around
  expect(with_header(b, h), "float32 data inside the file");
  h = b.header;
  h["tensors"][1]["offset"] = h["tensors"][0]["offset"];  // two tensors on the same bytes
  expect(with_header(b, h), "not overlapping");
  h = b.header;
  h["tensors"][0]["shape"] = {-3, 2};
  expect(with_header(b, h), "dimensions >= 0");
  h = b.header;
  h["tensors"][0]["name"] = 7;
  expect(with_header(b, h), "tensors[0]");
  // Fields of the wrong JSON type anywhere in the header (found by fuzz_model_file: "kind": [...]
  // escaped as a nlohmann exception and aborted the process).
  h = b.header;
  h["normalizer"]["kind"] = nlohmann::json::array({0.0, 1.0});
  expect(with_header(b, h), "kind: expected \"zscore\"");

  // One flipped weight byte: the CRC-32 says so.
  std::string flipped = b.bytes;
  flipped[b.data_start + 5] ^= 0x10;
  expect(flipped, "CRC-32");
  // NaN weights (with a matching CRC, as a buggy writer would produce) are refused too.
  h = b.header;
  std::string nan_bytes = b.bytes;
  const float nan = std::nanf("");
  const uint64_t off = h["tensors"][0]["offset"].get<uint64_t>();
  std::memcpy(&nan_bytes[b.data_start + off], &nan, 4);
  h["tensors"][0].erase("crc32");
  ModelBytes nb = b;
  nb.bytes = nan_bytes;
  expect(with_header(nb, h), "finite weights");
}

// preprocessing.prune: the reference's true/false, or a reach's name; anything else names the key.
TEST(Hardening, ModelFileReachIsReadOrRefusedByName) {
  test::TempDir d;
  ModelBytes b = small_model(d.file("m.tgm"));
  EXPECT_EQ(load_model(d.file("m.tgm"), torch::kCPU).reach, Reach{});
  nlohmann::json h = b.header;
  for (const auto& [v, want] :
       std::vector<std::pair<nlohmann::json, Reach>>{{false, Reach::whole()},
                                                     {"hops:3", Reach::with_hops(3)},
                                                     {"contract", Reach::contract()}}) {
    h["preprocessing"]["prune"] = v;
    test::write_bytes(d.file("r.tgm"), with_header(b, h));
    EXPECT_EQ(load_model(d.file("r.tgm"), torch::kCPU).reach, want) << v.dump();
    EXPECT_EQ(reach_from_json(reach_to_json(want), "x"), want);
  }
  for (const nlohmann::json& bad :
       {nlohmann::json("hops:0"), nlohmann::json(1), nlohmann::json("reach")}) {
    h["preprocessing"]["prune"] = bad;
    std::string e = load_error(d, with_header(b, h));
    EXPECT_NE(e.find("preprocessing.prune"), std::string::npos) << e;
    EXPECT_NE(e.find("bad.tgm"), std::string::npos) << e;
  }
}

TEST(Hardening, NumericFlagsOutOfRangeAreUsageErrors) {
  test::TempDir d;
  const std::string tg = test::cli_path();
  ModelBytes b = small_model(d.file("m.tgm"));
  for (const std::string& args : std::vector<std::string>{
           "evaluate --model " + d.file("m.tgm") + " --data x --slate -1",
           "predict --model " + d.file("m.tgm") + " --data x --out o.csv --slate -1",
           "rank " + d.file("m.tgm") + " g.npz --slate -1",
           "train --data x --out y --steps 5 --slate -1",
           "train --data x --out y --steps 5 --threads -2",
           "train --data x --out y --steps 5 --eval-slate -1", "bench g.npz --steps 0"}) {
    auto r = test::run_command(tg + " " + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  }
  // An odd width (or one above the bound) for the model is bad input, not an internal error.
  test::write_toy_collection(d.file("npz"));
  auto r = test::run_command(tg + " train --data " + d.file("npz") + " --out " + d.file("run") +
                             " --steps 2 --hidden 7 --threads 1 --no-progress");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--hidden: expected an even width"), std::string::npos) << r.output;
}

TEST(Hardening, LayoutGraphWithoutConfigurableNodesIsRefused) {
  test::TempDir d;
  test::LayoutArrays a = test::make_layout_arrays(12, 0, 4);
  test::write_layout(d.file("nc0.npz"), a);
  std::string e = test::error_of([&] { load_layout(d.file("nc0.npz")); });
  EXPECT_NE(e.find("nc0.npz: node_config_ids: expected at least one configurable node"),
            std::string::npos)
      << e;
}

TEST(Hardening, RunDirectoriesAndCheckpointsFailCleanly) {
  test::TempDir d;
  const std::string tg = test::cli_path();
  test::write_toy_collection(d.file("npz"));
  test::write_bytes(d.file("file"), "x");
  // --out under a regular file: exit 1, the path named.
  auto r = test::run_command(tg + " train --data " + d.file("npz") + " --out " +
                             d.file("file/run") + " --steps 2 --threads 1 --no-progress");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(d.file("file")), std::string::npos) << r.output;
  // A run with a checkpoint, then a corrupt state.json and a mismatched --resume.
  const std::string base = tg + " train --data " + d.file("npz") + " --out " + d.file("run") +
                           " --model tgraph --threads 1 --no-progress";
  ASSERT_EQ(test::run_command(base + " --hidden 16 --steps 6 --eval-every-steps 3").exit_code, 0);
  r = test::run_command(base + " --steps 8 --resume --hidden 32");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("(the checkpoint's)"), std::string::npos) << r.output;
  test::write_bytes(d.file("run/checkpoint/state.json"), "{\"trainer\": [1, 2]}");
  r = test::run_command(base + " --hidden 16 --steps 8 --resume");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("state.json: trainer"), std::string::npos) << r.output;
}

TEST(Hardening, InvalidUtf8FileNamesPrintAsJson) {
  test::TempDir d;
  fs::create_directories(d.file("g"));
  test::write_layout(d.file("g") + "/bad\xff\xfe.npz", test::make_layout_arrays(12, 3, 5));
  auto r = test::run_command(test::cli_path() + " inspect --json " + d.file("g"));
  EXPECT_EQ(r.exit_code, 0) << r.output;  // was std::terminate on nlohmann's UTF-8 check
  EXPECT_NE(r.output.find("bad"), std::string::npos) << r.output;
}

TEST(Hardening, NanGraphsCountAsZeroForSelection) {
  // Two graphs: one ranked perfectly (tau 1), one scored constant (tau NaN).
  std::vector<Sample> ss(2);
  for (auto& s : ss) {
    s.task = Kind::kLayout;
    s.num_configs = 4;
    s.runtimes = {10, 20, 30, 40};
    s.labelled = true;
    s.source = s.stem = "g";
  }
  EvalReport r = evaluate_samples(task_for(Kind::kLayout), ss, [](const Sample&, size_t i) {
    return i == 0 ? std::vector<double>{1, 2, 3, 4} : std::vector<double>{0, 0, 0, 0};
  });
  EXPECT_DOUBLE_EQ(r.metric("tau"), 1.0);  // the mean reported over finite graphs ...
  EXPECT_EQ(r.nan_count[0], 1);            // ... says how many were left out ...
  EXPECT_DOUBLE_EQ(r.selection(), 0.5);    // ... and selection counts them as 0
  EXPECT_EQ(r.to_json()["nan_tau"], 1);
  EXPECT_NE(r.summary().find("1 NaN"), std::string::npos) << r.summary();
}

TEST(Hardening, NothingToTrainOnIsAnErrorNotAHangOrACrash) {
  test::TempDir d;
  TrainOptions o;
  o.out_dir = d.file("run");
  o.hidden = 8;
  o.steps = 20;
  o.progress = false;
  o.ctx.threads = 1;
  // Layout: every training graph has a single configuration (was: a step budget spun forever).
  for (const char* split : {"train", "valid"}) {
    fs::create_directories(d.file(std::string("lay/layout/xla/random/") + split));
    for (int i = 0; i < 2; ++i)
      test::write_toy_graph(
          d.file(std::string("lay/layout/xla/random/") + split + "/g" + std::to_string(i) + ".npz"),
          20, 3, std::string(split) == "train" ? 1 : 8, 3 + i);
  }
  o.data_root = d.file("lay");
  o.model = "tgraph";
  EXPECT_NE(test::error_of([&] { train(o); }).find("at least 2 distinct configurations"),
            std::string::npos);
  // Tile: no kernel with two configurations (was: SIGSEGV on an empty list).
  for (const char* split : {"train", "valid"}) {
    fs::create_directories(d.file(std::string("tile/tile/xla/") + split));
    for (int k = 0; k < 3; ++k)
      test::write_kernel(
          d.file(std::string("tile/tile/xla/") + split + "/k" + std::to_string(k) + ".npz"), 6,
          std::string(split) == "train" ? 1 : 4, k, true);
  }
  o.data_root = d.file("tile");
  o.collection = "tile:xla";
  o.model = "tile";
  o.out_dir = d.file("run_tile");
  EXPECT_NE(test::error_of([&] { train(o); }).find("at least 2 distinct configurations"),
            std::string::npos);
  // Unlabelled validation kernels are found before training, not at the first evaluation.
  for (int k = 0; k < 3; ++k)
    test::write_kernel(d.file("tile/tile/xla/train/k" + std::to_string(k) + ".npz"), 6, 5, k, true);
  for (int k = 0; k < 3; ++k)
    test::write_kernel(d.file("tile/tile/xla/valid/k" + std::to_string(k) + ".npz"), 6, 5, k,
                       false);
  std::string e = test::error_of([&] { train(o); });
  EXPECT_NE(e.find("labelled validation graphs"), std::string::npos) << e;
}

TEST(Hardening, DivergingLossStopsTrainingWithAnError) {
  test::TempDir d;
  test::write_toy_collection(d.file("npz"));
  TrainOptions o;
  o.data_root = d.file("npz");
  o.out_dir = d.file("run");
  o.model = "tgraph";
  o.hidden = 8;
  o.steps = 50;
  o.lr = 1e30;  // the weights overflow after a step or two
  o.clip = 0;
  o.progress = false;
  o.ctx.threads = 1;
  std::string e = test::error_of([&] { train(o); });
  EXPECT_NE(e.find("loss: expected a finite training loss"), std::string::npos) << e;
}

}  // namespace tgraph
