"""Streaming (`run.streaming`, `cases.chunks`): a runner called chunk after chunk, its states carried between calls.

Expected values come from the float64 reference and from onnxruntime and torch run over the WHOLE sequence, never
from the streaming code. The planted defect (an LSTM that drops a non-zero initial cell state on a one-step call)
passes every whole-sequence case of the `streaming` set and fails the streamed ones: what the set is for.
"""

import dataclasses
import json

import numpy as np
import pytest

from helpers import DropsCellStateAtOneStep, Fixed, Spy
from trt_cases.cases.case import Case
from trt_cases.cases.chunks import chunk_case, spans, streamed, streaming_problem
from trt_cases.cases.families import case_from_id
from trt_cases.cases.onnx_case import OnnxCase
from trt_cases.cases.sets import named
from trt_cases.cli import main
from trt_cases.networks import trt_api
from trt_cases.results import known_mismatches
from trt_cases.run import run_case
from trt_cases.run.streaming import stream
from trt_cases.runners.onnx_runners import OnnxRuntimeRunner
from trt_cases.runners.registry import backend
from trt_cases.runners.torch_runner import TorchRunner, torch_available

SET = named("streaming")
KNOWN = known_mismatches.load()
LSTM = Case("LSTM", layer_count=2, hidden_size=4, max_seq_length=7, data_length=3, batch_dims=(2, 3), hidden_state=True,
            cell_state=True, seed=5)
ONNX_GRU = OnnxCase("GRU", hidden_size=4, seq_length=7, batch_size=3, input_size=3, linear_before_reset=1, initial_h=True,
                    seed=6)
ONNX_LSTM_LAYOUT1 = OnnxCase("LSTM", hidden_size=3, seq_length=6, batch_size=2, input_size=4, layout=1, initial_h=True,
                             initial_c=True, seed=7)
WHOLE = [LSTM, ONNX_GRU, ONNX_LSTM_LAYOUT1]


def _close(got, want, atol):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=atol)


# --- chunking math -----------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 3, "S"], ids=["C1", "C3-not-dividing", "C-is-S"])
@pytest.mark.parametrize("case", WHOLE, ids=lambda case: case.id)
def test_streamed_reference_is_the_whole_sequence(case, chunk):
    """The float64 reference called chunk by chunk equals it over the whole sequence, whatever the chunk."""
    streamed_case = dataclasses.replace(case, chunk=case.max_seq_length if chunk == "S" else chunk)
    _close(stream(Fixed(shift=0.0), streamed_case), case.reference(), 1e-12)


@pytest.mark.parametrize("chunk", [1, 4])
def test_streamed_torch_equals_whole_sequence_onnxruntime_and_torch(chunk):
    """Independent implementations: torch streamed equals torch and onnxruntime over the whole sequence."""
    if not torch_available():
        pytest.skip("torch is not installed")
    torch64 = TorchRunner("cpu", "float64")
    _close(stream(torch64, dataclasses.replace(LSTM, chunk=chunk)), torch64.infer(LSTM), 1e-12)
    _close(stream(torch64, dataclasses.replace(LSTM, chunk=chunk)), OnnxRuntimeRunner().infer(LSTM), 1e-5)


def test_streamed_onnxruntime_equals_whole_sequence_reference_in_onnx_layout():
    streamed_case = dataclasses.replace(ONNX_GRU, chunk=3)
    _close(stream(OnnxRuntimeRunner(), streamed_case), ONNX_GRU.reference(), 1e-5)


def test_calls_carry_the_states_each_call_returned():
    """Each call gets its window of steps and the states the call before returned; the first the case's own."""
    spy = Spy()
    case = dataclasses.replace(LSTM, chunk=3)
    stream(spy, case)
    m = case.materialise()
    assert [c.max_seq_length for c, _, _ in spy.calls] == [3, 3, 1] and spans(case) == [(0, 3), (3, 3), (6, 1)]
    np.testing.assert_array_equal(spy.calls[0][1].hidden_state, m.hidden_state)
    np.testing.assert_array_equal(spy.calls[0][1].cell_state, m.cell_state)
    for (_, _, before), (_, after, _) in zip(spy.calls, spy.calls[1:]):
        assert after.hidden_state is before[1] and after.cell_state is before[2]  # as returned, not a copy or rounded
    np.testing.assert_array_equal(spy.calls[2][1].input, m.input[..., 6:7, :])


