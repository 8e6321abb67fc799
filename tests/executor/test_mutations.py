"""Detection power, measured inside the project: planted bugs must fail the default run and `trace`
must say where they are.

Each bug is planted by monkeypatching one place: an executor layer function (the engine's kernels),
the executor's loop runner, the loop builder, or the ONNX model the parser reads. Then the default
run's cases (`seeds` + `edge`, `run.DEFAULT_SETS`) go through the simulated backends of the bug's
paths, compared with the reference at the float32 tolerance (the bounds a real fp32 engine is judged
by: max and systematic), until one fails: the bug is caught. Then `trace` on a named case of that
run must give, as its first departing line, the expected layer, direction, timestep and quantity.
These are simulations of networks, not TensorRT runs.
"""

import dataclasses
import inspect

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from trt_cases.networks import loop_builder, onnx_export, trt_api
from trt_cases.results.compare import compare
from trt_cases.cases.selection import DEFAULT_SETS, select_cases
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import EDGE
from reference import RNNOperation

pytestmark = pytest.mark.trt_build
if trt_api.load() is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)

from trt_cases.executor import arithmetic, layers, loops  # noqa: E402
from trt_cases.executor.trace import reference_steps, trace  # noqa: E402
from trt_cases.runners.simulated_runner import SimulatedRunner  # noqa: E402

DEFAULT_CASES = select_cases(DEFAULT_SETS)
EXP_OVERFLOW = float(np.log(np.finfo(np.float32).max))  # 88.72: float32 exp(x) is inf beyond it
SIGMOID, TANH = arithmetic.ACTIVATIONS["SIGMOID"], arithmetic.ACTIVATIONS["TANH"]


# --- the bugs -----------------------------------------------------------------------------------------

def naive_exp_sigmoid(monkeypatch):
    """Sigmoid as exp(x) / (1 + exp(x)) in float32: inf / inf = NaN past 88.7."""
    def sigmoid(x, a, b):
        e = np.exp(x.astype(np.float32))
        return (e / (1 + e)).astype(np.float64)
    monkeypatch.setitem(arithmetic.ACTIVATIONS, "SIGMOID", sigmoid)


def naive_exp_tanh(monkeypatch):
    """Tanh as (e^x - e^-x) / (e^x + e^-x) in float32: NaN past |x| = 88.7."""
    def tanh(x, a, b):
        p, m = np.exp(x.astype(np.float32)), np.exp(-x.astype(np.float32))
        return ((p - m) / (p + m)).astype(np.float64)
    monkeypatch.setitem(arithmetic.ACTIVATIONS, "TANH", tanh)


def sigmoid_off_by_2e_5(monkeypatch):
    """A sigmoid with a relative error of 2e-5 (a coarse polynomial or table approximation)."""
    monkeypatch.setitem(arithmetic.ACTIVATIONS, "SIGMOID", lambda x, a, b: SIGMOID(x, a, b) * (1 + 2e-5))


def tanh_off_by_2e_5(monkeypatch):
    """A tanh with a relative error of 2e-5."""
    monkeypatch.setitem(arithmetic.ACTIVATIONS, "TANH", lambda x, a, b: TANH(x, a, b) * (1 + 2e-5))


def no_masking_past_the_length(monkeypatch):
    """A select kernel that ignores its condition when the else-value is a scalar zero: outputs past a
    sequence's length carry the held state instead of 0."""
    select = layers.FUNCTIONS["SELECT"]

    def unmasked(rec, inputs, dtypes):
        condition, then, otherwise = inputs
        if otherwise.size == 1 and not otherwise.any():
            return [np.broadcast_to(then, np.broadcast_shapes(condition.shape, then.shape, otherwise.shape)).copy()]
        return select(rec, inputs, dtypes)
    monkeypatch.setitem(layers.FUNCTIONS, "SELECT", unmasked)


def backward_half_re_reversed(monkeypatch):
    """The loop runner reverses a REVERSE loop output twice: the backward half comes out in iteration order."""
    output = loops._output

    def twice(loop, rec, *args):
        value = output(loop, rec, *args)
        return np.flip(value, axis=rec.layer.axis) if rec.layer.kind.name == "REVERSE" else value
    monkeypatch.setattr(loops, "_output", twice)


def final_state_from_the_wrong_step(monkeypatch):
    """The loop runner's LAST_VALUE of a recurrence gives its value before the last iteration, not after."""
    output = loops._output

    def one_step_early(loop, rec, history, state, last, *args):
        if rec.layer.kind.name == "LAST_VALUE" and rec.inputs[0] in state and last is not None:
            return last[rec.inputs[0]]
        return output(loop, rec, history, state, last, *args)
    monkeypatch.setattr(loops, "_output", one_step_early)


