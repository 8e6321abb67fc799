"""Readings of an ONNX RNN, GRU or LSTM node other than the ONNX text's: what an implementation may compute instead.

Implementations disagree on what a node means: onnxruntime clips only the gate pre-activations, while the
text (and TensorRT's parser) also clips the LSTM cell state where it enters h; `onnx.reference` ignores
`clip`, `input_forget`, LSTM `activations` and `sequence_lens`; TensorRT-RTX 1.7's parser computes a
`layout=1` node as sequence-first. Each `Reading` names one such alternative and computes it with the
float64 reference (`reference.onnx_rnn`) on the case's own data, an attribute or input changed. A backend
that fails against the ONNX reading but agrees with an alternative is then reported by name: a finding
about the backend, not an unexplained failure. `offered(case)` lists only the readings whose outputs
differ from the ONNX reading's on this case (a `clip` no value reaches reads the same either way).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable

import numpy as np

from reference.onnx_attributes import DEFAULT_ACTIVATIONS, DEFAULTS, PARAMETERS

from .onnx_case import OnnxCase, OnnxMaterials


@dataclasses.dataclass(frozen=True)
class Reading:
    """One alternative reading: `attribute` read as `name`, where ONNX says `onnx`."""
    attribute: str
    name: str
    onnx: str
    applies: Callable[[OnnxCase, OnnxMaterials], bool]
    changes: Callable[[OnnxCase, OnnxMaterials], dict]  # onnx_rnn keyword arguments to override


def _arguments(case: OnnxCase, m: OnnxMaterials) -> dict:
    attrs = case.attributes
    return dict(op=case.op, X=m.X, W=m.W, R=m.R, B=m.B, sequence_lens=m.sequence_lens, initial_h=m.initial_h,
                initial_c=m.initial_c, P=m.P, **attrs)


def _layout0(case, m):
    """The same buffers read sequence-first: X (N, S, I) as (S'=N, N'=S, I), states (N, D, H) as (D, N', H)
    (which fits only when N' = N: `_layout0_applies`)."""
    S, N = case.seq_length, case.batch_size
    X = np.reshape(m.X, (N, S, case.input_size))  # the buffer, in memory order, seen as (S'=N, N'=S, I)
    states = {name: None if getattr(m, name) is None else np.reshape(getattr(m, name), (case.D, S, case.hidden_size))
              for name in ("initial_h", "initial_c")}
    return dict(X=X, layout=0, **states)


def _layout0_applies(case, m):
    if not case.layout:
        return False
    if m.sequence_lens is not None and case.seq_length != case.batch_size:
        return False  # sequence_lens (N,) cannot fit the reinterpreted batch
    if (m.initial_h is not None or m.initial_c is not None) and case.seq_length != case.batch_size:
        return False  # (N, D, H) states read as (D, N', H) only fit when N' = N
    return True


def _zero_defaults(case, m):
    """Explicit alpha and beta lists in which a function's missing value is 0 where ONNX defaults it otherwise
    (Affine 1.0, 0.0; ThresholdedRelu 1.0): onnxruntime's documented reading (`reference.onnx_rnn`)."""
    attrs = case.attributes  # the node's float32 values
    alphas, betas = [], []
    given_a, given_b = list(attrs.get("activation_alpha", [])), list(attrs.get("activation_beta", []))
    for name in case.activations:
        takes_alpha, takes_beta = PARAMETERS.get(name, (False, False))
        zero = name in ("Affine", "ThresholdedRelu", "ScaledTanh")
        if takes_alpha:
            alphas.append(given_a.pop(0) if given_a else 0.0 if zero else DEFAULTS[name][0])
        if takes_beta:
            betas.append(given_b.pop(0) if given_b else 0.0 if zero else DEFAULTS[name][1])
    return dict(activation_alpha=alphas, activation_beta=betas)


def _zero_defaults_applies(case, m):
    takes = [PARAMETERS.get(n, (False, False)) for n in case.activations]
    return sum(a for a, _ in takes) > len(case.activation_alpha) or sum(b for _, b in takes) > len(case.activation_beta)


def _alphas_ignored_applies(case, m):
    return bool(case.activation_alpha or case.activation_beta) and "ScaledTanh" not in case.activations


READINGS = (
    Reading("clip", "gates only (the cell state is not clipped before h)",
            "clip bounds every activation's input, the cell state's before h included",
            lambda c, m: c.op == "LSTM" and c.clip is not None, lambda c, m: dict(clip_reading="gates")),
    Reading("clip", "ignored (no clipping)", "clip bounds the activations' inputs",
            lambda c, m: c.clip is not None, lambda c, m: dict(clip=None)),
    Reading("input_forget", "ignored (0: an independent forget gate)", "input_forget=1 couples f = 1 - i",
            lambda c, m: bool(c.input_forget), lambda c, m: dict(input_forget=0)),
    Reading("activations", "ignored (the operator's defaults)", "the listed activation functions",
            lambda c, m: bool(c.activations) and c.activations != DEFAULT_ACTIVATIONS[c.op] * c.D,
            lambda c, m: dict(activations=None, activation_alpha=None, activation_beta=None)),
    Reading("activation_alpha/activation_beta", "ignored (each function's default parameters)",
            "the functions' alpha and beta, in order", _alphas_ignored_applies,
            lambda c, m: dict(activation_alpha=None, activation_beta=None)),
    Reading("activation_alpha/activation_beta", "0 where not given (Affine, ThresholdedRelu)",
            "a value not given takes the default of the ONNX operator of that name (Affine 1.0, 0.0; ThresholdedRelu 1.0)",
            _zero_defaults_applies, _zero_defaults),
    Reading("sequence_lens", "ignored (every sequence runs all S steps)",
            "past a sequence's length Y is zero and the state is held",
            lambda c, m: m.sequence_lens is not None, lambda c, m: dict(sequence_lens=None)),
    Reading("linear_before_reset", "its opposite (the reset applied after/before R·h swapped)",
            "linear_before_reset=1: r * (R_h·h + Rb_h); 0: R_h·(r * h) + Rb_h",
            lambda c, m: c.op == "GRU", lambda c, m: dict(linear_before_reset=1 - c.linear_before_reset)),
    Reading("P (peepholes)", "ignored (zero peepholes)", "the peephole weights P enter i, f and o",
            lambda c, m: m.P is not None, lambda c, m: dict(P=None)),
    Reading("initial_h", "ignored (a zero initial state)", "the given initial hidden state",
            lambda c, m: m.initial_h is not None, lambda c, m: dict(initial_h=None)),
    Reading("initial_c", "ignored (a zero initial cell state)", "the given initial cell state",
            lambda c, m: m.initial_c is not None, lambda c, m: dict(initial_c=None)),
    Reading("layout", "0 (the batch-first buffers computed as sequence-first)",
            "layout=1: X is (batch, seq, input) and Y (batch, seq, directions, hidden)",
            _layout0_applies, _layout0),
)


def offered(case: OnnxCase, m: OnnxMaterials | None = None) -> list[Reading]:
    """The readings that apply to `case` and change its outputs."""
    m = case.materialise() if m is None else m
    base = case.reference(m)
    return [reading for reading in READINGS if reading.applies(case, m) and _differs(_outputs((reading,), case, m), base)]


def _outputs(readings, case, m):
    """The reference's outputs under every reading of `readings` at once; None where it cannot compute them."""
    from reference import onnx_rnn

    kwargs = _arguments(case, m)
    for reading in readings:
        kwargs.update(reading.changes(case, m))
    try:
        return onnx_rnn(kwargs.pop("op"), **kwargs)
    except ValueError:  # a reading the reference cannot compute here (ScaledTanh without its values)
        return None


def _differs(outputs, base) -> bool:
    if outputs is None:
        return False
    if any(np.shape(o) != np.shape(b) for o, b in zip(outputs, base)):
        return True
    scale = max([1.0] + [float(np.max(np.abs(b), initial=0.0)) for b in base])
    return max(float(np.max(np.abs(o - b), initial=0.0)) for o, b in zip(outputs, base)) > 1e-9 * scale


def matching(case: OnnxCase, actual, agrees: Callable[[tuple, tuple], bool], most: int = 3) -> tuple[Reading, ...]:
    """The fewest offered readings (one, else two, ... up to `most`, of different attributes) under which the
    reference's outputs `agrees(expected, actual)` with `actual`; () when none does."""
    m = case.materialise()
    found = offered(case, m)
    for size in range(1, most + 1):
        for combination in itertools.combinations(found, size):
            if len({r.attribute for r in combination}) < size:
                continue
            outputs = _outputs(combination, case, m)
            if outputs is None or len(outputs) != len(actual) or \
                    any(np.shape(o) != np.shape(a) for o, a in zip(outputs, actual)):
                continue
            try:
                if agrees(outputs, actual):
                    return combination
            except (ValueError, TypeError):
                continue
    return ()


def _described(readings) -> tuple[str, str]:
    what = " and ".join(f"{r.attribute} as {r.name}" for r in readings)
    return what, "; ".join(r.onnx for r in readings)


def finding(readings, backend: str) -> str:
    """The record's reason for an oracle that computes these readings."""
    what, onnx = _described(readings)
    return f"finding: {backend} reads {what} (ONNX: {onnx})"


def failure(readings, backend: str) -> str:
    """The reason's wording for a TensorRT backend (simulated, build, engine) that computes these readings."""
    what, onnx = _described(readings)
    return f"{backend} computes as if it read {what} (ONNX: {onnx})"
