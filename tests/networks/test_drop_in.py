"""The drop-in `trt_cases.add_rnn_v2`: TensorRT 8 code ports by changing one call, and misuse fails loudly."""

import types

import numpy as np
import pytest

from trt_cases.networks import trt_api

pytestmark = pytest.mark.trt_build
RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("drop-in"), allow_module_level=True)

from trt_cases.networks.drop_in import add_rnn_v2  # noqa: E402

trt = RT.module
nIn, cIn, hIn, wIn, lenH = 1, 3, 4, 7, 5


def cookbook_network(op="RELU", w=wIn):
    network = trt.Builder(trt.Logger(trt.Logger.ERROR)).create_network(0)
    return network, network.add_input("inputT0", trt.float32, (nIn, cIn, hIn, w))


def test_cookbook_code_ports_by_changing_one_call():
    """The cookbook's bidirectional LSTM set-up, enums given as objects with `.name` like trt's."""
    network, x = cookbook_network()
    enum = lambda name: types.SimpleNamespace(name=name)  # noqa: E731  (trt.RNNOperation.LSTM and co.)
    layer = add_rnn_v2(network, x, 1, lenH, hIn, enum("LSTM"))
    layer.direction = enum("BIDIRECTION")
    h0 = network.add_constant((cIn, 2, lenH), np.ones((cIn, 2, lenH), dtype=np.float32))
    layer.hidden_state = h0.get_output(0)
    for index in range(2):
        for kind in ("INPUT", "CELL", "FORGET", "OUTPUT"):
            layer.set_weights_for_gate(index, enum(kind), True, np.ones((lenH, wIn), dtype=np.float32))
            layer.set_weights_for_gate(index, enum(kind), False, np.ones((lenH, lenH), dtype=np.float32))
            layer.set_bias_for_gate(index, enum(kind), True, np.zeros(lenH, dtype=np.float32))
            layer.set_bias_for_gate(index, enum(kind), False, np.zeros(lenH, dtype=np.float32))
    assert (layer.num_layers, layer.hidden_size, layer.max_seq_length, layer.data_length) == (1, 5, 4, 7)
    assert layer.num_outputs == 3
    shapes = [tuple(layer.get_output(i).shape) for i in range(3)]
    assert shapes == [(1, 3, 4, 10), (1, 3, 2, 5), (1, 3, 2, 5)]


def relu_layer(**attrs):
    network, x = cookbook_network(w=attrs.pop("w", wIn))
    layer = add_rnn_v2(network, x, 1, lenH, hIn, "RELU")
    for name, value in attrs.items():
        setattr(layer, name, value)
    for is_w, shape in ((True, (lenH, wIn)), (False, (lenH, lenH))):
        if not (is_w and layer.input_mode.name == "SKIP"):
            layer.set_weights_for_gate(0, "INPUT", is_w, np.ones(shape, dtype=np.float32))
        layer.set_bias_for_gate(0, "INPUT", is_w, np.zeros(lenH, dtype=np.float32))
    return network, layer


def test_setting_after_get_output_is_an_error():
    _, layer = relu_layer()
    layer.get_output(0)
    with pytest.raises(RuntimeError, match=r"cannot set direction after get_output\(\): the loop subgraph is already wired"):
        layer.direction = "BIDIRECTION"
    with pytest.raises(RuntimeError, match=r"cannot set weights after get_output"):
        layer.set_weights_for_gate(0, "INPUT", True, np.ones((lenH, wIn)))


def test_missing_weights_name_the_gate():
    network, x = cookbook_network()
    layer = add_rnn_v2(network, x, 1, lenH, hIn, "GRU")
    with pytest.raises(ValueError, match=r"Missing weights/bias: \(0, UPDATE, 1\)"):
        layer.get_output(0)


def test_skip_with_e_not_h():
    _, layer = relu_layer(input_mode="SKIP")
    with pytest.raises(ValueError, match=r"input_mode=SKIP requires data length E == hidden_size; got E=7, hidden_size=5"):
        layer.get_output(0)


def test_wrong_state_and_length_shapes():
    network, layer = relu_layer()
    layer.seq_lengths = network.add_input("lens", trt.int32, (3,))
    with pytest.raises(ValueError, match=r"seq_lengths has shape \(3,\); expected the input's batch dims \(1, 3\)"):
        layer.get_output(0)
    network, layer = relu_layer()
    layer.hidden_state = network.add_input("h0", trt.float32, (2, 1, lenH))
    with pytest.raises(ValueError, match=r"hidden_state has shape \(2, 1, 5\); expected \(N..., 1, 5\) with leading dims multiplying to the batch volume 3"):
        layer.get_output(0)


def test_wrong_sequence_length_and_output_index():
    network, x = cookbook_network()
    with pytest.raises(ValueError, match=r"input has shape \(1, 3, 4, 7\); expected \(N..., S=5, E\)"):
        add_rnn_v2(network, x, 1, lenH, 5, "RELU")
    _, layer = relu_layer()
    with pytest.raises(ValueError, match=r"get_output\(2\): a RELU RNN has outputs 0..1"):
        layer.get_output(2)


def test_unknown_implementation_and_missing_native():
    network, x = cookbook_network()
    with pytest.raises(ValueError, match=r"implementation='cudnn'; allowed: loop, native"):
        add_rnn_v2(network, x, 1, lenH, hIn, "RELU", implementation="cudnn")
    if not trt_api.has("INetworkDefinition.add_rnn_v2"):
        with pytest.raises(RuntimeError, match=r"implementation='native': INetworkDefinition.add_rnn_v2 not available in .*; use implementation='loop'"):
            add_rnn_v2(network, x, 1, lenH, hIn, "RELU", implementation="native")
