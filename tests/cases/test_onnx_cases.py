"""ONNX-operator cases (`OnnxCase`) on the CPU backends, and the readings that name what a backend computes.

onnxruntime, onnx.reference and TensorRT-RTX's parser (simulated by the NumPy executor) run one-node
models; where a backend disagrees with the ONNX reading (`reference.onnx_rnn`) but agrees with another
(`cases.readings`), the run says which: a finding for an oracle (xfail), a named failure for a
TensorRT backend. The expected outputs of each reading come from the reference with an attribute
changed; that a backend computes it is checked against the backend's own outputs, and that it is not
the ONNX reading by the same comparison failing. A planted backend (onnxruntime on the node with
`linear_before_reset` flipped) must fail with that reading named. `-m sweep`: the whole `onnx` set
on every CPU backend (tests/sweeps/test_onnx_cases_sweep.py).
"""

import dataclasses

import numpy as np

from helpers import acceptable, specs
from trt_cases.runners.base import Runner
import pytest
from hypothesis import given, settings

from trt_cases.cases import readings
from trt_cases.cases.onnx_case import OnnxCase
from trt_cases.cases.sets import named
from trt_cases.cases.strategies import onnx_cases
from trt_cases.networks import trt_api
from trt_cases.results import known_mismatches
from trt_cases.results.compare import compare
from trt_cases.run import gate, run
from trt_cases.runners.registry import backends as all_backends
from trt_cases.runners import ONLY_ONNX
from trt_cases.runners.onnx_runners import OnnxReferenceRunner, OnnxRuntimeRunner

ONNX_SET = named("onnx")
XFAILS = known_mismatches.load()
ORACLES = ("onnxruntime", "onnx.reference")
needs_trt = pytest.mark.skipif(trt_api.load() is None, reason=str(trt_api.missing("onnx")))


def _records(cases, names):
    backends = all_backends()
    records, _ = run(cases, {name: backends[name] for name in names}, xfails=XFAILS)
    return {(r.case, r.backend): r for r in records}



# A few of the set's cases: every op and direction, lengths, states, peepholes, lbr=1, bias absent, layout=1.
SUBSET = [c for c in ONNX_SET if c.id in {
    "onnx-rnn-fwd-H3-S4-N2-I3-fp32-s0", "onnx-rnn-bi-H5-S4-N3-I5-lens-h0-fp32-s11",
    "onnx-gru-rev-H3-S4-N2-I3-lens-fp32-s18", "onnx-gru-bi-H3-S5-N3-I4-h0-fp32-s21",
    "onnx-lstm-fwd-H3-S4-N3-I4-lens-h0-c0-fp32-s27", "onnx-lstm-bi-H5-S6-N3-I5-lens-h0-c0-fp32-s35",
}] + [c for c in ONNX_SET if (c.peepholes and c.direction == "reverse" and c.sequence_lens == "none")
      or (c.linear_before_reset and c.direction == "bidirectional" and c.sequence_lens == "none")
      or (not c.bias and c.op == "GRU" and c.direction == "forward")
      or (c.layout and c.op == "RNN" and c.direction == "forward")]


def test_subset_ids_are_in_the_set():
    assert len(SUBSET) == 12


@pytest.mark.trt_build
@needs_trt
def test_subset_on_the_cpu_backends():
    records = _records(SUBSET, ORACLES + ("simulated-onnx",))
    bad = [f"{r.backend} {r.case}: {r.status} {r.reason}" for r in records.values() if not acceptable(r)]
    assert not bad, "\n".join(bad)
    assert sum(r.status == "passed" for r in records.values()) >= 24  # it compared, mostly
    layout = next(c.id for c in SUBSET if c.layout)
    assert records[(layout, "onnxruntime")].reason.startswith("onnxruntime: ") and \
        "layout == 1" in records[(layout, "onnxruntime")].reason
    assert "layout as 0" in records[(layout, "simulated-onnx")].reason  # the parser's layout=1, by name
    assert gate(list(records.values()))[0] == 0


def _only(case, runner):
    (record,), _ = run([case], specs({runner.name: lambda: runner}), xfails=XFAILS)
    return record


