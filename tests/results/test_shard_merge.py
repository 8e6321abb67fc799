"""A run spread over machines: shards partition the cases, `merge` joins their results, and pytest's
results (also under `pytest -n N`) carry every worker's records, statuses and outputs as a CLI run does.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from trt_cases.results import records as results, shard
from trt_cases.cli import main
from helpers import Fixed, run_pytest
from trt_cases.pytest_plugin.log import RecordLog
from trt_cases.run import run_case
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import named, random_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALL_CASES = named("seeds") + named("matrix") + named("edge") + random_cases(40)
SEEDS = [case.id for case in named("seeds")]  # the test ids holding "b1x3" in test_oracles are exactly these



# --- shards -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_shards_partition_the_cases(count):
    parts = [shard.select(ALL_CASES, f"{i}/{count}") for i in range(1, count + 1)]
    ids = [case.id for part in parts for case in part]
    assert sorted(ids) == sorted(case.id for case in ALL_CASES)  # union is all, and no case twice
    assert all(parts) or count > len(ALL_CASES)
    assert shard.select(list(reversed(ALL_CASES)), f"1/{count}") == list(reversed(parts[0]))  # order does not matter


def test_shards_are_the_same_in_every_process():
    """SHA-1 of the id, not Python's salted hash: another process with another hash seed agrees (and pinned values)."""
    ids = [case.id for case in ALL_CASES[:60]]
    code = ("import json, sys; from trt_cases.results.shard import shard_of; "
            "print(json.dumps([shard_of(i, 7) for i in json.load(sys.stdin)]))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(ids), capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=120)
    assert json.loads(done.stdout) == [shard.shard_of(i, 7) for i in ids]
    assert [shard.shard_of("gru-uni-linear-L1-H4-S3-E4-B2-fp32-s0", n) for n in (2, 3, 4, 7)] == [1, 3, 3, 5]
    assert [shard.shard_of("lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17", n) for n in (2, 3, 4, 7)] == [2, 3, 2, 6]


@pytest.mark.parametrize("spec", ["0/4", "5/4", "2/0", "a/b", "3", "1/2/3", ""])
def test_bad_shards_are_one_line_and_exit_2(spec, tmp_path, capsys):
    with pytest.raises(ValueError, match=r"--shard .*expected"):
        shard.parse(spec)
    assert main(["run", "--set", "seeds", "--backend", "onnxruntime", "--shard", spec, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "Traceback" not in err and not (tmp_path / "r").exists()


# --- merge (command line) -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shard_runs(tmp_path_factory):
    """seeds on onnxruntime in 3 shards, as three machines would run it."""
    base = tmp_path_factory.mktemp("shards")
    for i in (1, 2, 3):
        assert main(["run", "--set", "seeds", "--backend", "onnxruntime", "--shard", f"{i}/3",
                     "--out", str(base / f"s{i}"), "--no-progress"]) == 0
    return [base / f"s{i}" for i in (1, 2, 3)]


def test_merge_joins_shards_into_one_results_file_and_report(shard_runs, tmp_path, capsys):
    out = tmp_path / "all"
    assert main(["merge", *map(str, shard_runs), "--out", str(out)]) == 0
    document = results.read(out)
    keys = [(r["case"], r["backend"]) for r in document["records"]]
    assert sorted(keys) == sorted((case, "onnxruntime") for case in SEEDS)
    outputs = results.load_outputs(out)
    for case in SEEDS:
        assert f"onnxruntime/{case}/output" in outputs and f"reference/{case}/output" in outputs
    assert (out / "report.html").read_text().count("status-passed") > 0
    assert "| onnxruntime | 0 | 0 | 8 |" in (out / "summary.md").read_text()
    assert "merged 8 records from 3 results" in capsys.readouterr().out
    assert "environments_differ" not in document


def test_merge_keeps_identical_repeats_once(shard_runs, tmp_path):
    out = tmp_path / "twice"
    assert main(["merge", str(shard_runs[0]), str(shard_runs[0]), str(shard_runs[1]), "--out", str(out)]) == 0
    once = len(results.read(shard_runs[0])["records"]) + len(results.read(shard_runs[1])["records"])
    assert len(results.read(out)["records"]) == once


def edited_copy(source, target, edit):
    shutil.copytree(source, target)
    document = json.loads((target / "results.json").read_text())
    edit(document)
    (target / "results.json").write_text(json.dumps(document))
    return target


def test_merge_refuses_overlapping_records_that_differ(shard_runs, tmp_path, capsys):
    other = edited_copy(shard_runs[0], tmp_path / "other", lambda d: d["records"][0].update(status="failed"))
    case = results.read(other)["records"][0]["case"]
    assert main(["merge", str(shard_runs[0]), str(other), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert f"conflicting records for case {case} on backend onnxruntime" in err and "Traceback" not in err
    assert not (tmp_path / "m" / "results.json").exists()


def test_merge_refuses_outputs_that_differ(shard_runs, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(shard_runs[0], other)
    outputs = results.load_outputs(other)
    key = next(k for k in outputs if k.startswith("onnxruntime/"))
    outputs[key] = outputs[key] + 1
    np.savez_compressed(other / "outputs.npz", **outputs)
    assert main(["merge", str(shard_runs[0]), str(other), "--out", str(tmp_path / "m")]) == 2
    assert f"conflicting outputs for {key}" in capsys.readouterr().err


def test_merge_keeps_results_of_different_environments_and_says_so(shard_runs, tmp_path, capsys):
    def other_trt(document):
        document["environment"]["tensorrt"] = {"flavour": "TensorRT", "version": "10.14.1"}
    other = edited_copy(shard_runs[1], tmp_path / "other", other_trt)
    out = tmp_path / "m"
    assert main(["merge", str(shard_runs[0]), str(other), "--out", str(out)]) == 0
    document = results.read(out)
    assert "tensorrt.version" in document["environments_differ"]
    assert [s["environment"]["tensorrt"] for s in document["merged_from"]][1] == {"flavour": "TensorRT", "version": "10.14.1"}
    assert len(document["records"]) == sum(len(results.read(d)["records"]) for d in (shard_runs[0], other))
    assert "different environments (they differ in " in capsys.readouterr().out


def test_merge_refuses_an_existing_results_folder(shard_runs, capsys):
    assert main(["merge", str(shard_runs[1]), "--out", str(shard_runs[0])]) == 2
    assert "already holds a results.json" in capsys.readouterr().err


# --- pytest: records like a run's, every worker's, shards ---------------------------------------------

def test_pytest_records_carry_run_statuses_and_outputs():
    """A known mismatch is xfail (or xpass when it passes) in results, as a run records it; outputs are kept."""
    case = named("seeds")[0]
    expected = run_reference(case)
    wrong = tuple(e + 1.0 for e in expected)
    known = {"backend": "torch-cuda-float32", "case": case.id, "when": {}, "reason": "planted"}
    xfails = [known, {**known, "backend": "tensorrt-loop-fp32"}]
    log = RecordLog()
    for runner in (Fixed("torch-cuda-float32", "cudnn", 1.0), Fixed("tensorrt-loop-fp32", "tensorrt"),
                   Fixed("onnxruntime", "oracle", 1.0)):
        log.add(*run_case(runner, case, xfails=xfails))
    records, outputs = log.records, log.outputs
    assert [(r.backend, r.kind, r.status, r.reason) for r in records] == [
        ("torch-cuda-float32", "cudnn", "xfail", "planted"), ("tensorrt-loop-fp32", "tensorrt", "xpass", "planted"),
        ("onnxruntime", "oracle", "failed", "")]
    np.testing.assert_array_equal(outputs[f"torch-cuda-float32/{case.id}/output"], wrong[0])
    np.testing.assert_array_equal(outputs[f"reference/{case.id}/hidden"], expected[1])
    assert records[0].timestep_errors == pytest.approx([1.0] * case.max_seq_length)


def test_pytest_n_2_results_cover_every_worker(tmp_path):
    """Under -n 2, results.json, outputs.npz and the end-of-run summary hold both workers' comparisons."""
    out = tmp_path / "r"
    done = run_pytest("tests/runners/test_oracles.py", "-n", "2", "-q", "-k", "test_case_sets and onnxruntime and b1x3",
                      "--results-json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    document = results.read(out)
    keys = [(r["case"], r["backend"]) for r in document["records"]]
    assert sorted(keys) == sorted((case, "onnxruntime") for case in SEEDS)
    assert {r["status"] for r in document["records"]} == {"passed"}
    outputs = results.load_outputs(out)
    for case in SEEDS:  # onnxruntime's float32 outputs, close to the reference's but not it
        actual, reference = outputs[f"onnxruntime/{case}/output"], outputs[f"reference/{case}/output"]
        assert reference.dtype == np.float64 and actual.shape == reference.shape and not np.array_equal(actual, reference)
        np.testing.assert_allclose(actual, reference, atol=1e-4)
    assert not (out / "workers").exists() and (out / "report.html").exists()
    assert "ran      onnxruntime (float32): 8 cases, 8 passed" in done.stdout


def test_pytest_shards_partition_the_tests_by_case():
    def selected(*args):
        done = run_pytest("tests/runners/test_oracles.py", "--collect-only", "-q", "-k", "test_case_sets and b1x3", *args)
        return [line for line in done.stdout.splitlines() if line.startswith("tests/")]

    everything = selected()
    parts = [selected("--shard", f"{i}/2") for i in (1, 2)]
    assert len(everything) == 3 * len(SEEDS) and sorted(sum(parts, [])) == sorted(everything) and all(parts)
    for i, part in enumerate(parts, 1):  # every backend of a case in the case's shard
        cases = {next(case for case in SEEDS if line.endswith(f"-{case}]")) for line in part}
        assert cases == {case for case in SEEDS if shard.shard_of(case, 2) == i}
