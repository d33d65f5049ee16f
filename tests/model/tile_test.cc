// Tile models through the shared trainer, evaluator and predictor; the row-order heuristic.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "../test_util.h"
#include "tgraph/eval/submission.h"
#include "tgraph/io/npz.h"
#include "tgraph/model/context.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"
#include "toy_data.h"

namespace fs = std::filesystem;

namespace tgraph {
namespace {

using test::write_tile_collection;

TrainOptions tiny(const std::string& root, const std::string& out, const std::string& model) {
  TrainOptions o;
  o.data_root = root;
  o.collection = "tile:xla";
  o.out_dir = out;
  o.model = model;
  o.hidden = 16;
  o.graphs_per_step = 4;
  o.steps = 600;
  o.lr = 3e-3;
  o.progress = false;
  o.ctx.threads = 1;
  o.ctx.seed = 2;
  return o;
}

EvalReport evaluate(const std::string& model, const std::string& root, const std::string& split) {
  LoadedModel m = load_model(model, torch::kCPU, Kind::kTile);
  return evaluate_model(m, samples_for_split(m, root, parse_collection("tile:xla"), split, "", 1),
                        512, 0);
}

}  // namespace

TEST(TileTrain, BothModelsLearnTheToyCostAndBeatRandomOrder) {
  test::TempDir d;
  write_tile_collection(d.file("npz"));
  for (std::string model : {"tile", "tile-baseline"}) {
    SCOPED_TRACE(model);
    TrainResult r = train(tiny(d.file("npz"), d.file("run_" + model), model));
    EXPECT_EQ(r.steps, 600);
    EXPECT_EQ(r.metric, "score");
    EvalReport e = evaluate(r.best_model, d.file("npz"), "valid");
    EXPECT_NEAR(e.metric("score"), r.best, 1e-12);
    EXPECT_EQ(e.graphs.size(), 4u);
    EXPECT_GT(e.metric("score"), 0.9) << e.summary();
    EXPECT_LE(e.metric("err10"), e.metric("err5"));
    EXPECT_LE(e.metric("err5"), e.metric("err1"));
    EXPECT_EQ(read_model_header(r.best_model)["task"], "tile");
  }
}

TEST(TileTrain, PredictWritesTopFiveRowsAndRefusesMetricsOnTest) {
  test::TempDir d;
  write_tile_collection(d.file("npz"));
  TrainOptions o = tiny(d.file("npz"), d.file("run"), "tile");
  o.steps = 5;
  TrainResult r = train(o);
  LoadedModel m = load_model(r.best_model, torch::kCPU);
  Collection c = parse_collection("tile:xla");
  auto rows = predict_rows(m, samples_for_split(m, d.file("npz"), c, "test", "", 1), c, 512, 0);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].id, "tile:xla:k0");
  EXPECT_EQ(rows[0].top.size(), 3u);  // a kernel with 3 configurations lists all 3
  EXPECT_EQ(rows[1].top.size(), 5u);
  EXPECT_NO_THROW(validate_submission(rows));
  EXPECT_THROW(evaluate(r.best_model, d.file("npz"), "test"), Error);
}

TEST(TileHeuristic, RowOrderScoresTheFilesFirstRows) {
  test::TempDir d;
  write_tile_collection(d.file("npz"));
  Collection c = parse_collection("tile:xla");
  EvalReport e = evaluate_row_order(
      Kind::kTile, task_for(Kind::kTile).load_split(d.file("npz"), c, "valid", {}, false, "", 1));
  ASSERT_EQ(e.graphs.size(), 4u);
  // Kernel k0 has 3 configurations: its top-5 is every row, so it scores exactly 1.
  EXPECT_DOUBLE_EQ(e.graphs[0].values[0], 1.0);
  EXPECT_DOUBLE_EQ(e.graphs[0].values[2], 0.0);
}

}  // namespace tgraph
