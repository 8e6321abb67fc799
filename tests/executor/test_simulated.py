"""The networks this suite builds, checked with numbers on a CPU: the loop path, the drop-in and the
ONNX parser's network, simulated by the NumPy executor (`SimulatedRunner`), against the reference.

The networks hold float32 weights, but `Case.materialise()` already rounds every value to float32,
so a network that computes the right thing agrees with the float64 reference at the float64
tolerance. Planted bugs in the loop builder (two gates swapped; the backward pass starting at S-1
instead of len-1) must fail that comparison, and `trace` must name the layer, direction, timestep
and gate (or state) where the network first departs. These are simulations, not TensorRT runs:
every test id says "simulated".

Typed simulations (`SimulatedRunner(path, precision)`): the fp32, fp16 and bf16 networks, every tensor
rounded to its network type by the executor, against the reference of the case's data rounded to
that precision, at the precision's tolerance: a fast subset here, every network of `seeds`, `matrix`
and `edge` under `-m sweep`. A planted bug (one wrong constant in an fp16 network) must fail.
"""

import dataclasses

import numpy as np
import pytest

from helpers import conforms
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_cases.networks import loop_builder, build as networks, trt_api
from trt_cases.cli import main
from trt_cases.cases.case import Case
from trt_cases.results.compare import compare
from trt_cases.runners.reference_runner import run_reference
from trt_cases.runners.simulated_runner import PATHS, PRECISIONS, SimulatedRunner
from trt_cases.cases.sets import EDGE, named
from trt_cases.cases.strategies import cases

pytestmark = pytest.mark.trt_build
if trt_api.load() is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)

from trt_cases.executor.trace import reference_steps, trace  # noqa: E402

SET_CASES = [case for name in ("seeds", "matrix", "edge") for case in named(name)]
RUNNERS = {path: SimulatedRunner(path) for path in PATHS}
# A bidirectional case with ragged lengths (some sequences end before S) whose backward pass has to
# start at len-1: the planted bugs' target.
RAGGED = Case("LSTM", layer_count=2, hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2, 2),
              direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True, seed=7)


def check(runner, case, conformance_log=None):
    conforms(runner, case, conformance_log, hint=f"localise: python -m trt_cases trace {case.id} --path loop")


@pytest.mark.parametrize("case", SET_CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("path", PATHS, ids=lambda path: f"simulated-{path}")
def test_case_sets_match_the_reference(path, case, conformance_log):
    check(RUNNERS[path], case, conformance_log)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: f"simulated-{path}")
def test_drawn_cases_match_the_reference(path, conformance_log):
    @settings(max_examples=settings.default.max_examples)
    @given(data=st.data())
    def property_(data):
        case = data.draw(cases(), label="case")
        try:
            check(RUNNERS[path], case, conformance_log)
        except AssertionError as exc:
            exc.add_note(f"case: {case.to_json()}")
            raise

    property_()


def test_the_runner_says_it_simulates():
    runner = SimulatedRunner("drop-in")
    assert (runner.name, runner.kind, runner.precision) == ("simulated-drop-in", "simulated", "float64")
    assert "simulated by the NumPy executor" in runner.label and "not a TensorRT run" in runner.label
    assert not runner.name.startswith("tensorrt")
    with pytest.raises(ValueError, match=r"path='native'; allowed: loop, drop-in, onnx"):
        SimulatedRunner("native")
    typed = SimulatedRunner("onnx", "bf16", io="float32")
    assert (typed.name, typed.precision, typed.rounding) == ("simulated-onnx-bf16-autocast", "bfloat16", "network")
    assert "bf16 network, float32 I/O (AutoCast form), each tensor rounded" in typed.label
    with pytest.raises(ValueError, match=r"precision='fp8'; allowed: fp32, fp16, bf16"):
        SimulatedRunner("loop", "fp8")


# --- typed simulations: each network in its own precision, at that precision's tolerance ------------

# A few cases per path and precision: every operation, ragged lengths, states, both directions, SKIP.
TYPED_CASES = [RAGGED, dataclasses.replace(RAGGED, op="GRU", cell_state=False, seq_lengths=False)] + \
    [named("seeds")[i] for i in (0, 3, 6)]
TYPED = [(path, precision, io) for path in PATHS for precision in PRECISIONS
         for io in (("network", "float32") if precision != "fp32" else ("network",))]


def typed_id(runner_spec):
    return SimulatedRunner(*runner_spec).name


def check_typed(runner, case, conformance_log=None):
    check(runner, dataclasses.replace(case, precision=runner.network_precision), conformance_log)


@pytest.mark.parametrize("case", TYPED_CASES, ids=lambda case: case.id.replace("-fp32", ""))
@pytest.mark.parametrize("spec", TYPED, ids=typed_id)
def test_typed_networks_match_the_reference_at_their_precision(spec, case, conformance_log):
    check_typed(SimulatedRunner(*spec), case, conformance_log)


