// The model subcommands end to end through the `tgraph` binary on a tiny synthetic dataset:
// synth -> train (layout and tile) -> info -> evaluate -> predict --all -> rank -> merge.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "tgraph/eval/submission.h"
#include "tgraph/util/blas_core.h"

namespace fs = std::filesystem;

namespace tgraph {

TEST(ModelCli, TrainEvaluatePredictAllCollections) {
  test::TempDir d;
  const std::string tg = test::cli_path();
  auto run = [&](const std::string& args) {
    auto r = test::run_command(tg + " " + args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return r.output;
  };
  run("synth --out " + d.file("syn") + " --preset tiny --seed 4");
  const std::string data = d.file("syn/npz");
  std::vector<std::string> models;
  for (const char* c : {"layout:xla:random", "layout:xla:default", "layout:nlp:random",
                        "layout:nlp:default", "tile:xla"}) {
    std::string out = d.file(std::string("run_") + c);
    std::string model = std::string(c) == "tile:xla" ? "tile" : "tgraph-cpu";
    run(std::string("train --data ") + data + " --collection " + c + " --model " + model +
        " --hidden 8 --steps 4 --threads 1 --no-progress --cache " + d.file("cache") + " --out '" +
        out + "'");
    ASSERT_TRUE(fs::exists(out + "/best.tgm")) << c;
    models.push_back("'" + out + "/best.tgm'");
  }
  auto info = nlohmann::json::parse(run("info " + models[0]));
  EXPECT_EQ(info["task"], "layout");
  EXPECT_EQ(info["training"]["collection"], "layout:xla:random");
  EXPECT_EQ(info["feature_schema_version"], 1);

  run("evaluate --model " + models[1] + " --data " + data + " --cache " + d.file("cache") +
      " --threads 1 --json " + d.file("eval.json"));
  std::ifstream ej(d.file("eval.json"));
  auto e = nlohmann::json::parse(ej);
  EXPECT_EQ(e["collection"], "layout:xla:default");
  EXPECT_GE(e["graphs"].size(), 1u);
  std::string tile_eval = run("evaluate --model " + models[4] + " --data " + data + " --threads 1");
  EXPECT_NE(tile_eval.find("tile score"), std::string::npos);
  EXPECT_NE(run("evaluate --heuristic row0 --data " + data).find("tile score"), std::string::npos);

  // Unlabelled test split: metrics refused with a one-line error and exit code 1.
  auto bad = test::run_command(tg + " evaluate --model " + models[0] + " --data " + data +
                               " --split test --threads 1 --cache " + d.file("cache"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("unlabelled"), std::string::npos) << bad.output;

  std::string all;
  for (const auto& m : models) all += " --model " + m;
  run("predict --all" + all + " --data " + data + " --threads 1 --cache " + d.file("cache") +
      " --out " + d.file("submission.csv"));
  auto rows = read_submission_csv(d.file("submission.csv"));
  size_t tile_rows = 0, layout_rows = 0;
  for (const auto& r : rows) (r.full_permutation ? layout_rows : tile_rows)++;
  size_t test_files = 0;
  for (auto& e : fs::recursive_directory_iterator(data))
    if (e.path().parent_path().filename() == "test" && e.path().extension() == ".npz") ++test_files;
  EXPECT_EQ(rows.size(), test_files);
  EXPECT_GT(tile_rows, 0u);
  EXPECT_GT(layout_rows, 0u);
  // --all without every collection is refused and writes nothing.
  auto partial = test::run_command(tg + " predict --all --model " + models[0] + " --data " + data +
                                   " --threads 1 --out " + d.file("partial.csv"));
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_FALSE(fs::exists(d.file("partial.csv")));

  // Model files written by the build before layout and tile shared one pipeline (commit 5e9d359,
  // trained on this same synth seed) still load and evaluate to the values that build printed.
  // The layout one is a cross-attention model: since validation splits a graph into equal slates
  // (500 + 500 of 1000 configurations, not 512 + 488) its values are this build's (that build
  // printed tau 0.0719347155305344, OPA 0.5359629454940076); the tile values are unchanged.
  const std::string fixtures = std::string(TGRAPH_SOURCE_DIR) + "/tests/model/fixtures/";
  run("evaluate --model " + fixtures + "v0_layout_xla_default.tgm --data " + data +
      " --slate 512 --slate-repeats 1 --threads 1 --cache " + d.file("cache") + " --json " +
      d.file("v0l.json"));
  run("evaluate --model " + fixtures + "v0_tile.tgm --data " + data + " --threads 1 --json " +
      d.file("v0t.json"));
  std::ifstream v0l(d.file("v0l.json")), v0t(d.file("v0t.json"));
  auto jl = nlohmann::json::parse(v0l), jt = nlohmann::json::parse(v0t);
  // The layout values move by kernel rounding only: since the fused gate and GELU loops
  // (act_kernels.cc; float results within ~1e-6 of LibTorch's) a pair of near-tied scores
  // flipped (tau +3.0e-6, OPA +1.5e-6), and the BLAS kernels OpenBLAS picks for the CPU flip a
  // few more (AMD EPYC: tau -2.1e-5 from the Intel value). A model loaded wrongly moves them by
  // orders more (0.01 and up).
  EXPECT_NEAR(jl["mean_tau"].get<double>(), 0.07085239743329072, 1e-4);
  EXPECT_NEAR(jl["mean_opa"].get<double>(), 0.53542190298001924, 1e-4);
  EXPECT_NEAR(jt["mean_score"].get<double>(), 0.8988407076522353, 1e-9);
  EXPECT_NEAR(jt["mean_err1"].get<double>(), 1.9237351023520497, 1e-9);
  // Without --slate a cross-attention model is scored in slates of twice its training slate, and
  // without --slate-repeats its scores are the mean over several slate partitions (the API test
  // Slates.SlateRepeatsAverageShuffledPartitions checks how many).
  auto v0i = nlohmann::json::parse(run("info " + fixtures + "v0_layout_xla_default.tgm"));
  const int64_t twice = 2 * v0i["training"]["slate"].get<int64_t>();
  auto tau_at = [&](const std::string& slate_flag) {
    run("evaluate --model " + fixtures + "v0_layout_xla_default.tgm --data " + data + slate_flag +
        " --threads 1 --cache " + d.file("cache") + " --json " + d.file("v0s.json"));
    std::ifstream in(d.file("v0s.json"));
    return nlohmann::json::parse(in)["mean_tau"].get<double>();
  };
  const double at_default = tau_at("");
  EXPECT_EQ(at_default, tau_at(" --slate " + std::to_string(twice)));
  EXPECT_NE(at_default, jl["mean_tau"].get<double>());
  EXPECT_NE(at_default, tau_at(" --slate-repeats 1"));

  std::string valid_dir = data + "/layout/xla/random/valid";
  std::string g = fs::directory_iterator(valid_dir)->path().string();
  auto rk = nlohmann::json::parse(run("rank " + models[0] + " " + g + " --json --threads 1"));
  EXPECT_EQ(rk["order"].size(), rk["scores"].size());
  EXPECT_TRUE(rk.contains("tau"));

  // A seed ensemble: train a second layout:xla:random model, combine, and use it like a model.
  run("train --data " + data + " --collection layout:xla:random --model tgraph-cpu --hidden 8 " +
      "--steps 4 --threads 1 --no-progress --seed 9 --cache " + d.file("cache") + " --out " +
      d.file("run_seed9"));
  run("ensemble --out " + d.file("ens.tgm") + " --data " + data + " --threads 1 --cache " +
      d.file("cache") + " " + models[0] + " " + d.file("run_seed9/best.tgm"));
  auto ei = nlohmann::json::parse(run("info " + d.file("ens.tgm")));
  EXPECT_EQ(ei["ensemble"]["members"].size(), 2u);
  EXPECT_EQ(ei["training"]["collection"], "layout:xla:random");
  run("evaluate --model " + d.file("ens.tgm") + " --data " + data + " --threads 1 --cache " +
      d.file("cache"));
  auto er =
      nlohmann::json::parse(run("rank " + d.file("ens.tgm") + " " + g + " --json --threads 1"));
  EXPECT_EQ(er["spread"].size(), er["scores"].size());
  auto mixed = test::run_command(tg + " ensemble --out " + d.file("mixed.tgm") + " --data " + data +
                                 " --threads 1 " + models[0] + " " + models[4]);
  EXPECT_EQ(mixed.exit_code, 1) << mixed.output;
  EXPECT_FALSE(fs::exists(d.file("mixed.tgm")));

  run("predict --model " + models[0] + " --data " + data + " --threads 1 --out " + d.file("a.csv"));
  run("predict --model " + models[1] + " --data " + data + " --threads 1 --out " + d.file("b.csv"));
  run("merge --out " + d.file("ab.csv") + " " + d.file("a.csv") + " " + d.file("b.csv"));
  EXPECT_GT(read_submission_csv(d.file("ab.csv")).size(),
            read_submission_csv(d.file("a.csv")).size());
  // Against the data: complete collections pass; a missing row or an impossible index does not.
  run("merge --data " + data + " --out " + d.file("ab2.csv") + " " + d.file("a.csv") + " " +
      d.file("b.csv"));
  std::string a_csv = test::read_bytes(d.file("a.csv"));
  a_csv.erase(a_csv.find_last_of('\n', a_csv.size() - 2) + 1);  // drop the last row
  test::write_bytes(d.file("a_short.csv"), a_csv);
  auto inc = test::run_command(tg + " merge --data " + data + " --out " + d.file("x.csv") + " " +
                               d.file("a_short.csv"));
  EXPECT_EQ(inc.exit_code, 1) << inc.output;
  EXPECT_NE(inc.output.find("a row for every graph of the split"), std::string::npos) << inc.output;
  test::write_bytes(d.file("huge.csv"), "ID,TopConfigs\ntile:xla:k,1000000000000000000\n");
  auto huge = test::run_command(tg + " merge --out " + d.file("x.csv") + " " + d.file("huge.csv"));
  EXPECT_EQ(huge.exit_code, 1) << huge.output;
  EXPECT_NE(huge.output.find("indices in [0, 2^31)"), std::string::npos) << huge.output;
  EXPECT_FALSE(fs::exists(d.file("x.csv")));
  auto dup = test::run_command(tg + " merge --out " + d.file("aa.csv") + " " + d.file("a.csv") +
                               " " + d.file("a.csv"));
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.output.find("duplicate"), std::string::npos) << dup.output;
}

// `tgraph bench` streams the graph through a temporary pack (never the whole configuration
// member in memory) and leaves no file behind, also when the input is refused.
TEST(ModelCli, BenchPacksTheGraphAndLeavesNoTemporaryFile) {
  test::TempDir d;
  fs::create_directories(d.file("tmp"));
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(40, 4, 30));
  const std::string tg = "TMPDIR=" + d.file("tmp") + " " + test::cli_path();
  auto r =
      test::run_command(tg + " bench " + d.file("g.npz") +
                        " --model tgraph-cpu --steps 1 --slate 8 --infer-slate 16 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["nodes"], 40);
  EXPECT_EQ(j["configs"], 30);
  EXPECT_EQ(j["config_nodes"], 4);
  EXPECT_EQ(j["train_slate"], 8);
  EXPECT_GT(j["infer_configs_per_s"].get<double>(), 0);
  EXPECT_EQ(j["infer_configs"], 30);
  EXPECT_TRUE(fs::is_empty(d.file("tmp")));
  auto part = test::run_command(tg + " bench " + d.file("g.npz") +
                                " --model tgraph-cpu --steps 1 --slate 8 --infer-configs 12 "
                                "--threads 1");
  ASSERT_EQ(part.exit_code, 0) << part.output;
  EXPECT_EQ(nlohmann::json::parse(part.output.substr(part.output.find('{')))["infer_configs"], 12);
  // --profile: self times per op, largest first, tgraph's own kernels among them, no more time
  // than the wall clock in all.
  auto prof = test::run_command(
      tg + " bench " + d.file("g.npz") +
      " --model tgraph-cpu --steps 2 --slate 8 --threads 1 --profile --profile-top 0");
  ASSERT_EQ(prof.exit_code, 0) << prof.output;
  auto pj = nlohmann::json::parse(prof.output.substr(prof.output.find('{')))["profile"];
  for (const char* phase : {"train", "infer"}) {
    const auto& p = pj[phase];
    ASSERT_FALSE(p["ops"].empty()) << phase;
    double self = 0, prev = 1e300;
    bool own = false;
    for (const auto& o : p["ops"]) {
      const double ms = o["self_ms"].get<double>();
      EXPECT_LE(ms, prev) << phase;
      prev = ms;
      self += ms;
      own = own || o["op"].get<std::string>().rfind("tgraph::", 0) == 0;
      EXPECT_GT(o["calls"].get<int64_t>(), 0);
    }
    EXPECT_TRUE(own) << phase << ": " << p.dump();
    EXPECT_LE(self + p["outside_ops_ms"].get<double>(), p["wall_ms"].get<double>() * 1.01 + 0.1)
        << phase;
  }
  EXPECT_EQ(pj["train_steps"], 2);

  test::write_bytes(d.file("bad.npz"), "not a zip");
  auto bad = test::run_command(tg + " bench " + d.file("bad.npz") + " --threads 1");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("bad.npz"), std::string::npos) << bad.output;
  EXPECT_TRUE(fs::is_empty(d.file("tmp")));
}

// Where OpenBLAS falls back to generic kernels on this CPU, the CLI runs again with the core it
// needs (blas_core.h); OPENBLAS_CORETYPE set by the user wins, and TGRAPH_NO_BLAS_REEXEC=1 keeps
// OpenBLAS's own choice. `bench` reports the core in use.
TEST(ModelCli, RunsWithTheOpenBlasCoreThisCpuNeeds) {
  if (std::getenv("OPENBLAS_CORETYPE")) GTEST_SKIP() << "OPENBLAS_CORETYPE is set for the tests";
  const std::string natural = openblas_core_name(), advice = openblas_core_advice();
  if (natural.empty()) GTEST_SKIP() << "the BLAS in use is not OpenBLAS";
  test::TempDir d;
  test::write_layout(d.file("g.npz"), test::make_layout_arrays(40, 4, 30));
  auto core = [&](const std::string& env) {
    auto r = test::run_command(env + " " + test::cli_path() + " bench " + d.file("g.npz") +
                               " --model tgraph-cpu --steps 1 --slate 8 --threads 1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (r.exit_code != 0) return std::string("(failed)");
    return nlohmann::json::parse(r.output.substr(r.output.find('{')))["blas_core"]
        .get<std::string>();
  };
  EXPECT_EQ(core("env"), advice.empty() ? natural : advice) << "OpenBLAS chose " << natural;
  EXPECT_EQ(core("env TGRAPH_NO_BLAS_REEXEC=1"), natural);
  EXPECT_EQ(core("env OPENBLAS_CORETYPE=Prescott"), "Prescott");
}

}  // namespace tgraph
