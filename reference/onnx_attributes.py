"""Reading and checking the ONNX RNN, GRU and LSTM operators' attributes and inputs for `onnx_rnn`.

Every error names the attribute or input, the value given and what ONNX allows (the reading where
the text leaves room is documented in `onnx_rnn.onnx_rnn`).
"""

from __future__ import annotations

import numbers

import numpy as np

from .cells import ACTIVATIONS, Activation

OPS = ("RNN", "GRU", "LSTM")
GATE_COUNT = {"RNN": 1, "GRU": 3, "LSTM": 4}
DIRECTIONS = ("forward", "reverse", "bidirectional")
DEFAULT_ACTIVATIONS = {"RNN": ("Tanh",), "GRU": ("Sigmoid", "Tanh"), "LSTM": ("Sigmoid", "Tanh", "Tanh")}
FUNCTION_NAMES = {"RNN": "f", "GRU": "f, g", "LSTM": "f, g, h"}
# (takes alpha, takes beta) and the ONNX defaults (those of the ONNX operator of the same name)
PARAMETERS = {"Affine": (True, True), "LeakyRelu": (True, False), "ThresholdedRelu": (True, False),
              "ScaledTanh": (True, True), "HardSigmoid": (True, True), "Elu": (True, False)}
DEFAULTS = {"Affine": (1.0, 0.0), "LeakyRelu": (0.01, None), "ThresholdedRelu": (1.0, None),
            "ScaledTanh": (None, None), "HardSigmoid": (0.2, 0.5), "Elu": (1.0, None)}
CANONICAL = {name.lower(): name for name in ACTIVATIONS}


def check_attributes(op, direction, layout, clip, clip_reading, input_forget, linear_before_reset, dtype):
    if op not in OPS:
        raise ValueError(f"op={op!r}; allowed: 'RNN', 'GRU', 'LSTM'")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}; allowed: 'forward', 'reverse', 'bidirectional'")
    D = 2 if direction == "bidirectional" else 1
    layout = _flag(layout, "layout")
    input_forget = _flag(input_forget, "input_forget")
    linear_before_reset = _flag(linear_before_reset, "linear_before_reset")
    if input_forget and op != "LSTM":
        raise ValueError(f"input_forget={input_forget} given to {op}: only LSTM has input_forget")
    if linear_before_reset and op != "GRU":
        raise ValueError(f"linear_before_reset={linear_before_reset} given to {op}: only GRU has linear_before_reset")
    if clip is not None:
        if isinstance(clip, bool) or not isinstance(clip, numbers.Real):
            raise TypeError(f"clip={clip!r}: expected a float > 0 (the cell clip threshold) or None")
        if not clip > 0 or not np.isfinite(clip):
            raise ValueError(f"clip={clip!r}: the cell clip threshold must be a finite float > 0 (or None: no clip)")
        clip = float(clip)
    if clip_reading not in ("wording", "gates"):
        raise ValueError(f"clip_reading={clip_reading!r}; allowed: 'wording' (every activation input, C before h "
                         "included), 'gates' (gate pre-activations only, onnxruntime's reading)")
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype={dtype}; allowed: float64, float32")
    return op, D, direction == "reverse", layout, clip, clip_reading, dtype


def _flag(value, attribute):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value not in (0, 1):
        raise ValueError(f"{attribute}={value!r}; allowed: 0, 1")
    return int(value)


def activation_functions(op, D, activations, alphas, betas) -> list[tuple[Activation, ...]]:
    """Per direction, the op's functions (f,), (f, g) or (f, g, h) with their alpha and beta."""
    count = len(DEFAULT_ACTIVATIONS[op])
    if activations is None:
        names = list(DEFAULT_ACTIVATIONS[op]) * D
    else:
        if isinstance(activations, str) or not all(isinstance(a, str) for a in activations):
            raise TypeError(f"activations={activations!r}: expected a list of activation names (strings)")
        names = list(activations)
        if len(names) != count * D:
            raise ValueError(
                f"activations={names!r} has {len(names)} function(s); {op} {'bidirectional' if D == 2 else ''} "
                f"takes {count * D}: {FUNCTION_NAMES[op]}{' for forward, then for reverse' if D == 2 else ''}"
                .replace("  ", " "))
    alphas, betas = _floats(alphas, "activation_alpha"), _floats(betas, "activation_beta")
    functions = []
    for name in names:
        canonical = CANONICAL.get(name.lower())
        if canonical is None:
            raise ValueError(f"activations: {name!r} is not an ONNX activation function; allowed (any case): "
                             f"{', '.join(ACTIVATIONS)}")
        takes_alpha, takes_beta = PARAMETERS.get(canonical, (False, False))
        alpha, beta = DEFAULTS.get(canonical, (None, None))
        if takes_alpha and alphas:
            alpha = alphas.pop(0)
        if takes_beta and betas:
            beta = betas.pop(0)
        if (takes_alpha and alpha is None) or (takes_beta and beta is None):
            raise ValueError(f"activations: {name!r} needs activation_alpha and activation_beta values (ONNX gives "
                             "ScaledTanh no default; they are consumed in the order of the functions that take them)")
        functions.append(Activation(canonical, alpha, beta))
    for left, attribute in ((alphas, "activation_alpha"), (betas, "activation_beta")):
        if left:
            raise ValueError(f"{attribute} has {len(left)} value(s) left over ({left}) after every function in "
                             f"activations={names!r} took its own; values are consumed in order by the functions "
                             "that take one")
    return [tuple(functions[d * count:(d + 1) * count]) for d in range(D)]


