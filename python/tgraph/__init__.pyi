from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from . import metrics as metrics

class Error(ValueError):
    """Bad input: the message names the file, the field, what was expected and what was found."""

class Kind(Enum):
    LAYOUT: int
    TILE: int

class LayoutGraph:
    path: str
    stem: str
    num_nodes: int
    num_edges: int
    num_configs: int
    num_config_nodes: int
    labelled: bool
    @property
    def node_feat(self) -> npt.NDArray[np.float32]: ...  # [N, 140]
    @property
    def node_opcode(self) -> npt.NDArray[np.uint8]: ...  # [N]
    @property
    def edge_index(self) -> npt.NDArray[np.int64]: ...  # [E, 2] (user, operand)
    @property
    def node_config_feat(self) -> npt.NDArray[np.float32]: ...  # [C, NC, 18]
    @property
    def node_config_ids(self) -> npt.NDArray[np.int64]: ...  # [NC]
    @property
    def config_runtime(self) -> npt.NDArray[np.int64]: ...  # [C] ns
    @property
    def node_splits(self) -> npt.NDArray[np.int64]: ...  # [1, S]

class TileGraph:
    path: str
    stem: str
    num_nodes: int
    num_edges: int
    num_configs: int
    labelled: bool
    @property
    def node_feat(self) -> npt.NDArray[np.float32]: ...  # [N, 140]
    @property
    def node_opcode(self) -> npt.NDArray[np.uint8]: ...  # [N]
    @property
    def edge_index(self) -> npt.NDArray[np.int64]: ...  # [E, 2]
    @property
    def config_feat(self) -> npt.NDArray[np.float32]: ...  # [C, 24]
    @property
    def config_runtime(self) -> npt.NDArray[np.int64]: ...  # [C] ns
    @property
    def config_runtime_normalizers(self) -> npt.NDArray[np.int64]: ...  # [C]

def blas_core() -> str: ...
def blas_core_advice() -> str: ...
def load_layout(path: str) -> LayoutGraph: ...
def load_tile(path: str) -> TileGraph: ...
def featurize(path: str) -> Union[LayoutGraph, List[TileGraph]]:
    """A raw XLA tuning record (.pb): a layout record -> one LayoutGraph; tile -> one per kernel."""

class GraphHandle:
    @property
    def num_nodes(self) -> int: ...
    @property
    def num_config_nodes(self) -> int: ...
    @property
    def num_configs(self) -> int: ...

class CostModel:
    @staticmethod
    def load(path: str, device: str = "cpu", threads: int = 0, slate: int = 0, seed: int = 0,
             update_lr: float = 1e-4, slate_repeats: int = 0) -> "CostModel": ...
    def save(self, path: str) -> None: ...
    def prepare(self, graph: Union[LayoutGraph, TileGraph, str]) -> GraphHandle: ...
    def candidate_width(self, handle: GraphHandle) -> int: ...
    @overload
    def score(self, handle: GraphHandle, candidates: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    @overload
    def score(self, handle: GraphHandle, candidates: npt.ArrayLike,
              return_spread: bool) -> Union[npt.NDArray[np.float64],
                                            Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]: ...
    def score_own(self, handle: GraphHandle) -> npt.NDArray[np.float64]: ...
    def update(self, handle: GraphHandle, candidates: npt.ArrayLike, runtimes: npt.ArrayLike,
               steps: int = 10) -> float: ...
    @property
    def task(self) -> Kind: ...
    @property
    def model_name(self) -> str: ...
    @property
    def trained_on(self) -> str: ...
    @property
    def members(self) -> int: ...
    @property
    def updates(self) -> int: ...

def train(*, data: str, out: str, collection: str = ..., model: str = ...,
          callback: Optional[Callable[[Dict[str, Any]], None]] = None, **options: Any) -> Dict[str, Any]:
    """`tgraph train` with the CLI's options ('-' -> '_': time_budget, eval_every, ...)."""
