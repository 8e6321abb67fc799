"""Float values in a network precision: numpy arrays for fp32/fp16, uint16 bit patterns for bf16.

NumPy has no bfloat16, so a bf16 constant is its bit patterns, rounded to nearest even from float32
(exact for values already bf16, as `Case.materialise()` makes them). TensorRT takes them as
`Weights(DataType.BF16, pointer, count)`; ONNX as a BFLOAT16 tensor's raw bytes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

PRECISIONS = ("fp32", "fp16", "bf16")
NUMPY_TYPES = {"fp32": np.dtype(np.float32), "fp16": np.dtype(np.float16), "bf16": np.dtype(np.uint16)}


def check_precision(precision, argument="precision"):
    if precision not in PRECISIONS:
        raise ValueError(f"{argument}={precision!r}; allowed: {', '.join(PRECISIONS)}")
    return precision


def bf16_bits(values) -> np.ndarray:
    """The bf16 bit patterns (uint16) of `values`, via float32, rounded to nearest even; NaN stays NaN."""
    f32 = np.array(values, dtype=np.float32, order="C")  # keeps 0-d shapes
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(f32), np.uint16(0x7FC0), rounded).astype(np.uint16)


def bf16_values(bits) -> np.ndarray:
    """float32 values of bf16 bit patterns (the inverse of `bf16_bits` on bf16 values)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def stored(values, precision) -> np.ndarray:
    """`values` as the C-contiguous array that holds them in `precision` (bf16: bit patterns)."""
    if check_precision(precision) == "bf16":
        return bf16_bits(values)
    return np.array(values, dtype=NUMPY_TYPES[precision], order="C")  # a copy that keeps 0-d shapes


def weights(trt, array, precision):
    """`trt.Weights` over `array` (the result of `stored`); the caller keeps `array` alive."""
    if precision == "bf16":
        return trt.Weights(trt.DataType.BF16, array.ctypes.data, array.size)
    return trt.Weights(array)


class BF16Constant(NamedTuple):
    """A bf16 constant layer's name and bit patterns: TensorRT's Python API cannot give them back
    (`Weights.numpy()` has no NumPy type for BF16), so the builders keep them for readers (the executor)."""
    layer: str
    bits: np.ndarray


def add_constant(trt, network, values, precision, keep):
    """An IConstantLayer of float `values` in `precision`; keeps what TensorRT reads at build time in `keep`.

    Returns the layer's output tensor.
    """
    array = stored(values, precision)
    layer = network.add_constant(array.shape, weights(trt, array, precision))
    keep.append(BF16Constant(layer.name, array) if precision == "bf16" else array)
    return layer.get_output(0)
