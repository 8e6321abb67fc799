"""The whole `onnx` set (ONNX-operator cases) through `results.run.run` on every CPU backend that takes them.

Gate: every record passed (or built), skipped with the backend's own reason (onnxruntime's, onnx.reference's,
the parser's), or an expected failure naming a finding (`finding: <backend> reads ...`) or a known TensorRT-RTX
mismatch or builder failure; and the run's exit status 0. `pytest -m sweep tests/test_onnx_cases_sweep.py`.
"""

import pytest

from trt_cases.cases.sets import named
from trt_cases.networks import trt_api
from trt_cases.results import known_mismatches
from trt_cases.results.run import all_backends, gate, run

pytestmark = [pytest.mark.sweep, pytest.mark.trt_build]
BACKENDS = ("onnxruntime", "onnx.reference", "simulated-onnx", "simulated-onnx-fp16", "simulated-onnx-bf16",
            "build-onnx", "build-onnx-fp16")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_onnx_set(backend):
    if trt_api.load() is None and backend.startswith(("simulated-", "build-")):
        pytest.skip(trt_api.missing("onnx"))
    records, _ = run(named("onnx"), {backend: all_backends()[backend]}, xfails=known_mismatches.load())
    bad = [f"{r.case}: {r.status} {r.reason}" for r in records if not (
        r.status in ("passed", "built")
        or (r.status == "skipped" and r.reason)
        or (r.status == "xfail" and (r.reason.startswith("finding: ") or "TensorRT-RTX 1.7" in r.reason)))]
    assert not bad, "\n".join(bad)
    assert gate(records, allow_no_comparison=backend.startswith("build-"))[0] == 0
