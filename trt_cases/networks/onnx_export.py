"""A case as an ONNX model: one RNN/GRU/LSTM node per layer, inputs and outputs in IRNNv2Layer layout.

The model is self-contained and static-shaped (or, `dynamic=True`, with symbolic batch and sequence dims),
so that onnxruntime, `onnx.reference` and TensorRT's ONNX parser all read the same graph. Graph inputs: `input` `(N..., S, E)`, and where the case sets
them `seq_lengths` `(N...)` int32, `hidden_state` and `cell_state` `(N..., L*K, H)`. Graph outputs:
`output` `(N..., S, K*H)`, `hidden` `(N..., L*K, H)` and, for LSTM, `cell`. Inside, the batch dims
are flattened to one N and the ONNX nodes run sequence-major (`layout=0`): X `(S, N, in)`,
Y `(S, K, N, H)`, Y_h and Y_c `(K, N, H)`. Weights and biases are initializers, gates reordered from
TensorRT's names to ONNX's order; SKIP becomes an identity W on the first layer.

In half precision (`dtype` "fp16"/np.float16 or "bf16") the initializers are FLOAT16/BFLOAT16 and so
is every node; with `io="network"` the graph inputs and outputs are too, with `io="float32"` they are
FLOAT with Cast nodes at the boundary (the form ModelOpt AutoCast produces). BFLOAT16 RNN/GRU/LSTM
nodes exist from opset 22 on, so a bf16 model is opset 22; the others stay opset 17.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from reference import RNNGateType, RNNOperation

from ..cases import half
from ..cases.case import Case, Materials

OPSET = 17  # what TensorRT's ONNX parser, onnxruntime and onnx.reference all read
IR_VERSION = 8  # the IR version that came with opset 17
BF16_OPSET, BF16_IR_VERSION = 22, 10  # the first opset whose RNN/GRU/LSTM take bfloat16, and its IR version
IO_FORMS = ("network", "float32")

G = RNNGateType
# TensorRT gate of each ONNX gate block, in ONNX order (LSTM "iofc", GRU "zrh", RNN "i").
ONNX_GATES = {
    RNNOperation.RELU: (G.INPUT,),
    RNNOperation.TANH: (G.INPUT,),
    RNNOperation.LSTM: (G.INPUT, G.OUTPUT, G.FORGET, G.CELL),
    RNNOperation.GRU: (G.UPDATE, G.RESET, G.HIDDEN),
}
NODE_TYPES = {RNNOperation.RELU: "RNN", RNNOperation.TANH: "RNN", RNNOperation.LSTM: "LSTM", RNNOperation.GRU: "GRU"}
ACTIVATIONS = {RNNOperation.RELU: "Relu", RNNOperation.TANH: "Tanh"}
# The model's float type: a NumPy dtype or a precision name; bf16 has no NumPy dtype.
FLOAT_TYPES = {"fp32": TensorProto.FLOAT, "fp64": TensorProto.DOUBLE, "fp16": TensorProto.FLOAT16,
               "bf16": TensorProto.BFLOAT16}
NUMPY_NAMES = {np.dtype(np.float32): "fp32", np.dtype(np.float64): "fp64", np.dtype(np.float16): "fp16"}


@dataclasses.dataclass
class _Graph:
    """The nodes and initializers collected so far; names are unique by construction."""
    nodes: list = dataclasses.field(default_factory=list)
    initializers: list = dataclasses.field(default_factory=list)

    def node(self, op_type, inputs, outputs, **attributes):
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=outputs[0], **attributes))
        return outputs[0]

    def const(self, name, value):
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def floats(self, name, value, precision):
        """An initializer of float `value` in `precision` (bf16 from its bit patterns)."""
        if precision == "bf16":
            bits = half.bf16_bits(value)
            self.initializers.append(helper.make_tensor(name, TensorProto.BFLOAT16, bits.shape, bits.tobytes(), raw=True))
            return name
        return self.const(name, np.asarray(value, dtype=NUMPY_TYPES[precision]))

    def cast(self, x, to, out):
        return self.node("Cast", [x], [out], to=to)

    def reshape(self, x, shape, out):
        return self.node("Reshape", [x, self.const(f"{out}/shape", np.array(shape, dtype=np.int64))], [out])


def export(case: Case, materials: Materials | None = None, dtype=np.float32, *, io: str = "network",
           dynamic: bool = False) -> onnx.ModelProto:
    """The ONNX model computing `case`'s IRNNv2Layer outputs on `materials` (default: the case's own), in
    `dtype` (np.float32, np.float64, np.float16, or "fp32", "fp16", "bf16"), its I/O per `io`.

    `dynamic`: the batch dims and S are symbolic (`dim_param` "batch" or "batch_<i>", and "sequence", as
    `torch.onnx.export(dynamo=True)` with `dynamic_shapes` writes them); the graph flattens the batch dims
    with a Transpose and a Reshape of `(0, -1, E)`, and restores them from `Shape` of the input."""
    m = case.materialise() if materials is None else materials
    dtype, elem, boundary = io_types(dtype, io)
    _check_expressible(case, m)
    op = RNNOperation[case.op]
    L, H, S, E, K = case.layer_count, case.hidden_size, case.max_seq_length, case.data_length, case.K
    batch = case.batch_dims
    N = int(np.prod(batch, dtype=np.int64))
    g = _Graph()
    inner = (lambda name: name) if boundary == elem else (lambda name: g.cast(name, elem, f"{name}/cast"))  # noqa: E731

    if dynamic:
        nb = len(batch)
        batch, S, N = symbolic_batch(nb), "sequence", -1
        x = g.reshape(g.node("Transpose", [inner("input")], ["input/S_first"], perm=[nb, *range(nb), nb + 1]),
                      (0, -1, E), "input/sequence_major")
        run_batch = [g.node("Shape", ["input"], ["input/batch_dims"], start=0, end=nb)] if nb else []
        run_S = g.node("Shape", ["input"], ["input/S"], start=nb, end=nb + 1)
    else:
        x = g.node("Transpose", [g.reshape(inner("input"), (N, S, E), "input/flat")], ["input/sequence_major"], perm=[1, 0, 2])
    lengths = g.reshape("seq_lengths", (N,), "seq_lengths/flat") if case.seq_lengths else ""
    states = {name: _state_rows(g, inner(name), name, N, L * K, H) if getattr(case, name) else None
              for name in ("hidden_state", "cell_state")}
    finals = {"Y_h": [], "Y_c": []}
    for layer in range(L):
        y, y_h, y_c = _layer(g, case, op, m, layer, x, lengths, states, dtype)
        finals["Y_h"].append(y_h)
        finals["Y_c"].append(y_c)
        x = g.reshape(g.node("Transpose", [y], [f"layer{layer}/Y/SNKH"], perm=[0, 2, 1, 3]),
                      (0, 0, K * H) if dynamic else (S, N, K * H), f"layer{layer}/output")

    def outer(name):  # the graph output `name`, through a Cast when the I/O type differs
        return name if boundary == elem else g.cast(f"{name}/{dtype}", boundary, name)

    def restore(tensor, parts, tail, out):  # reshape to batch dims + tail, the batch dims static or read at run time
        if not dynamic:
            return g.reshape(tensor, batch + tail, out)
        shape = g.node("Concat", [*parts, g.const(f"{out}/tail", np.array(tail, dtype=np.int64))], [f"{out}/shape"],
                       axis=0)
        return g.node("Reshape", [tensor, shape], [out])

    last = "output" if boundary == elem else f"output/{dtype}"
    restore(g.node("Transpose", [x], ["output/batch_major"], perm=[1, 0, 2]),
            run_batch + [run_S] if dynamic else None, (K * H,) if dynamic else (S, K * H), last)
    outer("output")
    outputs = [("output", batch + (S, K * H))]
    for key, name in (("Y_h", "hidden"), ("Y_c", "cell")):
        if key == "Y_c" and op is not RNNOperation.LSTM:
            continue
        rows = finals[key][0] if L == 1 else g.node("Concat", finals[key], [f"{name}/rows"], axis=0)
        last = name if boundary == elem else f"{name}/{dtype}"
        restore(g.node("Transpose", [rows], [f"{name}/batch_major"], perm=[1, 0, 2]),
                run_batch if dynamic else None, (L * K, H), last)
        outer(name)
        outputs.append((name, batch + (L * K, H)))

    inputs = [helper.make_tensor_value_info("input", boundary, batch + (S, E))]
    if case.seq_lengths:
        inputs.append(helper.make_tensor_value_info("seq_lengths", TensorProto.INT32, batch))
    inputs += [helper.make_tensor_value_info(name, boundary, batch + (L * K, H))
               for name in ("hidden_state", "cell_state") if getattr(case, name)]
    outputs = [helper.make_tensor_value_info(name, boundary, shape) for name, shape in outputs]
    return checked_model(g, case.id, inputs, outputs, dtype, f"IRNNv2Layer outputs of conformance case {case.id}")


def symbolic_batch(rank: int) -> tuple:
    """The `dim_param` names of a dynamic model's batch dims: "batch", or "batch_0", "batch_1", ..."""
    return ("batch",) if rank == 1 else tuple(f"batch_{i}" for i in range(rank))


