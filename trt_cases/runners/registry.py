"""The backends the command line and the tests can name, built on demand."""

from __future__ import annotations

from .onnx_runners import OnnxReferenceRunner, OnnxRuntimeRunner
from .reference_runner import ReferenceRunner
from .torch_runner import TorchRunner

# CPU oracles: implementations nobody here wrote, compared against the reference.
CPU_ORACLES = {
    "onnxruntime": OnnxRuntimeRunner,
    "onnx.reference": OnnxReferenceRunner,
    "torch-cpu-float64": lambda: TorchRunner("cpu", "float64"),
}
BACKENDS = {"reference": ReferenceRunner, **CPU_ORACLES}


def backend(name: str):
    """The runner called `name`."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    return BACKENDS[name]()
