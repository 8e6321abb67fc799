"""Every table of the cookbook chapter (shared/seeds/rnn_layer_cookbook.md), reproduced by the reference.

Each test sets the layer up line by line as the cookbook's TensorRT code does, through the
`RNNv2`/`RNN` facades. Expected numbers are typed in from the cookbook's printed tables: integers
exactly, LSTM values (printed float32, 6 decimals) within 1.5e-6.

Cookbook discrepancies, recorded here and in the README:
- The two LSTM examples set `hidden_state` to ones in code, but their tables (and the worked
  arithmetic, `h_1 = 0.760517` from a pre-activation of 7) are those of a zero initial state; the
  tables are reproduced with zero state, and `test_lstm_code_with_ones_state_differs` shows the
  ones state gives other numbers.
- The hidden_state example's table prints `67. 12. 12. 12. 12.` in its second row; the worked
  arithmetic and the other two batches give 67 in every column.
- The direction example passes W as `(wIn, lenH)` arrays; TensorRT reads Weights as flat buffers,
  so with all-ones weights that works there. The facade refuses a transposed 2-D shape (a silent
  wrong answer with real weights) and takes the same buffer flat.
- The bidirectional LSTM example titles its cell table `(1,3,1,5)` but prints two rows per batch,
  the `(1,3,2,5)` shape TensorRT produces.
"""

import numpy as np
import pytest

from reference import RNN, RNNv2

nIn, cIn, hIn, wIn, lenH = 1, 3, 4, 7, 5
LSTM_ATOL = 1.5e-6
LSTM_GATES = ["INPUT", "CELL", "FORGET", "OUTPUT"]


def ones_input(w=wIn):
    return np.ones((nIn, cIn, hIn, w), dtype=np.float32)


def relu_layer(layer_count=1, **attrs):
    layer = RNNv2(layer_count, lenH, hIn, "RELU")
    for name, value in attrs.items():
        setattr(layer, name, value)
    layer.set_weights_for_gate(0, "INPUT", True, np.ones((lenH, wIn), dtype=np.float32))
    layer.set_weights_for_gate(0, "INPUT", False, np.ones((lenH, lenH), dtype=np.float32))
    layer.set_bias_for_gate(0, "INPUT", True, np.zeros(lenH, dtype=np.float32))
    layer.set_bias_for_gate(0, "INPUT", False, np.zeros(lenH, dtype=np.float32))
    return layer


def per_step(values, columns=lenH):
    """A (3, S, columns) table whose every batch holds `values[t]` across its row at step t."""
    return np.broadcast_to(np.asarray(values, dtype=float)[None, :, None], (cIn, len(values), columns))


def lstm_layer(direction_count, max_seq_length=hIn):
    layer = RNNv2(1, lenH, max_seq_length, "LSTM")
    if direction_count == 2:
        layer.direction = "BIDIRECTION"
    for layer_index in range(direction_count):
        for kind in LSTM_GATES:
            layer.set_weights_for_gate(layer_index, kind, True, np.ones((lenH, wIn), dtype=np.float32))
            layer.set_weights_for_gate(layer_index, kind, False, np.ones((lenH, lenH), dtype=np.float32))
            layer.set_bias_for_gate(layer_index, kind, True, np.zeros(lenH, dtype=np.float32))
            layer.set_bias_for_gate(layer_index, kind, False, np.zeros(lenH, dtype=np.float32))
    return layer


def test_initial_example():
    output, hidden = relu_layer().forward(ones_input())
    assert output.shape == (1, 3, 4, 5) and hidden.shape == (1, 3, 1, 5)
    np.testing.assert_array_equal(output[0], per_step([7, 42, 217, 1092]))
    np.testing.assert_array_equal(hidden[0], per_step([1092]))


def test_seq_lengths():
    layer = relu_layer(seq_lengths=np.array([4, 3, 2], dtype=np.int32).reshape(nIn, cIn))
    output, hidden = layer.forward(ones_input())
    expected = np.array([[7, 42, 217, 1092], [7, 42, 217, 0], [7, 42, 0, 0]], dtype=float)
    np.testing.assert_array_equal(output[0], np.repeat(expected[:, :, None], lenH, axis=2))
    np.testing.assert_array_equal(hidden[0, :, 0], np.repeat([[1092], [217], [42]], lenH, axis=1))