def feeds(case: Case, materials: Materials | None = None, dtype=np.float32, *, io: str = "network") -> dict[str, np.ndarray]:
    """The graph inputs of `export(case, materials, dtype, io=io)`: input, and the optional tensors the case sets."""
    m = case.materialise() if materials is None else materials
    dtype = feed_dtype(dtype, io)
    result = {"input": np.ascontiguousarray(m.input, dtype=dtype)}
    if case.seq_lengths:
        result["seq_lengths"] = np.ascontiguousarray(m.seq_lengths, dtype=np.int32)
    for name in ("hidden_state", "cell_state"):
        if getattr(case, name):
            result[name] = np.ascontiguousarray(getattr(m, name), dtype=dtype)
    return result


def io_types(dtype, io: str) -> tuple:
    """`(precision name, ONNX element type inside, ONNX element type at the graph's inputs and outputs)`."""
    dtype = _float_dtype(dtype)
    if io not in IO_FORMS:
        raise ValueError(f"ONNX export: io={io!r}; allowed: {', '.join(IO_FORMS)}")
    elem = FLOAT_TYPES[dtype]
    return dtype, elem, TensorProto.FLOAT if io == "float32" else elem


def feed_dtype(dtype, io: str) -> np.dtype:
    """The NumPy dtype of a model's float feeds (bf16 models take float32 feeds, `io="float32"`)."""
    precision = "fp32" if io == "float32" else _float_dtype(dtype)
    if precision == "bf16":
        raise ValueError("ONNX feeds: NumPy has no bfloat16 dtype; feed a bf16 model with io='float32'")
    return NUMPY_TYPES[precision]


