#include "tgraph/train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "tgraph/data/features.h"
#include "tgraph/data/sample.h"
#include "tgraph/model/model_file.h"
#include "tgraph/train/distributed.h"
#include "tgraph/train/schedule.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/task.h"
#include "tgraph/train/weight_average.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph {

nlohmann::json TrainResult::to_json() const {
  // A rank other than 0 (or a run without validation) has no best value: null.
  return {{"metric", metric},
          {"best_" + metric, best > -1e299 ? nlohmann::json(best) : nlohmann::json(nullptr)},
          {"last_" + metric,
           std::isfinite(last) && best > -1e299 ? nlohmann::json(last) : nlohmann::json(nullptr)},
          {"best_step", best_step},
          {"steps", steps},
          {"seconds", seconds},
          {"configs_per_second", configs_per_second},
          {"best_model", best_model},
          {"last_model", last_model},
          {"world", world},
          {"rank", rank},
          {"comm_seconds", comm_seconds},
          {"param_checksum", TG_STR(std::hex << param_checksum)}};
}

const std::vector<TrainOptionRange>& train_option_ranges() {
  using O = const TrainOptions&;
  static const std::vector<TrainOptionRange> ranges = {
      {"--slate", [](O o) { return double(o.slate); }, 0, 1 << 20, 1 << 20},
      {"--eval-slate", [](O o) { return double(o.eval_slate); }, 0, 1 << 20, 1 << 20},
      {"--activation-budget", [](O o) { return o.activation_budget_mb; }, 0, 1e9, 1e9},
      {"--hidden", [](O o) { return double(o.hidden); }, 0, 8192, 8192},
      {"--steps", [](O o) { return double(o.steps); }, 0, 1e12, 1e12},
      {"--time-budget", [](O o) { return o.time_budget_s; }, 0, 1e7, 1e7},
      {"--eval-every", [](O o) { return o.eval_every_s; }, 0, 1e7, 1e7},
      {"--eval-every-steps", [](O o) { return double(o.eval_every_steps); }, 0, 1e12, 1e12},
      {"--graphs-per-step", [](O o) { return double(o.graphs_per_step); }, 0, 4096, 4096},
      {"--max-valid-graphs", [](O o) { return double(o.max_valid_graphs); }, 0, 1e9, 1e9},
      {"--lr", [](O o) { return o.lr; }, 0, kAnyFinite, 10},
      {"--weight-decay", [](O o) { return o.weight_decay; }, 0, kAnyFinite, 10},
      {"--warmup", [](O o) { return o.warmup; }, 0, 1, 1},
      {"--clip", [](O o) { return o.clip; }, 0, kAnyFinite, 1e6},
      // Below 1: the average must forget (a decay of 1 never leaves its first value).
      {"--ema", [](O o) { return o.ema; }, 0, 0.999999, 0.999999},
      {"--cross-attention", [](O o) { return double(o.cross_attention); }, -1, 1, 1},
  };
  return ranges;
}

namespace {
// The loss's weights are the loss's to check (validate_loss_options).
void check_ranges(const TrainOptions& o) {
  const auto num = [](double v) { return TG_STR(std::setprecision(12) << v); };
  for (const TrainOptionRange& r : train_option_ranges()) {
    const double v = r.value(o);
    if (!(v >= r.lo && v <= r.hi))  // NaN fails too
      throw_error("train", r.flag,
                  r.hi == kAnyFinite ? "a finite value >= " + num(r.lo)
                                     : "a value in [" + num(r.lo) + ", " + num(r.hi) + "]",
                  num(v));
  }
}
}  // namespace

