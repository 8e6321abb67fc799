"""Gate order matters and is checked: swapping two gates' weights changes the outputs, and the
legacy flat buffers follow `NvInfer.h`'s matrix order exactly.

All-ones weights (the cookbook's) make every gate identical, so a swapped gate goes unnoticed
there: `test_all_ones_weights_hide_gate_swaps` shows it, which is why these tests draw weights.
"""

import itertools

import numpy as np
import pytest

from reference import GATES, RNN, RNNGateType, RNNOperation, rnn_v2
from trt_cases import Case

G = RNNGateType


def run(case, weights, biases):
    m = case.materialise()
    return rnn_v2(m.input, case.op, case.layer_count, case.hidden_size, weights, biases,
                  direction=case.direction, input_mode=case.input_mode, hidden_state=m.hidden_state,
                  cell_state=m.cell_state)


def swapped(table, a, b):
    """The table with gates `a` and `b` exchanged at every layer index."""
    out = {}
    for (index, gate, is_w), value in table.items():
        gate = {a: b, b: a}.get(gate, gate)
        out[(index, gate, is_w)] = value
    return out


@pytest.mark.parametrize("op, a, b", [(op, a, b) for op in ("LSTM", "GRU")
                                      for a, b in itertools.combinations(GATES[RNNOperation[op]], 2)])
def test_swapping_two_gates_changes_outputs(op, a, b):
    case = Case(op, hidden_size=6, data_length=5, max_seq_length=4, batch_dims=(3,), hidden_state=True,
                cell_state=op == "LSTM", seed=3)
    m = case.materialise()
    base = run(case, m.weights, m.biases)
    for outputs in (run(case, swapped(m.weights, a, b), m.biases), run(case, m.weights, swapped(m.biases, a, b))):
        assert max(np.max(np.abs(o - p)) for o, p in zip(base, outputs)) > 1e-3


def test_all_ones_weights_hide_gate_swaps():
    case = Case("LSTM", hidden_size=3, data_length=3)
    ones = {k: np.ones_like(v) for k, v in case.materialise().weights.items()}
    zeros = {k: np.zeros_like(v) for k, v in case.materialise().biases.items()}
    base = run(case, ones, zeros)
    other = run(case, swapped(ones, G.INPUT, G.OUTPUT), zeros)
    assert all(np.array_equal(o, p) for o, p in zip(base, other))


# The order of parameter matrices per layer index, typed in from NvInfer.h's IRNNLayer::setWeights.
NVINFER_ORDER = {
    "RELU": [("W", G.INPUT), ("R", G.INPUT)],
    "TANH": [("W", G.INPUT), ("R", G.INPUT)],
    "LSTM": [("W", G.FORGET), ("W", G.INPUT), ("W", G.CELL), ("W", G.OUTPUT),
             ("R", G.FORGET), ("R", G.INPUT), ("R", G.CELL), ("R", G.OUTPUT)],
    "GRU": [("W", G.UPDATE), ("W", G.RESET), ("W", G.HIDDEN), ("R", G.UPDATE), ("R", G.RESET), ("R", G.HIDDEN)],
}


def hand_packed(case, m):
    """Flat weight and bias buffers laid out by hand from the NvInfer.h text, independent of reference.legacy."""
    weights, biases = [], []
    for index in range(case.layer_count * case.K):
        for matrix, gate in NVINFER_ORDER[case.op]:
            is_w = matrix == "W"
            if not (is_w and index < case.K and case.input_mode == "SKIP"):  # SKIP: (0, 0) matrix
                weights.append(m.weights[(index, gate, is_w)].ravel())
            biases.append(m.biases[(index, gate, is_w)])
    return np.concatenate(weights), np.concatenate(biases)


@pytest.mark.parametrize("op", ["RELU", "TANH", "LSTM", "GRU"])
@pytest.mark.parametrize("direction, input_mode, layer_count", [
    ("UNIDIRECTION", "LINEAR", 1), ("BIDIRECTION", "LINEAR", 2), ("BIDIRECTION", "SKIP", 2), ("UNIDIRECTION", "SKIP", 3)])
def test_legacy_buffers_follow_nvinfer_order(op, direction, input_mode, layer_count):
    case = Case(op, layer_count=layer_count, hidden_size=4, data_length=4 if input_mode == "SKIP" else 6,
                max_seq_length=3, batch_dims=(2,), direction=direction, input_mode=input_mode,
                hidden_state=True, cell_state=op == "LSTM", seed=11)
    m = case.materialise()
    layer = RNN(layer_count, case.hidden_size, case.max_seq_length, op, input_mode, direction, *hand_packed(case, m))
    layer.hidden_state = m.hidden_state.transpose(1, 0, 2)  # legacy states are (L*K, N, H)
    if op == "LSTM":
        layer.cell_state = m.cell_state.transpose(1, 0, 2)
    legacy = layer.forward(m.input.transpose(1, 0, 2))  # legacy input is (S, N, E)
    v2 = run(case, m.weights, m.biases)
    np.testing.assert_array_equal(legacy[0], v2[0].transpose(1, 0, 2))
    for got, want in zip(legacy[1:], v2[1:]):
        np.testing.assert_array_equal(got, want.transpose(1, 0, 2))


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_legacy_pack_matches_nvinfer_order(op):
    from reference.legacy import buffer_layout, pack

    case = Case(op, layer_count=2, hidden_size=3, data_length=3, direction="BIDIRECTION", input_mode="SKIP", seed=5)
    m = case.materialise()
    layout = buffer_layout(op, 2, 3, 3, "BIDIRECTION", "SKIP")
    for got, want in zip(pack(m.weights, m.biases, layout), hand_packed(case, m)):
        np.testing.assert_array_equal(got, want)
