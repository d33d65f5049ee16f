#include "tgraph/synth/synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tgraph/io/npz.h"
#include "tgraph/synth/config_sampler.h"
#include "tgraph/synth/cost_model.h"
#include "tgraph/synth/models.h"
#include "tgraph/synth/rng.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace fs = std::filesystem;

namespace tgraph::synth {

Preset preset_by_name(const std::string& name) {
  Preset p;
  p.name = name;
  if (name == "tiny") {
    p.xla_train = 3, p.xla_valid = 2, p.xla_test = 2;
    p.nlp_train = 3, p.nlp_valid = 2, p.nlp_test = 2;
    p.nodes_min = 150, p.nodes_max = 500;
    p.train_configs_min = 50, p.train_configs_max = 200;
    p.tile_train = 30, p.tile_valid = 10, p.tile_test = 10;
    p.tile_configs_max = 60;
  } else if (name == "small") {
    p.xla_train = 20, p.xla_valid = 5, p.xla_test = 5;
    p.nlp_train = 20, p.nlp_valid = 5, p.nlp_test = 5;
    p.nodes_min = 300, p.nodes_max = 2000;
    p.train_configs_min = 200, p.train_configs_max = 1000;
    p.tile_train = 300, p.tile_valid = 60, p.tile_test = 60;
    p.tile_configs_max = 300;
  } else if (name == "full") {
    p.xla_train = 30, p.xla_valid = 7, p.xla_test = 8;
    p.nlp_train = 40, p.nlp_valid = 10, p.nlp_test = 10;
    p.nodes_min = 1000, p.nodes_max = 15000;
    p.train_configs_min = 1000, p.train_configs_max = 10000;
    p.tile_train = 2000, p.tile_valid = 300, p.tile_test = 300;
    p.tile_configs_max = 1000;
    p.largest_nodes = 40000;
    p.largest_configs = 100040;  // like the largest real files: 100,000 + 40 re-measurements
  } else {
    throw_error("--preset", "", "tiny, small or full", "'" + name + "'");
  }
  return p;
}

namespace {

const char* kSplits[] = {"train", "valid", "test"};

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// "-1bae27a41d70f4dc"-style id of a tile kernel (a signed 64-bit fingerprint in hex).
std::string signed_hex(uint64_t u) {
  const int64_t v = static_cast<int64_t>(u >> 1);  // 63 bits, then a random sign
  char buf[24];
  std::snprintf(buf, sizeof buf, "%s%llx", (u & 1) ? "-" : "", static_cast<unsigned long long>(v));
  return buf;
}

struct GraphPlan {
  std::string source, split;
  ModelSpec spec;
  std::string stem;
  uint64_t seed = 0;
  int64_t configs[2] = {0, 0};  // random, default
  bool largest = false;
};

struct TilePlan {
  std::string split;
  uint64_t seed = 0;
  std::string id;  // test: the 32-hex stem; else the signed hex suffix
};

struct Plan {
  std::vector<GraphPlan> graphs;
  std::vector<TilePlan> tiles;
};

int64_t cap(int64_t c, const SynthOptions& o) {
  return o.max_configs > 0 ? std::min(c, o.max_configs) : c;
}

Plan make_plan(const Preset& p, const SynthOptions& o) {
  Rng master(o.seed);
  Plan plan;
  for (const std::string source : {"xla", "nlp"}) {
    const int counts[3] = {source == "xla" ? p.xla_train : p.nlp_train,
                           source == "xla" ? p.xla_valid : p.nlp_valid,
                           source == "xla" ? p.xla_test : p.nlp_test};
    std::set<std::string> names;
    for (int si = 0; si < 3; ++si) {
      const std::string split = kSplits[si];
      const bool add_largest = source == "xla" && split == "train" && p.largest_nodes > 0;
      for (int g = 0; g < counts[si] + (add_largest ? 1 : 0); ++g) {
        GraphPlan gp;
        gp.source = source;
        gp.split = split;
        gp.largest = add_largest && g == counts[si];
        gp.seed = master();
        const int64_t target = log_randint(master, p.nodes_min, p.nodes_max);
        gp.spec =
            gp.largest ? largest_model(p.largest_nodes) : sample_model(source, target, master);
        if (split == "test") {
          gp.stem = hex64(master()) + hex64(master());
        } else {
          std::string stem = gp.spec.name;
          for (int v = 2; names.count(stem); ++v) stem = gp.spec.name + "_v" + std::to_string(v);
          names.insert(stem);
          gp.stem = stem;
        }
        for (int s = 0; s < 2; ++s) {
          const int64_t c = gp.largest ? p.largest_configs
                            : split == "train"
                                ? log_randint(master, p.train_configs_min, p.train_configs_max)
                                : p.eval_configs;
          gp.configs[s] = cap(c, o);
        }
        plan.graphs.push_back(std::move(gp));
      }
    }
  }
  const int tcounts[3] = {p.tile_train, p.tile_valid, p.tile_test};
  for (int si = 0; si < 3; ++si) {
    for (int k = 0; k < tcounts[si]; ++k) {
      TilePlan tp;
      tp.split = kSplits[si];
      tp.seed = master();
      tp.id = si == 2 ? hex64(master()) + hex64(master()) : signed_hex(master());
      plan.tiles.push_back(std::move(tp));
    }
  }
  return plan;
}

// Runs fn(begin, end) over [0, n) in chunks on `threads` workers. The result must not depend on
// which worker runs which chunk (callers write disjoint outputs).
template <typename F>
void parallel_chunks(int64_t n, int threads, int64_t chunk, F fn) {
  if (threads <= 1 || n <= chunk) {
    fn(int64_t(0), n);
    return;
  }
  std::atomic<int64_t> next{0};
  std::exception_ptr err;
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      try {
        while (true) {
          const int64_t b = next.fetch_add(chunk);
          if (b >= n) break;
          fn(b, std::min(n, b + chunk));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!err) err = std::current_exception();
        next = n;
      }
    });
  }
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
}