def test_onnxruntime_clips_the_gates_only():
    case = OnnxCase("LSTM", clip=0.25, initial_h=True, initial_c=True, seed=109, hidden_size=4, seq_length=4,
                    batch_size=3, input_size=3)
    runner = OnnxRuntimeRunner()
    assert runner.prepare(case) is None
    actual = runner.infer(case)
    gates = next(r for r in readings.READINGS if r.name.startswith("gates only"))
    assert gates in readings.offered(case)  # |C| passes the clip on this case: the readings differ
    assert not compare(case, case.reference(), actual, "onnxruntime", "float32")
    record = _only(case, runner)
    assert record.status == "xfail"
    assert record.reason.startswith("finding: onnxruntime reads clip as gates only"), record.reason


@pytest.mark.parametrize("activation", ["Affine", "ThresholdedRelu"])
def test_onnxruntime_reads_missing_activation_parameters_as_0(activation):
    record = _only(OnnxCase("RNN", activations=(activation,), seed=9), OnnxRuntimeRunner())
    assert record.status == "xfail"
    assert record.reason.startswith("finding: onnxruntime reads activation_alpha/activation_beta as 0 where not given"), \
        record.reason


@pytest.mark.parametrize("case, reading", [
    (OnnxCase("GRU", sequence_lens="ragged", seed=3), "sequence_lens as ignored"),
    (OnnxCase("LSTM", input_forget=1, seed=4), "input_forget as ignored"),
    (OnnxCase("RNN", clip=0.25, seed=5), "clip as ignored"),
    (OnnxCase("LSTM", activations=("HardSigmoid", "Tanh", "Softsign"), activation_alpha=(0.25,),
              activation_beta=(0.375,), seed=6), "activations as ignored"),
], ids=lambda v: v.id if isinstance(v, OnnxCase) else v.split()[0])
def test_onnx_reference_ignores(case, reading):
    record = _only(case, OnnxReferenceRunner())
    assert record.status == "xfail"
    assert record.reason.startswith(f"finding: onnx.reference reads {reading}"), record.reason


def test_onnx_reference_refuses_an_rnn_activation_with_its_message():
    record = _only(OnnxCase("RNN", activations=("Relu",)), OnnxReferenceRunner())
    assert (record.status, record.reason) == ("skipped", "onnx.reference: RuntimeError: Unknown activation function 'Relu'.")


class FlippedLinearBeforeReset(Runner):
    """A planted wrong TensorRT-like backend: onnxruntime on the GRU node with linear_before_reset flipped."""
    name, precision, kind = "planted-lbr", "float32", "simulated"

    def prepare(self, case):
        return None

    def infer(self, case):
        flipped = dataclasses.replace(case, linear_before_reset=1 - case.linear_before_reset)
        runner = OnnxRuntimeRunner()
        assert runner.prepare(flipped) is None
        return runner.infer(flipped)


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_a_backend_with_linear_before_reset_flipped_fails_naming_it(direction):
    case = OnnxCase("GRU", direction=direction, linear_before_reset=1, initial_h=True, seed=8)
    record = _only(case, FlippedLinearBeforeReset())
    assert record.status == "failed"
    assert record.reason.startswith("planted-lbr computes as if it read linear_before_reset as its opposite"), record.reason
    assert gate([record])[0] == 1


def test_thresholded_relu_on_its_threshold():
    """ONNX's ThresholdedRelu is x if x > alpha (strictly; onnxruntime agrees): a clip equal to alpha puts inputs on the tie."""
    case = OnnxCase("LSTM", activations=("Sigmoid", "ThresholdedRelu", "ThresholdedRelu"), activation_alpha=(0.25, 0.25),
                    clip=0.25, initial_c=True, seq_length=5, batch_size=1, hidden_size=2, input_size=2)
    runner = OnnxRuntimeRunner()
    assert runner.prepare(case) is None
    assert compare(case, case.reference(), runner.infer(case), "onnxruntime", "float32")


def test_readings_offered_only_where_they_change_the_outputs():
    assert readings.offered(OnnxCase("LSTM", clip=100.0)) == []  # no value reaches the clip
    assert readings.offered(OnnxCase("LSTM", activations=("Sigmoid", "Tanh", "Tanh"))) == []  # the defaults
    names = {(r.attribute, r.name.split(" (")[0]) for r in readings.offered(
        OnnxCase("GRU", sequence_lens="ragged", initial_h=True, bias=True, seed=2))}
    assert names == {("sequence_lens", "ignored"), ("initial_h", "ignored"), ("linear_before_reset", "its opposite")}


