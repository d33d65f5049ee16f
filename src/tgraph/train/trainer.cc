#include "tgraph/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <torch/torch.h>

#include "tgraph/data/pack.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/schedule.h"
#include "tgraph/train/scoring.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {

nlohmann::json TrainResult::to_json() const {
  return {{"best_tau", best_tau},
          {"best_step", best_step},
          {"steps", steps},
          {"seconds", seconds},
          {"configs_per_second", configs_per_second},
          {"best_model", best_model},
          {"last_model", last_model}};
}

TrainOptions resolve_defaults(TrainOptions o) {
  Collection c = parse_collection(o.collection);
  if (c.kind != Kind::kLayout)
    throw_error("--collection", "", "a layout collection (tile:xla is trained by the tile model)",
                "'" + o.collection + "'");
  const bool is_default = c.search == "default";
  const bool baseline = o.model == "baseline";
  if (o.cross_attention < 0) o.cross_attention = (!baseline && is_default) ? 1 : 0;
  if (o.loss.name.empty()) o.loss.name = baseline ? "listmle" : "hinge";
  validate_loss_options(o.loss);
  // tgraph-cpu: on 2 cores a run sees a few hundred configurations per second, so more, smaller
  // steps win: slate 32 and lr 3e-3 gave valid tau 0.67 vs 0.59 (slate 128, lr 1e-3) on
  // xla:random in 150 s (docs/results.md).
  const bool cpu = o.model == "tgraph-cpu";
  if (o.slate <= 0) o.slate = baseline ? 16 : cpu ? 32 : (is_default ? 64 : 128);
  if (o.lr <= 0) o.lr = cpu ? 3e-3 : 1e-3;
  if (o.cache_dir.empty()) o.cache_dir = (fs::path(o.out_dir) / "cache").string();
  if (o.steps <= 0 && o.time_budget_s <= 0)
    throw_error("train", "--steps / --time-budget", "a step or time budget", "neither");
  if (o.eval_slate < 2)
    throw_error("train", "--eval-slate", "at least 2", std::to_string(o.eval_slate));
  return o;
}

namespace {

using Clock = std::chrono::steady_clock;

struct TrainerState {
  int64_t step = 0;
  double elapsed = 0;  // seconds of earlier sessions (resume)
  double best_tau = -2;
  int64_t best_step = 0;
  int64_t evals = 0;
  std::string rng;  // std::mt19937_64 state
  nlohmann::json to_json() const {
    return {{"step", step},           {"elapsed", elapsed}, {"best_tau", best_tau},
            {"best_step", best_step}, {"evals", evals},     {"rng", rng}};
  }
  static TrainerState from_json(const nlohmann::json& j) {
    TrainerState s;
    s.step = j.at("step");
    s.elapsed = j.at("elapsed");
    s.best_tau = j.at("best_tau");
    s.best_step = j.at("best_step");
    s.evals = j.at("evals");
    s.rng = j.at("rng");
    return s;
  }
};

std::string fmt_time(double s) {
  int t = static_cast<int>(s);
  char b[32];
  std::snprintf(b, sizeof b, "%d:%02d", t / 60, t % 60);
  return b;
}

class Progress {
 public:
  explicit Progress(bool on) : on_(on), tty_(::isatty(2)) {}
  void update(int64_t step, double progress, double loss, double cps, double elapsed,
              double best_tau) {
    if (!on_) return;
    auto now = Clock::now();
    double since = std::chrono::duration<double>(now - last_).count();
    if (since < (tty_ ? 0.5 : 30.0)) return;
    last_ = now;
    int width = 24, filled = static_cast<int>(progress * width);
    std::ostringstream o;
    o << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
      << static_cast<int>(progress * 100) << "% step " << step << " loss " << std::fixed
      << std::setprecision(4) << loss << " | " << std::setprecision(0) << cps << " cfg/s | "
      << fmt_time(elapsed);
    if (best_tau > -2) o << " | best tau " << std::setprecision(4) << best_tau;
    std::cerr << (tty_ ? "\r" : "") << o.str() << (tty_ ? "   " : "\n") << std::flush;
  }
  // Informational lines are printed even without the bar (they are the run's record).
  void line(const std::string& s) {
    const bool redraw = on_ && tty_;
    std::cerr << (redraw ? "\r" : "") << s << std::string(redraw ? 20 : 0, ' ') << "\n"
              << std::flush;
  }

