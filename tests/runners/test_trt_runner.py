"""The TensorRT runner without a GPU: typing per TensorRT, kept engines, bf16 I/O, builder options, bad input.

Engines and contexts here are stand-ins that count calls (no CUDA, no TensorRT runtime needed);
the disk cache is seeded with stand-in plans so nothing is built. Typing expectations come from
NVIDIA's TensorRT 10 -> 11 migration guide: 8.6 to 10.x have `BuilderFlag.FP16`/`BF16` (weak
typing); 11.x and TensorRT-RTX removed them, and every network is strongly typed.
"""

import dataclasses
import json
import types

import numpy as np
import pytest

from trt_cases import cli
from trt_cases.networks import trt_api
from trt_cases.networks.engine_cache import LoadedEngines
from trt_cases.runners import trt_runner
from trt_cases.runners.trt_runner import TensorRTRunner, bf16_bits, bf16_values, typing_for
from trt_cases.cases.case import Case, materials_at
from trt_cases.cases.sets import dynamic_small, matrix, seeds


def fake_tensorrt(label, builder_flags, creation_flags, data_types):
    module = types.SimpleNamespace(BuilderFlag=types.SimpleNamespace(**{f: f for f in builder_flags}),
                                   NetworkDefinitionCreationFlag=types.SimpleNamespace(**{f: f for f in creation_flags}),
                                   DataType=types.SimpleNamespace(**{d: d for d in data_types}))
    return types.SimpleNamespace(module=module, label=label)


TRT_8_6 = fake_tensorrt("TensorRT 8.6.1", ("FP16", "TF32", "INT8"), ("EXPLICIT_BATCH",), ("FLOAT", "HALF", "INT32"))
TRT_10 = fake_tensorrt("TensorRT 10.13.3", ("FP16", "BF16", "TF32"), ("EXPLICIT_BATCH", "STRONGLY_TYPED"),
                       ("FLOAT", "HALF", "BF16", "INT32"))
TRT_11 = fake_tensorrt("TensorRT 11.4.0", ("TF32",), ("STRONGLY_TYPED",), ("FLOAT", "HALF", "BF16", "INT32"))


@pytest.mark.parametrize("rt, precision, requested, typing, missing", [
    (TRT_10, "fp16", "auto", "weak", None),  # 10.x users still build with the flags
    (TRT_10, "bf16", "auto", "weak", None),
    (TRT_10, "fp16", "strong", "strong", None),
    (TRT_11, "fp16", "auto", "strong", None),  # no flags: strongly typed half network
    (TRT_11, "bf16", "auto", "strong", None),
    (TRT_11, "fp16", "weak", "weak", "BuilderFlag.FP16 is missing"),
    (TRT_8_6, "fp16", "auto", "weak", None),
    (TRT_8_6, "bf16", "auto", "weak", "BuilderFlag.BF16 not available in TensorRT 8.6.1"),
    (TRT_8_6, "fp16", "strong", "strong", "NetworkDefinitionCreationFlag.STRONGLY_TYPED is missing"),
    (TRT_8_6, "fp32", "auto", "weak", None),
])
def test_typing_follows_what_each_tensorrt_has(rt, precision, requested, typing, missing):
    got, reason = typing_for(precision, requested, rt)
    assert got == typing
    if missing is None:
        assert reason is None
    else:
        assert missing in reason and rt.label in reason


@pytest.mark.skipif(trt_api.load() is None or trt_api.load().flavour != "TensorRT-RTX", reason="needs TensorRT-RTX")
def test_tensorrt_rtx_builds_half_engines_strongly_typed_never_with_flags():
    case = dataclasses.replace(seeds()[0], precision="fp16")
    runner = TensorRTRunner("loop", "fp16", compute_capability=(8, 9))
    assert (runner.typing, runner.network_precision, runner.io) == ("strong", "fp16", "network")
    assert "BuilderFlag.FP16" not in (runner.prepare(case) or "")
    weak = TensorRTRunner("loop", "fp16", typing="weak", compute_capability=(8, 9))
    assert weak.name == "tensorrt-loop-fp16-weak"
    assert weak.prepare(case).startswith("weak typing not available in TensorRT-RTX")


class FakeContext:
    pass


