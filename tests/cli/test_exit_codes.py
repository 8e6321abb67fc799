"""The command line's gate and its edges: exit 3 when nothing compared, nothing lost (--out checked first,
results never overwritten, streamed and kept partial on Ctrl-C), bad input in one line, every backend in
`check`, progress without a terminal. Each test pins one finding of issue 13."""

import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from trt_cases.cases import limits
from trt_cases.results import records as results
from trt_cases.run import gate
from trt_cases.runners import registry
from trt_cases.runners.base import Runner
from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.cli import main
from trt_cases.run.progress import Progress
from trt_cases.runners.reference_runner import run_reference

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASE = "relu-uni-linear-L1-H5-S4-E7-B1x3-fp32-s1"  # the first seeds case; onnxruntime passes it
needs_builder = pytest.mark.skipif(trt_api.missing("loop") is not None, reason=f"{trt_api.missing('loop')}")


class Stub(Runner):
    """A backend whose behaviour a test sets: cannot run, raises, or returns given outputs."""
    kind, precision = "oracle", "float64"

    def __init__(self, name, reason=None, raises=None, offset=None):
        self.name, self.reason, self.raises, self.offset = name, reason, raises, offset

    def prepare(self, case):
        return self.reason

    def infer(self, case, materials=None):
        if self.raises:
            raise self.raises
        return tuple(o + self.offset for o in run_reference(case))


@pytest.fixture
def stubs(monkeypatch):
    """Add stub backends to the ones the command line can name."""
    real = registry.backends

    def add(**factories):
        specs = {name: registry.BackendSpec(name, "oracle", factory) for name, factory in factories.items()}
        monkeypatch.setattr(registry, "backends", lambda: {**real(), **specs})
    return add


def run_cli(tmp_path, *argv):
    return main(["run", "--out", str(tmp_path / "r"), *argv])


# --- the gate: exit 3 when nothing compared ---

def test_named_backend_that_cannot_run_exits_3_with_its_reason(tmp_path, capsys):
    from trt_cases.runners.trt_runner import TensorRTRunner

    reason = TensorRTRunner("loop", "fp32").prepare(Case.from_id(CASE))
    if reason is None:
        pytest.skip("tensorrt-loop-fp32 can run here; the gate is tested with a stub below")
    assert run_cli(tmp_path, "--set", CASE, "--backend", "tensorrt-loop-fp32") == 3
    err = capsys.readouterr().err
    assert f"backend tensorrt-loop-fp32 was named with --backend but could not run: {reason}" in err
    assert "nothing compared" in err


def test_nothing_able_to_run_exits_3(tmp_path, capsys, stubs):
    stubs(**{"stub-absent": lambda: Stub("stub-absent", reason="stub: no such library")})
    assert run_cli(tmp_path, "--set", CASE, "--backend", "stub-absent") == 3
    err = capsys.readouterr().err
    assert "backend stub-absent was named with --backend but could not run: stub: no such library" in err
    assert results.read(tmp_path / "r")["records"][0]["status"] == "skipped"  # the results are still written


def test_named_backend_that_cannot_run_beside_one_that_compared_exits_3(tmp_path, capsys, stubs):
    stubs(**{"stub-absent": lambda: Stub("stub-absent", reason="stub: no such library")})
    assert run_cli(tmp_path, "--set", CASE, "--backend", "onnxruntime", "--backend", "stub-absent") == 3
    err = capsys.readouterr().err
    assert "stub-absent was named with --backend but could not run" in err and "nothing compared" not in err


def test_backends_not_named_may_skip(tmp_path, capsys, stubs):
    """Only a backend the user named is an error when it cannot run; one picked by default just skips."""
    records = [results.Record(case=CASE, backend="onnxruntime", kind="oracle", precision="float64", status="passed"),
               results.Record(case=CASE, backend="stub-absent", kind="oracle", precision="float64", status="skipped",
                              reason="stub")]
    assert gate(records) == (0, [])
    assert gate(records, named=["stub-absent"])[0] == 3
    failed = [*records, results.Record(case=CASE, backend="x", kind="oracle", precision="float64", status="failed")]
    assert gate(failed, named=["stub-absent"])[0] == 1  # failures come first


