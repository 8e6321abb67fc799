"""A TensorRT build check as a backend: the case's network, in a network precision, builds to a plan
with the right outputs.

It checks building, not numbers (no engine runs), so its records say "built", never "passed".
`BuildCheckRunner("loop", "fp16")` is `build-loop-fp16`; the bare `build-loop` builds the same
float32 network as `build-loop-fp32`. `build_network` checks, before building, that every tensor
has the type the precision intends. A half ONNX model the installed parser refuses is a skip with
the parser's reason (`onnx_probe`).
"""

from __future__ import annotations

from ..networks import trt_api
from ..cases.case import Case
from ..networks.engine import build_plan
from ..networks.build import build_network
from ..cases.onnx_case import OnnxCase
from . import ONLY_ONNX, Probed
from . import engine_plan
from .base import Built, Runner
from .onnx_probe import node_refusal, parser_refusal
from .reference_runner import run_reference

# Network precision -> the compute precision that picks the tolerance row in compare.TOLERANCE.
PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


class BuildCheckRunner(Runner):
    kind = "build-check"

    def __init__(self, path: str, precision: str | None = None, *, share_engines: bool = False):
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; allowed: {', '.join(PRECISIONS)} (or None: fp32)")
        self.path = path
        self.network_precision = precision or "fp32"
        self.precision = PRECISIONS[self.network_precision]
        self.name = f"build-{path}" + ("" if precision is None else f"-{precision}")
        self.build_seconds = 0.0
        self.engines_built = 0
        self._built = set()  # the engine keys built so far: a dynamic engine is built once for all its run shapes
        self.share_engines, self._shared = share_engines, engine_plan.Planned(share_engines)
        self._network = Probed()  # the network of the last ONNX-operator case parsed in `unsupported`

    def prepare(self, case: Case) -> str | None:
        """Why this path cannot be built here (no TensorRT API, or an ONNX parser that refuses the model)."""
        if isinstance(case, OnnxCase) and self.path != "onnx":
            return ONLY_ONNX
        reason = trt_api.missing(self.path)
        if reason is None and isinstance(case, OnnxCase):  # the node itself is the probe: parse it once, keep it
            reason, net = node_refusal(case, self.network_precision)
            self._network.keep(case, net)
        elif reason is None and self.path == "onnx":
            reason = parser_refusal(case, self.network_precision)
        return reason

    @property
    def engine_counts(self) -> dict:
        return {"built": self.engines_built}

    def plan(self, cases) -> None:
        """With `share_engines`, the shared engines of `cases` (`engine_plan`): the ones `tensorrt-loop-*` builds."""
        self._shared.plan(cases, self.path, self.network_precision, "strong")

    def engine_key(self, case) -> str:
        """The plan `case` is built into: its shared engine's key, or path, precision and the case it is built from
        (for a dynamic case, the case at its profile's opt shape: one plan for every run shape)."""
        shared = self._shared.get(case)
        if shared is not None:
            return shared.key
        return f"{self.path}:{self.network_precision}:network:{case.engine_case.id}"

    def run_shape(self, case) -> dict | None:
        return self._shared.run_shape(case)

    def infer(self, case: Case, materials=None):
        """Build the case's network and plan (a dynamic case's once per engine); raise if it fails or its outputs
        differ from the reference's (a dynamic network's -1 dims match any extent)."""
        key, shared = self.engine_key(case), self._shared.get(case)
        if (case.profile is not None or shared) and key in self._built:
            return Built(0.0, key)
        built = shared.case if shared else case.engine_case
        net = engine_plan.network(shared, self.path, self.network_precision) if shared else (
            (materials is None and self._network.take(case)) or
            build_network(built, self.path, precision=self.network_precision, materials=materials, profile=built.profile))
        got = [(net.network.get_output(i).name, tuple(net.network.get_output(i).shape)) for i in range(net.network.num_outputs)]
        want = [(name, out.shape) for name, out in zip(built.output_names, run_reference(built))]
        fits = len(got) == len(want) and all(g[0] == w[0] and len(g[1]) == len(w[1]) and
                                             all(a in (-1, b) for a, b in zip(g[1], w[1])) for g, w in zip(got, want))
        if not fits:
            raise AssertionError(f"{self.path} network of {built.id} has outputs {got}; the reference's are {want}")
        _, seconds = build_plan(net)
        self.build_seconds += seconds
        self.engines_built += 1
        self._built.add(key)
        return Built(seconds, key)
