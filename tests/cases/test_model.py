"""The user's own model (`--set MODEL.onnx`): every RNN/GRU/LSTM node as a case on its own weights and attributes.

Expected values come from onnxruntime running the user's whole model (not the extracted node), and from the
model's stored tensors read with `onnx.numpy_helper`; bad models are one-line errors (exit 2).
"""

import dataclasses
import json
import pathlib
import subprocess
import sys

import numpy as np

from helpers import specs
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from trt_cases.cases import limits
from trt_cases.cases.families import case_from_json
from trt_cases.cases.model import DEFAULT_BATCH_SIZE, NodeCase, node_cases
from trt_cases.cli import main
from trt_cases.networks.onnx_node import node_feeds, node_model
from trt_cases.results.compare import compare
from trt_cases.cases.selection import select_cases
from trt_cases.run import run
from trt_cases.runners.reference_runner import ReferenceRunner

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "models"
FIXTURES = ("torch_lstm", "torch_gru", "torch_rnn", "keras_gru", "lstm_peepholes")


def session(model):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def model_path(name):
    return str((MODELS / f"{name}.onnx").relative_to(ROOT))


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_node_agrees_with_onnxruntime(name):
    """The reference on the extracted node agrees with onnxruntime on the same one-node model (float32 bounds)."""
    cases = node_cases(model_path(name))
    assert cases and all(c.id.startswith(f"{name}-") and not c.problem for c in cases)
    for case in cases:
        m = case.materialise()
        actual = session(node_model(case, m)).run(None, node_feeds(case, m))
        result = compare(case, case.reference(m), [np.asarray(a, np.float64) for a in actual], "onnxruntime", "float32")
        assert result, result.message()


def test_stored_data_is_the_models_own():
    """Weights, lengths and states (an initializer, a Constant node) are the model's tensors, not drawn ones."""
    (case,) = node_cases(model_path("lstm_peepholes"))
    model = onnx.load(MODELS / "lstm_peepholes.onnx")
    stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    constant = numpy_helper.to_array(model.graph.node[0].attribute[0].t)
    m = case.materialise()
    for slot, value in (("W", stored["W"]), ("R", stored["R"]), ("B", stored["B"]), ("P", stored["P"]),
                        ("sequence_lens", stored["lens"]), ("initial_h", stored["h0"]), ("initial_c", constant)):
        np.testing.assert_array_equal(getattr(m, slot), value, err_msg=slot)
    assert case.attributes == {"hidden_size": 3, "direction": "forward", "clip": 1.5}
    assert case.peepholes and (case.seq_length, case.batch_size) == (6, 2)
    half = dataclasses.replace(case, precision="fp16").materialise()  # an fp16 run rounds the model's weights
    np.testing.assert_array_equal(half.W, stored["W"].astype(np.float16).astype(np.float64))
    assert not np.array_equal(half.W, m.W)


