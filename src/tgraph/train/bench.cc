#include "tgraph/train/bench.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <numeric>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "tgraph/data/features.h"
#include "tgraph/data/pack.h"
#include "tgraph/data/sample.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/model/losses.h"
#include "tgraph/train/scoring.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/blas_core.h"

namespace tgraph {

namespace {

// Multiply-adds of one configuration's forward pass through layout TGraph (matmuls and the sparse
// aggregation; element-wise work is not counted), on a pruned graph of N nodes, NC configurable,
// nnz entries in the mean-aggregation matrix. The per-graph static projection is left out: it is
// computed once per graph, not per configuration. 0 for the baseline (not modelled).
double tgraph_forward_macs(const ModelConfig& c, int64_t N, int64_t NC, int64_t nnz) {
  if (c.name != "tgraph") return 0;
  const double H = c.hidden, L = c.cross_attention ? c.hidden / 2 : c.hidden, B = c.gate_bottleneck;
  double macs = double(NC) * 18 * c.layout_emb_dim * L;                  // in_config
  macs += double(c.dense_layers - 1) * N * H * L;                        // dense 1..
  macs += double(c.dense_layers + c.graph_layers) * N * 2 * L * B;       // channel gates
  macs += double(c.graph_layers) * (2.0 * N * H * L + double(nnz) * H);  // SAGE l, r, mean
  return macs + H;                                                       // head
}

// Runs fn under LibTorch's legacy CPU profiler and returns where the calling thread's time went:
// each op's self time (its range minus the ranges inside it), summed by name, the `top` largest
// first (all when top is 0), and the time outside every range (dispatch glue, tgraph's own code
// between ops). Ranges are ATen ops, autograd nodes and tgraph's kernels (TG_RECORD in models.cc).
// Helper threads are not profiled, which is why the caller runs fn with one pass at a time.
nlohmann::json op_profile(const std::function<void()>& fn, size_t top) {
  namespace prof = torch::autograd::profiler;
  using Clock = std::chrono::steady_clock;
  prof::thread_event_lists lists;
  double wall_us = 0;
  {
    prof::TLSLegacyProfilerGuard guard(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU),
        [&](const prof::thread_event_lists& l) { lists = l; });
    const auto t0 = Clock::now();
    fn();
    wall_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }
  struct Acc {
    double self_us = 0;
    int64_t calls = 0;
  };
  std::map<std::string, Acc> by_name;
  double covered_us = 0;  // top-level ranges
  for (const auto& events : lists) {
    struct Open {
      const prof::LegacyEvent* push;
      double child_us;
    };
    std::vector<Open> open;
    for (const prof::LegacyEvent& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        open.push_back({&e, 0.0});
      } else if (e.kind() == prof::EventKind::PopRange) {
        // A pop closes the innermost range with its handle (ranges nest on one thread).
        auto it = std::find_if(open.rbegin(), open.rend(),
                               [&](const Open& o) { return o.push->handle() == e.handle(); });
        if (it == open.rend()) continue;
        const Open o = *it;
        open.erase(std::next(it).base(), open.end());
        const double dur = o.push->cpuElapsedUs(e);
        Acc& a = by_name[o.push->name()];
        a.self_us += dur - o.child_us;
        ++a.calls;
        if (open.empty())
          covered_us += dur;
        else
          open.back().child_us += dur;
      }
    }
  }
  std::vector<std::pair<std::string, Acc>> ops(by_name.begin(), by_name.end());
  std::sort(ops.begin(), ops.end(),
            [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < (top == 0 ? ops.size() : std::min(top, ops.size())); ++i)
    rows.push_back({{"op", ops[i].first},
                    {"self_ms", ops[i].second.self_us / 1e3},
                    {"share", wall_us > 0 ? ops[i].second.self_us / wall_us : 0.0},
                    {"calls", ops[i].second.calls}});
  return {{"wall_ms", wall_us / 1e3},
          {"outside_ops_ms", std::max(0.0, wall_us - covered_us) / 1e3},
          {"ops", rows}};
}

}  // namespace

