// The `tgraph` Python extension (`tgraph._tgraph`): bindings of the C++ library, not a second
// implementation. Graph loaders and the featurizer return objects whose arrays are numpy copies
// with the TpuGraphs dtypes; CostModel is cost_model.h; train() is the CLI's trainer; metrics are
// the evaluator's functions. tgraph::Error becomes tgraph.Error (a ValueError) with the same
// one-line message. Every call that may take long releases the GIL.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tgraph/api/cost_model.h"
#include "tgraph/eval/metrics.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/model/context.h"
#include "tgraph/train/trainer.h"
#include "tgraph/util/blas_core.h"
#include "tgraph/util/error.h"

namespace py = pybind11;

namespace {

using tgraph::LayoutGraph;
using tgraph::TileGraph;

// A numpy copy of a flat vector with the given shape.
template <typename T>
py::array_t<T> array(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> a(shape);
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
  return a;
}

// A C-contiguous numpy view/copy of an input array as T (raises tgraph.Error on a bad rank).
template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> as_array(const py::handle& h,
                                                                   const char* what) {
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(h);
  if (!a) tgraph::throw_error("python", what, "an array-like of numbers", "something else");
  return a;
}

py::object to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

std::vector<double> doubles(const py::handle& h, const char* what) {
  auto a = as_array<double>(h, what);
  return std::vector<double>(a.data(), a.data() + a.size());
}

// train(**options): the CLI's option names with '-' -> '_' (e.g. time_budget, eval_every).
tgraph::TrainOptions train_options(const py::kwargs& kw) {
  tgraph::TrainOptions o;
  // The CLI's progress bar when run in a terminal without a callback (progress=... overrides).
  o.progress = ::isatty(2) && (!kw.contains("callback") || kw["callback"].is_none());
  int threads = 0;
  std::string device = "cpu";
  for (const auto& item : kw) {
    const std::string k = item.first.cast<std::string>();
    const py::handle v = item.second;
    if (k == "data")
      o.data_root = v.cast<std::string>();
    else if (k == "collection")
      o.collection = v.cast<std::string>();
    else if (k == "train_also")
      o.train_also = v.cast<std::vector<std::string>>();
    else if (k == "out")
      o.out_dir = v.cast<std::string>();
    else if (k == "cache")
      o.cache_dir = v.cast<std::string>();
    else if (k == "model")
      o.model = v.cast<std::string>();
    else if (k == "cross_attention")
      o.cross_attention = v.cast<bool>() ? 1 : 0;
    else if (k == "hidden")
      o.hidden = v.cast<int>();
    else if (k == "arch")
      o.arch = v.cast<std::vector<std::string>>();
    else if (k == "loss")
      o.loss.name = v.cast<std::string>();
    else if (k == "mape_weight")
      o.loss.mape_weight = v.cast<double>();
    else if (k == "log_mse_weight")
      o.loss.log_mse_weight = v.cast<double>();
    else if (k == "slate")
      o.slate = v.cast<int64_t>();
    else if (k == "graphs_per_step" || k == "kernels_per_step")
      o.graphs_per_step = v.cast<int64_t>();
    else if (k == "eval_slate")
      o.eval_slate = v.cast<int64_t>();
    else if (k == "activation_budget_mb")
      o.activation_budget_mb = v.cast<double>();
    else if (k == "lr")
      o.lr = v.cast<double>();
    else if (k == "weight_decay")
      o.weight_decay = v.cast<double>();
    else if (k == "warmup")
      o.warmup = v.cast<double>();
    else if (k == "clip")
      o.clip = v.cast<double>();
    else if (k == "steps")
      o.steps = v.cast<int64_t>();
    else if (k == "time_budget")
      o.time_budget_s = v.cast<double>();
    else if (k == "eval_every")
      o.eval_every_s = v.cast<double>();
    else if (k == "eval_every_steps")
      o.eval_every_steps = v.cast<int64_t>();
    else if (k == "max_valid_graphs")
      o.max_valid_graphs = v.cast<int64_t>();
    else if (k == "no_prune")
      o.reach = v.cast<bool>() ? tgraph::Reach::whole() : tgraph::Reach{};
    else if (k == "reach")
      o.reach = tgraph::Reach::parse(v.cast<std::string>(), "reach");
    else if (k == "init")
      o.init_model = v.cast<std::string>();
    else if (k == "resume")
      o.resume = v.cast<bool>();
    else if (k == "snapshots")
      o.snapshots = v.cast<bool>();
    else if (k == "ema")
      o.ema = v.cast<double>();
    else if (k == "progress")
      o.progress = v.cast<bool>();
    else if (k == "threads")
      threads = v.cast<int>();
    else if (k == "seed")
      o.ctx.seed = v.cast<uint64_t>();
    else if (k == "device")
      device = v.cast<std::string>();
    else if (k != "callback")
      tgraph::throw_error("train", k,
                          "an option of `tgraph train` (data, collection, out, model, "
                          "steps, time_budget, ...)",
                          "'" + k + "'");
  }
  if (o.data_root.empty()) tgraph::throw_error("train", "data", "a TpuGraphs npz root", "none");
  if (o.out_dir.empty()) tgraph::throw_error("train", "out", "a run directory", "none");
  o.ctx.device = tgraph::parse_device(device);
  o.ctx.threads = threads;
  return o;
}

// What layout graphs and tile kernels share (GraphBase), bound once for both.
template <typename G>
py::class_<G> bind_graph(py::module_& m, const char* name, const char* doc) {
  py::class_<G> c(m, name, doc);
  c.def_readonly("path", &G::path)
      .def_readonly("stem", &G::stem)
      .def_readonly("num_nodes", &G::num_nodes)
      .def_readonly("num_edges", &G::num_edges)
      .def_readonly("num_configs", &G::num_configs)
      .def_readonly("labelled", &G::labelled)
      .def_property_readonly("node_feat",
                             [](const G& g) {
                               return array(g.node_feat, {g.num_nodes, 140});
                             })
      .def_property_readonly("node_opcode",
                             [](const G& g) { return array(g.node_opcode, {g.num_nodes}); })
      .def_property_readonly("edge_index",
                             [](const G& g) {
                               return array(g.edge_index, {g.num_edges, 2});
                             })
      .def_property_readonly("config_runtime",
                             [](const G& g) { return array(g.config_runtime, {g.num_configs}); })
      .def("__repr__", [name](const G& g) {
        return std::string("<tgraph.") + name + " " + g.stem +
               ": N=" + std::to_string(g.num_nodes) + " C=" + std::to_string(g.num_configs) + ">";
      });
  return c;
}

}  // namespace

