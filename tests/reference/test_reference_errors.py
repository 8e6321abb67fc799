"""Bad input to the reference: a ValueError or TypeError naming the argument, the value and what is allowed."""

import types

import numpy as np
import pytest

from reference import RNN, RNNGateType, RNNOperation, RNNv2, rnn_v2

H, S, E = 3, 4, 5


def tanh_layer(layer_count=1, **attrs):
    """A valid TANH layer with distinct weights; `attrs` are set on it before use."""
    rng = np.random.default_rng(0)
    layer = RNNv2(layer_count, H, S, "TANH")
    for name, value in attrs.items():
        setattr(layer, name, value)
    K = 2 if layer.direction.name == "BIDIRECTION" else 1
    for index in range(layer_count * K):
        if not (index < K and layer.input_mode.name == "SKIP"):
            layer.set_weights_for_gate(index, "INPUT", True, rng.uniform(-1, 1, (H, E if index < K else K * H)))
        layer.set_weights_for_gate(index, "INPUT", False, rng.uniform(-1, 1, (H, H)) * 0.3)
        layer.set_bias_for_gate(index, "INPUT", True, rng.uniform(-1, 1, H))
        layer.set_bias_for_gate(index, "INPUT", False, rng.uniform(-1, 1, H))
    return layer


def x(*batch, s=S, e=E):
    return np.random.default_rng(1).uniform(-1, 1, batch + (s, e))


def test_valid_layer_runs():
    output, hidden = tanh_layer().forward(x(2, 3))
    assert output.shape == (2, 3, S, H) and hidden.shape == (2, 3, 1, H)


@pytest.mark.parametrize("argument, value, error, message", [
    ("op", "LSTMX", ValueError, r"op='LSTMX' is not a RNNOperation; allowed: RELU, TANH, LSTM, GRU"),
    ("op", 2, TypeError, r"op=2: expected a RNNOperation member"),
    ("direction", "sideways", ValueError, r"direction='sideways' is not a RNNDirection; allowed: UNIDIRECTION, BIDIRECTION"),
    ("input_mode", "DIRECT", ValueError, r"input_mode='DIRECT' is not a RNNInputMode; allowed: LINEAR, SKIP"),
])
def test_unknown_enum_names(argument, value, error, message):
    layer = RNNv2(1, H, S, "TANH")
    with pytest.raises(error, match=message):
        setattr(layer, argument, value)


def test_unknown_gate_name():
    with pytest.raises(ValueError, match=r"gate='PEEPHOLE' is not a RNNGateType; allowed: INPUT, OUTPUT"):
        RNNv2(1, H, S, "TANH").set_weights_for_gate(0, "PEEPHOLE", True, np.ones((H, E)))


def test_enum_spellings_accepted():
    """TensorRT's names in any case, the C++ k-prefix, and objects with `.name` like `trt.RNNOperation.LSTM`."""
    layer = RNNv2(1, H, S, "lstm")
    assert layer.op is RNNOperation.LSTM
    layer.op = types.SimpleNamespace(name="GRU")
    assert layer.op is RNNOperation.GRU
    layer.op = "kRELU"
    assert layer.op is RNNOperation.RELU
    layer.set_bias_for_gate(0, types.SimpleNamespace(name="INPUT"), True, np.zeros(H))
    assert layer.get_bias_for_gate(0, RNNGateType.INPUT, True) is not None


@pytest.mark.parametrize("args, error, message", [
    ((0, H, S, "TANH"), ValueError, r"layer_count=0: must be an int >= 1"),
    ((1, True, S, "TANH"), TypeError, r"hidden_size=True: expected an int >= 1"),
    ((1, H, 2.5, "TANH"), TypeError, r"max_seq_length=2.5: expected an int >= 1"),
])
def test_bad_sizes(args, error, message):
    with pytest.raises(error, match=message):
        RNNv2(*args)


@pytest.mark.parametrize("data, message", [
    (x(2, s=S + 1), r"input has sequence length S=5 \(shape \(2, 5, 5\)\); expected max_seq_length=4"),
    (np.ones(E), r"input has shape \(5,\); expected \(N1, ..., Np, S, E\)"),
    (np.ones((2, 0, S, E)), r"input has shape \(2, 0, 4, 5\); expected \(N1, ..., Np, S, E\) with every dim >= 1"),
])
def test_wrong_input_shape(data, message):
    with pytest.raises(ValueError, match=message):
        tanh_layer().forward(data)


def test_input_of_strings_is_type_error():
    with pytest.raises(TypeError, match=r"input: expected an array of real numbers, got dtype <U1"):
        tanh_layer().forward(np.full((2, S, E), "a"))


