"""The GPU gate: `pytest -m gpu` fails when no GPU backend compared a case, saying why for each backend.

Run on this GPU-less machine as a user's broken GPU runner would run it (a subprocess of the real
suite); where a GPU backend can run, the end-to-end tests skip: the gate then has comparisons.
"""

import dataclasses
import pathlib

import pytest

from helpers import Fixed, run_pytest
from trt_cases.pytest_plugin.log import RecordLog, gpu_gate
from trt_cases.run import run_case
from trt_cases.cases.sets import named

ROOT = pathlib.Path(__file__).resolve().parents[2]
ONE_CASE = "relu-uni-linear-L1-H5-S4-E7-B1x3-fp32-s1"  # the first seeds case
ONE_CASE_K = "relu-uni-linear-L1-H5-S4-E7-B1x3 and not lens and not h0"  # it at every backend's precision



def usable_gpu_backends():
    from trt_cases.runners.registry import gpu_backends

    usable = []
    for name, spec in gpu_backends().items():
        if spec.create().prepare(dataclasses.replace(named("seeds")[0], precision=spec.case_precisions[0])) is None:
            usable.append(name)
    return usable


@pytest.fixture(scope="module")
def no_gpu_here():
    usable = usable_gpu_backends()
    if usable:
        pytest.skip(f"GPU backends can run here ({', '.join(usable)}): the gate has comparisons to count")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist-2"])
def test_gpu_run_that_compared_nothing_fails_with_a_reason_per_backend(no_gpu_here, workers):
    done = run_pytest("-m", "gpu", "tests/runners/test_gpu.py", "-q", "-k", f"test_conformance and {ONE_CASE_K}", *workers)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "no GPU backend compared any case with the reference" in out
    import gpu_plan

    default = {e.backend for e in gpu_plan.entries() if e.tier == gpu_plan.DEFAULT and e.set_name == "seeds"}
    for name in default:  # one line per GPU backend that runs the case by default, with its skip reason
        lines = [line for line in out.splitlines() if line.startswith(f"  {name}: ")]
        assert len(lines) == 1 and len(lines[0]) > len(name) + 6, (name, out)


def test_allow_no_gpu_comparisons_lets_it_pass(no_gpu_here):
    done = run_pytest("-m", "gpu", "tests/runners/test_gpu.py", "-q", "-k", f"test_conformance and {ONE_CASE_K}",
                      "--allow-no-gpu-comparisons")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GPU gate failed" not in done.stdout and "skipped" in done.stdout


def test_gpu_tests_that_compare_nothing_by_design_are_not_gated(no_gpu_here):
    done = run_pytest("-m", "gpu", "tests/runners/test_gpu.py", "-q", "-k", "test_cuda_round_trip")
    assert done.returncode == 0 and "GPU gate" not in done.stdout, done.stdout + done.stderr


def test_the_default_cpu_run_is_not_gated():
    done = run_pytest("tests/runners/test_oracles.py", "tests/runners/test_gpu.py", "-q", "-k", f"test_case_sets and onnxruntime and {ONE_CASE}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "GPU gate" not in done.stdout


def test_gate_passes_with_one_gpu_comparison_and_not_with_cpu_ones():
    case = named("seeds")[0]
    log = RecordLog()
    for runner in (Fixed("onnxruntime"), Fixed("tensorrt-loop-fp32", "tensorrt", reason="cuda-python is not installed"),
                   Fixed("torch-cuda-float32", "cudnn", reason="no CUDA device")):
        log.add(*run_case(runner, case))
    lines = gpu_gate(log.summary())
    assert lines[1:] == ["  tensorrt-loop-fp32: cuda-python is not installed", "  torch-cuda-float32: no CUDA device"]
    failed = run_case(Fixed("torch-cuda-float32", "cudnn", shift=1.0), case)
    assert failed[0].status == "failed"
    log.add(*failed)  # a failed comparison still compared
    assert gpu_gate(log.summary()) == []