def test_a_case_without_states_starts_from_zeros_and_chunk_cases_take_states():
    spy = Spy()
    case = dataclasses.replace(ONNX_GRU, initial_h=False, chunk=2)
    stream(spy, case)
    first, materials, _ = spy.calls[0]
    assert first.initial_h and not np.any(materials.initial_h) and materials.initial_h.shape == (1, 3, 4)


def test_chunk_cases_carry_their_parent_and_its_weights():
    """Two parents of one chunk shape get different chunk cases (engine keys); a chunk case's weights are its parent's."""
    six, nine = (dataclasses.replace(LSTM, max_seq_length=s, chunk=3) for s in (6, 9))
    a, b = chunk_case(six, 3), chunk_case(nine, 3)
    assert a.to_json() != b.to_json() and a != b and a.id != b.id
    assert a == chunk_case(six, 3)  # every call of one length: one chunk case, one engine
    whole = dataclasses.replace(LSTM, max_seq_length=3)  # an ordinary case of the chunk's shape
    assert json.dumps(a.to_json()) != json.dumps(whole.to_json())
    mine, parent = a.materialise(), six.materialise()
    for key, value in parent.weights.items():
        np.testing.assert_array_equal(mine.weights[key], value)
    np.testing.assert_array_equal(mine.input, parent.input[..., :3, :])
    if trt_api.load() is not None:
        from trt_cases.runners.trt_runner import TensorRTRunner

        runner = TensorRTRunner("loop", "fp32", compute_capability=(9, 0))
        assert runner.engine_key(a) != runner.engine_key(b) and runner.engine_key(a) != runner.engine_key(whole)


# --- the planted defect --------------------------------------------------------------------------------

def test_planted_cell_state_defect_passes_whole_sequences_and_fails_streamed_one_step_calls():
    """The issue's done-when: an engine that ignores a non-zero initial cell state when S is 1 passes every
    whole-sequence case of the set and fails every streamed LSTM with a one-step call (C = 1, or a last call of 1)."""
    defect = DropsCellStateAtOneStep()
    caught = []
    for case in SET:
        whole, _ = run_case(defect, dataclasses.replace(case, chunk=None))
        assert whole.status == "passed", f"{case.id} whole sequence: {whole.status} {whole.reason}"
        record, _ = run_case(defect, case)
        one_step = case.op == "LSTM" and any(steps == 1 for _, steps in spans(case))
        assert record.status == ("failed" if one_step else "passed"), f"{case.id}: {record.status} {record.max_abs}"
        caught += [case.id] if one_step else []
    assert any("chunk1" in c for c in caught) and any("chunk1" not in c for c in caught), caught


# --- cases that cannot stream, bad input -----------------------------------------------------------------

@pytest.mark.parametrize("case, words", [
    (Case("GRU", direction="BIDIRECTION", chunk=1), "direction=BIDIRECTION"),
    (Case("LSTM", seq_lengths=True, chunk=2), "seq_lengths is set"),
    (OnnxCase("RNN", direction="reverse", chunk=1), "direction='reverse'"),
    (OnnxCase("LSTM", direction="bidirectional", chunk=1), "direction='bidirectional'"),
    (OnnxCase("GRU", sequence_lens="ragged", chunk=1), "sequence_lens is given"),
], ids=lambda v: v if isinstance(v, str) else v.id)
def test_a_case_that_cannot_stream_is_a_skip_saying_why(case, words):
    assert words in streaming_problem(case)
    spy = Spy()
    record, _ = run_case(spy, case)
    assert record.status == "skipped" and words in record.reason and "cannot stream" in record.reason
    assert record.chunk == case.chunk and spy.calls == []  # never a silent whole-sequence run
    assert streaming_problem(dataclasses.replace(LSTM, chunk=1)) is None