def test_data_length_mismatch():
    layer = RNNv2(1, H, S, "TANH", data_length=E + 1)
    with pytest.raises(ValueError, match=r"input has data length 5 \(shape \(2, 4, 5\)\); expected data_length=6"):
        layer.forward(x(2))


def test_missing_recurrent_weights():
    layer = RNNv2(1, H, S, "TANH")
    layer.set_weights_for_gate(0, "INPUT", True, np.ones((H, E)))
    with pytest.raises(ValueError, match=r"Missing weights/bias: \(0, INPUT, 0\): set_weights_for_gate\(layer_index=0, gate=INPUT, is_w=False\)"):
        layer.forward(x(2))


def test_missing_recurrent_bias():
    layer = tanh_layer()
    del layer._biases[(0, RNNGateType.INPUT, False)]
    with pytest.raises(ValueError, match=r"Missing weights/bias: \(0, INPUT, 0\): set_bias_for_gate"):
        layer.forward(x(2))


def test_missing_lstm_gate():
    layer = RNNv2(1, H, S, "LSTM")
    for gate in ("INPUT", "FORGET", "CELL"):  # OUTPUT never set
        for is_w, shape in ((True, (H, E)), (False, (H, H))):
            layer.set_weights_for_gate(0, gate, is_w, np.ones(shape))
            layer.set_bias_for_gate(0, gate, is_w, np.ones(H))
    with pytest.raises(ValueError, match=r"Missing weights/bias: \(0, OUTPUT, 1\)"):
        layer.forward(x(2))


def test_gate_not_of_op():
    layer = tanh_layer()
    layer.set_weights_for_gate(0, "FORGET", True, np.ones((H, E)))
    with pytest.raises(ValueError, match=r"gate=FORGET is not a gate of a TANH RNN; allowed: INPUT"):
        layer.forward(x(2))


def test_layer_index_out_of_range():
    layer = tanh_layer()
    layer.set_weights_for_gate(1, "INPUT", True, np.ones((H, E)))
    with pytest.raises(ValueError, match=r"layer_index=1 is out of range: a UNIDIRECTION RNN with 1 layer\(s\) has layer indices 0..0"):
        layer.forward(x(2))


@pytest.mark.parametrize("key, value, message", [
    ((0, "INPUT", True), np.ones((E, H)), r"weights \(0, INPUT, 1\) has shape \(5, 3\); expected \(3, 5\) or flat \(15,\)"),
    ((0, "INPUT", False), np.ones((H, H + 1)), r"weights \(0, INPUT, 0\) has shape \(3, 4\); expected \(3, 3\)"),
])
def test_wrong_weight_shape(key, value, message):
    layer = tanh_layer()
    layer.set_weights_for_gate(*key, value)
    with pytest.raises(ValueError, match=message):
        layer.forward(x(2))


def test_second_layer_weight_shape_is_k_times_h():
    layer = tanh_layer(layer_count=2, direction="BIDIRECTION")
    layer.set_weights_for_gate(2, "INPUT", True, np.ones((H, H)))
    with pytest.raises(ValueError, match=r"weights \(2, INPUT, 1\) has shape \(3, 3\); expected \(3, 6\)"):
        layer.forward(x(2))


def test_wrong_bias_shape():
    layer = tanh_layer()
    layer.set_bias_for_gate(0, "INPUT", True, np.ones(H + 1))
    with pytest.raises(ValueError, match=r"bias \(0, INPUT, 1\) has shape \(4,\); expected \(3,\)"):
        layer.forward(x(2))


def test_weights_of_strings_is_type_error():
    with pytest.raises(TypeError, match=r"weights: expected an array of real numbers, got dtype <U1"):
        RNNv2(1, H, S, "TANH").set_weights_for_gate(0, "INPUT", True, [["a"]])


def test_skip_needs_e_equal_h():
    layer = RNNv2(1, H, S, "TANH")
    layer.input_mode = "SKIP"
    layer.set_weights_for_gate(0, "INPUT", False, np.eye(H))
    layer.set_bias_for_gate(0, "INPUT", True, np.zeros(H))
    layer.set_bias_for_gate(0, "INPUT", False, np.zeros(H))
    with pytest.raises(ValueError, match=r"input_mode=SKIP requires data length E == hidden_size; got E=5, hidden_size=3"):
        layer.forward(x(2))


def test_skip_refuses_a_first_layer_w():
    layer = tanh_layer(input_mode="SKIP")
    layer.set_weights_for_gate(0, "INPUT", True, np.eye(H))
    with pytest.raises(ValueError, match=r"weights \(0, INPUT, 1\) given, but input_mode=SKIP has no W for the first layer"):
        layer.forward(x(2, e=H))