def test_whole_model_agrees_where_the_node_is_the_graph():
    """X and the state are graph inputs: onnxruntime on the user's whole model gives the node case's reference."""
    (case,) = node_cases(model_path("torch_gru"))
    m = case.materialise()
    y, h = session(onnx.load(MODELS / "torch_gru.onnx")).run(None, {"x": m.X.astype(np.float32),
                                                                     "h0": m.initial_h.astype(np.float32)})
    Y, Y_h = case.reference(m)
    np.testing.assert_allclose(y, Y[:, 0], atol=1e-5)
    np.testing.assert_allclose(h, Y_h, atol=1e-5)
    (peep,) = node_cases(model_path("lstm_peepholes"))
    pm = peep.materialise()
    outputs = session(onnx.load(MODELS / "lstm_peepholes.onnx")).run(None, {"x": pm.X.astype(np.float32)})
    for got, want in zip(outputs, peep.reference(pm)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_layout1_node_agrees_with_onnx_reference():
    """onnxruntime has no layout=1 kernel; onnx.reference runs the user's whole (one-node) model."""
    from onnx.reference import ReferenceEvaluator

    (case,) = node_cases(model_path("lstm_layout1"))
    assert case.layout == 1 and case.direction == "reverse" and (case.batch_size, case.seq_length) == (2, 5)
    m = case.materialise()
    y, y_h = ReferenceEvaluator(onnx.load(MODELS / "lstm_layout1.onnx")).run(None, {"x": m.X.astype(np.float32)})
    Y, Y_h, _ = case.reference(m)
    np.testing.assert_allclose(y, Y, atol=1e-6)
    np.testing.assert_allclose(y_h, Y_h, atol=1e-6)


def test_inputs_file_of_graph_inputs_computes_the_nodes_inputs(tmp_path):
    """Graph inputs given: onnxruntime computes each node's X (after Transpose/Reshape) and its states (zeros the graph
    makes); the reference of both nodes then equals the whole model's final states."""
    x = np.random.default_rng(5).uniform(-1, 1, (2, 7, 6)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    first, second = node_cases(model_path("torch_lstm"), inputs=str(tmp_path / "in.npz"))
    assert first.id == "torch_lstm-LSTM-S7-N2-inputs-fp32-s0" and (first.batch_size, second.input_size) == (2, 10)
    m = first.materialise()
    np.testing.assert_array_equal(m.X, x.transpose(1, 0, 2))
    assert not m.initial_h.any() and not m.initial_c.any()
    y, h, c = session(onnx.load(MODELS / "torch_lstm.onnx")).run(None, {"x": x})
    for index, case in enumerate((first, second)):
        _, Y_h, Y_c = case.reference(case.materialise())
        np.testing.assert_allclose(h[2 * index:2 * index + 2], Y_h, atol=1e-5)
        np.testing.assert_allclose(c[2 * index:2 * index + 2], Y_c, atol=1e-5)
    Y = second.reference(second.materialise())[0]  # (S, D, N, H) -> the model's batch-first (N, S, D*H)
    np.testing.assert_allclose(y, Y.transpose(2, 0, 1, 3).reshape(2, 7, 10), atol=1e-5)


def test_shapes_defaults_and_overrides():
    (case,) = node_cases(model_path("keras_gru"))  # batch symbolic: the default; S from the graph input
    assert (case.seq_length, case.batch_size, case.input_size, case.layout) == (8, DEFAULT_BATCH_SIZE, 3, 0)
    assert case.linear_before_reset == 0 and case.sequence_lens != "none" and "sequence_lens" not in case.stored
    (given,) = node_cases(model_path("keras_gru"), shapes=["input_1=2x8x3"])
    assert (given.seq_length, given.batch_size) == (8, 2)
    (direct,) = node_cases(model_path("keras_gru"), shapes=["gru/transpose=8x4x3"])
    assert direct.batch_size == 4 and direct.id == "keras_gru-gru_GRU-S8-N4-fp32-s0"
    lens = case.materialise().sequence_lens  # computed by the graph: drawn ragged in [1, S]
    assert lens.dtype == np.int32 and lens.shape == (3,) and set(lens.tolist()) >= {1, 8}


def test_computed_weight_is_skipped_by_every_backend():
    (case,) = node_cases(model_path("computed_weight"))
    assert case.problem == ("model tests/models/computed_weight.onnx: node lstm_1 (LSTM): W is computed by the graph "
                            "(node 'Transpose_3', Transpose), not stored: only stored weights can be extracted")
    records, outputs = run([case], specs({"reference": ReferenceRunner, "other": ReferenceRunner}))
    assert [(r.status, r.reason) for r in records] == [("skipped", case.problem)] * 2 and not outputs
    with pytest.raises(ValueError, match="only stored weights"):
        case.materialise()


def test_case_json_round_trip_and_changed_model(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes((MODELS / "torch_gru.onnx").read_bytes())
    (case,) = node_cases(str(path), seed=3)
    assert case_from_json(case.to_json()) == case and case.to_json()["family"] == "onnx"
    (tmp_path / "cases.json").write_text(json.dumps([case.to_json()]))  # a case file of model node cases
    assert select_cases([str(tmp_path / "cases.json")]) == [case]
    model = onnx.load(path)
    model.graph.initializer[0].raw_data = np.zeros(36, np.float32).tobytes()
    onnx.save(model, path)
    with pytest.raises(ValueError, match="has changed since the case was made"):
        case_from_json(case.to_json())
    assert select_cases([str(path)])[0].digest != case.digest


def test_check_and_export_resolve_node_ids(capsys, tmp_path):
    """A node id of any precision and seed is found with --set MODEL.onnx, and only with it."""

    gru = model_path("torch_gru")
    assert main(["export", "torch_gru-GRU-S6-N2-fp16-s4", "--set", gru, "--out", str(tmp_path / "b")]) == 0
    spec = json.loads((tmp_path / "b" / "case.json").read_text())
    assert (spec["family"], spec["precision"], spec["seed"], spec["model"]) == ("onnx", "fp16", 4, gru)
    capsys.readouterr()
    assert main(["check", "torch_gru-GRU-S6-N2-fp32-s0", "--backend", "onnxruntime"]) == 2
    assert "needs its model: --set MODEL.onnx" in capsys.readouterr().err
    assert main(["check", "torch_gru-LSTM-S6-N2-fp32-s0", "--set", gru]) == 2
    assert "none of the model's node cases; they are: torch_gru-GRU-S6-N2-fp32-s0" in capsys.readouterr().err


def _save(tmp_path, nodes, inputs, initializers, name="bad.onnx", outputs=None, opset=14):
    graph = helper.make_graph(nodes, "g", inputs, outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializers)
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return str(path)


def _lstm(tmp_path, W_shape=(1, 8, 3), x_shape=(4, 1, 3), x_from=None, **attrs):
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.uniform(-1, 1, W_shape).astype(np.float32), "W"),
            numpy_helper.from_array(rng.uniform(-1, 1, (1, 8, 2)).astype(np.float32), "R")]
    nodes = ([x_from] if x_from else []) + [helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="lstm_1", **attrs)]
    inputs = [helper.make_tensor_value_info("u" if x_from else "x", TensorProto.FLOAT, x_shape)]
    return _save(tmp_path, nodes, inputs, init)


