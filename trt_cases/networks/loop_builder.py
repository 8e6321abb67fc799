"""An `IRNNv2Layer` built from TensorRT 10/11 layers: `ILoop`, recurrences, iterators, matrix
multiplies, element-wise and activation layers (the API TensorRT-RTX has too).

One loop per direction per layer. The input projection `W·x + Wb` of every step is one matrix
multiply before the loop; inside it, `R·h + Rb` and the cell's equations. With `seq_lengths`, a
step counter masks each update: past its length a sequence keeps its state and outputs zero, and
the reverse loop (a reversed iterator, its outputs concatenated in reverse) reaches a sequence's
first live step at `len-1`. Tensors are `(N, ...)` with the batch dims flattened, as the
reference computes; the outputs are reshaped back to `IRNNv2Layer` layout.

An input with dynamic (-1) batch dims and S makes a dynamic RNN: SHAPE of the input, cast to INT32 and
sliced, gives the batch dims, their volume N and S at run time (named `<input>/batch`, `/N`, `/S`); reshapes
and slices take them as shape tensors (`set_input`), the zero states are a `(1, H)` constant broadcast by a
stride-0 slice, and each loop's trip limit is S. A static input builds exactly the static network.

The RNN computes in its input's type (FLOAT, HALF or BF16): every float constant (weights, biases,
zeros, GRU's 1 of `1 - z`) is made in that type, so a strongly typed network sees no mixed types;
step counters and `seq_lengths` stay INT32.

Tensors that matter for debugging are named `<input>/L<layer>.<fwd|bwd>.<what>`, `<input>` being the
name of the RNN's input tensor (unique in a network): `xw` (W·x + Wb, all steps), inside the loop
`xw_t`, `gate.<RNNGateType>` (each gate's pre-activation), `h`, `c` (LSTM), and with `seq_lengths`
`t` (the step's position), `live` and `out`; the loop is named `<input>/L<layer>.<fwd|bwd>`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference import GATES, RNNDirection, RNNOperation
from reference.enums import parse

from ..cases import half


class LayerTensors(NamedTuple):
    """One layer index's parameters as network tensors, gates stacked in `reference.GATES` order."""
    W: object | None  # (1, G*H, cols), None for a SKIP first layer
    R: object  # (G*H, H)
    Wb: object  # (1, 1, G*H)
    Rb: object  # (1, G*H)


def parameter_shapes(op, hidden_size, cols):
    """The tensor shapes of `LayerTensors` fields for a layer whose W has `cols` columns."""
    GH = len(GATES[RNNOperation[op]]) * hidden_size
    return {"W": (1, GH, cols), "R": (GH, hidden_size), "Wb": (1, 1, GH), "Rb": (1, GH)}


def precision_of(trt, dtype, what="input"):
    """The precision name ("fp32", "fp16", "bf16") of a TensorRT float DataType."""
    names = {trt.DataType.FLOAT: "fp32", trt.DataType.HALF: "fp16"}
    if hasattr(trt.DataType, "BF16"):
        names[trt.DataType.BF16] = "bf16"
    if dtype not in names:
        raise ValueError(f"{what} has type {getattr(dtype, 'name', dtype)}; the RNN computes in "
                         f"{', '.join(t.name for t in names)}")
    return names[dtype]


def data_type(trt, precision):
    """The TensorRT DataType of `precision`."""
    return {"fp32": trt.DataType.FLOAT, "fp16": trt.DataType.HALF, "bf16": getattr(trt.DataType, "BF16", None)}[precision]


def layer_tensors(trt, network, stacked, op, hidden_size, keep, inputs=None, prefix="", precision="fp32"):
    """`LayerTensors` per layer index from `reference.rnn_v2.stack_parameters` output: constants in
    `precision`, or network inputs of that type named `<prefix><field>.<index>` whose float32 arrays
    (the runner converts them to the input's type) are put into `inputs`."""
    tensors = []
    for index, p in enumerate(stacked):
        shapes = parameter_shapes(op, hidden_size, 0 if p.W is None else p.W.shape[1])
        fields = {}
        for field, value in p._asdict().items():
            if value is None:
                fields[field] = None
                continue
            array = np.ascontiguousarray(value.reshape(shapes[field]), dtype=np.float32)
            if inputs is not None:
                name = f"{prefix}{field}.{index}"
                fields[field] = network.add_input(name, data_type(trt, precision), array.shape)
                inputs[name] = array
            else:
                fields[field] = half.add_constant(trt, network, array, precision, keep)
        tensors.append(LayerTensors(**fields))
    return tensors


