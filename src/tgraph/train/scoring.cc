#include "tgraph/train/scoring.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include <torch/torch.h>

#include "tgraph/eval/metrics.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/error.h"

namespace tgraph {

int64_t forward_rows(const ModelImpl& net, int64_t num_nodes, int64_t slate, int workers) {
  const ModelConfig& c = net.config();
  if (c.cross_attention) return slate;
  // About 1 MB per [N, rows, hidden] float activation with one pass at a time: the best of
  // 0.25 / 0.5 / 1 / 2 / 4 MB and unchunked measured with tgraph_cost_model_bench (1 thread,
  // tcmalloc). With passes in flight on 2 threads a quarter of that was fastest (measured with
  // `tgraph bench --threads 2`: about 8 % more configurations/s than 1 MB; docs/results.md).
  const double target = workers > 1 ? 2.5e5 : 1e6;
  const double per_row = 4.0 * static_cast<double>(std::max<int64_t>(num_nodes, 1)) * c.hidden;
  return std::clamp<int64_t>(static_cast<int64_t>(target / per_row), 1, slate);
}

std::vector<int64_t> equal_slates(int64_t n, int64_t slate) {
  TG_CHECK(slate >= 1, "slate must be >= 1");
  const int64_t k = n > 0 ? (n + slate - 1) / slate : 0;
  std::vector<int64_t> b{0};
  for (int64_t i = 0; i < k; ++i) b.push_back(b.back() + n / k + (i < n % k ? 1 : 0));
  return b;
}

int chunk_workers(const ModelImpl& net, const torch::Device& device) {
  if (net.config().cross_attention || !device.is_cpu()) return 1;
  return std::max(1, torch::get_num_threads());
}

void for_each_chunk(int64_t n, int64_t chunk, int workers,
                    const std::function<void(int64_t, int64_t)>& fn) {
  TG_CHECK(chunk >= 1, "chunk must be >= 1");
  const int64_t chunks = (n + chunk - 1) / chunk;
  workers = static_cast<int>(std::min<int64_t>(workers, chunks));
  if (workers <= 1) {
    torch::NoGradGuard ng;
    for (int64_t b = 0; b < n; b += chunk) fn(b, std::min(chunk, n - b));
    return;
  }
  // One intra-op thread per worker while they run (threads started here take the global setting
  // on their first ATen call); the caller's setting is restored afterwards.
  const int intra = torch::get_num_threads();
  torch::set_num_threads(1);
  std::atomic<int64_t> next{0};
  std::exception_ptr err;
  std::mutex mu;
  auto work = [&] {
    torch::NoGradGuard ng;
    try {
      for (int64_t c = next++; c < chunks; c = next++) {
        const int64_t b = c * chunk;
        fn(b, std::min(chunk, n - b));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!err) err = std::current_exception();
      next = chunks;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  torch::set_num_threads(intra);
  if (err) std::rethrow_exception(err);
}

struct PartThreads::State {
  std::mutex mu;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  bool stop = false;
  const std::function<void(int64_t)>* fn = nullptr;
  int64_t n = 0;
  std::atomic<int64_t> next{0};
  int busy = 0;
  std::exception_ptr err;
  std::vector<std::thread> threads;
};

PartThreads::PartThreads(int threads) : st_(std::make_unique<State>()) {
  TG_CHECK(threads >= 1, "PartThreads needs at least one thread");
  const int intra = torch::get_num_threads();
  std::atomic<int> ready{0};
  for (int t = 0; t < threads; ++t) {
    st_->threads.emplace_back([this, &ready] {
      State& s = *st_;
      // Once per thread: ATen's per-thread set-up first (else it would later reset this thread to
      // the global count), then one intra-op thread (the OpenMP setting is per thread).
      at::internal::lazy_init_num_threads();
      torch::set_num_threads(1);
      ++ready;
      uint64_t seen = 0;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(s.mu);
          s.wake.wait(lock, [&] { return s.stop || s.generation != seen; });
          if (s.stop) return;
          seen = s.generation;
        }
        torch::AutoGradMode grad(true);
        try {
          for (int64_t i = s.next++; i < s.n; i = s.next++) (*s.fn)(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(s.mu);
          if (!s.err) s.err = std::current_exception();
          s.next = s.n;
        }
        std::lock_guard<std::mutex> lock(s.mu);
        if (--s.busy == 0) s.done.notify_all();
      }
    });
    // One at a time: ATen's thread-count setting is process-wide state, not made for racing.
    while (ready.load() <= t) std::this_thread::yield();
  }
  torch::set_num_threads(intra);  // the caller's own setting again (its OpenMP setting is its own)
}

PartThreads::~PartThreads() {
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    st_->stop = true;
  }
  st_->wake.notify_all();
  for (auto& t : st_->threads) t.join();
}

int PartThreads::size() const {
  return static_cast<int>(st_->threads.size());
}

void PartThreads::run(int64_t n, const std::function<void(int64_t)>& fn) {
  State& s = *st_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.fn = &fn;
    s.n = n;
    s.next = 0;
    s.err = nullptr;
    s.busy = static_cast<int>(s.threads.size());
    ++s.generation;
  }
  s.wake.notify_all();
  std::unique_lock<std::mutex> lock(s.mu);
  s.done.wait(lock, [&] { return s.busy == 0; });
  if (s.err) std::rethrow_exception(s.err);
}