 private:
  bool on_, tty_;
  Clock::time_point last_{};
};

std::vector<std::shared_ptr<const PackedGraph>> open_split(const std::string& dir) {
  std::vector<std::shared_ptr<const PackedGraph>> out;
  for (const auto& p : list_packed(dir))
    out.push_back(std::make_shared<const PackedGraph>(PackedGraph::open(p)));
  return out;
}

}  // namespace

TrainResult train_layout(const TrainOptions& opt_in) {
  const TrainOptions opt = resolve_defaults(opt_in);
  const Collection coll = parse_collection(opt.collection);
  fs::create_directories(opt.out_dir);
  Progress bar(opt.progress);
  bar.line("tgraph train: " + init_torch(opt.ctx));

  // Pre-processing: packed train (de-duplicated) and valid splits.
  auto t_pack = Clock::now();
  PackOptions train_pack{opt.prune, /*dedup=*/true, /*repad=*/true};
  PackOptions valid_pack{opt.prune, /*dedup=*/false, /*repad=*/true};
  std::string train_dir = pack_collection(opt.data_root, coll, "train", opt.cache_dir, train_pack,
                                          opt.ctx.threads > 0 ? opt.ctx.threads : 2);
  std::string valid_dir = pack_collection(opt.data_root, coll, "valid", opt.cache_dir, valid_pack,
                                          opt.ctx.threads > 0 ? opt.ctx.threads : 2);
  auto train_packs = open_split(train_dir);
  auto valid_packs = open_split(valid_dir);
  if (train_packs.empty())
    throw_error(coll.dir(opt.data_root, "train"), "", "training graphs", "none");
  for (const auto& p : train_packs)
    if (!p->labelled())
      throw_error(p->path(), "config_runtime", "labelled training graphs", "all zeros");
  bar.line(TG_STR("packed " << train_packs.size() << " train / " << valid_packs.size()
                            << " valid graphs in " << std::fixed << std::setprecision(1)
                            << std::chrono::duration<double>(Clock::now() - t_pack).count()
                            << " s"));

  // Model, normaliser, optimiser.
  ModelConfig mc = ModelConfig::preset(opt.model, opt.cross_attention == 1);
  if (opt.hidden > 0) mc.hidden = opt.hidden;
  const fs::path ckpt_dir = fs::path(opt.out_dir) / "checkpoint";
  const fs::path state_path = ckpt_dir / "state.json";
  FeatureNormalizer norm;
  TrainerState st;
  std::mt19937_64 rng(opt.ctx.seed);
  LayoutModel model;
  nlohmann::json resumed_from;
  if (opt.resume && fs::exists(state_path)) {
    std::ifstream in(state_path);
    nlohmann::json sj = nlohmann::json::parse(in);
    st = TrainerState::from_json(sj.at("trainer"));
    std::istringstream rs(st.rng);
    rs >> rng;
    ModelFile mf = load_model_file((ckpt_dir / sj.at("model").get<std::string>()).string());
    mc = mf.config;
    norm = FeatureNormalizer::from_json(mf.normalizer, state_path.string());
    model = make_layout_model(mc);
    load_module_tensors(*model, mf.tensors, state_path.string());
    resumed_from = sj;
  } else {
    std::vector<const PackedGraph*> raw;
    for (const auto& p : train_packs) raw.push_back(p.get());
    norm = fit_normalizer(raw);
    model = make_layout_model(mc);
  }
  model->to(opt.ctx.device);
  torch::optim::AdamW optim(model->parameters(),
                            torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  if (!resumed_from.is_null()) {
    torch::load(optim, (ckpt_dir / resumed_from.at("optimizer").get<std::string>()).string());
    bar.line(TG_STR("resumed at step " << st.step << " (" << fmt_time(st.elapsed) << " elapsed)"));
  }
  bar.line(TG_STR("model " << mc.name << " (" << model->num_parameters() << " parameters, hidden "
                           << mc.hidden << ", cross-attention "
                           << (mc.cross_attention ? "on" : "off") << "), loss " << opt.loss.name
                           << ", slate " << opt.slate));

  std::vector<GraphInput> train_in, valid_in;
  for (const auto& p : train_packs)
    train_in.push_back(graph_input_from_pack(p, norm, opt.ctx.device));
  for (const auto& p : valid_packs)
    valid_in.push_back(graph_input_from_pack(p, norm, opt.ctx.device));

  auto model_file = [&](const nlohmann::json& training_extra) {
    ModelFile f;
    f.task = "layout";
    f.config = mc;
    f.normalizer = norm.to_json();
    f.preprocessing = {{"prune", opt.prune}, {"repad", true}};
    f.training = {{"collection", opt.collection},
                  {"loss", opt.loss.name},
                  {"slate", opt.slate},
                  {"eval_slate", opt.eval_slate},
                  {"lr", opt.lr},
                  {"weight_decay", opt.weight_decay},
                  {"seed", opt.ctx.seed},
                  {"train_graphs", train_packs.size()},
                  {"valid_graphs", valid_packs.size()}};
    f.training.update(training_extra);
    f.tensors = module_tensors(*model);
    return f;
  };

  std::ofstream log((fs::path(opt.out_dir) / "log.jsonl").string(), std::ios::app);
  const auto t0 = Clock::now();
  auto elapsed = [&] {
    return st.elapsed + std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto progress = [&] {
    double p = 0;
    if (opt.steps > 0) p = std::max(p, static_cast<double>(st.step) / opt.steps);
    if (opt.time_budget_s > 0) p = std::max(p, elapsed() / opt.time_budget_s);
    return std::min(p, 1.0);
  };
  const double eval_every_s = opt.eval_every_s > 0    ? opt.eval_every_s
                              : opt.time_budget_s > 0 ? opt.time_budget_s / 6
                                                      : 0;
  const int64_t eval_every_steps = opt.eval_every_steps > 0 ? opt.eval_every_steps
                                   : (opt.steps > 0 && eval_every_s == 0)
                                       ? std::max<int64_t>(1, opt.steps / 6)
                                       : 0;
  double last_eval_time = elapsed();
  int64_t last_eval_step = st.step;
  double loss_ema = 0;
  int64_t configs_seen = 0;
  double train_seconds = 0;

  auto save_checkpoint = [&] {
    fs::create_directories(ckpt_dir);
    std::string mname = TG_STR("model-" << st.step << ".tgm");
    std::string oname = TG_STR("optim-" << st.step << ".pt");
    std::ostringstream rs;
    rs << rng;
    st.rng = rs.str();
    TrainerState saved = st;
    saved.elapsed = elapsed();
    save_model_file((ckpt_dir / mname).string(), model_file({{"steps", st.step}}));
    std::string otmp = temp_path_beside((ckpt_dir / oname).string());
    torch::save(optim, otmp);
    atomic_rename(otmp, (ckpt_dir / oname).string());
    nlohmann::json sj = {{"trainer", saved.to_json()}, {"model", mname}, {"optimizer", oname}};
    write_file_atomic(state_path.string(), sj.dump(2));
    // Only now that state.json points at the new files may the old ones go.
    for (const auto& e : fs::directory_iterator(ckpt_dir)) {
      std::string n = e.path().filename().string();
      if ((n.rfind("model-", 0) == 0 && n != mname) || (n.rfind("optim-", 0) == 0 && n != oname))
        fs::remove(e.path());
    }
  };

  auto evaluate = [&]() {
    if (valid_in.empty()) return;
    EvalReport r = evaluate_graphs(*model, valid_in, opt.eval_slate, opt.ctx.seed);
    ++st.evals;
    const bool best = std::isfinite(r.mean.tau) && r.mean.tau > st.best_tau;
    if (best) {
      st.best_tau = r.mean.tau;
      st.best_step = st.step;
      save_model_file((fs::path(opt.out_dir) / "best.tgm").string(),
                      model_file({{"steps", st.step},
                                  {"valid_tau", r.mean.tau},
                                  {"valid_opa", r.mean.opa},
                                  {"seconds", elapsed()}}));
    }
    nlohmann::json j = {
        {"step", st.step},
        {"seconds", elapsed()},
        {"train_loss", loss_ema},
        {"lr", opt.lr * lr_factor(progress(), opt.warmup)},
        {"configs_per_second", train_seconds > 0 ? configs_seen / train_seconds : 0},
        {"valid", r.to_json()},
        {"best", best}};
    log << j.dump() << "\n" << std::flush;
    bar.line(TG_STR("eval step " << st.step << ": valid tau " << std::fixed << std::setprecision(4)
                                 << r.mean.tau << " OPA " << r.mean.opa << (best ? " (best)" : "")
                                 << " [" << std::setprecision(1) << r.seconds << " s]"));
    save_checkpoint();
  };

  model->train();
  std::vector<size_t> order;
  size_t order_pos = 0;
  std::vector<int8_t> buf;
  while (progress() < 1.0) {
    if (order_pos == order.size()) {  // a new epoch: every graph once, shuffled
      order.resize(train_in.size());
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      order_pos = 0;
    }
    const GraphInput& g = train_in[order[order_pos++]];
    auto ts = Clock::now();
    // Slate: distinct configurations sampled without replacement.
    const int64_t C = g.num_configs, S = std::min(opt.slate, C);
    std::vector<int64_t> rows;
    if (S == C) {
      rows.resize(static_cast<size_t>(C));
      std::iota(rows.begin(), rows.end(), 0);
    } else {
      std::vector<int64_t> all(static_cast<size_t>(C));
      std::iota(all.begin(), all.end(), 0);
      for (int64_t i = 0; i < S; ++i) {
        std::uniform_int_distribution<int64_t> d(i, C - 1);
        std::swap(all[i], all[d(rng)]);
      }
      rows.assign(all.begin(), all.begin() + S);
      std::sort(rows.begin(), rows.end());
    }
    if (S < 2) continue;
    buf.resize(rows.size() * static_cast<size_t>(g.num_config_nodes * kLayoutConfigDim));
    g.read_configs(rows, buf.data());
    auto cfg = config_indices(buf.data(), S, g.num_config_nodes, opt.ctx.device);
    std::vector<int64_t> rt(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) rt[i] = g.runtimes[rows[i]];
    auto y = torch::tensor(rt, torch::kInt64).to(opt.ctx.device);

    for (auto& group : optim.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options())
          .lr(opt.lr * lr_factor(progress(), opt.warmup));
    optim.zero_grad();
    auto scores = model->forward(g.tensors, cfg);
    auto loss = ranking_loss(opt.loss, scores, y);
    loss.backward();
    if (opt.clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), opt.clip);
    optim.step();
    double l = loss.item<double>();
    loss_ema = st.step == 0 || loss_ema == 0 ? l : 0.98 * loss_ema + 0.02 * l;
    ++st.step;
    configs_seen += S;
    train_seconds += std::chrono::duration<double>(Clock::now() - ts).count();
    bar.update(st.step, progress(), loss_ema, configs_seen / std::max(train_seconds, 1e-9),
               elapsed(), st.best_tau);
    const bool due = (eval_every_s > 0 && elapsed() - last_eval_time >= eval_every_s) ||
                     (eval_every_steps > 0 && st.step - last_eval_step >= eval_every_steps);
    if (due && progress() < 1.0) {
      evaluate();
      last_eval_time = elapsed();
      last_eval_step = st.step;
    }
  }
  evaluate();
  TrainResult res;
  res.steps = st.step;
  res.seconds = elapsed();
  res.configs_per_second = train_seconds > 0 ? configs_seen / train_seconds : 0;
  res.last_model = (fs::path(opt.out_dir) / "last.tgm").string();
  save_model_file(res.last_model, model_file({{"steps", st.step}, {"seconds", res.seconds}}));
  if (valid_in.empty()) {
    // Without validation graphs the last model is the best we know.
    fs::copy_file(res.last_model, (fs::path(opt.out_dir) / "best.tgm"),
                  fs::copy_options::overwrite_existing);
  }
  res.best_model = (fs::path(opt.out_dir) / "best.tgm").string();
  res.best_tau = st.best_tau;
  res.best_step = st.best_step;
  write_file_atomic((fs::path(opt.out_dir) / "summary.json").string(), res.to_json().dump(2));
  return res;
}

}  // namespace tgraph
