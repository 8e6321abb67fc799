"""The ONNX export and its two runners: graph shape, gate order, and what each backend really does.

The sweep of every case set against the reference lives in tests/runners/test_oracles.py; here are the
export's own contracts and the backend gaps the runners work around, each pinned by an experiment.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from reference import GATES, RNNGateType, RNNOperation  # noqa: E402
from trt_cases import Case  # noqa: E402
from trt_cases.networks.onnx_export import OPSET, export, feeds  # noqa: E402
from trt_cases.runners import onnx_runners  # noqa: E402
from trt_cases.runners.onnx_runners import (  # noqa: E402
    OnnxReferenceRunner, OnnxRuntimeRunner, run_onnx_reference, run_onnxruntime)
from trt_cases.runners.reference_runner import run_reference  # noqa: E402

OPS = ("RELU", "TANH", "LSTM", "GRU")
DIRECTIONS = ("UNIDIRECTION", "BIDIRECTION")


def full_case(op, direction="BIDIRECTION", **overrides):
    """A case with every optional input the op allows: seq_lengths, hidden_state and cell_state."""
    fields = dict(layer_count=2, hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2, 3),
                  direction=direction, seq_lengths=True, hidden_state=True, cell_state=op == "LSTM", seed=3)
    return Case(op, **{**fields, **overrides})


def relative_error(got, expected):
    return max(float(np.max(np.abs(g - e))) / max(1.0, float(np.max(np.abs(e)))) for g, e in zip(got, expected))


def value_infos(values):
    return [(v.name, v.type.tensor_type.elem_type, tuple(d.dim_value for d in v.type.tensor_type.shape.dim))
            for v in values]


# --- the model --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS)
def test_model_passes_checker(op, dtype):
    model = export(full_case(op), dtype=dtype)
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert model.graph.name == full_case(op).id


@pytest.mark.parametrize("dtype, elem", [(np.float32, TensorProto.FLOAT), (np.float64, TensorProto.DOUBLE)])
def test_lstm_graph_inputs_and_outputs_are_in_irnnv2_layout(dtype, elem):
    case = full_case("LSTM")  # batch (2, 3), S=5, E=3, L*K=4, H=4
    model = export(case, dtype=dtype)
    assert value_infos(model.graph.input) == [
        ("input", elem, (2, 3, 5, 3)), ("seq_lengths", TensorProto.INT32, (2, 3)),
        ("hidden_state", elem, (2, 3, 4, 4)), ("cell_state", elem, (2, 3, 4, 4))]
    assert value_infos(model.graph.output) == [
        ("output", elem, (2, 3, 5, 8)), ("hidden", elem, (2, 3, 4, 4)), ("cell", elem, (2, 3, 4, 4))]
    given = feeds(case, dtype=dtype)
    assert {name: (a.dtype, a.shape) for name, a in given.items()} == {
        "input": (np.dtype(dtype), (2, 3, 5, 3)), "seq_lengths": (np.dtype(np.int32), (2, 3)),
        "hidden_state": (np.dtype(dtype), (2, 3, 4, 4)), "cell_state": (np.dtype(dtype), (2, 3, 4, 4))}
    assert all(init.data_type == elem for init in model.graph.initializer if "/W" in init.name or "/B" in init.name)


def test_graph_without_optional_inputs_has_only_input():
    case = Case("GRU", layer_count=1, hidden_size=5, max_seq_length=4, data_length=2, batch_dims=(7,))
    model = export(case)
    assert value_infos(model.graph.input) == [("input", TensorProto.FLOAT, (7, 4, 2))]
    assert value_infos(model.graph.output) == [("output", TensorProto.FLOAT, (7, 4, 5)),
                                               ("hidden", TensorProto.FLOAT, (7, 1, 5))]
    assert list(feeds(case)) == ["input"]


def test_no_batch_dims():
    case = Case("LSTM", batch_dims=(), direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True)
    model = export(case)
    assert value_infos(model.graph.input)[:2] == [("input", TensorProto.FLOAT, (3, 4)),
                                                  ("seq_lengths", TensorProto.INT32, ())]
    assert relative_error(run_onnxruntime(case), run_reference(case)) < 5e-6


@pytest.mark.parametrize("op, direction", list(itertools.product(OPS, DIRECTIONS)))
def test_one_onnx_node_per_layer(op, direction):
    case = full_case(op, direction, layer_count=3)
    nodes = [n for n in export(case).graph.node if n.op_type in ("RNN", "LSTM", "GRU")]
    assert [n.op_type for n in nodes] == [{"LSTM": "LSTM", "GRU": "GRU"}.get(op, "RNN")] * 3
    for layer, node in enumerate(nodes):
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attributes["direction"] == (b"bidirectional" if case.K == 2 else b"forward")
        assert attributes["hidden_size"] == 4 and attributes["layout"] == 0
        assert node.input[4] == "seq_lengths/flat" and node.input[5] == f"layer{layer}/hidden_state"
        if op == "GRU":
            assert attributes["linear_before_reset"] == 1
        if op in ("RELU", "TANH"):
            assert attributes["activations"] == [op.capitalize().encode()] * case.K


def test_skip_first_layer_w_is_identity_per_gate():
    case = Case("LSTM", input_mode="SKIP", layer_count=2, hidden_size=3, data_length=3, direction="BIDIRECTION")
    W = {i.name: numpy_helper.to_array(i) for i in export(case).graph.initializer}["layer0/W"]
    assert W.shape == (2, 12, 3)
    np.testing.assert_array_equal(W, np.tile(np.eye(3, dtype=np.float32), (2, 4, 1)))


# --- gates --------------------------------------------------------------------------------------

def swap_gates(materials, a, b):
    """The same materials with gates `a` and `b` exchanged in every W, R, Wb and Rb."""
    rename = {a: b, b: a}
    swap = lambda table: {(i, rename.get(gate, gate), is_w): v for (i, gate, is_w), v in table.items()}  # noqa: E731
    return materials._replace(weights=swap(materials.weights), biases=swap(materials.biases))


@pytest.mark.parametrize("op, a, b", [(op, a, b) for op in ("LSTM", "GRU")
                                      for a, b in itertools.combinations(GATES[RNNOperation[op]], 2)])
def test_gate_order_matters(op, a, b):
    """Swapping any two gates changes onnxruntime's outputs, so the reference catches a wrong order."""
    case = full_case(op, layer_count=1)
    m = case.materialise()
    right = run_onnxruntime(case, m)
    assert relative_error(right, run_reference(case, m)) < 5e-6
    wrong = run_onnxruntime(case, swap_gates(m, a, b))
    assert relative_error(wrong, right) > 1e-2, f"swapping {a.name} and {b.name} went unnoticed"