nlohmann::json run_layout_bench(const BenchOptions& opt) {
  using Clock = std::chrono::steady_clock;
  std::string runtime = init_torch(opt.ctx);
  // Packed into a temporary file first, as training does, so a graph whose configuration member
  // is larger than memory (12.7 GB inflated at full scale) streams: only the slate's rows are
  // ever read.
  auto g = pack_to_temporary(opt.graph_path, PackOptions{opt.reach, false, true});
  Sample in = sample_from_pack(g);
  // Normaliser from the graph itself: throughput does not depend on the statistics.
  FeatureNormalizer norm = fit_normalizer_blocks({FeatBlock{in.node_feat.data(), in.num_nodes}});
  GraphTensors tensors = make_graph_tensors(in, norm, opt.ctx.device);
  ModelConfig mc = ModelConfig::preset(opt.model, opt.cross_attention == 1);
  Model model = make_model(mc);
  model->to(opt.ctx.device);
  model->set_matmul_bf16(opt.ctx.bf16_matmul);
  torch::optim::AdamW optim(model->parameters(), torch::optim::AdamWOptions(1e-3));
  const int64_t S = std::min(opt.slate, in.num_configs);
  std::vector<int64_t> rows(static_cast<size_t>(S));
  for (int64_t i = 0; i < S; ++i) rows[i] = i * (in.num_configs / S);
  std::vector<float> buf(static_cast<size_t>(S * in.config_width));
  in.read_configs(rows, buf.data());
  auto cfg = config_tensor(Kind::kLayout, buf.data(), S, in.config_width, nullptr, opt.ctx.device);
  std::vector<int64_t> rt(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) rt[i] = in.runtimes[rows[i]] + static_cast<int64_t>(i);
  auto y = torch::tensor(rt).to(opt.ctx.device);
  // The trainer's plan for this slate (passes under the activation budget, or parts on the
  // threads), so the figures are its.
  SlatePlan plan = plan_slate(*model, in.num_nodes, S, opt.activation_budget_mb, opt.ctx.device);
  if (opt.train_parts > 0) plan.workers = opt.train_parts;  // for A/B measurements
  std::unique_ptr<PartThreads> part_threads;
  if (plan.workers > 1) {
    part_threads = std::make_unique<PartThreads>(plan.workers);
    plan.threads = part_threads.get();
  }
  auto step = [&](const SlatePlan& p) {
    optim.zero_grad();
    slate_backward(*model, tensors, cfg, y, LossOptions{}, 1.0, p);
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optim.step();
    if (opt.ctx.device.is_cuda()) torch::cuda::synchronize();
  };
  model->train();
  const int intra = torch::get_num_threads();
  if (part_threads) torch::set_num_threads(1);  // as the trainer: parts own the threads
  step(plan);
  step(plan);
  auto t0 = Clock::now();
  for (int i = 0; i < opt.steps; ++i) step(plan);
  double train_s = std::chrono::duration<double>(Clock::now() - t0).count();
  torch::set_num_threads(intra);
  // Inference: every configuration (or the first --infer-configs), slate by slate; the row
  // subset is built before the clock starts.
  const int64_t n_infer =
      opt.infer_configs > 0 ? std::min(opt.infer_configs, in.num_configs) : in.num_configs;
  Sample subset;
  const Sample* infer_in = &in;
  if (n_infer < in.num_configs) {
    std::vector<int64_t> infer_rows(static_cast<size_t>(n_infer));
    std::iota(infer_rows.begin(), infer_rows.end(), int64_t(0));
    subset = subset_rows(in, std::move(infer_rows));
    infer_in = &subset;
  }
  t0 = Clock::now();
  score_configs(*model, tensors, *infer_in, nullptr, opt.infer_slate, 0, 1, opt.infer_workers);
  if (opt.ctx.device.is_cuda()) torch::cuda::synchronize();
  double infer_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // The op profile: more steps and one more inference after the timed ones, so the figures above
  // carry no profiler overhead; one part and one pass at a time (only the calling thread is
  // profiled).
  nlohmann::json profile;
  if (opt.profile) {
    SlatePlan one = plan;
    one.workers = 1;
    one.threads = nullptr;
    model->train();
    profile["train"] = op_profile(
        [&] {
          for (int i = 0; i < opt.steps; ++i) step(one);
        },
        opt.profile_top);
    profile["infer"] = op_profile(
        [&] { score_configs(*model, tensors, *infer_in, nullptr, opt.infer_slate, 0, 1, 1); },
        opt.profile_top);
    profile["train_steps"] = opt.steps;
  }
  double gflops = measure_matmul_gflops(opt.ctx);
  // With --bf16 the model's products run at the bfloat16 rate: its peak is the one to compare.
  double gflops_bf16 = opt.ctx.bf16_matmul ? measure_matmul_gflops(opt.ctx, 1000, 5, true) : 0;
  // Model FLOP/s: 2 flops per multiply-add; a training step counts 3 forward passes (the
  // backward pass computes gradients for inputs and weights), the usual approximation.
  const double macs =
      tgraph_forward_macs(mc, in.num_nodes, in.num_config_nodes(), tensors.adj_mean._nnz());
  const double train_cps = S * opt.steps / train_s, infer_cps = n_infer / infer_s;
  nlohmann::json out = {
      {"graph", g->stem()},
      {"forward_macs_per_config", macs},
      {"train_model_gflops", 3 * 2 * macs * train_cps / 1e9},
      {"infer_model_gflops", 2 * macs * infer_cps / 1e9},
      {"nodes", g->source_num_nodes()},
      {"pruned_nodes", in.num_nodes},
      {"config_nodes", in.num_config_nodes()},
      {"configs", in.num_configs},
      {"model", opt.model},
      {"cross_attention", mc.cross_attention},
      {"hidden", mc.hidden},
      {"parameters", model->num_parameters()},
      {"runtime", runtime},
      {"blas", loaded_blas_library()},
      {"blas_core", openblas_core_name()},
      {"threads", torch::get_num_threads()},
      {"bf16_matmul", opt.ctx.bf16_matmul},
      {"matmul_gflops_1000", gflops},
      {"matmul_bf16_gflops_1000", gflops_bf16},
      {"train_slate", S},
      {"train_rows_per_pass", plan.rows_per_pass},
      {"train_parts", plan.workers},
      {"train_step_s", train_s / opt.steps},
      {"train_configs_per_s", train_cps},
      {"infer_configs_per_s", infer_cps},
      {"infer_slate", opt.infer_slate},
      {"infer_workers", opt.infer_workers > 0 ? opt.infer_workers
                                              : scoring_workers(*model, opt.ctx.device,
                                                                in.num_nodes, opt.infer_slate)},
      {"infer_configs", n_infer}};
  if (opt.profile) out["profile"] = profile;
  return out;
}

}  // namespace tgraph