int64_t to_ns(double x) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(x)));
}

uint64_t file_size(const std::string& p) {
  std::error_code ec;
  auto s = fs::file_size(p, ec);
  return ec ? 0 : static_cast<uint64_t>(s);
}

class Generator {
 public:
  Generator(const SynthOptions& o) : o_(o) {}

  void log(const std::string& s) {
    if (!o_.log) return;
    std::lock_guard<std::mutex> lock(log_mu_);
    o_.log(s);
  }

  void add_file(SynthFile f) {
    std::lock_guard<std::mutex> lock(files_mu_);
    files_.push_back(std::move(f));
  }
  std::vector<SynthFile> take_files() { return std::move(files_); }

  void layout_job(const GraphPlan& gp, int inner_threads) {
    const Module m = build_model(gp.spec);
    const LayoutCostModel cost(m);
    const auto feat = node_features(m);
    const auto opcodes = node_opcodes(m);
    const auto edges = edge_index(m);
    const auto ids = m.configurable_nodes();
    const int64_t N = m.size(), E = int64_t(edges.size() / 2), NC = int64_t(ids.size());
    TG_CHECK(NC == cost.num_config_nodes(), "configurable node count");
    Rng grng(gp.seed);
    // Measurement noise of this graph's machine: log-normal with sigma 0.4 % .. 1.2 %.
    const double sigma = uniform(grng, 0.004, 0.012);
    // The random and default files of one graph: concurrently when this job has >= 2 threads
    // (each file's compression is single-threaded).
    auto write_search = [&](int s, int eval_threads) {
      const std::string search = s == 0 ? "random" : "default";
      const uint64_t sseed = derive_seed(gp.seed, 100 + uint64_t(s));
      const int64_t C = gp.configs[s];
      LayoutConfigSampler sampler(m, s == 0 ? Search::kRandom : Search::kDefault, sseed, C);
      std::vector<int64_t> runtime(size_t(C), 0);
      if (gp.split != "test") {
        parallel_chunks(C, eval_threads, 64, [&](int64_t b, int64_t e) {
          auto ws = cost.make_workspace();
          std::vector<float> row(size_t(NC) * 18);
          for (int64_t c = b; c < e; ++c) {
            sampler.row(c, row.data());
            Rng nr(derive_seed(sseed, 3, uint64_t(c)));
            runtime[size_t(c)] =
                to_ns(cost.runtime_ns(row.data(), ws) * std::exp(sigma * normal(nr)));
          }
        });
      }
      const std::string rel =
          (fs::path("npz") / "layout" / gp.source / search / gp.split / (gp.stem + ".npz"))
              .string();
      const std::string path = (fs::path(o_.out_dir) / rel).string();
      NpzWriter w(path, o_.compression_level);
      w.add("node_feat", feat, {N, 140});
      w.add("node_opcode", opcodes, {N});
      w.add("edge_index", edges, {E, 2});
      // [C, NC, 18], produced block by block while the archive is written (never held whole).
      const uint64_t row_bytes = uint64_t(NC) * 18 * sizeof(float);
      const int64_t block_rows =
          std::max<int64_t>(1, int64_t((4u << 20) / std::max<uint64_t>(row_bytes, 1)));
      auto buf = std::make_shared<std::vector<float>>();
      auto buf_first = std::make_shared<int64_t>(-1);
      w.add_stream("node_config_feat", DType::kF32, {C, NC, 18},
                   [&sampler, buf, buf_first, row_bytes, block_rows, C, NC](
                       uint8_t* dst, uint64_t off, uint64_t n) {
                     while (n > 0) {
                       const int64_t r = int64_t(off / row_bytes);
                       const int64_t first = r / block_rows * block_rows;
                       if (*buf_first != first) {
                         const int64_t rows = std::min(block_rows, C - first);
                         buf->resize(size_t(rows) * size_t(NC) * 18);
                         for (int64_t i = 0; i < rows; ++i)
                           sampler.row(first + i, buf->data() + size_t(i) * size_t(NC) * 18);
                         *buf_first = first;
                       }
                       const uint64_t start = uint64_t(first) * row_bytes;
                       const uint64_t avail = buf->size() * sizeof(float) - (off - start);
                       const uint64_t k = std::min(n, avail);
                       std::memcpy(
                           dst, reinterpret_cast<const uint8_t*>(buf->data()) + (off - start), k);
                       dst += k;
                       off += k;
                       n -= k;
                     }
                   });
      w.add("node_config_ids", ids, {NC});
      w.add("config_runtime", runtime, {C});
      w.add("node_splits", m.splits, {1, int64_t(m.splits.size())});
      w.commit();
      SynthFile f;
      f.path = rel;
      f.collection = "layout:" + gp.source + ":" + search;
      f.split = gp.split;
      f.nodes = N;
      f.edges = E;
      f.config_nodes = NC;
      f.configs = C;
      f.bytes = file_size(path);
      log(str_cat(rel, ": N=", N, " E=", E, " NC=", NC, " C=", C, " (", f.bytes, " bytes)"));
      add_file(std::move(f));
    };
    if (inner_threads >= 2) {
      std::exception_ptr err;
      std::thread t([&] {
        try {
          write_search(1, inner_threads / 2);
        } catch (...) {
          err = std::current_exception();
        }
      });
      try {
        write_search(0, inner_threads - inner_threads / 2);
      } catch (...) {
        t.join();
        throw;
      }
      t.join();
      if (err) std::rethrow_exception(err);
    } else {
      write_search(0, 1);
      write_search(1, 1);
    }
  }

