"""tgraph: the TGraph learned cost model for XLA layouts and tiles, from its C++ engine.

    import tgraph
    model = tgraph.CostModel.load("run/best.tgm")
    scores = model.score_own(model.prepare("graph.npz"))   # lower = predicted faster

Everything here is a binding of the C++ library (no second implementation); errors raise
tgraph.Error (a ValueError) with the library's one-line message naming the file and field.
"""
from ._tgraph import (  # noqa: F401
    CostModel,
    Error,
    GraphHandle,
    Kind,
    LayoutGraph,
    TileGraph,
    featurize,
    load_layout,
    load_tile,
    train,
)
from . import metrics  # noqa: F401

__all__ = [
    "CostModel", "Error", "GraphHandle", "Kind", "LayoutGraph", "TileGraph", "featurize",
    "load_layout", "load_tile", "train", "metrics",
]