@pytest.mark.sweep
@pytest.mark.parametrize("case", SET_CASES, ids=lambda case: case.id.replace("-fp32", ""))
@pytest.mark.parametrize("spec", [spec for spec in TYPED if spec[1] != "fp32"], ids=typed_id)
def test_every_set_network_matches_the_reference_at_its_precision(spec, case, conformance_log):
    check_typed(SimulatedRunner(*spec), case, conformance_log)


def test_typed_rounding_is_what_the_fp16_error_comes_from():
    """The fp16 network computed without rounding is exact (the data are fp16 values); rounded, it is not."""
    case = dataclasses.replace(RAGGED, precision="fp16")
    expected = run_reference(case)
    net = networks.build_network(case, "loop", precision="fp16")
    from trt_cases.executor import execute

    for rounding, tolerance in (("none", "float64"), ("network", "float16")):
        values = execute(net.network, net.feeds, rounding=rounding)
        actual = tuple(values[name] for name in ("output", "hidden", "cell"))
        result = compare(case, expected, actual, f"simulated-loop-fp16 rounding={rounding}", tolerance)
        assert result, result.message()
        if rounding == "network":
            assert result.max_abs > 1e-4, f"fp16 rounding left an error of only {result.max_abs:.1e}: is it applied?"


def test_the_onnx_parsers_refusals_are_its_known_defects_and_skip_with_its_reason():
    """Where the installed parser refuses half RNN nodes, the ONNX runners skip with its reason (probed).

    TensorRT-RTX 1.7's importers make FLOAT constants whatever the node's type (tests/networks/test_trt_build_precision.py
    pins the defects): the sequence_lens mask's zero, and GRU's 1 of `1 - z` in bf16. Every other half model
    parses, so the refusals cannot hide a defect of the suite's own export.
    """
    from trt_cases.runners.onnx_probe import parser_refusal

    refused = {(op, lens, precision): parser_refusal(Case(op, seq_lengths=lens, cell_state=False), precision)
               for op in ("RELU", "TANH", "LSTM", "GRU") for lens in (False, True) for precision in ("fp16", "bf16")}
    if not trt_api.load().label.startswith("TensorRT-RTX 1.7"):
        pytest.skip(f"the refusals are pinned for TensorRT-RTX 1.7; here: {refused}")
    for (op, lens, precision), reason in refused.items():
        if lens:
            assert "sequence_lens" in reason and "ISelectLayer must have `thenInput` and `elseInput` of same types" \
                in reason, reason
        elif op == "GRU" and precision == "bf16":
            assert "ElementWiseOperation SUB must have same input types" in reason, reason
        else:
            assert reason is None, reason
    assert parser_refusal(Case("LSTM", seq_lengths=True), "fp32") is None
    lens_case = dataclasses.replace(RAGGED, precision="fp16")
    for runner in (SimulatedRunner("onnx", "fp16"), SimulatedRunner("onnx", "fp16", io="float32")):
        assert runner.prepare(lens_case).startswith(f"{trt_api.load().label}'s ONNX parser refuses fp16 LSTM")
    assert SimulatedRunner("loop", "fp16").prepare(lens_case) is None


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("path", ["loop", "drop-in"], ids=lambda path: f"simulated-{path}")
def test_a_half_network_with_one_wrong_constant_fails(monkeypatch, path, precision):
    """One recurrent bias of layer 0 off by 1/16 (fp16) or 1/2 (bf16): the comparison at the precision must
    see it (RAGGED itself passes in `test_typed_networks_match_the_reference_at_their_precision`)."""
    build = loop_builder.layer_tensors

    def one_wrong(trt, network, stacked, *args, **kwargs):
        first = stacked[0]
        Rb = first.Rb.copy()
        Rb[0] += {"fp16": 1 / 16, "bf16": 1 / 2}[precision]
        return build(trt, network, [first._replace(Rb=Rb)] + list(stacked[1:]), *args, **kwargs)

    monkeypatch.setattr(networks, "layer_tensors", one_wrong)
    monkeypatch.setattr("trt_cases.networks.drop_in.layer_tensors", one_wrong)
    with pytest.raises(AssertionError, match=f"simulated-{path}-{precision} DISAGREES with the reference"):
        check_typed(SimulatedRunner(path, precision), RAGGED)


# --- the reference side of `trace` is the reference ------------------------------------------------

TRACED = [RAGGED] + list(EDGE.values())[:-1] + named("matrix")[::9]


@pytest.mark.parametrize("case", TRACED, ids=lambda case: f"simulated-{case.id}")
def test_traced_reference_steps_reassemble_the_references_outputs(case):
    steps, m = reference_steps(case), case.materialise()
    output, hidden, *cell = run_reference(case)
    N, S, H, L, K = int(np.prod(case.batch_dims)), case.max_seq_length, case.hidden_size, case.layer_count, case.K
    lengths = np.full(N, S) if m.seq_lengths is None else m.seq_lengths.reshape(N)
    for (layer, d), record in steps.items():
        np.testing.assert_array_equal(record["h"][-1], hidden.reshape(N, L * K, H)[:, K * layer + d])
        if cell:
            np.testing.assert_array_equal(record["c"][-1], cell[0].reshape(N, L * K, H)[:, K * layer + d])
        if layer == L - 1:
            h_by_timestep = record["h"] if d == 0 else record["h"][::-1]
            live = np.arange(S)[:, None, None] < lengths[None, :, None]
            np.testing.assert_array_equal(np.where(live, h_by_timestep, 0.0).transpose(1, 0, 2),
                                          output.reshape(N, S, K * H)[:, :, d * H:(d + 1) * H])