uint64_t partition_seed(uint64_t seed, int r) {
  // Golden-ratio steps: distinct, well-mixed mt19937_64 seeds for the partitions of one seed.
  return seed + static_cast<uint64_t>(r) * 0x9E3779B97F4A7C15ull;
}

std::vector<int64_t> partition_order(int64_t n, uint64_t seed, int r) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(partition_seed(seed, r));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

int scoring_workers(const ModelImpl& net, const torch::Device& device, int64_t num_nodes,
                    int64_t slate) {
  if (!device.is_cpu()) return 1;
  const int threads = std::max(1, torch::get_num_threads());
  if (!net.config().cross_attention) return threads;  // chunks are small (forward_rows)
  // A cross-attention pass holds a whole slate's activations, and passes in flight together stay
  // under the trainer's activation budget (2 GiB). A forward-only pass peaks at about 3-4 [N,
  // hidden] fp32 buffers per configuration (measured: `tgraph rank` peak RSS at slates 8, 128 and
  // 512, width 256 with cross-attention, 529 nodes: 1.8-2.1 MB a configuration); 6 leaves
  // headroom. A full-scale graph (4 254 nodes) at width 256 still scores one slate at a time.
  const double pass = 6.0 * 4.0 * static_cast<double>(std::max<int64_t>(num_nodes, 1)) *
                      net.config().hidden * static_cast<double>(slate);
  const double fit = kDefaultActivationBudgetMb * 1024 * 1024 / pass;
  return static_cast<int>(std::clamp<double>(std::floor(fit), 1, threads));
}

SlateScoring slate_scoring(const ModelImpl& net, const torch::Device& device, int64_t num_nodes,
                           int64_t slate, uint64_t seed, int repeats, int workers) {
  SlateScoring how;
  how.cross_attention = net.config().cross_attention;
  how.slate = slate;
  how.seed = seed;
  how.repeats = repeats;
  how.workers = workers > 0 ? workers : scoring_workers(net, device, num_nodes, slate);
  how.chunk = forward_rows(net, num_nodes, slate, how.workers);
  return how;
}

