"""The scan over time for one direction of one layer, with `seq_lengths` masking.

A sequence of length `len` updates its state at steps `t < len` only: past its end the state is
held (so the final state is the one at step `len-1`) and the output is zero. Running the steps in
reverse order with the same mask starts the backward direction at position `len-1`, as TensorRT does.
"""

from __future__ import annotations

import numpy as np


def scan(step, xw, h, c, R, Rb, lengths=None, reverse=False):
    """Run `step` over `xw` `(S, N, G*H)`; return outputs `(S, N, H)` and the final `(h, c)`."""
    S = xw.shape[0]
    out = np.zeros(xw.shape[:2] + h.shape[-1:], dtype=h.dtype)
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
