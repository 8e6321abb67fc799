"""`trace` sees everything: per-step gates, `c` and `h`, each direction's output sequence, the layer's
concatenated output, the network's `output`, and the final `hidden`/`cell`, on the loop, drop-in and
ONNX-parser networks (simulated by the NumPy executor), and the same tensors marked as outputs of an
engine (`mark_probes`, built here with TensorRT-RTX's builder; run only on a GPU with TensorRT).
"""

import re

import numpy as np
import pytest

from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import EDGE, named

pytestmark = pytest.mark.trt_build
if trt_api.load() is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)

from trt_cases.executor import execute  # noqa: E402
from trt_cases.executor.trace import mark_probes, probes, reference_steps, trace  # noqa: E402
from trt_cases.runners.trace_engine import trace_engine  # noqa: E402
from trt_cases.networks.build import build_network  # noqa: E402

CASES = [EDGE["bidirectional-layers-states-lstm"], EDGE["bidirectional-layers-states-gru"], EDGE["ragged-bidirectional"],
         EDGE["batch-dims-lengths-bidirectional"], named("seeds")[0]]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_reference_sequences_and_final_states_are_the_references_outputs(case):
    steps = reference_steps(case)
    output, hidden, *cell = run_reference(case)
    N, S, H, L, K = int(np.prod(case.batch_dims)), case.max_seq_length, case.hidden_size, case.layer_count, case.K
    for (layer, d), record in steps.items():
        np.testing.assert_array_equal(record["final h"], hidden.reshape(N, L * K, H)[:, K * layer + d])
        if cell:
            np.testing.assert_array_equal(record["final c"], cell[0].reshape(N, L * K, H)[:, K * layer + d])
        if layer == L - 1:
            np.testing.assert_array_equal(record["sequence"].transpose(1, 0, 2),
                                          output.reshape(N, S, K * H)[..., d * H:(d + 1) * H])


@pytest.mark.parametrize("path", ["loop", "drop-in", "onnx"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_correct_networks_agree_everywhere(path, case):
    verdicts = trace(case, path)
    assert len(verdicts) == case.layer_count * case.K and all(verdicts), "\n".join(v.line() for v in verdicts)
    compared = set(verdicts[-1].compared)
    assert {"output sequence", "output", "hidden"} <= compared
    if case.K == 2:
        assert "layer output" in compared
    if path != "onnx":
        assert ("c" in compared) == (case.op == "LSTM") and "h" in compared
    else:
        assert "Y_h" in compared and not any(what.startswith("gate") for what in compared)


def test_lstm_checks_c_before_h():
    verdict = trace(EDGE["bidirectional-layers-states-lstm"], "loop")[0]
    assert verdict.compared[:6] == ("gate INPUT", "gate FORGET", "gate CELL", "gate OUTPUT", "c", "h")


@pytest.mark.parametrize("path", ["loop", "onnx"])
def test_marked_tensors_carry_the_traced_values_and_the_network_still_builds(path):
    """The engine side of trace: every probe marked as an output (loop interiors through a CONCATENATE
    loop output) holds, when the network is run, exactly what the executor keeps under its name; and
    TensorRT-RTX's builder accepts the marked network."""
    from trt_cases.networks.engine import build_plan

    case = EDGE["bidirectional-layers-states-lstm"]
    net = build_network(case, path)
    found = probes(case, path, net.network)
    kept = execute(net.network, net.feeds, keep={p.tensor for p in found})
    outputs = mark_probes(net.network, found)
    assert len(outputs) == len({p.tensor for p in found})
    marked = execute(net.network, net.feeds)
    for tensor, output in outputs.items():
        np.testing.assert_array_equal(marked[output], kept[tensor], err_msg=tensor)
    per_step = [p for p in found if p.per_step]
    assert bool(per_step) == (path == "loop")
    plan, _ = build_plan(net)
    assert len(plan) > 0


def test_trace_engine_says_why_it_cannot_run_here():
    from trt_cases.runners import cuda_memory
    from trt_cases.runners.trt_runner import TensorRTRunner

    if cuda_memory.missing() is None:
        pytest.skip("a CUDA device is present: the GPU test runs trace_engine")
    runner = TensorRTRunner("loop", "fp32", compute_capability=(9, 0))
    with pytest.raises(RuntimeError, match=f"cannot trace .* on tensorrt-loop-fp32: {re.escape(cuda_memory.missing())}"):
        trace_engine(CASES[0], "loop", runner)


@pytest.mark.gpu
@pytest.mark.parametrize("path", ["loop", "drop-in", "onnx"])
def test_trace_engine_agrees_on_a_real_engine(path, tmp_path):
    """On a GPU with TensorRT: the engine's intermediate tensors agree with the reference's at fp32."""
    from trt_cases.runners.trt_runner import TensorRTRunner

    case = EDGE["bidirectional-layers-states-lstm"]
    runner = TensorRTRunner(path, "fp32", cache_dir=tmp_path)
    reason = runner.prepare(case)
    if reason:
        pytest.skip(reason)
    with runner:
        verdicts = trace_engine(case, path, runner)
    assert all(verdicts), "\n".join(v.line() for v in verdicts)


def test_trace_command_on_the_onnx_path(capsys):
    from trt_cases.cli import main

    case = Case("GRU", layer_count=2, hidden_size=3, max_seq_length=4, batch_dims=(3,), direction="BIDIRECTION",
                seq_lengths=True, seed=3)
    assert main(["trace", case.id, "--path", "onnx"]) == 0
    out = capsys.readouterr().out
    assert "simulated-onnx agrees with the reference" in out
    assert "  layer 1 bwd: agrees over 4 timesteps (output sequence, layer output, Y_h, output, hidden)" in out
