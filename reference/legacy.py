"""`RNN`: the legacy `IRNNLayer` (`add_rnn`) with its flat weight and bias buffers.

Input is sequence-major `(S, N, E)`; outputs are `(S, N, K*H)` and states `(L*K, N, H)`. Per layer
index (`l = 2*layer + direction` when bidirectional) the buffer holds the row-major matrices
`G(op, l)` from `NvInfer.h`: LSTM `[W_f, W_i, W_c, W_o, R_f, R_i, R_c, R_o]`, GRU
`[W_z, W_r, W_h, R_z, R_r, R_h]`, RELU/TANH `[W_i, R_i]`; SKIP leaves the first layer's W out.
Biases follow the same order, every one of size H.
"""

from __future__ import annotations

import numpy as np

from .enums import RNNDirection, RNNGateType, RNNInputMode, RNNOperation
from .rnn_v2 import rnn_v2
from .validate import configuration, positive_int, real_array

G = RNNGateType
LEGACY_ORDER = {
    RNNOperation.RELU: (G.INPUT,),
    RNNOperation.TANH: (G.INPUT,),
    RNNOperation.LSTM: (G.FORGET, G.INPUT, G.CELL, G.OUTPUT),
    RNNOperation.GRU: (G.UPDATE, G.RESET, G.HIDDEN),
}


def buffer_layout(op, layer_count, hidden_size, data_length, direction, input_mode):
    """`[(kind, layer_index, gate, is_w, (rows, cols))]` in buffer order; kind is 'weights' or 'bias'."""
    op, direction, input_mode = configuration(op, direction, input_mode)
    K = 2 if direction is RNNDirection.BIDIRECTION else 1
    H = hidden_size
    layout = []
    for kind in ("weights", "bias"):
        for index in range(layer_count * K):
            for is_w in (True, False):
                for gate in LEGACY_ORDER[op]:
                    if kind == "bias":
                        layout.append((kind, index, gate, is_w, (H,)))
                    elif is_w and index < K and input_mode is RNNInputMode.SKIP:
                        continue
                    else:
                        cols = (data_length if index < K else K * H) if is_w else H
                        layout.append((kind, index, gate, is_w, (H, cols)))
    return layout


def unpack(weights, bias, layout):
    """Split the flat buffers into `{(layer_index, gate, is_w): array}` dicts for `rnn_v2`."""
    tables = {"weights": {}, "bias": {}}
    for kind, value in (("weights", weights), ("bias", bias)):
        flat = real_array(value, kind).reshape(-1)
        entries = [entry for entry in layout if entry[0] == kind]
        needed = sum(int(np.prod(shape)) for *_, shape in entries)
        if flat.size != needed:
            raise ValueError(
                f"{kind} has {flat.size} values; this configuration needs exactly {needed} "
                f"(matrices in NvInfer.h order, see reference.legacy.buffer_layout)"
            )
        offset = 0
        for _, index, gate, is_w, shape in entries:
            size = int(np.prod(shape))
            tables[kind][(index, gate, is_w)] = flat[offset:offset + size].reshape(shape)
            offset += size
    return tables["weights"], tables["bias"]


def pack(weights, biases, layout):
    """The flat `(weights, bias)` buffers of per-gate dicts: the inverse of `unpack`."""
    tables = {"weights": weights, "bias": biases}
    flat = {"weights": [], "bias": []}
    for kind, index, gate, is_w, shape in layout:
        flat[kind].append(np.asarray(tables[kind][(index, gate, is_w)], dtype=np.float64).reshape(-1))
    return np.concatenate(flat["weights"]), np.concatenate(flat["bias"])


class RNN:
    """An `IRNNLayer` computed by the NumPy reference in float64."""

    def __init__(self, layer_count, hidden_size, max_seq_length, op, mode, direction, weights, bias):
        self.layer_count = positive_int(layer_count, "layer_count")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.seq_length = positive_int(max_seq_length, "max_seq_length")
        self.op, self.direction, self.input_mode = configuration(op, direction, mode)
        self.weights = weights
        self.bias = bias
        self.hidden_state = None
        self.cell_state = None

    def forward(self, x):
        """Outputs for `x` `(S, N, E)`: `(output, hidden)`, plus `cell` for LSTM."""
        x = real_array(x, "input")
        if x.ndim != 3:
            raise ValueError(f"input has shape {x.shape}; the legacy RNN layer takes (S, N, E)")
        S, N, E = x.shape
        K = 2 if self.direction is RNNDirection.BIDIRECTION else 1
        count = self.layer_count * K
        layout = buffer_layout(self.op, self.layer_count, self.hidden_size, E, self.direction, self.input_mode)
        weights, biases = unpack(self.weights, self.bias, layout)
        states = {}
        for name in ("hidden_state", "cell_state"):
            value = getattr(self, name)
            if value is not None:  # legacy layout (L*K, N, H) -> (N, L*K, H)
                arr = real_array(value, name)
                if arr.shape != (count, N, self.hidden_size):
                    raise ValueError(f"{name} has shape {arr.shape}; the legacy layer expects (L*K, N, H) = {(count, N, self.hidden_size)}")
                states[name] = arr.transpose(1, 0, 2)
        outputs = rnn_v2(x.transpose(1, 0, 2), self.op, self.layer_count, self.hidden_size, weights, biases,
                         max_seq_length=self.seq_length, direction=self.direction,
                         input_mode=self.input_mode, **states)
        return (outputs[0].transpose(1, 0, 2),) + tuple(o.transpose(1, 0, 2) for o in outputs[1:])

    __call__ = forward
