"""The one module that imports TensorRT: `tensorrt` if installed, else TensorRT-RTX.

Everything else asks this module for the API (`load()`), which flavour and version it is, and
whether a feature exists (probed with `hasattr`, never by version strings). `missing()` gives the
one-line reason a path cannot run, for skips.
"""

from __future__ import annotations

import functools
import importlib
from typing import NamedTuple


class TensorRT(NamedTuple):
    module: object  # the `tensorrt` or `tensorrt_rtx_bindings` module
    flavour: str  # "TensorRT" or "TensorRT-RTX"
    version: str

    @property
    def label(self) -> str:
        return f"{self.flavour} {self.version}"


@functools.cache
def load() -> TensorRT | None:
    """The installed TensorRT, preferring the real one; None when neither is importable."""
    try:
        trt = importlib.import_module("tensorrt")
        return TensorRT(trt, "TensorRT", trt.__version__)
    except ImportError:
        pass
    try:
        importlib.import_module("tensorrt_rtx_libs")  # loads the shared libraries the bindings need
        trt = importlib.import_module("tensorrt_rtx_bindings")
        return TensorRT(trt, "TensorRT-RTX", trt.__version__)
    except ImportError:
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
