"""Regenerate the model fixtures of `tests/test_model*.py`: `python tests/models/make_models.py`.

Models as users' exporters write them, small enough to commit:
- `torch_lstm.onnx`: `torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)`, exported by
  torch's TorchScript exporter (`dynamo=False`) with a dynamic batch: a Transpose before the first node,
  two bidirectional LSTM nodes, the initial states computed by the graph.
- `torch_gru.onnx`: `torch.nn.GRU(4, 3)` with given initial state (a graph input): `linear_before_reset=1`.
- `torch_rnn.onnx`: `torch.nn.RNN(3, 4, nonlinearity="relu")`: an RNN node with `activations=["Relu"]`.
- `keras_gru.onnx`: a GRU as tf2onnx writes a Keras GRU (`reset_after=False`): batch-major graph input with a
  symbolic batch, a Transpose to `layout=0`, `linear_before_reset=0`, and `sequence_lens` computed by the
  graph from the input's shape.
- `lstm_peepholes.onnx`: an LSTM with peepholes and `clip`, its `sequence_lens` and `initial_h` stored as
  initializers and `initial_c` as a Constant node's output.
- `lstm_layout1.onnx`: a reverse LSTM with `layout=1` (batch-major X and states; onnxruntime has no kernel
  for it) and `initial_h` stored.
- `computed_weight.onnx`: an LSTM whose W is a Transpose of an initializer (not stored data: skipped).
- `dynamo_lstm.onnx`: `torch.nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)` exported by
  torch's default exporter (`dynamo=True`, which needs onnxscript) with dynamic batch and sequence dims: graph
  input `x` `(batch, seq, 8)`, a Transpose before the first LSTM node, a Reshape (its shape computed from
  `Shape`) before the second, the zero initial states computed by the graph (`Expand`, `Slice`).
The ONNX files only need `onnx` to read; this script needs torch for the first three and the last.
"""

import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent


def torch_models():
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True).eval()
    torch.onnx.export(lstm, (torch.randn(2, 7, 6),), HERE / "torch_lstm.onnx", input_names=["x"],
                      output_names=["y", "h", "c"], dynamic_axes={"x": {0: "batch"}}, opset_version=17, dynamo=False)
    gru = torch.nn.GRU(4, 3).eval()
    torch.onnx.export(gru, (torch.randn(6, 2, 4), torch.randn(1, 2, 3)), HERE / "torch_gru.onnx",
                      input_names=["x", "h0"], output_names=["y", "h"], opset_version=17, dynamo=False)
    rnn = torch.nn.RNN(3, 4, nonlinearity="relu").eval()
    torch.onnx.export(rnn, (torch.randn(5, 2, 3),), HERE / "torch_rnn.onnx", input_names=["x"],
                      output_names=["y", "h"], opset_version=17, dynamo=False)


def dynamo_lstm():
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True).eval()
    batch, seq = torch.export.Dim("batch", min=1, max=64), torch.export.Dim("seq", min=1, max=256)
    torch.onnx.export(lstm, (torch.randn(2, 5, 8),), HERE / "dynamo_lstm.onnx", input_names=["x"],
                      output_names=["y", "h", "c"], dynamic_shapes=({0: batch, 1: seq},), dynamo=True,
                      external_data=False)