# --- planted bugs: caught by the comparison, localised by trace -------------------------------------

def swap_first_two_gates(monkeypatch):
    """The loop builder reads gate 0's rows as gate 1's and the other way round (INPUT<->FORGET, UPDATE<->RESET)."""
    gate = loop_builder._Net.gate

    def swapped(self, tensor, index, N, H):
        return gate(self, tensor, {0: 1, 1: 0}.get(index, index), N, H)

    monkeypatch.setattr(loop_builder._Net, "gate", swapped)


def start_backward_pass_at_S_minus_1(monkeypatch, S):
    """The backward step counter counts 0, 1, 2, ... like the forward one (start S-1 -> 0, step -1 -> +1),
    so a sequence's backward pass starts at position S-1 instead of len-1."""
    const = loop_builder._Net.const

    def counter_counts_up(self, array):
        array = np.array(array)
        if array.dtype == np.int32 and array.shape == (1, 1):  # the step counter's start and step
            array = np.vectorize({S - 1: 0, -1: 1}.get, otypes=[np.int32])(array, array)
        return const(self, array)

    monkeypatch.setattr(loop_builder._Net, "const", counter_counts_up)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("path", ["loop", "drop-in"], ids=lambda path: f"simulated-{path}")
def test_swapped_gates_fail_and_trace_names_the_gate(monkeypatch, path, op):
    case = dataclasses.replace(RAGGED, op=op, cell_state=op == "LSTM")
    swap_first_two_gates(monkeypatch)
    with pytest.raises(AssertionError, match=f"simulated-{path} DISAGREES with the reference"):
        check(RUNNERS[path], case)
    verdicts = {(v.layer, v.direction): v for v in trace(case, path)}
    first_gate = {"LSTM": "gate INPUT", "GRU": "gate UPDATE"}[op]
    assert (verdicts[0, "fwd"].timestep, verdicts[0, "fwd"].what) == (0, first_gate), verdicts[0, "fwd"].line()
    assert (verdicts[0, "bwd"].timestep, verdicts[0, "bwd"].what) == (4, first_gate), verdicts[0, "bwd"].line()


@pytest.mark.parametrize("path", ["loop", "drop-in"], ids=lambda path: f"simulated-{path}")
def test_backward_pass_starting_at_S_minus_1_fails_and_trace_names_direction_and_timestep(monkeypatch, path):
    start_backward_pass_at_S_minus_1(monkeypatch, RAGGED.max_seq_length)
    with pytest.raises(AssertionError, match=f"simulated-{path} DISAGREES with the reference"):
        check(RUNNERS[path], RAGGED)
    verdicts = {(v.layer, v.direction): v for v in trace(RAGGED, path)}
    assert verdicts[0, "fwd"], verdicts[0, "fwd"].line()
    backward = verdicts[0, "bwd"]
    assert (backward.timestep, backward.iteration, backward.what) == (4, 0, "c"), backward.line()  # LSTM: c before h
    lengths = RAGGED.materialise().seq_lengths.reshape(-1)
    assert lengths[backward.index[0]] < RAGGED.max_seq_length  # the departing sequence is one that ends early
    c0 = RAGGED.materialise().cell_state.reshape(4, 4, 4)  # (N, L*K, H): the reference holds it there
    assert backward.expected == c0[backward.index[0], 1, backward.index[1]]


def test_trace_command_prints_where_a_planted_bug_departs(monkeypatch, capsys):
    start_backward_pass_at_S_minus_1(monkeypatch, RAGGED.max_seq_length)
    assert main(["trace", RAGGED.id, "--path", "loop"]) == 1
    out = capsys.readouterr().out
    assert "simulated-loop DISAGREES with the reference" in out and "not a TensorRT run" in out
    assert ("  layer 0 fwd: agrees over 5 timesteps (gate INPUT, gate FORGET, gate CELL, gate OUTPUT, c, h, "
            "output sequence, layer output, hidden, cell)\n") in out
    assert "  layer 0 bwd: departs at timestep 4 (iteration 0 of 5) in c, sequence " in out


def test_trace_command_says_agrees_on_a_correct_network(capsys):
    assert main(["trace", RAGGED.id, "--path", "drop-in"]) == 0
    out = capsys.readouterr().out
    assert "simulated-drop-in agrees with the reference" in out
    verdicts = [line.split(": ")[1].split(" over")[0] for line in out.splitlines() if line.startswith("  layer ")]
    assert verdicts == ["agrees"] * 4


def test_trace_needs_a_loop_structure():
    with pytest.raises(ValueError, match=r"path='native'; allowed: loop, drop-in, onnx"):
        trace(RAGGED, "native")
