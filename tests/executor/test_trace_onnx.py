"""`trace` on every family and path: ONNX-operator cases and model nodes on the onnx path (localised to
direction, timestep and output), and `trace_engine` through the command line with a stand-in runtime.

Expected values: `reference.onnx_rnn` (the ONNX node's float64 truth) and, for the engine trace, the
simulated trace of the same network (the stand-in engine is that network run by the NumPy executor, so
the test checks what `trace_engine` adds: marking the probed tensors as outputs and reading them back).
"""

import re

import numpy as np
import pytest

from trt_cases import cli
from trt_cases.cases.model import node_cases
from trt_cases.cases.onnx_case import OnnxCase
from trt_cases.cases.sets import EDGE
from trt_cases.networks import trt_api

pytestmark = pytest.mark.trt_build
if trt_api.load() is None:
    pytest.skip(trt_api.missing("onnx"), allow_module_level=True)

from trt_cases.executor import execute  # noqa: E402
from trt_cases.executor.trace import node_reference_steps, trace  # noqa: E402
from trt_cases.runners import trace_engine as trace_engine_module, trt_runner  # noqa: E402
from trt_cases.runners.trace_engine import trace_engine  # noqa: E402
from trt_cases.runners.trt_runner import TensorRTRunner  # noqa: E402
from tests.executor import test_mutations as mutations  # noqa: E402

MODEL = "tests/models/torch_lstm.onnx"
NODES = [OnnxCase("GRU", direction="bidirectional", sequence_lens="ragged", initial_h=True, seed=1),
         OnnxCase("LSTM", direction="reverse", peepholes=True, initial_c=True, seed=2),
         OnnxCase("RNN", seq_length=4, batch_size=2, seed=3)]


@pytest.mark.parametrize("case", NODES, ids=lambda c: c.id)
def test_a_correct_node_agrees_in_every_direction(case):
    verdicts = trace(case, "onnx")
    assert [v.direction for v in verdicts] == {"forward": ["fwd"], "reverse": ["bwd"], "bidirectional": ["fwd", "bwd"]}[case.direction]
    assert all(verdicts), "\n".join(v.line() for v in verdicts)
    assert verdicts[0].compared == ("output sequence",) + case.output_names[1:]


def test_node_reference_steps_are_onnx_rnns_outputs_per_direction():
    from reference import onnx_rnn

    case = OnnxCase("LSTM", direction="bidirectional", layout=1, seed=5)
    m = case.materialise()
    Y, Y_h, Y_c = onnx_rnn("LSTM", m.X, m.W, m.R, m.B, hidden_size=case.hidden_size, direction="bidirectional", layout=1)
    steps = node_reference_steps(case)
    for d in (0, 1):  # layout 1: Y (N, S, D, H), Y_h (N, D, H)
        np.testing.assert_array_equal(steps[(0, d)]["sequence"], Y[:, :, d].transpose(1, 0, 2))
        np.testing.assert_array_equal(steps[(0, d)]["final h"], Y_h[:, d])
        np.testing.assert_array_equal(steps[(0, d)]["final c"], Y_c[:, d])


def test_a_bug_in_the_backward_half_departs_there_only(monkeypatch):
    mutations.backward_half_re_reversed(monkeypatch)
    case = NODES[0]
    forward, backward = trace(case, "onnx")
    assert forward and not backward
    assert (backward.layer, backward.direction, backward.what) == (0, "bwd", "output sequence")


def test_the_softplus_finding_departs_at_the_first_step():
    case = OnnxCase("RNN", activations=("Softplus",), seed=66)
    (verdict,) = trace(case, "onnx")
    assert (verdict.direction, verdict.timestep, verdict.what, verdict.observed) == ("fwd", 0, "output sequence", 0.0)


def test_outputs_of_other_shapes_are_said_in_one_line():
    case = OnnxCase("RNN", layout=1, seq_length=4, batch_size=2, seed=7)  # the parser's layout=1 finding
    with pytest.raises(ValueError, match=re.escape("the network's Y has shape (2, 1, 4, 4), ONNX's is (2, 4, 1, 4)")):
        trace(case, "onnx")


def test_an_onnx_case_has_the_onnx_path_only():
    with pytest.raises(ValueError, match="has the onnx path only"):
        trace(NODES[2], "loop")


