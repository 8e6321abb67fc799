"""The reference against implementations nobody here wrote: onnxruntime, onnx.reference, PyTorch.

Over the `seeds`, `matrix` and `edge` sets, and over at least 200 hypothesis-drawn cases per
oracle. Tolerances come from the one table in `trt_cases.results.compare`; a failure prints the case id,
output, worst index, observed and expected values, and the command that re-runs that case.
"""

import pytest

from helpers import conforms
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_cases.runners.registry import backend, cpu_backends
from trt_cases.cases.sets import OPS, named
from trt_cases.cases.strategies import cases

RUNNERS = {name: backend(name) for name, spec in cpu_backends().items() if spec.kind == "oracle"}
SET_CASES = [case for name in ("seeds", "matrix", "edge") for case in named(name)]
HYPOTHESIS_EXAMPLES = 200


def check(runner, case, conformance_log):
    conforms(runner, case, conformance_log)


@pytest.mark.parametrize("case", SET_CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("name", RUNNERS)
def test_case_sets(name, case, conformance_log):
    check(RUNNERS[name], case, conformance_log)


def supported_ops(runner):
    """The ops this runner runs at all, so that every hypothesis example is a real comparison."""
    probe = named("seeds")[0]
    return tuple(op for op in OPS if runner.prepare(probe.__class__(op)) is None)


@pytest.mark.parametrize("name", RUNNERS)
def test_hypothesis_cases(name, conformance_log):
    runner = RUNNERS[name]
    ops = supported_ops(runner)
    if not ops:
        pytest.skip(runner.prepare(named("seeds")[0]))

    @settings(max_examples=max(HYPOTHESIS_EXAMPLES, settings.default.max_examples))
    @given(data=st.data())
    def property_(data):
        case = data.draw(cases(ops=ops), label="case")
        try:
            check(runner, case, conformance_log)
        except AssertionError as exc:
            exc.add_note(f"reproduce: python -m trt_cases check {case.id} --backend {runner.name}")
            raise

    property_()
