"""A constant layer's weights as a NumPy array, BF16 weights included.

The Python API hands out FLOAT, HALF and integer weights as NumPy arrays, but BF16 weights (NumPy
has no bfloat16) as the `Weights` object itself, with no way to its values. Its C++ struct is
`{DataType type; const void* values; int64_t count;}` (NvInferRuntimeBase.h), held by pybind11 right
after the Python object header (pybind11's simple instance layout). The executor reads the values
from there only after checking that the struct's type and count are the ones the API reports, and
refuses otherwise: it never guesses at memory.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

_HEADER = 2 * ctypes.sizeof(ctypes.c_void_p)  # PyObject_HEAD: reference count and type


def not_covered(rec, option):
    """The executor's error for a layer option it does not cover (as `shapes.not_covered`, which imports this)."""
    return NotImplementedError(f"layer {rec.name!r} ({rec.kind}): {option} is not covered by the executor")


def weight_values(rec, weights) -> np.ndarray:
    """The values of a constant layer's `weights`, float64 for BF16 (bfloat16 values widened exactly)."""
    if isinstance(weights, np.ndarray):
        return weights
    dtype = getattr(getattr(weights, "dtype", None), "name", None)
    if dtype != "BF16":
        raise not_covered(rec, f"weights of type {dtype} that the API does not hand out as an array")
    bits = _bf16_bits(rec, weights)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _bf16_bits(rec, weights) -> np.ndarray:
    """The uint16 bit patterns behind BF16 `weights`, read from the C++ struct pybind11 holds."""
    if sys.getsizeof(weights) < _HEADER + ctypes.sizeof(ctypes.c_void_p):
        raise not_covered(rec, "BF16 weights in a binding whose object layout is not pybind11's")
    struct = ctypes.c_void_p.from_address(id(weights) + _HEADER).value
    count = int(weights.size)
    if not struct:
        raise not_covered(rec, "BF16 weights whose values cannot be located")
    kind = ctypes.c_int32.from_address(struct).value
    pointer = ctypes.c_void_p.from_address(struct + 8).value
    stored = ctypes.c_int64.from_address(struct + 16).value
    if kind != int(weights.dtype) or stored != count or int(weights.nbytes) != 2 * count or (count and not pointer):
        raise not_covered(rec, f"BF16 weights whose values cannot be located (struct says type {kind}, count "
                               f"{stored}; the API says {int(weights.dtype)}, {count})")
    if not count:
        return np.zeros(0, np.uint16)
    return np.frombuffer(ctypes.string_at(pointer, 2 * count), dtype=np.uint16).copy()
