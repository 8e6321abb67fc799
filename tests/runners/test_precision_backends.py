"""Backends per network precision and `--precision P`: names, selection, and cases run at P.

`build-{path}-{precision}` and `simulated-{path}-{precision}` exist for fp32, fp16 and bf16 (the bare
names are float32 networks); `--precision P` keeps the backends of precision P (and the CPU oracles,
which run each case at P too), runs every case with its data rounded to P, and is an error naming
what is allowed when no selected backend computes in P.
"""

import pytest

from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.cli import main
from trt_cases.cases.precision import TOLERANCE
from trt_cases.run import run
from trt_cases.runners.registry import backends as all_backends, select_backends

CASE = Case("GRU", hidden_size=3, max_seq_length=3, data_length=2, batch_dims=(2,), seed=3)


def test_every_path_has_build_and_simulated_backends_in_every_precision():
    names = set(all_backends())
    for path in ("loop", "drop-in", "onnx"):
        assert {f"simulated-{path}", f"build-{path}"} <= names
        for precision, compute in (("fp32", "float32"), ("fp16", "float16"), ("bf16", "bfloat16")):
            for prefix in ("simulated", "build"):
                runner = all_backends()[f"{prefix}-{path}-{precision}"].create()
                assert (runner.name, runner.precision) == (f"{prefix}-{path}-{precision}", compute)
                assert compute in TOLERANCE
    assert {"build-native", "build-native-fp16"} <= names and "simulated-native-fp16" not in names
    assert all_backends()["build-loop"].create().precision == "float32"
    assert all_backends()["simulated-loop"].create().precision == "float64"  # exact float64 math of the fp32 network


def test_precision_keeps_that_precision_and_the_oracles():
    chosen = set(select_backends(None, ["loop"], ["fp16"]))
    assert {"simulated-loop-fp16", "build-loop-fp16", "tensorrt-loop-fp16", "onnxruntime"} <= chosen
    assert not chosen & {"simulated-loop", "build-loop", "simulated-loop-bf16", "simulated-loop-fp32",
                         "tensorrt-loop-fp32", "simulated-onnx-fp16"}
    assert "torch-cuda-float16" in set(select_backends(None, None, ["fp16"]))  # float16 is fp16
    assert {"simulated-loop", "build-loop"} <= set(select_backends(None, ["loop"], ["fp32"]))


@pytest.mark.parametrize("argv, message", [
    (["--backend", "build-loop-fp16", "--precision", "bf16"],
     "precision 'bf16': no selected backend (build-loop-fp16) computes in it; allowed with them: fp16"),
    (["--backend", "simulated-loop", "--precision", "fp16"],
     "precision 'fp16': no selected backend (simulated-loop) computes in it; allowed with them: fp32"),
    (["--precision", "fp8"], "unknown precision 'fp8'; allowed:"),
])
def test_a_precision_no_selected_backend_has_is_an_error(argv, message, capsys):
    assert main(["run", "--set", CASE.id] + argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_oracles_run_each_case_at_every_chosen_precision():
    records, _ = run([CASE], select_backends(["onnxruntime"], None, ["fp16", "bf16"]))
    assert [r.case for r in records] == [CASE.id.replace("-fp32-", "-fp16-"), CASE.id.replace("-fp32-", "-bf16-")]
    assert all(r.status == "passed" and r.precision == "float32" for r in records), records


@pytest.mark.trt_build
@pytest.mark.skipif(trt_api.load() is None, reason=trt_api.missing("loop") or "")
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_run_at_a_half_precision_compares_cases_at_it(precision, tmp_path, capsys):
    argv = ["run", "--set", CASE.id, "--precision", precision, "--backend", f"simulated-loop-{precision}",
            "--backend", "onnxruntime", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    records, _ = run([CASE], select_backends([f"simulated-loop-{precision}"], None, [precision]))
    (record,) = records
    assert record.status == "passed" and record.case.endswith(f"-{precision}-s3"), record
    assert record.max_abs > 0, "a half-precision simulation with no error at all: is it rounded?"
    assert f"simulated-loop-{precision}" in out