@needs_builder
@pytest.mark.trt_build
def test_a_run_of_build_checks_only_compared_nothing(tmp_path, capsys):
    assert run_cli(tmp_path, "--set", CASE, "--backend", "build-loop") == 3
    assert "nothing compared" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "again"), "--set", CASE, "--backend", "build-loop",
                 "--allow-no-comparison"]) == 0


def test_exit_codes_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for code, words in ((0, "all passed"), (1, "conformance failures"), (2, "bad usage or input"),
                        (3, "nothing compared"), (130, "interrupted")):
        assert f"{code} {words}" in out


# --- nothing lost: --out ---

@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the run starts."""
    monkeypatch.setattr("trt_cases.cli.run", lambda *a, **k: pytest.fail("the run started before --out was checked"))


def test_out_onto_an_existing_file_is_refused_before_the_run(tmp_path, capsys, no_run):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main(["run", "--set", CASE, "--backend", "onnxruntime", "--out", str(target)]) == 2
    assert "is an existing file" in capsys.readouterr().err and target.read_text() == "keep me"


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_out_in_an_unwritable_place_is_refused_before_the_run(tmp_path, capsys, no_run, where):
    if where == "under-a-file":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "results"
    else:
        out = pathlib.Path("/proc/trt-rnn-conformance-test/results")
        if not pathlib.Path("/proc").is_dir():
            pytest.skip("no /proc")
    assert main(["run", "--set", CASE, "--backend", "onnxruntime", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and len(err.strip().splitlines()) == 1


def test_existing_results_folder_is_not_overwritten_without_force(tmp_path, capsys):
    assert run_cli(tmp_path, "--set", CASE, "--backend", "onnxruntime") == 0
    before = (tmp_path / "r" / "results.json").read_bytes()
    assert run_cli(tmp_path, "--set", "tanh-uni-linear-L1-H4-S3-E4-B2-fp32-s0", "--backend", "onnxruntime") == 2
    err = capsys.readouterr().err
    assert "already holds results" in err and "use --force to overwrite them or give another --out" in err
    assert (tmp_path / "r" / "results.json").read_bytes() == before
    assert run_cli(tmp_path, "--set", "tanh-uni-linear-L1-H4-S3-E4-B2-fp32-s0", "--backend", "onnxruntime", "--force") == 0
    assert [r["case"] for r in results.read(tmp_path / "r")["records"]] == ["tanh-uni-linear-L1-H4-S3-E4-B2-fp32-s0"]


# --- nothing lost: streamed, partial ---

def test_a_crash_leaves_a_valid_partial_results_file(tmp_path):
    record = results.Record(case=CASE, backend="onnxruntime", kind="oracle", precision="float64", status="passed")
    with pytest.raises(RuntimeError):
        with results.ResultsWriter(tmp_path, sets=["seeds"], env={}) as writer:
            writer.add(record, {f"onnxruntime/{CASE}/output": np.ones(3)})
            raise RuntimeError("the machine fell over")
    document = results.read(tmp_path)
    assert document["partial"] is True and [r["case"] for r in document["records"]] == [CASE]
    assert results.load_outputs(tmp_path)[f"onnxruntime/{CASE}/output"].tolist() == [1.0, 1.0, 1.0]


def test_records_are_on_disk_while_the_run_goes_on(tmp_path):
    seen = []
    writer = results.ResultsWriter(tmp_path, sets=["s"], env={}, interval=0)
    for i in range(3):
        writer.add(results.Record(case=f"c{i}", backend="b", kind="oracle", precision="float64", status="passed"))
        seen.append(len(json.loads((tmp_path / "results.json").read_text())["records"]))
    assert seen == [1, 2, 3] and results.read(tmp_path)["partial"] is True
    writer.close()
    assert results.read(tmp_path)["partial"] is False


def interrupt_run(tmp_path, argv, records_before_interrupt):
    """Start `python -m trt_cases run`, wait until it has written some records, send SIGINT; (rc, seconds, doc)."""
    out = tmp_path / "r"
    # SIGINT at its default in the child even when this test runs as a background job (whose shell ignores SIGINT,
    # and an ignored SIGINT is inherited: Python would then install no KeyboardInterrupt handler)
    process = subprocess.Popen([sys.executable, "-m", "trt_cases", "run", "--out", str(out), *argv], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if len(json.loads((out / "results.json").read_text())["records"]) >= records_before_interrupt:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        assert process.poll() is None, f"the run ended before it could be interrupted: {process.communicate()}"
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        return process.returncode, time.monotonic() - sent, results.read(out), err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ctrl_c_during_an_oracle_stage_exits_130_and_keeps_the_records(tmp_path):
    rc, seconds, document, err = interrupt_run(tmp_path, ["--set", "matrix", "--set", "edge", "--backend", "onnxruntime",
                                                          "--backend", "onnx.reference"], 3)
    assert rc == 130, err
    assert seconds < 10 and document["partial"] is True
    statuses = [r["status"] for r in document["records"]]
    assert len(statuses) >= 3 and "passed" in statuses and set(statuses) <= {"passed", "skipped"}
    assert "Traceback" not in err and "marked partial" in err


@needs_builder
@pytest.mark.trt_build
def test_ctrl_c_during_a_build_check_stage_exits_130_and_keeps_the_records(tmp_path):
    rc, seconds, document, err = interrupt_run(tmp_path, ["--set", "matrix", "--backend", "build-loop"], 2)
    assert rc == 130, err
    assert seconds < 10 and document["partial"] is True
    assert len(document["records"]) >= 2 and {r["status"] for r in document["records"]} == {"built"}


# --- bad input: one line, exit 2 ---

@pytest.mark.parametrize("content, message", [
    ([{"op": 5}], "item 0: field op: 5 is not of type 'string'"),
    ([None], "item 0: None is not of type 'string', 'object'"),
    ([{"hidden_size": "4"}], "item 0: field hidden_size: '4' is not of type 'integer'"),
    ([{"op": "GRU", "batch_dims": [2, "x"]}], "item 0: field batch_dims[1]: 'x' is not of type 'integer'"),
    ([{"op": "GRU", "colour": "red"}], "'colour' was unexpected"),
    ({"op": "GRU"}, "is not of type 'array'"),
    ([], "[] should be non-empty"),
    ([{"op": "GRU", "hidden_size": 0}], "item 0: hidden_size=0"),
    (["gru-sideways"], "item 0: case id 'gru-sideways' is not of the form"),
])
def test_malformed_case_files_are_one_line_and_exit_2(tmp_path, capsys, no_run, content, message):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(content))
    assert main(["run", "--set", str(path), "--backend", "onnxruntime", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(records=5), "field records: 5 is not of type 'array'"),
    (lambda d: d["records"][0].update(max_abs="0.1"), "field records[0], field max_abs: '0.1' is not of type"),
    (lambda d: d["records"][0].update(status="fine"), "field records[0], field status: 'fine' is not one of"),
    (lambda d: d["records"][0].update(colour="red"), "'colour' was unexpected"),
    (lambda d: d["records"][0].pop("case"), "'case' is a required property"),
])
@pytest.mark.parametrize("command", ["report", "compare"])
def test_malformed_results_files_are_one_line_and_exit_2(tmp_path, capsys, edit, message, command):
    record = results.Record(case=CASE, backend="onnxruntime", kind="oracle", precision="float64", status="passed",
                            max_abs=1e-7)
    path = results.write(tmp_path, [record], {}, sets=["seeds"], env={})
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    assert main([command, str(tmp_path)] + ([str(tmp_path)] if command == "compare" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_every_record_field_is_in_the_results_schema():
    """The schema follows `Record`: a field added there is accepted, typed; anything else is refused."""
    fields = {f for f in results.Record.__dataclass_fields__}
    assert set(results.document_schema()["properties"]["records"]["items"]["properties"]) == fields


@pytest.mark.parametrize("case_id, message", [
    # the four (H, H) recurrent matrices alone, at float64: 4 * 1e10 * 8 bytes = 298 GiB
    ("lstm-uni-linear-L1-H100000-S3-E4-B2-fp32-s0", "needs about 298 GiB"),
    # the input alone, (1e5, 1e5, S=3, E=4) at float64, is 894 GiB; the outputs and states add more
    ("lstm-uni-linear-L1-H4-S3-E4-B100000x100000-fp32-s0", "needs about 4,545 GiB"),
    ("relu-uni-linear-L100000-H4-S3-E4-B2-fp32-s0", "layer_count=100000 is over the limit of"),
])
@pytest.mark.parametrize("command", ["run", "check"])
def test_absurd_sizes_are_refused_up_front(tmp_path, capsys, monkeypatch, no_run, case_id, message, command):
    monkeypatch.setattr(limits, "available_bytes", lambda: 64 * limits.GIB)  # a GPU runner's worth, whatever this is
    argv = ["run", "--set", case_id, "--out", str(tmp_path / "r")] if command == "run" else ["check", case_id]
    start = time.monotonic()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and time.monotonic() - start < 30
    if "needs about" in message:
        assert "; this machine has 64 GiB available" in err


@pytest.mark.parametrize("case", [Case("LSTM", layer_count=3, hidden_size=6, data_length=5, batch_dims=(2, 3),
                                       direction="BIDIRECTION", hidden_state=True, cell_state=True),
                                  Case("GRU", layer_count=2, hidden_size=7, max_seq_length=9, data_length=7,
                                       input_mode="SKIP", batch_dims=(4,))])
def test_memory_estimate_counts_the_data_a_case_holds(case):
    """Against the bytes of the arrays themselves: the materials and the reference's outputs, twice."""
    m = case.materialise()
    held = sum(a.nbytes for a in (m.input, m.hidden_state, m.cell_state) if a is not None)
    held += sum(a.nbytes for a in (*m.weights.values(), *m.biases.values()))
    outputs = sum(a.nbytes for a in run_reference(case))
    assert held + outputs <= limits.estimated_bytes(case) <= 2 * (held + 2 * outputs)


