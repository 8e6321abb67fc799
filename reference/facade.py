"""`RNNv2`: the `IRNNv2Layer` surface over the functional core, so TensorRT 8 code ports line by line.

    rnn = RNNv2(1, 5, 4, "RELU")                  # network.add_rnn_v2(x, 1, 5, 4, RELU)
    rnn.set_weights_for_gate(0, "INPUT", True, W)  # same arguments as TensorRT
    output, hidden = rnn.forward(x)                # what get_output(0), get_output(1) hold

The input, `seq_lengths`, `hidden_state` and `cell_state` are NumPy arrays where TensorRT takes
tensors. `data_length` is read from the input, as TensorRT reads it from the input tensor.
"""

from __future__ import annotations

from .enums import RNNDirection, RNNGateType, RNNInputMode, RNNOperation, parse
from .rnn_v2 import rnn_v2
from .validate import positive_int, real_array


class RNNv2:
    """An `IRNNv2Layer` computed by the NumPy reference in float64."""

    def __init__(self, layer_count, hidden_size, max_seq_length, op, data_length=None):
        self._num_layers = positive_int(layer_count, "layer_count")
        self._hidden_size = positive_int(hidden_size, "hidden_size")
        self._max_seq_length = positive_int(max_seq_length, "max_seq_length")
        self._data_length = None if data_length is None else positive_int(data_length, "data_length")
        self.op = op
        self.direction = RNNDirection.UNIDIRECTION
        self.input_mode = RNNInputMode.LINEAR
        self.seq_lengths = None
        self.hidden_state = None
        self.cell_state = None
        self._weights: dict = {}
        self._biases: dict = {}

    num_layers = property(lambda self: self._num_layers)
    hidden_size = property(lambda self: self._hidden_size)
    max_seq_length = property(lambda self: self._max_seq_length)
    data_length = property(lambda self: self._data_length, doc="E, known once given or once an input was seen.")

    @property
    def op(self) -> RNNOperation:
        return self._op

    @op.setter
    def op(self, value):
        self._op = parse(RNNOperation, value, "op")

    @property
    def direction(self) -> RNNDirection:
        return self._direction

    @direction.setter
    def direction(self, value):
        self._direction = parse(RNNDirection, value, "direction")

    @property
    def input_mode(self) -> RNNInputMode:
        return self._input_mode

    @input_mode.setter
    def input_mode(self, value):
        self._input_mode = parse(RNNInputMode, value, "input_mode")

    def set_weights_for_gate(self, layer_index, gate, is_w, weights):
        """W (`is_w=True`) or R of one gate; shapes are checked against the whole layer in `forward`."""
        self._weights[(layer_index, parse(RNNGateType, gate, "gate"), is_w)] = real_array(weights, "weights")

    def set_bias_for_gate(self, layer_index, gate, is_w, bias):
        """Wb (`is_w=True`) or Rb of one gate."""
        self._biases[(layer_index, parse(RNNGateType, gate, "gate"), is_w)] = real_array(bias, "bias")

    def get_weights_for_gate(self, layer_index, gate, is_w):
        return self._weights.get((layer_index, parse(RNNGateType, gate, "gate"), is_w))

    def get_bias_for_gate(self, layer_index, gate, is_w):
        return self._biases.get((layer_index, parse(RNNGateType, gate, "gate"), is_w))

    def forward(self, x):
        """The layer's outputs for input `x` `(N..., S, E)`: `(output, hidden)`, plus `cell` for LSTM."""
        arr = real_array(x, "input")
        if self._data_length is not None and arr.ndim >= 1 and arr.shape[-1] != self._data_length:
            raise ValueError(f"input has data length {arr.shape[-1]} (shape {arr.shape}); expected data_length={self._data_length}")
        outputs = rnn_v2(arr, self.op, self._num_layers, self._hidden_size, self._weights, self._biases,
                         max_seq_length=self._max_seq_length, direction=self.direction,
                         input_mode=self.input_mode, seq_lengths=self.seq_lengths,
                         hidden_state=self.hidden_state, cell_state=self.cell_state)
        self._data_length = arr.shape[-1]
        return outputs

    __call__ = forward
