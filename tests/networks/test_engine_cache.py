"""The engine cache: hits, misses, atomic writes, corrupt or foreign entries rebuilt, never trusted; the timing cache."""

import dataclasses
from types import SimpleNamespace

import pytest

from trt_cases import Case
from trt_cases.networks import trt_api
from trt_cases.networks.engine import build_plan
from trt_cases.networks.engine_cache import EngineCache, LoadedEngines, TimingCacheFile, cache_key, shape_signature

FIELDS = {"tensorrt": "TensorRT 10.13", "compute_capability": [9, 0], "path": "loop", "precision": "fp32",
          "case": Case("LSTM").to_json()}


def builder(plan=b"plan-bytes"):
    calls = []

    def build():
        calls.append(1)
        return plan
    return build, calls


def test_miss_then_hit(tmp_path):
    cache = EngineCache(tmp_path)
    build, calls = builder()
    assert cache.get_or_build(FIELDS, build) == (b"plan-bytes", False)
    assert cache.get_or_build(FIELDS, build) == (b"plan-bytes", True)
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize("field, value", [("tensorrt", "TensorRT 10.14"), ("compute_capability", [8, 9]),
                                          ("path", "onnx"), ("precision", "fp16")])
def test_every_field_is_part_of_the_key(tmp_path, field, value):
    cache = EngineCache(tmp_path)
    cache.store(FIELDS, b"old")
    build, calls = builder(b"new")
    assert cache.get_or_build({**FIELDS, field: value}, build) == (b"new", False)
    assert calls == [1]


def corrupt(path):
    data = path.read_bytes()
    path.write_bytes(data[:-3] + b"xyz")


def truncate(path):
    path.write_bytes(path.read_bytes()[:20])


def foreign(path):
    """An entry for another key renamed onto this one's file name."""
    other = EngineCache(path.parent / "other")
    other.store({**FIELDS, "path": "native"}, b"foreign-plan")
    path.write_bytes(next((path.parent / "other").glob("*.engine")).read_bytes())


@pytest.mark.parametrize("damage", [corrupt, truncate, foreign, lambda p: p.write_bytes(b"")])
def test_damaged_entries_are_rebuilt(tmp_path, damage):
    cache = EngineCache(tmp_path)
    cache.store(FIELDS, b"good-plan")
    damage(tmp_path / f"{cache_key(FIELDS)}.engine")
    build, calls = builder(b"rebuilt")
    assert cache.get_or_build(FIELDS, build) == (b"rebuilt", False)
    assert calls == [1] and cache.rejected == 1
    assert EngineCache(tmp_path).load(FIELDS) == b"rebuilt"


def test_writes_are_atomic_and_leave_no_temporaries(tmp_path):
    cache = EngineCache(tmp_path)

    def failing_build():
        raise RuntimeError("builder failed")
    with pytest.raises(RuntimeError, match="builder failed"):
        cache.get_or_build(FIELDS, failing_build)
    cache.store(FIELDS, b"x" * 1000)
    assert [p.name for p in tmp_path.iterdir()] == [f"{cache_key(FIELDS)}.engine"]


def test_shape_signature_ignores_values_but_not_shapes():
    case = Case("GRU", hidden_size=8, seed=1)
    assert shape_signature(case) == shape_signature(dataclasses.replace(case, seed=2, weight_scale=0.5))
    assert shape_signature(case) != shape_signature(dataclasses.replace(case, hidden_size=9))


# The builder's timing cache and optimisation level (trt_cases.networks.engine.build_plan), with a stand-in builder config.

class FakeTimingCache:
    def __init__(self, data):
        self.data = data

    def serialize(self):
        return self.data + b"+timings"


class FakeConfig:
    """An IBuilderConfig that accepts timing caches it can parse (bytes starting b'TC') and records what it was given."""

    builder_optimization_level = 3

    def __init__(self, deprecated=False):
        self.deprecated, self.caches, self.set = deprecated, [], []

    def set_flag(self, flag):
        pass

    clear_flag = set_flag

    def create_timing_cache(self, data):
        if data and not data.startswith(b"TC"):
            raise RuntimeError("corrupt timing cache")
        self.caches.append(bytes(data))
        return FakeTimingCache(bytes(data) or b"TC")

    def set_timing_cache(self, cache, ignore_mismatch):
        if self.deprecated:
            import warnings
            warnings.warn("Timing cache operations are no-ops in TensorRT-RTX.", DeprecationWarning)
        self.set.append((cache, ignore_mismatch))
        return True


def fake_net(config):
    builder = SimpleNamespace(create_builder_config=lambda: config, build_serialized_network=lambda network, cfg: b"plan")
    return SimpleNamespace(builder=builder, network=None, case=Case("LSTM"), path="loop", logger=None)


needs_tensorrt = pytest.mark.skipif(trt_api.load() is None, reason="neither tensorrt nor TensorRT-RTX is installed")


@needs_tensorrt
def test_timing_cache_is_loaded_before_and_saved_after_the_build(tmp_path):
    timing = TimingCacheFile(tmp_path, {"tensorrt": "TensorRT 10.13", "compute_capability": [9, 0]})
    config = FakeConfig()
    assert build_plan(fake_net(config), optimization_level=5, timing_cache=timing)[0] == b"plan"
    assert config.builder_optimization_level == 5 and config.caches == [b""] and config.set[0][1] is False
    assert timing.load() == b"TC+timings"
    second = FakeConfig()
    build_plan(fake_net(second), timing_cache=timing)
    assert second.caches == [b"TC+timings"] and second.builder_optimization_level == 3, "level left at TensorRT's default"


@needs_tensorrt
def test_a_timing_cache_the_builder_rejects_is_replaced_by_an_empty_one(tmp_path):
    timing = TimingCacheFile(tmp_path, {"tensorrt": "TensorRT 10.13", "compute_capability": [9, 0]})
    timing.store(b"garbage that is not a timing cache")
    config = FakeConfig()
    build_plan(fake_net(config), timing_cache=timing)
    assert config.caches == [b""] and timing.load() == b"TC+timings"


def test_a_damaged_timing_cache_file_is_ignored(tmp_path):
    timing = TimingCacheFile(tmp_path, {"tensorrt": "TensorRT 10.13", "compute_capability": [9, 0]})
    timing.store(b"TC-good")
    (path,) = tmp_path.glob("*.timing")
    path.write_bytes(path.read_bytes()[:-2] + b"xx")
    assert timing.load() is None
    other_gpu = TimingCacheFile(tmp_path, {"tensorrt": "TensorRT 10.13", "compute_capability": [8, 9]})
    assert other_gpu.load() is None


@needs_tensorrt
def test_a_timing_cache_declared_a_no_op_is_not_kept(tmp_path):
    timing = TimingCacheFile(tmp_path, {"tensorrt": "TensorRT-RTX 1.7", "compute_capability": [8, 9]})
    build_plan(fake_net(FakeConfig(deprecated=True)), timing_cache=timing)  # warnings are errors: none escapes
    assert timing.load() is None and not list(tmp_path.glob("*.timing"))


def test_loaded_engines_capacity_is_checked():
    with pytest.raises(ValueError, match=r"kept_engines=0; allowed: a whole number >= 1"):
        LoadedEngines(lambda plan: None, capacity=0)