TrainOptions resolve_defaults(TrainOptions o) {
  check_ranges(o);
  Collection c = parse_collection(o.collection);
  if (o.steps <= 0 && o.time_budget_s <= 0)
    throw_error("train", "--steps / --time-budget", "a step or time budget", "neither");
  if (o.eval_slate != 0 && o.eval_slate < 2)
    throw_error("train", "--eval-slate", "0 or at least 2", std::to_string(o.eval_slate));
  if (o.cache_dir.empty()) o.cache_dir = (fs::path(o.out_dir) / "cache").string();
  if (c.kind == Kind::kTile) {
    const std::string m = o.model;
    if (m != "tgraph" && m != "tile" && m != "baseline" && m != "tile-baseline")
      throw_error("--model", "", "tile | tile-baseline (or tgraph | baseline) for tile:xla",
                  "'" + m + "'");
    o.model = (m == "baseline" || m == "tile-baseline") ? "tile-baseline" : "tile";
    if (o.cross_attention == 1)
      throw_error("--cross-attention", "", "0 for tile:xla (one kernel, no slate attention)", "1");
    o.cross_attention = 0;
    // ListMLE for both tile models: 0.9516 vs 0.9260 valid tile score (last checkpoints) and top-1
    // error 0.34 vs 0.44 against the pairwise hinge, 3 seeds at 300 s (docs/results.md).
    if (o.loss.name.empty()) o.loss.name = "listmle";
    if (o.slate <= 0) o.slate = 256;
    if (o.graphs_per_step <= 0) o.graphs_per_step = 8;
    if (o.lr <= 0) o.lr = 1e-3;
    o.reach =
        Reach::whole();  // kernels are small (~45 nodes) and have no configurable nodes to keep
  } else {
    if (o.model != "tgraph" && o.model != "tgraph-cpu" && o.model != "baseline")
      throw_error("--model", "", "tgraph | tgraph-cpu | baseline for " + c.name(),
                  "'" + o.model + "'");
    const bool is_default = c.search == "default";
    const bool baseline = o.model == "baseline";
    if (o.cross_attention < 0) o.cross_attention = (!baseline && is_default) ? 1 : 0;
    if (o.loss.name.empty()) o.loss.name = baseline ? "listmle" : "hinge";
    // tgraph-cpu: on 2 cores a run sees a few hundred configurations per second, so more, smaller
    // steps win: slate 32 and lr 3e-3 gave valid tau 0.67 vs 0.59 (slate 128, lr 1e-3) on
    // xla:random in 150 s (docs/results.md).
    const bool cpu = o.model == "tgraph-cpu";
    if (o.slate <= 0) o.slate = baseline ? 16 : cpu ? 32 : (is_default ? 64 : 128);
    if (o.graphs_per_step <= 0) o.graphs_per_step = 1;
    if (o.lr <= 0) o.lr = cpu ? 3e-3 : 1e-3;
  }
  validate_loss_options(o.loss);
  if (o.slate < 2) throw_error("train", "--slate", "at least 2", std::to_string(o.slate));
  // As the model file's default_inference_slate, so the best checkpoint is chosen at the slate
  // the model will be scored in.
  if (o.eval_slate == 0)
    o.eval_slate =
        o.cross_attention == 1 ? std::min<int64_t>(2 * o.slate, 1 << 20) : kPlainInferenceSlate;
  return o;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNoBest = -1e300;  // below every metric value (JSON has no -inf)

struct TrainerState {
  int64_t step = 0;
  double elapsed = 0;     // seconds of earlier sessions (resume)
  double best = kNoBest;  // best validation value of the selection metric
  int64_t best_step = 0;
  int64_t evals = 0;
  std::string rng;  // std::mt19937_64 state
  nlohmann::json to_json() const {
    return {{"step", step},           {"elapsed", elapsed}, {"best", best},
            {"best_step", best_step}, {"evals", evals},     {"rng", rng}};
  }
  static TrainerState from_json(const nlohmann::json& j) {
    TrainerState s;
    s.step = j.at("step");
    s.elapsed = j.at("elapsed");
    s.best = j.contains("best") ? j["best"].get<double>()  // "best_tau" before tile shared it
                                : j.at("best_tau").get<double>();
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
  // quiet: not even the informational lines (ranks other than 0).
  explicit Progress(bool on, bool quiet = false) : on_(on), quiet_(quiet), tty_(::isatty(2)) {}
  void update(int64_t step, double progress, double loss, double cps, double elapsed,
              const std::string& metric, double best) {
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
    if (best > kNoBest) o << " | best " << metric << " " << std::setprecision(4) << best;
    std::cerr << (tty_ ? "\r" : "") << o.str() << (tty_ ? "   " : "\n") << std::flush;
  }
  // Informational lines are printed even without the bar (they are the run's record).
  void line(const std::string& s) {
    if (quiet_) return;
    const bool redraw = on_ && tty_;
    std::cerr << (redraw ? "\r" : "") << s << std::string(redraw ? 20 : 0, ' ') << "\n"
              << std::flush;
  }

 private:
  bool on_, quiet_, tty_;
  Clock::time_point last_{};
};

// One training or validation graph: the sample and the tensors the network reads.
struct Prepared {
  Sample sample;
  GraphTensors tensors;
};

// --init (transfer between searches, issue #12): copies into `model` every tensor of the file
// whose name and shape match, and takes the file's normalisers (its weights expect features
// normalised that way). Tensors only the new model has, or has in another shape (cross-attention
// changes some layer widths, when a default-collection model starts from a random-collection
// one), keep their fresh initialisation. The file must be of the same task, preset and width, with
// the same graph reach; returns the count copied.
int64_t init_from_model(const std::string& path, const Task& task, const ModelConfig& mc,
                        const Reach& reach, Model& model, FeatureNormalizer* norm,
                        TileConfigNormalizer* cnorm) {
  const ModelFile f = load_model_file(path);
  if (f.task != task.name())
    throw_error(path, "task", "a " + task.name() + " model (--init)", "'" + f.task + "'");
  if (f.config.name != mc.name || f.config.hidden != mc.hidden)
    throw_error(path, "model", TG_STR(mc.name << " hidden " << mc.hidden << " (this run)"),
                TG_STR(f.config.name << " hidden " << f.config.hidden));
  // Other fields (depth, dropout, ...) may differ: tensors that do not match by name and shape
  // start fresh, as with cross-attention.
  if (task.kind() == Kind::kLayout) {
    const Reach r = reach_from_json(f.preprocessing.value("prune", nlohmann::json(true)), path);
    if (r != reach)
      throw_error(path, "preprocessing.prune", reach.str() + " (this run's --reach)", r.str());
  }
  *norm = FeatureNormalizer::from_json(f.normalizer, path);
  if (task.kind() == Kind::kTile)
    *cnorm = TileConfigNormalizer::from_json(f.preprocessing.value("config_norm", nlohmann::json()),
                                             path);
  const auto copied = static_cast<int64_t>(load_matching_tensors(*model, f.tensors));
  if (copied == 0) throw_error(path, "tensors", "tensors of this model", "none in common");
  return copied;
}

}  // namespace

int64_t train_rows_per_pass(const ModelImpl& net, int64_t num_nodes, int64_t slate,
                            double budget_mb) {
  if (budget_mb <= 0 || net.config().cross_attention) return slate;
  const double per = net.activation_bytes_per_config(num_nodes);
  const double fit = std::floor(budget_mb * 1024.0 * 1024.0 / std::max(per, 1.0));
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(fit, 1e15)), 1,
                             std::max<int64_t>(slate, 1));
}

