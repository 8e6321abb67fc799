"""`add_rnn_v2` for TensorRT 10/11: the `IRNNv2Layer` that NVIDIA removed, rebuilt from loops.

Code written against TensorRT 8 ports by changing one call:

    layer = network.add_rnn_v2(x, 2, 64, 30, trt.RNNOperation.LSTM)        # TensorRT <= 9.3
    layer = trt_cases.add_rnn_v2(network, x, 2, 64, 30, trt.RNNOperation.LSTM)  # any TensorRT

The returned object has the layer's surface (`op`, `direction`, `input_mode`, `seq_lengths`,
`hidden_state`, `cell_state`, `set_weights_for_gate`, `set_bias_for_gate`, `num_layers`,
`hidden_size`, `max_seq_length`, `data_length`, `get_output(i)`, `num_outputs`). Enum arguments take
TensorRT's enums, this package's, or their names. The loop subgraph is wired into the network at
the first `get_output`, from everything set by then; setting anything afterwards is an error rather
than a change that silently never reaches the network. `implementation="native"` returns the real
`IRNNv2Layer` where the installed TensorRT still has one.

As the native layer allowed, the input's batch dims may be dynamic (-1) and so may S, up to
`max_seq_length` (the optimization profile bounds it); the loop then reads them at run time.

Like the native layer, it computes in its input's type: a HALF (or BF16) input makes a HALF (BF16) RNN,
weights and biases (given as float32 arrays or `trt.Weights`) converted to that type, and the
states must be of that type too (in a strongly typed network nothing converts them silently).
"""

from __future__ import annotations

import numpy as np

from reference import RNNDirection, RNNGateType, RNNInputMode, RNNOperation
from reference.enums import parse
from reference.rnn_v2 import stack_parameters
from reference.validate import positive_int, real_array

from . import trt_api
from .loop_builder import add_rnn_loop, layer_tensors, precision_of

IMPLEMENTATIONS = ("loop", "native")