def directions_concatenated_backward_first(monkeypatch):
    """The loop builder concatenates a layer's two halves backward first."""
    concat = loop_builder._Net.concat

    def swapped(self, tensors, axis):
        tensors = list(tensors)
        if axis == 2 and len(tensors) == 2:
            tensors = tensors[::-1]
        return concat(self, tensors, axis)
    monkeypatch.setattr(loop_builder._Net, "concat", swapped)


def first_two_gates_swapped(monkeypatch):
    """The loop builder reads gate 0's rows as gate 1's and the other way round."""
    gate = loop_builder._Net.gate
    monkeypatch.setattr(loop_builder._Net, "gate",
                        lambda self, tensor, index, N, H: gate(self, tensor, {0: 1, 1: 0}.get(index, index), N, H))


def backward_pass_starts_at_S_minus_1(monkeypatch):
    """The backward step counter counts 0, 1, 2, ... like the forward one (start S-1 -> 0, step -1 -> +1),
    so a sequence's backward pass starts at position S-1 instead of len-1."""
    direction, const = loop_builder._direction, loop_builder._Net.const

    def remembering_S(net, *args, **kwargs):
        net.planted_S = inspect.signature(direction).bind(net, *args, **kwargs).arguments["S"]
        return direction(net, *args, **kwargs)

    def counting_up(self, array):
        array = np.array(array)
        if array.dtype == np.int32 and array.shape == (1, 1):  # the step counter's start and step
            array = np.vectorize({self.planted_S - 1: 0, -1: 1}.get, otypes=[np.int32])(array, array)
        return const(self, array)
    monkeypatch.setattr(loop_builder, "_direction", remembering_S)
    monkeypatch.setattr(loop_builder._Net, "const", counting_up)


def lstm_cell_without_tanh_on_the_candidate(monkeypatch):
    """The loop builder's LSTM cell computes C = f*C + i*g with g's pre-activation, missing its tanh."""
    def lstm_step(net, xw_t, h, c, R, Rb, N, H):
        pre = loop_builder._pre(net, xw_t, h, R, Rb)
        i, f, g, o = (net.name(net.gate(pre, k, N, H), f"gate.{gate}")
                      for k, gate in enumerate(("INPUT", "FORGET", "CELL", "OUTPUT")))
        c = net.ew(net.ew(net.act(f, "SIGMOID"), c, "PROD"), net.ew(net.act(i, "SIGMOID"), g, "PROD"), "SUM")
        return net.ew(net.act(o, "SIGMOID"), net.act(c, "TANH"), "PROD"), c
    monkeypatch.setitem(loop_builder.STEPS, RNNOperation.LSTM, lstm_step)


def onnx_w_columns_swapped(monkeypatch):
    """The parser's input: the first layer's forward W of ONNX gate 1 has its first two columns swapped."""
    export = onnx_export.export

    def misread(case, materials=None, dtype=np.float32, **kwargs):
        model = export(case, materials, dtype, **kwargs)
        for k, tensor in enumerate(model.graph.initializer):
            if tensor.name == "layer0/W":
                W = numpy_helper.to_array(tensor).copy()  # (K, G*H, E)
                H = case.hidden_size
                W[0, H:2 * H, [0, 1]] = W[0, H:2 * H, [1, 0]]
                model.graph.initializer[k].CopyFrom(numpy_helper.from_array(W, tensor.name))
        onnx.checker.check_model(model)
        return model
    monkeypatch.setattr(onnx_export, "export", misread)


@dataclasses.dataclass(frozen=True)
class Bug:
    name: str
    where: str  # executor layer, loop runner, builder, parser input
    plant: object
    paths: tuple
    trace_case: str  # an edge case (part of the default run)
    trace_path: str
    expected: object  # (layer, direction, timestep, what), or a function of the trace case giving it


def first_overflow(case, gates, direction="fwd"):
    """Where the first |pre-activation| of `gates` passes float32 exp's overflow, by the reference."""
    record = reference_steps(case)[(0, 0 if direction == "fwd" else 1)]
    for k in range(case.max_seq_length):
        over = [g for g in gates if np.max(np.abs(record[f"gate.{g}"][k])) > EXP_OVERFLOW]
        if over:
            return k, over
    raise AssertionError(f"no pre-activation of {gates} passes {EXP_OVERFLOW} in {case.id}")


def naive_sigmoid_site(case):
    k, over = first_overflow(case, ("INPUT", "FORGET", "OUTPUT"))
    return 0, "fwd", k, "c" if {"INPUT", "FORGET"} & set(over) else "h"


def naive_tanh_site(case):
    return 0, "fwd", first_overflow(case, ("INPUT",))[0], "h"


