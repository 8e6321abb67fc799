"""Which case runs on which GPU backend, how, and in which tier: the plan `tests/runners/test_gpu.py` parametrises and
`benchmarks/engine_count.py` counts engines for.

Two tiers. `pytest -m gpu` (default) is what a GPU CI job runs cold: at most about 400 TensorRT engines. The
thorough tier (`pytest -m "gpu and sweep"`, nightly) makes every other comparison. Together they make every
comparison `pytest -m gpu` made when each case had its own engine, and more.

How an entry runs its cases: `static` on constant-weight engines of the case's own shape, as users deploy
`seeds`, `edge` and ONNX nodes; `shared` on `runners.engine_plan` engines (one loop engine per structure, weights,
lengths and states as inputs, dynamic batch and S); `dynamic` cases carry their own profile (one engine per
structure, executed at each run shape). cuDNN backends build no engines: they run every set in the default tier.
"""

from __future__ import annotations

import dataclasses

from trt_cases.cases.sets import named
from trt_cases.runners.registry import gpu_backends, typed_backends

DEFAULT, THOROUGH = "default", "thorough"
PATHS = ("loop", "drop-in", "onnx", "native")
ENGINE_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
STREAMED = (("loop", "fp32"), ("loop", "fp16"))  # TensorRT backends that stream in the default tier


@dataclasses.dataclass(frozen=True)
class Entry:
    tier: str
    backend: str
    set_name: str
    share: bool = False


def _trt(path, precision):
    return f"tensorrt-{path}-{precision}"


def entries() -> list[Entry]:
    """Every (tier, backend, set, shared) of the GPU tests."""
    found = []
    cudnn = [n for n, s in gpu_backends().items() if s.kind == "cudnn"]
    for name in cudnn:
        found += [Entry(DEFAULT, name, s) for s in ("seeds", "matrix", "edge", "onnx", "dynamic", "streaming")]
    default = {  # (path, precision) -> sets on static (or dynamic) engines in the default tier
        ("loop", "fp32"): ("seeds", "edge", "dynamic"), ("drop-in", "fp32"): ("seeds", "edge"),
        ("onnx", "fp32"): ("seeds", "edge", "dynamic", "onnx"), ("native", "fp32"): ("seeds", "edge"),
        ("loop", "fp16"): ("seeds",), ("drop-in", "fp16"): ("seeds",), ("onnx", "fp16"): ("seeds",),
    }
    for path in PATHS:
        for precision in ENGINE_PRECISIONS:
            name, here = _trt(path, precision), default.get((path, precision), ())
            sets = ("seeds", "edge", "dynamic") + (("onnx",) if path == "onnx" else ())
            found += [Entry(DEFAULT if s in here else THOROUGH, name, s) for s in sets]
            # streamed (one or two chunk engines per case): the loop path at fp32 and fp16 by default, the rest nightly
            found.append(Entry(DEFAULT if (path, precision) in STREAMED else THOROUGH, name, "streaming"))
            if path == "loop":  # matrix on shared engines; fp32 and fp16 by default
                found.append(Entry(DEFAULT if precision in ("fp32", "fp16") else THOROUGH, name, "matrix", share=True))
            else:  # matrix on the other paths: one constant-weight engine per case, nightly
                found.append(Entry(THOROUGH, name, "matrix"))
    for name, spec in typed_backends().items():  # both typings of half engines (TensorRT 10.x deploys both)
        found += [Entry(THOROUGH, name, s) for s in ("seeds", "edge")]
        if spec.path == "loop":
            found.append(Entry(THOROUGH, name, "matrix", share=True))
    return found


def backend_spec(name):
    return {**gpu_backends(), **typed_backends()}[name]


def cases_of(entry: Entry) -> list:
    """The entry's cases at the case precision its backend takes."""
    precision = backend_spec(entry.backend).case_precisions[0]
    return [dataclasses.replace(case, precision=precision) for case in named(entry.set_name)]


def shared_cases(backend: str) -> list:
    """Every case the shared runner of `backend` is given, in either tier: what it plans its engines for."""
    return [case for entry in entries() if entry.backend == backend and entry.share for case in cases_of(entry)]
