"""One time step of each recurrent cell, written like the equations of the ONNX RNN, GRU and LSTM operators.

TensorRT's `IRNNv2Layer` cells are the special case `Cell()` of these: default activations (f=Sigmoid,
g=Tanh, h=Tanh; Relu or Tanh for the plain RNN), no clip, no peepholes, no input-forget coupling and
GRU's `linear_before_reset=1`. `rnn_v2` and `onnx_rnn` both run these steps; only their plumbing differs.

Every step works feature-major: states `h` and `c` are `(H, N)` (hidden unit by batch row), `xw` is
the input contribution `W·x[t] + b` of all the operation's gates stacked along the first axis in
`enums.GATES` order (LSTM INPUT, FORGET, CELL, OUTPUT; GRU UPDATE, RESET, HIDDEN), `(G*H, N)`; the
recurrent weights `R` `(G*H, H)` multiply from the left (`R·h`), and the recurrent bias `Rb` is `(G*H, N)`
(repeated along N, so that adding it is one contiguous pass) or None. So every gate's block of the
pre-activations is a contiguous `(H, N)` block: NumPy's elementwise calls run 3-4x faster on contiguous
operands of one layout than on column slices or transposed views. A step returns new `(h, c)` arrays (it
never writes into `h` or `c`); `c` passes through for the cells that have none.

An activation may work in place on its argument and returns the result: a step hands it only
arrays of its own (gate blocks of this step's pre-activations, or a copy of the cell state).
`work`, when given, is a `(2, G, H, N)` buffer the step computes in (the scan hands one buffer to every
step): `R·h` in `work[1]`, the pre-activations gate by gate in `work[0]`; what a step returns never lives
in it. `out`, when given, is a pair of `(H, N)` arrays the new `h` and `c` are written into (neither is
`h` or `c`; `c` only where the cell has one): the scan hands a slot of the output sequence and one of two
alternating cell-state buffers, so that a step allocates nothing. Without them a step returns fresh arrays.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


def sigmoid(v: np.ndarray) -> np.ndarray:
    """Logistic function 1/(1+e^-v), in place; exp overflow for very negative inputs gives exactly 0."""
    with np.errstate(over="ignore"):
        np.negative(v, out=v)
        np.exp(v, out=v)
    v += 1.0
    return np.divide(1.0, v, out=v)  # np.reciprocal is slower here


def tanh(v: np.ndarray) -> np.ndarray:
    """tanh, in place. In float64 as 1 - 2/(1 + e^2v), within 3.4e-16 of NumPy's tanh (1.5 ulp of 1) and
    twice as fast where NumPy's float64 tanh has no SIMD loop (AVX2: it is the LSTM step's costliest call)."""
    if v.dtype != np.float64:
        return np.tanh(v, out=v)
    with np.errstate(over="ignore"):
        np.multiply(v, 2.0, out=v)
        np.exp(v, out=v)
    v += 1.0
    np.divide(-2.0, v, out=v)
    v += 1.0
    return v


def relu(v: np.ndarray) -> np.ndarray:
    return np.maximum(v, 0.0, out=v)


# The ONNX activation functions (RNN operator text), f(v, alpha, beta). Sigmoid, Tanh and Relu call the
# module-level functions above at call time, so that a tool may substitute an emulated one.
ACTIVATIONS: dict[str, Callable] = {
    "Relu": lambda v, alpha, beta: relu(v),
    "Tanh": lambda v, alpha, beta: tanh(v),
    "Sigmoid": lambda v, alpha, beta: sigmoid(v),
    "Affine": lambda v, alpha, beta: alpha * v + beta,
    "LeakyRelu": lambda v, alpha, beta: np.where(v >= 0, v, alpha * v),
    "ThresholdedRelu": lambda v, alpha, beta: np.where(v > alpha, v, 0.0),
    "ScaledTanh": lambda v, alpha, beta: alpha * np.tanh(beta * v),
    "HardSigmoid": lambda v, alpha, beta: np.clip(alpha * v + beta, 0.0, 1.0),
    "Elu": lambda v, alpha, beta: np.where(v >= 0, v, alpha * np.expm1(np.minimum(v, 0.0))),
    "Softsign": lambda v, alpha, beta: v / (1.0 + np.abs(v)),
    "Softplus": lambda v, alpha, beta: np.logaddexp(0.0, v),
}


@dataclasses.dataclass(frozen=True)
class Activation:
    """One ONNX activation function with its alpha and beta (None where the function takes none)."""
    name: str
    alpha: float | None = None
    beta: float | None = None

    def __call__(self, v: np.ndarray) -> np.ndarray:
        return ACTIVATIONS[self.name](v, self.alpha, self.beta)


SIGMOID, TANH, RELU = Activation("Sigmoid"), Activation("Tanh"), Activation("Relu")


@dataclasses.dataclass(frozen=True, eq=False)
class Cell:
    """What one direction's cell computes beyond its weights. `Cell()` is TensorRT's cell.

    f, g, h: the ONNX activation functions (RNN uses f alone: ONNX calls it f as well); `clip`: the
    ONNX cell clip threshold, applied to the input of f and g, and also to the cell state where it
    enters h when `clip_cell_state` (the ONNX wording's literal reading); `P`: LSTM peepholes
    `(Pi, Po, Pf)`; `input_forget`: LSTM's coupled forget gate f = 1 - i; `linear_before_reset`: GRU.
    """
    f: Activation = SIGMOID
    g: Activation = TANH
    h: Activation = TANH
    clip: float | None = None
    clip_cell_state: bool = False
    P: tuple | None = None
    input_forget: bool = False
    linear_before_reset: bool = True

    def clipped(self, v: np.ndarray) -> np.ndarray:
        return v if self.clip is None else np.clip(v, -self.clip, self.clip, out=v)


TRT_RELU, TRT_TANH, TRT_CELL = Cell(f=RELU), Cell(f=TANH), Cell()


def rnn_step(xw, h, c, R, Rb, cell=TRT_TANH, work=None, out=None):
    """RNN: Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)."""
    a = pre_activations(xw, h, R, Rb, work)[0]
    h_new = cell.f(cell.clipped(a))
    if out is not None:
        return np.positive(h_new, out=out[0]), c
    return (h_new.copy() if work is not None and np.shares_memory(h_new, work) else h_new), c


def lstm_step(xw, h, c, R, Rb, cell=TRT_CELL, work=None, out=None):
    """LSTM: it = f(.. + Pi (.) Ct-1), ft = f(.. + Pf (.) Ct-1), ct = g(..), Ct = ft (.) Ct-1 + it (.) ct,
    ot = f(.. + Po (.) Ct), Ht = ot (.) h(Ct); with input_forget, ft = 1 - it."""
    a = pre_activations(xw, h, R, Rb, work)
    a_i, a_f, a_c, a_o = a  # INPUT, FORGET, CELL, OUTPUT
    if cell.P is not None:
        Pi, Po, Pf = cell.P
        a_i += Pi[:, None] * c
        a_f += Pf[:, None] * c
    if cell.input_forget:
        i = cell.f(cell.clipped(a_i))
        f = 1.0 - i
    else:  # INPUT and FORGET are adjacent: one call of f for both
        i, f = cell.f(cell.clipped(a[:2]))
    c_tilde = cell.g(cell.clipped(a_c))
    c_new = np.multiply(f, c, out=None if out is None else out[1])
    i *= c_tilde  # i, like c_tilde, is this step's own: a block of the pre-activations or a fresh array
    c_new += i
    if cell.P is not None:
        a_o += Po[:, None] * c_new
    o = cell.f(cell.clipped(a_o))
    # h(C) works on a copy of C, in work[1] (R·h is spent by now; a ufunc with out= copies far faster here
    # than an assignment or a fresh array)
    state = None if work is None else work[1, 0]
    if cell.clip_cell_state and cell.clip is not None:
        state = np.clip(c_new, -cell.clip, cell.clip, out=state)
    else:
        state = np.positive(c_new, out=state)
    h_new = cell.h(state)
    return np.multiply(o, h_new, out=None if out is None else out[0]), c_new


def gru_step(xw, h, c, R, Rb, cell=TRT_CELL, work=None, out=None):
    """GRU: zt = f(..), rt = f(..); ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh) when
    linear_before_reset=0, ht = g(Xt*(Wh^T) + (rt (.) (Ht-1*(Rh^T) + Rbh)) + Wbh) when 1 (TensorRT's);
    Ht = (1 - zt) (.) ht + zt (.) Ht-1."""
    H = h.shape[0]
    xw_gates = by_gate(xw, 3)  # UPDATE, RESET, HIDDEN
    if cell.linear_before_reset:
        hr = np.matmul(R, h, out=None if work is None else work[1].reshape(R.shape[0], -1))
        if Rb is not None:
            hr += Rb
        hr = by_gate(hr, 3)
        a_zr = np.add(hr[:2], xw_gates[:2], out=None if work is None else work[0, :2])
    else:
        a_zr = pre_activations(xw[:2 * H], h, R[:2 * H], None if Rb is None else Rb[:2 * H],
                               None if work is None else work[:, :2])
    z, r = cell.f(cell.clipped(a_zr))  # UPDATE and RESET: one call of f for both
    if cell.linear_before_reset:
        a_h = r * hr[2]
    else:
        a_h = R[2 * H:] @ (r * h)
        if Rb is not None:
            a_h += Rb[2 * H:]
    a_h += xw_gates[2]
    h_tilde = cell.g(cell.clipped(a_h))
    h_new = np.multiply(z, h, out=None if out is None else out[0])
    h_tilde *= np.subtract(1.0, z, out=z)
    h_new += h_tilde
    return h_new, c


def pre_activations(xw, h, R, Rb, work=None):
    """xw + R·h (+ Rb) gate by gate: `(G, H, N)`, in `work` (see above) or fresh arrays; the step may
    overwrite it. R·h is one `(G*H, H)·(H, N)` product; R's gate blocks are its row blocks, so the product,
    xw and Rb all lay the gates out as contiguous `(H, N)` blocks and the additions are contiguous passes."""
    G = R.shape[0] // R.shape[1]
    product = np.matmul(R, h, out=None if work is None else work[1].reshape(R.shape[0], -1))
    a = np.add(product, xw, out=None if work is None else work[0].reshape(R.shape[0], -1))
    if Rb is not None:
        a += Rb
    return by_gate(a, G)


def by_gate(v, G):
    """`v` `(G*H, N)`, gates stacked along the first axis, seen as `(G, H, N)` (a view)."""
    return v.reshape(G, -1, v.shape[-1])


STEPS = {"RNN": rnn_step, "GRU": gru_step, "LSTM": lstm_step}
