"""The evaluator's metrics (the same C++ code as `tgraph evaluate`)."""
from ._tgraph import metrics as _m

kendall_tau = _m.kendall_tau
opa = _m.opa
tile_topk_error = _m.tile_topk_error
tile_score = _m.tile_score

__all__ = ["kendall_tau", "opa", "tile_topk_error", "tile_score"]