namespace {

// A configuration whose forward pass keeps less than this is not worth a thread of its own (the
// tile late-fusion model's configuration MLP: a few KB).
constexpr double kMinBytesPerPartConfig = 64 * 1024;

// plan.rows_per_pass < S: see slate_backward.
double backward_in_passes(ModelImpl& net, const GraphTensors& g, const torch::Tensor& configs,
                          const torch::Tensor& runtimes, const LossOptions& loss, double weight,
                          int64_t rows_per_pass) {
  const int64_t S = configs.size(0);
  // The graph part once, with autograd; the passes read a detached copy whose gradient
  // accumulates over them and is back-propagated into the graph part at the end.
  torch::Tensor code = net.encode_graph(g);
  torch::Tensor code_in = code.detach().requires_grad_(code.requires_grad());
  at::Generator gen = at::globalContext().defaultGenerator(configs.device());
  std::vector<at::Tensor> states;  // the generator before each pass
  std::vector<torch::Tensor> first;
  {
    torch::NoGradGuard ng;
    for (int64_t b = 0; b < S; b += rows_per_pass) {
      states.push_back(gen.get_state());
      first.push_back(net.score(g, code_in, configs.narrow(0, b, std::min(rows_per_pass, S - b))));
    }
  }
  torch::Tensor scores = torch::cat(first).detach().requires_grad_(true);  // [S]
  torch::Tensor l = ranking_loss(loss, scores, runtimes);
  const double v = l.item<double>();
  if (!std::isfinite(v)) return v;
  (l * weight).backward();
  const torch::Tensor grad = scores.grad();  // [S] d(weight x loss) / d score
  for (size_t p = 0; p < states.size(); ++p) {
    const int64_t b = static_cast<int64_t>(p) * rows_per_pass, k = std::min(rows_per_pass, S - b);
    gen.set_state(states[p]);
    torch::Tensor s = net.score(g, code_in, configs.narrow(0, b, k));  // [k]
    // The same pass twice must give the same scores (else the gradient is not the loss's): only
    // kernel rounding may differ (the no-grad pass normalises with batch_norm).
    const double diff = (s.detach() - first[p]).abs().max().item<double>();
    const double scale = 1.0 + first[p].abs().max().item<double>();
    TG_CHECK(diff <= 1e-3 * scale, "split slate: pass ", p, " scored differently the second time (",
             diff, ")");
    s.backward(grad.narrow(0, b, k));
  }
  if (code.requires_grad() && code_in.grad().defined()) code.backward(code_in.grad());
  return v;
}

// plan.workers > 1: see slate_backward.
double backward_in_parts(ModelImpl& net, const GraphTensors& g, const torch::Tensor& configs,
                         const torch::Tensor& runtimes, const LossOptions& loss, double weight,
                         int workers, PartThreads* team) {
  const int64_t S = configs.size(0);
  const int64_t chunk = (S + workers - 1) / workers;
  const size_t P = static_cast<size_t>((S + chunk - 1) / chunk);
  torch::Tensor code = net.encode_graph(g);
  torch::Tensor code_in = code.detach().requires_grad_(code.requires_grad());
  // What each part differentiates: the parameters the parts use, and the graph code.
  std::vector<torch::Tensor> inputs;
  for (const auto& p : net.parameters())
    if (p.requires_grad()) inputs.push_back(p);
  if (code_in.requires_grad()) inputs.push_back(code_in);
  std::vector<at::Generator> gens;
  {
    at::Generator def = at::globalContext().defaultGenerator(configs.device());
    std::lock_guard<std::mutex> lock(def.mutex());
    auto* cpu = at::check_generator<at::CPUGeneratorImpl>(def);
    for (size_t p = 0; p < P; ++p) gens.push_back(at::detail::createCPUGenerator(cpu->random64()));
  }
  std::unique_ptr<PartThreads> own;
  PartThreads* threads = team;
  if (!threads || threads->size() < workers) {
    own = std::make_unique<PartThreads>(workers);
    threads = own.get();
  }
  std::vector<torch::Tensor> part(P);
  threads->run(static_cast<int64_t>(P), [&](int64_t p) {
    DropoutGeneratorScope scope(gens[static_cast<size_t>(p)]);
    part[static_cast<size_t>(p)] =
        net.score(g, code_in, configs.narrow(0, p * chunk, std::min(chunk, S - p * chunk)));
  });
  std::vector<torch::Tensor> detached;
  for (const auto& t : part) detached.push_back(t.detach());
  torch::Tensor scores = torch::cat(detached).requires_grad_(true);  // [S]
  torch::Tensor l = ranking_loss(loss, scores, runtimes);
  const double v = l.item<double>();
  if (!std::isfinite(v)) return v;
  (l * weight).backward();
  const torch::Tensor grad = scores.grad();  // [S]
  std::vector<std::vector<torch::Tensor>> grads(P);
  threads->run(static_cast<int64_t>(P), [&](int64_t p) {
    const size_t i = static_cast<size_t>(p);
    grads[i] = torch::autograd::grad({part[i]}, inputs,
                                     {grad.narrow(0, p * chunk, std::min(chunk, S - p * chunk))},
                                     /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
    part[i] = torch::Tensor();  // its graph is freed as soon as its gradient is known
  });
  // Summed in part order, whichever thread finished first.
  for (size_t i = 0; i < inputs.size(); ++i) {
    torch::Tensor sum;
    for (size_t p = 0; p < P; ++p)
      if (grads[p][i].defined()) sum = sum.defined() ? sum + grads[p][i] : grads[p][i];
    if (!sum.defined()) continue;
    if (code_in.requires_grad() && i + 1 == inputs.size()) {
      code.backward(sum);
    } else if (inputs[i].grad().defined()) {
      inputs[i].mutable_grad().add_(sum);
    } else {
      inputs[i].mutable_grad() = sum;
    }
  }
  return v;
}

}  // namespace

double slate_backward(ModelImpl& net, const GraphTensors& g, const torch::Tensor& configs,
                      const torch::Tensor& runtimes, const LossOptions& loss, double weight,
                      const SlatePlan& plan) {
  const int64_t S = configs.size(0);
  const bool in_passes = plan.rows_per_pass > 0 && plan.rows_per_pass < S;
  const bool in_parts = !in_passes && plan.workers > 1 && S >= 2;
  if (in_passes || in_parts)
    TG_CHECK(!net.config().cross_attention,
             "a cross-attention slate cannot be split: its scores depend on the slate");
  if (in_passes)
    return backward_in_passes(net, g, configs, runtimes, loss, weight, plan.rows_per_pass);
  if (in_parts) {
    TG_CHECK(configs.device().is_cpu(), "slate parts on threads are for the CPU");
    return backward_in_parts(net, g, configs, runtimes, loss, weight, plan.workers, plan.threads);
  }
  torch::Tensor l = ranking_loss(loss, net.forward(g, configs), runtimes);
  const double v = l.item<double>();
  if (std::isfinite(v)) (l * weight).backward();
  return v;
}

SlatePlan plan_slate(const ModelImpl& net, int64_t num_nodes, int64_t slate, double budget_mb,
                     const torch::Device& device) {
  SlatePlan p;
  p.rows_per_pass = train_rows_per_pass(net, num_nodes, slate, budget_mb);
  if (p.rows_per_pass >= slate &&
      net.activation_bytes_per_config(num_nodes) >= kMinBytesPerPartConfig)
    p.workers = static_cast<int>(
        std::clamp<int64_t>(slate / 2, 1, static_cast<int64_t>(chunk_workers(net, device))));
  return p;
}

TrainResult train(const TrainOptions& opt_in) {
  const TrainOptions opt = resolve_defaults(opt_in);
  const Collection coll = parse_collection(opt.collection);
  const Task& task = task_for(coll.kind);
  const bool tile = coll.kind == Kind::kTile;
  fs::create_directories(opt.out_dir);
  // Data-parallel when the launcher set WORLD_SIZE > 1: rank 0 leads (logs, files, decisions).
  std::unique_ptr<Distributed> dist = Distributed::from_env(opt.dist, opt.ctx.device);
  const int rank = dist ? dist->rank() : 0, world = dist ? dist->world() : 1;
  const bool lead = rank == 0;
  Progress bar(opt.progress && lead, /*quiet=*/!lead);
  bar.line("tgraph train (" + task.name() + "): " + init_torch(opt.ctx) +
           (dist ? TG_STR(", " << world << " ranks (Gloo"
                               << (opt.ctx.device.is_cuda() ? "/NCCL" : "") << ")")
                 : std::string()));

  // Pre-processing: training samples (layout: packed and de-duplicated) and validation samples.
  auto t_prep = Clock::now();
  const Preprocessing pre{opt.reach, /*repad=*/true};
  const int workers = opt.ctx.threads > 0 ? opt.ctx.threads : 2;
  // Rank 0 packs the shared cache first; the others then find it up to date.
  if (dist && !lead) dist->barrier();
  std::vector<Sample> train_s =
      task.load_split(opt.data_root, coll, "train", pre, /*dedup=*/true, opt.cache_dir, workers);
  std::vector<std::string> also_names;
  for (const std::string& spec : opt.train_also) {
    const Collection extra = parse_collection(spec);
    if (extra.kind != Kind::kLayout || tile)
      throw_error("train", "--train-also", "a layout collection, with a layout --collection",
                  spec + " (with " + coll.name() + ")");
    if (extra.name() == coll.name() ||
        std::find(also_names.begin(), also_names.end(), extra.name()) != also_names.end())
      throw_error("train", "--train-also", "a collection other than --collection, given once",
                  spec);
    std::vector<Sample> more = task.load_split(opt.data_root, extra, "train", pre,
                                               /*dedup=*/true, opt.cache_dir, workers);
    for (Sample& m : more) train_s.push_back(std::move(m));
    also_names.push_back(extra.name());
  }
  std::vector<Sample> valid_s =
      task.load_split(opt.data_root, coll, "valid", pre, /*dedup=*/false, opt.cache_dir, workers);
  if (dist && lead) dist->barrier();
  if (opt.max_valid_graphs > 0 && static_cast<int64_t>(valid_s.size()) > opt.max_valid_graphs)
    valid_s.resize(static_cast<size_t>(opt.max_valid_graphs));
  for (const auto& s : train_s)
    if (!s.labelled)
      throw_error(s.source, "config_runtime", "labelled training graphs", "all zeros");
  for (const auto& s : valid_s)
    if (!s.labelled)
      throw_error(s.source, "config_runtime", "labelled validation graphs", "all zeros");
  bar.line(TG_STR("prepared " << train_s.size() << " train / " << valid_s.size()
                              << " valid graphs in " << std::fixed << std::setprecision(1)
                              << std::chrono::duration<double>(Clock::now() - t_prep).count()
                              << " s"));

  // Model, normalisers, optimiser.
  ModelConfig mc = ModelConfig::preset(opt.model, opt.cross_attention == 1);
  if (opt.hidden > 0) mc.hidden = opt.hidden;
  try {
    ModelConfig::from_json(mc.to_json());  // the bounds a model file is held to (even hidden, ...)
  } catch (const Error&) {
    throw_error("train", "--hidden", "an even width in [2, 8192]", std::to_string(mc.hidden));
  }
  mc = mc.with_overrides(opt.arch, "--arch");
  const fs::path ckpt_dir = fs::path(opt.out_dir) / "checkpoint";
  const fs::path state_path = ckpt_dir / "state.json";
  if (lead) {
    // Temporary files of an earlier run that was killed mid-write (the outputs are renamed into
    // place only when complete, so these are never the current files).
    for (const fs::path& dir : {fs::path(opt.out_dir), ckpt_dir}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().find(".tmp.") != std::string::npos)
          fs::remove(e.path(), ec);
    }
  }
  FeatureNormalizer norm;
  TileConfigNormalizer cnorm;
  TrainerState st;
  // One generator on a single process. With several ranks the epoch order must be the same on all
  // of them (each takes its own shard of it; `rng`, saved by rank 0) while each rank's slates are
  // drawn from a generator derived from (seed, rank, step), so that resume needs no per-rank state.
  std::mt19937_64 rng(opt.ctx.seed);
  std::mt19937_64& order_rng = rng;
  Model model;
  nlohmann::json resumed_from;
  nlohmann::json init_info = nlohmann::json::object();  // --init: recorded in every model file
  if (opt.resume && fs::exists(state_path)) {
    nlohmann::json sj;
    try {
      std::ifstream in(state_path);
      sj = nlohmann::json::parse(in);
      st = TrainerState::from_json(sj.at("trainer"));
      sj.at("model").get<std::string>();
      sj.at("optimizer").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw_error(state_path.string(), "trainer", "a checkpoint state written by tgraph train",
                  e.what());
    }
    std::istringstream rs(st.rng);
    rs >> rng;
    if (!rs) throw_error(state_path.string(), "trainer.rng", "a generator state", "other text");
    if (sj.value("world", 1) != world)
      throw_error(state_path.string(), "world", TG_STR(world << " ranks (as this run)"),
                  TG_STR(sj.value("world", 1) << " (resume with the same world size)"));
    ModelFile mf = load_model_file((ckpt_dir / sj.at("model").get<std::string>()).string());
    // --resume continues *this* run: a different model, width or collection is an error, not a
    // silently ignored flag.
    const std::string ck = mf.training.value("collection", "");
    if (ck != coll.name())
      throw_error(state_path.string(), "training.collection",
                  "'" + coll.name() + "' (--collection)", "'" + ck + "' (the checkpoint's)");
    const nlohmann::json ck_also = mf.training.value("train_also", nlohmann::json::array());
    if (ck_also != nlohmann::json(also_names))
      throw_error(state_path.string(), "training.train_also",
                  nlohmann::json(also_names).dump() + " (--train-also)",
                  ck_also.dump() + " (the checkpoint's)");
    if (mf.config.to_json() != mc.to_json())
      throw_error(state_path.string(), "model", mc.to_json().dump() + " (the flags)",
                  mf.config.to_json().dump() + " (the checkpoint's)");
    const double ck_ema = mf.training.value("ema", 0.0);
    if (ck_ema != opt.ema)
      throw_error(state_path.string(), "training.ema", TG_STR(opt.ema << " (--ema)"),
                  TG_STR(ck_ema << " (the checkpoint's)"));
    mc = mf.config;
    for (const char* k : {"init_from", "init_tensors"})
      if (mf.training.contains(k)) init_info[k] = mf.training[k];
    norm = FeatureNormalizer::from_json(mf.normalizer, state_path.string());
    if (tile)
      cnorm = TileConfigNormalizer::from_json(
          mf.preprocessing.value("config_norm", nlohmann::json()), state_path.string());
    model = make_model(mc);
    load_module_tensors(*model, mf.tensors, state_path.string());
    if (sj.contains("torch_rng")) {
      std::vector<uint8_t> g;
      try {
        g = sj["torch_rng"].get<std::vector<uint8_t>>();
        at::Tensor t = torch::from_blob(g.data(), {static_cast<int64_t>(g.size())}, torch::kUInt8);
        at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle: shared state
        gen.set_state(t.clone());
      } catch (const std::exception& e) {
        throw_error(state_path.string(), "torch_rng", "the generator state tgraph wrote",
                    std::string(e.what()).substr(0, 80));
      }
    }
    resumed_from = sj;
  } else {
    // Normalisers from the training split, over the nodes (and configurations) the model sees.
    std::vector<FeatBlock> blocks;
    for (const auto& s : train_s) blocks.push_back({s.node_feat.data(), s.num_nodes});
    norm = fit_normalizer_blocks(blocks);
    if (tile) {
      std::vector<std::vector<float>> cf(train_s.size());
      std::vector<const std::vector<float>*> ptrs;
      for (size_t i = 0; i < train_s.size(); ++i) {
        std::vector<int64_t> all(static_cast<size_t>(train_s[i].num_configs));
        std::iota(all.begin(), all.end(), 0);
        cf[i].resize(all.size() * kTileConfigDim);
        train_s[i].read_configs(all, cf[i].data());
        ptrs.push_back(&cf[i]);
      }
      cnorm.fit(ptrs);
    }
    model = make_model(mc);
    if (!opt.init_model.empty()) {
      const int64_t n = init_from_model(opt.init_model, task, mc, opt.reach, model, &norm, &cnorm);
      init_info = {{"init_from", opt.init_model}, {"init_tensors", n}};
      bar.line(TG_STR("initialised " << n << " tensors from " << opt.init_model));
    }
  }
  model->to(opt.ctx.device);
  model->set_matmul_bf16(opt.ctx.bf16_matmul);
  if (dist) dist->broadcast_parameters(*model);  // rank 0's weights everywhere, fresh or resumed
  torch::optim::AdamW optim(model->parameters(),
                            torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  // A file of the checkpoint read back with torch::load; a damaged one names itself.
  auto load_part = [&](auto& into, const std::string& path, const std::string& key,
                       const std::string& expected) {
    try {
      torch::load(into, path);
    } catch (const std::exception& e) {
      std::string m = e.what();
      throw_error(path, key, expected, m.substr(0, m.find('\n')));
    }
  };
  WeightAverage avg(*model, opt.ema);  // after the broadcast: rank 0's weights start it
  if (avg.enabled() && !resumed_from.is_null()) {
    const std::string ep = (ckpt_dir / resumed_from.value("ema", std::string())).string();
    std::vector<torch::Tensor> t;
    load_part(t, ep, "ema", "the checkpoint's weight average");
    if (!avg.set(t))
      throw_error(ep, "ema", TG_STR(model->parameters().size() << " tensors shaped as the model's"),
                  TG_STR(t.size() << " tensors of other shapes"));
  }
  if (!resumed_from.is_null()) {
    const std::string op = (ckpt_dir / resumed_from.at("optimizer").get<std::string>()).string();
    load_part(optim, op, "optimizer state", "the checkpoint's AdamW state");
    bar.line(TG_STR("resumed at step " << st.step << " (" << fmt_time(st.elapsed) << " elapsed)"));
  }
  bar.line(TG_STR("model " << mc.name << " (" << model->num_parameters() << " parameters, hidden "
                           << mc.hidden << ", cross-attention "
                           << (mc.cross_attention ? "on" : "off") << "), loss " << opt.loss.name
                           << ", slate " << opt.slate << ", " << opt.graphs_per_step
                           << " graph(s) per step"));

  // Tensors once per graph; the node features are no longer needed after that.
  auto prepare = [&](std::vector<Sample>& in) {
    std::vector<Prepared> out;
    for (auto& s : in) {
      GraphTensors t = make_graph_tensors(s, norm, opt.ctx.device);
      s.node_feat = {};
      out.push_back({std::move(s), std::move(t)});
    }
    in.clear();
    return out;
  };
  const size_t n_train = train_s.size(), n_valid = valid_s.size();
  std::vector<Prepared> train_in = prepare(train_s), valid_in = prepare(valid_s);
  std::vector<Sample> valid_samples;  // what the evaluator reads (the tensors stay in valid_in)
  for (const auto& p : valid_in) valid_samples.push_back(p.sample);
  std::vector<size_t> trainable;  // graphs with at least two configurations to rank
  for (size_t i = 0; i < train_in.size(); ++i)
    if (train_in[i].sample.num_configs >= 2) trainable.push_back(i);
  if (trainable.empty())
    throw_error(coll.dir(opt.data_root, "train"), "config_runtime",
                "a training graph with at least 2 distinct configurations", "none");
  // Slates whose activations would exceed the budget train in passes; others may run in parts
  // on the intra-op threads (slate_backward).
  std::vector<SlatePlan> plans(train_in.size());
  size_t split = 0;
  int64_t fewest = opt.slate;
  for (size_t i = 0; i < train_in.size(); ++i) {
    plans[i] = plan_slate(*model, train_in[i].tensors.num_nodes, opt.slate,
                          opt.activation_budget_mb, opt.ctx.device);
    if (plans[i].rows_per_pass < std::min(opt.slate, train_in[i].sample.num_configs)) {
      ++split;
      fewest = std::min(fewest, plans[i].rows_per_pass);
    }
  }
  int parts = 1;
  for (const auto& p : plans) parts = std::max(parts, p.workers);
  std::unique_ptr<PartThreads> part_threads;  // kept for the run (PartThreads)
  if (parts > 1) {
    part_threads = std::make_unique<PartThreads>(parts);
    for (auto& p : plans) p.threads = part_threads.get();
    bar.line(TG_STR("slates run in " << parts << " parts on " << parts
                                     << " threads (one intra-op thread each)"));
  }
  if (split > 0)
    bar.line(TG_STR(split << " training graph(s) train their slates in passes of as few as "
                          << fewest << " configurations (activations under "
                          << opt.activation_budget_mb << " MiB; --activation-budget)"));
  if (mc.cross_attention) {
    // Not splittable: warn when a slate is expected to exceed the budget.
    double worst = 0;
    for (const auto& p : train_in)
      worst = std::max(worst, model->activation_bytes_per_config(p.tensors.num_nodes));
    if (opt.activation_budget_mb > 0 &&
        worst * static_cast<double>(opt.slate) > opt.activation_budget_mb * 1024.0 * 1024.0)
      bar.line(TG_STR(
          "note: with cross-attention a slate cannot be split; the largest graph's "
          "slate needs about "
          << static_cast<int64_t>(worst * opt.slate / (1 << 20))
          << " MiB of activations (--activation-budget " << opt.activation_budget_mb << ")"));
  }
  const TileConfigNormalizer* cn = tile ? &cnorm : nullptr;

  auto model_file = [&](const nlohmann::json& training_extra) {
    ModelFile f;
    f.task = task.name();
    f.config = mc;
    f.normalizer = norm.to_json();
    f.preprocessing = {{"repad", true}};
    if (tile)
      f.preprocessing["config_norm"] = cnorm.to_json();
    else
      f.preprocessing["prune"] = reach_to_json(opt.reach);
    f.training = {{"collection", coll.name()},
                  {"loss", opt.loss.name},
                  {"slate", opt.slate},
                  {"graphs_per_step", opt.graphs_per_step},
                  {"eval_slate", opt.eval_slate},
                  {"activation_budget_mb", opt.activation_budget_mb},
                  {"lr", opt.lr},
                  {"weight_decay", opt.weight_decay},
                  {"seed", opt.ctx.seed},
                  {"train_graphs", n_train},
                  {"valid_graphs", n_valid}};
    if (!also_names.empty()) f.training["train_also"] = also_names;
    if (opt.loss.mape_weight > 0) f.training["mape_weight"] = opt.loss.mape_weight;
    if (opt.loss.log_mse_weight > 0) f.training["log_mse_weight"] = opt.loss.log_mse_weight;
    if (avg.enabled()) f.training["ema"] = opt.ema;
    f.training.update(init_info);
    f.training.update(training_extra);
    f.tensors = module_tensors(*model);
    return f;
  };

  std::ofstream log;
  if (lead) log.open((fs::path(opt.out_dir) / "log.jsonl").string(), std::ios::app);
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

  // The epoch order and the position in it are part of the state: a resumed run must continue the
  // same epoch, not start a new shuffle.
  std::vector<size_t> order;
  size_t order_pos = 0;
  if (!resumed_from.is_null() && resumed_from.contains("order")) {
    try {
      order = resumed_from["order"].get<std::vector<size_t>>();
      order_pos = resumed_from.at("order_pos").get<size_t>();
    } catch (const nlohmann::json::exception& e) {
      throw_error(state_path.string(), "order", "the epoch order tgraph wrote", e.what());
    }
    for (size_t i : order)
      if (i >= train_in.size() || order_pos > order.size())
        throw_error(state_path.string(), "order",
                    TG_STR("graph indices below " << train_in.size() << " (the same data)"),
                    TG_STR(i << " (the training split changed since the checkpoint)"));
  }

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
    const std::string ename = TG_STR("ema-" << st.step << ".pt");
    if (avg.enabled()) {
      std::string etmp = temp_path_beside((ckpt_dir / ename).string());
      torch::save(avg.tensors(), etmp);
      atomic_rename(etmp, (ckpt_dir / ename).string());
      sj["ema"] = ename;
    }
    sj["world"] = world;
    sj["order"] = order;
    sj["order_pos"] = order_pos;
    // Dropout's generator too, so an interrupted and resumed run is bit-identical to one that was
    // not (same seed and threads; test crash_safety).
    at::Tensor gs = at::detail::getDefaultCPUGenerator().get_state().contiguous();
    sj["torch_rng"] =
        std::vector<uint8_t>(gs.data_ptr<uint8_t>(), gs.data_ptr<uint8_t>() + gs.numel());
    write_file_atomic(state_path.string(), sj.dump(2));
    // Only now that state.json points at the new files may the old ones go.
    for (const auto& e : fs::directory_iterator(ckpt_dir)) {
      std::string n = e.path().filename().string();
      if ((n.rfind("model-", 0) == 0 && n != mname) || (n.rfind("optim-", 0) == 0 && n != oname) ||
          (n.rfind("ema-", 0) == 0 && n != ename))
        fs::remove(e.path());
    }
  };