# --- backends -----------------------------------------------------------------------------------

@pytest.mark.parametrize("op, direction", list(itertools.product(OPS, DIRECTIONS)))
@pytest.mark.parametrize("input_mode", ["LINEAR", "SKIP"])
def test_runners_agree_with_reference(op, direction, input_mode):
    case = full_case(op, direction, input_mode=input_mode, layer_count=3, data_length=4)
    expected = run_reference(case)
    got = OnnxRuntimeRunner().infer(case)
    assert [g.dtype for g in got] == [np.float64] * len(expected)
    assert [g.shape for g in got] == [e.shape for e in expected]
    assert relative_error(got, expected) < 5e-6
    if OnnxReferenceRunner().prepare(case) is None:
        assert relative_error(OnnxReferenceRunner().infer(case), expected) <= 1e-10


@pytest.mark.parametrize("op", ("TANH", "LSTM", "GRU"))
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_onnx_reference_split_agrees_with_onnxruntime_sequence_lens(op, direction):
    """The case split (one sequence at a time, truncated) equals onnxruntime honouring sequence_lens."""
    case = full_case(op, direction, batch_dims=(3, 2), max_seq_length=6)
    assert relative_error(run_onnx_reference(case), run_onnxruntime(case)) < 5e-6


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_onnxruntime_zeros_output_past_seq_lengths(direction):
    case = full_case("LSTM", direction, batch_dims=(6,), max_seq_length=5)
    lengths = case.materialise().seq_lengths
    output = run_onnxruntime(case)[0]
    assert set(lengths.tolist()) >= {1, 5}
    for n, length in enumerate(lengths):
        assert np.all(output[n, length:] == 0.0) and np.all(output[n, :length] != 0.0)


