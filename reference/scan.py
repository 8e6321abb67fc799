"""The scan over time for one direction of one layer, with sequence-length masking.

A sequence of length `len` updates its state at steps `t < len` only: past its end the state is
held (so the final state is the one at step `len-1`, or the initial state for `len = 0`) and the
output is zero. Running the steps in reverse order with the same mask starts the backward direction
at position `len-1`, as TensorRT and onnxruntime do. `run_direction` adds the input projection
for all timesteps in one product, hoisted out of the time loop as every real implementation does.
"""

from __future__ import annotations

import functools

import numpy as np

from .cells import STEPS, Cell, fold_biases


def scan(step, xw, h, c, R, Rb, lengths=None, reverse=False, out=None):
    """Run `step` over `xw` `(S, N, G*H)`; return outputs `(S, N, H)` (written into `out` if given) and
    the final `(h, c)`."""
    S = xw.shape[0]
    if out is None:
        out = np.empty(xw.shape[:2] + h.shape[-1:], dtype=h.dtype)
    for t in (range(S - 1, -1, -1) if reverse else range(S)):
        h_new, c_new = step(xw[t], h, c, R, Rb)
        if lengths is None:
            h, c = h_new, c_new
            out[t] = h
        else:
            live = (t < lengths)[:, None]
            h = np.where(live, h_new, h)
            c = np.where(live, c_new, c)
            out[t] = np.where(live, h, 0.0)
    return out, h, c


def run_direction(op: str, cell: Cell, x, W, R, Wb, Rb, h0, c0, lengths=None, reverse=False, out=None):
    """One direction of one layer on `x` `(S, N, I)`: `xw = x·W^T + Wb (+ Rb)` for every timestep, then
    the scan of `op`'s step ("RNN", "GRU", "LSTM"). `W` None is TensorRT's SKIP mode (the input itself,
    once per gate). Gates are stacked in `enums.GATES` order."""
    gate_count = R.shape[0] // R.shape[1]
    input_bias, recurrent_bias = fold_biases(op, cell, Wb, Rb)
    S, N, I = x.shape
    xw = np.tile(x, gate_count) if W is None else (x.reshape(S * N, I) @ W.T).reshape(S, N, -1)
    xw += input_bias
    return scan(functools.partial(STEPS[op], cell=cell), xw, h0, c0, R, recurrent_bias, lengths, reverse, out)
