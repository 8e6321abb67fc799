"""`compare BASELINE CURRENT`, the upgrade gate: verdicts on correctness, timing only when asked and measured.

Each "What was seen" bullet of issue 13 about compare has a test here; the runs are written by hand
(every field a `results.Record` has), so the expected verdicts come from the gate's rules, not from
a run of the code under test.
"""

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest

from helpers import specs
from trt_cases.cases.selection import select_cases
from trt_cases.results import baseline, records as results
from trt_cases.run import run, timing
from trt_cases.runners.base import Runner
from trt_cases.cli import main

LSTM = "lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17"
GRU = "gru-bi-skip-L2-H3-S4-E3-B2-lens-fp32-s5"
TANH = "tanh-uni-linear-L1-H4-S3-E4-B2-fp32-s0"


def record(case, backend="onnxruntime", status="passed", **fields):
    figures = dict(max_abs=1e-7, allowed=1e-5) if status in ("passed", "failed", "xfail", "xpass") else {}
    if status == "failed":
        figures["max_abs"] = 3e-5
    return dataclasses.asdict(results.Record(case=case, backend=backend, kind="oracle", precision="float32", status=status,
                                             reason="planted" if status in ("skipped", "error") else "", **{**figures, **fields}))


def document(records, sets=("seeds",), **extra):
    return {"format": results.FORMAT, "created": "2026-11-23T00:00:00+00:00", "sets": list(sets), "environment": {},
            "records": records, **extra}


def written(tmp_path, name, doc):
    path = tmp_path / name
    path.mkdir()
    (path / "results.json").write_text(json.dumps(doc))
    return path


def compare_cli(tmp_path, before, after, *options):
    return main(["compare", str(written(tmp_path, "baseline", before)), str(written(tmp_path, "current", after)), *options])


def kinds(diff):
    return {(c.kind, c.case, c.backend, c.regression) for c in diff.changes}


# -- What was seen: "it says 'no changes' when the same cases fail in both runs"

def test_failures_in_both_runs_are_listed_not_hidden(tmp_path, capsys):
    runs = [record(LSTM, status="failed"), record(GRU, status="error"), record(TANH)]
    assert compare_cli(tmp_path, document(runs), document(runs)) == 0
    out = capsys.readouterr().out
    assert "no changes" not in out
    assert "failing    still failing" in out and LSTM in out and GRU in out
    assert "0 regression(s), 2 still failing" in out


# -- What was seen: "skipped -> failed and new cases are not flagged"

def test_skipped_then_failed_is_a_regression(tmp_path, capsys):
    before = document([record(LSTM, status="skipped"), record(TANH)])
    after = document([record(LSTM, status="failed"), record(TANH)])
    assert compare_cli(tmp_path, before, after) == 1
    assert "REGRESSION skipped -> failed" in capsys.readouterr().out


def test_new_cases_are_listed_and_a_new_failing_case_is_a_regression(tmp_path, capsys):
    before = document([record(TANH)])
    assert compare_cli(tmp_path, before, document([record(TANH), record(GRU, status="failed")])) == 1
    assert "REGRESSION new case failing" in capsys.readouterr().out
    diff = baseline.compare_runs(before, document([record(TANH), record(GRU)]))
    assert kinds(diff) == {("new case", GRU, "onnxruntime", False)} and diff.exit_status() == 0


# -- What was seen: "sets are matched as strings (./good.json vs good.json)"

def test_sets_spelled_differently_compare_by_their_cases(tmp_path, capsys):
    runs = [record(LSTM), record(GRU)]
    assert compare_cli(tmp_path, document(runs, sets=["./good.json"]), document(runs, sets=["good.json"])) == 0
    assert "compared 2 (case, backend) pairs" in capsys.readouterr().out


# -- What was seen: "results from pytest --results-json (sets: ['pytest']) cannot be compared with a CLI run"

