"""`reduce`: under each bug planted by `tests/executor/test_mutations.py`, the smallest failing case is 1-minimal, still fails
the same way, keeps the feature the bug needs, and its bundle reproduces the failure.

Every claim `reduce` makes is re-checked here through the run engine itself (`run.run`), not through
`reduce`'s own bookkeeping: the minimal case is run again, and so is every single step from it. A bundle
reproduces on the simulated backend (its `case.json` run again under the bug) and, for a bug in the model the
parser reads, on onnxruntime (its `model.onnx` against its `reference_outputs.npz`); for a bug in the builder or
the executor onnxruntime agrees with the bundle's reference (the model is right, the network is not).
"""

import dataclasses
import json

import numpy as np
import pytest

from trt_cases import cli
from trt_cases.cases.case import Case
from trt_cases.cases.families import case_from_json
from trt_cases.cases.sets import EDGE
from trt_cases.networks import trt_api
from trt_cases.reduce import CannotRun, DoesNotFail, reduce_case, search
from trt_cases.reduce.steps import sizes, steps
from trt_cases.run import run
from trt_cases.runners.registry import select_backends

pytestmark = pytest.mark.trt_build
if trt_api.load() is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)

from tests.executor import test_mutations as mutations  # noqa: E402

BUGS = {bug.name: bug for bug in mutations.BUGS}
# What each planted bug needs, as the minimal case must keep it (a bug that needs nothing is not listed).
NEEDS = {
    "no masking past the length": lambda c: c.seq_lengths,
    "backward half re-reversed": lambda c: c.direction == "BIDIRECTION" and c.max_seq_length >= 2,
    "directions concatenated backward first": lambda c: c.direction == "BIDIRECTION",
    "LSTM cell without tanh on the candidate": lambda c: c.op == "LSTM",
    "ONNX W columns swapped in one gate": lambda c: c.op == "LSTM" and c.data_length >= 2,
    "first two gates swapped": lambda c: c.op in ("LSTM", "GRU"),
}
FAST = ("backward half re-reversed", "final state from the wrong step", "ONNX W columns swapped in one gate")


def backend_of(bug, precision=""):
    """simulated-loop where the bug is on the loop path; else the bug's own path (the parser's input: onnx)."""
    return ("simulated-loop" if "loop" in bug.paths else f"simulated-{bug.paths[0]}") + (f"-{precision}" if precision else "")


def reduce_under(bug, backend):
    """`reduce` from the first default-run case that fails on `backend` (the bug planted by the caller)."""
    for case in mutations.DEFAULT_CASES:
        try:
            return reduce_case(case, backend)
        except DoesNotFail:
            continue
    raise AssertionError(f"{bug.name}: no default-run case fails on {backend}")


def rerun(case, backend):
    """The signature of `case` on `backend`, from the run engine directly."""
    (record,), outputs = run([case], select_backends([backend]))
    return search.signature_of(record, outputs)


def check_reduction(bug, reduction, tmp_path):
    backend = reduction.backend
    assert reduction.minimal and not reduction.interrupted
    assert rerun(reduction.case, backend) == reduction.signature, "the minimal case no longer fails the same way"
    for step in steps(reduction.case):
        assert rerun(step.case, backend) != reduction.signature, f"{step.name} still fails: not 1-minimal"
    before, after = sizes(reduction.start), sizes(reduction.case)
    assert all(after[k] <= before[k] for k in after) and after != before, (before, after)
    if bug.name in NEEDS:
        assert NEEDS[bug.name](reduction.case), f"{bug.name} needs a feature the minimal {reduction.case.id} dropped"
    if reduction.case.weight_scale != 1.0:  # kept only because the bug needs it: the naive exp's overflow
        assert bug.name.startswith("naive-exp")
    out = tmp_path / "bundle"
    assert cli.main(["export", reduction.case.id, "--out", str(out)]) == 0
    assert rerun(case_from_json(json.loads((out / "case.json").read_text())), backend) == reduction.signature
    worst = onnxruntime_error(out)
    if bug.where == "parser input":
        assert worst > bundle_tolerance(out), "onnxruntime does not reproduce the model's bug"
    else:
        assert worst <= bundle_tolerance(out), "the bundle's model disagrees with its reference"


def onnxruntime_error(out) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    with np.load(out / "inputs.npz") as feeds, np.load(out / "reference_outputs.npz") as reference:
        got = session.run(list(reference.files), dict(feeds))
        return max(float(np.max(np.abs(g - reference[n]))) for g, n in zip(got, reference.files))


def bundle_tolerance(out) -> float:
    return float(json.loads((out / "tolerance.json").read_text())["atol"])


