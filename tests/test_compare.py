"""The comparator: tolerances from one table and the case's sensitivity, failures that say everything."""

import numpy as np
import pytest

from trt_cases import Case
from trt_cases.compare import TOLERANCE, compare, sensitivity
from trt_cases.runners.reference_runner import run_reference
from trt_cases.sets import EDGE

CASE = Case("LSTM", hidden_size=3, max_seq_length=4, batch_dims=(2,), seed=5)


def nudged(outputs, index, delta):
    out = [o.copy() for o in outputs]
    out[0][index] += delta
    return tuple(out)


def test_identical_outputs_pass_with_zero_error():
    expected = run_reference(CASE)
    result = compare(CASE, expected, expected, "x", "float32")
    assert result and result.max_abs == 0.0 and result.min_tolerance == 0.0


@pytest.mark.parametrize("precision", ["float64", "float32", "float16"])
def test_floor_is_the_table_entry_times_the_output_magnitude(precision):
    expected = run_reference(CASE)
    scale = max(1.0, max(np.max(np.abs(o)) for o in expected))
    step = TOLERANCE[precision] * scale
    just_in = compare(CASE, expected, nudged(expected, (1, 2, 0), 0.9 * step), "x", precision)
    just_out = compare(CASE, expected, nudged(expected, (1, 2, 0), 1.1 * step), "x", precision)
    assert just_in and not just_out


def test_failure_message_names_everything():
    expected = run_reference(CASE)
    result = compare(CASE, expected, nudged(expected, (1, 2, 0), 1e-3), "onnxruntime", "float32")
    assert not result
    text = result.message()
    assert f"onnxruntime DISAGREES with the reference on case {CASE.id}" in text
    assert "worst: output[1, 2, 0] (timestep 2)" in text and "max abs error 1.000e-03" in text
    assert f"re-run: python -m trt_cases check {CASE.id} --backend onnxruntime" in text
    scale = max(1.0, max(np.max(np.abs(o)) for o in expected))
    assert result.worst_timestep == 2 and result.min_tolerance == pytest.approx(1e-3 / scale)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_where_reference_is_finite_never_passes(bad):
    expected = run_reference(CASE)
    actual = [o.copy() for o in expected]
    actual[1][0, 0, 1] = bad
    result = compare(CASE, expected, tuple(actual), "x", "float32")
    assert not result and result.worst_output == "hidden" and result.worst_index == (0, 0, 1)


def test_matching_non_finite_values_pass():
    expected = tuple(o.copy() for o in run_reference(CASE))
    expected[0][0, 0, 0] = np.nan
    expected[0][0, 1, 0] = np.inf
    assert compare(CASE, expected, tuple(o.copy() for o in expected), "x", "float64")


def test_chaotic_case_gets_its_sensitivity_and_says_so():
    case = EDGE["chaotic-tanh"]
    expected = run_reference(case)
    assert sensitivity(case, 2.0 ** -24) > 0.1  # float32 rounding alone moves outputs by O(1)
    assert sensitivity(case, 2.0 ** -53) < 1e-6  # float64 rounding does not
    garbage = tuple(np.clip(o + 0.5, -1, 1) for o in expected)
    result = compare(case, expected, garbage, "x", "float32")
    assert result and "chaotic at float32" in result.note
    assert not compare(case, expected, garbage, "x", "float64")


def test_well_conditioned_cases_keep_the_floor():
    assert 10 * sensitivity(CASE, 2.0 ** -24) < TOLERANCE["float32"]


def test_bad_arguments():
    expected = run_reference(CASE)
    with pytest.raises(ValueError, match=r"precision='fp8'; allowed: float64, float32, tf32, float16, bfloat16"):
        compare(CASE, expected, expected, "x", "fp8")
    with pytest.raises(ValueError, match=r"x output output has shape \(2, 4\) for case .*; expected \(2, 4, 3\)"):
        compare(CASE, expected, (expected[0][..., 0],) + expected[1:], "x", "float32")
    with pytest.raises(ValueError, match=r"x returned 2 outputs for case .*; expected 3"):
        compare(CASE, expected, expected[:2], "x", "float32")


def test_side_by_side_says_when_two_backends_agree_against_the_reference():
    from trt_cases.compare import side_by_side

    expected = run_reference(CASE)
    shifted = nudged(expected, (0, 1, 2), 1e-2)
    results = {name: compare(CASE, expected, shifted, name, "float32") for name in ("tensorrt-loop-fp32", "torch-cuda-float32")}
    text = side_by_side(CASE, results, {name: shifted for name in results})
    assert "tensorrt-loop-fp32               FAIL" in text
    assert "tensorrt-loop-fp32 and torch-cuda-float32 agree with each other" in text and "suspect the reference" in text
    other = nudged(expected, (0, 1, 2), -1e-2)
    text = side_by_side(CASE, results, {"tensorrt-loop-fp32": shifted, "torch-cuda-float32": other})
    assert "agree with each other" not in text
