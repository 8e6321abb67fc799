"""An on-disk cache of serialized engines, so a warm run builds nothing.

A key hashes everything an engine depends on: the TensorRT flavour and version, the GPU's compute
capability, the network path, the precision, and the network's content (the case, or for engines
with weights as inputs only its shape signature, so one engine serves every weight set of that
shape). An entry holds a JSON header repeating the key's fields and a SHA-256 of the plan;
writes are atomic (a temporary file renamed into place). An entry that is corrupt, truncated or
written for another key is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

MAGIC = b"TRTRNNC1"


def cache_key(fields: dict) -> str:
    """A stable hex key for `fields` (a JSON-serialisable dict)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def shape_signature(case) -> dict:
    """What an engine with weights as inputs depends on: the case without its seed and values."""
    fields = case.to_json()
    for name in ("seed", "weight_scale", "lengths"):
        fields.pop(name)
    return fields


class EngineCache:
    """Plans on disk under `root`, one file per key."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.hits = self.misses = self.rejected = 0

    def _path(self, key: str) -> pathlib.Path:
        return self.root / f"{key}.engine"

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
