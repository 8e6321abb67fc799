"""TensorRT data types as NumPy arrays: every float type computes in float64, integers and bools stay themselves.

`conform` is the check after every layer: the value's kind (float, integer, bool) and shape must be
what TensorRT inferred for the tensor, so a layer the executor got wrong fails loudly at that layer
instead of flowing on. Shapes compare with -1 (unknown at build time) matching any extent.
"""

from __future__ import annotations

import numpy as np

FLOATS = ("FLOAT", "HALF", "BF16")  # all computed in float64: the executor checks math, not rounding
NUMPY = {"FLOAT": np.float64, "HALF": np.float64, "BF16": np.float64, "INT32": np.int32, "INT64": np.int64,
         "BOOL": np.bool_}
KINDS = {np.float64: "f", np.int32: "i", np.int64: "i", np.bool_: "b"}


def numpy_dtype(dtype: str, where: str):
    """The NumPy dtype holding TensorRT's `DataType` named `dtype`; raise for one not covered."""
    if dtype not in NUMPY:
        raise NotImplementedError(f"{where}: data type {dtype} is not covered (covered: {', '.join(NUMPY)})")
    return NUMPY[dtype]


def convert(value, dtype: str, where: str) -> np.ndarray:
    """`value` cast to `dtype` as TensorRT's cast does, for the conversions whose rounding is known."""
    target = numpy_dtype(dtype, where)
    value = np.asarray(value)
    if target is np.bool_:
        return value != 0
    if KINDS[target] == "i" and value.dtype.kind == "f":
        if not np.all(np.isfinite(value) & (value == np.trunc(value))):
            raise NotImplementedError(f"{where}: casting non-integral float values to {dtype} (TensorRT's rounding "
                                      "of fractions is not covered)")
    if KINDS[target] == "i":
        info = np.iinfo(target)
        if value.size and (np.min(value) < info.min or np.max(value) > info.max):
            raise ValueError(f"{where}: values outside the range of {dtype}")
    return value.astype(target)


def conform(value, tensor, where: str) -> np.ndarray:
    """`value` as the array TensorRT's inferred `tensor` (a graph.Tensor) holds; raise if it cannot be."""
    target = numpy_dtype(tensor.dtype, where)
    value = np.asarray(value)
    kind = "i" if value.dtype.kind == "u" else value.dtype.kind
    if kind != KINDS[target]:
        raise RuntimeError(f"{where}: the executor computed {value.dtype} values, but TensorRT infers {tensor.dtype}")
    declared = tuple(tensor.shape)
    if len(declared) != value.ndim or any(d not in (-1, v) for d, v in zip(declared, value.shape)):
        raise RuntimeError(f"{where}: the executor computed shape {value.shape}, but TensorRT infers {declared}")
    return value.astype(target, copy=False)
