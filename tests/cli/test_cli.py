"""The command line end to end: runs write results and reports, `compare` gates upgrades, bad input exits 2."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from trt_cases.results import records as results
from trt_cases.networks import trt_api
from trt_cases.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Two CPU backends that need no torch: onnxruntime (the test extra) and the simulated loop network (trt-rtx extra).
QUICK = ["run", "--set", "seeds", "--backend", "onnxruntime", "--backend", "simulated-loop", "--progress"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    if trt_api.missing("loop"):
        pytest.skip(f"the simulated loop backend needs TensorRT's network API: {trt_api.missing('loop')}")
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(QUICK + ["--out", str(out)]) == 0
    return out


def test_run_writes_results_outputs_and_reports(quick_run, capsys):
    document = results.read(quick_run)
    assert document["sets"] == ["seeds"] and len(document["records"]) == 16
    assert {r["status"] for r in document["records"]} == {"passed"}
    assert document["environment"]["python"] and "numpy" in document["environment"]["packages"]
    outputs = results.load_outputs(quick_run)
    first = document["records"][0]
    assert outputs[f"{first['backend']}/{first['case']}/output"].shape == tuple(first["spec"]["batch_dims"]) + (4, 5)
    assert outputs[f"reference/{first['case']}/output"].dtype.name == "float64"
    assert (quick_run / "report.html").read_text().count("class='cell status-passed'") > 0
    assert "| onnxruntime | 0 | 0 | 8 |" in (quick_run / "summary.md").read_text()


def test_results_json_is_readable_without_blobs(quick_run):
    text = (quick_run / "results.json").read_text()
    assert "base64" not in text and max(len(line) for line in text.splitlines()) < 400


def test_compare_passes_on_identical_runs(quick_run, capsys):
    assert main(["compare", str(quick_run), str(quick_run)]) == 0
    assert "no changes" in capsys.readouterr().out


def planted(quick_run, tmp_path, edit):
    current = tmp_path / "current"
    shutil.copytree(quick_run, current)
    document = json.loads((current / "results.json").read_text())
    edit(document["records"])
    (current / "results.json").write_text(json.dumps(document))
    return current


@pytest.mark.parametrize("edit, kind", [
    (lambda rs: rs[0].update(max_abs=rs[0]["allowed"] * 0.5), "error growth"),
    (lambda rs: rs[1].update(status="failed"), "new failure"),
    (lambda rs: rs.pop(2), "vanished"),
])
def test_compare_detects_planted_regressions(quick_run, tmp_path, capsys, edit, kind):
    assert main(["compare", str(quick_run), str(planted(quick_run, tmp_path, edit))]) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION {kind}" in out and "1 regression(s)" in out


def test_compare_notes_fixed_cases_without_failing(quick_run, tmp_path, capsys):
    broken = planted(quick_run, tmp_path, lambda rs: rs[0].update(status="failed"))
    assert main(["compare", str(broken), str(quick_run)]) == 0
    assert "note       fixed" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["run", "--set", "everything"], "unknown case set 'everything'; allowed: seeds, matrix, edge, onnx, dynamic, dynamic-small, streaming, random:N"),
    (["run", "--set", "random:x"], "random:N needs a whole number N >= 1"),
    (["run", "--backend", "tensorrt-magic"], "unknown backend 'tensorrt-magic'; allowed:"),
    (["run", "--path", "cudnn"], "unknown path 'cudnn'; allowed:"),
    (["run", "--precision", "fp8"], "unknown precision 'fp8'; allowed:"),
    (["compare", "/nonexistent/a", "/nonexistent/b"], "no such results file"),
    (["check", "lstm-sideways"], "is not of the form"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_foreign_files_and_runs_without_common_cases_exit_2(quick_run, tmp_path, capsys):
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "something-else", "records": []}))
    assert main(["compare", str(foreign), str(quick_run)]) == 2
    assert "not a results file of this suite" in capsys.readouterr().err
    other = planted(quick_run, tmp_path, lambda rs: [r.update(case=r["case"] + "-elsewhere") for r in rs])
    assert main(["compare", str(quick_run), str(other)]) == 2
    assert "the runs have no (case, backend) pair in common" in capsys.readouterr().err


def test_check_prints_the_comparison(capsys):
    assert main(["check", "gru-bi-skip-L2-H3-S4-E3-B2-lens-fp32-s5", "--backend", "onnxruntime"]) == 0
    assert "onnxruntime agrees with the reference on case gru-bi-skip-L2-H3-S4-E3-B2-lens-fp32-s5" in capsys.readouterr().out


def test_report_re_renders(quick_run, capsys):
    (quick_run / "report.html").unlink()
    assert main(["report", str(quick_run)]) == 0
    assert (quick_run / "report.html").exists()


def test_listed_known_mismatch_that_passes_is_called_out_and_fails_the_run(tmp_path, capsys):
    case = "relu-uni-linear-L1-H5-S4-E7-B1x3-fp32-s1"  # the first seeds case, which onnxruntime passes
    xfails = tmp_path / "known.json"
    xfails.write_text(json.dumps([{"backend": "onnxruntime", "case": case, "when": {}, "reason": "planted by a test"}]))
    out = tmp_path / "r"
    assert main(["run", "--set", case, "--backend", "onnxruntime", "--xfails-file", str(xfails), "--out", str(out)]) == 1
    assert [r["status"] for r in results.read(out)["records"]] == ["xpass"]
    assert f"`onnxruntime` `{case}`: xpass" in capsys.readouterr().out


def test_module_entry_point_runs(tmp_path):
    """`python -m trt_cases` is the same command line."""
    done = subprocess.run([sys.executable, "-m", "trt_cases", "check", "tanh-uni-linear-L1-H4-S3-E4-B2-fp32-s0",
                           "--backend", "onnxruntime"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
