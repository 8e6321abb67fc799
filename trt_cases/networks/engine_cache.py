"""Caches of engines: serialized plans on disk (a warm run builds nothing), the builder's timing
cache beside them, and deserialised engines with their execution contexts kept in memory (a run
deserialises each engine once, however many inferences or weight sets it serves).

A key hashes everything an engine depends on: the TensorRT flavour and version, the GPU's compute
capability, the network path, the precision, and the network's content (the case, or for engines
with weights as inputs only its shape signature, so one engine serves every weight set of that
shape). An entry holds a JSON header repeating the key's fields and a SHA-256 of the plan;
writes are atomic (a temporary file renamed into place). An entry that is corrupt, truncated or
written for another key is rebuilt, never trusted. The timing cache is stored the same way
(suffix `.timing`, keyed by TensorRT and GPU), so a damaged one is ignored and started afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile
from collections import OrderedDict

MAGIC = b"TRTRNNC1"
DIRECTION_TAGS = {"UNIDIRECTION": "uni", "BIDIRECTION": "bi"}  # as in case ids


def cache_key(fields: dict) -> str:
    """A stable hex key for `fields` (a JSON-serialisable dict)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def shape_signature(case) -> dict:
    """What an engine with weights as inputs depends on: the case without its seed and values."""
    fields = case.to_json()
    for name in ("seed", "weight_scale", "lengths"):
        fields.pop(name)
    return fields


def with_profile(fields: dict, profile) -> dict:
    """`fields` with the engine's optimization profile (`cases.profile.OptimizationProfile`) added; a static
    engine's (profile None) fields are returned as they are, so its key does not change."""
    return fields if profile is None else {**fields, "profile": profile.to_json()}


def engine_structure(case, path: str, precision: str, typing: str, *, io: str = "network") -> str:
    """The fields that make a dynamic weights-as-inputs network's graph differ, as one readable key:
    op, direction, input mode, layers, H, E, the number of batch dims, which of lengths/h0/c0 are inputs,
    path, precision, typing and I/O. Two cases with one key run on one engine (whose profile covers both).
    Batch dims, S, seeds, values and the lengths' pattern are run-time data, not structure."""
    if path != "loop":
        raise ValueError(f"path={path!r}: a shared engine takes weights as inputs, which the loop path alone "
                         f"builds; allowed: loop")
    inputs = [tag for tag, on in (("lens", case.seq_lengths), ("h0", case.hidden_state), ("c0", case.cell_state)) if on]
    return "-".join([case.op.lower(), DIRECTION_TAGS[case.direction],
                     case.input_mode.lower(), f"L{case.layer_count}", f"H{case.hidden_size}", f"E{case.data_length}",
                     f"R{len(case.batch_dims)}", *inputs, path, precision, typing, f"io-{io}"])


class EngineCache:
    """Plans on disk under `root`, one file per key (`suffix` tells engines from timing caches)."""

    def __init__(self, root, suffix: str = ".engine"):
        self.root, self.suffix = pathlib.Path(root), suffix
        self.hits = self.misses = self.rejected = 0

    def _path(self, key: str) -> pathlib.Path:
        return self.root / f"{key}{self.suffix}"

    def load(self, fields: dict) -> bytes | None:
        """The cached plan for `fields`, or None (missing, corrupt or foreign entries count as misses)."""
        path = self._path(cache_key(fields))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        plan = _decode(data, fields)
        if plan is None:
            self.rejected += 1
            self.misses += 1
            return None
        self.hits += 1
        return plan

    def store(self, fields: dict, plan: bytes) -> None:
        """Write the entry atomically: readers see the old file or the whole new one."""
        self.root.mkdir(parents=True, exist_ok=True)
        header = json.dumps({"fields": fields, "sha256": hashlib.sha256(plan).hexdigest(), "size": len(plan)}).encode()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + len(header).to_bytes(4, "little") + header + plan)
            os.replace(tmp, self._path(cache_key(fields)))
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise

    def get_or_build(self, fields: dict, build) -> tuple[bytes, bool]:
        """The plan for `fields` and whether it came from the cache; `build()` makes it on a miss."""
        plan = self.load(fields)
        if plan is not None:
            return plan, True
        plan = build()
        self.store(fields, plan)
        return plan, False


class TimingCacheFile:
    """The builder's serialized timing cache for one TensorRT and GPU (`fields`), kept under `root`.

    `load()` gives the bytes or None (missing or damaged: the builder starts an empty cache);
    `store(data)` replaces the file atomically.
    """

    def __init__(self, root, fields: dict):
        self.entries, self.fields = EngineCache(root, suffix=".timing"), {"kind": "timing-cache", **fields}

    def load(self) -> bytes | None:
        return self.entries.load(self.fields)

    def store(self, data: bytes) -> None:
        self.entries.store(self.fields, bytes(data))


class LoadedEngine:
    """A deserialised engine, its execution context and its I/O tensors (`[(name, is_input, shape, dtype)]`)."""

    __slots__ = ("engine", "context", "tensors")

    def __init__(self, engine, context, tensors):
        self.engine, self.context, self.tensors = engine, context, tensors

    def release(self) -> None:
        """Drop the context before the engine it belongs to, as TensorRT requires."""
        self.context = None
        self.engine = None


class LoadedEngines:
    """Deserialised engines and their contexts, at most `capacity`, least recently used evicted first.

    Keyed like the disk cache (`cache_key(fields)`), so a weights-as-inputs sweep of one shape
    deserialises one engine and creates one context for all its weight sets. `deserialize(plan)`
    returns an engine (or raises); `describe(engine)` its I/O tensors. Counters say what happened.
    """

    def __init__(self, deserialize, describe=lambda engine: None, capacity: int = 16):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"kept_engines={capacity!r}; allowed: a whole number >= 1")
        self.deserialize, self.describe, self.capacity = deserialize, describe, capacity
        self.entries: OrderedDict[str, LoadedEngine] = OrderedDict()
        self.deserializations = self.contexts = self.evictions = self.reuses = 0

    def get(self, fields: dict, plan) -> LoadedEngine:
        """The loaded engine for `fields`; on a miss `plan()` gives the serialized engine to deserialise."""
        key = cache_key(fields)
        if key in self.entries:
            self.entries.move_to_end(key)
            self.reuses += 1
            return self.entries[key]
        engine = self.deserialize(plan())
        self.deserializations += 1
        context = engine.create_execution_context()
        if context is None:
            raise RuntimeError("create_execution_context returned None (out of device memory?)")
        self.contexts += 1
        entry = LoadedEngine(engine, context, self.describe(engine))
        self.entries[key] = entry
        while len(self.entries) > self.capacity:
            _, evicted = self.entries.popitem(last=False)
            evicted.release()
            self.evictions += 1
        return entry

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        """Release every engine and context (the runner's `__exit__`)."""
        while self.entries:
            _, entry = self.entries.popitem()
            entry.release()


def _decode(data: bytes, fields: dict) -> bytes | None:
    """The plan in `data` if the entry is intact and was written for `fields`, else None."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        return None
    size = int.from_bytes(data[len(MAGIC):len(MAGIC) + 4], "little")
    start = len(MAGIC) + 4
    try:
        header = json.loads(data[start:start + size])
    except (ValueError, UnicodeDecodeError):
        return None
    plan = data[start + size:]
    if not isinstance(header, dict) or header.get("fields") != json.loads(json.dumps(fields)):
        return None
    if header.get("size") != len(plan) or header.get("sha256") != hashlib.sha256(plan).hexdigest():
        return None
    return plan