std::vector<double> score_in_slates(int64_t n, int64_t width, const SlateScoring& how,
                                    const RowReader& read, const PassForward& forward) {
  TG_CHECK(how.slate >= 1 && how.chunk >= 1, "slate and chunk must be >= 1");
  TG_CHECK(how.repeats >= 1, "slate repeats must be >= 1");
  // Each pass: its partition and its rows, sorted (sorted rows read faster from a pack; a
  // cross-attention score does not depend on the order inside its slate).
  std::vector<std::pair<int, std::vector<int64_t>>> passes;
  int R = 1;
  if (!how.cross_attention) {
    for (int64_t b = 0; b < n; b += how.chunk) {
      std::vector<int64_t> rows(static_cast<size_t>(std::min(how.chunk, n - b)));
      std::iota(rows.begin(), rows.end(), b);
      passes.emplace_back(0, std::move(rows));
    }
  } else {
    const std::vector<int64_t> bounds = equal_slates(n, how.slate);
    // One slate holds every row in any order: nothing to repeat.
    R = bounds.size() > 2 ? how.repeats : 1;
    for (int r = 0; r < R; ++r) {
      std::vector<int64_t> order = partition_order(n, how.seed, r);
      if (r == 0 && how.first_in_order) std::iota(order.begin(), order.end(), int64_t{0});
      for (size_t si = 0; si + 1 < bounds.size(); ++si) {
        std::vector<int64_t> rows(order.begin() + bounds[si], order.begin() + bounds[si + 1]);
        std::sort(rows.begin(), rows.end());
        passes.emplace_back(r, std::move(rows));
      }
    }
  }
  std::vector<std::vector<double>> part(static_cast<size_t>(R),
                                        std::vector<double>(static_cast<size_t>(n), 0.0));
  const int workers = static_cast<int>(
      std::clamp<int64_t>(how.workers, 1, std::max<int64_t>(1, int64_t(passes.size()))));
  for_each_chunk(static_cast<int64_t>(passes.size()), 1, workers, [&](int64_t p, int64_t) {
    const std::vector<int64_t>& rows = passes[static_cast<size_t>(p)].second;
    const int64_t k = static_cast<int64_t>(rows.size());
    std::vector<float> buf(static_cast<size_t>(k * width));
    read(rows, buf.data());
    torch::Tensor out = forward(buf.data(), k);  // [k] float64
    TG_CHECK(out.numel() == k, "a forward pass returned the wrong number of scores");
    const double* v = out.data_ptr<double>();
    std::vector<double>& dst = part[static_cast<size_t>(passes[static_cast<size_t>(p)].first)];
    for (int64_t i = 0; i < k; ++i) dst[static_cast<size_t>(rows[i])] = v[i];
  });
  std::vector<double> scores = std::move(part[0]);
  for (int r = 1; r < R; ++r)
    for (int64_t i = 0; i < n; ++i) scores[i] += part[r][i];
  if (R > 1)
    for (double& v : scores) v /= R;
  return scores;
}

std::vector<double> score_configs(ModelImpl& net, const GraphTensors& g, const Sample& s,
                                  const TileConfigNormalizer* tile_norm, int64_t slate,
                                  uint64_t seed, int repeats, int workers) {
  TG_CHECK(slate >= 1, "slate must be >= 1");
  TG_CHECK(repeats >= 1, "slate repeats must be >= 1");
  torch::NoGradGuard ng;
  const bool was_training = net.is_training();
  net.eval();
  const torch::Device dev = g.node_num.device();
  torch::Tensor code = s.num_configs > 0 ? net.encode_graph(g) : torch::Tensor();
  const SlateScoring how = slate_scoring(net, dev, g.num_nodes, slate, seed, repeats, workers);
  std::vector<double> scores = score_in_slates(
      s.num_configs, s.config_width, how, s.read_configs, [&](const float* rows, int64_t k) {
        auto cfg = config_tensor(s.task, rows, k, s.config_width, tile_norm, dev);
        return net.score(g, code, cfg).to(torch::kCPU, torch::kFloat64).contiguous();
      });
  if (was_training) net.train();
  return scores;
}