class FakeEngine:
    """A TensorRT 10 style engine with float32 I/O; counts the contexts it creates."""

    def __init__(self, plan, tensors):
        self.plan, self.tensors, self.contexts = plan, tensors, 0

    def create_execution_context(self):
        self.contexts += 1
        return FakeContext()

    @property
    def num_io_tensors(self):
        return len(self.tensors)

    def get_tensor_name(self, i):
        return self.tensors[i][0]

    def get_tensor_mode(self, name):
        trt = trt_api.load().module
        return trt.TensorIOMode.INPUT if self._tensor(name)[1] else trt.TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        return self._tensor(name)[2]

    def get_tensor_dtype(self, name):
        return getattr(trt_api.load().module.DataType, self._tensor(name)[3])

    def _tensor(self, name):
        return next(t for t in self.tensors if t[0] == name)


class FakeRuntime:
    def __init__(self):
        self.plans = []

    def deserialize_cuda_engine(self, plan):
        self.plans.append(plan)
        return FakeEngine(plan, [("input", True, (1,), "FLOAT"), ("output", False, (1,), "FLOAT")])


class FakeStream:
    handle = 0

    def __init__(self):
        self.closed = False

    def release(self):
        pass

    def __exit__(self, *exc):
        self.closed = True


@pytest.fixture
def runner_without_gpu(monkeypatch, tmp_path):
    """A TensorRT runner whose runtime, stream and `execute` are stand-ins; plans come from a seeded disk cache."""
    if trt_api.missing("loop"):
        pytest.skip(trt_api.missing("loop"))
    runtime, executed = FakeRuntime(), []
    monkeypatch.setattr(TensorRTRunner, "_new_runtime", lambda self: runtime)
    monkeypatch.setattr(trt_runner.cuda_memory, "Stream", FakeStream)

    def execute(engine, feeds, stream, tensors, context):
        executed.append((engine, context, feeds))
        return (np.zeros(1),)
    monkeypatch.setattr(trt_runner, "execute", execute)

    def make(**options):
        runner = TensorRTRunner("loop", "fp32", cache_dir=tmp_path, compute_capability=(8, 9), **options)

        def seed(case):
            runner.cache.store(runner.engine_fields(case), f"plan of {case.id}".encode())
        runner.seed = seed
        return runner
    return make, runtime, executed


def test_inferences_of_one_case_deserialise_once_and_create_one_context(runner_without_gpu):
    make, runtime, executed = runner_without_gpu
    case = seeds()[3]
    with make() as runner:
        runner.seed(case)
        for _ in range(5):
            runner.infer(case)
        assert runtime.plans == [f"plan of {case.id}".encode()]
        (engine,) = {id(e): e for e, _, _ in executed}.values()
        assert engine.contexts == 1 and len({id(c) for _, c, _ in executed}) == 1
        assert (runner.loaded.deserializations, runner.loaded.contexts, runner.loaded.reuses) == (1, 1, 4)
        assert runner.build_seconds == 0.0  # nothing was built: the plan came from the disk cache
    assert len(runner.loaded) == 0, "the runner's exit releases every kept engine"


def test_weights_as_inputs_sweep_is_one_deserialisation_for_many_weight_sets(runner_without_gpu):
    make, runtime, executed = runner_without_gpu
    shape = matrix()[45]
    with make(weights_as_inputs=True) as runner:
        runner.seed(shape)
        for seed in range(12):
            runner.infer(dataclasses.replace(shape, seed=seed, weight_scale=(0.25, 0.5, 1.0)[seed % 3]))
        assert len(runtime.plans) == 1 and runner.loaded.contexts == 1
    weights = [feeds["R.0"] for _, _, feeds in executed]
    assert len(weights) == 12 and not np.array_equal(weights[0], weights[1]), "each weight set is fed, not the first"


def test_kept_engines_are_bounded_least_recently_used_first(runner_without_gpu):
    make, runtime, _ = runner_without_gpu
    a, b, c = seeds()[:3]
    with make(kept_engines=2) as runner:
        for case in (a, b, c):
            runner.seed(case)
        for case in (a, b, a, c, a, b):  # c evicts b (a was used more recently); b then evicts c
            runner.infer(case)
        assert [p.decode().split()[-1] for p in runtime.plans] == [a.id, b.id, c.id, b.id]
        assert runner.loaded.evictions == 2 and len(runner.loaded) == 2


