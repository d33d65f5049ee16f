"""tgraph: the TGraph learned cost model for XLA layouts and tiles, from its C++ engine.

    import tgraph
    model = tgraph.CostModel.load("run/best.tgm")
    scores = model.score_own(model.prepare("graph.npz"))   # lower = predicted faster

Everything here is a binding of the C++ library (no second implementation); errors raise
tgraph.Error (a ValueError) with the library's one-line message naming the file and field.
"""
import warnings

from ._tgraph import (  # noqa: F401
    CostModel,
    Error,
    GraphHandle,
    Kind,
    LayoutGraph,
    TileGraph,
    blas_core,
    blas_core_advice,
    featurize,
    load_layout,
    load_tile,
    train,
)
from . import metrics  # noqa: F401

# OpenBLAS picks its kernels when it is loaded, so only a new process can change them (the tgraph
# CLI restarts itself; a Python process cannot).
if blas_core_advice():
    warnings.warn(
        f"OpenBLAS runs its generic {blas_core()!r} kernels on this CPU: start Python with "
        f"OPENBLAS_CORETYPE={blas_core_advice()} for up to 5x faster matmuls",
        RuntimeWarning, stacklevel=2)

__all__ = [
    "CostModel", "Error", "GraphHandle", "Kind", "LayoutGraph", "TileGraph", "blas_core",
    "blas_core_advice", "featurize", "load_layout", "load_tile", "train", "metrics",
]
