"""The runner contract every backend keeps, and the one thing `run` reads from a runner.

A runner says what it is (`name`, `kind`, `path`, `precision`, `typing`), is prepared for a case before it
runs it (`prepare`: the reason it cannot, or None, keeping what deciding computed), runs it (`infer`:
outputs in the case's layout, or `Built` for a build check), is told a run's cases before the first (`plan`),
says which engine or network serves a case (`engine_key`: cases of one key run one after another, on one
engine) and at what shape (`run_shape`), and owns its resources between
`open` and `close` (a context manager). Polygraphy's `BaseRunner` is the model: the lifecycle here, the
work in each backend.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

KINDS = ("reference", "oracle", "simulated", "build-check", "cudnn", "tensorrt")
GPU_KINDS = ("cudnn", "tensorrt")


@dataclasses.dataclass(frozen=True)
class Built:
    """What a build check returns instead of outputs: the plan built (no numbers to compare)."""
    seconds: float = 0.0
    engine: str = ""


class Runner(contextlib.AbstractContextManager):
    """A backend: subclasses set the class or instance attributes below and override `prepare` and `infer`.

    `precision` is the compute precision that picks the tolerance row ("float64", "float32", "tf32",
    "float16", "bfloat16"); `path` the TensorRT network path where there is one; `typing` "weak" or
    "strong" for TensorRT engines; `build_seconds` the builder's seconds so far (0 where nothing builds).
    """
    name: str = ""
    kind: str = "oracle"
    path: str | None = None
    precision: str = "float64"
    typing: str = ""
    build_seconds: float = 0.0

    def prepare(self, case) -> str | None:
        """Why this runner cannot run `case` here (one line), or None. What deciding computed (a parsed network,
        an onnxruntime session) is kept for the `infer` of the same case; `infer` never needs it."""
        return None

    def infer(self, case, materials=None) -> tuple[np.ndarray, ...] | Built:
        """The case's outputs (on `materials` if given, else the case's own data) as float64 arrays in the case's
        layout (`case.output_names` in order), or `Built` for a build check."""
        raise NotImplementedError

    def plan(self, cases) -> None:
        """Told every case it will be given, before the first: a runner that serves several cases from one engine
        (`engine_plan`) sizes that engine here, so it is built once for all of them."""

    def engine_key(self, case) -> str:
        """The engine (or network) that serves `case`: cases of one key are run together. Empty: one per case."""
        return ""

    @property
    def engine_counts(self) -> dict:
        """How many engines it built, loaded from the engine cache and deserialised so far (where it builds any)."""
        return {}

    def run_shape(self, case) -> dict | None:
        """The network inputs' dims `case` runs at on a dynamic engine (None on a static one)."""
        return case.run_shape

    def open(self) -> None:
        """Take the resources the runner holds while it runs (a CUDA stream, a runtime)."""

    def close(self) -> None:
        """Free what `open` took."""

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False
