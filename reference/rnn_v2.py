"""The functional core of `IRNNv2Layer`: layers, directions, `seq_lengths` and states around the cells.

`weights` and `biases` map `(layer_index, gate, is_w)` to arrays exactly as `set_weights_for_gate`
and `set_bias_for_gate` receive them: W `(H, E)` for the first layer and `(H, K*H)` after it, R
`(H, H)`, biases `(H,)`; `layer_index = 2*layer + direction` when bidirectional. Computes in float64,
or with `dtype=np.float32` in float32 throughout: a faithful float32 implementation, whose departure
from the float64 result is the error a correct float32 engine is expected to show (`trt_cases.results.compare`).
"""

from __future__ import annotations

import functools
from typing import Mapping, NamedTuple

import numpy as np

from . import validate
from .cells import TRT_CELL, TRT_RELU, TRT_TANH, gru_step, lstm_step, rnn_step
from .enums import GATES, RNNDirection, RNNInputMode, RNNOperation
from .scan import run_direction, run_layer

# Each TensorRT operation is an ONNX operator with its cell: TensorRT's cells are the ONNX ones with
# default activations, no clip, no peepholes, and GRU's linear_before_reset=1 (`cells.Cell()`).
CELLS = {RNNOperation.RELU: ("RNN", TRT_RELU), RNNOperation.TANH: ("RNN", TRT_TANH),
         RNNOperation.LSTM: ("LSTM", TRT_CELL), RNNOperation.GRU: ("GRU", TRT_CELL)}
# step(xw_t, h, c, R, Rb) per operation, for tools that run the scan step by step (executor/trace.py)
STEPS = {RNNOperation.RELU: functools.partial(rnn_step, cell=TRT_RELU),
         RNNOperation.TANH: functools.partial(rnn_step, cell=TRT_TANH),
         RNNOperation.LSTM: lstm_step, RNNOperation.GRU: gru_step}


class LayerParameters(NamedTuple):
    """One layer index's gates stacked in `GATES[op]` order; `W` is None for a SKIP first layer."""
    W: np.ndarray | None  # (G*H, input width)
    R: np.ndarray  # (G*H, H)
    Wb: np.ndarray  # (G*H,)
    Rb: np.ndarray  # (G*H,)


def stack_parameters(weights: Mapping, biases: Mapping, *, op, layer_count, hidden_size, data_length,
                     direction, input_mode) -> list[LayerParameters]:
    """Check every gate's W, R, Wb, Rb and stack them per layer index; raise on missing or extra ones."""
    K = 2 if direction is RNNDirection.BIDIRECTION else 1
    H = hidden_size
    skip = input_mode is RNNInputMode.SKIP
    given = {}
    for kind, table in (("weights", weights), ("bias", biases)):
        for key, value in table.items():
            given[(kind,) + validate.weight_key(key, layer_count, op, direction, kind)] = value
    layers = []
    for layer_index in range(layer_count * K):
        first = layer_index < K
        stacked = {}
        for kind, is_w in (("weights", True), ("weights", False), ("bias", True), ("bias", False)):
            parts = []
            for gate in GATES[op]:
                key = (kind, layer_index, gate, is_w)
                where = f"({layer_index}, {gate.name}, {int(is_w)})"
                if kind == "weights" and is_w and first and skip:
                    if key in given:
                        raise ValueError(
                            f"weights {where} given, but input_mode=SKIP has no W for the first layer "
                            "(the input is used directly); remove it or use input_mode=LINEAR"
                        )
                    continue
                if key not in given:
                    call = "set_weights_for_gate" if kind == "weights" else "set_bias_for_gate"
                    raise ValueError(
                        f"Missing weights/bias: {where}: {call}(layer_index={layer_index}, "
                        f"gate={gate.name}, is_w={is_w}) was never given"
                    )
                argument = f"{kind} {where}"
                if kind == "bias":
                    parts.append(validate.vector(given[key], H, argument))
                else:
                    cols = (data_length if first else K * H) if is_w else H
                    parts.append(validate.matrix(given[key], H, cols, argument))
            stacked[(kind, is_w)] = np.concatenate(parts) if parts else None
        layers.append(LayerParameters(stacked[("weights", True)], stacked[("weights", False)],
                                      stacked[("bias", True)], stacked[("bias", False)]))
    return layers


