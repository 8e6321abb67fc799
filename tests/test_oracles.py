"""The reference against implementations nobody here wrote: onnxruntime, onnx.reference, PyTorch.

Over the `seeds`, `matrix` and `edge` sets, and over at least 200 hypothesis-drawn cases per
oracle. Tolerances come from the one table in `trt_cases.results.compare`; a failure prints the case id,
output, worst index, observed and expected values, and the command that re-runs that case.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_cases.results.compare import compare
from trt_cases.runners.reference_runner import run_reference
from trt_cases.runners.registry import CPU_ORACLES, backend
from trt_cases.cases.sets import OPS, named
from trt_cases.cases.strategies import cases

RUNNERS = {name: backend(name) for name in CPU_ORACLES}
SET_CASES = [case for name in ("seeds", "matrix", "edge") for case in named(name)]
HYPOTHESIS_EXAMPLES = 200


def check(runner, case, comparison_log):
    reason = runner.unsupported(case)
    if reason:
        pytest.skip(reason)
    expected, actual = run_reference(case), runner.infer(case)
    result = compare(case, expected, actual, runner.name, runner.precision)
    comparison_log.append(result, case=case, expected=expected, actual=actual)
    assert result, result.message()


@pytest.mark.parametrize("case", SET_CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("name", RUNNERS)
def test_case_sets(name, case, comparison_log):
    check(RUNNERS[name], case, comparison_log)


def supported_ops(runner):
    """The ops this runner runs at all, so that every hypothesis example is a real comparison."""
    probe = named("seeds")[0]
    return tuple(op for op in OPS if runner.unsupported(probe.__class__(op)) is None)


@pytest.mark.parametrize("name", RUNNERS)
def test_hypothesis_cases(name, comparison_log):
    runner = RUNNERS[name]
    ops = supported_ops(runner)
    if not ops:
        pytest.skip(runner.unsupported(named("seeds")[0]))

    @settings(max_examples=max(HYPOTHESIS_EXAMPLES, settings.default.max_examples))
    @given(data=st.data())
    def property_(data):
        case = data.draw(cases(ops=ops), label="case")
        try:
            check(runner, case, comparison_log)
        except AssertionError as exc:
            exc.add_note(f"reproduce: python -m trt_cases check {case.id} --backend {runner.name}")
            raise

    property_()
