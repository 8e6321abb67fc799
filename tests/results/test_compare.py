"""The comparator: tolerances from one table and the case's sensitivity, failures that say everything."""

import numpy as np

from helpers import specs
from trt_cases.runners.base import Runner
import pytest

from trt_cases import Case
from trt_cases.cases.precision import TOLERANCE, sensitivity
from trt_cases.results.compare import compare
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import EDGE

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
    from trt_cases.results.compare import side_by_side

    expected = run_reference(CASE)
    shifted = nudged(expected, (0, 1, 2), 1e-2)
    results = {name: compare(CASE, expected, shifted, name, "float32") for name in ("tensorrt-loop-fp32", "torch-cuda-float32")}
    text = side_by_side(CASE, results, {name: shifted for name in results})
    assert "tensorrt-loop-fp32               FAIL" in text
    assert "tensorrt-loop-fp32 and torch-cuda-float32 agree with each other" in text and "suspect the reference" in text
    other = nudged(expected, (0, 1, 2), -1e-2)
    text = side_by_side(CASE, results, {"tensorrt-loop-fp32": shifted, "torch-cuda-float32": other})
    assert "agree with each other" not in text


# --- the overflow where the reference is exactly 0, and failing comparisons reach the results ---------

LENGTHS_CASE = Case("GRU", hidden_size=3, max_seq_length=4, batch_dims=(3,), seq_lengths=True, seed=9)


def masked_outputs_set_to(value):
    """The reference's outputs with every position past a sequence's length (exactly 0 there) set to `value`."""
    expected = run_reference(LENGTHS_CASE)
    lengths = LENGTHS_CASE.materialise().seq_lengths
    output = expected[0].copy()
    past = np.arange(LENGTHS_CASE.max_seq_length)[None, :] >= lengths[:, None]
    assert past.any()  # the case has a sequence shorter than S
    output[past] = value
    return expected, (output,) + tuple(o.copy() for o in expected[1:])


def test_large_error_where_the_reference_is_exactly_zero_fails_cleanly():
    expected, actual = masked_outputs_set_to(5.0)  # 5 / 2.2e-308 overflows float64
    result = compare(LENGTHS_CASE, expected, actual, "x", "float32")  # warnings are errors here
    assert not result and result.max_abs == 5.0 and result.max_rel == np.inf
    assert result.expected == 0.0 and result.observed == 5.0


def test_a_failing_comparison_reaches_results_json_and_the_report(tmp_path):
    from trt_cases import report
    from trt_cases.results import records as results
    from trt_cases.run import run

    class MasksNothing(Runner):
        """A backend whose outputs past the length are 5 instead of 0."""
        name, precision, kind = "masks-nothing", "float32", "oracle"

        def prepare(self, case):
            return None

        def infer(self, case):
            return masked_outputs_set_to(5.0)[1]

    records, outputs = run([LENGTHS_CASE], specs({"masks-nothing": MasksNothing}))
    document = results.read(results.write(tmp_path, records, outputs, sets=["test"]))
    [record] = document["records"]
    assert (record["case"], record["status"], record["max_abs"]) == (LENGTHS_CASE.id, "failed", 5.0)
    assert LENGTHS_CASE.id in report.markdown_report(document)


# --- the systematic bound: a mean error against a faithful float32 emulation ------------------------

def torch_float32(case):
    torch_runner = pytest.importorskip("trt_cases.runners.torch_runner")
    if not torch_runner.torch_available():
        pytest.skip("torch is not installed")
    return torch_runner.TorchRunner("cpu", "float32").infer(case)


# Not saturated-gru: a faithful float32 GRU is itself 1.8e-7 off on average there, so 128 units exceed 2e-5.
@pytest.mark.parametrize("case", [CASE, EDGE["lengths-all-full"], EDGE["huge-preactivation-lstm"]], ids=lambda c: c.id)
def test_an_independent_float32_implementation_passes_and_a_2e_5_shift_fails(case):
    from trt_cases.cases.precision import MEAN_FACTOR

    expected, actual = run_reference(case), torch_float32(case)
    result = compare(case, expected, actual, "torch-cpu-float32", "float32")
    assert result and result.mean_abs < result.mean_allowed / 4, result.message()
    shifted = tuple(a + 2e-5 * np.sign(a) for a in actual)  # every output 2e-5 further from 0: under the 5e-5 floor
    result = compare(case, expected, shifted, "x", "float32")
    assert result.max_abs <= result.allowed  # the maximum alone would pass it
    assert not result and "systematic error: mean abs error" in result.note, result.message()
    assert f"{MEAN_FACTOR:g} x the mean error of a faithful float32 emulation" in result.message()


def test_the_systematic_bound_applies_only_where_an_emulation_exists():
    expected = run_reference(CASE)
    shifted = tuple(a * (1 + 2e-5) for a in expected)
    assert compare(CASE, expected, shifted, "x", "float16").mean_allowed == np.inf
    assert compare(CASE, expected, shifted, "x", "float16")
    chaotic = EDGE["chaotic-tanh"]
    assert compare(chaotic, run_reference(chaotic), run_reference(chaotic), "x", "float32").mean_allowed == np.inf


def test_tolerance_check_reports_ratios_and_fails_an_engine_with_a_small_systematic_error(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "tolerance_check.py"
    spec = importlib.util.spec_from_file_location("tolerance_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--set", "seeds", "--set", "hypothesis:3", "--backend", "onnxruntime"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime (float32): 11 compared, 0 skipped, 0 errors" in out and "over a bound: 0 (0 known mismatches)" in out
    assert module.main(["--set", "edge", "--backend", "emulated-sigmoid-2e-5"]) == 1
    out = capsys.readouterr().out
    assert "emulated-sigmoid-2e-05 (float32): 22 compared" in out and "over a bound: 7 (0 known mismatches)" in out
    assert module.main(["--set", "random:x"]) == 2


def test_outputs_that_cannot_be_compared_are_an_error_record_and_the_run_goes_on(tmp_path):
    from trt_cases.results import records as results
    from trt_cases.run import run

    class WrongShape(Runner):
        name, precision, kind = "wrong-shape", "float32", "oracle"

        def prepare(self, case):
            return None

        def infer(self, case):
            expected = run_reference(case)
            return (expected[0][..., :1],) + expected[1:]

    records, outputs = run([CASE, LENGTHS_CASE], specs({"wrong-shape": WrongShape}))
    document = results.read(results.write(tmp_path, records, outputs, sets=["test"]))
    assert [r["status"] for r in document["records"]] == ["error", "error"]
    assert "wrong-shape output output has shape" in document["records"][0]["reason"]


def test_the_reference_computes_in_float32_on_request():
    from trt_cases.cases.precision import emulated_error

    base, single = run_reference(CASE), run_reference(CASE, dtype=np.float32)
    assert all(s.dtype == np.float32 for s in single)
    errors = [float(np.max(np.abs(b - s))) for b, s in zip(base, single)]
    assert 0 < max(errors) < 1e-5  # float32 rounding, and nothing more
    assert emulated_error(CASE, "float32") == pytest.approx(
        np.mean(np.concatenate([np.abs(b - s).ravel() for b, s in zip(base, single)])))
    with pytest.raises(ValueError, match=r"dtype=float16; allowed: float64, float32"):
        run_reference(CASE, dtype=np.float16)
