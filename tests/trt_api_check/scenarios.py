"""What the suite asks of TensorRT, played under TensorRT-RTX with the API recorded.

Every network path (loop, drop-in, onnx, and native where the version has `add_rnn_v2`; weights as
inputs; packed; dynamic shapes with an optimization profile), the NumPy executor reading
each network back, the build check (`build_plan`'s config calls) and the TensorRT runner (probes,
build, deserialisation and execution) run once per scenario. Nothing is really built: the
builder's `build_serialized_network` call is recorded and answered with a stand-in plan, and the
runner's engine, execution context and CUDA stream are stand-ins, so that the runner's calls can
be recorded without a GPU. These runs check which API the suite uses, never a result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile

import numpy as np

from trt_cases.runners import cuda_memory
from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.executor import execute
from trt_cases.networks.build import build_network, build_packed_network
from trt_cases.networks.engine import build_plan
from trt_cases.runners import trt_runner
from trt_cases.runners.build_check import BuildCheckRunner
from trt_cases.runners.simulated_runner import SimulatedRunner

from .recorder import HiddenAttribute, Recorder

CASES = {
    "lstm-bi-2-lens-states": Case("LSTM", layer_count=2, direction="BIDIRECTION", seq_lengths=True, hidden_state=True,
                                  cell_state=True, batch_dims=(2,), max_seq_length=3),
    "gru-skip": Case("GRU", input_mode="SKIP", data_length=4, hidden_size=4, batch_dims=(1, 2)),
    "relu-state": Case("RELU", hidden_state=True, max_seq_length=2),
    "tanh-bi-lens": Case("TANH", direction="BIDIRECTION", seq_lengths=True, batch_dims=(3,)),
}
PATHS = ("loop", "drop-in", "onnx")
PLAN = b"stand-in plan"


@contextlib.contextmanager
def patched(obj, name, value):
    saved = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, saved)


class _Buffer:
    ptr = 4096

    def upload(self, array, stream):
        pass

    def poison(self, stream):
        pass

    def download(self, array, stream):
        array[...] = 0


class _Stream:
    """Stands in for `cuda_memory.Stream`: no CUDA here."""
    handle = 0

    def alloc(self, nbytes):
        return _Buffer()

    def synchronize(self):
        pass

    def release(self):
        pass

    def __exit__(self, *exc):
        return False


class _Context:
    def set_tensor_address(self, name, address):
        return True

    def execute_async_v3(self, stream_handle):
        return True

    def execute_async_v2(self, bindings, stream_handle):
        return True


class _Engine:
    """An engine with the network's I/O, offering both the tensor API (8.5+) and the binding API (<= 9)."""

    def __init__(self, trt, recorder, io):
        self.trt, self.recorder, self.io = trt, recorder, io  # [(name, is_input, shape, DataType)]

    def create_execution_context(self):
        return self.recorder.fake(_Context(), "IExecutionContext")

    num_io_tensors = property(lambda self: len(self.io))
    num_bindings = property(lambda self: len(self.io))

    def get_tensor_name(self, i):
        return self.io[i][0]

    def _by_name(self, name):
        return next(t for t in self.io if t[0] == name)

    def get_tensor_mode(self, name):
        return self.trt.TensorIOMode.INPUT if self._by_name(name)[1] else self.trt.TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        return self._by_name(name)[2]

    def get_tensor_dtype(self, name):
        return self._by_name(name)[3]

    def get_binding_name(self, i):
        return self.io[i][0]

    def binding_is_input(self, i):
        return self.io[i][1]

    def get_binding_shape(self, i):
        return self.io[i][2]

    def get_binding_dtype(self, i):
        return self.io[i][3]


class _RNNv2Layer:
    """Stands in for TensorRT 8's IRNNv2Layer: takes its settings; its outputs are zero constants of its shapes."""

    def __init__(self, trt, network, x, layer_count, hidden_size, op):
        self.trt, self.network, self.x = trt, network, x
        self.layer_count, self.hidden_size, self.op = layer_count, hidden_size, op
        self.direction = self.input_mode = self.seq_lengths = self.hidden_state = self.cell_state = None
        self.keep = []

    def set_weights_for_gate(self, layer_index, gate, is_w, weights):
        pass

    set_bias_for_gate = set_weights_for_gate

    def get_output(self, index):
        *batch, S, E = tuple(self.x.shape)
        K = 2 if getattr(self.direction, "name", "") == "BIDIRECTION" else 1
        shape = (*batch, S, K * self.hidden_size) if index == 0 else (*batch, self.layer_count * K, self.hidden_size)
        array = np.zeros(shape, dtype=np.float32)
        self.keep.append(array)
        return self.network.add_constant(shape, self.trt.Weights(array)).get_output(0)


