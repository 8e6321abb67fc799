"""The engine cache: hits, misses, atomic writes, and corrupt or foreign entries rebuilt, never trusted."""

import dataclasses

import pytest

from trt_cases import Case
from trt_cases.engine_cache import EngineCache, cache_key, shape_signature

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