def test_op_reassigned_and_read_only_sizes():
    layer = RNNv2(1, lenH, hIn, "LSTM")
    layer.op = "RELU"
    for is_w, shape in ((True, (lenH, wIn)), (False, (lenH, lenH))):
        layer.set_weights_for_gate(0, "INPUT", is_w, np.ones(shape, dtype=np.float32))
        layer.set_bias_for_gate(0, "INPUT", is_w, np.zeros(lenH, dtype=np.float32))
    output, _ = layer.forward(ones_input())
    np.testing.assert_array_equal(output[0], per_step([7, 42, 217, 1092]))
    assert (layer.num_layers, layer.hidden_size, layer.max_seq_length, layer.data_length) == (1, 5, 4, 7)
    with pytest.raises(AttributeError):
        layer.num_layers = 2


def test_input_mode_skip():
    layer = RNNv2(1, lenH, hIn, "RELU")
    layer.input_mode = "SKIP"
    layer.set_weights_for_gate(0, "INPUT", False, np.ones((lenH, lenH), dtype=np.float32))
    layer.set_bias_for_gate(0, "INPUT", True, np.zeros(lenH, dtype=np.float32))
    layer.set_bias_for_gate(0, "INPUT", False, np.zeros(lenH, dtype=np.float32))
    output, hidden = layer.forward(ones_input(w=5))
    np.testing.assert_array_equal(output[0], per_step([1, 6, 31, 156]))
    np.testing.assert_array_equal(hidden[0], per_step([156]))


def test_input_mode_skip_still_needs_input_bias():
    """The cookbook's `Missing weights/bias: (0, INPUT, 1)`: our error names the same three things."""
    layer = RNNv2(1, lenH, hIn, "RELU")
    layer.input_mode = "SKIP"
    layer.set_weights_for_gate(0, "INPUT", False, np.ones((lenH, lenH)))
    layer.set_bias_for_gate(0, "INPUT", False, np.zeros(lenH))
    with pytest.raises(ValueError, match=r"Missing weights/bias: \(0, INPUT, 1\)"):
        layer.forward(ones_input(w=5))


def test_direction_bidirection():
    layer = RNNv2(1, lenH, hIn, "RELU")
    layer.direction = "BIDIRECTION"
    for layer_index in (0, 1):  # the backward direction is layer index 1
        # The cookbook's (wIn, lenH) arrays, read flat as TensorRT reads Weights.
        layer.set_weights_for_gate(layer_index, "INPUT", True, np.ones((wIn, lenH), dtype=np.float32).reshape(-1))
        layer.set_weights_for_gate(layer_index, "INPUT", False, np.ones((lenH, lenH), dtype=np.float32))
        layer.set_bias_for_gate(layer_index, "INPUT", True, np.zeros(lenH, dtype=np.float32))
        layer.set_bias_for_gate(layer_index, "INPUT", False, np.zeros(lenH, dtype=np.float32))
    output, hidden = layer.forward(ones_input())
    assert output.shape == (1, 3, 4, 10) and hidden.shape == (1, 3, 2, 5)
    np.testing.assert_array_equal(output[0, :, :, :5], per_step([7, 42, 217, 1092]))
    np.testing.assert_array_equal(output[0, :, :, 5:], per_step([1092, 217, 42, 7]))
    np.testing.assert_array_equal(hidden[0], per_step([1092, 1092]))


def test_direction_example_transposed_weights_refused():
    layer = RNNv2(1, lenH, hIn, "RELU")
    layer.set_weights_for_gate(0, "INPUT", True, np.ones((wIn, lenH)))
    layer.set_weights_for_gate(0, "INPUT", False, np.ones((lenH, lenH)))
    layer.set_bias_for_gate(0, "INPUT", True, np.zeros(lenH))
    layer.set_bias_for_gate(0, "INPUT", False, np.zeros(lenH))
    with pytest.raises(ValueError, match=r"weights \(0, INPUT, 1\) has shape \(7, 5\); expected \(5, 7\) or flat \(35,\)"):
        layer.forward(ones_input())


def test_hidden_state():
    layer = relu_layer(hidden_state=np.ones((cIn, 1, lenH), dtype=np.float32))  # (3, 1, 5) for batch dims (1, 3)
    output, hidden = layer.forward(ones_input())
    np.testing.assert_array_equal(output[0], per_step([12, 67, 342, 1717]))
    np.testing.assert_array_equal(hidden[0], per_step([1717]))


