"""A TensorRT network path run by the NumPy executor: a simulation of the network, never a TensorRT result.

`SimulatedRunner("loop")` builds the case's network along the loop path (or "drop-in", "onnx")
with the installed TensorRT or TensorRT-RTX API, then evaluates it with `trt_cases.executor` in
float64. It proves what the network computes, not what TensorRT's kernels compute: its name is
`simulated-<path>`, its `backend` "simulated", and no engine is built or run.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .. import trt_api
from ..case import Case
from ..networks import OUTPUT_NAMES

PATHS = ("loop", "drop-in", "onnx")


class SimulatedRunner:
    """The runner protocol over `build_network(case, path)` evaluated by the NumPy executor."""

    backend = kind = "simulated"  # run.kind_of and results files label it so
    precision = "float64"

    def __init__(self, path: str):
        if path not in PATHS:
            raise ValueError(f"path={path!r}; allowed: {', '.join(PATHS)} (the native IRNNv2Layer has no "
                             "loop structure for the executor to read)")
        self.path = path
        self.name = f"simulated-{path}"

    @property
    def label(self) -> str:
        return f"{self.name}: the {self.path} network simulated by the NumPy executor in float64 (not a TensorRT run)"

    def __repr__(self) -> str:
        return f"SimulatedRunner({self.path!r})"

    def unsupported(self, case: Case) -> str | None:
        """Why this path cannot be simulated here (no TensorRT API, or no onnx package), or None."""
        reason = trt_api.missing(self.path)
        if reason is None and self.path == "onnx" and importlib.util.find_spec("onnx") is None:
            reason = "onnx is not installed (the onnx path parses the case's ONNX export)"
        return reason

    def infer(self, case: Case, materials=None):
        """The simulated outputs of `case`'s network, as float64 arrays in IRNNv2Layer layout."""
        from ..executor import execute
        from ..networks import build_network

        reason = self.unsupported(case)
        if reason is not None:
            raise RuntimeError(f"{self.name} cannot run {case.id}: {reason}")
        net = build_network(case, self.path, materials=materials)
        values = execute(net.network, net.feeds)
        names = OUTPUT_NAMES[:3 if case.op == "LSTM" else 2]
        return tuple(np.asarray(values[name], dtype=np.float64) for name in names)
