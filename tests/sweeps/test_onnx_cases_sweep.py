"""The whole `onnx` set (ONNX-operator cases) through `results.run.run` on every CPU backend that takes them.

Gate: every record passed (or built), skipped with the backend's own reason (onnxruntime's, onnx.reference's,
the parser's), or an expected failure naming a finding (`finding: <backend> reads ...`) or a known TensorRT-RTX
mismatch or builder failure; and the run's exit status 0. 100 drawn nodes (`strategies.onnx_cases`) on the CPU
oracles and the parser's network meet the same gate. `pytest -m sweep tests/sweeps/test_onnx_cases_sweep.py`.
"""

import pytest
from hypothesis import HealthCheck, assume, given, settings

from helpers import acceptable
from trt_cases.cases.sets import named
from trt_cases.cases.strategies import onnx_cases
from trt_cases.networks import trt_api
from trt_cases.results import known_mismatches
from trt_cases.run import gate, run
from trt_cases.runners.registry import backends as all_backends

pytestmark = [pytest.mark.sweep, pytest.mark.trt_build]
BACKENDS = ("onnxruntime", "onnx.reference", "simulated-onnx", "simulated-onnx-fp16", "simulated-onnx-bf16",
            "build-onnx", "build-onnx-fp16")



@pytest.mark.parametrize("backend", BACKENDS)
def test_the_onnx_set(backend):
    if trt_api.load() is None and backend.startswith(("simulated-", "build-")):
        pytest.skip(trt_api.missing("onnx"))
    records, _ = run(named("onnx"), {backend: all_backends()[backend]}, xfails=known_mismatches.load())
    bad = [f"{r.case}: {r.status} {r.reason}" for r in records if not acceptable(r)]
    assert not bad, "\n".join(bad)
    assert gate(records, allow_no_comparison=backend.startswith("build-"))[0] == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=onnx_cases())
def test_drawn_onnx_cases(case):
    """Drawn nodes on the CPU oracles and the parser's network: the same gate as the set."""
    # A clip equal to ThresholdedRelu's alpha puts clipped inputs on its threshold, where the reference
    # disagrees with ONNX (test_onnx_cases.py::test_thresholded_relu_on_its_threshold, a strict xfail).
    assume(not (case.clip == 0.25 and "ThresholdedRelu" in case.activations))
    backends = all_backends()
    names = ("onnxruntime", "onnx.reference") + (("simulated-onnx",) if trt_api.load() is not None else ())
    records, _ = run([case], {name: backends[name] for name in names}, xfails=known_mismatches.load())
    bad = [f"{r.backend}: {r.status} {r.reason}" for r in records if not acceptable(r)]
    assert not bad, "\n".join(bad)