@pytest.mark.parametrize("lengths, error, message", [
    (np.array([[0, 4, 4]]), ValueError, r"seq_lengths=\[\[0, 4, 4\]\]: \[0\] outside \[1, max_seq_length=4\]"),
    (np.array([[1, 5, 4]]), ValueError, r"\[5\] outside \[1, max_seq_length=4\]"),
    (np.array([1, 2, 3]), ValueError, r"seq_lengths has shape \(3,\); expected the input's batch dims \(1, 3\)"),
    (np.array([[1.0, np.nan, 2.0]]), ValueError, r"seq_lengths=\[\[1.0, nan, 2.0\]\] contains NaN or Inf"),
    (np.array([[1.0, np.inf, 2.0]]), ValueError, r"contains NaN or Inf; allowed: whole numbers in \[1, 4\]"),
    (np.array([[1.5, 2.0, 2.0]]), ValueError, r"contains fractions"),
    (np.array([[True, True, True]]), TypeError, r"seq_lengths: expected an int32 array, got dtype bool"),
])
def test_bad_seq_lengths(lengths, error, message):
    with pytest.raises(error, match=message):
        tanh_layer(seq_lengths=lengths).forward(x(1, 3))


@pytest.mark.parametrize("shape", [(2, 3, 1, H + 1), (2, 3, 2, H), (5, 1, H), (H,)])
def test_bad_hidden_state_shape(shape):
    with pytest.raises(ValueError, match=r"hidden_state has shape .*; expected \(N..., 1, 3\) with leading dims multiplying to the batch volume 6"):
        tanh_layer(hidden_state=np.zeros(shape)).forward(x(2, 3))


def test_state_with_flattened_batch_dims_accepted():
    """The cookbook passes (3, 1, 5) for batch dims (1, 3): leading dims need only multiply to N."""
    state = np.random.default_rng(2).uniform(-1, 1, (1, 3, 1, H))
    a = tanh_layer(hidden_state=state).forward(x(1, 3))
    b = tanh_layer(hidden_state=state.reshape(3, 1, H)).forward(x(1, 3))
    np.testing.assert_array_equal(a[0], b[0])


def test_cell_state_on_non_lstm():
    with pytest.raises(ValueError, match=r"cell_state is set but op=TANH: only LSTM has a cell state"):
        tanh_layer(cell_state=np.zeros((2, 1, H))).forward(x(2))


def test_functional_core_checks_max_seq_length():
    with pytest.raises(TypeError, match=r"max_seq_length=-1.0: expected an int >= 1"):
        rnn_v2(x(2), "TANH", 1, H, {}, {}, max_seq_length=-1.0)


def test_nan_and_inf_propagate_and_are_not_masked():
    data = x(3)
    data[1, 2, 0] = np.nan
    data[2, 0, 0] = np.inf
    output, hidden = tanh_layer().forward(data)
    clean, _ = tanh_layer().forward(x(3))
    np.testing.assert_array_equal(output[0], clean[0])  # other sequences unaffected
    assert np.all(np.isfinite(output[1, :2])) and np.all(np.isnan(output[1, 2:]))
    assert np.isnan(hidden[1]).all()
    np.testing.assert_array_equal(np.abs(output[2, 0]), 1.0)  # tanh(+-inf): arithmetic, not an error


@pytest.mark.parametrize("weights, bias, message", [
    (np.ones(H * (E + H) - 1), np.zeros(2 * H), r"weights has 23 values; this configuration needs exactly 24"),
    (np.ones(H * (E + H)), np.zeros(2 * H + 1), r"bias has 7 values; this configuration needs exactly 6"),
])
def test_legacy_buffer_sizes(weights, bias, message):
    layer = RNN(1, H, S, "TANH", "LINEAR", "UNIDIRECTION", weights, bias)
    with pytest.raises(ValueError, match=message):
        layer.forward(np.ones((S, 2, E)))


def test_legacy_input_must_be_sequence_major_3d():
    layer = RNN(1, H, S, "TANH", "LINEAR", "UNIDIRECTION", np.ones(H * (E + H)), np.zeros(2 * H))
    with pytest.raises(ValueError, match=r"input has shape \(1, 4, 2, 5\); the legacy RNN layer takes \(S, N, E\)"):
        layer.forward(np.ones((1, S, 2, E)))


def test_legacy_state_layout():
    layer = RNN(1, H, S, "TANH", "LINEAR", "UNIDIRECTION", np.ones(H * (E + H)), np.zeros(2 * H))
    layer.hidden_state = np.zeros((2, 1, H))  # (N, L*K, H) instead of the legacy (L*K, N, H)
    with pytest.raises(ValueError, match=r"hidden_state has shape \(2, 1, 3\); the legacy layer expects \(L\*K, N, H\) = \(1, 2, 3\)"):
        layer.forward(np.ones((S, 2, E)))
