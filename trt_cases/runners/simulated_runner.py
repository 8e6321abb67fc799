"""A TensorRT network path run by the NumPy executor: a simulation of the network, never a TensorRT result.

`SimulatedRunner("loop", "fp16")` builds the case's network along the loop path (or "drop-in",
"onnx") in that network precision with the installed TensorRT or TensorRT-RTX API, then evaluates
it with `trt_cases.executor`, every float tensor rounded to its network type: the error a faithful
engine of that network would have, compared at the precision's tolerance. Its name is
`simulated-<path>-<precision>`. The bare `simulated-<path>` is the float32 network with exact
float64 math (`rounding="none"`), compared at the float64 tolerance: a proof of the network's math
itself. Its `backend` is "simulated"; no engine is built or run.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..networks import trt_api
from ..cases.case import Case
from ..cases.onnx_case import OnnxCase
from .onnx_probe import node_refusal, parser_refusal
from . import ONLY_ONNX, Probed
from . import engine_plan
from .base import Runner

PATHS = ("loop", "drop-in", "onnx")
# Network precision -> the compute precision that picks the tolerance row in compare.TOLERANCE.
PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
IO = ("network", "float32")


class SimulatedRunner(Runner):
    """The runner protocol over `build_network(case, path, precision=..., io=...)` evaluated by the executor.

    `precision` None is the bare exact runner (an fp32 network, no rounding); "fp32", "fp16" or
    "bf16" is a network of that precision with typed rounding. `io` is the network's I/O form:
    "network" (I/O in the network's type) or "float32" (ModelOpt AutoCast's: float32 I/O, casts at
    the boundary), which adds "-autocast" to the name.
    """

    kind = "simulated"

    def __init__(self, path: str, precision: str | None = None, io: str = "network", *, share_engines: bool = False):
        if path not in PATHS:
            raise ValueError(f"path={path!r}; allowed: {', '.join(PATHS)} (the native IRNNv2Layer has no "
                             "loop structure for the executor to read)")
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; allowed: {', '.join(PRECISIONS)} (or None: exact float64)")
        if io not in IO:
            raise ValueError(f"io={io!r}; allowed: {', '.join(IO)}")
        if precision is None and io != "network":
            raise ValueError("io='float32' needs a precision (the exact runner simulates the float32 network)")
        self.path, self.network_precision, self.io = path, precision, io
        self.rounding = "none" if precision is None else "network"
        self._network = Probed()  # the network of the last ONNX-operator case parsed in `prepare`
        self._dynamic = Probed()  # the dynamic network of the last engine key run
        self.share_engines, self._shared = share_engines, engine_plan.Planned(share_engines)
        self.precision = "float64" if precision is None else PRECISIONS[precision]
        self.name = f"simulated-{path}" + ("" if precision is None else f"-{precision}") + \
            ("-autocast" if io == "float32" else "")

    @property
    def label(self) -> str:
        if self.network_precision is None:
            how = "in exact float64 arithmetic"
        else:
            form = ", float32 I/O (AutoCast form)" if self.io == "float32" else ""
            how = f"as a {self.network_precision} network{form}, each tensor rounded to its network type"
        return f"{self.name}: the {self.path} network simulated by the NumPy executor {how} (not a TensorRT run)"

    def __repr__(self) -> str:
        return f"SimulatedRunner({self.path!r}, {self.network_precision!r}, io={self.io!r})"

    def prepare(self, case: Case) -> str | None:
        """Why this path cannot be simulated here (no TensorRT API, no onnx package, or an ONNX parser that
        refuses this half-precision model), or None."""
        if isinstance(case, OnnxCase) and self.path != "onnx":
            return ONLY_ONNX
        reason = trt_api.missing(self.path)
        if reason is None and self.path == "onnx" and importlib.util.find_spec("onnx") is None:
            reason = "onnx is not installed (the onnx path parses the case's ONNX export)"
        if reason is None and isinstance(case, OnnxCase):  # the node itself is the probe: parse it once, keep it
            reason, net = node_refusal(case, self.network_precision or "fp32", self.io)
            self._network.keep(case, net)
        elif reason is None and self.path == "onnx" and self.network_precision is not None:
            reason = parser_refusal(case, self.network_precision, self.io)
        return reason

    def plan(self, cases) -> None:
        """With `share_engines`, the shared engines of `cases` (`engine_plan`), as `tensorrt-loop-*` runs them."""
        self._shared.plan(cases, self.path, self.network_precision or "fp32", "strong", self.io)

    def engine_key(self, case) -> str:
        """The network that runs `case`: its shared engine's key, or path, precision, I/O form and the case it is
        built from (for a dynamic case, the case at its profile's opt shape: one network for every run shape)."""
        shared = self._shared.get(case)
        if shared is not None:
            return shared.key
        return f"{self.path}:{self.network_precision or 'fp32'}:{self.io}:{case.engine_case.id}"

    def run_shape(self, case) -> dict | None:
        return self._shared.run_shape(case)

    def infer(self, case: Case, materials=None):
        """The simulated outputs of `case`'s network, as float64 arrays in IRNNv2Layer layout (an `OnnxCase`'s:
        `Y, Y_h[, Y_c]` as the parsed network computes them). A dynamic case runs on the network of its profile,
        built once and executed at each run shape."""
        from ..executor import execute
        from ..networks.build import build_network, network_feeds

        shared = self._shared.get(case)
        if shared or case.profile is not None:
            net = self._dynamic_network(case)
            m = case.materialise() if materials is None else materials
            feeds = engine_plan.feeds(case, self.path, self.network_precision or "fp32", self.io, m) if shared \
                else network_feeds(m)
            values = execute(net.network, feeds, rounding=self.rounding, profile=net.profile)
            return tuple(np.asarray(values[name], dtype=np.float64) for name in case.output_names)

        if not (materials is None and self._network.holds(case)):  # else `unsupported` said yes and kept the network
            reason = self.prepare(case)
            if reason is not None:
                raise RuntimeError(f"{self.name} cannot run {case.id}: {reason}")
        net = self._network.take(case)
        if net is None or materials is not None:
            net = build_network(case, self.path, precision=self.network_precision or "fp32", io=self.io,
                                materials=materials)
        feeds = net.feeds  # float32; exact arithmetic rounds no tensor, its float inputs neither (the states a
        if materials is not None and self.rounding == "none":  # streamed call carries are float64 values)
            feeds = {name: np.asarray(getattr(materials, name), dtype=np.float64)
                     if name in materials._fields and name not in ("seq_lengths", "sequence_lens") else value
                     for name, value in feeds.items()}
        values = execute(net.network, feeds, rounding=self.rounding)
        names = case.output_names
        return tuple(np.asarray(values[name], dtype=np.float64) for name in names)

    def _dynamic_network(self, case):
        """The dynamic network of `case`'s engine, kept while its cases run (they come one engine at a time)."""
        from ..networks.build import build_network

        key, shared, precision = self.engine_key(case), self._shared.get(case), self.network_precision or "fp32"
        if self._dynamic.case != key:
            self._dynamic.keep(key, engine_plan.network(shared, self.path, precision, self.io) if shared else
                               build_network(case.engine_case, self.path, precision=precision, io=self.io,
                                             profile=case.profile))
        return self._dynamic.value
