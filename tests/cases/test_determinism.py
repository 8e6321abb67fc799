"""CI is deterministic: hypothesis draws the same examples on every run, and TensorRT-RTX 1.7's known
builder failure is recorded (an expected failure with its message), not a random red build.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import settings

from trt_cases.results import known_mismatches, records as results
from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
KNOWN_FAILING = "relu-uni-skip-L2-H1-S1-E1-B2-fp32-s0"  # drawn by a `pytest -n 2` run of test_drawn_cases_build


def test_ci_profile_is_derandomised_and_thorough_explores():
    ci, thorough = settings.get_profile("ci"), settings.get_profile("thorough")
    assert ci.derandomize and ci.database is None
    assert not thorough.derandomize and thorough.max_examples > ci.max_examples


def drawn_cases_in_a_new_process():
    code = ("from hypothesis import given, settings\n"
            "from trt_cases.cases.strategies import cases\n"
            "import conftest\n"  # the project's profiles, as pytest loads them
            "seen = []\n"
            "@settings(max_examples=12)\n"
            "@given(case=cases())\n"
            "def draw(case):\n"
            "    seen.append(case.id)\n"
            "draw()\n"
            "print(' '.join(seen))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_drawn_cases_are_the_same_in_every_run():
    first, second = drawn_cases_in_a_new_process(), drawn_cases_in_a_new_process()
    assert len(first) == 12 and first == second


def test_known_builder_failure_matches_the_cases_seen():
    env = {"tensorrt": "TensorRT-RTX 1.7.1.116"}
    error = "BuildError: ... Internal Error: MyelinCheckException: transform_batch_matmul.cpp:270: CHECK(input->is_data()) failed."
    for backend in ("build-loop", "build-drop-in", "build-loop-fp16", "build-drop-in-bf16"):
        for case in (KNOWN_FAILING, "relu-uni-skip-L2-H1-S2-E1-B2-fp32-s0", "tanh-uni-skip-L2-H1-S1-E1-B2-fp32-s0",
                     "relu-uni-linear-L2-H1-S1-E1-B2-fp32-s0", "tanh-uni-linear-L3-H1-S2-E3-B1x3-lens-fp32-s9"):
            assert known_mismatches.find_build_failure(backend, case, env, error), (backend, case)
        # builds that succeed: H=2, one layer, batch volume 1, bidirectional, LSTM
        for case in ("relu-uni-skip-L2-H2-S1-E2-B2-fp32-s0", "relu-uni-skip-L1-H1-S1-E1-B2-fp32-s0",
                     "relu-uni-skip-L2-H1-S1-E1-B1x1-fp32-s0", "relu-bi-skip-L2-H1-S1-E1-B2-fp32-s0",
                     "lstm-uni-skip-L2-H1-S1-E1-B2-fp32-s0"):
            assert known_mismatches.find_build_failure(backend, case, env) is None, (backend, case)
        assert known_mismatches.find_build_failure(backend, KNOWN_FAILING, env, "BuildError: another error") is None
        assert known_mismatches.find_build_failure(backend, KNOWN_FAILING, {"tensorrt": "TensorRT-RTX 1.8.0"}) is None
    for backend in ("build-onnx", "build-onnx-fp16", "simulated-loop"):
        assert known_mismatches.find_build_failure(backend, KNOWN_FAILING, env, error) is None


@pytest.mark.parametrize("where, message", [
    ({"hidden": [1]}, "'where' names 'hidden', not a case field"),
    ({"hidden_size": 1}, "must be a list of values or"),
    ({"layer_count": {"least": 2}}, "must be a list of values or"),
])
def test_malformed_where_is_a_clear_error(tmp_path, where, message):
    path = tmp_path / "known.json"
    path.write_text(json.dumps([{"backend": "build-loop", "case": "*", "where": where, "when": {}, "reason": "r"}]))
    with pytest.raises(ValueError, match=message):
        known_mismatches.load(path)


def test_the_build_failures_file_is_valid():
    entries = known_mismatches.load(known_mismatches.BUILD_FAILURES_FILE)
    assert {e["backend"] for e in entries} == {"build-loop*", "build-drop-in*", "build-onnx*", "simulated-onnx*"} and all(e["error"] for e in entries)


@pytest.mark.trt_build
@pytest.mark.skipif(trt_api.load() is None, reason="neither tensorrt nor TensorRT-RTX is installed")
def test_run_reports_the_known_builder_failure_as_xfail(tmp_path, capsys):
    if known_mismatches.find_build_failure("build-loop", KNOWN_FAILING, known_mismatches.versions()) is None:
        pytest.skip(f"no known builder failure listed for {trt_api.load().label}")
    out = tmp_path / "r"
    assert main(["run", "--set", KNOWN_FAILING, "--backend", "build-loop", "--backend", "build-onnx",
                 "--out", str(out), "--no-progress"]) != 1
    records = {r["backend"]: r for r in results.read(out)["records"]}
    assert records["build-loop"]["status"] == "xfail", records["build-loop"]["reason"][:2000]
    assert records["build-loop"]["reason"].startswith("known builder failure: TensorRT-RTX 1.7")
    assert records["build-onnx"]["status"] == "built"
    Case.from_id(KNOWN_FAILING)  # a real case id