@pytest.mark.parametrize("fields, named_", [
    (dict(op="LSTM", layout=2), "layout=2"),
    (dict(op="GRU", linear_before_reset=3), "linear_before_reset=3"),
    (dict(op="GRU", activations=("Swish", "Tanh")), "'Swish'"),
    (dict(op="RNN", direction="sideways"), "direction='sideways'"),
    (dict(op="LSTM", clip=-1.0), "clip=-1.0"),
    (dict(op="RNN", input_forget=1), "input_forget=1"),
    (dict(op="LSTM", sequence_lens="some"), "sequence_lens='some'"),
])
def test_an_attribute_onnx_does_not_define_is_one_line_naming_it(fields, named_):
    with pytest.raises((ValueError, TypeError)) as info:
        OnnxCase(**fields)
    assert named_ in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["simulated-loop", "simulated-drop-in-fp16", "build-loop", "build-drop-in-fp32",
                                  "build-native", "tensorrt-loop-fp32", "tensorrt-native-fp16"])
def test_irnnv2_only_backends_decline_an_onnx_case(name):
    (record,) = _records([OnnxCase("LSTM")], [name]).values()
    assert (record.status, record.reason) == ("skipped", ONLY_ONNX)


@needs_trt
def test_parser_refusal_is_a_skip_quoting_the_parser():
    case = OnnxCase("LSTM", input_forget=1)
    records = _records([case], ["simulated-onnx", "build-onnx", "onnxruntime"])
    for name in ("simulated-onnx", "build-onnx"):
        record = records[(case.id, name)]
        assert record.status == "skipped"
        assert "ONNX parser refuses the fp32 node" in record.reason and "Coupled input/forget is unsupported" in record.reason
    assert records[(case.id, "onnxruntime")].status == "passed"  # onnxruntime runs it: f = 1 - i


@needs_trt
def test_build_network_of_an_onnx_case():
    from trt_cases.networks.build import build_network

    case = OnnxCase("LSTM", direction="bidirectional", sequence_lens="ragged", initial_h=True, initial_c=True)
    net = build_network(case, "onnx")
    outputs = [(net.network.get_output(i).name, tuple(net.network.get_output(i).shape))
               for i in range(net.network.num_outputs)]
    assert outputs == [(n, o.shape) for n, o in zip(case.output_names, case.reference())]
    assert sorted(net.feeds) == ["X", "initial_c", "initial_h", "sequence_lens"]
    with pytest.raises(ValueError, match=r"path='loop'.*onnx path only; allowed: onnx"):
        build_network(case, "loop")


@needs_trt
def test_tensorrt_runner_builds_an_onnx_case_network_named_by_onnx():
    from trt_cases.runners.trt_runner import TensorRTRunner

    case = OnnxCase("GRU", direction="reverse", linear_before_reset=1, initial_h=True)
    runner = TensorRTRunner("onnx", "fp32", compute_capability=(8, 9))
    net = runner.network(case)
    assert [net.network.get_output(i).name for i in range(net.network.num_outputs)] == ["Y", "Y_h"]
    assert sorted(net.feeds) == ["X", "initial_h"]
    assert TensorRTRunner("loop", "fp32", compute_capability=(8, 9)).prepare(case) == ONLY_ONNX


def test_the_onnx_set():
    assert 150 <= len(ONNX_SET) <= 250 and len({c.id for c in ONNX_SET}) == len(ONNX_SET)
    cross = {(c.op, c.direction, c.sequence_lens, c.initial_h) for c in ONNX_SET}
    assert len(cross) >= 36 - 0 and all((op, d, lens, h) in cross for op in ("RNN", "GRU", "LSTM")
                                        for d in ("forward", "reverse", "bidirectional")
                                        for lens in ("none", "ragged") for h in (False, True))
    used = {a for c in ONNX_SET for a in c.activations}
    assert len(used) == 11
    for case in ONNX_SET:
        assert OnnxCase.from_id(case.id) == case
        if case.op == "LSTM" and case.clip is not None:  # |C| > clip is reached: the clip readings differ
            assert any(r.name.startswith("gates only") for r in readings.offered(case)), case.id
    magnitude = max(float(np.max(np.abs(o))) for c in ONNX_SET for o in c.reference())
    assert magnitude < 10  # well-conditioned: Relu-type activations do not blow up


@settings(max_examples=25, deadline=None)
@given(onnx_cases())
def test_drawn_onnx_cases_are_valid_and_bounded(case):
    assert OnnxCase.from_id(case.id) == case
    outputs = case.reference()
    assert all(np.isfinite(o).all() for o in outputs) and max(float(np.max(np.abs(o))) for o in outputs) < 100