# --- check runs every backend, honours known mismatches ---

def test_check_runs_every_backend_when_one_raises(capsys, stubs):
    stubs(**{"stub-raises": lambda: Stub("stub-raises", raises=RuntimeError("CUDA error 700")),
             "stub-broken": lambda: (_ for _ in ()).throw(OSError("libnvinfer.so: cannot open"))})
    assert main(["check", CASE, "--backend", "stub-raises", "--backend", "stub-broken", "--backend", "onnxruntime"]) == 1
    out = capsys.readouterr().out
    assert "stub-raises: error: RuntimeError: CUDA error 700" in out
    assert "stub-broken: error: OSError: libnvinfer.so: cannot open" in out
    assert f"onnxruntime agrees with the reference on case {CASE}" in out


def test_a_backend_returning_outputs_of_the_wrong_shape_is_its_error(tmp_path, capsys, stubs):
    class Truncated(Stub):
        def infer(self, case):
            return tuple(o[..., :1] for o in run_reference(case))
    stubs(**{"stub-truncated": lambda: Truncated("stub-truncated")})
    assert run_cli(tmp_path, "--set", CASE, "--backend", "stub-truncated", "--backend", "onnxruntime") == 1
    records = {r["backend"]: r for r in results.read(tmp_path / "r")["records"]}
    assert records["stub-truncated"]["status"] == "error" and records["onnxruntime"]["status"] == "passed"
    assert records["stub-truncated"]["reason"].startswith("outputs not comparable: ")