@pytest.mark.parametrize("name", FAST)
def test_reduce_under_a_planted_bug_ends_1_minimal_and_the_bundle_reproduces(monkeypatch, tmp_path, name):
    bug = BUGS[name]
    bug.plant(monkeypatch)
    check_reduction(bug, reduce_under(bug, backend_of(bug)), tmp_path)


@pytest.mark.sweep
@pytest.mark.parametrize("precision", ["", "fp32"])  # float64 tolerance, and the float32 one the mutation test uses
@pytest.mark.parametrize("name", list(BUGS))
def test_reduce_under_every_planted_bug(monkeypatch, tmp_path, name, precision):
    bug = BUGS[name]
    bug.plant(monkeypatch)
    check_reduction(bug, reduce_under(bug, backend_of(bug, precision)), tmp_path)


def test_the_naive_exp_keeps_the_huge_weights_at_the_float32_tolerance(monkeypatch):
    """The overflow needs pre-activations past 88.7: reduced at the float32 tolerance, weight scale 200 stays."""
    BUGS["naive-exp tanh overflow"].plant(monkeypatch)
    reduction = reduce_case(EDGE["huge-preactivation-tanh"], "simulated-loop-fp32")
    assert reduction.minimal and reduction.case.weight_scale == 200.0
    assert sizes(reduction.case)["S"] == 1 and not reduction.case.hidden_state


def test_every_step_changes_one_thing_and_grows_nothing():
    for case in (EDGE["bidirectional-layers-states-lstm"], EDGE["many-batch-dims"], EDGE["saturated-lstm"]):
        found = steps(case)
        assert found and len({s.case for s in found}) == len(found)
        for step in found:
            changed = {f.name for f in dataclasses.fields(Case) if getattr(step.case, f.name) != getattr(case, f.name)}
            assert changed and (len(changed) == 1 or changed <= {"hidden_size", "data_length"}), (step.name, changed)
            assert all(sizes(step.case)[k] <= sizes(case)[k] for k in sizes(case)), step.name


def test_onnx_steps_put_each_attribute_back_to_its_default():
    from trt_cases.cases.onnx_case import OnnxCase

    case = OnnxCase("LSTM", direction="bidirectional", layout=1, clip=2.0, peepholes=True, input_forget=1,
                    activations=("HardSigmoid", "Tanh", "Elu") * 2, activation_alpha=(0.25, 0.5) * 2,
                    activation_beta=(0.375, 0.375), sequence_lens="ragged", initial_h=True, initial_c=True)
    names = [s.name for s in steps(case)]
    for expected in ("one direction (forward)", "one direction (reverse)", "layout 1 -> 0", "clip dropped",
                     "input_forget -> 0", "peepholes dropped", "bias dropped", "activations -> the defaults",
                     "activation 0 HardSigmoid -> the default", "activation 5 Elu -> the default", "lengths dropped",
                     "initial_h dropped", "initial_c dropped"):
        assert expected in names
    forward = next(s.case for s in steps(case) if s.name == "one direction (forward)")
    assert (forward.activations, forward.activation_alpha, forward.activation_beta) == (
        ("HardSigmoid", "Tanh", "Elu"), (0.25, 0.5), (0.375,))
    elu = next(s.case for s in steps(case) if s.name == "activation 2 Elu -> the default")
    assert elu.activations[2] == "Tanh" and elu.activation_alpha == (0.25, 0.25, 0.5)


def test_an_onnx_finding_keeps_only_the_attribute_it_is_about():
    """The parser's Softplus (a known mismatch, simulated): clip, peepholes, states and lengths all go, Softplus stays."""
    from trt_cases.cases.onnx_case import OnnxCase

    case = OnnxCase("LSTM", direction="bidirectional", activations=("Sigmoid", "Softplus", "Tanh") * 2, clip=50.0,
                    peepholes=True, initial_h=True, sequence_lens="ragged", seed=4)
    reduction = reduce_case(case, "simulated-onnx")
    m = reduction.case
    assert reduction.minimal and "Softplus" in m.activations and m.activations.count("Softplus") == 1
    assert (m.clip, m.peepholes, m.initial_h, m.sequence_lens, m.D) == (None, False, False, "none", 1)
    assert rerun(m, "simulated-onnx") == reduction.signature