  const std::vector<std::string> metric_names = task.metric_names();
  double last_value = std::numeric_limits<double>::quiet_NaN();
  auto evaluate = [&]() {
    if (!lead || valid_in.empty()) return;
    // Validation and the model files see the weight average (when on); the checkpoint below
    // keeps the raw weights it resumes.
    std::optional<WeightAverage::Swap> swapped;
    swapped.emplace(avg, *model);
    EvalReport r = evaluate_samples(task, valid_samples, [&](const Sample& s, size_t i) {
      return score_configs(*model, valid_in[i].tensors, s, cn, opt.eval_slate, opt.ctx.seed + i);
    });
    ++st.evals;
    const double value = r.selection();
    last_value = value;
    const bool best = std::isfinite(value) && value > st.best;
    // The model's file header records when it was taken and what it scored.
    nlohmann::json extra = {{"steps", st.step}, {"seconds", elapsed()}};
    for (size_t m = 0; m < metric_names.size(); ++m) extra["valid_" + metric_names[m]] = r.mean[m];
    if (best) {
      st.best = value;
      st.best_step = st.step;
      save_model_file((fs::path(opt.out_dir) / "best.tgm").string(), model_file(extra));
    }
    if (opt.snapshots) {
      const fs::path dir = fs::path(opt.out_dir) / "snapshots";
      fs::create_directories(dir);
      save_model_file((dir / TG_STR("step" << st.step << ".tgm")).string(), model_file(extra));
    }
    nlohmann::json j = {
        {"step", st.step},
        {"seconds", elapsed()},
        {"train_loss", loss_ema},
        {"lr", opt.lr * lr_factor(progress(), opt.warmup)},
        {"configs_per_second", train_seconds > 0 ? configs_seen / train_seconds : 0},
        {"valid", r.to_json()},
        {"best", best}};
    j["valid"].erase("graphs");  // per-graph values stay out of the log (evaluate --json has them)
    log << j.dump() << "\n" << std::flush;
    if (opt.on_eval) opt.on_eval(j);
    bar.line(TG_STR("eval step " << st.step << ": valid " << r.summary() << (best ? " (best)" : "")
                                 << " [" << std::fixed << std::setprecision(1) << r.seconds
                                 << " s]"));
    swapped.reset();
    save_checkpoint();
  };

