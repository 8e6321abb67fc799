"""The one module that imports TensorRT: `tensorrt` if installed and it gives a builder, else TensorRT-RTX.

Everything else asks this module for the API (`load()`), which flavour and version it is, and
whether a feature exists (probed with `hasattr`, never by version strings). `missing()` gives the
one-line reason a path cannot run, for skips.

Real TensorRT returns no builder without a usable CUDA device (its bindings raise `TypeError: ... factory
function returned nullptr`). There networks are built with TensorRT-RTX where it is installed (its builder runs
on the CPU), and `TensorRT.no_builder` says why the real one was passed over; without TensorRT-RTX, `missing()`
says why nothing can be built. The GPU runner refuses to stand TensorRT-RTX in for real TensorRT.
"""

from __future__ import annotations

import functools
import importlib
from typing import NamedTuple


class TensorRT(NamedTuple):
    module: object  # the `tensorrt` or `tensorrt_rtx_bindings` module
    flavour: str  # "TensorRT" or "TensorRT-RTX"
    version: str
    no_builder: str | None = None  # why the installed real `tensorrt` gives no builder here (None: it does, or none)

    @property
    def label(self) -> str:
        return f"{self.flavour} {self.version}"


@functools.cache
def load() -> TensorRT | None:
    """The TensorRT networks are built with: real `tensorrt` where it gives a builder, else TensorRT-RTX (with
    `no_builder` saying why the real one was passed over), else the builder-less real one (`missing()` then says
    why nothing builds); None when neither is importable."""
    real = _import_tensorrt()
    refusal = builder_refusal(real) if real is not None else None
    if real is not None and refusal is None:
        return real
    rtx = _import_rtx()
    if rtx is not None:
        return rtx._replace(no_builder=refusal)
    return None if real is None else real._replace(no_builder=refusal)


def _import_tensorrt() -> TensorRT | None:
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError:
        return None
    return TensorRT(trt, "TensorRT", trt.__version__)


def _import_rtx() -> TensorRT | None:
    try:
        importlib.import_module("tensorrt_rtx_libs")  # loads the shared libraries the bindings need
        trt = importlib.import_module("tensorrt_rtx_bindings")
    except ImportError:
        return None
    return TensorRT(trt, "TensorRT-RTX", trt.__version__)


def CapturingLogger(trt):
    """An `ILogger` that keeps every message (severity name, text) for error reports."""

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages = []

        def log(self, severity, msg):
            self.messages.append((getattr(severity, "name", str(severity)), msg))

        def text(self, least=("INTERNAL_ERROR", "ERROR", "WARNING", "INFO")) -> str:
            return "\n".join(f"[{sev}] {msg}" for sev, msg in self.messages if sev in least)

    return _Logger()


def builder_refusal(rt: TensorRT) -> str | None:
    """Why `rt` gives no builder here (one line, with TensorRT's first logged error), or None: `Builder(logger)`
    made and dropped. Real TensorRT without a usable CUDA device raises TypeError ("factory function returned
    nullptr")."""
    logger = CapturingLogger(rt.module)
    try:
        builder = rt.module.Builder(logger)
    except TypeError as exc:
        logged = logger.text(least=("INTERNAL_ERROR", "ERROR")).splitlines()
        return (f"{rt.label} is installed but gives no builder (no usable CUDA device: TypeError: {exc}"
                + (f"; {logged[0]}" if logged else "") + ")")
    del builder
    return None


# What each network path needs from the API, probed on INetworkDefinition and the module.
FEATURES = {
    "loop": ("INetworkDefinition.add_loop", "INetworkDefinition.add_matrix_multiply", "INetworkDefinition.add_select"),
    "drop-in": ("INetworkDefinition.add_loop", "INetworkDefinition.add_matrix_multiply", "INetworkDefinition.add_select"),
    "native": ("INetworkDefinition.add_rnn_v2",),
    "onnx": ("OnnxParser",),
}


def has(symbol: str) -> bool:
    """Whether `symbol` ("OnnxParser" or "INetworkDefinition.add_rnn_v2") exists in the installed API."""
    rt = load()
    if rt is None:
        return False
    obj = rt.module
    for part in symbol.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return True


def create_network(builder, *, strongly_typed: bool):
    """An explicit-batch `INetworkDefinition` from `builder`, strongly typed when asked and available.

    TensorRT 8.x needs the EXPLICIT_BATCH bit (its default is implicit batch, which the loop and ONNX
    paths cannot use); 10.x ignores it and 11.x and TensorRT-RTX lack it (always explicit batch).
    """
    flag = load().module.NetworkDefinitionCreationFlag
    flags = 0
    if strongly_typed and hasattr(flag, "STRONGLY_TYPED"):
        flags |= 1 << int(flag.STRONGLY_TYPED)
    if hasattr(flag, "EXPLICIT_BATCH"):
        flags |= 1 << int(flag.EXPLICIT_BATCH)
    return builder.create_network(flags)


def missing(path: str) -> str | None:
    """Why the network path `path` cannot be built here (one line), or None when it can."""
    if path not in FEATURES:
        raise ValueError(f"unknown network path {path!r}; allowed: {', '.join(FEATURES)}")
    rt = load()
    if rt is None:
        return "neither tensorrt nor TensorRT-RTX (tensorrt-rtx-cu13-bindings) is installed"
    if rt.flavour == "TensorRT" and rt.no_builder:
        return f"{rt.no_builder}; TensorRT-RTX (tensorrt-rtx-cu13-bindings), whose builder runs on the CPU, is not installed"
    absent = [symbol for symbol in FEATURES[path] if not has(symbol)]
    if absent:
        return f"{', '.join(absent)} not available in {rt.label}"
    return None


# Typing: TensorRT 11 and TensorRT-RTX are always strongly typed (no BuilderFlag.FP16); TensorRT 9.x-10.x
# strongly type a network created with NetworkDefinitionCreationFlag.STRONGLY_TYPED; TensorRT 8.6 cannot.

def always_strongly_typed() -> bool:
    """Whether every network the installed TensorRT creates is strongly typed (TensorRT-RTX, TensorRT 11)."""
    rt = load()
    if rt is None:
        return False
    return not hasattr(rt.module.BuilderFlag, "FP16")  # weak typing's precision flags are gone: probed, not looked up


def can_strongly_type() -> bool:
    """Whether the installed TensorRT can create a strongly typed network."""
    rt = load()
    if rt is None:
        return False
    return always_strongly_typed() or hasattr(rt.module.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")