BAD = {
    "missing": (lambda t: str(t / "nope.onnx"), "model .*nope.onnx: no such file"),
    "not onnx": (lambda t: (t / "junk.onnx").write_bytes(b"\xff\x00junk" * 9) and str(t / "junk.onnx"),
                 "junk.onnx: not an ONNX model"),
    "no recurrent node": (lambda t: _save(t, [helper.make_node("Relu", ["x"], ["y"])],
                                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])], []),
                          "no RNN, GRU or LSTM node \\(its graph has Relu\\)"),
    "direction": (lambda t: _lstm(t, hidden_size=2, direction="sideways"),
                  "node lstm_1 \\(LSTM\\): direction='sideways'; allowed: forward, reverse, bidirectional"),
    "W vs hidden_size": (lambda t: _lstm(t, W_shape=(1, 12, 3), hidden_size=2),
                         "node lstm_1 \\(LSTM\\): W has shape \\(1, 12, 3\\), but hidden_size=2"),
    "W vs direction": (lambda t: _lstm(t, hidden_size=2, direction="bidirectional"),
                       "node lstm_1 \\(LSTM\\): R has shape \\(1, 8, 2\\), but hidden_size=2, direction='bidirectional'"),
    "X vs W": (lambda t: _lstm(t, x_shape=(4, 1, 5), hidden_size=2), "X \\('x'\\) has input_size 5"),
    "unimplemented attribute": (lambda t: _lstm(t, hidden_size=2, output_sequence=1),
                                "attribute 'output_sequence' is not one the reference implements for LSTM"),
    "activation parameters": (lambda t: _lstm(t, hidden_size=2, activations=["Sigmoid", "ScaledTanh", "Tanh"]),
                              "node lstm_1 \\(LSTM\\): activations: 'ScaledTanh' needs activation_alpha"),
    "layout": (lambda t: _lstm(t, hidden_size=2, layout=2), "node lstm_1 \\(LSTM\\): layout=2; allowed: 0, 1"),
    "unresolved shape": (lambda t: _lstm(t, hidden_size=2, x_from=helper.make_node("Foo", ["u"], ["x"], domain="my.ops")),
                         "the shape of X \\('x'\\) cannot be resolved .* --shape x=SxNxI"),
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_models_are_one_line_errors(kind, tmp_path, capsys):
    make, message = BAD[kind]
    path = make(tmp_path)
    assert main(["run", "--set", path, "--backend", "onnxruntime", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_bad_shape_options_and_a_model_too_large(tmp_path, monkeypatch, capsys):
    gru = model_path("keras_gru")
    for shapes, message in ((["nothing=1x2x3"], "--shape nothing: model .* has no graph input or recurrent-node X"),
                            (["input_1=2x8"], "--shape input_1=2x8: model .* declares input_1 with shape \\(\\?, 8, 3\\)"),
                            (["input_1=2x9x3"], ("declares input_1 with shape \\(\\?, 8, 3\\); give its rank and fixed "
                                                 "dims, e.g. input_1=1x8x3")),
                            (["input_1=2xx3"], "--shape 'input_1=2xx3': expected NAME=DIMxDIMx")):
        with pytest.raises(ValueError, match=message):
            node_cases(gru, shapes=shapes)
    monkeypatch.setattr(limits, "available_bytes", lambda: 1000)
    assert main(["run", "--set", gru, "--out", str(tmp_path / "o")]) == 2
    assert "keras_gru.onnx: 1.07e-06 GiB on disk needs about" in capsys.readouterr().err


def test_a_node_too_large_for_memory_is_refused():
    (case,) = node_cases(model_path("torch_gru"))
    huge = dataclasses.replace(case, seq_length=10**7, batch_size=10**4)
    with pytest.raises(ValueError, match=f"case {huge.id} needs about"):
        limits.check_case(huge, available=1 << 34)


def test_unnamed_and_same_named_nodes_get_distinct_labels(tmp_path):
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)
            for name, shape in (("W", (1, 3, 2)), ("R", (1, 3, 1)))]
    nodes = [helper.make_node("GRU", ["x", "W", "R"], ["y0"], hidden_size=1),
             helper.make_node("GRU", ["x", "W", "R"], ["y1"], hidden_size=1, name="g/1"),
             helper.make_node("GRU", ["x", "W", "R"], ["y2"], hidden_size=1, name="g-1")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 2, 2])], init,
                 name="my-model.onnx", outputs=[helper.make_tensor_value_info("y0", TensorProto.FLOAT, [4, 1, 2, 1])])
    assert [c.id for c in node_cases(path)] == ["my_model-gru0-S4-N2-fp32-s0", "my_model-g_1-S4-N2-fp32-s0",
                                                "my_model-g_1_2-S4-N2-fp32-s0"]


