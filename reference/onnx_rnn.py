"""`onnx_rnn`: the ONNX RNN, GRU and LSTM operators (opset 14 and 22) in float64, on the same cells and scan
as `rnn_v2`. The argument reading (attribute defaults, activation lists) lives in `onnx_attributes`."""

from __future__ import annotations

import functools

import numpy as np

from .cells import Cell
from .onnx_attributes import GATE_COUNT, activation_functions, check_attributes, check_inputs
from .scan import run_direction, run_layer

# ONNX stacks the LSTM gates i, o, f, c; the core (enums.GATES) runs i, f, c, o. GRU (z, r, h) and RNN agree.
TO_CORE_ORDER = {"RNN": (0,), "GRU": (0, 1, 2), "LSTM": (0, 2, 3, 1)}


def onnx_rnn(op, X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *,
             hidden_size=None, direction="forward", layout=0, activations=None, activation_alpha=None,
             activation_beta=None, clip=None, input_forget=0, linear_before_reset=0,
             clip_reading="wording", dtype=np.float64):
    """op in ("RNN", "GRU", "LSTM"); arrays and attributes exactly as the ONNX operator takes them
    (ONNX shapes, gate orders: LSTM iofc, GRU zrh; B is [Wb, Rb] concatenated; P is [Pi, Po, Pf]).
    Returns (Y, Y_h) for RNN/GRU, (Y, Y_h, Y_c) for LSTM, in ONNX layout (layout=0: Y (S, D, N, H),
    Y_h (D, N, H); layout=1: Y (N, S, D, H), Y_h (N, D, H)), as float64 (or computed in float32 with dtype=np.float32).

    Readings where the ONNX text leaves room (onnxruntime 1.32 checked by experiment, tests/test_reference_onnx*.py):
    - `activations`: names in any case (onnxruntime's LSTM and GRU lower-case them; its RNN kernel takes
      only the exact spelling). One function per direction for RNN (f), two for GRU (f, g), three for
      LSTM (f, g, h); bidirectional lists the forward functions, then the reverse ones. Defaults: RNN
      Tanh; GRU Sigmoid, Tanh; LSTM Sigmoid, Tanh, Tanh.
    - `activation_alpha`/`activation_beta` are consumed in the order of the activation functions by
      the functions that take one, as onnxruntime reads them: alpha by Affine, LeakyRelu, ThresholdedRelu,
      ScaledTanh, HardSigmoid, Elu; beta by Affine, ScaledTanh, HardSigmoid. So `activations=["Tanh",
      "LeakyRelu"], activation_alpha=[0.3]` gives LeakyRelu alpha 0.3. A function past the end of a
      list takes its default, the ONNX operator's of the same name: Affine 1.0, 0.0; LeakyRelu 0.01;
      ThresholdedRelu 1.0; HardSigmoid 0.2, 0.5; Elu 1.0. ScaledTanh has none in ONNX: it needs both
      values. onnxruntime uses 0 for Affine's, ThresholdedRelu's and ScaledTanh's missing values (a
      disagreement with the ONNX text; its LeakyRelu, HardSigmoid and Elu defaults agree). Values left
      over after every function took its own are an error.
    - `clip` (> 0) clips the input of the activations. `clip_reading="wording"` (default) reads the
      text literally: every activation input, including the LSTM cell state where it enters h(C) (the
      state itself is kept, and output as Y_c, unclipped), as TensorRT does. `clip_reading="gates"`:
      only the gate pre-activations (f and g inputs), not C before h: onnxruntime's reading.
    - `sequence_lens` in [0, S]: past a length, Y is zero and the state held; the final state is the one
      at step len-1 (the reverse direction starts at len-1). A length 0 gives Y zero and the initial
      state as Y_h/Y_c; onnxruntime gives zeros there instead.
    - `input_forget=1` (LSTM): f = 1 - i, the forget gate's weights unused (onnxruntime's reading).
    - `hidden_size` may be left out; it is R's last dimension. Missing B, initial_h, initial_c, P are zeros.
    Bad input (an attribute value ONNX does not define, shapes contradicting the attributes, an
    attribute the operator does not have) raises ValueError or TypeError naming it.
    """
    op, D, reverse_only, layout, clip, clip_reading, dtype = check_attributes(
        op, direction, layout, clip, clip_reading, input_forget, linear_before_reset, dtype)
    functions = activation_functions(op, D, activations, activation_alpha, activation_beta)
    X, W, R, B, lengths, initial_h, initial_c, P, H = check_inputs(
        op, D, layout, hidden_size, X, W, R, B, sequence_lens, initial_h, initial_c, P)
    if layout == 1:  # (N, S, I) and (N, D, H) to ONNX's default layout
        X = X.transpose(1, 0, 2)
        initial_h, initial_c = (None if v is None else v.transpose(1, 0, 2) for v in (initial_h, initial_c))
    S, N, _ = X.shape
    G = GATE_COUNT[op]
    order = np.concatenate([np.arange(k * H, (k + 1) * H) for k in TO_CORE_ORDER[op]])
    zeros = np.zeros((D, N, H))
    h0 = zeros if initial_h is None else initial_h
    c0 = zeros if initial_c is None else initial_c
    B = np.zeros((D, 2 * G * H)) if B is None else B
    X, W, R, B, h0, c0 = (v.astype(dtype) for v in (X, W, R, B, h0, c0))
    if P is not None:
        P = P.astype(dtype)

    Y_h, Y_c = np.empty((D, N, H), dtype=dtype), np.empty((D, N, H), dtype=dtype)
    features = np.ascontiguousarray(X.transpose(2, 0, 1)).transpose(1, 0, 2)  # (S, I, N) view of (I, S, N): `scan`
    sequences = np.empty((D, H, S, N), dtype=dtype)  # feature-major, as `scan` writes it
    directions = []
    for d in range(D):
        f, g, h = (functions[d] + (None, None))[:3]
        cell = Cell(f=f, g=g or Cell.g, h=h or Cell.h, clip=clip,
                    clip_cell_state=clip_reading == "wording",
                    P=None if P is None else tuple(np.split(P[d], 3)),
                    input_forget=bool(input_forget), linear_before_reset=bool(linear_before_reset))
        directions.append(functools.partial(
            run_direction, op, cell, features, W[d][order], R[d][order], B[d][:G * H][order], B[d][G * H:][order],
            h0[d].T, c0[d].T, lengths, reverse=reverse_only or d == 1, out=sequences[d].transpose(1, 0, 2)))
    with np.errstate(all="ignore"):  # NaN and Inf in data propagate as arithmetic does
        for d, (_, state_h, state_c) in enumerate(run_layer(directions, S * G * H * N)):
            Y_h[d], Y_c[d] = state_h.T, state_c.T
    Y = np.ascontiguousarray(sequences.transpose(2, 0, 3, 1))
    if layout == 1:
        Y, Y_h, Y_c = Y.transpose(2, 0, 1, 3), Y_h.transpose(1, 0, 2), Y_c.transpose(1, 0, 2)
    return (Y, Y_h, Y_c) if op == "LSTM" else (Y, Y_h)
