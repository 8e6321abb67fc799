"""Every backend the command line and the tests can name, as a spec: name, kind, path, precision, factory.

Nothing else knows how a backend is named: selection by path or precision reads the spec's fields, and the
runner is made by its factory only when a run opens it. The bare `simulated-{path}` and `build-{path}` are
float32 networks (simulated in exact float64 arithmetic, built as `-fp32` builds).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from .base import GPU_KINDS, Runner

# The case precision whose values a backend of each compute precision sees exactly.
CASE_PRECISION = {"float64": "fp32", "float32": "fp32", "tf32": "tf32", "float16": "fp16", "bfloat16": "bf16"}
SAME_PRECISION = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}  # one name per precision
NETWORK_PATHS = ("loop", "drop-in", "onnx", "native")
NETWORK_PRECISIONS = ("fp32", "fp16", "bf16")
ENGINE_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
HALF = ("fp16", "bf16")


@dataclasses.dataclass(frozen=True)
class BackendSpec:
    """A backend by name: what it is, and how to make its runner.

    `precision` is the precision `--precision` selects it by ("fp32", "tf32", "fp16", "bf16", "float64"), None
    for a backend of no precision of its own (onnxruntime, onnx.reference: they run each case at every precision
    asked for); `case_precisions` the case precisions a run gives it.
    """
    name: str
    kind: str
    factory: Callable[[], Runner]
    path: str | None = None
    precision: str | None = None
    typing: str = ""
    case_precisions: tuple = ("fp32",)
    options: tuple = ()  # the keyword options its factory takes (TensorRT: builder_optimization_level)

    @property
    def gpu(self) -> bool:
        return self.kind in GPU_KINDS

    def create(self, **options) -> Runner:
        """Its runner; of `options`, only those it takes (and are set) reach the factory."""
        return self.factory(**{k: v for k, v in options.items() if k in self.options and v is not None})


TRT_OPTIONS = ("builder_optimization_level", "share_engines")
BUILD_OPTIONS = ("share_engines",)  # build checks and simulations build the engines the TensorRT runner would


def _spec(name, kind, factory, path=None, precision=None, typing="") -> BackendSpec:
    case_precision = {"float64": "fp32"}.get(precision, precision) or "fp32"
    return BackendSpec(name, kind, factory, path, precision, typing, (case_precision,),
                       {"tensorrt": TRT_OPTIONS, "build-check": BUILD_OPTIONS, "simulated": BUILD_OPTIONS}.get(kind, ()))


def cpu_backends() -> dict[str, BackendSpec]:
    """The CPU oracles (implementations nobody here wrote), the simulated networks and the build checks."""
    from .build_check import BuildCheckRunner
    from .onnx_runners import OnnxReferenceRunner, OnnxRuntimeRunner
    from .simulated_runner import SimulatedRunner
    from .torch_runner import TorchRunner

    specs = [_spec("onnxruntime", "oracle", OnnxRuntimeRunner), _spec("onnx.reference", "oracle", OnnxReferenceRunner),
             _spec("torch-cpu-float64", "oracle", lambda: TorchRunner("cpu", "float64"), precision="float64")]
    for path in NETWORK_PATHS:
        if path != "native":  # the native IRNNv2Layer has no loop structure for the executor to read
            specs.append(_spec(f"simulated-{path}", "simulated", lambda p=path, **o: SimulatedRunner(p, **o), path, "fp32"))
            specs += [_spec(f"simulated-{path}-{q}", "simulated", lambda p=path, q=q, **o: SimulatedRunner(p, q, **o), path, q)
                      for q in NETWORK_PRECISIONS]
        specs.append(_spec(f"build-{path}", "build-check", lambda p=path, **o: BuildCheckRunner(p, **o), path, "fp32"))
        specs += [_spec(f"build-{path}-{q}", "build-check", lambda p=path, q=q, **o: BuildCheckRunner(p, q, **o), path, q)
                  for q in NETWORK_PRECISIONS]
    return {spec.name: spec for spec in specs}


def gpu_backends() -> dict[str, BackendSpec]:
    """Every GPU backend the suite knows, whether or not it can run here (each runner says why not)."""
    from .torch_runner import TorchRunner
    from .trt_runner import TensorRTRunner

    specs = [_spec("torch-cuda-float32", "cudnn", lambda: TorchRunner("cuda", "float32"), precision="fp32"),
             _spec("torch-cuda-tf32", "cudnn", lambda: TorchRunner("cuda", "float32", allow_tf32=True), precision="tf32"),
             _spec("torch-cuda-float16", "cudnn", lambda: TorchRunner("cuda", "float16"), precision="fp16")]
    for path in NETWORK_PATHS:
        specs += [_spec(f"tensorrt-{path}-{q}", "tensorrt", lambda p=path, q=q, **o: TensorRTRunner(p, q, **o), path, q)
                  for q in ENGINE_PRECISIONS]
    return {spec.name: spec for spec in specs}


def typed_backends() -> dict[str, BackendSpec]:
    """Half engines with their typing forced (`-weak`: fp32 network plus BuilderFlag.FP16/BF16, TensorRT 8.6-10.x;
    `-strong`: a strongly typed half network, 9.x-11.x): on 10.x users deploy both."""
    from .trt_runner import TensorRTRunner

    return {spec.name: spec for spec in (
        _spec(f"tensorrt-{path}-{q}-{typing}", "tensorrt", lambda p=path, q=q, t=typing, **o: TensorRTRunner(p, q, typing=t, **o),
              path, q, typing)
        for path in NETWORK_PATHS for q in HALF for typing in ("weak", "strong"))}


def backends() -> dict[str, BackendSpec]:
    """Every backend name -> its spec: CPU oracles, simulated networks, build checks, GPU backends."""
    return {**cpu_backends(), **gpu_backends(), **typed_backends()}


def reference_spec() -> BackendSpec:
    from .reference_runner import ReferenceRunner

    return _spec("reference", "reference", ReferenceRunner, precision="float64")


def backend(name: str) -> Runner:
    """The runner called `name` (the reference too)."""
    specs = {"reference": reference_spec(), **backends()}
    if name not in specs:
        raise ValueError(f"unknown backend {name!r}; allowed: {', '.join(specs)}")
    return specs[name].create()


def kind_of(name: str) -> str:
    """The kind of the backend called `name` ("oracle" for a name the registry does not know)."""
    spec = backends().get(name)
    return spec.kind if spec else "oracle"


def is_gpu(name: str) -> bool:
    """A backend that runs on the GPU: TensorRT engines and cuDNN."""
    return kind_of(name) in GPU_KINDS


def select_backends(names=None, paths=None, precisions=None) -> dict[str, BackendSpec]:
    """The named backends (all by default), kept to `paths`/`precisions` where they have one.

    With `precisions`, every one must be had by a chosen backend; a backend of no precision of its own (an
    oracle) then runs each case at every wanted precision (its data rounded to it).
    """
    available = backends()
    unknown = [n for n in names or () if n not in available]
    if unknown:
        raise ValueError(f"unknown backend {unknown[0]!r}; allowed: {', '.join(available)}")
    chosen = {n: available[n] for n in (names or [n for n, s in available.items() if not s.typing])}
    precisions = [SAME_PRECISION.get(w, w) for w in precisions or ()]
    before = chosen
    for label, wanted, field in (("path", paths, "path"), ("precision", precisions, "precision")):
        if wanted:
            known = {getattr(s, field) for s in available.values()} - {None}
            bad = [w for w in wanted if w not in known]
            if bad:
                raise ValueError(f"unknown {label} {bad[0]!r}; allowed: {', '.join(sorted(known))}")
            before, chosen = chosen, {n: s for n, s in chosen.items() if getattr(s, field) is None or getattr(s, field) in wanted}
    if not precisions:
        return chosen
    have = {s.precision for s in chosen.values()}
    lacking = [w for w in precisions if w not in have and None not in have]
    if lacking:
        offered = {s.precision for s in before.values()} - {None}
        raise ValueError(f"precision {lacking[0]!r}: no selected backend ({', '.join(before) or 'none'}) "
                         f"computes in it; allowed with them: {', '.join(sorted(offered)) or 'none'}")
    case_precisions = tuple(dict.fromkeys({"float64": "fp32"}.get(w, w) for w in precisions))
    return {n: s if s.precision else dataclasses.replace(s, case_precisions=case_precisions) for n, s in chosen.items()}
