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

from .cells import STEPS, Cell


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


def run_direction(op: str, cell: Cell, x, W, R, Wb, Rb, h0, c0, lengths=None, reverse=False, out=None,
                  projection=None):
    """One direction of one layer on `x` `(S, N, I)`: `xw = x·W^T` for every timestep, then the scan of
    `op`'s step ("RNN", "GRU", "LSTM"), which adds `H·R^T` and the biases. `W` None is TensorRT's SKIP mode
    (the input itself, once per gate). Gates are stacked in `enums.GATES` order. `projection`, a flat buffer
    of S*N*G*H values, holds `xw` if given (a caller running several directions reuses one: a fresh 64 MB
    array costs more in page faults than the additions over it).

    `input_contribution` splits the biases between `xw` and the step; `trt_cases.executor.trace` calls it
    too, so its steps see the same numbers to the bit."""
    xw, b = input_contribution(op, x, W, R, Wb, Rb, projection)
    work = np.empty((2, R.shape[0] // R.shape[1], x.shape[1], R.shape[1]), dtype=xw.dtype)  # (2, G, N, H)
    step = functools.partial(STEPS[op], cell=cell, work=work)
    return scan(step, xw, h0, c0, R, b, lengths, reverse, out)


def input_contribution(op: str, x, W, R, Wb, Rb, projection=None):
    """`(xw, b)` for the scan: `xw = x·W^T` for every timestep (W None: SKIP, the input once per gate) and
    the bias `b` the step adds as its Rb. RNN and LSTM add both biases linearly: b = Wb + Rb, which the
    step adds to its `(N, G*H)` block while it is in cache (an addition over the whole S*N*G*H projection
    streams it through memory once more: 2-8% of the LSTM benchmark). GRU: Wb joins `xw` and b = Rb, as
    with linear_before_reset=1 its hidden part is multiplied by r."""
    xw = np.tile(x, R.shape[0] // R.shape[1]) if W is None else project(x, W, projection)
    if op == "GRU":
        xw += Wb
        return xw, Rb
    return xw, Wb if Rb is None else Wb + Rb


def project(x, W, out=None):
    """`x·W^T` for `x` `(S, N, I)` as one matrix product, in the order x is stored in (time-major, or a
    batch-major array seen through a transposed view, which stays batch-major underneath); into the
    flat buffer `out` if given."""
    S, N, I = x.shape
    G = W.shape[0]
    batch_major = x.transpose(1, 0, 2)
    if batch_major.flags.c_contiguous:
        product = np.matmul(batch_major.reshape(N * S, I), W.T, out=None if out is None else out.reshape(N * S, G))
        return product.reshape(N, S, G).transpose(1, 0, 2)
    product = np.matmul(x.reshape(S * N, I), W.T, out=None if out is None else out.reshape(S * N, G))
    return product.reshape(S, N, G)
