"""The reference's speed paths against independent implementations: the projection chunk by chunk, and a layer's
two directions on two threads. The small cases of the sets take neither path by default (one chunk, one thread),
so these tests force each on cases with lengths, states, several layers and huge pre-activations, and compare
with torch.nn.RNN/GRU/LSTM in float64 (`torch-cpu-float64`; skipped, saying so, without torch), onnxruntime and
onnx.reference at the tolerances of every other oracle test.
"""

import sys

import numpy as np
import pytest

from helpers import conforms
from reference import onnx_rnn, scan
from trt_cases.cases.sets import named
from trt_cases.runners.registry import backend

BIDIRECTIONAL = [case for case in named("edge") if case.direction == "BIDIRECTION" and case.max_seq_length >= 4]
# less the nodes onnxruntime reads otherwise (docs/findings.md): LSTM clip, Affine and ThresholdedRelu defaults
ONNX_BIDIRECTIONAL = [case for case in named("onnx") if case.direction == "bidirectional"
                      and not (case.op == "LSTM" and case.clip) and not {"Affine", "ThresholdedRelu"} & set(case.activations or ())]


def oracle(case):
    """PyTorch for IRNNv2 cases; onnxruntime for ONNX nodes, onnx.reference for layout 1 (onnxruntime refuses it)."""
    if type(case).__name__ == "Case":
        return backend("torch-cpu-float64")
    return backend("onnx.reference" if case.layout == 1 else "onnxruntime")


def step_values(case):
    """Values of `xw` per timestep: G*H*N."""
    N = case.batch_size if type(case).__name__ == "OnnxCase" else int(np.prod(case.batch_dims))
    return {"LSTM": 4, "GRU": 3}.get(case.op, 1) * case.hidden_size * N


@pytest.mark.parametrize("steps", [1, 2, 3])
@pytest.mark.parametrize("case", BIDIRECTIONAL + ONNX_BIDIRECTIONAL, ids=lambda case: case.id)
def test_projection_chunk_by_chunk(monkeypatch, case, steps, conformance_log):
    """Chunks of 1, 2 and 3 timesteps (S is 4 to 6: uneven last chunks, lengths shifted per chunk, the reverse
    direction's chunks in reverse order; ONNX's peepholes, clip, layouts) give what PyTorch and onnxruntime give."""
    monkeypatch.setattr(scan, "CHUNK_VALUES", steps * step_values(case))
    conforms(oracle(case), case, conformance_log)


class CountingPool:
    """The second thread's pool, counting the directions handed to it."""

    def __init__(self, pool):
        self.pool, self.submitted = pool, 0

    def submit(self, fn, *args):
        self.submitted += 1
        return self.pool.submit(fn, *args)


@pytest.fixture
def two_threads(monkeypatch):
    """Every bidirectional layer runs its directions on two threads (BLAS given two threads to hand back)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pool = CountingPool(scan._second_thread())
    monkeypatch.setattr(scan, "PARALLEL_VALUES", 1)
    monkeypatch.setattr(scan, "_second_thread", lambda: pool)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield pool


@pytest.mark.parametrize("case", BIDIRECTIONAL + ONNX_BIDIRECTIONAL[::4], ids=lambda case: case.id)
def test_directions_on_two_threads(two_threads, monkeypatch, case, conformance_log):
    """Both directions at once give what PyTorch or onnxruntime give, and the same bits as one after the other."""
    conforms(oracle(case), case, conformance_log)
    two_threads.submitted = 0
    parallel = case.reference()
    assert two_threads.submitted == getattr(case, "layer_count", 1), f"{two_threads.submitted} layers on two threads"
    monkeypatch.setattr(scan, "PARALLEL_VALUES", 1 << 62)
    for one_thread, two in zip(case.reference(), parallel):
        np.testing.assert_array_equal(one_thread, two)


def test_the_callers_error_state_reaches_the_second_thread(two_threads, monkeypatch):
    """Inf in the data makes 0 * inf in the GRU's (1 - z) * h~ on both directions: the reference ignores it (NaN
    propagates) on the second thread too, where a warning would be an error under pytest's settings."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (4, 2, 3))
    X[1, 0, :] = np.inf
    W, R, B = np.ones((2, 9, 3)), rng.uniform(-1, 1, (2, 9, 3)), np.zeros((2, 18))
    node = dict(direction="bidirectional", activations=["Sigmoid", "Relu"] * 2)
    parallel = onnx_rnn("GRU", X, W, R, B, **node)
    assert two_threads.submitted == 1 and np.isnan(parallel[0]).any()
    monkeypatch.setattr(scan, "PARALLEL_VALUES", 1 << 62)
    for one_thread, two in zip(onnx_rnn("GRU", X, W, R, B, **node), parallel):
        np.testing.assert_array_equal(one_thread, two)


def test_two_callers_at_once_leave_blas_its_threads(two_threads):
    """Caller A's layer enters the two-thread path; caller B's starts before A's ends and ends after it. B runs
    its directions one after the other, so the BLAS limit A set is undone by A, and BLAS has its two threads
    afterwards (two overlapping limits would leave it at the one B found)."""
    import threading

    import threadpoolctl

    a_inside, a_done, b_inside = threading.Event(), threading.Event(), threading.Event()

    def a_first():
        a_inside.set()
        assert b_inside.wait(10)
        return "a0"

    def b_first():
        b_inside.set()
        assert a_done.wait(10)
        return "b0"

    def caller_a():
        results["a"] = scan.run_layer([a_first, lambda: "a1"], 1 << 62)
        a_done.set()

    results = {}
    a = threading.Thread(target=caller_a)
    a.start()
    assert a_inside.wait(10)
    results["b"] = scan.run_layer([b_first, lambda: "b1"], 1 << 62)
    a.join(10)
    assert results == {"a": ["a0", "a1"], "b": ["b0", "b1"]}
    assert two_threads.submitted == 1
    assert {lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"} == {2}


def test_an_error_in_a_direction_reaches_the_caller(two_threads, monkeypatch):
    """A direction that raises on the second thread raises in the caller, after both directions ended."""
    case = BIDIRECTIONAL[0]
    run_direction = scan.run_direction

    def failing(*args, reverse=False, **kwargs):
        if reverse:
            raise FloatingPointError("the reverse direction failed")
        return run_direction(*args, reverse=reverse, **kwargs)

    monkeypatch.setattr(sys.modules["reference.rnn_v2"], "run_direction", failing)
    with pytest.raises(FloatingPointError, match="the reverse direction failed"):
        case.reference()
    assert two_threads.submitted == 1