def test_node_case_is_an_onnx_case_with_its_own_family():
    (case,) = node_cases(model_path("torch_rnn"))
    assert isinstance(case, NodeCase) and case.family == "onnx" and case.activations == ("Relu",)
    assert case.where == "model tests/models/torch_rnn.onnx: node /RNN (RNN)"


def test_fixtures_are_what_make_models_writes():
    """The committed models are readable without torch; the script that makes them is beside them."""
    script = MODELS / "make_models.py"
    assert script.exists()
    code = ("import onnx, sys; [onnx.checker.check_model(onnx.load(p), full_check=True) for p in sys.argv[1:]]; "
            "assert 'torch' not in sys.modules")
    models = sorted(map(str, MODELS.glob("*.onnx")))
    assert len(models) == 8
    assert subprocess.run([sys.executable, "-c", code, *models], cwd=ROOT, check=False).returncode == 0


def test_run_a_model_end_to_end(tmp_path, capsys):
    """`run --set MODEL.onnx`: each node a record naming it; a node whose W the graph computes is skipped, with why."""
    out = tmp_path / "run"
    status = main(["run", "--set", model_path("torch_gru"), "--set", model_path("computed_weight"), "--backend",
                   "onnxruntime", "--out", str(out), "--no-progress"])
    assert status == 0, capsys.readouterr().err
    records = {r["case"]: r for r in json.loads((out / "results.json").read_text())["records"]}
    assert records["torch_gru-GRU-S6-N2-fp32-s0"]["status"] == "passed"
    skipped = records["computed_weight-lstm_1-S4-N1-fp32-s0"]
    assert skipped["status"] == "skipped" and "W is computed by the graph (node 'Transpose_3'" in skipped["reason"]
    html = (out / "report.html").read_text()
    assert "torch_gru-GRU-S6-N2-fp32-s0" in html and "computed_weight-lstm_1-S4-N1-fp32-s0" in html
    with np.load(out / "outputs.npz") as data:
        assert "inputs/torch_gru-GRU-S6-N2-fp32-s0/W" in data.files


