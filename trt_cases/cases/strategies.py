"""Hypothesis strategies that draw cases (sizes, options and values) for property tests.

Sizes are capped per hypothesis profile so the default CI run stays fast: `ci` (the default)
keeps every dimension small, `thorough` (HYPOTHESIS_PROFILE=thorough) raises the caps. Values come
from the drawn seed and weight scale; the scale stays where the recurrence is contractive.
"""

from __future__ import annotations

import dataclasses
import os

from hypothesis import strategies as st

from .case import Case
from .onnx_case import OnnxCase
from .sets import DIRECTIONS, INPUT_MODES, ONNX_ACTIVATIONS, ONNX_DIRECTIONS, OPS, _functions

CAPS = {
    "ci": dict(layers=3, hidden=6, seq=6, data=8, batch_dims=3, batch=3),
    "thorough": dict(layers=4, hidden=32, seq=40, data=48, batch_dims=4, batch=6),
}
WEIGHT_SCALES = (1.0, 0.5, 0.25, 1.1)  # all keep the recurrent spectral radius below 1


def caps() -> dict:
    return CAPS.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), CAPS["ci"])


@st.composite
def cases(draw, ops=OPS, precision="fp32") -> Case:
    """A valid, well-conditioned case; every draw labelled so a failure reads as a recipe."""
    cap = caps()
    op = draw(st.sampled_from(ops), label="op")
    input_mode = draw(st.sampled_from(INPUT_MODES), label="input_mode")
    hidden_size = draw(st.integers(1, cap["hidden"]), label="hidden_size")
    data_length = hidden_size if input_mode == "SKIP" else draw(st.integers(1, cap["data"]), label="data_length")
    seq_lengths = draw(st.booleans(), label="seq_lengths")
    return Case(
        op=op,
        layer_count=draw(st.integers(1, cap["layers"]), label="layer_count"),
        hidden_size=hidden_size,
        max_seq_length=draw(st.integers(1, cap["seq"]), label="max_seq_length"),
        data_length=data_length,
        batch_dims=tuple(draw(st.lists(st.integers(1, cap["batch"]), min_size=0, max_size=cap["batch_dims"]),
                              label="batch_dims")),
        direction=draw(st.sampled_from(DIRECTIONS), label="direction"),
        input_mode=input_mode,
        seq_lengths=seq_lengths,
        lengths=draw(st.sampled_from(("ragged", "ones", "full")), label="lengths") if seq_lengths else "ragged",
        hidden_state=draw(st.booleans(), label="hidden_state"),
        cell_state=op == "LSTM" and draw(st.booleans(), label="cell_state"),
        precision=precision,
        seed=draw(st.integers(0, 2**31 - 1), label="seed"),
        weight_scale=draw(st.sampled_from(WEIGHT_SCALES), label="weight_scale"),
    )


@st.composite
def cases_on(draw, structures, precision="fp32") -> Case:
    """A case of one of `structures`' engines (op, direction, input mode, layers, H, E, batch rank) at a shape no
    larger than that structure's case, with its own lengths, states, seed and weight scale: a case that runs on
    the shared engine planned for `structures` (`runners.engine_plan`) without growing its profile."""
    base = draw(st.sampled_from(structures), label="structure")
    seq_lengths = draw(st.booleans(), label="seq_lengths")
    return dataclasses.replace(
        base, precision=precision,
        batch_dims=tuple(draw(st.integers(1, b), label=f"batch_dims[{i}]") for i, b in enumerate(base.batch_dims)),
        max_seq_length=draw(st.integers(1, base.max_seq_length), label="max_seq_length"),
        seq_lengths=seq_lengths,
        lengths=draw(st.sampled_from(("ragged", "ones", "full")), label="lengths") if seq_lengths else "ragged",
        hidden_state=draw(st.booleans(), label="hidden_state"),
        cell_state=base.op == "LSTM" and draw(st.booleans(), label="cell_state"),
        seed=draw(st.integers(0, 2**31 - 1), label="seed"),
        weight_scale=draw(st.sampled_from(WEIGHT_SCALES), label="weight_scale"))


# Each entry breaks one rule of a case; the error must name the argument.
INVALID_CASE_FIELDS = {
    "op": st.sampled_from(["LSTMX", "", "peephole"]),
    "direction": st.sampled_from(["sideways", "bi"]),
    "input_mode": st.sampled_from(["DIRECT", "identity"]),
    "layer_count": st.integers(-3, 0),
    "hidden_size": st.sampled_from([0, -1, 2.5, True]),
    "max_seq_length": st.integers(-3, 0),
    "data_length": st.sampled_from([0, None, "4"]),
    "batch_dims": st.sampled_from([(0,), (2, -1), 3, (1.5,)]),
    "seq_lengths": st.sampled_from(["yes", 1, None]),
    "precision": st.sampled_from(["fp64", "int8", "FP32"]),
    "seed": st.sampled_from([-1, 1.5, True]),
    "weight_scale": st.sampled_from([0.0, -1.0, float("inf"), float("nan")]),
    "lengths": st.sampled_from(["some", ""]),
}


@st.composite
def onnx_cases(draw, ops=("RNN", "GRU", "LSTM"), precision="fp32") -> OnnxCase:
    """A valid, well-conditioned ONNX-operator case over the `onnx` set's space (`sets.onnx`): op, direction,
    layout, activations with their parameters, clip, input_forget, linear_before_reset, bias, peepholes,
    sequence_lens, initial states, sizes within the profile's caps."""
    cap = caps()
    op = draw(st.sampled_from(ops), label="op")
    direction = draw(st.sampled_from(ONNX_DIRECTIONS), label="direction")
    D = 2 if direction == "bidirectional" else 1
    functions = {}
    if draw(st.booleans(), label="custom activations"):
        count = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
        names = draw(st.lists(st.sampled_from(tuple(ONNX_ACTIVATIONS)), min_size=count, max_size=count),
                     label="activations")
        if op != "RNN":  # f stays a gate in [0, 1] or near it: the recurrence stays bounded
            names[0] = draw(st.sampled_from(("Sigmoid", "HardSigmoid")), label="f")
        functions = _functions(names, D)
    lens = draw(st.sampled_from(("none", "ragged", "ones", "full")), label="sequence_lens")
    return OnnxCase(
        op=op, direction=direction,
        hidden_size=draw(st.integers(1, cap["hidden"]), label="hidden_size"),
        seq_length=draw(st.integers(1, cap["seq"]), label="seq_length"),
        batch_size=draw(st.integers(1, cap["batch"]), label="batch_size"),
        input_size=draw(st.integers(1, cap["data"]), label="input_size"),
        layout=draw(st.sampled_from((0, 1)), label="layout"),
        clip=draw(st.sampled_from((None, 0.25, 0.5, 2.0)), label="clip"),
        input_forget=int(op == "LSTM" and draw(st.booleans(), label="input_forget")),
        linear_before_reset=int(op == "GRU" and draw(st.booleans(), label="linear_before_reset")),
        bias=draw(st.booleans(), label="bias"),
        peepholes=op == "LSTM" and draw(st.booleans(), label="peepholes"),
        sequence_lens=lens,
        initial_h=draw(st.booleans(), label="initial_h"),
        initial_c=op == "LSTM" and draw(st.booleans(), label="initial_c"),
        precision=precision,
        seed=draw(st.integers(0, 2**31 - 1), label="seed"),
        weight_scale=draw(st.sampled_from(WEIGHT_SCALES), label="weight_scale"),
        **functions,
    )