def test_pytest_results_compare_with_cli_results(tmp_path, capsys):
    cli_run = document([record(LSTM), record(GRU), record(TANH), record(LSTM, backend="onnx.reference")], sets=["seeds", "edge"])
    pytest_run = document([record(LSTM), record(GRU, status="failed"), record(LSTM, backend="torch-cpu-float64")], sets=["pytest"])
    assert compare_cli(tmp_path, cli_run, pytest_run) == 1
    out = capsys.readouterr().out
    assert "REGRESSION new failure" in out and GRU in out
    assert "compared 2 (case, backend) pairs present in both runs; 2 ran only in the baseline, 1 only in the current run" in out
    diff = baseline.compare_runs(cli_run, pytest_run)
    assert ("only in baseline", TANH, "onnxruntime", False) in kinds(diff)  # the pytest run did not select it
    assert ("new case", LSTM, "torch-cpu-float64", False) in kinds(diff)


def test_a_pair_lost_from_a_run_that_ran_its_case_and_backend_has_vanished():
    before = document([record(LSTM), record(GRU), record(GRU, backend="onnx.reference")])
    diff = baseline.compare_runs(before, document([record(LSTM), record(GRU, backend="onnx.reference")]))
    assert kinds(diff) == {("vanished", GRU, "onnxruntime", True)}


def test_error_growth_counts_except_where_values_are_not_comparable():
    chaotic = "chaotic at float32: values are not comparable, only shapes and finiteness are checked"
    before = document([record(LSTM, max_abs=1e-8), record(TANH, max_abs=1e-3, allowed=12.8, note=chaotic)])
    after = document([record(LSTM, max_abs=1e-6), record(TANH, max_abs=1.86, allowed=12.8, note=chaotic)])
    assert kinds(baseline.compare_runs(before, after)) == {("error growth", LSTM, "onnxruntime", True)}


def test_runs_with_no_pair_in_common_are_bad_input(tmp_path, capsys):
    assert compare_cli(tmp_path, document([record(LSTM)]), document([record(GRU)])) == 2
    err = capsys.readouterr().err
    assert "no (case, backend) pair in common" in err and "Traceback" not in err


def test_runs_where_nothing_ran_in_both_are_bad_input():
    with pytest.raises(ValueError, match="no \\(case, backend\\) pair ran in both runs"):
        baseline.compare_runs(document([record(LSTM, status="skipped")]), document([record(LSTM, status="skipped")]))


def test_an_interrupted_current_run_is_a_regression():
    diff = baseline.compare_runs(document([record(LSTM)]), document([record(LSTM)], partial=True))
    assert [c.kind for c in diff.regressions] == ["partial run"]


# -- What was seen: "compare fails on timing noise (one sample per case, the first including warm-up ...;
#    no way to turn timing off)"

def test_timing_is_not_compared_unless_asked(tmp_path, capsys):
    before = document([record(LSTM, run_seconds=0.020), record(GRU, run_seconds=0.010)])
    after = document([record(LSTM, run_seconds=0.200), record(GRU, run_seconds=0.090)])  # warm-up and load: 9-10x
    assert compare_cli(tmp_path, before, after) == 0
    assert "timing not compared (pass --timing" in capsys.readouterr().out


def test_timing_without_repeated_samples_says_why(tmp_path, capsys):
    before = document([record(LSTM, run_seconds=0.020)])
    after = document([record(LSTM, run_seconds=0.200, run_seconds_samples=[0.2, 0.2, 0.2])])
    assert compare_cli(tmp_path, before, after, "--timing") == 0
    assert "timing not compared: the baseline has no pair with 3+ repeated timings" in capsys.readouterr().out


@pytest.mark.parametrize("after_samples, slower", [
    ([0.010, 0.011, 0.060], False),  # one slow sample (a loaded machine): the median did not move
    ([0.015, 0.040, 0.041], False),  # median 4x and 30 ms up, but the ranges overlap (0.015 < 0.030): noise
    ([0.009, 0.0095, 0.0098], False),  # faster
    ([0.031, 0.040, 0.045], True),  # median 4x, +30 ms, every sample above every baseline sample
    ([0.0150, 0.0160, 0.0170], False),  # 1.6x but only +6 ms: under the margin
])
def test_timing_compares_medians_of_repeated_samples(after_samples, slower):
    before = document([record(LSTM, run_seconds=0.010, run_seconds_samples=[0.009, 0.010, 0.030])])
    after = document([record(LSTM, run_seconds=sorted(after_samples)[1], run_seconds_samples=after_samples)])
    diff = baseline.compare_runs(before, after, timing=True)
    assert [c.kind for c in diff.regressions] == (["slower run"] if slower else [])
    assert diff.timing.startswith("timing compared on 1 of 1 pairs")


