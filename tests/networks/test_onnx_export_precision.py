"""The case's ONNX model in fp16 and bf16: half initializers holding the case's values rounded (by
NumPy and torch, not our converter), Cast nodes exactly at the boundary for io="float32", and what
onnxruntime does with it (fp16 runs and agrees with the reference; bf16 RNN nodes it has no kernel for).
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, numpy_helper  # noqa: E402

from trt_cases import Case  # noqa: E402
from trt_cases.results.compare import compare  # noqa: E402
from trt_cases.networks.onnx_export import BF16_OPSET, OPSET, export, feeds  # noqa: E402
from trt_cases.runners.reference_runner import run_reference  # noqa: E402

OPS = ("RELU", "TANH", "LSTM", "GRU")
ELEMENT = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}


def full_case(op, precision="fp32", **overrides):
    fields = dict(layer_count=2, hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2, 3),
                  direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=op == "LSTM",
                  precision=precision, seed=3)
    return Case(op, **{**fields, **overrides})


def io_types(values):
    return {v.name: v.type.tensor_type.elem_type for v in values}


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("precision", ("fp16", "bf16"))
@pytest.mark.parametrize("io", ("network", "float32"))
def test_half_model_types_and_opset(precision, io):
    model = export(full_case("LSTM"), dtype=precision, io=io)  # export runs onnx's full checker
    boundary = TensorProto.FLOAT if io == "float32" else ELEMENT[precision]
    assert io_types(model.graph.input) == {"input": boundary, "seq_lengths": TensorProto.INT32,
                                           "hidden_state": boundary, "cell_state": boundary}
    assert io_types(model.graph.output) == {"output": boundary, "hidden": boundary, "cell": boundary}
    floats = {init.data_type for init in model.graph.initializer if init.data_type != TensorProto.INT64}
    assert floats == {ELEMENT[precision]}
    assert model.opset_import[0].version == (BF16_OPSET if precision == "bf16" else OPSET)


def test_float32_io_casts_exactly_at_the_boundary():
    model = export(full_case("GRU"), dtype="fp16", io="float32")
    casts = [(n.input[0], n.output[0], n.attribute[0].i) for n in model.graph.node if n.op_type == "Cast"]
    assert sorted(casts) == sorted([
        ("input", "input/cast", TensorProto.FLOAT16), ("hidden_state", "hidden_state/cast", TensorProto.FLOAT16),
        ("output/fp16", "output", TensorProto.FLOAT), ("hidden/fp16", "hidden", TensorProto.FLOAT)])
    readers = {name for n in model.graph.node if n.op_type != "Cast" for name in n.input}
    assert not readers & {"input", "hidden_state"}  # nothing but the Cast reads a float32 input


def test_fp16_initializers_are_the_cases_rounded_by_numpy():
    case = full_case("TANH", layer_count=1, direction="UNIDIRECTION", seq_lengths=False, hidden_state=False)
    m = case.materialise()
    inits = {init.name: numpy_helper.to_array(init) for init in export(case, dtype="fp16").graph.initializer}
    assert inits["layer0/W"].dtype == np.float16
    key = next(k for k in m.weights if k[2])  # the only W gate of a one-layer RNN
    np.testing.assert_array_equal(inits["layer0/W"][0], np.float16(m.weights[key]))


def test_bf16_initializers_are_the_cases_rounded_by_torch():
    torch = pytest.importorskip("torch")
    case = full_case("TANH", layer_count=1, direction="UNIDIRECTION", seq_lengths=False, hidden_state=False)
    m = case.materialise()
    init = next(i for i in export(case, dtype="bf16").graph.initializer if i.name == "layer0/R")
    key = next(k for k in m.weights if not k[2])
    expected = torch.tensor(m.weights[key], dtype=torch.float32).to(torch.bfloat16).to(torch.float32).numpy()
    np.testing.assert_array_equal(numpy_helper.to_array(init)[0].astype(np.float32), expected)


@pytest.mark.parametrize("io", ("network", "float32"))
@pytest.mark.parametrize("op", OPS)
def test_onnxruntime_runs_the_fp16_model_within_fp16_tolerance(op, io):
    case = full_case(op, precision="fp16")
    out = session(export(case, dtype="fp16", io=io)).run(None, feeds(case, dtype="fp16", io=io))
    assert {o.dtype for o in out} == {np.dtype(np.float16 if io == "network" else np.float32)}
    verdict = compare(case, run_reference(case), tuple(o.astype(np.float64) for o in out), "onnxruntime-fp16", "float16")
    assert verdict, verdict.message()


def test_onnxruntime_has_no_bf16_rnn_kernels():
    """Pinned so that the day onnxruntime gains them, this fails and a bf16 oracle can be added."""
    case = full_case("LSTM", precision="bf16")
    with pytest.raises(Exception, match=r"NOT_IMPLEMENTED : Could not find an implementation for LSTM\(22\)"):
        session(export(case, dtype="bf16", io="float32"))


def test_bf16_feeds_need_float32_io():
    with pytest.raises(ValueError, match=r"NumPy has no bfloat16 dtype; feed a bf16 model with io='float32'"):
        feeds(full_case("RELU"), dtype="bf16")
    assert {a.dtype for a in feeds(full_case("RELU"), dtype="bf16", io="float32").values()} == {
        np.dtype(np.float32), np.dtype(np.int32)}
