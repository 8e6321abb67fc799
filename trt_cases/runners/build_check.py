"""A TensorRT build check as a backend: the case's network builds to a plan with the right outputs.

It checks building, not numbers (no engine runs), so its records say "built", never "passed".
"""

from __future__ import annotations

from .. import trt_api
from ..case import Case
from ..engine import build_plan
from ..networks import OUTPUT_NAMES, build_network
from .reference_runner import run_reference


class BuildCheckRunner:
    kind = "build-check"
    precision = "float32"

    def __init__(self, path: str):
        self.path = path
        self.name = f"build-{path}"
        self.build_seconds = 0.0

    def unsupported(self, case: Case) -> str | None:
        return trt_api.missing(self.path)

    def infer(self, case: Case):
        """Build the case's network and plan; raise if it fails or its outputs differ from the reference's."""
        net = build_network(case, self.path)
        got = [(net.network.get_output(i).name, tuple(net.network.get_output(i).shape)) for i in range(net.network.num_outputs)]
        want = [(name, out.shape) for name, out in zip(OUTPUT_NAMES, run_reference(case))]
        if got != want:
            raise AssertionError(f"{self.path} network of {case.id} has outputs {got}; the reference's are {want}")
        _, seconds = build_plan(net)
        self.build_seconds += seconds
        return None
