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


def gpu_backends() -> dict:
    """Every GPU backend the suite knows, whether or not it can run here (each says why not)."""
    from ..networks.build import PATHS
    from .trt_runner import PRECISIONS, TensorRTRunner

    backends = {
        "torch-cuda-float32": lambda: TorchRunner("cuda", "float32"),
        "torch-cuda-tf32": lambda: TorchRunner("cuda", "float32", allow_tf32=True),
        "torch-cuda-float16": lambda: TorchRunner("cuda", "float16"),
    }
    for path in PATHS:
        for precision in PRECISIONS:
            backends[f"tensorrt-{path}-{precision}"] = (lambda p=path, q=precision: TensorRTRunner(p, q))
    return backends


# The case precision whose values a backend of each compute precision sees exactly.
CASE_PRECISION = {"float64": "fp32", "float32": "fp32", "tf32": "tf32", "float16": "fp16", "bfloat16": "bf16"}