ALL = ("loop", "drop-in", "onnx")
BUILDER = ("loop", "drop-in")
BUGS = [
    Bug("naive-exp sigmoid overflow", "executor layer", naive_exp_sigmoid, ALL, "huge-preactivation-lstm", "loop", naive_sigmoid_site),
    Bug("naive-exp tanh overflow", "executor layer", naive_exp_tanh, ALL, "huge-preactivation-tanh", "loop", naive_tanh_site),
    Bug("sigmoid relative error 2e-5", "executor layer", sigmoid_off_by_2e_5, ALL, "bidirectional-layers-states-lstm", "loop",
        (0, "fwd", 0, "c")),
    Bug("tanh relative error 2e-5", "executor layer", tanh_off_by_2e_5, ALL, "ragged-bidirectional", "drop-in", (0, "fwd", 0, "h")),
    Bug("no masking past the length", "executor layer", no_masking_past_the_length, BUILDER, "ragged-bidirectional", "loop",
        (0, "fwd", 1, "output sequence")),
    Bug("backward half re-reversed", "loop runner", backward_half_re_reversed, ALL, "ragged-bidirectional", "loop",
        (0, "bwd", 5, "output sequence")),
    Bug("final state from the wrong step", "loop runner", final_state_from_the_wrong_step, ALL, "ragged-bidirectional", "loop",
        (0, "fwd", None, "hidden (final state)")),
    Bug("directions concatenated backward first", "builder", directions_concatenated_backward_first, BUILDER,
        "ragged-bidirectional", "loop", (0, "fwd", 0, "layer output")),
    Bug("first two gates swapped", "builder", first_two_gates_swapped, BUILDER, "bidirectional-layers-states-lstm", "drop-in",
        (0, "fwd", 0, "gate INPUT")),
    Bug("backward pass starts at S-1", "builder", backward_pass_starts_at_S_minus_1, BUILDER, "ragged-bidirectional", "loop", (0, "bwd", 5, "h")),
    Bug("LSTM cell without tanh on the candidate", "builder", lstm_cell_without_tanh_on_the_candidate, BUILDER,
        "bidirectional-layers-states-lstm", "loop", (0, "fwd", 0, "c")),
    Bug("ONNX W columns swapped in one gate", "parser input", onnx_w_columns_swapped, ("onnx",),
        "bidirectional-layers-states-lstm", "onnx", (0, "fwd", 0, "output sequence")),
]


def first_failure(path, cases):
    """The first of `cases` whose simulated `path` network fails at the float32 tolerance, or None."""
    runner = SimulatedRunner(path)
    for case in cases:
        result = compare(case, run_reference(case), runner.infer(case), runner.name, "float32")
        if not result:
            return result
    return None


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name.replace(" ", "-"))
def test_the_default_run_catches_the_bug_and_trace_localises_it(monkeypatch, bug):
    bug.plant(monkeypatch)
    for path in bug.paths:
        result = first_failure(path, DEFAULT_CASES)
        assert result is not None, f"{bug.name} ({bug.where}) passes every default-run case on simulated-{path}"
    case = EDGE[bug.trace_case]
    expected = bug.expected(case) if callable(bug.expected) else bug.expected
    for path in dict.fromkeys((bug.trace_path,) + bug.paths):
        departed = [v for v in trace(case, path) if not v]
        assert departed, f"trace of {case.id} on {path} says every line agrees with {bug.name} planted"
        first = departed[0]
        assert (first.layer, first.direction, first.timestep, first.what) == on_path(expected, path), f"{path}: {first.line()}"


def on_path(expected, path):
    """The expected first departure as the `path` network shows it: the ONNX parser's network has no
    per-step names, so a per-step departure shows first in the output sequence, at the same timestep,
    and a final state first in the ONNX node's `Y_h`/`Y_c`."""
    layer, direction, timestep, what = expected
    if path != "onnx":
        return expected
    if what.startswith("gate") or what in ("c", "h"):
        return layer, direction, timestep, "output sequence"
    return layer, direction, timestep, {"hidden (final state)": "Y_h (final state)", "cell (final state)": "Y_c (final state)"}.get(what, what)


def test_every_bug_site_is_planted_somewhere():
    assert {bug.where for bug in BUGS} == {"executor layer", "loop runner", "builder", "parser input"}
    assert len(BUGS) >= 10


@pytest.mark.parametrize("bug", BUGS[:2], ids=lambda bug: bug.name.replace(" ", "-"))
def test_naive_exp_needs_the_huge_preactivation_cases(monkeypatch, bug):
    """Without the huge-preactivation cases the default run misses a naive exp: they are what catch it."""
    bug.plant(monkeypatch)
    others = [case for case in DEFAULT_CASES if case not in [v for k, v in EDGE.items() if k.startswith("huge-")]]
    assert first_failure("loop", others) is None
    assert first_failure("loop", DEFAULT_CASES) is not None


def test_a_correct_network_passes_the_default_run():
    for path in ALL:
        assert first_failure(path, DEFAULT_CASES) is None, path
