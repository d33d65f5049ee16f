"""Notebook-style example of the Python bindings: load a model, score the candidate layouts of one
benchmark graph, compare with the measured runtimes, and plot predicted score against runtime.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/score_and_plot.py \
        runs/at/best.tgm ../shared/data/bench/npz/layout/xla/random/valid/<graph>.npz plot.png
"""
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tgraph  # noqa: E402

model_path, graph_path = sys.argv[1], sys.argv[2]
out = sys.argv[3] if len(sys.argv) > 3 else "score_vs_runtime.png"

# %% Load the model and the graph; prepare once (pruning, features, static projection).
model = tgraph.CostModel.load(model_path)
graph = tgraph.load_layout(graph_path)
handle = model.prepare(graph)
print(f"{graph.stem}: {graph.num_nodes} nodes ({handle.num_nodes} after pruning), "
      f"{graph.num_config_nodes} configurable, {graph.num_configs} configurations; "
      f"model {model.model_name} trained on {model.trained_on}")

# %% Score candidates: here the graph's own configurations, [C, NC, 18] float32 layout values.
candidates = graph.node_config_feat
scores = model.score(handle, candidates)  # float64 [C], lower = predicted faster
order = np.argsort(scores, kind="stable")
print("predicted fastest 5:", order[:5].tolist())

# %% Compare with the measurements (train/valid files are labelled).
if graph.labelled:
    runtime = graph.config_runtime
    tau = tgraph.metrics.kendall_tau(scores, runtime)
    best = runtime.min()
    print(f"Kendall tau-b {tau:.4f}; best measured {best} ns; "
          f"best of the predicted top 10: {runtime[order[:10]].min()} ns")

    # %% Plot predicted score against measured runtime.
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(runtime / 1e6, scores, s=6, alpha=0.5)
    ax.set_xlabel("measured runtime (ms)")
    ax.set_ylabel("predicted score")
    ax.set_title(f"{graph.stem[:40]}\nKendall tau-b {tau:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print("wrote", out)
