from typing import Sequence

import numpy as np
import numpy.typing as npt

def kendall_tau(scores: npt.ArrayLike, runtimes: npt.ArrayLike) -> float:
    """Kendall's tau-b exactly like scipy.stats.kendalltau (NaN for constant inputs)."""
def opa(scores: npt.ArrayLike, runtimes: npt.ArrayLike) -> float:
    """Ordered-pair accuracy (pairs tied in runtime left out, ties in score count 0.5)."""
def tile_topk_error(runtimes: npt.ArrayLike, top: Sequence[int], k: int) -> float:
    """(best runtime among the first k indices of `top` - best) / best."""
def tile_score(runtimes: npt.ArrayLike, top5: Sequence[int]) -> float:
    """Kaggle tile score of one kernel: 2 - best of the top 5 / best."""
