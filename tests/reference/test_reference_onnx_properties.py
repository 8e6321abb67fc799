"""`reference.onnx_rnn`: metamorphic properties where no oracle reaches, IRNNv2 consistency, bad input.

Which property covers which attribute (the oracles are in test_reference_onnx.py):
- clip, wording reading (no oracle implements it): a clip above every value equals no clip; a clip
  below changes the LSTM output only through h(C) between the two readings.
- direction reverse: equals forward on the time-reversed input (full lengths).
- direction bidirectional: equals forward and reverse run apart, stacked.
- layout=1: equals layout 0 transposed (onnxruntime refuses layout=1).
- sequence_lens: all S equals none; ragged lengths equal each sequence run alone, truncated (with
  its own initial state); a length 0 leaves Y zero and the initial state as the final state.
- activations: Affine(1, 0) makes RNN linear (superposition); ScaledTanh(1, 1) equals Tanh;
  names in any case give the same answer.
- input_forget=1: the forget gate's weights, biases and peephole no longer matter.
- dtype=float32 stays within float32 rounding of float64.
- the one core: rnn_v2 (IRNNv2) equals onnx_rnn with the matching attributes and gate order.
- gates distinguishable: permuting gates changes the outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import GATES, RNNOperation, onnx_rnn, rnn_v2

G = {"RNN": 1, "GRU": 3, "LSTM": 4}
S, N, I, H = 6, 3, 4, 5
DIRECTIONS = ["forward", "reverse", "bidirectional"]


def draw(op, D=1, seed=0, scale=1.0, batch=N, steps=S):
    rng = np.random.default_rng(seed)
    k = G[op]
    inputs = dict(X=rng.uniform(-2, 2, (steps, batch, I)), W=rng.uniform(-1, 1, (D, k * H, I)) * scale,
                  R=rng.uniform(-1, 1, (D, k * H, H)) * scale, B=rng.uniform(-1, 1, (D, 2 * k * H)) * scale,
                  initial_h=rng.uniform(-1, 1, (D, batch, H)))
    if op == "LSTM":
        inputs.update(initial_c=rng.uniform(-1, 1, (D, batch, H)), P=rng.uniform(-1, 1, (D, 3 * H)))
    return inputs


def one_direction(inputs, d):
    return {k: (v if k in ("X", "sequence_lens") or v is None else v[d:d + 1]) for k, v in inputs.items()}


@pytest.mark.parametrize("op", G)
def test_a_clip_above_every_value_is_no_clip_in_both_readings(op):
    inputs = draw(op, 2, 1)
    plain = onnx_rnn(op, **inputs, direction="bidirectional")
    for reading in ("wording", "gates"):
        clipped = onnx_rnn(op, **inputs, direction="bidirectional", clip=1e6, clip_reading=reading)
        for a, b in zip(plain, clipped):
            np.testing.assert_array_equal(a, b)


def test_the_wording_clip_bounds_the_cell_state_where_it_enters_h():
    """Wording: H = o * h(clip(C)); so with h = Affine(1, 0) every |H| <= clip; the gates reading lets
    |H| exceed it while C does. Y_c itself is never clipped."""
    inputs = draw("LSTM", 1, 2)
    inputs["B"][0, :4 * H] += 5.0
    attrs = dict(activations=["Sigmoid", "Tanh", "Affine"], activation_alpha=[1.0], activation_beta=[0.0], clip=0.5)
    wording = onnx_rnn("LSTM", **inputs, **attrs, clip_reading="wording")
    gates = onnx_rnn("LSTM", **inputs, **attrs, clip_reading="gates")
    assert np.abs(wording[0]).max() <= 0.5 < np.abs(gates[0]).max()
    assert np.abs(wording[2]).max() > 0.5
    first = [onnx_rnn("LSTM", **{**inputs, "X": inputs["X"][:1]}, **attrs, clip_reading=r) for r in ("wording", "gates")]
    np.testing.assert_array_equal(first[0][2], first[1][2])  # one step: the same state, only h's input differs


@pytest.mark.parametrize("op", G)
def test_reverse_is_forward_on_the_time_reversed_input(op):
    inputs = draw(op, 1, 3)
    forward = onnx_rnn(op, **{**inputs, "X": inputs["X"][::-1]})
    reverse = onnx_rnn(op, **inputs, direction="reverse")
    np.testing.assert_allclose(reverse[0], forward[0][::-1], rtol=1e-13, atol=1e-14)
    for a, b in zip(reverse[1:], forward[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("op", G)
def test_bidirectional_is_forward_and_reverse_stacked(op):
    inputs = {**draw(op, 2, 4), "sequence_lens": np.array([S, 1, 4], dtype=np.int32)}
    both = onnx_rnn(op, **inputs, direction="bidirectional")
    forward = onnx_rnn(op, **one_direction(inputs, 0))
    reverse = onnx_rnn(op, **one_direction(inputs, 1), direction="reverse")
    np.testing.assert_array_equal(both[0], np.concatenate([forward[0], reverse[0]], axis=1))
    for a, f, r in zip(both[1:], forward[1:], reverse[1:]):
        np.testing.assert_array_equal(a, np.concatenate([f, r]))


@pytest.mark.parametrize("op", G)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_layout_1_is_layout_0_transposed(op, direction):
    D = 2 if direction == "bidirectional" else 1
    inputs = {**draw(op, D, 5), "sequence_lens": np.array([2, S, 3], dtype=np.int32)}
    base = onnx_rnn(op, **inputs, direction=direction)
    batch_major = {k: (v.transpose(1, 0, 2) if k in ("X", "initial_h", "initial_c") else v) for k, v in inputs.items()}
    swapped = onnx_rnn(op, **batch_major, direction=direction, layout=1)
    np.testing.assert_array_equal(swapped[0], base[0].transpose(2, 0, 1, 3))
    for a, b in zip(swapped[1:], base[1:]):
        np.testing.assert_array_equal(a, b.transpose(1, 0, 2))


@pytest.mark.parametrize("op", G)
def test_lengths_all_S_are_no_lengths(op):
    inputs = draw(op, 2, 6)
    full = onnx_rnn(op, **inputs, sequence_lens=np.full(N, S, dtype=np.int32), direction="bidirectional")
    for a, b in zip(full, onnx_rnn(op, **inputs, direction="bidirectional")):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", G)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_ragged_lengths_are_each_sequence_alone_truncated(op, direction):
    D = 2 if direction == "bidirectional" else 1
    lengths = np.array([S, 0, 1, 4], dtype=np.int32)
    inputs = draw(op, D, 7, batch=4)
    together = onnx_rnn(op, **inputs, sequence_lens=lengths, direction=direction)
    for n, length in enumerate(lengths):
        mine = {k: (v[:length, n:n + 1] if k == "X" else v[:, n:n + 1] if k in ("initial_h", "initial_c") else v)
                for k, v in inputs.items()}
        if length == 0:  # nothing runs: the state is the initial state
            expected = [np.zeros((S, D, 1, H)), mine["initial_h"]] + ([mine["initial_c"]] if op == "LSTM" else [])
        else:
            alone = onnx_rnn(op, **mine, direction=direction)
            expected = [np.concatenate([alone[0], np.zeros((S - length, D, 1, H))])] + list(alone[1:])
        np.testing.assert_allclose(together[0][:, :, n:n + 1], expected[0], rtol=1e-13, atol=1e-14)
        for a, b in zip(together[1:], expected[1:]):
            np.testing.assert_allclose(a[:, n:n + 1], b, rtol=1e-13, atol=1e-14)


def test_affine_1_0_makes_the_rnn_linear():
    rng = np.random.default_rng(8)
    W, R = rng.uniform(-1, 1, (1, H, I)), rng.uniform(-0.4, 0.4, (1, H, H))
    x1, x2 = rng.uniform(-1, 1, (S, N, I)), rng.uniform(-1, 1, (S, N, I))
    attrs = dict(activations=["Affine"], activation_alpha=[1.0], activation_beta=[0.0])
    y = lambda x: onnx_rnn("RNN", x, W, R, **attrs)[0]  # noqa: E731
    np.testing.assert_allclose(y(2 * x1 + x2), 2 * y(x1) + y(x2), rtol=1e-12, atol=1e-13)
    assert not np.allclose(onnx_rnn("RNN", 2 * x1 + x2, W, R)[0], 2 * onnx_rnn("RNN", x1, W, R)[0] + onnx_rnn("RNN", x2, W, R)[0])


@pytest.mark.parametrize("op", G)
def test_scaled_tanh_1_1_is_tanh_and_names_take_any_case(op):
    inputs = draw(op, 1, 9)
    count = G[op] if op != "GRU" else 2
    names = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op][:count]
    base = onnx_rnn(op, **inputs, activations=names)
    scaled = onnx_rnn(op, **inputs, activations=[n if n != "Tanh" else "ScaledTanh" for n in names],
                      activation_alpha=[1.0] * names.count("Tanh"), activation_beta=[1.0] * names.count("Tanh"))
    shouted = onnx_rnn(op, **inputs, activations=[n.upper() for n in names])
    for a, b, c in zip(base, scaled, shouted):
        np.testing.assert_allclose(b, a, rtol=1e-15, atol=1e-15)
        np.testing.assert_array_equal(c, a)


def test_input_forget_makes_the_forget_gate_irrelevant():
    inputs = draw("LSTM", 1, 10)
    changed = {k: v.copy() for k, v in inputs.items()}
    forget = slice(2 * H, 3 * H)  # ONNX iofc
    changed["W"][0, forget] += 1.0
    changed["R"][0, forget] -= 1.0
    changed["B"][0, forget] += 1.0
    changed["P"][0, 2 * H:] += 1.0  # Pf
    coupled = [onnx_rnn("LSTM", **v, input_forget=1) for v in (inputs, changed)]
    free = [onnx_rnn("LSTM", **v, input_forget=0) for v in (inputs, changed)]
    for a, b in zip(*coupled):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(free[0][0], free[1][0])


@pytest.mark.parametrize("op", G)
def test_float32_stays_within_float32_rounding(op):
    inputs = draw(op, 2, 11)
    for a, b in zip(onnx_rnn(op, **inputs, direction="bidirectional"),
                    onnx_rnn(op, **inputs, direction="bidirectional", dtype=np.float32)):
        assert b.dtype == np.float32 and 0 < np.abs(a - b).max() < 1e-5


# --- one core: rnn_v2 (IRNNv2Layer) is onnx_rnn with TensorRT's attributes -----------------------

ONNX_GATE = {"INPUT": 0, "OUTPUT": 1, "FORGET": 2, "CELL": 3, "UPDATE": 0, "RESET": 1, "HIDDEN": 2}


@pytest.mark.parametrize("op", ["RELU", "TANH", "GRU", "LSTM"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths_and_states", [False, True])
def test_rnn_v2_is_onnx_rnn_with_tensorrt_attributes(op, bidirectional, lengths_and_states):
    onnx_op = {"RELU": "RNN", "TANH": "RNN"}.get(op, op)
    D = 2 if bidirectional else 1
    inputs = draw(onnx_op, D, 12)
    inputs.pop("P", None)
    if not lengths_and_states:
        inputs.update(initial_h=None, initial_c=None)
    lengths = np.array([S, 2, 5], dtype=np.int32) if lengths_and_states else None
    weights, biases = {}, {}
    for d in range(D):
        for gate in GATES[RNNOperation[op]]:
            rows = slice(ONNX_GATE[gate.name] * H, (ONNX_GATE[gate.name] + 1) * H)
            weights[(d, gate, True)], weights[(d, gate, False)] = inputs["W"][d, rows], inputs["R"][d, rows]
            biases[(d, gate, True)] = inputs["B"][d, :G[onnx_op] * H][rows]
            biases[(d, gate, False)] = inputs["B"][d, G[onnx_op] * H:][rows]
    states = {name: (None if inputs.get(key) is None else inputs[key].transpose(1, 0, 2))
              for name, key in (("hidden_state", "initial_h"), ("cell_state", "initial_c"))}
    trt = rnn_v2(inputs["X"].transpose(1, 0, 2), op, 1, H, weights, biases, seq_lengths=lengths,
                 direction="BIDIRECTION" if bidirectional else "UNIDIRECTION", **states)
    batch_major = {k: (None if v is None else v.transpose(1, 0, 2) if k in ("X", "initial_h", "initial_c") else v)
                   for k, v in inputs.items()}
    ours = onnx_rnn(onnx_op, **batch_major, sequence_lens=lengths, layout=1, direction="bidirectional" if bidirectional else "forward",
                    activations=["Relu"] * D if op == "RELU" else None, linear_before_reset=int(op == "GRU"))
    np.testing.assert_array_equal(trt[0], ours[0].reshape(N, S, D * H))
    for a, b in zip(trt[1:], ours[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op,permutation", [("LSTM", [1, 0, 2, 3]), ("LSTM", [0, 2, 1, 3]), ("LSTM", [0, 1, 3, 2]),
                                            ("GRU", [1, 0, 2]), ("GRU", [0, 2, 1])])
def test_permuting_gates_changes_the_outputs(op, permutation):
    inputs = draw(op, 1, 13)
    rows = np.concatenate([np.arange(k * H, (k + 1) * H) for k in permutation])
    permuted = dict(inputs, W=inputs["W"][:, rows], R=inputs["R"][:, rows],
                    B=np.concatenate([inputs["B"][:, :G[op] * H][:, rows], inputs["B"][:, G[op] * H:][:, rows]], axis=1))
    for a, b in zip(onnx_rnn(op, **inputs), onnx_rnn(op, **permuted)):
        assert np.abs(a - b).max() > 1e-2


# --- bad input ---------------------------------------------------------------------------------

def good(op="LSTM", D=1):
    return draw(op, D, 14)


BAD = [
    (dict(op="Rnn"), ValueError, r"op='Rnn'; allowed: 'RNN', 'GRU', 'LSTM'"),
    (dict(direction="sideways"), ValueError, r"direction='sideways'; allowed: 'forward', 'reverse', 'bidirectional'"),
    (dict(layout=2), ValueError, r"layout=2; allowed: 0, 1"),
    (dict(input_forget=3), ValueError, r"input_forget=3; allowed: 0, 1"),
    (dict(linear_before_reset=1), ValueError, r"linear_before_reset=1 given to LSTM: only GRU"),
    (dict(op="GRU", input_forget=1), ValueError, r"input_forget=1 given to GRU: only LSTM"),
    (dict(activations=["Sigmoid", "Tanh", "Swish"]), ValueError, r"activations: 'Swish' is not an ONNX activation function; allowed \(any case\): Relu"),
    (dict(activations=["Sigmoid", "Tanh"]), ValueError, r"activations=\['Sigmoid', 'Tanh'\] has 2 function\(s\); LSTM takes 3: f, g, h"),
    (dict(activations="Tanh"), TypeError, r"activations='Tanh': expected a list of activation names"),
    (dict(activations=["Sigmoid", "ScaledTanh", "Tanh"]), ValueError, r"'ScaledTanh' needs activation_alpha and activation_beta"),
    (dict(activation_alpha=[0.5]), ValueError, r"activation_alpha has 1 value\(s\) left over \(\[0.5\]\)"),
    (dict(clip=0.0), ValueError, r"clip=0.0: the cell clip threshold must be a finite float > 0"),
    (dict(clip=-1.0), ValueError, r"clip=-1.0: the cell clip threshold must be a finite float > 0"),
    (dict(clip="1"), TypeError, r"clip='1': expected a float > 0"),
    (dict(clip_reading="cell"), ValueError, r"clip_reading='cell'; allowed: 'wording'"),
    (dict(dtype=np.float16), ValueError, r"dtype=float16; allowed: float64, float32"),
    (dict(W=np.zeros((1, 12, 4))), ValueError, r"W has shape \(1, 12, 4\); expected \(num_directions, 4\*hidden_size, input_size\) = \(1, 20, 4\)"),
    (dict(W=np.zeros((2, 20, 4))), ValueError, r"W has shape \(2, 20, 4\); expected .* = \(1, 20, 4\)"),
    (dict(R=np.zeros((1, 15, 5))), ValueError, r"R has shape \(1, 15, 5\); expected \(num_directions=1, 4\*hidden_size, hidden_size\) for LSTM"),
    (dict(hidden_size=4), ValueError, r"hidden_size=4 disagrees with R of shape \(1, 20, 5\) \(hidden_size 5\)"),
    (dict(B=np.zeros((1, 20))), ValueError, r"B has shape \(1, 20\); expected \(num_directions, 8\*hidden_size\) = \(1, 40\)"),
    (dict(X=np.zeros((S, N))), ValueError, r"X has shape \(6, 3\); expected \(S, N, I\) \(layout=0\)"),
    (dict(sequence_lens=np.array([1, 7, 2], dtype=np.int32)), ValueError, r"sequence_lens=\[1, 7, 2\]: \[7\] outside \[0, seq_length=6\]"),
    (dict(sequence_lens=np.array([1, -1, 2], dtype=np.int32)), ValueError, r"sequence_lens=\[1, -1, 2\]: \[-1\] outside \[0, seq_length=6\]"),
    (dict(sequence_lens=np.array([1.5, 1, 2])), TypeError, r"sequence_lens: expected an int32 array, got dtype float64"),
    (dict(sequence_lens=np.array([1, 2], dtype=np.int32)), ValueError, r"sequence_lens has shape \(2,\); expected \(batch_size,\) = \(3,\)"),
    (dict(initial_h=np.zeros((1, 5, 3))), ValueError, r"initial_h has shape \(1, 5, 3\); expected \(num_directions, N, hidden_size\) = \(1, 3, 5\) \(layout=0\)"),
    (dict(layout=1), ValueError, r"X has shape|initial_h has shape"),
    (dict(op="GRU", P=np.zeros((1, 15))), ValueError, r"P given to GRU: only LSTM has peepholes"),
    (dict(op="RNN", initial_c=np.zeros((1, N, H))), ValueError, r"initial_c given to RNN: only LSTM has a cell state"),
    (dict(P=np.zeros((1, 20))), ValueError, r"P has shape \(1, 20\); expected \(num_directions, 3\*hidden_size\) = \(1, 15\)"),
    (dict(X=np.full((S, N, I), "a")), TypeError, r"X: expected an array of real numbers, got dtype <U1"),
]


@pytest.mark.parametrize("change,error,message", BAD, ids=[str(b[0])[:60] for b in BAD])
def test_bad_input_names_the_attribute_and_the_value(change, error, message):
    change = dict(change)
    op = change.pop("op", "LSTM")
    inputs = {k: v for k, v in good(op if op in G else "LSTM").items() if k in ("X", "W", "R", "B", "initial_h")}
    inputs.update(change)
    if op == "GRU" and "W" not in change:
        inputs.update({k: v for k, v in good("GRU").items() if k in ("W", "R", "B")})
    if op == "RNN":
        inputs.update({k: v for k, v in good("RNN").items() if k in ("W", "R", "B")})
    with pytest.raises(error, match=message):
        onnx_rnn(op, **inputs)
