"""Argument checks shared by the functional core and the facades.

Every error names the argument, the value given and what is allowed, so that bad input never
reaches NumPy as a broadcasting error or, worse, as a silently wrong answer.
"""

from __future__ import annotations

import numbers

import numpy as np

from .enums import GATES, RNNDirection, RNNGateType, RNNInputMode, RNNOperation, parse


def positive_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument}={value!r}: expected an int >= 1, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{argument}={value!r}: must be an int >= 1")
    return int(value)


def real_array(value, argument: str) -> np.ndarray:
    """`value` as a float64 array (the caller's own array when it is one: the reference never writes into
    its inputs); integers and floats are allowed, nothing else."""
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{argument}: expected an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def weight_key(key, layer_count: int, op: RNNOperation, direction: RNNDirection, argument: str):
    """Canonical `(layer_index, gate, is_w)`, checked against the layer's configuration."""
    if not (isinstance(key, tuple) and len(key) == 3):
        raise TypeError(f"{argument} key {key!r}: expected (layer_index, gate, is_w)")
    layer_index, gate, is_w = key
    gate = parse(RNNGateType, gate, f"{argument} gate")
    count = layer_count * (2 if direction is RNNDirection.BIDIRECTION else 1)
    if isinstance(layer_index, bool) or not isinstance(layer_index, numbers.Integral):
        raise TypeError(f"layer_index={layer_index!r}: expected an int in [0, {count - 1}]")
    if not 0 <= layer_index < count:
        raise ValueError(
            f"layer_index={layer_index!r} is out of range: a {direction.name} RNN with "
            f"{layer_count} layer(s) has layer indices 0..{count - 1}"
        )
    if gate not in GATES[op]:
        allowed = ", ".join(g.name for g in GATES[op])
        raise ValueError(f"gate={gate.name} is not a gate of a {op.name} RNN; allowed: {allowed}")
    if not isinstance(is_w, (bool, np.bool_)) and is_w not in (0, 1):
        raise TypeError(f"is_w={is_w!r}: expected True (W, input weights) or False (R, recurrent)")
    return int(layer_index), gate, bool(is_w)


def matrix(value, rows: int, cols: int, argument: str) -> np.ndarray:
    """A row-major `(rows, cols)` matrix, given as that 2-D shape or flat like TensorRT's Weights."""
    arr = real_array(value, argument)
    if arr.shape == (rows, cols) or arr.shape == (rows * cols,):
        return arr.reshape(rows, cols)
    raise ValueError(
        f"{argument} has shape {arr.shape}; expected ({rows}, {cols}) or flat ({rows * cols},) "
        f"read row-major as ({rows}, {cols}), as TensorRT reads its Weights"
    )


def vector(value, size: int, argument: str) -> np.ndarray:
    arr = real_array(value, argument)
    if arr.shape != (size,):
        raise ValueError(f"{argument} has shape {arr.shape}; expected ({size},)")
    return arr


def seq_lengths(value, batch_shape: tuple, max_seq_length: int) -> np.ndarray:
    """Sequence lengths of shape `batch_shape`, whole numbers in [1, max_seq_length]."""
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"seq_lengths: expected an int32 array, got dtype {arr.dtype}")
    if arr.shape != batch_shape:
        raise ValueError(f"seq_lengths has shape {arr.shape}; expected the input's batch dims {batch_shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"seq_lengths={arr.tolist()} contains NaN or Inf; allowed: whole numbers in [1, {max_seq_length}]")
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"seq_lengths={arr.tolist()} contains fractions; allowed: whole numbers in [1, {max_seq_length}]")
    bad = (arr < 1) | (arr > max_seq_length)
    if np.any(bad):
        raise ValueError(
            f"seq_lengths={arr.tolist()}: {arr[bad].tolist()} outside [1, max_seq_length={max_seq_length}]"
            " (zero-length sequences are not supported by TensorRT)"
        )
    return arr.astype(np.int64).reshape(-1)


def state(value, batch_volume: int, state_count: int, hidden_size: int, argument: str) -> np.ndarray:
    """An initial state `(N..., L*K, H)` as `(N, L*K, H)`; any leading dims whose product is N."""
    arr = real_array(value, argument)
    if arr.ndim < 2 or arr.shape[-2:] != (state_count, hidden_size) or int(np.prod(arr.shape[:-2])) != batch_volume:
        raise ValueError(
            f"{argument} has shape {arr.shape}; expected (N..., {state_count}, {hidden_size}) with "
            f"leading dims multiplying to the batch volume {batch_volume}"
        )
    return arr.reshape(batch_volume, state_count, hidden_size)


def configuration(op, direction, input_mode):
    return (
        parse(RNNOperation, op, "op"),
        parse(RNNDirection, direction, "direction"),
        parse(RNNInputMode, input_mode, "input_mode"),
    )