  void tile_job(const TilePlan& tp, int64_t configs_max) {
    Rng rng(tp.seed);
    const TileKernel k = build_tile_kernel(rng);
    const Module& m = k.module;
    const auto feat = node_features(m);
    const auto opcodes = node_opcodes(m);
    const auto edges = edge_index(m);
    const int64_t N = m.size(), E = int64_t(edges.size() / 2);
    // Candidate tilings: near the compiler's default half of the time, anywhere otherwise.
    const TileConfig def = default_tile_config(k);
    auto candidates = [](int64_t d) {
      std::set<int64_t> v{1, d};
      for (int64_t x = 2; x < d; x *= 2) v.insert(x);
      for (int64_t t : {128, 256, 512}) v.insert((d + t - 1) / t);
      return std::vector<int64_t>(v.begin(), v.end());
    };
    auto draw = [&](const std::vector<int64_t>& vals, int64_t dflt) {
      if (bernoulli(rng, 0.5)) {
        auto it = std::lower_bound(vals.begin(), vals.end(), dflt);
        int64_t i = int64_t(it - vals.begin()) + randint(rng, -2, 2);
        return vals[size_t(std::clamp<int64_t>(i, 0, int64_t(vals.size()) - 1))];
      }
      return pick(vals, rng);
    };
    const int64_t target = cap(log_randint(rng, 2, std::max<int64_t>(2, configs_max)), o_);
    std::vector<TileConfig> cfgs{def};
    std::set<std::pair<std::vector<int64_t>, std::vector<int64_t>>> seen{
        {def.kernel_bounds, def.output_bounds}};
    for (int64_t attempt = 0; attempt < 30 * target && int64_t(cfgs.size()) < target; ++attempt) {
      TileConfig c;
      for (size_t i = 0; i < k.out_dims.size(); ++i)
        c.output_bounds.push_back(draw(candidates(k.out_dims[i]), def.output_bounds[i]));
      for (size_t j = 0; j < k.kernel_dims.size(); ++j) {
        const int64_t d = k.kernel_dims[j];
        // Spatial conv dims are rarely split; channel / contraction dims by 1..8.
        const bool spatial = k.kind == "conv" && j + 2 < k.kernel_dims.size();
        int64_t v = 1;
        if (!spatial || bernoulli(rng, 0.1)) v = std::min(d, int64_t(1) << randint(rng, 0, 3));
        c.kernel_bounds.push_back(bernoulli(rng, 0.5) ? def.kernel_bounds[j] : v);
      }
      if (!tile_config_feasible(k, c)) continue;
      if (seen.insert({c.kernel_bounds, c.output_bounds}).second) cfgs.push_back(std::move(c));
    }
    const int64_t C = int64_t(cfgs.size());
    // Row order: the default first in train/valid (as in the real files), shuffled in test.
    std::vector<int64_t> order(static_cast<size_t>(C));
    for (int64_t i = 0; i < C; ++i) order[size_t(i)] = i;
    {
      std::vector<int64_t> rest(order.begin() + 1, order.end());
      shuffle(rest, rng);
      std::copy(rest.begin(), rest.end(), order.begin() + 1);
    }
    if (tp.split == "test") shuffle(order, rng);
    const double sigma = 0.01;
    const double def_cost = tile_runtime_ns(k, def);
    // Configurations are measured in batches of 64; the default is re-measured once per batch
    // as the normalizer. The default row itself is that measurement of its batch.
    std::vector<float> cf(size_t(C) * 24);
    std::vector<int64_t> runtime(size_t(C), 0), norm(size_t(C), 0);
    std::vector<int64_t> batch_norm;
    for (int64_t b = 0; b * 64 < C; ++b)
      batch_norm.push_back(to_ns(def_cost * std::exp(sigma * normal(rng))));
    for (int64_t row = 0; row < C; ++row) {
      const int64_t ci = order[size_t(row)];
      const auto f = tile_config_features(cfgs[size_t(ci)]);
      std::copy(f.begin(), f.end(), cf.begin() + row * 24);
      norm[size_t(row)] = batch_norm[size_t(row / 64)];
      const double noisy =
          ci == 0 ? double(norm[size_t(row)])
                  : tile_runtime_ns(k, cfgs[size_t(ci)]) * std::exp(sigma * normal(rng));
      if (tp.split != "test") runtime[size_t(row)] = to_ns(noisy);
    }
    const std::string stem = tp.split == "test" ? tp.id : k.model + "_" + tp.id;
    const std::string rel =
        (fs::path("npz") / "tile" / "xla" / tp.split / (stem + ".npz")).string();
    const std::string path = (fs::path(o_.out_dir) / rel).string();
    NpzWriter w(path, o_.compression_level);
    w.add("node_feat", feat, {N, 140});
    w.add("node_opcode", opcodes, {N});
    w.add("edge_index", edges, {E, 2});
    w.add("config_feat", cf, {C, 24});
    w.add("config_runtime", runtime, {C});
    w.add("config_runtime_normalizers", norm, {C});
    w.commit();
    SynthFile f;
    f.path = rel;
    f.collection = "tile:xla";
    f.split = tp.split;
    f.nodes = N;
    f.edges = E;
    f.configs = C;
    f.bytes = file_size(path);
    add_file(std::move(f));
  }