def test_a_model_node_swaps_its_weights_for_drawn_ones_when_the_failure_stays(monkeypatch):
    from trt_cases.cases.model import NodeCase, node_cases
    from trt_cases.cases.onnx_case import OnnxCase

    BUGS["tanh relative error 2e-5"].plant(monkeypatch)
    node = node_cases("tests/models/torch_lstm.onnx")[0]
    reduction = reduce_case(node, "simulated-onnx")
    assert isinstance(reduction.start, NodeCase) and type(reduction.case) is OnnxCase
    assert reduction.steps[1].step.startswith("the model's weights -> drawn ones")
    assert reduction.minimal and rerun(reduction.case, "simulated-onnx") == reduction.signature


def test_a_case_that_passes_is_not_reduced(capsys):
    case = EDGE["one-step"]
    with pytest.raises(DoesNotFail, match=f"case {case.id} does not fail on simulated-loop"):
        reduce_case(case, "simulated-loop")
    assert cli.main(["reduce", case.id, "--backend", "simulated-loop"]) == 1
    assert "does not fail" in capsys.readouterr().err


def test_a_backend_that_cannot_run_the_case_says_why(capsys):
    case_id = "onnx-gru-fwd-H3-S4-N2-I3-fp32-s0"
    with pytest.raises(CannotRun, match="simulated-loop cannot run"):
        reduce_case(case_from_json({"family": "onnx", "op": "GRU"}), "simulated-loop")
    assert cli.main(["reduce", case_id, "--backend", "simulated-loop"]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot run" in err


@pytest.mark.parametrize("argv, message", [
    (["reduce", "lstm-sideways-L1", "--backend", "simulated-loop"], "is not of the form"),
    (["reduce", "torch_lstm-LSTM-S7-N3-fp32-s0", "--backend", "simulated-onnx"], "needs its model: --set MODEL.onnx"),
    (["reduce", "lstm-uni-linear-L1-H4-S3-E4-B2-fp32-s0"], "needs --backend"),
    (["reduce", "lstm-uni-linear-L1-H4-S3-E4-B2-fp32-s0", "--backend", "no-such-backend"], "unknown backend"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_keeps_the_smallest_failing_case_so_far(monkeypatch, capsys):
    BUGS["backward half re-reversed"].plant(monkeypatch)
    attempt, calls = search._attempt, []

    def interrupted_on_the_fourth(case, backend, **options):
        calls.append(case.id)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return attempt(case, backend, **options)
    monkeypatch.setattr(search, "_attempt", interrupted_on_the_fourth)
    case = EDGE["ragged-bidirectional"]
    reduction = reduce_case(case, "simulated-loop")
    assert reduction.interrupted and not reduction.minimal and reduction.runs == 3
    assert reduction.case == reduction.steps[-1].case and rerun(reduction.case, "simulated-loop") == reduction.signature
    calls.clear()
    assert cli.main(["reduce", case.id, "--backend", "simulated-loop"]) == 130
    out, err = capsys.readouterr()
    assert f"smallest failing case: {reduction.case.id}" in out and "not verified 1-minimal" in err


def test_the_command_prints_the_chain_and_writes_the_bundle(monkeypatch, capsys, tmp_path):
    BUGS["directions concatenated backward first"].plant(monkeypatch)
    case = EDGE["ragged-bidirectional"]
    assert cli.main(["reduce", case.id, "--backend", "simulated-loop", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    chain = json.loads((tmp_path / "b" / "reduction.json").read_text())
    assert chain["start"] == case.id and chain["one_minimal"] and chain["steps"][0]["step"] == "start"
    for step in chain["steps"]:
        assert f"{step['step']}: {step['case']}" in out and step["error"] in out
    assert "1-minimal: verified, none of the" in out and f"runs spent" in out
    assert json.loads((tmp_path / "b" / "case.json").read_text()) == case_from_json(chain["minimal_case"]).to_json()


def test_reduce_a_results_directory_once_per_distinct_failure(monkeypatch, capsys, tmp_path):
    BUGS["final state from the wrong step"].plant(monkeypatch)
    out = tmp_path / "results"
    cases = [EDGE["one-step"], EDGE["batch-one"], EDGE["hidden-one"]]
    sets = [arg for case in cases for arg in ("--set", case.id)]
    assert cli.main(["run", *sets, "--backend", "simulated-loop", "--out", str(out), "--no-progress"]) == 1
    capsys.readouterr()
    assert cli.main(["reduce", str(out)]) == 0
    minimal = json.loads((out / "minimal.json").read_text())
    signatures = [(r["backend"], r["signature"]) for r in minimal["reductions"]]
    assert len(signatures) == len(set(signatures)) >= 1
    for entry in minimal["reductions"]:
        assert entry["one_minimal"] and entry["reproduce"].startswith(f"python -m trt_cases check {entry['minimal']}")
        assert rerun(case_from_json(entry["minimal_case"]), entry["backend"]).line() == entry["signature"]