def checked_model(g, name, inputs, outputs, dtype, doc) -> onnx.ModelProto:
    """The model of graph `g` at the opset its precision needs (bf16: 22), checked by `onnx.checker`."""
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.initializers, doc_string=doc)
    opset, ir_version = (BF16_OPSET, BF16_IR_VERSION) if dtype == "bf16" else (OPSET, IR_VERSION)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version,
                              producer_name="trt-rnn-conformance")
    onnx.checker.check_model(model, full_check=True)
    return model


def bf16_initializers(model) -> dict[str, np.ndarray]:
    """The bit patterns (uint16) of `model`'s BFLOAT16 initializers, by name."""
    return {init.name: np.frombuffer(init.raw_data, np.uint16).reshape(tuple(init.dims))
            for init in model.graph.initializer if init.data_type == TensorProto.BFLOAT16}


def _layer(g, case, op, m, layer, x, lengths, states, dtype):
    """One ONNX RNN/GRU/LSTM node for all directions of `layer`; returns its Y, Y_h and Y_c names."""
    K, H = case.K, case.hidden_size
    prefix = f"layer{layer}"
    W, R, B = _layer_parameters(case, op, m, layer)
    inputs = [x, g.floats(f"{prefix}/W", W, dtype), g.floats(f"{prefix}/R", R, dtype), g.floats(f"{prefix}/B", B, dtype),
              lengths]
    for name in ("hidden_state", "cell_state"):
        if name == "cell_state" and op is not RNNOperation.LSTM:
            continue
        rows = states[name]
        inputs.append("" if rows is None else g.node(
            "Slice", [rows, g.const(f"{prefix}/{name}/starts", np.array([K * layer], dtype=np.int64)),
                      g.const(f"{prefix}/{name}/ends", np.array([K * layer + K], dtype=np.int64)),
                      g.const(f"{prefix}/{name}/axes", np.array([0], dtype=np.int64))],
            [f"{prefix}/{name}"]))
    while inputs[-1] == "":
        inputs.pop()
    outputs = [f"{prefix}/Y", f"{prefix}/Y_h"] + ([f"{prefix}/Y_c"] if op is RNNOperation.LSTM else [])
    attributes = {"hidden_size": H, "direction": "bidirectional" if K == 2 else "forward", "layout": 0}
    if op in ACTIVATIONS:
        attributes["activations"] = [ACTIVATIONS[op]] * K
    if op is RNNOperation.GRU:
        attributes["linear_before_reset"] = 1  # TensorRT applies r after R_h·h + Rb_h
    g.nodes.append(helper.make_node(NODE_TYPES[op], inputs, outputs, name=f"{prefix}/{NODE_TYPES[op]}", **attributes))
    return outputs[0], outputs[1], outputs[2] if op is RNNOperation.LSTM else None