 private:
  const SynthOptions& o_;
  std::mutex log_mu_, files_mu_;
  std::vector<SynthFile> files_;
};

void prepare_dirs(const SynthOptions& o) {
  const fs::path root = fs::path(o.out_dir) / "npz";
  std::vector<fs::path> dirs;
  for (const char* src : {"xla", "nlp"})
    for (const char* search : {"random", "default"})
      for (const char* split : kSplits) dirs.push_back(root / "layout" / src / search / split);
  for (const char* split : kSplits) dirs.push_back(root / "tile" / "xla" / split);
  std::vector<fs::path> existing;
  std::error_code ec;
  for (const auto& d : dirs)
    if (fs::is_directory(d, ec))
      for (const auto& e : fs::directory_iterator(d))
        if (e.path().extension() == ".npz") existing.push_back(e.path());
  if (!existing.empty()) {
    if (!o.force)
      throw_error(o.out_dir, "--out", "a new or empty output directory (or --force to replace)",
                  str_cat(existing.size(), " existing .npz files under ", root.string()));
    for (const auto& p : existing) fs::remove(p);
  }
  for (const auto& d : dirs) {
    fs::create_directories(d, ec);
    if (ec) throw_error(d.string(), "", "a directory that can be created", ec.message());
  }
}

void write_manifest(const SynthOptions& o, const Preset& p, const SynthReport& r) {
  nlohmann::json j;
  j["generator"] = "tgraph synth";
  j["preset"] = p.name;
  j["seed"] = o.seed;
  j["only_largest"] = o.only_largest;
  j["max_configs"] = o.max_configs;
  j["compression_level"] = o.compression_level;
  j["files"] = nlohmann::json::array();
  for (const auto& f : r.files) {
    nlohmann::json e;
    e["path"] = f.path;
    e["collection"] = f.collection;
    e["split"] = f.split;
    e["nodes"] = f.nodes;
    e["edges"] = f.edges;
    if (f.config_nodes >= 0) e["config_nodes"] = f.config_nodes;
    e["configs"] = f.configs;
    e["bytes"] = f.bytes;
    j["files"].push_back(e);
  }
  write_file_atomic((fs::path(o.out_dir) / "synth.json").string(), j.dump(2) + "\n");
}

}  // namespace