def add_rnn_v2(network, input, layer_count, hidden_size, max_seq_length, op, *, implementation="loop"):
    """An RNN layer on `input` `(N..., S, E)` in `network`: the loop drop-in, or TensorRT's own."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation={implementation!r}; allowed: {', '.join(IMPLEMENTATIONS)}")
    rt = trt_api.load()
    if rt is None:
        raise RuntimeError(trt_api.missing("drop-in"))
    if implementation == "native":
        reason = trt_api.missing("native")
        if reason:
            raise RuntimeError(f"implementation='native': {reason}; use implementation='loop'")
        native_op = getattr(rt.module.RNNOperation, parse(RNNOperation, op, "op").name)
        return network.add_rnn_v2(input, layer_count, hidden_size, max_seq_length, native_op)
    return LoopRNNv2Layer(rt.module, network, input, layer_count, hidden_size, max_seq_length, op)


class LoopRNNv2Layer:
    """The `IRNNv2Layer` surface over a loop subgraph (see the module docstring)."""

    def __init__(self, trt, network, input, layer_count, hidden_size, max_seq_length, op):
        self._trt, self._network, self._input = trt, network, input
        self._num_layers = positive_int(layer_count, "layer_count")
        self._hidden_size = positive_int(hidden_size, "hidden_size")
        self._max_seq_length = positive_int(max_seq_length, "max_seq_length")
        self._precision = precision_of(trt, input.dtype)
        shape = tuple(input.shape)
        if len(shape) < 2 or shape[-2] not in (self._max_seq_length, -1) or shape[-1] < 0:
            raise ValueError(f"input has shape {shape}; expected (N..., S={self._max_seq_length}, E), "
                             f"or S=-1 (dynamic, up to max_seq_length) and batch dims -1")
        self._outputs = None
        self._weights, self._biases = {}, {}
        self.op = op
        self.direction = RNNDirection.UNIDIRECTION
        self.input_mode = RNNInputMode.LINEAR
        self.seq_lengths = self.hidden_state = self.cell_state = None

    num_layers = property(lambda self: self._num_layers)
    hidden_size = property(lambda self: self._hidden_size)
    max_seq_length = property(lambda self: self._max_seq_length)
    data_length = property(lambda self: tuple(self._input.shape)[-1])
    num_outputs = property(lambda self: 3 if self.op is RNNOperation.LSTM else 2)

    def __setattr__(self, name, value):
        if name in ("op", "direction", "input_mode", "seq_lengths", "hidden_state", "cell_state"):
            self._check_not_wired(name)
            cls = {"op": RNNOperation, "direction": RNNDirection, "input_mode": RNNInputMode}.get(name)
            if cls is not None:
                value = parse(cls, value, name)
        object.__setattr__(self, name, value)

    def set_weights_for_gate(self, layer_index, gate, is_w, weights):
        self._check_not_wired("weights")
        self._weights[(layer_index, parse(RNNGateType, gate, "gate"), is_w)] = real_array(_numpy(weights), "weights")

    def set_bias_for_gate(self, layer_index, gate, is_w, bias):
        self._check_not_wired("bias")
        self._biases[(layer_index, parse(RNNGateType, gate, "gate"), is_w)] = real_array(_numpy(bias), "bias")

    def get_output(self, index):
        """Output `index` (0 output, 1 hidden, 2 cell for LSTM); wires the loop subgraph on first use."""
        if not (isinstance(index, int) and 0 <= index < self.num_outputs):
            raise ValueError(f"get_output({index!r}): a {self.op.name} RNN has outputs 0..{self.num_outputs - 1}")
        if self._outputs is None:
            self._outputs = self._wire()
        return self._outputs[index]

    def _check_not_wired(self, what):
        if getattr(self, "_outputs", None) is not None:
            raise RuntimeError(f"cannot set {what} after get_output(): the loop subgraph is already wired; "
                               "set every attribute, weight and bias first")

    def _wire(self):
        trt, network = self._trt, self._network
        K = 2 if self.direction is RNNDirection.BIDIRECTION else 1
        *batch, S, E = tuple(self._input.shape)
        if self.input_mode is RNNInputMode.SKIP and E != self._hidden_size:
            raise ValueError(f"input_mode=SKIP requires data length E == hidden_size; got E={E}, hidden_size={self._hidden_size}")
        if self.cell_state is not None and self.op is not RNNOperation.LSTM:
            raise ValueError(f"cell_state is set but op={self.op.name}: only LSTM has a cell state")
        if self.seq_lengths is not None and tuple(self.seq_lengths.shape) != tuple(batch):
            raise ValueError(f"seq_lengths has shape {tuple(self.seq_lengths.shape)}; expected the input's batch dims {tuple(batch)}")
        if self.seq_lengths is not None and self.seq_lengths.dtype != trt.DataType.INT32:
            raise ValueError(f"seq_lengths has type {self.seq_lengths.dtype.name}; expected INT32")
        for name in ("hidden_state", "cell_state"):  # like TensorRT: leading dims need only multiply to N
            tensor = getattr(self, name)
            if tensor is not None and tensor.dtype != self._input.dtype:
                raise ValueError(f"{name} has type {tensor.dtype.name}; expected the input's type {self._input.dtype.name}")
            if tensor is not None:
                shape, tail = tuple(tensor.shape), (self._num_layers * K, self._hidden_size)
                dynamic = any(d < 0 for d in (*batch, *shape[:-2]))  # the volume is checked at run time
                if shape[-2:] != tail or not dynamic and int(np.prod(shape[:-2])) != int(np.prod(batch)):
                    raise ValueError(f"{name} has shape {shape}; expected (N..., {tail[0]}, {tail[1]}) with "
                                     f"leading dims multiplying to the batch volume {int(np.prod(batch))}")
        stacked = stack_parameters(self._weights, self._biases, op=self.op, layer_count=self._num_layers,
                                   hidden_size=self._hidden_size, data_length=E, direction=self.direction,
                                   input_mode=self.input_mode)
        keep = self._keep = []  # arrays TensorRT reads at build time (its Weights also hold them)
        layers = layer_tensors(trt, network, stacked, self.op.name, self._hidden_size, keep, precision=self._precision)
        return add_rnn_loop(trt, network, self._input, op=self.op, layer_count=self._num_layers,
                            hidden_size=self._hidden_size, direction=self.direction, layers=layers,
                            seq_lengths=self.seq_lengths, hidden_state=self.hidden_state,
                            cell_state=self.cell_state, keep=keep)


def _numpy(value):
    """A NumPy view of an array or a `trt.Weights`."""
    return value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value
