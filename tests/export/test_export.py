"""`python -m trt_cases export CASE_ID --out DIR`: a bug-report bundle, checked by onnxruntime and by NVIDIA's
Polygraphy (`polygraphy run --onnxrt --load-inputs --load-outputs`), which must pass it and fail an altered one."""

import importlib.resources
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import onnxruntime
import pytest

from trt_cases.cli import main
from trt_cases.export import bundle, polygraphy_json

ROOT = pathlib.Path(__file__).resolve().parents[2]
IRNNV2 = "lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17"
ONNX_CASE = "onnx-gru-bi-H4-S5-N3-I6-lbr1-lens-h0-fp32-s3"
HAS_POLYGRAPHY = importlib.util.find_spec("polygraphy") is not None


def export(tmp_path, case_id, *extra):
    out = tmp_path / case_id
    assert main(["export", case_id, "--out", str(out), *extra]) == 0
    return out


def run_onnxruntime(out):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), options, providers=["CPUExecutionProvider"])
    with np.load(out / "inputs.npz") as feeds:
        return dict(zip([o.name for o in session.get_outputs()], session.run(None, dict(feeds))))


@pytest.mark.parametrize("case_id, extra", [(IRNNV2, ()), (ONNX_CASE, ()), (IRNNV2.replace("fp32", "fp16"), ()),
                                            ("torch_gru-GRU-S6-N2-fp32-s0", ("--set", "tests/models/torch_gru.onnx"))],
                         ids=["irnnv2", "onnx", "irnnv2-fp16", "model-node"])
def test_bundle_files_agree_with_onnxruntime(tmp_path, monkeypatch, case_id, extra):
    monkeypatch.chdir(ROOT)
    out = export(tmp_path, case_id, *extra)
    assert set(bundle.FILES) <= {p.name for p in out.iterdir()}
    model = onnx.load(out / "model.onnx")
    inputs = [i.name for i in model.graph.input]
    with np.load(out / "inputs.npz") as feeds, np.load(out / "reference_outputs.npz") as reference:
        assert list(feeds.files) == inputs and list(reference.files) == [o.name for o in model.graph.output]
        for name in inputs:  # trtexec's raw inputs are the same bytes
            assert (out / f"{name}.bin").read_bytes() == np.ascontiguousarray(feeds[name]).tobytes()
        expected = {k: reference[k] for k in reference.files}
    assert all(v.dtype == np.float64 for v in expected.values())
    spec = json.loads((out / "case.json").read_text())
    assert ("of the model `tests/models/torch_gru.onnx`" in (out / "README.md").read_text()) == bool(extra)
    assert spec["precision"] == case_id.split("-")[-2]
    commands = (out / "commands.sh").read_text()
    atol = float(commands.split("--atol ")[1].split()[0])
    assert "trtexec --onnx=model.onnx" in commands and ("--stronglyTyped" in commands) == ("fp16" in case_id)
    assert f"--loadInputs={','.join(f'{n}:{n}.bin' for n in inputs)}" in commands
    if "fp16" in case_id:
        assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
        return  # onnxruntime's fp16 RNN kernels are not what this checks
    actual = run_onnxruntime(out)
    for name, value in expected.items():
        error = np.max(np.abs(actual[name] - value))
        assert error <= atol, f"{name}: onnxruntime differs from the bundle's reference by {error} > {atol}"
    assert 5e-5 <= atol < 1e-3  # the float32 floor times the output scale, or the case's sensitivity