def test_check_honours_the_xfails_file(tmp_path, capsys, stubs):
    stubs(**{"stub-off": lambda: Stub("stub-off", offset=1.0)})
    xfails = tmp_path / "known.json"
    xfails.write_text(json.dumps([{"backend": b, "case": CASE, "when": {}, "reason": "planted by a test"}
                                  for b in ("stub-off", "onnxruntime")]))
    assert main(["check", CASE, "--backend", "stub-off", "--xfails-file", str(xfails)]) == 0
    assert "stub-off xfail: DISAGREES" in capsys.readouterr().out
    assert main(["check", CASE, "--backend", "onnxruntime", "--xfails-file", str(xfails)]) == 1
    assert "onnxruntime XPASS" in capsys.readouterr().out


# --- progress ---

def test_progress_lines_without_a_terminal(tmp_path, capsys):
    assert run_cli(tmp_path, "--set", "seeds", "--backend", "onnxruntime") == 0
    err = capsys.readouterr().err
    assert "progress: 8/8 (100%) backend onnxruntime, passed 8 failed 0 skipped 0, eta 0 s" in err


def test_progress_counts_every_precision_a_backend_runs(tmp_path, capsys):
    """An oracle under `--precision fp32 --precision fp16` runs each case twice: the total says so."""
    assert run_cli(tmp_path, "--set", "seeds", "--backend", "onnxruntime", "--backend", "simulated-loop-fp16",
                   "--precision", "fp32", "--precision", "fp16") == 0
    err = capsys.readouterr().err
    assert "progress: 24/24 (100%)" in err, err


