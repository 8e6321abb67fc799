"""Layers that compute: element-wise, unary, activation, matrix multiply, select and reduce, with
the formulas TensorRT's Python API documents (`help(trt.ActivationType)` and friends).

Float math runs in float64; integer and bool tensors keep their types. Functions take the layer's
record, its input arrays and its outputs' `DataType` names, and return the output arrays.
"""

from __future__ import annotations

import math

import numpy as np

from .shapes import not_covered

ELEMENTWISE = {
    "SUM": np.add, "PROD": np.multiply, "MAX": np.maximum, "MIN": np.minimum, "SUB": np.subtract,
    "EQUAL": np.equal, "GREATER": np.greater, "LESS": np.less,
}
LOGICAL = {"AND": np.logical_and, "OR": np.logical_or, "XOR": np.logical_xor}
UNARY = {
    "EXP": np.exp, "LOG": np.log, "SQRT": np.sqrt, "RECIP": lambda x: 1.0 / x, "ABS": np.abs, "NEG": np.negative,
    "SIN": np.sin, "COS": np.cos, "TAN": np.tan, "SINH": np.sinh, "COSH": np.cosh, "ASIN": np.arcsin,
    "ACOS": np.arccos, "ATAN": np.arctan, "ASINH": np.arcsinh, "ACOSH": np.arccosh, "ATANH": np.arctanh,
    "CEIL": np.ceil, "FLOOR": np.floor, "ERF": np.vectorize(math.erf, otypes=[np.float64]), "SIGN": np.sign,
    "ROUND": np.round,  # round half to even, as TensorRT documents for floating point
    "ISINF": np.isinf, "ISNAN": np.isnan,
}
FLOAT_ONLY = {"EXP", "LOG", "SQRT", "RECIP", "SIN", "COS", "TAN", "SINH", "COSH", "ASIN", "ACOS", "ATAN", "ASINH",
              "ACOSH", "ATANH", "CEIL", "FLOOR", "ERF", "ROUND", "ISINF", "ISNAN"}


def sigmoid(x):
    """1 / (1 + exp(-x)); exp overflow for very negative x gives exactly 0."""
    return 1.0 / (1.0 + np.exp(-x))


# ActivationType name -> f(x, alpha, beta), from the formulas in TensorRT's ActivationType docstring.
ACTIVATIONS = {
    "RELU": lambda x, a, b: np.maximum(x, 0.0),
    "SIGMOID": lambda x, a, b: sigmoid(x),
    "TANH": lambda x, a, b: np.tanh(x),
    "LEAKY_RELU": lambda x, a, b: np.where(x >= 0, x, a * x),
    "ELU": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1.0)),
    "SELU": lambda x, a, b: np.where(x > 0, b * x, b * (a * np.exp(x) - a)),
    "SOFTSIGN": lambda x, a, b: x / (1.0 + np.abs(x)),
    "SOFTPLUS": lambda x, a, b: a * np.log(np.exp(b * x) + 1.0),
    "CLIP": lambda x, a, b: np.maximum(a, np.minimum(b, x)),
    "HARD_SIGMOID": lambda x, a, b: np.maximum(0.0, np.minimum(1.0, a * x + b)),
    "SCALED_TANH": lambda x, a, b: a * np.tanh(b * x),
    "THRESHOLDED_RELU": lambda x, a, b: np.where(x > a, x, 0.0),
    "GELU_ERF": lambda x, a, b: 0.5 * x * (1.0 + UNARY["ERF"](math.sqrt(0.5) * x)),
    "GELU_TANH": lambda x, a, b: 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (0.044715 * x ** 3 + x))),
}