def test_json_and_junit_carry_every_change(tmp_path):
    before = document([record(LSTM), record(GRU, status="failed"), record(TANH), record(TANH, backend="torch-cpu-float64")])
    after = document([record(LSTM, status="error"), record(GRU, status="failed"), record(TANH), record(TANH, backend="onnx.reference")])
    assert compare_cli(tmp_path, before, after, "--json", str(tmp_path / "c.json"), "--junit", str(tmp_path / "c.xml")) == 1
    out = json.loads((tmp_path / "c.json").read_text())
    assert out["exit_status"] == 1 and out["regressions"] == 1 and out["compared"] == 3
    assert {(c["kind"], c["case"], c["backend"]) for c in out["changes"]} == {
        ("new failure", LSTM, "onnxruntime"), ("still failing", GRU, "onnxruntime"),
        ("only in baseline", TANH, "torch-cpu-float64"), ("new case", TANH, "onnx.reference")}
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    cases = {(t.get("classname"), t.get("name")): t for t in suite.iter("testcase")}
    assert len(cases) == 5 and suite.get("tests") == "5" and suite.get("failures") == "1" and suite.get("skipped") == "2"
    assert cases[("onnxruntime", LSTM)].find("failure").get("type") == "new failure"
    assert cases[("onnxruntime", GRU)].find("failure") is None and "still failing" in cases[("onnxruntime", GRU)].find("system-out").text
    assert cases[("onnx.reference", TANH)].find("skipped") is not None and cases[("onnxruntime", TANH)].find("skipped") is None


def test_an_unwritable_report_file_is_bad_input(tmp_path, capsys):
    runs = document([record(LSTM)])
    assert compare_cli(tmp_path, runs, runs, "--junit", str(tmp_path / "no" / "such" / "dir.xml")) == 2
    err = capsys.readouterr().err
    assert "--junit" in err and "cannot write" in err and "Traceback" not in err


# -- the measurements behind --timing: repeated inferences after a warm-up one

class WarmingRunner(Runner):
    """A backend whose first inference is slow (warm-up) and the next ones fast; returns the reference's outputs."""
    name, precision = "warming", "float32"

    def __init__(self):
        self.calls = []

    def prepare(self, case):
        return None

    def infer(self, case):
        import time
        from trt_cases.runners.reference_runner import run_reference

        time.sleep(0.05 if not self.calls else 0.0)
        self.calls.append(case.id)
        return run_reference(case)


def test_timing_repeats_exclude_the_warm_up_and_record_the_median():
    runner = WarmingRunner()
    (r,), _ = run(select_cases([TANH]), specs({"warming": lambda: runner}), timing_repeats=4)
    assert r.status == "passed" and len(runner.calls) == 5
    assert len(r.run_seconds_samples) == 4 and max(r.run_seconds_samples) < 0.05
    assert r.run_seconds == sorted(r.run_seconds_samples)[1] / 2 + sorted(r.run_seconds_samples)[2] / 2


def test_without_timing_repeats_one_inference_and_no_samples():
    runner = WarmingRunner()
    (r,), _ = run(select_cases([TANH]), specs({"warming": lambda: runner}))
    assert len(runner.calls) == 1 and r.run_seconds_samples is None and r.run_seconds >= 0.05
    assert timing.samples(runner.infer, None, 0) is None


def test_run_timing_repeats_on_the_command_line(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--set", TANH, "--backend", "onnxruntime", "--timing-repeats", "3", "--out", str(out)]) == 0
    (r,) = results.read(out)["records"]
    assert len(r["run_seconds_samples"]) == 3 and r["run_seconds"] == sorted(r["run_seconds_samples"])[1]


def test_timing_repeats_must_be_a_whole_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--set", TANH, "--timing-repeats", "-1"])
    assert exit_.value.code == 2 and "--timing-repeats '-1': allowed: a whole number N >= 0" in capsys.readouterr().err