def test_loaded_engines_key_like_the_disk_cache_and_release_contexts_first():
    class Engine:
        def create_execution_context(self):
            return object()
    cache = LoadedEngines(lambda plan: Engine(), capacity=1)
    first = cache.get({"case": 1}, lambda: b"1")
    assert cache.get({"case": 1}, lambda: pytest.fail("a kept engine needs no plan")) is first
    cache.get({"case": 2}, lambda: b"2")
    assert first.engine is None and first.context is None and cache.evictions == 1
    cache.clear()
    assert len(cache) == 0 and cache.deserializations == 2


def test_a_failing_context_is_an_error_not_a_kept_engine():
    class Engine:
        def create_execution_context(self):
            return None
    cache = LoadedEngines(lambda plan: Engine())
    with pytest.raises(RuntimeError, match="create_execution_context returned None"):
        cache.get({"case": 1}, lambda: b"1")
    assert len(cache) == 0


def test_engine_key_covers_typing_io_and_optimisation_level(monkeypatch):
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    case = seeds()[0]
    keys = {repr(sorted(TensorRTRunner("loop", "fp16", compute_capability=(8, 9), **options).engine_fields(case).items()))
            for options in ({}, {"io": "float32"}, {"builder_optimization_level": 1}, {"builder_optimization_level": 5})}
    assert len(keys) == 4
    monkeypatch.setattr(trt_runner, "typing_for", lambda precision, requested, rt: (requested, None))
    weak, strong = (TensorRTRunner("loop", "fp16", typing=t, compute_capability=(8, 9)).engine_fields(case) for t in ("weak", "strong"))
    assert weak["typing"] == "weak" and strong["typing"] == "strong" and weak != strong
    assert weak["io"] == "float32", "a weakly typed half engine is the float32 network: float32 I/O"


