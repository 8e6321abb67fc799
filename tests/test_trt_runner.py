"""The TensorRT runner without a GPU: typing per TensorRT, kept engines, bf16 I/O, builder options, bad input.

Engines and contexts here are stand-ins that count calls (no CUDA, no TensorRT runtime needed);
the disk cache is seeded with stand-in plans so nothing is built. Typing expectations come from
NVIDIA's TensorRT 10 -> 11 migration guide: 8.6 to 10.x have `BuilderFlag.FP16`/`BF16` (weak
typing); 11.x and TensorRT-RTX removed them, and every network is strongly typed.
"""

import dataclasses
import types

import numpy as np
import pytest

from trt_cases import cli
from trt_cases.networks import trt_api
from trt_cases.networks.engine_cache import LoadedEngines
from trt_cases.runners import trt_runner
from trt_cases.runners.trt_runner import TensorRTRunner, bf16_bits, bf16_values, typing_for
from trt_cases.cases.sets import matrix, seeds


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