class Stage:
    """Answers the builder and runtime calls that need a GPU or take long, from the last network built."""

    def __init__(self, trt, recorder):
        self.trt, self.recorder, self.io = trt, recorder, []

    def __call__(self, owner, attr, args):
        if attr == "build_serialized_network":
            network = args[0]
            ins = [network.get_input(i) for i in range(network.num_inputs)]
            outs = [network.get_output(i) for i in range(network.num_outputs)]
            self.io = [(t.name, k < len(ins), tuple(t.shape), t.dtype) for k, t in enumerate(ins + outs)]
            return PLAN
        if attr == "add_rnn_v2":  # on a version that has the native layer (8.6), played with a stand-in layer
            network, x, layer_count, hidden_size, max_seq_length, op = args
            return self.recorder.fake(_RNNv2Layer(self.trt, network, x, layer_count, hidden_size, op), "IRNNv2Layer")
        if attr == "deserialize_cuda_engine":
            return self.recorder.fake(_Engine(self.trt, self.recorder, self.io), "ICudaEngine")
        return None


def _simulate(path, case):
    def run():
        SimulatedRunner(path).infer(case)
    return run


def _build_check(path, case):
    def run():
        runner = BuildCheckRunner(path)
        if runner.unsupported(case) is None:  # as `run` does: a path this TensorRT lacks is skipped
            runner.infer(case)
    return run


def _weights_as_inputs(case):
    def run():
        net = build_network(case, "loop", weights_as_inputs=True)
        execute(net.network, net.feeds)
    return run


def _packed(cases):
    def run():
        net = build_packed_network(cases, "loop")
        execute(net.network, net.feeds)
    return run


def _runner(path, precision, case, weights_as_inputs=False):
    case = dataclasses.replace(case, precision=precision)

    def run():
        with tempfile.TemporaryDirectory() as cache, patched(cuda_memory, "missing", lambda: None), \
                patched(cuda_memory, "Stream", _Stream), patched(trt_runner, "compute_capability", lambda: (8, 0)):
            runner = trt_runner.TensorRTRunner(path, precision, cache_dir=cache, weights_as_inputs=weights_as_inputs,
                                               compute_capability=(8, 0))
            with runner:
                if runner.unsupported(case) is None:
                    runner.infer(case)
    return run


def _dynamic(path, case, weights_as_inputs=False):
    def run():
        net = build_network(case, path, dynamic=True, weights_as_inputs=weights_as_inputs)
        build_plan(net)  # the profile: create_optimization_profile, set_shape, add_optimization_profile
    return run


def scenarios() -> dict:
    """name -> a function doing what the suite does with the API along one path."""
    out = {}
    for path in PATHS:
        for name, case in CASES.items():
            out[f"simulate {path} {name}"] = _simulate(path, case)
    for path in PATHS + ("native",):
        out[f"build-check {path}"] = _build_check(path, CASES["lstm-bi-2-lens-states"])
        for precision in trt_runner.PRECISIONS:
            out[f"runner {path} {precision}"] = _runner(path, precision, CASES["gru-skip"])
    out["runner loop weights-as-inputs"] = _runner("loop", "fp32", CASES["relu-state"], weights_as_inputs=True)
    for name, case in CASES.items():
        out[f"weights-as-inputs {name}"] = _weights_as_inputs(case)
    out["packed loop"] = _packed(list(CASES.values())[:2])
    for path in PATHS:
        for name in ("lstm-bi-2-lens-states", "gru-skip"):
            out[f"dynamic {path} {name}"] = _dynamic(path, CASES[name])
    out["dynamic loop weights-as-inputs"] = _dynamic("loop", CASES["lstm-bi-2-lens-states"], weights_as_inputs=True)
    return out


def record(hidden=frozenset(), revealed=None):
    """Play every scenario under TensorRT-RTX with `hidden` attributes absent and `revealed` enum members present.

    Returns (events, failures): failures maps a scenario name to the exception it raised.
    """
    real = trt_api.load()
    if real is None:
        raise RuntimeError(trt_api.missing("loop"))
    recorder = Recorder(real.module, hidden, revealed)
    recorder.stand_in = Stage(real.module, recorder)
    failures = {}
    with patched(trt_api, "load", lambda: trt_api.TensorRT(recorder.proxy, real.flavour, real.version)):
        for name, run in scenarios().items():
            try:
                with np.errstate(all="ignore"):
                    run()
            except Exception as exc:  # noqa: BLE001 - every failure is reported, by scenario
                failures[name] = exc
    return recorder.events, failures


def hidden_cause(exc):
    """The HiddenAttribute an exception came from (itself or in its chain), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, HiddenAttribute):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