Module regenerate_layout_module(const std::string& preset, uint64_t seed, const std::string& source,
                                const std::string& split, const std::string& stem) {
  SynthOptions o;
  o.preset = preset;
  o.seed = seed;
  const Plan plan = make_plan(preset_by_name(preset), o);
  for (const auto& g : plan.graphs)
    if (g.source == source && g.split == split && g.stem == stem) return build_model(g.spec);
  throw_error(str_cat("synth preset ", preset, " seed ", seed), "layout file",
              str_cat("a ", source, " ", split, " graph of that dataset"), "'" + stem + "'");
}

SynthReport synthesize(const SynthOptions& o) {
  if (o.out_dir.empty()) throw_error("--out", "", "an output directory", "an empty path");
  if (o.threads < 1) throw_error("--threads", "", "at least 1", std::to_string(o.threads));
  if (o.max_configs < 0)
    throw_error("--max-configs", "", "a positive cap (or 0 for none)",
                std::to_string(o.max_configs));
  if (o.compression_level < 0 || o.compression_level > 9)
    throw_error("--compression", "", "a zlib level 0..9", std::to_string(o.compression_level));
  const Preset p = preset_by_name(o.preset);
  Plan plan = make_plan(p, o);
  if (o.only_largest) {
    // The preset's scale-test graph, else the largest layout graph of the plan; its files are
    // identical to those of a full run.
    auto it = std::find_if(plan.graphs.begin(), plan.graphs.end(),
                           [](const GraphPlan& g) { return g.largest; });
    size_t best = static_cast<size_t>(it - plan.graphs.begin());
    if (it == plan.graphs.end()) {
      int64_t best_n = -1;
      for (size_t i = 0; i < plan.graphs.size(); ++i) {
        const int64_t n = build_model(plan.graphs[i].spec).size();
        if (n > best_n) best = i, best_n = n;
      }
    }
    GraphPlan g = plan.graphs.at(best);
    plan.graphs = {g};
    plan.tiles.clear();
  }
  prepare_dirs(o);
  Generator gen(o);
  // Jobs: layout graphs (largest first) then tile kernels, pulled by `threads` workers. A job
  // that runs alone (or the scale-test graph) evaluates its configurations on all threads.
  struct Job {
    int kind;  // 0 layout, 1 tile
    size_t index;
  };
  std::vector<Job> jobs;
  std::vector<size_t> gorder(plan.graphs.size());
  for (size_t i = 0; i < gorder.size(); ++i) gorder[i] = i;
  std::stable_sort(gorder.begin(), gorder.end(), [&](size_t a, size_t b) {
    return plan.graphs[a].largest > plan.graphs[b].largest;
  });
  for (size_t i : gorder) jobs.push_back({0, i});
  for (size_t i = 0; i < plan.tiles.size(); ++i) jobs.push_back({1, i});
  std::atomic<size_t> next{0};
  std::atomic<size_t> done_tiles{0};
  std::exception_ptr err;
  std::mutex err_mu;
  auto worker = [&] {
    while (true) {
      const size_t j = next.fetch_add(1);
      if (j >= jobs.size()) return;
      try {
        if (jobs[j].kind == 0) {
          const GraphPlan& gp = plan.graphs[jobs[j].index];
          const int inner = (jobs.size() == 1 || gp.largest) ? o.threads : 1;
          gen.layout_job(gp, inner);
        } else {
          gen.tile_job(plan.tiles[jobs[j].index], p.tile_configs_max);
          const size_t d = ++done_tiles;
          if (d % 100 == 0 || d == plan.tiles.size())
            gen.log(str_cat("tile: ", d, "/", plan.tiles.size(), " kernels"));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!err) err = std::current_exception();
        next = jobs.size();
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < o.threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
  SynthReport r;
  r.files = gen.take_files();
  std::sort(r.files.begin(), r.files.end(),
            [](const SynthFile& a, const SynthFile& b) { return a.path < b.path; });
  for (const auto& f : r.files) r.total_bytes += f.bytes;
  write_manifest(o, p, r);
  return r;
}

}  // namespace tgraph::synth