def test_a_dynamic_shape_case_does_not_stream():
    dynamic = next(c for c in named("dynamic-small") if c.direction == "UNIDIRECTION" and not c.seq_lengths)
    assert "dynamic-shape case" in streaming_problem(dataclasses.replace(dynamic, chunk=1))


@pytest.mark.parametrize("chunk", [0, -1, 8, True, 2.0])
def test_a_chunk_outside_1_to_S_is_a_one_line_error(chunk):
    with pytest.raises(ValueError, match=r"^chunk=.*: expected the steps per streamed call, a whole number in 1\.\.7") as info:
        dataclasses.replace(LSTM, chunk=chunk)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"in 1\.\.7"):
        dataclasses.replace(ONNX_GRU, chunk=chunk)


@pytest.mark.parametrize("value, words", [("0", "1 or more"), ("-2", "1 or more"), ("x", "1 or more"),
                                          ("1.5", "1 or more"), ("8", "has only S=7 steps; allowed: 1 to 7")])
def test_stream_chunk_option_refuses_bad_values(value, words):
    with pytest.raises(ValueError, match=f"^--stream-chunk {value}: .*{words}"):
        streamed([LSTM], value)


@pytest.mark.parametrize("value", ["0", "-1", "nine", "99"])
def test_cli_stream_chunk_bad_input_exits_2_with_one_line(value, tmp_path, capsys):
    assert main(["run", "--set", "tests/models/torch_gru.onnx", f"--stream-chunk={value}", "--backend", "onnxruntime",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --stream-chunk {value}:") and err.count("\n") == 1


def test_ids_round_trip_and_unstreamed_ids_and_json_are_unchanged():
    for case in SET + [dataclasses.replace(LSTM, chunk=7)]:
        assert case_from_id(case.id) == case and f"-chunk{case.chunk}-" in case.id
    assert LSTM.id == "lstm-uni-linear-L2-H4-S7-E3-B2x3-h0-c0-fp32-s5" and "chunk" not in LSTM.to_json()
    assert "chunk" not in ONNX_GRU.to_json() and Case.from_json(LSTM.to_json()) == LSTM
    assert Case.from_json(dataclasses.replace(LSTM, chunk=2).to_json()).chunk == 2


# --- the set on the CPU backends, the command-line done-whens --------------------------------------------

def test_streaming_set_runs_on_the_simulated_paths_and_builds(tmp_path):
    """`run --set streaming --backend simulated-loop --backend simulated-onnx --backend build-loop` exits 0, its records
    naming chunk sizes 1 and more (TensorRT-RTX builds the chunk networks here)."""
    if trt_api.load() is None:
        pytest.skip(trt_api.missing("loop"))
    out = tmp_path / "run"
    assert main(["run", "--set", "streaming", "--backend", "simulated-loop", "--backend", "simulated-onnx", "--backend",
                 "build-loop", "--out", str(out), "--no-progress"]) == 0
    records = json.loads((out / "results.json").read_text())["records"]
    assert {r["chunk"] for r in records} >= {1, 2, 3, 5}
    by = {(r["backend"], r["status"]) for r in records}
    assert {("simulated-loop", "passed"), ("simulated-onnx", "passed"), ("build-loop", "built")} <= by
    assert not {r["status"] for r in records} & {"failed", "error", "xpass"}


@pytest.mark.parametrize("name", ["onnxruntime", "torch-cpu-float64"])
def test_streaming_set_on_the_oracles(name, conformance_log):
    """Every case of the set, streamed, on an implementation nobody here wrote (skips in its own words)."""
    runner = backend(name)
    reason = runner.prepare(SET[0])
    if reason:
        pytest.skip(reason)
    statuses = []
    for case in SET:
        record, outputs = run_case(runner, case, xfails=KNOWN)
        conformance_log.add(record, outputs)
        statuses.append(record.status)
        assert record.status in ("passed", "skipped", "xfail"), f"{case.id}: {record.status} {record.reason} {record.max_abs}"
    assert statuses.count("passed") >= 19


def test_a_models_node_streamed_one_step_per_call(tmp_path):
    """`run --set tests/models/torch_gru.onnx --stream-chunk 1 --backend simulated-onnx --backend onnxruntime` passes."""
    out = tmp_path / "run"
    backends = ["--backend", "simulated-onnx"] if trt_api.load() is not None else []
    assert main(["run", "--set", "tests/models/torch_gru.onnx", "--stream-chunk", "1", *backends, "--backend", "onnxruntime",
                 "--out", str(out), "--no-progress"]) == 0
    records = json.loads((out / "results.json").read_text())["records"]
    assert records and all(r["status"] == "passed" and r["chunk"] == 1 and "-chunk1-" in r["case"] for r in records)


def test_a_bidirectional_model_node_streamed_is_a_skip_naming_why(capsys):
    """Its record is a skip with the reason; the named backend then ran nothing, which the gate says (exit 3)."""
    assert main(["check", "torch_lstm-LSTM-S7-N3-fp32-s0", "--set", "tests/models/torch_lstm.onnx", "--stream-chunk", "2",
                 "--backend", "onnxruntime"]) == 3
    out = capsys.readouterr().out
    assert "onnxruntime: skipped: cannot stream 2 step(s) per call: direction='bidirectional'" in out


def test_pytest_option_streams_the_models_nodes():
    from trt_cases.pytest_plugin.options import _model_cases

    class Config:
        def __init__(self, **options):
            self.options = {"--onnx-model": ["tests/models/torch_gru.onnx"], "--onnx-shape": [], "--onnx-inputs": "",
                            **options}

        def getoption(self, name, default=None):
            return self.options.get(name, default)

    assert [c.chunk for c in _model_cases(Config(**{"--stream-chunk": "2"}))] == [2]
    for bad in ("0", "x", "99"):
        with pytest.raises(pytest.UsageError, match=f"^--stream-chunk {bad}:"):
            _model_cases(Config(**{"--stream-chunk": bad}))
    with pytest.raises(pytest.UsageError, match="none was given"):
        _model_cases(Config(**{"--stream-chunk": "1", "--onnx-model": []}))


# --- export --------------------------------------------------------------------------------------------

def test_export_writes_one_bundle_per_call_with_the_reference_states(tmp_path, capsys):
    """Call k+1's states are the whole-sequence reference's output at the last step of call k (one layer: the
    output sequence is the hidden state), rounded to fp32: computed apart from the streaming code."""
    case = Case("GRU", hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2,), hidden_state=True, seed=9)
    out = tmp_path / "bundle"
    assert main(["export", case.id, "--stream-chunk", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "call000", "call001", "call002", "case.json", "commands.sh"]
    assert "streamed" in (out / "README.md").read_text() and "call002/commands.sh" in (out / "commands.sh").read_text()
    output = case.reference()[0]
    for call, step in ((1, 1), (2, 3)):
        fed = np.load(out / f"call{call:03d}" / "inputs.npz")
        assert fed["input"].shape == (2, 2 if call < 2 else 1, 3)
        np.testing.assert_allclose(fed["hidden_state"][:, 0, :], output[:, step, :].astype(np.float32), rtol=0, atol=1e-6)


# --- the full set on every CPU backend and precision (sweep) ---------------------------------------------

CPU_BACKENDS = [f"simulated-{p}{q}" for p in ("loop", "drop-in", "onnx") for q in ("", "-fp16", "-bf16")] + \
               [f"build-{p}{q}" for p in ("loop", "drop-in", "onnx") for q in ("", "-fp16", "-bf16")] + \
               ["onnxruntime", "onnx.reference", "torch-cpu-float64"]


@pytest.mark.sweep
@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_streaming_set_sweep(name, conformance_log):
    from trt_cases.runners.registry import cpu_backends

    runner = backend(name)
    precision = cpu_backends()[name].case_precisions[0]
    with runner:
        for case in SET:
            record, outputs = run_case(runner, dataclasses.replace(case, precision=precision), xfails=KNOWN)
            conformance_log.add(record, outputs)
            assert record.status in ("passed", "built", "skipped", "xfail"), f"{case.id}: {record.status} {record.reason}"