def _floats(values, attribute) -> list[float]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{attribute}={values!r}: expected a list of floats")
    values = list(values)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{attribute}={values!r}: expected a list of floats")
    return [float(v) for v in values]


def check_inputs(op, D, layout, hidden_size, X, W, R, B, sequence_lens, initial_h, initial_c, P):
    """The inputs as float64 arrays (sequence_lens as int64), their shapes checked against each other."""
    G = GATE_COUNT[op]
    X, W, R = _real(X, "X"), _real(W, "W"), _real(R, "R")
    if X.ndim != 3 or 0 in X.shape:
        raise ValueError(f"X has shape {X.shape}; expected {'(S, N, I)' if layout == 0 else '(N, S, I)'} "
                         f"(layout={layout}) with every dim >= 1")
    S, N, I = X.shape if layout == 0 else (X.shape[1], X.shape[0], X.shape[2])
    if R.ndim != 3 or R.shape[0] != D or R.shape[2] < 1 or R.shape[1] != G * R.shape[2]:
        raise ValueError(f"R has shape {R.shape}; expected (num_directions={D}, {G}*hidden_size, hidden_size) for {op}")
    H = R.shape[2]
    if hidden_size is not None:
        if isinstance(hidden_size, bool) or not isinstance(hidden_size, numbers.Integral) or hidden_size < 1:
            raise ValueError(f"hidden_size={hidden_size!r}; expected an int >= 1")
        if hidden_size != H:
            raise ValueError(f"hidden_size={hidden_size} disagrees with R of shape {R.shape} (hidden_size {H})")
    if W.shape != (D, G * H, I):
        raise ValueError(f"W has shape {W.shape}; expected (num_directions, {G}*hidden_size, input_size) = {(D, G * H, I)}")
    if B is not None:
        B = _real(B, "B")
        if B.shape != (D, 2 * G * H):
            raise ValueError(f"B has shape {B.shape}; expected (num_directions, {2 * G}*hidden_size) = {(D, 2 * G * H)}")
    lengths = None if sequence_lens is None else _lengths(sequence_lens, N, S)
    state_shape = (D, N, H) if layout == 0 else (N, D, H)
    where = "(num_directions, N, hidden_size)" if layout == 0 else "(N, num_directions, hidden_size)"
    if initial_c is not None and op != "LSTM":
        raise ValueError(f"initial_c given to {op}: only LSTM has a cell state")
    states = []
    for name, state in (("initial_h", initial_h), ("initial_c", initial_c)):
        if state is not None:
            state = _real(state, name)
            if state.shape != state_shape:
                raise ValueError(f"{name} has shape {state.shape}; expected {where} = {state_shape} (layout={layout})")
        states.append(state)
    initial_h, initial_c = states
    if P is not None:
        if op != "LSTM":
            raise ValueError(f"P given to {op}: only LSTM has peepholes")
        P = _real(P, "P")
        if P.shape != (D, 3 * H):
            raise ValueError(f"P has shape {P.shape}; expected (num_directions, 3*hidden_size) = {(D, 3 * H)}")
    return X, W, R, B, lengths, initial_h, initial_c, P, H


def _real(value, name) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _lengths(value, N, S) -> np.ndarray:
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        raise TypeError(f"sequence_lens: expected an int32 array, got dtype {arr.dtype}")
    if arr.shape != (N,):
        raise ValueError(f"sequence_lens has shape {arr.shape}; expected (batch_size,) = ({N},)")
    bad = (arr < 0) | (arr > S)
    if np.any(bad):
        raise ValueError(f"sequence_lens={arr.tolist()}: {arr[bad].tolist()} outside [0, seq_length={S}]")
    return arr.astype(np.int64)