class _Net:
    """Small helpers over an INetworkDefinition; `keep` holds arrays TensorRT reads at build time."""

    def __init__(self, trt, network, keep, precision="fp32"):
        self.trt, self.network, self.keep, self.precision = trt, network, keep, precision
        self.scope = ""  # prefix of the names given by `name`, e.g. "input/L0.fwd."

    def name(self, tensor, label):
        """Name `tensor` `<scope><label>`, so that a debugger can ask for it by name; return it."""
        tensor.name = self.scope + label
        return tensor

    def const(self, array):
        """A constant: integer arrays as they are, float arrays in the network's precision."""
        array = np.asarray(array)
        if array.dtype.kind == "f":
            return half.add_constant(self.trt, self.network, array, self.precision, self.keep)
        array = np.array(array, order="C")  # a copy that keeps 0-d shapes (ascontiguousarray makes them 1-d)
        self.keep.append(array)
        return self.network.add_constant(array.shape, self.trt.Weights(array)).get_output(0)

    def reshape(self, tensor, shape):
        """`tensor` reshaped to `shape`: ints, or ints and run-time dims (see `dims`)."""
        shape = self.dims(shape)
        layer = self.network.add_shuffle(tensor)
        if isinstance(shape, tuple):
            layer.reshape_dims = shape
        else:
            layer.set_input(1, shape)
        return layer.get_output(0)

    def dims(self, parts):
        """`parts` (ints, and 1-d INT32 shape tensors of run-time dims) as a tuple of ints when all are ints,
        else as one INT32 shape tensor: their concatenation."""
        parts = tuple(parts)
        if all(isinstance(p, (int, np.integer)) for p in parts):
            return tuple(int(p) for p in parts)
        tensors = [self.const(np.array([p], dtype=np.int32)) if isinstance(p, (int, np.integer)) else p for p in parts]
        return self.concat(tensors, axis=0)

    def slice(self, tensor, start, size, stride):
        """`ISliceLayer` of `size` (ints, or with run-time dims: see `dims`)."""
        size = self.dims(size)
        if isinstance(size, tuple):
            return self.network.add_slice(tensor, start, size, stride).get_output(0)
        layer = self.network.add_slice(tensor, start, (1,) * len(start), stride)
        layer.set_input(2, size)
        return layer.get_output(0)

    def int32(self, tensor):
        """`tensor` as INT32 (a SHAPE layer's output is INT64 from TensorRT 10 on, INT32 before)."""
        if tensor.dtype == self.trt.int32:
            return tensor
        return self.network.add_cast(tensor, self.trt.int32).get_output(0)

    def run_dims(self, x, batch_rank):
        """`x`'s batch dims `(nb,)` (None without batch dims), their volume N `(1,)` and S `(1,)`, as INT32
        shape tensors read at run time."""
        shape = self.int32(self.network.add_shape(x).get_output(0))
        part = [self.network.add_slice(shape, (i,), (1,), (1,)).get_output(0) for i in range(batch_rank + 1)]
        if batch_rank == 0:
            return None, self.const(np.array([1], dtype=np.int32)), self.name(part[0], "S")
        batch = self.network.add_slice(shape, (0,), (batch_rank,), (1,)).get_output(0)
        N = part[0]
        for dim in part[1:batch_rank]:
            N = self.ew(N, dim, "PROD")
        return self.name(batch, "batch"), self.name(N, "N"), self.name(part[batch_rank], "S")

    def zeros(self, N, H):
        """An `(N, H)` tensor of zeros; with a run-time N, a `(1, H)` constant broadcast by a stride-0 slice."""
        if isinstance(N, (int, np.integer)):
            return self.const(np.zeros((N, H), dtype=np.float32))
        return self.slice(self.const(np.zeros((1, H), dtype=np.float32)), (0, 0), (N, H), (0, 1))

    def matmul_t(self, a, b):
        """a @ b^T."""
        mm = self.trt.MatrixOperation
        return self.network.add_matrix_multiply(a, mm.NONE, b, mm.TRANSPOSE).get_output(0)

    def ew(self, a, b, op):
        return self.network.add_elementwise(a, b, getattr(self.trt.ElementWiseOperation, op)).get_output(0)

    def act(self, tensor, kind):
        return self.network.add_activation(tensor, getattr(self.trt.ActivationType, kind)).get_output(0)

    def gate(self, tensor, index, N, H):
        """Columns `index*H : (index+1)*H` of an `(N, G*H)` tensor."""
        return self.slice(tensor, (0, index * H), (N, H), (1, 1))

    def rows(self, matrix, index, H):
        """Rows `index*H : (index+1)*H` of a `(G*H, H)` matrix: one gate's R."""
        return self.network.add_slice(matrix, (index * H, 0), (H, H), (1, 1)).get_output(0)

    def concat(self, tensors, axis):
        if len(tensors) == 1:
            return tensors[0]
        layer = self.network.add_concatenation(list(tensors))
        layer.axis = axis
        return layer.get_output(0)