def test_bf16_conversion_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    ties = (rng.integers(0, 2**16, 1000, dtype=np.uint32) << 16) | 0x8000  # exactly half-way: to even
    special = np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235e38, -3.4028235e38, 1e-45, 1.0, 1.00390625, 1.01171875],
                       np.float32).view(np.uint32)
    x = np.concatenate([bits, ties, special]).view(np.float32)
    want = torch.from_numpy(x.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    got = bf16_bits(x)
    finite = ~np.isnan(x)
    np.testing.assert_array_equal(got[finite], want[finite])
    assert np.all(np.isnan(bf16_values(got[~finite]))), "NaN stays NaN"
    values = torch.from_numpy(want[finite].view(np.int16).copy()).view(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(bf16_values(want[finite]), values)


def test_bf16_io_tensors_are_uint16_bit_patterns():
    if trt_api.load() is None or not hasattr(trt_api.load().module.DataType, "BF16"):
        pytest.skip("no TensorRT with DataType.BF16 installed")
    engine = FakeEngine(b"", [("input", True, (2, 3), "BF16"), ("seq_lengths", True, (2,), "INT32"),
                              ("output", False, (2, 3), "HALF")])
    assert trt_runner.io_tensors(engine) == [("input", True, (2, 3), np.dtype(np.uint16)),
                                             ("seq_lengths", True, (2,), np.dtype(np.int32)),
                                             ("output", False, (2, 3), np.dtype(np.float16))]


def test_an_engine_in_the_wrong_type_is_refused_not_reported_as_half():
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    runner = TensorRTRunner("loop", "fp16", typing="strong", compute_capability=(8, 9))
    fp32_engine = FakeEngine(b"", [("input", True, (1,), "FLOAT"), ("output", False, (1,), "FLOAT")])
    with pytest.raises(TypeError, match="the engine's input is float32; this strongly typed fp16 engine with network I/O should take float16"):
        runner._describe(fp32_engine)


@pytest.mark.parametrize("options, match", [
    ({"typing": "medium"}, r"typing='medium'; allowed: auto, weak, strong"),
    ({"io": "float16"}, r"io='float16'; allowed: network, float32"),
    ({"builder_optimization_level": 6}, r"builder_optimization_level=6; allowed: 0 to 5"),
    ({"builder_optimization_level": "fast"}, r"builder_optimization_level='fast'; allowed: 0 to 5"),
    ({"kept_engines": 0}, r"kept_engines=0; allowed: a whole number >= 1"),
])
def test_bad_runner_options(options, match):
    with pytest.raises(ValueError, match=match):
        TensorRTRunner("loop", "fp16", **options)


@pytest.mark.parametrize("env, value, match", [("TRT_RNN_TYPING", "loose", r"TRT_RNN_TYPING='loose'; allowed: auto"),
                                               ("TRT_RNN_BUILDER_OPT_LEVEL", "-1", r"TRT_RNN_BUILDER_OPT_LEVEL='-1'; allowed: 0 to 5")])
def test_bad_environment(monkeypatch, env, value, match):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValueError, match=match):
        TensorRTRunner("loop", "fp32")


def test_environment_sets_typing_and_level(monkeypatch):
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    monkeypatch.setenv("TRT_RNN_TYPING", "strong")
    monkeypatch.setenv("TRT_RNN_BUILDER_OPT_LEVEL", "2")
    runner = TensorRTRunner("loop", "fp16")
    assert (runner.name, runner.optimization_level) == ("tensorrt-loop-fp16-strong", 2)


def test_command_line_optimisation_level_is_checked(capsys, monkeypatch):
    monkeypatch.delenv("TRT_RNN_BUILDER_OPT_LEVEL", raising=False)
    assert cli.main(["check", seeds()[0].id, "--backend", "onnxruntime", "--builder-optimization-level", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --builder-optimization-level=7; allowed: 0 to 5 (TensorRT's builder optimisation levels)"]


@pytest.mark.trt_build
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_real_builder_plans_each_typing_and_level_once(tmp_path, precision):
    """The runner's build-and-cache step with the installed builder (no GPU): typed network, level, timing cache."""
    case = dataclasses.replace(seeds()[5], precision=precision)
    runner = TensorRTRunner("loop", precision, cache_dir=tmp_path, compute_capability=(8, 9), builder_optimization_level=0)
    reason = trt_api.missing("loop") or runner._typing_reason
    if reason:
        pytest.skip(reason)
    first = runner.serialized_plan(case)  # under pytest a stray builder warning (e.g. a deprecated timing cache) is an error
    assert first and runner.serialized_plan(case) == first and (runner.cache.misses, runner.cache.hits) == (1, 1)
    other_level = TensorRTRunner("loop", precision, cache_dir=tmp_path, compute_capability=(8, 9), builder_optimization_level=1)
    other_level.serialized_plan(case)
    assert other_level.cache.misses == 1, "engines built at another optimisation level are cached separately"


class CopyingContext:
    """A stand-in execution context that copies `input` to `output` on the device (same type, same size)."""

    def __init__(self, nbytes):
        self.nbytes, self.addresses = nbytes, {}

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr

    def execute_async_v3(self, stream):
        from trt_cases.runners import cuda_memory

        rt = cuda_memory.cudart()
        cuda_memory.check(rt.cudaMemcpyAsync(self.addresses["output"], self.addresses["input"], self.nbytes,
                                             rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
        return True


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float16, np.uint16], ids=["fp16", "bf16-bit-patterns"])
def test_execute_converts_half_io_on_the_device(dtype):
    """Feeds go to the engine in its input type and come back as float64, on real device buffers."""
    from trt_cases.runners import cuda_memory

    reason = cuda_memory.missing()
    if reason:
        pytest.skip(reason)
    x = np.array([[1.0, -2.5, 1 + 2**-8], [3.140625, 65504.0, 2**-14]])  # 1 + 2**-8: a tie in bf16 rounds to even (1.0)
    tensors = [("input", True, x.shape, np.dtype(dtype)), ("output", False, x.shape, np.dtype(dtype))]
    with cuda_memory.Stream() as stream:
        (out,) = trt_runner.execute(None, {"input": x}, stream, tensors, CopyingContext(x.size * 2))
    want = x.astype(np.float16).astype(np.float64) if dtype == np.float16 else \
        np.array([[1.0, -2.5, 1.0], [3.140625, 65536.0, 2**-14]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, want)


def test_a_network_in_the_wrong_precision_is_refused_before_building(monkeypatch):
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    runner = TensorRTRunner("loop", "fp16", typing="strong", compute_capability=(8, 9))
    monkeypatch.setattr(trt_runner.networks, "build_network",
                        lambda case, path, **kw: types.SimpleNamespace(precision="fp32", typing="strong", feeds={}))
    with pytest.raises(TypeError, match="network of .* is fp32, strongly typed; this engine needs fp16, strongly typed"):
        runner.network(seeds()[0])


@pytest.mark.parametrize("refused", [False, True])
def test_the_networks_own_type_check_is_asked_before_building(monkeypatch, refused):
    if trt_api.missing("loop"):
        pytest.skip(trt_api.missing("loop"))
    from trt_cases.networks import build as networks

    checked = []

    def check_types(net):
        checked.append(net)
        if refused:
            raise TypeError("input 'hidden_state' is FLOAT; intended HALF (planted)")
    monkeypatch.setattr(networks, "check_types", check_types)
    runner = TensorRTRunner("loop", "fp32", compute_capability=(8, 9))
    if refused:
        with pytest.raises(TypeError, match="hidden_state' is FLOAT; intended HALF"):
            runner.network(seeds()[0])
    else:
        runner.network(seeds()[0])
    assert checked, "the check was asked"


# Dynamic and shared engines. The stand-in builder writes the built network's I/O (-1 where dynamic) as the plan;
# the stand-in runtime makes an engine of that I/O whose contexts answer output dims from the input dims set on
# them, and device buffers live in host memory, so the runner's own execution code runs unchanged.

class HostBuffer:
    """A device buffer stand-in in host memory, found by its address (`ptr`) in its stream's `buffers`."""

    def __init__(self, buffers, nbytes):
        self.data, self.ptr = bytearray(nbytes), 4096 + 64 * len(buffers)
        buffers[self.ptr] = self

    def upload(self, array, stream):
        self.data[:] = array.tobytes()

    def poison(self, stream):
        self.data[:] = b"\xff" * len(self.data)

    def download(self, array, stream):
        array[...] = np.frombuffer(bytes(self.data), array.dtype).reshape(array.shape)


class HostStream:
    """Stands in for `cuda_memory.Stream`."""
    handle = 0

    def __init__(self):
        self.buffers = {}

    def alloc(self, nbytes):
        return HostBuffer(self.buffers, nbytes)

    def synchronize(self):
        pass

    def release(self):
        self.buffers.clear()

    def __exit__(self, *exc):
        return False


class ShapedContext:
    """An execution context of a dynamic engine: keeps the input dims set on it; an output's dims are its own with
    each -1 taken from the input's dims at that place (batch dims, then S), as the RNN networks' outputs are.
    Each execution records the dims set for it (input name -> dims) and the arrays it was given; outputs are 0."""

    def __init__(self, engine, stream):
        self.engine, self.stream, self.dims, self.addresses, self.executions = engine, stream, {}, {}, []

    def _set(self, name, dims):
        lo, hi = self.engine.limits.get(name, (None, None))
        if lo is not None and any(d < a or d > b for d, a, b in zip(dims, lo, hi)):
            return False  # as TensorRT does for dims outside the engine's profile
        self.dims[name] = tuple(dims)
        return True

    def _shape(self, name):
        _, is_input, shape, _ = self.engine.tensor(name)
        if is_input:
            return self.dims.get(name, tuple(shape))
        fill = iter(self.dims.get("input", ()))
        return tuple(next(fill, -1) if d == -1 else d for d in shape)

    def _execute(self):
        got = {}
        for name, is_input, _, dtype in self.engine.tensors:
            buffer = self.stream.buffers[self.addresses[name]]
            if is_input:
                got[name] = np.frombuffer(bytes(buffer.data), self.engine.dtype(dtype)).reshape(self.dims[name])
            else:
                buffer.data[:] = bytes(len(buffer.data))
        self.executions.append((dict(self.dims), got))
        self.dims = {}  # the next execution's dims must be set again
        return True


class TensorContext(ShapedContext):
    """The tensor API (TensorRT 8.5 and later): `set_input_shape`, `get_tensor_shape`, `execute_async_v3`."""

    def set_input_shape(self, name, dims):
        return self._set(name, dims)

    def get_tensor_shape(self, name):
        return self._shape(name)

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr

    def execute_async_v3(self, stream):
        return self._execute()


class BindingContext(ShapedContext):
    """TensorRT 8's binding API: `set_binding_shape`, `get_binding_shape` by index, `execute_async_v2`."""

    def set_binding_shape(self, index, dims):
        return self._set(self.engine.tensors[index][0], dims)

    def get_binding_shape(self, index):
        return self._shape(self.engine.tensors[index][0])

    def execute_async_v2(self, bindings, stream):
        self.addresses = {t[0]: ptr for t, ptr in zip(self.engine.tensors, bindings)}
        return self._execute()


class DynamicEngine:
    """An engine with the built network's I/O and profile (`limits`: input -> (min, max)), through the tensor API or
    the binding API; it keeps the contexts it creates."""

    def __init__(self, plan, stream_of, binding_api):
        described = json.loads(plan)
        self.tensors = [tuple(t[:2]) + (tuple(t[2]), t[3]) for t in described["tensors"]]
        self.limits = {name: (tuple(lo), tuple(hi)) for name, (lo, hi) in described["limits"].items()}
        self.stream_of, self.binding_api, self.contexts = stream_of, binding_api, []
        if not binding_api:
            self.num_io_tensors = len(self.tensors)

    def tensor(self, name):
        return next(t for t in self.tensors if t[0] == name)

    def dtype(self, data_type):
        return trt_runner.numpy_dtype(trt_api.load().module, getattr(trt_api.load().module.DataType, data_type))

    def create_execution_context(self):
        self.contexts.append((BindingContext if self.binding_api else TensorContext)(self, self.stream_of()))
        return self.contexts[-1]

    def __getattr__(self, name):  # the tensor API's or the binding API's descriptions, never both
        trt = trt_api.load().module
        tensor_api = {"get_tensor_name": lambda i: self.tensors[i][0],
                      "get_tensor_mode": lambda n: trt.TensorIOMode.INPUT if self.tensor(n)[1] else trt.TensorIOMode.OUTPUT,
                      "get_tensor_shape": lambda n: self.tensor(n)[2],
                      "get_tensor_dtype": lambda n: getattr(trt.DataType, self.tensor(n)[3])}
        binding_api = {"num_bindings": len(self.tensors), "get_binding_name": lambda i: self.tensors[i][0],
                       "binding_is_input": lambda i: self.tensors[i][1], "get_binding_shape": lambda i: self.tensors[i][2],
                       "get_binding_dtype": lambda i: getattr(trt.DataType, self.tensors[i][3])}
        found = (binding_api if self.binding_api else tensor_api).get(name)
        if found is None:
            raise AttributeError(name)
        return found


def stand_in_plan(net) -> bytes:
    """The plan the stand-in builder writes: the network's I/O and its profile's limits."""
    tensors = [net.network.get_input(i) for i in range(net.network.num_inputs)]
    outputs = [net.network.get_output(i) for i in range(net.network.num_outputs)]
    limits = {} if net.profile is None else {name: (lo, hi) for name, (lo, _, hi) in net.profile.shapes}
    return json.dumps({"tensors": [(t.name, k < len(tensors), tuple(t.shape), t.dtype.name)
                                   for k, t in enumerate(tensors + outputs)], "limits": limits}).encode()


class DynamicRuntime:
    def __init__(self, binding_api):
        self.binding_api, self.engines, self.stream = binding_api, [], None

    def deserialize_cuda_engine(self, plan):
        self.engines.append(DynamicEngine(plan, lambda: self.stream, self.binding_api))
        return self.engines[-1]


@pytest.fixture
def dynamic_runner(monkeypatch, tmp_path):
    """`make(binding_api=False, **options)` -> (runner, runtime): a TensorRT runner on stand-in dynamic engines;
    `builds` lists the networks the stand-in builder was given."""
    if trt_api.missing("loop"):
        pytest.skip(trt_api.missing("loop"))
    builds = []

    def build_plan(net, **options):
        builds.append(net)
        return stand_in_plan(net), 0.0
    monkeypatch.setattr(trt_runner, "build_plan", build_plan)

    def make(binding_api=False, **options):
        runtime = DynamicRuntime(binding_api)

        def stream():
            runtime.stream = HostStream()
            return runtime.stream
        monkeypatch.setattr(trt_runner.cuda_memory, "Stream", stream)
        monkeypatch.setattr(TensorRTRunner, "_new_runtime", lambda self: runtime)
        return TensorRTRunner("loop", "fp32", cache_dir=tmp_path, compute_capability=(8, 9), **options), runtime
    return make, builds


def reference_shapes(case):
    return [out.shape for out in case.reference()]


@pytest.mark.parametrize("binding_api", [False, True], ids=["tensor-api", "binding-api"])
def test_one_dynamic_engine_is_deserialised_once_and_run_at_every_shape(dynamic_runner, binding_api):
    make, builds = dynamic_runner
    cases = dynamic_small()[:6]  # one bidirectional LSTM engine at six run shapes
    assert len({c.engine_case for c in cases}) == 1 and len({c.max_seq_length for c in cases}) > 1
    runner, runtime = make(binding_api)
    with runner:
        outputs = [runner.infer(case) for case in cases]
    assert len(builds) == 1 and builds[0].profile == cases[0].profile, "built once, with the cases' profile"
    assert runner.engine_counts == {"built": 1, "loaded_from_cache": 0, "deserialized": 1, "executions": 6}
    assert len({runner.engine_key(case) for case in cases}) == 1, "one engine key for every run shape"
    ((context,),) = [engine.contexts for engine in runtime.engines]
    assert [dims for dims, _ in context.executions] == [case.run_shape for case in cases], \
        "every input's dims are set before each execution, at that case's run shape"
    assert [[out.shape for out in got] for got in outputs] == [reference_shapes(case) for case in cases], \
        "outputs are sized from the context at each run shape"
    for case, (_, fed) in zip(cases, context.executions):
        np.testing.assert_array_equal(fed["input"], case.materialise().input.astype(np.float32))


def test_a_shared_engine_is_deserialised_once_for_many_weight_sets_and_shapes(dynamic_runner):
    make, builds = dynamic_runner
    cases = [Case("GRU", batch_dims=(2,), max_seq_length=3, seed=1), Case("GRU", batch_dims=(4,), max_seq_length=5, seed=2),
             Case("GRU", batch_dims=(1,), max_seq_length=2, seq_lengths=True, seed=3),
             Case("GRU", batch_dims=(3,), max_seq_length=4, hidden_state=True, seed=4)]
    runner, runtime = make(share_engines=True)
    runner.plan(cases + seeds()[:1])  # a case of another structure gets an engine of its own
    with runner:
        outputs = [runner.infer(case) for case in cases]
    assert len(builds) == 1 and (runner.engines_built, runner.engines_deserialized, runner.executions) == (1, 1, 4)
    assert len({runner.engine_key(case) for case in cases}) == 1 and runner.engine_key(seeds()[0]) != runner.engine_key(cases[0])
    ((context,),) = [engine.contexts for engine in runtime.engines]
    H, states = cases[0].hidden_size, [dims for dims, _ in context.executions]
    assert [(d["input"], d["seq_lengths"], d["hidden_state"]) for d in states] == \
        [(c.materialise().input.shape, c.batch_dims, c.batch_dims + (1, H)) for c in cases]
    fed = [got for _, got in context.executions]
    for case, got in zip(cases, fed):
        np.testing.assert_array_equal(got["input"], case.materialise().input.astype(np.float32))
    recurrent = [next(v for name, v in got.items() if name.startswith("R.")) for got in fed]
    assert all(not np.array_equal(a, b) for a, b in zip(recurrent, recurrent[1:])), "each case's weights are fed"
    np.testing.assert_array_equal(fed[2]["seq_lengths"], cases[2].materialise().seq_lengths)
    assert (fed[0]["seq_lengths"] == cases[0].max_seq_length).all(), "a case without lengths runs at full length"
    assert [[out.shape for out in got] for got in outputs] == [reference_shapes(case) for case in cases]


def test_a_run_shape_outside_the_profile_is_refused_before_anything_runs(dynamic_runner):
    make, builds = dynamic_runner
    case = dynamic_small()[1]
    _, _, hi = case.profile["input"]
    beyond = materials_at(case, case.materialise(), (hi[0] + 1,), case.max_seq_length)
    runner, runtime = make()
    with runner:
        with pytest.raises(ValueError, match=r"is not run on its engine: input 'hidden_state': run dims \(8, 2, 4\) "
                                             r"outside the profile: min \(1, 2, 4\), max \(7, 2, 4\)"):
            runner.infer(case, beyond)
    assert builds == [] and runtime.engines == [] and runner.executions == 0


def test_a_shared_engine_refuses_data_longer_than_its_profile(dynamic_runner):
    make, builds = dynamic_runner
    cases = [Case("RELU", seed=1), Case("RELU", max_seq_length=5, seed=2)]
    runner, runtime = make(share_engines=True)
    runner.plan(cases)
    with runner, pytest.raises(ValueError, match=r"run dims \(2, 6, 4\) outside the profile: min \(1, 1, 4\), max \(5, 5, 4\)"):
        runner.infer(cases[0], materials_at(cases[0], cases[0].materialise(), (2,), 6))
    assert builds == [] and runtime.engines == []


def test_refused_dims_raise_before_execution():
    """Dims the context refuses (TensorRT's `set_input_shape` returning False) are an error, not a run."""
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    stream = HostStream()
    plan = json.dumps({"tensors": [("input", True, (-1, 2), "FLOAT"), ("output", False, (-1, 2), "FLOAT")],
                       "limits": {"input": ((1, 2), (4, 2))}})
    engine = DynamicEngine(plan, lambda: stream, binding_api=False)
    (out,) = trt_runner.execute_all(engine, {"input": np.ones((3, 2))}, stream).values()
    assert out.shape == (3, 2) and (out == 0).all()
    with pytest.raises(ValueError, match=r"input input: the execution context refuses dims \(5, 2\) \(the engine's are \(-1, 2\)\)"):
        trt_runner.execute(engine, {"input": np.ones((5, 2))}, stream)
    assert len(engine.contexts[-1].executions) == 0


def test_engine_counts_tell_loads_from_the_disk_cache_from_builds(dynamic_runner):
    make, builds = dynamic_runner
    cases = dynamic_small()[6:9]  # the GRU engine
    for _ in range(2):
        runner, _ = make()
        with runner:
            for case in cases:
                runner.infer(case)
    assert len(builds) == 1
    assert runner.engine_counts == {"built": 0, "loaded_from_cache": 1, "deserialized": 1, "executions": 3}


def test_engine_fields_carry_the_profile_and_static_ones_stay_as_they_were():
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    runner = TensorRTRunner("loop", "fp32", compute_capability=(8, 9))
    static = runner.engine_fields(seeds()[0])
    assert static["case"] == seeds()[0].to_json() and not {"profile", "shared"} & static.keys()
    dynamic = [runner.engine_fields(case) for case in dynamic_small()[:6]]
    assert all(fields == dynamic[0] for fields in dynamic)
    assert dynamic[0]["profile"] == dynamic_small()[0].profile.to_json()
    assert dynamic[0]["case"] == dynamic_small()[0].engine_case.to_json()


def test_the_tensorrt_runner_puts_cases_on_the_engines_the_build_check_builds():
    """`build-loop` on the CPU counts the engines `tensorrt-loop-*` builds: both group a run's cases alike."""
    if trt_api.load() is None:
        pytest.skip("neither tensorrt nor TensorRT-RTX is installed")
    from trt_cases.runners.build_check import BuildCheckRunner

    cases = seeds() + matrix() + dynamic_small()
    groupings = []
    for runner in (TensorRTRunner("loop", "fp32", compute_capability=(8, 9), share_engines=True),
                   BuildCheckRunner("loop", "fp32", share_engines=True)):
        runner.plan(cases)
        groups = {}
        for case in cases:
            groups.setdefault(runner.engine_key(case), []).append(case.id)
        groupings.append(sorted(groups.values()))
    assert groupings[0] == groupings[1]
    assert len(groupings[0]) < len(cases) / 3, "most cases share an engine"