def test_onnx_reference_ignores_sequence_lens():
    """The gap the split works around; if this fails, onnx.reference honours sequence_lens now."""
    case = full_case("GRU")
    m = case.materialise()
    ragged = ReferenceEvaluator(export(case, m, np.float64)).run(None, feeds(case, m, np.float64))
    full = dataclasses.replace(case, seq_lengths=False)  # same data, no sequence_lens input
    unmasked = ReferenceEvaluator(export(full, m, np.float64)).run(None, feeds(full, m, np.float64))
    assert set(m.seq_lengths.reshape(-1).tolist()) != {case.max_seq_length}
    for r, u in zip(ragged, unmasked):
        np.testing.assert_array_equal(r, u)


def test_onnx_reference_has_no_relu():
    """The gap behind OnnxReferenceRunner's RELU reason; if this fails, drop that reason."""
    case = full_case("RELU", seq_lengths=False)
    with pytest.raises(RuntimeError, match="Relu"):
        ReferenceEvaluator(export(case, dtype=np.float64)).run(None, feeds(case, dtype=np.float64))
    assert "Relu" in OnnxReferenceRunner().prepare(case)


def test_runner_protocol():
    assert (OnnxRuntimeRunner.name, OnnxRuntimeRunner.precision) == ("onnxruntime", "float32")
    assert (OnnxReferenceRunner.name, OnnxReferenceRunner.precision) == ("onnx.reference", "float64")
    for op in OPS:
        assert OnnxRuntimeRunner().prepare(full_case(op)) is None
    for op in ("TANH", "LSTM", "GRU"):
        assert OnnxReferenceRunner().prepare(full_case(op)) is None


def test_missing_package_is_a_reason(monkeypatch):
    monkeypatch.setattr(onnx_runners.importlib.util, "find_spec", lambda name: None)
    assert OnnxRuntimeRunner().prepare(full_case("GRU")) == "onnx is not installed"
    assert OnnxReferenceRunner().prepare(full_case("GRU")) == "onnx is not installed"


# --- what the export refuses --------------------------------------------------------------------

def test_skip_with_data_length_other_than_hidden_size_is_refused():
    case = Case("GRU", input_mode="SKIP", hidden_size=4, data_length=4)
    object.__setattr__(case, "data_length", 3)  # what Case's own validation would refuse
    with pytest.raises(ValueError, match=r"ONNX export .*SKIP needs E == hidden_size.*E=3, hidden_size=4"):
        export(case, case.materialise())


def test_missing_or_misshapen_weights_are_refused():
    case = Case("LSTM")
    m = case.materialise()
    weights = dict(m.weights)
    del weights[(0, RNNGateType.FORGET, False)]
    with pytest.raises(ValueError, match=r"ONNX export: weights \(0, FORGET, is_w=False\) missing"):
        export(case, m._replace(weights=weights))
    biases = {**m.biases, (0, RNNGateType.CELL, True): np.zeros(5)}
    with pytest.raises(ValueError, match=r"biases \(0, CELL, is_w=True\) has shape \(5,\); expected \(4,\)"):
        export(case, m._replace(biases=biases))


def test_materials_that_do_not_fit_the_case_are_refused():
    case = Case("TANH", hidden_state=True)
    m = case.materialise()
    with pytest.raises(ValueError, match=r"materials hidden_state has shape None"):
        export(case, m._replace(hidden_state=None))
    with pytest.raises(ValueError, match=r"materials input has shape \(2, 3, 5\)"):
        export(case, m._replace(input=np.zeros((2, 3, 5))))


def test_only_float_types():
    with pytest.raises(ValueError, match=r"dtype=<class 'numpy.int32'>; allowed: float32, float64, float16, 'fp32', 'fp16', 'bf16'"):
        export(Case("TANH"), dtype=np.int32)
    with pytest.raises(ValueError, match=r"io='half'; allowed: network, float32"):
        export(Case("TANH"), dtype="fp16", io="half")
