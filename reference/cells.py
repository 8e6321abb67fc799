"""One time step of each TensorRT RNN cell, written like the equations in `NvInfer.h`.

Every step takes `xw`, the input contribution `W·x[t] + Wb` of all the operation's gates stacked
along the last axis (in `enums.GATES` order), the previous states `h` and `c`, and the recurrent
weights `R` (`(G*H, H)`) and bias `Rb` (`(G*H,)`). It returns the new `(h, c)`; `c` passes through
unchanged for the cells that have none. The input projection is hoisted out of the time loop by
the caller, as every real implementation does; the arithmetic is the same.
"""

from __future__ import annotations

import numpy as np


def sigmoid(v: np.ndarray) -> np.ndarray:
    """Logistic function; exp overflow for very negative inputs gives exactly 0, not a warning."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def relu_step(xw, h, c, R, Rb):
    """kRELU: H[t] = ReLU(W[i]·X[t] + R[i]·H[t-1] + Wb[i] + Rb[i])."""
    return np.maximum(xw + h @ R.T + Rb, 0.0), c


def tanh_step(xw, h, c, R, Rb):
    """kTANH: H[t] = tanh(W[i]·X[t] + R[i]·H[t-1] + Wb[i] + Rb[i])."""
    return np.tanh(xw + h @ R.T + Rb), c


def lstm_step(xw, h, c, R, Rb):
    """kLSTM (no peepholes): i, f, o = sigmoid(.), c~ = tanh(.); C = f*C + i*c~; H = o*tanh(C)."""
    i, f, g, o = np.split(xw + h @ R.T + Rb, 4, axis=-1)  # INPUT, FORGET, CELL, OUTPUT
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_step(xw, h, c, R, Rb):
    """kGRU: z, r = sigmoid(.); h~ = tanh(W[h]·X + r*(R[h]·H + Rb[h]) + Wb[h]); H = (1-z)*h~ + z*H."""
    xz, xr, xh = np.split(xw, 3, axis=-1)  # UPDATE, RESET, HIDDEN
    hz, hr, hh = np.split(h @ R.T + Rb, 3, axis=-1)
    z = sigmoid(xz + hz)
    r = sigmoid(xr + hr)
    h_tilde = np.tanh(xh + r * hh)
    return (1.0 - z) * h_tilde + z * h, c