def rnn_v2(x, op, layer_count, hidden_size, weights, biases, *, max_seq_length=None,
           direction="UNIDIRECTION", input_mode="LINEAR", seq_lengths=None, hidden_state=None,
           cell_state=None, dtype=np.float64):
    """Outputs of an `IRNNv2Layer` for input `x` `(N..., S, E)`: `(output, hidden)`, plus `cell` for LSTM.

    output `(N..., S, K*H)` (forward then backward halves), hidden and cell `(N..., L*K, H)`, computed
    in `dtype` (float64 or float32; values are rounded to it first).
    """
    op, direction, input_mode = validate.configuration(op, direction, input_mode)
    L = validate.positive_int(layer_count, "layer_count")
    H = validate.positive_int(hidden_size, "hidden_size")
    x = validate.real_array(x, "input")
    if x.ndim < 2 or 0 in x.shape:
        raise ValueError(f"input has shape {x.shape}; expected (N1, ..., Np, S, E) with every dim >= 1")
    *batch, S, E = x.shape
    batch = tuple(batch)
    if max_seq_length is not None and S != validate.positive_int(max_seq_length, "max_seq_length"):
        raise ValueError(f"input has sequence length S={S} (shape {x.shape}); expected max_seq_length={max_seq_length}")
    if input_mode is RNNInputMode.SKIP and E != H:
        raise ValueError(f"input_mode=SKIP requires data length E == hidden_size; got E={E}, hidden_size={H}")
    if cell_state is not None and op is not RNNOperation.LSTM:
        raise ValueError(f"cell_state is set but op={op.name}: only LSTM has a cell state")
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype={dtype}; allowed: float64, float32")
    K = 2 if direction is RNNDirection.BIDIRECTION else 1
    layers = stack_parameters(weights, biases, op=op, layer_count=L, hidden_size=H, data_length=E,
                              direction=direction, input_mode=input_mode)
    N = int(np.prod(batch, dtype=np.int64))
    lengths = None if seq_lengths is None else validate.seq_lengths(seq_lengths, batch, S)
    h0 = np.zeros((N, L * K, H)) if hidden_state is None else validate.state(hidden_state, N, L * K, H, "hidden_state")
    c0 = np.zeros((N, L * K, H)) if cell_state is None else validate.state(cell_state, N, L * K, H, "cell_state")

    if dtype != np.float64:
        layers = [LayerParameters(*(None if v is None else v.astype(dtype) for v in p)) for p in layers]
        x, h0, c0 = x.astype(dtype), h0.astype(dtype), c0.astype(dtype)
    with np.errstate(all="ignore"):  # NaN and Inf in data propagate as arithmetic does
        output, hidden, cell = _run(op, x.reshape(N, S, E).transpose(1, 0, 2), layers, h0, c0, lengths, K)
    outputs = (output.reshape(batch + (S, K * H)), hidden.reshape(batch + (L * K, H)))
    if op is RNNOperation.LSTM:
        outputs += (cell.reshape(batch + (L * K, H)),)
    return outputs


def _run(op, x, layers, h0, c0, lengths, K):
    """Stack the layers; `x` is `(S, N, E)` (a view of the batch-major input). Returns output `(N, S, K*H)`
    (batch-major, as TensorRT lays it out) and the final states. The scan is feature-major (`scan`): the input
    is copied once to `(E, S, N)` and each layer's output is stored `(K*H, S, N)`, which is the next layer's
    input as it is; the last one is turned batch-major once."""
    onnx_op, cell_kind = CELLS[op]
    hidden, cell = np.empty_like(h0), np.empty_like(c0)
    S, N, H = x.shape[0], x.shape[1], h0.shape[-1]
    x = np.ascontiguousarray(x.transpose(2, 0, 1))  # (E, S, N)
    for layer in range(len(layers) // K):
        output = np.empty((K * H, S, N), dtype=h0.dtype)
        directions = [functools.partial(run_direction, onnx_op, cell_kind, x.transpose(1, 0, 2), *layers[K * layer + d],
                                        h0[:, K * layer + d].T, c0[:, K * layer + d].T, lengths, reverse=d == 1,
                                        out=output[d * H:(d + 1) * H].transpose(1, 0, 2)) for d in range(K)]
        for d, (_, h, c) in enumerate(run_layer(directions, S * N * layers[0].R.shape[0])):
            hidden[:, K * layer + d], cell[:, K * layer + d] = h.T, c.T
        x = output
    return np.ascontiguousarray(x.transpose(2, 1, 0)), hidden, cell