def keras_gru():
    rng = np.random.default_rng(1)
    H, I = 4, 3
    init = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, 3 * H, I)).astype(np.float32), "W"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, 3 * H, H)).astype(np.float32), "R"),
            numpy_helper.from_array(rng.uniform(-0.2, 0.2, (1, 6 * H)).astype(np.float32), "B"),
            numpy_helper.from_array(np.array([1], np.int64), "one"),
            numpy_helper.from_array(np.array([0], np.int64), "zero")]
    nodes = [helper.make_node("Transpose", ["input_1"], ["gru/transpose"], perm=[1, 0, 2], name="gru/transpose"),
             helper.make_node("Shape", ["input_1"], ["gru/shape"], name="gru/shape"),
             helper.make_node("Gather", ["gru/shape", "zero"], ["gru/batch"], axis=0, name="gru/batch"),
             helper.make_node("Gather", ["gru/shape", "one"], ["gru/steps"], axis=0, name="gru/steps"),
             helper.make_node("Expand", ["gru/steps", "gru/batch"], ["gru/lens64"], name="gru/expand"),
             helper.make_node("Cast", ["gru/lens64"], ["gru/lens"], to=TensorProto.INT32, name="gru/cast"),
             helper.make_node("GRU", ["gru/transpose", "W", "R", "B", "gru/lens"], ["gru/Y", "gru/Y_h"], hidden_size=H,
                              direction="forward", linear_before_reset=0, name="gru/GRU"),
             helper.make_node("Squeeze", ["gru/Y_h", "zero"], ["gru_out"], name="gru/squeeze")]
    graph = helper.make_graph(nodes, "keras_gru", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__6", 8, I])],
                              [helper.make_tensor_value_info("gru_out", TensorProto.FLOAT, ["unk__7", H])], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx"), "keras_gru.onnx")


def lstm_peepholes():
    rng = np.random.default_rng(2)
    H, I, N = 3, 4, 2
    init = [numpy_helper.from_array(rng.uniform(-0.6, 0.6, (1, 4 * H, I)).astype(np.float32), "W"),
            numpy_helper.from_array(rng.uniform(-0.6, 0.6, (1, 4 * H, H)).astype(np.float32), "R"),
            numpy_helper.from_array(rng.uniform(-0.3, 0.3, (1, 8 * H)).astype(np.float32), "B"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, 3 * H)).astype(np.float32), "P"),
            numpy_helper.from_array(np.array([6, 3], np.int32), "lens"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, N, H)).astype(np.float32), "h0")]
    c0 = numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, N, H)).astype(np.float32), "c0_value")
    nodes = [helper.make_node("Constant", [], ["c0"], value=c0, name="c0"),
             helper.make_node("LSTM", ["x", "W", "R", "B", "lens", "h0", "c0", "P"], ["y", "y_h", "y_c"], hidden_size=H,
                              clip=1.5, name="lstm_peep")]
    graph = helper.make_graph(nodes, "lstm_peepholes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, N, I])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in (("y", [6, 1, N, H]), ("y_h", [1, N, H]), ("y_c", [1, N, H]))], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), "lstm_peepholes.onnx")


def lstm_layout1():
    rng = np.random.default_rng(4)
    H, I, N, S = 3, 4, 2, 5
    init = [numpy_helper.from_array(rng.uniform(-0.6, 0.6, (1, 4 * H, I)).astype(np.float32), "W"),
            numpy_helper.from_array(rng.uniform(-0.6, 0.6, (1, 4 * H, H)).astype(np.float32), "R"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (N, 1, H)).astype(np.float32), "h0")]
    nodes = [helper.make_node("LSTM", ["x", "W", "R", "", "", "h0"], ["y", "y_h"], hidden_size=H, layout=1,
                              direction="reverse", name="lstm_bm")]
    graph = helper.make_graph(nodes, "lstm_layout1", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, S, I])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, S, 1, H]),
                               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [N, 1, H])], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), "lstm_layout1.onnx")


def computed_weight():
    rng = np.random.default_rng(3)
    H, I = 2, 3
    init = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, I, 4 * H)).astype(np.float32), "W_t"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32), "R")]
    nodes = [helper.make_node("Transpose", ["W_t"], ["W"], perm=[0, 2, 1], name="Transpose_3"),
             helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=H, name="lstm_1")]
    graph = helper.make_graph(nodes, "computed_weight", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 1, I])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 1, 1, H])], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), "computed_weight.onnx")


def save(model, name):
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, HERE / name)


if __name__ == "__main__":
    torch_models()
    keras_gru()
    lstm_peepholes()
    lstm_layout1()
    computed_weight()
    dynamo_lstm()
    for path in sorted(HERE.glob("*.onnx")):
        print(f"{path.name}: {path.stat().st_size} bytes")