def _layer_parameters(case, op, m, layer):
    """ONNX W `(K, G*H, in)`, R `(K, G*H, H)`, B `(K, 2*G*H)` of `layer` (float64), gates in ONNX order."""
    K, H = case.K, case.hidden_size
    cols = case.data_length if layer == 0 else K * H
    skip = layer == 0 and case.input_mode == "SKIP"
    W, R, B = [], [], []
    for direction in range(K):
        layer_index = K * layer + direction
        gates = ONNX_GATES[op]
        W.append(np.tile(np.eye(H), (len(gates), 1)) if skip else
                 np.concatenate([_gate(m.weights, "weights", layer_index, gate, True, (H, cols)) for gate in gates]))
        R.append(np.concatenate([_gate(m.weights, "weights", layer_index, gate, False, (H, H)) for gate in gates]))
        B.append(np.concatenate([_gate(m.biases, "biases", layer_index, gate, is_w, (H,))
                                 for is_w in (True, False) for gate in gates]))
    return tuple(np.stack(arrays) for arrays in (W, R, B))


def _gate(table, what, layer_index, gate, is_w, shape):
    """One gate's matrix or bias from `Materials`, checked for presence and shape."""
    key = (layer_index, gate, is_w)
    if key not in table:
        raise ValueError(f"ONNX export: {what} ({layer_index}, {gate.name}, is_w={is_w}) missing from the materials")
    value = np.asarray(table[key], dtype=np.float64)
    if value.shape != shape:
        raise ValueError(f"ONNX export: {what} ({layer_index}, {gate.name}, is_w={is_w}) has shape "
                         f"{value.shape}; expected {shape}")
    return value


def _state_rows(g, tensor, name, N, rows, H):
    """`hidden_state`/`cell_state` `(N..., L*K, H)` (graph tensor `tensor`) as `(L*K, N, H)`, ready to slice per layer."""
    return g.node("Transpose", [g.reshape(tensor, (N, rows, H), f"{name}/flat")], [f"{name}/rows"], perm=[1, 0, 2])


def _check_expressible(case, m):
    """Raise ValueError, naming the ONNX path, for what the export cannot express."""
    if case.input_mode == "SKIP" and case.data_length != case.hidden_size:
        raise ValueError(f"ONNX export of {case.id}: input_mode=SKIP needs E == hidden_size (the ONNX RNN nodes "
                         f"have no skip input; it becomes an identity W); got E={case.data_length}, "
                         f"hidden_size={case.hidden_size}")
    if case.cell_state and case.op != "LSTM":
        raise ValueError(f"ONNX export of {case.id}: cell_state is set but op={case.op}; only the ONNX LSTM node "
                         "has an initial_c")
    L, H, S, E, K = case.layer_count, case.hidden_size, case.max_seq_length, case.data_length, case.K
    expected = {"input": case.batch_dims + (S, E), "seq_lengths": case.batch_dims,
                "hidden_state": case.batch_dims + (L * K, H), "cell_state": case.batch_dims + (L * K, H)}
    for name, shape in expected.items():
        value = getattr(m, name)
        if name != "input" and not getattr(case, name):
            continue
        if value is None or np.shape(value) != shape:
            raise ValueError(f"ONNX export of {case.id}: materials {name} has shape "
                             f"{None if value is None else np.shape(value)}; the graph input needs {shape}")


NUMPY_TYPES = {"fp32": np.dtype(np.float32), "fp64": np.dtype(np.float64), "fp16": np.dtype(np.float16)}


def _float_dtype(dtype):
    """The precision name ("fp32", "fp64", "fp16", "bf16") of a NumPy float dtype or precision name."""
    if isinstance(dtype, str) and dtype in FLOAT_TYPES:
        return dtype
    try:
        name = NUMPY_NAMES.get(np.dtype(dtype))
    except TypeError:
        name = None
    if name is None:
        raise ValueError(f"ONNX export: dtype={dtype!r}; allowed: float32, float64, float16, 'fp32', 'fp16', 'bf16'")
    return name