def test_trace_command_on_an_onnx_case_and_a_model_node(capsys):
    assert cli.main(["trace", NODES[0].id]) == 0
    out = capsys.readouterr().out
    assert "simulated-onnx agrees" in out and "layer 0 bwd: agrees over 5 timesteps (output sequence, Y_h)" in out
    assert "localised to direction, timestep and output" in out
    node = node_cases(MODEL)[1]
    assert cli.main(["trace", node.id, "--set", MODEL]) == 0
    out = capsys.readouterr().out
    assert f"layer 0 fwd: agrees over {node.seq_length} timesteps (output sequence, Y_h, Y_c)" in out


def test_trace_command_under_a_bug_departs_and_exits_1(monkeypatch, capsys):
    mutations.backward_half_re_reversed(monkeypatch)
    assert cli.main(["trace", node_cases(MODEL)[1].id, "--set", MODEL]) == 1
    assert "layer 0 bwd: departs at timestep" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["trace", "torch_lstm-LSTM-S7-N3-fp32-s0"], "needs its model: --set MODEL.onnx"),
    (["trace", "onnx-rnn-fwd-H4-S5-N3-I4-fp32-s0", "--path", "loop"], "has the onnx path only"),
    (["trace", "onnx-rnn-fwd-H4-S5-N3-I4-fp32-s0", "--backend", "simulated-onnx"], "allowed: tensorrt-* backends"),
])
def test_trace_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# --- trace_engine with a stand-in runtime ------------------------------------------------------------

class StandInEngine:
    """The 'engine' of a plan that is the marked network itself; run by the NumPy executor (exact)."""

    def __init__(self, net):
        self.net = net


@pytest.fixture
def stand_in_engine(monkeypatch):
    """TensorRT runners whose plan is their marked network and whose engine runs it with the NumPy executor."""
    monkeypatch.setattr(trt_runner.cuda_memory, "missing", lambda: None)
    monkeypatch.setattr(trt_runner, "compute_capability", lambda: (8, 9))
    monkeypatch.setattr(TensorRTRunner, "_new_runtime", lambda self: type("Runtime", (), {
        "deserialize_cuda_engine": lambda self, plan: StandInEngine(plan)})())
    monkeypatch.setattr(trt_runner.cuda_memory, "Stream", lambda: type("Stream", (), {
        "release": lambda self: None, "__exit__": lambda self, *exc: None})())
    monkeypatch.setattr(trace_engine_module, "build_plan", lambda net, **options: (net, 0.0))
    monkeypatch.setattr(trt_runner, "execute_all",
                        lambda engine, feeds, stream: execute(engine.net.network, feeds, rounding="none"))


@pytest.mark.parametrize("path", ["loop", "drop-in", "onnx"])
def test_trace_engine_reads_the_marked_tensors_back(stand_in_engine, monkeypatch, path):
    """Under a planted bug, the engine's trace names the same first departure as the simulated trace."""
    mutations.first_two_gates_swapped(monkeypatch) if path != "onnx" else mutations.onnx_w_columns_swapped(monkeypatch)
    case = EDGE["bidirectional-layers-states-lstm"]
    with TensorRTRunner(path, "fp32") as runner:
        engine = trace_engine(case, path, runner)
    simulated = trace(case, path, precision="float32")
    assert [v.line() for v in engine] == [v.line() for v in simulated]
    first = next(v for v in engine if not v)
    expected = (0, "fwd", 0, "gate INPUT") if path != "onnx" else (0, "fwd", 0, "output sequence")
    assert (first.layer, first.direction, first.timestep, first.what) == expected


def test_trace_engine_on_an_onnx_node(stand_in_engine, monkeypatch):
    mutations.backward_half_re_reversed(monkeypatch)
    with TensorRTRunner("onnx", "fp32") as runner:
        forward, backward = trace_engine(NODES[0], "onnx", runner)
    assert forward and not backward and backward.what == "output sequence"


def test_trace_command_with_a_tensorrt_backend(stand_in_engine, monkeypatch, capsys):
    mutations.first_two_gates_swapped(monkeypatch)
    case = EDGE["bidirectional-layers-states-lstm"]
    assert cli.main(["trace", case.id, "--backend", "tensorrt-loop-fp32"]) == 1
    out = capsys.readouterr().out
    assert "tensorrt-loop-fp32's engine" in out and "layer 0 fwd: departs at timestep 0 (iteration 0 of 5) in gate INPUT" in out


def test_trace_command_with_a_tensorrt_backend_it_cannot_run_exits_3(capsys):
    from trt_cases.runners import cuda_memory

    if cuda_memory.missing() is None:
        pytest.skip("a CUDA device is present: the GPU tests run trace_engine")
    assert cli.main(["trace", EDGE["one-step"].id, "--backend", "tensorrt-loop-fp32"]) == 3
    err = capsys.readouterr().err
    assert "cannot trace" in err and cuda_memory.missing() in err