def test_cell_state_lstm_unidirectional():
    """Tables of the single-layer unidirectional LSTM, with the zero state they were printed from."""
    layer = lstm_layer(1)
    layer.cell_state = np.zeros((cIn, 1, lenH), dtype=np.float32)
    output, hidden, cell = layer.forward(ones_input())
    np.testing.assert_allclose(output[0], per_step([0.760517, 0.963940, 0.995037, 0.999321]), rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(hidden[0], per_step([0.999321]), rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(cell[0], per_step([3.998999]), rtol=0, atol=LSTM_ATOL)


@pytest.mark.parametrize("steps, h, c", [(1, 0.760517, 0.999087), (2, 0.963940, 1.999046)])
def test_cell_state_worked_arithmetic(steps, h, c):
    """The chapter's worked steps: c_1 = 0.999087, h_1 = 0.760517; c_2 = 1.999046, h_2 = 0.963940."""
    x = np.ones((nIn, cIn, steps, wIn))
    _, hidden, cell = lstm_layer(1, max_seq_length=steps).forward(x)
    np.testing.assert_allclose(hidden, h, rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(cell, c, rtol=0, atol=LSTM_ATOL)


def test_lstm_code_with_ones_state_differs():
    """The cookbook code's `hidden_state` of ones does not give its printed tables (see module notes)."""
    layer = lstm_layer(1)
    layer.hidden_state = np.ones((cIn, 1, lenH), dtype=np.float32)
    output, _, _ = layer.forward(ones_input())
    assert abs(output[0, 0, 0, 0] - 0.760517) > 1e-3


def test_lstm_bidirectional():
    layer = lstm_layer(2)
    layer.cell_state = np.zeros((cIn, 2, lenH), dtype=np.float32)
    output, hidden, cell = layer.forward(ones_input())
    assert output.shape == (1, 3, 4, 10) and hidden.shape == cell.shape == (1, 3, 2, 5)
    forward = [0.760517, 0.963941, 0.995038, 0.999322]
    np.testing.assert_allclose(output[0, :, :, :5], per_step(forward), rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(output[0, :, :, 5:], per_step(forward[::-1]), rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(hidden[0], per_step([0.999322, 0.999322]), rtol=0, atol=LSTM_ATOL)
    np.testing.assert_allclose(cell[0], per_step([3.998999, 3.998999]), rtol=0, atol=LSTM_ATOL)


def test_legacy_add_rnn():
    """`add_rnn` with flat buffers; input shuffled to (S, N, E) = (4, 3, 7) as the cookbook does."""
    data = np.ones((cIn, hIn, wIn), dtype=np.float32).transpose(1, 0, 2)
    layer = RNN(1, lenH, hIn, "RELU", "LINEAR", "UNIDIRECTION",
                np.random.default_rng(0).random((lenH, wIn + lenH)), np.random.default_rng(1).random(lenH * 2))
    layer.weights = np.ones((lenH, wIn + lenH), dtype=np.float32)  # reset, as the cookbook does
    layer.bias = np.zeros(lenH * 2, dtype=np.float32)
    output, hidden = layer.forward(data)
    assert output.shape == (4, 3, 5) and hidden.shape == (1, 3, 5)
    expected = np.array([7, 42, 217, 1092], dtype=float)
    np.testing.assert_array_equal(output, np.broadcast_to(expected[:, None, None], (4, 3, 5)))
    np.testing.assert_array_equal(hidden, np.full((1, 3, 5), 1092.0))


def test_two_layers():
    layer = relu_layer(layer_count=2)
    layer.set_weights_for_gate(1, "INPUT", True, np.ones((lenH, lenH), dtype=np.float32))  # (H, H) after layer 0
    layer.set_weights_for_gate(1, "INPUT", False, np.ones((lenH, lenH), dtype=np.float32))
    layer.set_bias_for_gate(1, "INPUT", True, np.zeros(lenH, dtype=np.float32))
    layer.set_bias_for_gate(1, "INPUT", False, np.zeros(lenH, dtype=np.float32))
    output, hidden = layer.forward(ones_input())
    np.testing.assert_array_equal(output[0], per_step([35, 385, 3010, 20510]))
    np.testing.assert_array_equal(hidden[0], per_step([1092, 20510]))