def add_rnn_loop(trt, network, x, *, op, layer_count, hidden_size, direction, layers,
                 seq_lengths=None, hidden_state=None, cell_state=None, keep, name=None):
    """Wire an RNN into `network` on input `x` `(N..., S, E)`; return `[output, hidden(, cell)]` tensors.

    `layers` holds a `LayerTensors` per layer index (W None: SKIP); `seq_lengths` `(N...)` int32, and the states
    `(N..., L*K, H)`, are tensors or None. `keep` receives arrays that must outlive the build. Everything
    computes in `x`'s type. `name` starts the debug names (default: `x`'s name).
    """
    op = parse(RNNOperation, op, "op")
    K = 2 if parse(RNNDirection, direction, "direction") is RNNDirection.BIDIRECTION else 1
    net = _Net(trt, network, keep, precision_of(trt, x.dtype))
    name = x.name if name is None else name
    *batch, S, E = tuple(x.shape)
    H, G = hidden_size, len(GATES[op])
    if any(d < 0 for d in (*batch, S)):  # dynamic: batch dims and S read from x's shape at run time
        net.scope = f"{name}/"
        batch_shape, N, S = net.run_dims(x, len(batch))
        batch = [] if batch_shape is None else [batch_shape]
    else:
        N = int(np.prod(batch, dtype=np.int64))
    seq = net.reshape(x, (N, S, E))
    lengths = None if seq_lengths is None else net.reshape(seq_lengths, (N, 1))
    states = {name: None if t is None else net.reshape(t, (N, layer_count * K, H))
              for name, t in (("hidden", hidden_state), ("cell", cell_state))}
    zeros = net.zeros(N, H)
    finals = {"hidden": [], "cell": []}
    for layer in range(layer_count):
        halves = []
        for d in range(K):
            index = K * layer + d
            p = layers[index]
            net.scope = f"{name}/L{layer}.{('fwd', 'bwd')[d]}."
            if p.W is None:  # SKIP: the input itself feeds every gate
                xw = net.ew(net.concat([seq] * G, axis=2), p.Wb, "SUM")
            else:
                xw = net.ew(net.matmul_t(seq, p.W), p.Wb, "SUM")
            net.name(xw, "xw")
            h0, c0 = (zeros if states[k] is None else net.reshape(
                net.slice(states[k], (0, index, 0), (N, 1, H), (1, 1, 1)), (N, H))
                for k in ("hidden", "cell"))
            out, h, c = _direction(net, op, xw, h0, c0, p.R, p.Rb, lengths, S, N, H, reverse=d == 1)
            halves.append(out)
            finals["hidden"].append(net.reshape(h, (N, 1, H)))
            if op is RNNOperation.LSTM:
                finals["cell"].append(net.reshape(c, (N, 1, H)))
        seq = net.concat(halves, axis=2)
    outputs = [net.reshape(seq, (*batch, S, K * H)),
               net.reshape(net.concat(finals["hidden"], axis=1), (*batch, layer_count * K, H))]
    if op is RNNOperation.LSTM:
        outputs.append(net.reshape(net.concat(finals["cell"], axis=1), (*batch, layer_count * K, H)))
    return outputs