def test_trtexec_output_check_script(tmp_path):
    """The bundle's script reads trtexec's --exportOutput JSON (name, dimensions, values) and applies the tolerance."""
    out = export(tmp_path, ONNX_CASE)
    with np.load(out / "reference_outputs.npz") as reference:
        exported = [{"name": k, "dimensions": "x".join(map(str, reference[k].shape)),
                     "values": reference[k].astype(np.float32).ravel().tolist()} for k in reference.files]
    (out / "trtexec_outputs.json").write_text(json.dumps(exported))
    shipped = importlib.resources.files("trt_cases.export").joinpath("check_trtexec_outputs.py")
    assert (out / "check_trtexec_outputs.py").read_bytes() == shipped.read_bytes()  # copied, not generated
    atol = json.loads((out / "tolerance.json").read_text())["atol"]
    assert f"--atol {atol:.6g} " in (out / "commands.sh").read_text()  # the script applies polygraphy's tolerance
    script = [sys.executable, "check_trtexec_outputs.py", "trtexec_outputs.json"]
    passed = subprocess.run(script, cwd=out, capture_output=True, text=True)
    assert passed.returncode == 0 and passed.stdout.count("passed") == 2, passed.stdout + passed.stderr
    exported[0]["values"][7] += 0.01
    (out / "trtexec_outputs.json").write_text(json.dumps(exported))
    failed = subprocess.run(script, cwd=out, capture_output=True, text=True)
    assert failed.returncode == 1 and "Y: max abs error 1.000e-02" in failed.stdout and "FAILED" in failed.stdout
    missing = subprocess.run(script[:-1] + ["no_such_outputs.json"], cwd=out, capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no_such_outputs.json" in missing.stderr, missing.stderr


def test_check_script_is_package_data_of_the_built_wheel(tmp_path):
    """pyproject ships the checker: a wheel built from the source holds it, and installed from that wheel alone the
    package finds it with importlib.resources, as `bundle.write` reads it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("trt_cases", "reference"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    if built.returncode and ("No module named" in built.stderr or "Cannot import" in built.stderr):
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr[-2000:]
    installed = tmp_path / "installed"
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    code = ("import importlib.resources, trt_cases.export.bundle as b; "
            "print(b.__file__); print(importlib.resources.files('trt_cases.export').joinpath(b.CHECK_SCRIPT).read_text())")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(installed)})
    assert found.returncode == 0, found.stderr[-2000:]
    where, text = found.stdout.split("\n", 1)
    assert pathlib.Path(where).is_relative_to(installed), where
    assert text == (ROOT / "trt_cases" / "export" / "check_trtexec_outputs.py").read_text() + "\n"


@pytest.mark.parametrize("args, message", [
    (["not-a-case"], "case id 'not-a-case'"),
    (["torch_gru-GRU-S6-N2-fp32-s0"], "needs its model: --set MODEL.onnx"),
    ([IRNNV2, "--out", "FILE"], "--out .* is an existing file"),
    ([IRNNV2, "--out", "FULL"], "--out .* is not empty"),
    (["computed_weight-lstm_1-S4-N1-fp32-s0", "--set", "tests/models/computed_weight.onnx"],
     "cannot be exported: .*W is computed by the graph"),
])
def test_bad_export_is_one_line(tmp_path, monkeypatch, capsys, args, message):
    import re

    monkeypatch.chdir(ROOT)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "FULL").mkdir()
    (tmp_path / "FULL" / "keep").write_text("x")
    args = [str(tmp_path / a) if a in ("FILE", "FULL") else a for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "new")]
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert (tmp_path / "FULL" / "keep").read_text() == "x"


@pytest.mark.skipif(not HAS_POLYGRAPHY, reason="polygraphy is not installed (pip install polygraphy, the test extra)")
def test_own_json_writer_is_polygraphys_format():
    """The writer used without polygraphy produces exactly what polygraphy writes, and polygraphy reads it back."""
    from polygraphy.comparator import IterationResult, RunResults
    from polygraphy.json import from_json, to_json

    feeds = [{"X": np.arange(6, dtype=np.float32).reshape(2, 3), "sequence_lens": np.array([2, 1], np.int32)}]
    outputs = {"Y": np.linspace(0, 1, 4), "Y_h": np.ones((1, 2))}
    assert polygraphy_json.to_json(feeds) == to_json(feeds)
    theirs = RunResults([("reference", [IterationResult(outputs, runner_name="reference")])]).to_json()
    assert polygraphy_json.to_json(polygraphy_json.run_results({"reference": [outputs]})) == theirs
    loaded = RunResults.from_json(polygraphy_json.to_json(polygraphy_json.run_results({"reference": [outputs]})))
    np.testing.assert_array_equal(loaded["reference"][0]["Y"], outputs["Y"])
    np.testing.assert_array_equal(from_json(polygraphy_json.to_json(feeds))[0]["sequence_lens"], [2, 1])


def _polygraphy(*bundles):
    """The bundles' own `polygraphy run` lines, `--trt` swapped for onnxruntime (no GPU here), in one process:
    per bundle, polygraphy's exit status and its log."""
    runs = []
    for out in bundles:
        line = next(c for c in (out / "commands.sh").read_text().splitlines() if c.startswith("polygraphy run"))
        args = line.split()[2:-2]
        args[args.index("--trt")] = "--onnxrt"
        runs.append((str(out), args))
    code = """
import contextlib, io, json, os, sys
from polygraphy.tools._main import main
results = []
for folder, args in json.loads(sys.argv[1]):
    os.chdir(folder)
    sys.argv = ["polygraphy", "run"] + args
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            status = main()
        except SystemExit as exc:
            status = exc.code
    results.append((status, log.getvalue()))
print(json.dumps(results))
"""
    import json as json_

    done = subprocess.run([sys.executable, "-c", code, json_.dumps(runs)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json_.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not HAS_POLYGRAPHY, reason="polygraphy is not installed (pip install polygraphy, the test extra)")
def test_polygraphy_passes_the_bundle_and_fails_an_altered_reference(tmp_path):
    out = export(tmp_path, ONNX_CASE)
    altered = tmp_path / "altered"
    shutil.copytree(out, altered)
    from polygraphy.comparator import RunResults

    results = RunResults.load(str(altered / "reference_outputs.json"))
    y = results["reference"][0]["Y"]
    y[1, 0, 2, 3] += 1e-3  # over the bundle's tolerance (about 5e-5), under any rounding
    results["reference"][0]["Y"] = y
    results.save(str(altered / "reference_outputs.json"))
    (status, text), (altered_status, altered_text) = _polygraphy(out, altered)
    assert status == 0 and "PASSED | Output: 'Y_h'" in text and "PASSED | Output: 'Y'" in text, text[-3000:]
    assert altered_status not in (0, None) and "FAILED | Output: 'Y'" in altered_text, altered_text[-3000:]
    assert "PASSED | Output: 'Y_h'" in altered_text
