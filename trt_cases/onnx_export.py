"""A case as an ONNX model: one RNN/GRU/LSTM node per layer, inputs and outputs in IRNNv2Layer layout.

The model is self-contained and static-shaped, so that onnxruntime, `onnx.reference` and TensorRT's
ONNX parser all read the same graph. Graph inputs: `input` `(N..., S, E)`, and where the case sets
them `seq_lengths` `(N...)` int32, `hidden_state` and `cell_state` `(N..., L*K, H)`. Graph outputs:
`output` `(N..., S, K*H)`, `hidden` `(N..., L*K, H)` and, for LSTM, `cell`. Inside, the batch dims
are flattened to one N and the ONNX nodes run sequence-major (`layout=0`): X `(S, N, in)`,
Y `(S, K, N, H)`, Y_h and Y_c `(K, N, H)`. Weights and biases are initializers, gates reordered from
TensorRT's names to ONNX's order; SKIP becomes an identity W on the first layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from reference import RNNGateType, RNNOperation

from .case import Case, Materials

OPSET = 17  # what TensorRT's ONNX parser, onnxruntime and onnx.reference all read
IR_VERSION = 8  # the IR version that came with opset 17

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
FLOAT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


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

    def reshape(self, x, shape, out):
        return self.node("Reshape", [x, self.const(f"{out}/shape", np.array(shape, dtype=np.int64))], [out])


def export(case: Case, materials: Materials | None = None, dtype=np.float32) -> onnx.ModelProto:
    """The ONNX model computing `case`'s IRNNv2Layer outputs on `materials` (default: the case's own)."""
    m = case.materialise() if materials is None else materials
    dtype = _float_dtype(dtype)
    _check_expressible(case, m)
    op = RNNOperation[case.op]
    L, H, S, E, K = case.layer_count, case.hidden_size, case.max_seq_length, case.data_length, case.K
    batch = case.batch_dims
    N = int(np.prod(batch, dtype=np.int64))
    g = _Graph()

    x = g.node("Transpose", [g.reshape("input", (N, S, E), "input/flat")], ["input/sequence_major"], perm=[1, 0, 2])
    lengths = g.reshape("seq_lengths", (N,), "seq_lengths/flat") if case.seq_lengths else ""
    states = {name: _state_rows(g, name, N, L * K, H) if getattr(case, name) else None
              for name in ("hidden_state", "cell_state")}
    finals = {"Y_h": [], "Y_c": []}
    for layer in range(L):
        y, y_h, y_c = _layer(g, case, op, m, layer, x, lengths, states, dtype)
        finals["Y_h"].append(y_h)
        finals["Y_c"].append(y_c)
        x = g.reshape(g.node("Transpose", [y], [f"layer{layer}/Y/SNKH"], perm=[0, 2, 1, 3]),
                      (S, N, K * H), f"layer{layer}/output")

    g.reshape(g.node("Transpose", [x], ["output/batch_major"], perm=[1, 0, 2]), batch + (S, K * H), "output")
    outputs = [("output", batch + (S, K * H))]
    for key, name in (("Y_h", "hidden"), ("Y_c", "cell")):
        if key == "Y_c" and op is not RNNOperation.LSTM:
            continue
        rows = finals[key][0] if L == 1 else g.node("Concat", finals[key], [f"{name}/rows"], axis=0)
        g.reshape(g.node("Transpose", [rows], [f"{name}/batch_major"], perm=[1, 0, 2]), batch + (L * K, H), name)
        outputs.append((name, batch + (L * K, H)))

    elem = FLOAT_TYPES[dtype]
    inputs = [helper.make_tensor_value_info("input", elem, batch + (S, E))]
    if case.seq_lengths:
        inputs.append(helper.make_tensor_value_info("seq_lengths", TensorProto.INT32, batch))
    inputs += [helper.make_tensor_value_info(name, elem, batch + (L * K, H))
               for name in ("hidden_state", "cell_state") if getattr(case, name)]
    graph = helper.make_graph(g.nodes, case.id, inputs,
                              [helper.make_tensor_value_info(name, elem, shape) for name, shape in outputs],
                              initializer=g.initializers,
                              doc_string=f"IRNNv2Layer outputs of conformance case {case.id}")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="trt-rnn-conformance")
    onnx.checker.check_model(model, full_check=True)
    return model


def feeds(case: Case, materials: Materials | None = None, dtype=np.float32) -> dict[str, np.ndarray]:
    """The graph inputs of `export(case, materials, dtype)`: input, and the optional tensors the case sets."""
    m = case.materialise() if materials is None else materials
    dtype = _float_dtype(dtype)
    result = {"input": np.ascontiguousarray(m.input, dtype=dtype)}
    if case.seq_lengths:
        result["seq_lengths"] = np.ascontiguousarray(m.seq_lengths, dtype=np.int32)
    for name in ("hidden_state", "cell_state"):
        if getattr(case, name):
            result[name] = np.ascontiguousarray(getattr(m, name), dtype=dtype)
    return result


def _layer(g, case, op, m, layer, x, lengths, states, dtype):
    """One ONNX RNN/GRU/LSTM node for all directions of `layer`; returns its Y, Y_h and Y_c names."""
    K, H = case.K, case.hidden_size
    prefix = f"layer{layer}"
    W, R, B = _layer_parameters(case, op, m, layer, dtype)
    inputs = [x, g.const(f"{prefix}/W", W), g.const(f"{prefix}/R", R), g.const(f"{prefix}/B", B), lengths]
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


def _layer_parameters(case, op, m, layer, dtype):
    """ONNX W `(K, G*H, in)`, R `(K, G*H, H)`, B `(K, 2*G*H)` of `layer`, gates in ONNX order."""
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
    return tuple(np.stack(arrays).astype(dtype) for arrays in (W, R, B))


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


def _state_rows(g, name, N, rows, H):
    """`hidden_state`/`cell_state` `(N..., L*K, H)` as `(L*K, N, H)`, ready to slice per layer."""
    return g.node("Transpose", [g.reshape(name, (N, rows, H), f"{name}/flat")], [f"{name}/rows"], perm=[1, 0, 2])


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


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_TYPES:
        raise ValueError(f"ONNX export: dtype={dtype}; allowed: float32, float64")
    return dtype
