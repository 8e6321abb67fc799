"""TensorRT data types as NumPy arrays, and the rounding that makes a simulation typed.

Every float type is held in float64 arrays; integers and bools stay themselves. A float tensor
holds values of its network type: after every layer its float64 result is rounded (to nearest,
ties to even) to FLOAT (float32), HALF (float16, whose overflow is inf as in an fp16 engine) or
BF16 (bfloat16), so a simulated half-precision network shows the error a faithful engine of that
network has. Without rounding (`execute(..., rounding="none")`) every float tensor keeps its exact
float64 value: the network's math, free of any precision.

`conform` is the check after every layer: the value's kind (float, integer, bool) and shape must be
what TensorRT inferred for the tensor, so a layer the executor got wrong fails loudly at that layer
instead of flowing on. Shapes compare with -1 (unknown at build time) matching any extent.
"""

from __future__ import annotations

import numpy as np

FLOATS = ("FLOAT", "HALF", "BF16")
NUMPY = {"FLOAT": np.float64, "HALF": np.float64, "BF16": np.float64, "INT32": np.int32, "INT64": np.int64,
         "BOOL": np.bool_}
KINDS = {np.float64: "f", np.int32: "i", np.int64: "i", np.bool_: "b"}


def to_bfloat16(values) -> np.ndarray:
    """float64 `values` rounded to the nearest bfloat16 (ties to even), as float64; NaN stays NaN.

    Rounding float64 to float32 first and then to bfloat16 would round twice (1 + 2**-8 + 2**-30
    would land on 1.0, not 1 + 2**-7). So the float32 step rounds to odd (truncate, then set the
    last bit when inexact), which keeps the information a correct second rounding needs: float32
    has 16 bits more than bfloat16 at every exponent. The second step rounds the bit pattern.
    """
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = x.astype(np.float32)
        toward_zero = np.where(np.abs(f.astype(np.float64)) > np.abs(x), np.nextafter(f, np.float32(0)), f)
    bits = toward_zero.view(np.uint32) | (toward_zero.astype(np.float64) != x).astype(np.uint32)  # round to odd
    bits = bits.astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    rounded = bits.view(np.float32).astype(np.float64)
    return np.where(np.isnan(x), x, np.where(np.isinf(x), x, rounded))


def to_float16(values) -> np.ndarray:
    """float64 `values` rounded to the nearest float16 (NumPy rounds float64 to float16 in one step)."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float16).astype(np.float64)


def to_float32(values) -> np.ndarray:
    """float64 `values` rounded to the nearest float32."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


ROUND = {"FLOAT": to_float32, "HALF": to_float16, "BF16": to_bfloat16}


def numpy_dtype(dtype: str, where: str):
    """The NumPy dtype holding TensorRT's `DataType` named `dtype`; raise for one not covered."""
    if dtype not in NUMPY:
        raise NotImplementedError(f"{where}: data type {dtype} cannot be emulated by the executor "
                                  f"(covered: {', '.join(NUMPY)})")
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
    """`value` as the array TensorRT's inferred `tensor` (a graph.Tensor) holds; raise if it cannot be.

    A float tensor with `tensor.rounded` set gets its value rounded to its data type.
    """
    target = numpy_dtype(tensor.dtype, where)
    value = np.asarray(value)
    kind = "i" if value.dtype.kind == "u" else value.dtype.kind
    if kind != KINDS[target]:
        raise RuntimeError(f"{where}: the executor computed {value.dtype} values, but TensorRT infers {tensor.dtype}")
    declared = tuple(tensor.shape)
    if len(declared) != value.ndim or any(d not in (-1, v) for d, v in zip(declared, value.shape)):
        raise RuntimeError(f"{where}: the executor computed shape {value.shape}, but TensorRT infers {declared}")
    value = value.astype(target, copy=False)
    return ROUND[tensor.dtype](value) if tensor.rounded and tensor.dtype in ROUND else value
