"""An ONNX-operator case (`OnnxCase`) as a one-node ONNX model: the node with every attribute the case sets.

The model is what an exporter writes for one recurrent layer: graph input `X`, and where the case gives
them `sequence_lens` (int32), `initial_h`, `initial_c`; `W`, `R`, `B` and `P` as initializers; graph
outputs `Y`, `Y_h` and (LSTM) `Y_c` straight from the node, in the node's `layout`. onnxruntime,
`onnx.reference` and TensorRT's ONNX parser all read this same model.

In half precision (`dtype` np.float16/"fp16" or "bf16") the initializers and the node are FLOAT16/BFLOAT16;
with `io="network"` the graph inputs and outputs are too, with `io="float32"` they are FLOAT with Cast nodes
at the boundary, as `onnx_export` does for IRNNv2 cases (bf16: opset 22).

With `dynamic` (a node built with a profile, `cases.model_profile`), X's sequence and batch dims and the batch dim
of `sequence_lens`, `initial_h`, `initial_c` and the outputs are symbolic (`seq`, `batch`), as
`torch.onnx.export(..., dynamo=True, dynamic_shapes=...)` writes them; the weights stay initializers.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..cases.onnx_case import OnnxCase, OnnxMaterials
from .onnx_export import _Graph, checked_model, feed_dtype, io_types

STATES = ("initial_h", "initial_c")
WEIGHTS = ("W", "R", "B", "P")


def node_model(case: OnnxCase, materials: OnnxMaterials | None = None, dtype=np.float32, *,
               io: str = "network", dynamic: bool = False) -> onnx.ModelProto:
    """The one-node model of `case` on `materials` (default: the case's own) in `dtype`, its I/O per `io`;
    `dynamic`: sequence and batch dims symbolic."""
    m = case.materialise() if materials is None else materials
    dtype, elem, boundary = io_types(dtype, io)
    g = _Graph()
    inner = (lambda name: name) if boundary == elem else (lambda name: g.cast(name, elem, f"{name}/cast"))  # noqa: E731
    node_inputs = [inner("X")] + [g.floats(name, getattr(m, name), dtype) for name in ("W", "R")]
    node_inputs.append("" if m.B is None else g.floats("B", m.B, dtype))
    node_inputs.append("" if m.sequence_lens is None else "sequence_lens")
    for name in STATES:
        if getattr(m, name) is not None:
            node_inputs.append(inner(name))
        elif case.op == "LSTM" or name == "initial_h":
            node_inputs.append("")
    if case.op == "LSTM":
        node_inputs.append("" if m.P is None else g.floats("P", m.P, dtype))
    while node_inputs and node_inputs[-1] == "":
        node_inputs.pop()
    names = case.output_names
    node_outputs = list(names) if boundary == elem else [f"{name}/{dtype}" for name in names]
    g.nodes.append(helper.make_node(case.op, node_inputs, node_outputs, name=case.op.lower(), **case.attributes))
    if boundary != elem:
        for name, inside in zip(names, node_outputs):
            g.cast(inside, boundary, name)

    shapes = symbolic_shapes(case) if dynamic else {"X": m.X.shape, **dict(zip(names, output_shapes(case))), **{
        name: np.shape(getattr(m, name)) for name in ("sequence_lens",) + STATES}}
    inputs = [helper.make_tensor_value_info("X", boundary, shapes["X"])]
    if m.sequence_lens is not None:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, shapes["sequence_lens"]))
    inputs += [helper.make_tensor_value_info(name, boundary, shapes[name]) for name in STATES if getattr(m, name) is not None]
    outputs = [helper.make_tensor_value_info(name, boundary, shapes[name]) for name in names]
    return checked_model(g, case.id, inputs, outputs, dtype, f"ONNX {case.op} node of conformance case {case.id}")


def node_feeds(case: OnnxCase, materials: OnnxMaterials | None = None, dtype=np.float32, *,
               io: str = "network") -> dict[str, np.ndarray]:
    """The graph inputs of `node_model(case, materials, dtype, io=io)`: X, and the optional inputs the case gives."""
    m = case.materialise() if materials is None else materials
    dtype = feed_dtype(dtype, io)
    feeds = {"X": np.ascontiguousarray(m.X, dtype=dtype)}
    if m.sequence_lens is not None:
        feeds["sequence_lens"] = np.ascontiguousarray(m.sequence_lens, dtype=np.int32)
    feeds.update({name: np.ascontiguousarray(getattr(m, name), dtype=dtype) for name in STATES
                  if getattr(m, name) is not None})
    return feeds


def symbolic_shapes(case: OnnxCase) -> dict[str, tuple]:
    """The one-node model's input and output dims with the sequence length named `seq` and the batch `batch`."""
    S, N, I, D, H = "seq", "batch", case.input_size, case.D, case.hidden_size
    state = (N, D, H) if case.layout else (D, N, H)
    return {"X": (N, S, I) if case.layout else (S, N, I), "sequence_lens": (N,), "initial_h": state, "initial_c": state,
            "Y": (N, S, D, H) if case.layout else (S, D, N, H), "Y_h": state, "Y_c": state}


def output_shapes(case: OnnxCase) -> list[tuple]:
    """Y, Y_h[, Y_c] shapes in the case's layout."""
    S, N, D, H = case.seq_length, case.batch_size, case.D, case.hidden_size
    y, state = ((N, S, D, H), (N, D, H)) if case.layout else ((S, D, N, H), (D, N, H))
    return [y] + [state] * (len(case.output_names) - 1)