  model->train();
  std::vector<float> buf;
  // Rank 0's clock decides the schedule, the stop and the evaluations (one small broadcast a step).
  auto agree = [&](double prog, bool due) {
    if (!dist) return std::make_pair(prog, due);
    std::vector<double> v = {prog, due ? 1.0 : 0.0};
    auto r = dist->broadcast_values(v);
    return std::make_pair(r[0], r[1] != 0.0);
  };
  double prog = agree(progress(), false).first;
  // With slate parts the steps' own work (graph part, loss, optimiser) runs on one intra-op
  // thread: an idle OpenMP team of the main thread spins and takes CPU from the part threads
  // (measured: 30 % of a step on a 68-node graph). Validation gets the threads back.
  const int intra_threads = torch::get_num_threads();
  auto step_threads = [&](bool training) {
    if (part_threads) torch::set_num_threads(training ? 1 : intra_threads);
  };
  step_threads(true);
  while (prog < 1.0) {
    auto ts = Clock::now();
    for (auto& group : optim.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options())
          .lr(opt.lr * lr_factor(prog, opt.warmup));
    optim.zero_grad();
    double total_loss = 0;
    int64_t rows_seen = 0;
    std::mt19937_64 step_rng(opt.ctx.seed ^ (0x9E3779B97F4A7C15ull * (rank + 1)) ^
                             (0xD1B54A32D192ED03ull * static_cast<uint64_t>(st.step)));
    std::mt19937_64& slate_rng = world > 1 ? step_rng : rng;
    if (world > 1) torch::manual_seed(step_rng());  // dropout too: resumable without rank state
    for (int64_t b = 0; b < opt.graphs_per_step; ++b) {
      // Each step takes `world` consecutive entries of the epoch order; rank r trains on the r-th.
      if (order_pos + world > order.size()) {  // a new epoch: every trainable graph once, shuffled
        order.clear();
        while (order.size() < static_cast<size_t>(world))  // fewer graphs than ranks: repeat them
          order.insert(order.end(), trainable.begin(), trainable.end());
        std::shuffle(order.begin(), order.end(), order_rng);
        order_pos = 0;
      }
      const size_t gi = order[order_pos + rank];
      const Prepared& p = train_in[gi];
      order_pos += world;
      const Sample& g = p.sample;
      // Slate: distinct configurations drawn uniformly without replacement.
      std::vector<int64_t> rows = sample_rows(g.num_configs, opt.slate, slate_rng);
      const int64_t S = static_cast<int64_t>(rows.size());
      buf.resize(static_cast<size_t>(S * g.config_width));
      g.read_configs(rows, buf.data());
      auto cfg = config_tensor(g.task, buf.data(), S, g.config_width, cn, opt.ctx.device);
      std::vector<double> y(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) y[i] = g.targets[rows[i]];
      // Each graph back-propagates its share at once, so only one slate's activations live.
      const double lg = slate_backward(
          *model, p.tensors, cfg, torch::tensor(y, torch::kFloat64).to(opt.ctx.device), opt.loss,
          1.0 / static_cast<double>(opt.graphs_per_step), plans[gi]);
      // A non-finite loss would poison the weights (and every later checkpoint): stop here.
      if (!std::isfinite(lg))
        throw_error(
            "train", "loss", "a finite training loss",
            TG_STR(lg << " at step " << st.step << " (the last good model is the checkpoint)"));
      total_loss += lg;
      rows_seen += S;
    }
    const double l = total_loss / static_cast<double>(opt.graphs_per_step);
    if (dist) dist->average_gradients(*model);  // the mean over all ranks' graphs
    if (opt.clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), opt.clip);
    optim.step();
    avg.update(*model, st.step + 1);
    loss_ema = st.step == 0 || loss_ema == 0 ? l : 0.98 * loss_ema + 0.02 * l;
    ++st.step;
    configs_seen += rows_seen;
    train_seconds += std::chrono::duration<double>(Clock::now() - ts).count();
    bar.update(st.step, progress(), loss_ema, configs_seen / std::max(train_seconds, 1e-9),
               elapsed(), metric_names[0], st.best);
    const bool due = (eval_every_s > 0 && elapsed() - last_eval_time >= eval_every_s) ||
                     (eval_every_steps > 0 && st.step - last_eval_step >= eval_every_steps);
    auto [next, eval_now] = agree(progress(), due);
    prog = next;
    if (eval_now && prog < 1.0) {
      step_threads(false);
      evaluate();
      step_threads(true);
      last_eval_time = elapsed();
      last_eval_step = st.step;
    }
  }
  step_threads(false);
  evaluate();
  TrainResult res;
  res.rank = rank;
  res.world = world;
  res.param_checksum = parameter_checksum(*model);
  if (dist) {
    // Same data order, averaged gradients and rank 0's decisions keep every replica identical;
    // a mismatch here is a bug, not bad input.
    for (uint64_t c : dist->gather_checksums(res.param_checksum))
      TG_CHECK(c == res.param_checksum, "ranks ended with different parameters");
    res.comm_seconds = dist->comm_seconds();
  }
  res.steps = st.step;
  res.seconds = elapsed();
  res.configs_per_second = train_seconds > 0 ? configs_seen / train_seconds : 0;
  res.last_model = (fs::path(opt.out_dir) / "last.tgm").string();
  res.best_model = (fs::path(opt.out_dir) / "best.tgm").string();
  res.metric = metric_names[0];
  res.best = st.best;
  res.best_step = st.best_step;
  res.last = last_value;
  if (!lead) return res;  // only rank 0 writes files
  // The files hold the weight average (when on).
  WeightAverage::Swap swapped(avg, *model);
  save_model_file(res.last_model, model_file({{"steps", st.step}, {"seconds", res.seconds}}));
  if (valid_in.empty()) {
    // Without validation graphs the last model is the best we know.
    save_model_file((fs::path(opt.out_dir) / "best.tgm").string(),
                    model_file({{"steps", st.step}, {"seconds", res.seconds}}));  // atomic too
  }
  write_file_atomic((fs::path(opt.out_dir) / "summary.json").string(), res.to_json().dump(2));
  return res;
}

}  // namespace tgraph
