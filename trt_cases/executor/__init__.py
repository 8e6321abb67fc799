"""A NumPy executor for TensorRT networks: a simulation that checks a network's math without a GPU.

`execute(network, feeds)` evaluates a real `INetworkDefinition` (built with TensorRT's or
TensorRT-RTX's Python API, by hand or by the ONNX parser) layer by layer in topological order,
reading each layer's type and parameters through the API, and returns the marked outputs. Each
layer computes in float64; with `rounding="network"` (the default) each float tensor it outputs is
then rounded to the tensor's network type (FLOAT, HALF or BF16), as a faithful engine of that
network stores it, and with `rounding="none"` it keeps the exact float64 value (the network's math,
free of any precision). Integer and bool tensors keep their types. A tensor of a type the executor
cannot emulate (FP8, INT8, INT4, FP4, ...) is refused before anything runs, naming the tensor.
After every layer the value's kind and shape are checked against what TensorRT inferred.

Dynamic shapes: the network runs at the feeds' shapes (the run shape). An input's `-1` dims take the
fed extent, its fixed dims must be fed as they are, and with a `profile` (per input, min/opt/max dims)
the run shape must lie inside it (`run_shape`); shape tensors (SHAPE and the slices, gathers,
concatenations, casts, element-wise and reductions of its output), trip counts and the lengths of
loop outputs are then values computed like any other tensor.

`keep` also returns intermediate tensors: a list of names or a predicate on names. A tensor inside
a loop comes back as its per-iteration values stacked on a new first axis, in iteration order.

A layer type or option the executor does not cover raises NotImplementedError naming the layer,
its type and the option; it never guesses. Results are simulations, never TensorRT results.
"""

from __future__ import annotations

import numpy as np

from ..networks import trt_api
from .dtypes import FLOATS, NUMPY, conform, numpy_dtype
from .graph import CLASSES, Loop, read
from .layers import run_layer
from .loops import run_loop
from .run_shape import check_dims, check_profile, run_shape

__all__ = ["CLASSES", "ROUNDINGS", "execute", "run_shape"]

ROUNDINGS = ("network", "none")


def execute(network, feeds: dict, keep=None, rounding: str = "network", profile=None) -> dict:
    """Evaluate `network` on `feeds` (input name -> array); return the marked outputs and the kept tensors.

    `keep`: None, a collection of tensor names, or a predicate `name -> bool`. Loop-interior tensors
    come back stacked over iterations (first axis). `rounding`: "network" rounds every float tensor
    to its network type, "none" keeps float64 values. `profile`: None, or the optimization profile the
    run shape must lie in (an `OptimizationProfile`, or a mapping input name -> (min, opt, max) dims).
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding={rounding!r}; allowed: {', '.join(ROUNDINGS)}")
    rt = trt_api.load()
    if rt is None:
        raise RuntimeError(trt_api.missing("loop"))
    graph = read(network, rt.module)
    for name, tensor in graph.tensors.items():
        if tensor.dtype not in NUMPY:
            raise NotImplementedError(f"tensor {name!r} has data type {tensor.dtype}, which the executor cannot "
                                      f"emulate (covered: {', '.join(NUMPY)})")
        tensor.rounded = rounding == "network" and tensor.dtype in FLOATS
    wanted = _wanted(keep, graph)
    with np.errstate(all="ignore"):  # NaN and Inf propagate (and fp16 overflows) as arithmetic does
        values = _feed(graph, feeds)
        if profile is not None:
            check_profile(profile, {name: t.shape for name, t in graph.inputs.items()}, run_shape(values))
        kept = {name: values[name] for name in graph.inputs if wanted(name)}
        for step in graph.schedule:
            if isinstance(step, Loop):
                inside = [n for rec in step.iterators + step.recurrences + step.interior for n in rec.outputs]
                kept.update(run_loop(step, values, graph.tensors, [n for n in inside if wanted(n)]))
                names = [n for rec in step.outputs for n in rec.outputs]
            else:
                run_layer(step, values, graph.tensors)
                names = step.outputs
            kept.update({name: values[name] for name in names if wanted(name)})
    return {**{name: values[name] for name in graph.outputs}, **kept}


def _wanted(keep, graph):
    """A predicate over tensor names from `keep`; names that are not in the network are an error."""
    if keep is None:
        return lambda name: False
    if callable(keep):
        return keep
    names = {keep} if isinstance(keep, str) else set(keep)
    unknown = sorted(names - set(graph.tensors))
    if unknown:
        raise KeyError(f"keep names tensors the network does not have: {unknown}")
    return names.__contains__


def _feed(graph, feeds):
    """The network inputs as arrays of their executor dtypes; raise on a missing, unknown or misshapen feed
    (`check_dims`: -1 dims take the fed extent, fixed dims must match)."""
    missing = sorted(set(graph.inputs) - set(feeds))
    unknown = sorted(set(feeds) - set(graph.inputs))
    if missing or unknown:
        raise ValueError(f"feeds: missing inputs {missing}, unknown names {unknown}; the network's inputs are "
                         f"{sorted(graph.inputs)}")
    values = {}
    for name, tensor in graph.inputs.items():
        value = np.asarray(feeds[name])
        check_dims(name, tensor.shape, value.shape)
        kind = "f" if numpy_dtype(tensor.dtype, f"input {name!r}") is np.float64 else value.dtype.kind
        try:
            values[name] = conform(value.astype(np.float64) if kind == "f" else value, tensor, f"input {name!r}")
        except RuntimeError as exc:
            raise ValueError(str(exc).replace("the executor computed", "the feed has")) from None
    return values