PYBIND11_MODULE(_tgraph, m) {
  m.doc() = "tgraph: the TGraph learned cost model (C++ engine) for XLA layouts and tiles";
  static py::exception<tgraph::Error> error(m, "Error", PyExc_ValueError);
  error.attr("__module__") = "tgraph";  // shown as tgraph.Error in tracebacks
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const tgraph::Error& e) {
      error(e.what());
    }
  });

  py::enum_<tgraph::Kind>(m, "Kind")
      .value("LAYOUT", tgraph::Kind::kLayout)
      .value("TILE", tgraph::Kind::kTile);

  auto layout = bind_graph<LayoutGraph>(m, "LayoutGraph",
                                        "A TpuGraphs layout graph (arrays are numpy copies).");
  layout.def_readonly("num_config_nodes", &LayoutGraph::num_config_nodes)
      .def_property_readonly(
          "node_config_feat",
          [](const LayoutGraph& g) {
            return array(g.node_config_feat,
                         {g.config_feat_loaded ? g.num_configs : 0, g.num_config_nodes, 18});
          })
      .def_property_readonly(
          "node_config_ids",
          [](const LayoutGraph& g) { return array(g.node_config_ids, {g.num_config_nodes}); })
      .def_property_readonly("node_splits", [](const LayoutGraph& g) {
        return array(g.node_splits, {1, static_cast<py::ssize_t>(g.node_splits.size())});
      });
  auto tile =
      bind_graph<TileGraph>(m, "TileGraph", "A TpuGraphs tile kernel (arrays are numpy copies).");
  tile.def_property_readonly("config_feat",
                             [](const TileGraph& g) {
                               return array(g.config_feat, {g.num_configs, 24});
                             })
      .def_property_readonly("config_runtime_normalizers", [](const TileGraph& g) {
        return array(g.config_runtime_normalizers, {g.num_configs});
      });

  m.def("blas_core", &tgraph::openblas_core_name,
        "The OpenBLAS core this process runs ('SkylakeX', ...), or '' when the BLAS is another.");
  m.def("blas_core_advice", &tgraph::openblas_core_advice,
        "The OPENBLAS_CORETYPE to start Python with where OpenBLAS fell back to its generic "
        "kernels on this CPU, else ''.");
  m.def(
      "load_layout",
      [](const std::string& path) {
        py::gil_scoped_release nogil;
        return tgraph::load_layout(path);
      },
      py::arg("path"), "Load and validate a TpuGraphs layout .npz.");
  m.def(
      "load_tile",
      [](const std::string& path) {
        py::gil_scoped_release nogil;
        return tgraph::load_tile(path);
      },
      py::arg("path"), "Load and validate a TpuGraphs tile .npz.");
  m.def(
      "featurize",
      [](const std::string& path) -> py::object {
        tgraph::featurize::FeaturizedRecord r;
        {
          py::gil_scoped_release nogil;
          r = tgraph::featurize::featurize_record(path);
        }
        if (r.kind == tgraph::featurize::RecordKind::kLayout) return py::cast(r.layouts.at(0));
        return py::cast(r.tiles);
      },
      py::arg("path"),
      "A raw XLA tuning record (.pb): a layout record gives one LayoutGraph, a tile record a list "
      "of TileGraph (one per kernel).");

  py::class_<tgraph::GraphHandle>(m, "GraphHandle", "A graph prepared by CostModel.prepare().")
      .def_property_readonly("num_nodes", &tgraph::GraphHandle::num_nodes)
      .def_property_readonly("num_config_nodes", &tgraph::GraphHandle::num_config_nodes)
      .def_property_readonly("num_configs", &tgraph::GraphHandle::num_configs);

  py::class_<tgraph::CostModel>(m, "CostModel", "A trained cost model (tgraph/api/cost_model.h).")
      .def_static(
          "load",
          [](const std::string& path, const std::string& device, int threads, int64_t slate,
             uint64_t seed, double update_lr, int slate_repeats) {
            tgraph::CostModelOptions o;
            o.device = device;
            o.threads = threads;
            o.slate = slate;
            o.seed = seed;
            o.update_lr = update_lr;
            o.slate_repeats = slate_repeats;
            py::gil_scoped_release nogil;
            return tgraph::CostModel::load(path, o);
          },
          py::arg("path"), py::arg("device") = "cpu", py::arg("threads") = 0, py::arg("slate") = 0,
          py::arg("seed") = 0, py::arg("update_lr") = 1e-4, py::arg("slate_repeats") = 0)
      .def(
          "save",
          [](const tgraph::CostModel& c, const std::string& path) {
            py::gil_scoped_release nogil;
            c.save(path);
          },
          py::arg("path"))
      .def(
          "prepare",
          [](const tgraph::CostModel& c, const py::object& g) {
            if (py::isinstance<py::str>(g)) {
              std::string p = g.cast<std::string>();
              py::gil_scoped_release nogil;
              return c.prepare_file(p);
            }
            if (py::isinstance<LayoutGraph>(g)) {
              const LayoutGraph& lg = g.cast<const LayoutGraph&>();
              py::gil_scoped_release nogil;
              return c.prepare(lg);
            }
            if (py::isinstance<TileGraph>(g)) {
              const TileGraph& tg = g.cast<const TileGraph&>();
              py::gil_scoped_release nogil;
              return c.prepare(tg);
            }
            tgraph::throw_error("prepare", "graph", "a LayoutGraph, a TileGraph or an .npz path",
                                py::str(g.get_type()).cast<std::string>());
          },
          py::arg("graph"))
      .def("candidate_width", &tgraph::CostModel::candidate_width, py::arg("handle"))
      .def(
          "score",
          [](const tgraph::CostModel& c, const tgraph::GraphHandle& h, const py::handle& cands,
             bool return_spread) -> py::object {
            auto a = as_array<float>(cands, "candidates");
            const int64_t W = c.candidate_width(h);
            const int64_t n = static_cast<int64_t>(a.size());
            if (a.ndim() == 0 || n % W != 0 || (a.shape(0) > 0 && n / a.shape(0) != W))
              tgraph::throw_error(
                  "candidates", "shape",
                  TG_STR("[K, " << W / (c.task() == tgraph::Kind::kTile ? 24 : 18)
                                << (c.task() == tgraph::Kind::kTile ? "]" : ", 18]")),
                  TG_STR(n << " values with leading dimension " << (a.ndim() ? a.shape(0) : 0)));
            tgraph::Scores s;
            {
              py::gil_scoped_release nogil;
              s = c.score(h, a.data(), n / W);
            }
            auto sc = array(s.score, {static_cast<py::ssize_t>(s.score.size())});
            if (!return_spread) return std::move(sc);
            return py::make_tuple(sc, array(s.spread, {static_cast<py::ssize_t>(s.spread.size())}));
          },
          py::arg("handle"), py::arg("candidates"), py::arg("return_spread") = false,
          "Scores (float64 [K], lower = predicted faster) of candidates [K, NC, 18] (layout) or "
          "[K, 24] (tile); with return_spread=True also the ensemble members' spread.")
      .def(
          "score_own",
          [](const tgraph::CostModel& c, const tgraph::GraphHandle& h) {
            tgraph::Scores s;
            {
              py::gil_scoped_release nogil;
              s = c.score_own(h);
            }
            return array(s.score, {static_cast<py::ssize_t>(s.score.size())});
          },
          py::arg("handle"), "Scores of the configurations the prepared graph came with.")
      .def(
          "update",
          [](tgraph::CostModel& c, const tgraph::GraphHandle& h, const py::handle& cands,
             const py::handle& runtimes, int steps) {
            auto a = as_array<float>(cands, "candidates");
            auto r = as_array<int64_t>(runtimes, "runtimes");
            std::vector<int64_t> rt(r.data(), r.data() + r.size());
            const int64_t W = c.candidate_width(h);
            if (a.size() % W != 0)
              tgraph::throw_error("candidates", "shape", TG_STR("a multiple of " << W << " values"),
                                  std::to_string(a.size()));
            py::gil_scoped_release nogil;
            return c.update(h, a.data(), static_cast<int64_t>(a.size()) / W, rt, steps);
          },
          py::arg("handle"), py::arg("candidates"), py::arg("runtimes"), py::arg("steps") = 10,
          "Fine-tune on measured candidates (runtimes in ns); returns the mean loss.")
      .def_property_readonly("task", &tgraph::CostModel::task)
      .def_property_readonly("model_name", &tgraph::CostModel::model_name)
      .def_property_readonly("trained_on", &tgraph::CostModel::trained_on)
      .def_property_readonly("members", &tgraph::CostModel::members)
      .def_property_readonly("updates", &tgraph::CostModel::updates);

  m.def(
      "train",
      [](py::kwargs kw) {
        tgraph::TrainOptions o = train_options(kw);
        if (kw.contains("callback") && !kw["callback"].is_none()) {
          py::function cb = kw["callback"];
          o.on_eval = [cb](const nlohmann::json& j) {
            py::gil_scoped_acquire gil;
            cb(to_python(j));
          };
        }
        nlohmann::json r;
        {
          py::gil_scoped_release nogil;
          r = tgraph::train(o).to_json();
        }
        return to_python(r);
      },
      "Train a model like `tgraph train` (keyword options with the CLI's names, '-' -> '_'); "
      "callback(event: dict) is called after every validation. Returns the result summary.");

  py::module_ metrics = m.def_submodule("metrics", "The evaluator's metrics (same C++ code).");
  metrics.def(
      "kendall_tau",
      [](const py::handle& x, const py::handle& y) {
        return tgraph::kendall_tau_b(doubles(x, "scores"), doubles(y, "runtimes"));
      },
      py::arg("scores"), py::arg("runtimes"),
      "Kendall's tau-b (scipy.stats.kendalltau's default).");
  metrics.def(
      "opa",
      [](const py::handle& x, const py::handle& y) {
        return tgraph::ordered_pair_accuracy(doubles(x, "scores"), doubles(y, "runtimes"));
      },
      py::arg("scores"), py::arg("runtimes"), "Ordered-pair accuracy.");
  metrics.def(
      "tile_topk_error",
      [](const py::handle& runtimes, const std::vector<int64_t>& top, int k) {
        return tgraph::tile_topk_error(doubles(runtimes, "runtimes"), top, k, "tile_topk_error");
      },
      py::arg("runtimes"), py::arg("top"), py::arg("k"),
      "(best runtime among the first k of `top` - best) / best.");
  metrics.def(
      "tile_score",
      [](const py::handle& runtimes, const std::vector<int64_t>& top5) {
        return tgraph::tile_kaggle_score(doubles(runtimes, "runtimes"), top5, "tile_score");
      },
      py::arg("runtimes"), py::arg("top5"), "Kaggle tile score: 2 - best of top 5 / best.");
}