def test_bad_inputs_files(tmp_path):
    np.savez(tmp_path / "other.npz", y=np.zeros(3))
    with pytest.raises(ValueError, match="holds no 'x' \\(the node's X, a graph input\\); it holds y"):
        node_cases(model_path("torch_gru"), inputs=str(tmp_path / "other.npz"))
    with pytest.raises(ValueError, match="holds neither the node's X '/Transpose_output_0' nor every graph input"):
        node_cases(model_path("torch_lstm"), inputs=str(tmp_path / "other.npz"))
    with pytest.raises(ValueError, match="no such file"):
        node_cases(model_path("torch_gru"), inputs=str(tmp_path / "none.npz"))
    np.savez(tmp_path / "x.npz", x=np.zeros((3, 2, 5), np.float32))
    with pytest.raises(ValueError, match="X \\('x'\\) has input_size 5"):
        node_cases(model_path("torch_gru"), inputs=str(tmp_path / "x.npz"))
    np.savez(tmp_path / "given.npz", x=np.ones((3, 4, 4), np.float32), h0=np.full((1, 4, 3), 0.25, np.float32))
    (case,) = node_cases(model_path("torch_gru"), inputs=str(tmp_path / "given.npz"))
    m = case.materialise()
    assert (case.seq_length, case.batch_size) == (3, 4) and np.all(m.X == 1) and np.all(m.initial_h == 0.25)


def test_external_data_half_weights_and_computed_lengths(tmp_path):
    """Weights stored as external data are read; a FLOAT16 model's case is fp16; lengths the graph computes from
    given graph inputs are what the graph computes (all S for a Keras GRU)."""
    model = onnx.load(MODELS / "torch_gru.onnx")
    onnx.save(model, tmp_path / "external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    (case,) = node_cases(str(tmp_path / "external.onnx"))
    (plain,) = node_cases(model_path("torch_gru"))
    assert (tmp_path / "weights.bin").stat().st_size > 0
    np.testing.assert_array_equal(case.materialise().W, plain.materialise().W)
    model = onnx.load(MODELS / "torch_gru.onnx")  # saving with external data turned the tensors into references
    for tensor in model.graph.initializer:
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), tensor.name))
    onnx.save(model, tmp_path / "half.onnx")
    (half,) = node_cases(str(tmp_path / "half.onnx"))
    assert half.precision == "fp16" and half.id.endswith("-fp16-s0")
    np.savez(tmp_path / "in.npz", input_1=np.zeros((2, 8, 3), np.float32))
    (keras,) = node_cases(model_path("keras_gru"), inputs=str(tmp_path / "in.npz"))
    m = keras.materialise()
    assert keras.batch_size == 2 and m.sequence_lens.tolist() == [8, 8] and not m.X.any()


def test_check_names_the_model_in_its_re_run_line(capsys):
    """A model node's id is found only with its model: the re-run line `check` prints carries `--set MODEL`."""
    from trt_cases.cli import main

    model = str(MODELS / "torch_gru.onnx")
    (case,) = node_cases(model)
    assert main(["check", case.id, "--set", model, "--backend", "onnxruntime"]) == 0
    assert f"re-run: python -m trt_cases check {case.id} --set {model} --backend onnxruntime" in capsys.readouterr().out