ModelScores combine_member_scores(const LoadedModel& m,
                                  const std::vector<std::vector<double>>& raw) {
  TG_CHECK(raw.size() == m.members.size() && !raw.empty(), "one score vector per member");
  const size_t K = raw[0].size(), M = raw.size();
  ModelScores out;
  out.spread.assign(K, 0.0);
  if (M == 1) {  // a single model's scores are its network's, unstandardised
    out.score = raw[0];
    return out;
  }
  out.score.assign(K, 0.0);
  std::vector<double> sq(K, 0.0);
  for (size_t j = 0; j < M; ++j) {
    const LoadedNet& n = m.members[j];
    for (size_t i = 0; i < K; ++i) {
      const double z = (raw[j][i] - n.offset) / n.scale;
      out.score[i] += z / M;
      sq[i] += z * z / M;
    }
  }
  for (size_t i = 0; i < K; ++i)
    out.spread[i] = std::sqrt(std::max(0.0, sq[i] - out.score[i] * out.score[i]));
  return out;
}

ModelScores score_sample(const LoadedModel& m, const Sample& s, int64_t slate, uint64_t seed,
                         int repeats) {
  TG_CHECK(s.task == m.task, "sample and model of different tasks");
  if (slate <= 0) slate = default_inference_slate(m);
  if (repeats <= 0) repeats = default_slate_repeats(m);
  std::vector<std::vector<double>> raw;
  for (const LoadedNet& n : m.members) {
    GraphTensors g = make_graph_tensors(s, n.node_norm, m.device);
    raw.push_back(score_configs(*n.net, g, s, &n.config_norm, slate, seed, repeats));
  }
  return combine_member_scores(m, raw);
}

std::vector<Sample> samples_for_split(const LoadedModel& m, const std::string& data_root,
                                      const Collection& c, const std::string& split,
                                      const std::string& cache_dir, int threads) {
  if ((c.kind == Kind::kTile) != (m.task == Kind::kTile))
    throw_error(m.path, "task", "a model for " + c.name(),
                m.task == Kind::kTile ? "a tile model" : "a layout model");
  return task_for(m.task).load_split(data_root, c, split, Preprocessing{m.reach, m.repad},
                                     /*dedup=*/false, cache_dir, threads);
}

EvalReport evaluate_model(const LoadedModel& m, const std::vector<Sample>& samples, int64_t slate,
                          uint64_t seed, int repeats) {
  return evaluate_samples(task_for(m.task), samples, [&](const Sample& s, size_t i) {
    return score_sample(m, s, slate, seed + i, repeats).score;
  });
}

EvalReport evaluate_row_order(Kind task, const std::vector<Sample>& samples) {
  return evaluate_samples(task_for(task), samples, [](const Sample& s, size_t) {
    std::vector<double> v(static_cast<size_t>(s.num_configs));
    std::iota(v.begin(), v.end(), 0.0);
    return v;
  });
}

void require_finite_scores(const std::vector<double>& scores, const std::string& source) {
  for (size_t i = 0; i < scores.size(); ++i)
    if (!std::isfinite(scores[i]))
      throw_error(
          source, "scores", "finite model scores to rank",
          TG_STR(scores[i] << " for configuration " << i << " (the model breaks on this graph)"));
}

std::vector<SubmissionRow> predict_rows(const LoadedModel& m, const std::vector<Sample>& samples,
                                        const Collection& c, int64_t slate, uint64_t seed,
                                        int repeats) {
  std::vector<SubmissionRow> rows;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    std::vector<double> v = score_sample(m, s, slate, seed + i, repeats).score;
    require_finite_scores(v, s.source);
    if (m.task == Kind::kTile)
      rows.push_back(
          {submission_id(c, s.stem), top_k_by_score(v, kTileSubmissionK), s.num_configs, false});
    else
      rows.push_back({submission_id(c, s.stem), ranking_by_score(v), s.num_configs, true});
  }
  return rows;
}

}  // namespace tgraph