def _direction(net, op, xw, h0, c0, R, Rb, lengths, S, N, H, reverse):
    """One ILoop over the S steps of `xw` `(N, S, G*H)`; returns outputs `(N, S, H)` and final h, c."""
    trt, loop = net.trt, net.network.add_loop()
    loop.name = net.scope.rstrip(".")
    trip = net.const(np.array(S, dtype=np.int32)) if isinstance(S, int) else net.reshape(S, ())
    loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    xw_t = net.name(loop.add_iterator(xw, 1, reverse).get_output(0), "xw_t")  # (N, G*H)
    h_rec = loop.add_recurrence(h0)
    c_rec = loop.add_recurrence(c0) if op is RNNOperation.LSTM else None  # only LSTM carries a cell
    h_prev, c_prev = h_rec.get_output(0), c0 if c_rec is None else c_rec.get_output(0)
    h, c = STEPS[op](net, xw_t, h_prev, c_prev, R, Rb, N, H)
    out = h
    if lengths is not None:
        t_rec = loop.add_recurrence(_first_step(net, S, reverse))
        t = net.name(t_rec.get_output(0), "t")
        t_rec.set_input(1, net.ew(t, net.const(np.full((1, 1), -1 if reverse else 1, dtype=np.int32)), "SUM"))
        live = net.name(net.ew(t, lengths, "LESS"), "live")  # (N, 1): this step lies within the sequence
        h = net.network.add_select(live, h, h_prev).get_output(0)
        if c_rec is not None:
            c = net.network.add_select(live, c, c_prev).get_output(0)
        out = net.network.add_select(live, h, net.const(np.zeros((1, 1), dtype=np.float32))).get_output(0)
        net.name(out, "out")
    h_rec.set_input(1, net.name(h, "h"))
    if c_rec is not None:
        c_rec.set_input(1, net.name(c, "c"))
    kind = trt.LoopOutput.REVERSE if reverse else trt.LoopOutput.CONCATENATE
    outputs = loop.add_loop_output(out, kind, 1)
    outputs.set_input(1, trip)
    # LAST_VALUE of a recurrence is its value after the final iteration (NVIDIA's sampleCharRNN and
    # the ONNX parser's Y_h rely on this).
    last_h = loop.add_loop_output(h_rec.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
    last_c = c0 if c_rec is None else loop.add_loop_output(c_rec.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
    return outputs.get_output(0), last_h, last_c


def _first_step(net, S, reverse):
    """The `(1, 1)` INT32 position of a loop's first step: 0, or S-1 reversed (S an int or a run-time `(1,)`)."""
    if isinstance(S, int) or not reverse:
        return net.const(np.full((1, 1), S - 1 if reverse else 0, dtype=np.int32))
    return net.ew(net.reshape(S, (1, 1)), net.const(np.ones((1, 1), dtype=np.int32)), "SUB")


def _pre(net, xw_t, h, R, Rb):
    """W·x + Wb + R·h + Rb for every gate at once."""
    return net.ew(xw_t, net.ew(net.matmul_t(h, R), Rb, "SUM"), "SUM")


def relu_step(net, xw_t, h, c, R, Rb, N, H):
    return net.act(net.name(_pre(net, xw_t, h, R, Rb), "gate.INPUT"), "RELU"), c


def tanh_step(net, xw_t, h, c, R, Rb, N, H):
    return net.act(net.name(_pre(net, xw_t, h, R, Rb), "gate.INPUT"), "TANH"), c


def lstm_step(net, xw_t, h, c, R, Rb, N, H):
    """i, f, o = sigmoid, c~ = tanh; C = f*C + i*c~; H = o*tanh(C). Gates INPUT, FORGET, CELL, OUTPUT."""
    pre = _pre(net, xw_t, h, R, Rb)
    gates = ("INPUT", "FORGET", "CELL", "OUTPUT")
    i, f, g, o = (net.name(net.gate(pre, k, N, H), f"gate.{gate}") for k, gate in enumerate(gates))
    c = net.ew(net.ew(net.act(f, "SIGMOID"), c, "PROD"), net.ew(net.act(i, "SIGMOID"), net.act(g, "TANH"), "PROD"), "SUM")
    return net.ew(net.act(o, "SIGMOID"), net.act(c, "TANH"), "PROD"), c


def gru_step(net, xw_t, h, c, R, Rb, N, H):
    """z, r = sigmoid; h~ = tanh(W_h·x + Wb_h + r*(R_h·h + Rb_h)); H = (1-z)*h~ + z*H.

    One matrix multiply per gate on rows of R: with the three gates in one multiply and sliced
    after, TensorRT-RTX 1.7's builder takes minutes on batch 1 (230 s against 0.2 s at batch 2).
    """
    xz, xr, xh = (net.gate(xw_t, k, N, H) for k in range(3))
    hz, hr, hh = (net.ew(net.matmul_t(h, net.rows(R, k, H)), net.gate(Rb, k, 1, H), "SUM") for k in range(3))
    z = net.act(net.name(net.ew(xz, hz, "SUM"), "gate.UPDATE"), "SIGMOID")
    r = net.act(net.name(net.ew(xr, hr, "SUM"), "gate.RESET"), "SIGMOID")
    h_tilde = net.act(net.name(net.ew(xh, net.ew(r, hh, "PROD"), "SUM"), "gate.HIDDEN"), "TANH")
    one_minus_z = net.ew(net.const(np.ones((1, 1), dtype=np.float32)), z, "SUB")
    return net.ew(net.ew(one_minus_z, h_tilde, "PROD"), net.ew(z, h, "PROD"), "SUM"), c


STEPS = {RNNOperation.RELU: relu_step, RNNOperation.TANH: tanh_step,
         RNNOperation.LSTM: lstm_step, RNNOperation.GRU: gru_step}