def test_progress_lines_come_every_10_seconds_and_every_tenth():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(100, stream=stream, bar=False, every_s=10, clock=lambda: now[0])
    progress.stage("onnxruntime")
    progress.close()  # no heartbeat thread in the way of the fake clock
    for i in range(25):
        now[0] += 0.1 if i < 20 else 20
        progress.update("skipped" if i == 0 else "passed")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "progress: 10/100 (10%) backend onnxruntime, passed 9 failed 0 skipped 1, eta 9 s"
    assert [line.split()[1] for line in lines] == ["10/100", "20/100", "21/100", "22/100", "23/100", "24/100", "25/100"]


def test_progress_bar_on_a_terminal_shows_stage_and_eta():
    stream = io.StringIO()
    progress = Progress(4, stream=stream, bar=True)
    progress.stage("simulated-loop")
    for _ in range(4):
        progress.update("passed")
    progress.close()
    text = stream.getvalue()
    assert "backend simulated-loop" in text and "4/4" in text and "<00:00" in text  # tqdm's ETA field


def test_progress_heartbeat_speaks_while_one_case_runs_long():
    stream = io.StringIO()
    progress = Progress(10, stream=stream, bar=False, every_s=0.2)
    progress.stage("build-loop")
    time.sleep(1.0)
    progress.close()
    assert stream.getvalue().count("progress: 0/10 (0%) backend build-loop") >= 2


def test_a_partial_file_without_records_is_readable(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"format": results.FORMAT, "partial": True, "records": []}))
    assert results.read(tmp_path)["partial"] is True
    (tmp_path / "results.json").write_text(json.dumps({"format": results.FORMAT, "partial": "yes", "records": []}))
    with pytest.raises(ValueError, match="field partial: 'yes' is not of type 'boolean'"):
        results.read(tmp_path)


@needs_builder
@pytest.mark.trt_build
def test_ctrl_c_cancels_a_running_build():
    """SIGINT in the middle of `build_serialized_network` raises KeyboardInterrupt at once, and the cancelled
    build leaves no builder thread behind (one left running aborts the interpreter at exit)."""
    import threading

    from trt_cases.networks.engine import build_plan
    from trt_cases.networks.build import build_network

    # A build of about 38 s uninterrupted (TensorRT-RTX 1.7, 2 cores): a Ctrl-C it honours stops it within seconds
    # (1.4 to 3.1 s measured), far from the 10 s bound even on a loaded machine; one it ignored would run on.
    net = build_network(Case("LSTM", layer_count=48, hidden_size=16, data_length=16, max_seq_length=5,
                             direction="BIDIRECTION", seq_lengths=True), "loop")
    sent = []
    timer = threading.Timer(0.3, lambda: (sent.append(time.monotonic()), os.kill(os.getpid(), signal.SIGINT)))
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)  # also when pytest runs as a background job
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            build_plan(net)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, saved)
    assert sent and time.monotonic() - sent[0] < 10
    assert not [t for t in threading.enumerate() if t.name == "tensorrt-builder"]