def elementwise(rec, inputs, dtypes):
    """IElementWiseLayer `op` on two inputs broadcast against each other; comparisons give bool."""
    op, (a, b) = rec.layer.op.name, inputs
    if op in LOGICAL:
        if a.dtype != np.bool_ or b.dtype != np.bool_:
            raise not_covered(rec, f"{op} on {a.dtype} and {b.dtype} (TensorRT defines it on bool)")
        return [LOGICAL[op](a, b)]
    if op in ELEMENTWISE:
        return [ELEMENTWISE[op](a, b)]
    floats = a.dtype.kind == "f" or b.dtype.kind == "f"
    if op == "DIV":
        return [a / b if floats else _integer_divide(rec, a, b)]
    if op == "FLOOR_DIV":
        return [np.floor(a / b) if floats else _integer_divide(rec, a, b, floor=True)]
    if op == "POW" and floats:
        return [np.power(a, b)]
    raise not_covered(rec, f"element-wise {op} on {a.dtype} and {b.dtype}")


def _integer_divide(rec, a, b, floor=False):
    """Integer division; without `floor`, only where truncation and flooring agree (TensorRT leaves it open)."""
    if np.any(b == 0):
        raise ValueError(f"layer {rec.name!r}: integer division by zero")
    q, r = np.divmod(a, b)  # floor division
    if not floor and np.any((r != 0) & ((a < 0) != (b < 0))):
        raise not_covered(rec, "integer DIV with a remainder and operands of opposite signs (rounding direction)")
    return q


def unary(rec, inputs, dtypes):
    """IUnaryLayer `op`; NOT on bool, the others on numbers."""
    op, x = rec.layer.op.name, inputs[0]
    if op == "NOT":
        if x.dtype != np.bool_:
            raise not_covered(rec, f"NOT on {x.dtype}")
        return [np.logical_not(x)]
    if op not in UNARY or (op in FLOAT_ONLY and x.dtype.kind != "f") or x.dtype == np.bool_:
        raise not_covered(rec, f"unary {op} on {x.dtype}")
    return [UNARY[op](x)]


def activation(rec, inputs, dtypes):
    """IActivationLayer `type` with its `alpha` and `beta`."""
    layer, x = rec.layer, inputs[0]
    kind = layer.type.name
    if kind not in ACTIVATIONS or x.dtype.kind != "f":
        raise not_covered(rec, f"activation {kind} on {x.dtype}")
    return [ACTIVATIONS[kind](x, float(layer.alpha), float(layer.beta))]


def matrix_multiply(rec, inputs, dtypes):
    """IMatrixMultiplyLayer: op NONE, TRANSPOSE (swap the last two dims) or VECTOR (the last dim is a vector)."""
    a, b = inputs
    op0, op1 = rec.layer.op0.name, rec.layer.op1.name
    for op in (op0, op1):
        if op not in ("NONE", "TRANSPOSE", "VECTOR"):
            raise not_covered(rec, f"matrix operation {op}")
    a = np.swapaxes(a, -1, -2) if op0 == "TRANSPOSE" else a[..., None, :] if op0 == "VECTOR" else a
    b = np.swapaxes(b, -1, -2) if op1 == "TRANSPOSE" else b[..., :, None] if op1 == "VECTOR" else b
    if a.ndim != b.ndim:
        raise ValueError(f"layer {rec.name!r}: matrix multiply of ranks {a.ndim} and {b.ndim} "
                         "(TensorRT needs equal ranks)")
    out = np.matmul(a, b)
    if op1 == "VECTOR":
        out = out[..., 0]
    if op0 == "VECTOR":
        out = out[..., 0] if op1 == "VECTOR" else out[..., 0, :]
    return [out]


def select(rec, inputs, dtypes):
    """ISelectLayer: then-input where the bool condition holds, else-input elsewhere (broadcast)."""
    condition, then, otherwise = inputs
    if condition.dtype != np.bool_:
        raise not_covered(rec, f"select on a {condition.dtype} condition")
    return [np.where(condition, then, otherwise)]


REDUCE = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}


def reduce(rec, inputs, dtypes):
    """IReduceLayer `op` over the axes in the `axes` bit mask, keeping them as 1 with `keep_dims`."""
    layer, x = rec.layer, inputs[0]
    op = layer.op.name
    if op not in REDUCE or (op == "AVG" and x.dtype.kind != "f"):
        raise not_covered(rec, f"reduce {op} on {x.dtype}")
    axes = tuple(axis for axis in range(x.ndim) if layer.axes >> axis & 1)
    return [REDUCE[op](x, axis=axes, keepdims=layer.keep_dims)]
