"""Shards: a deterministic partition of cases by case id, so a conformance run spreads over machines.

Shard `I/N` (1 <= I <= N) holds the cases whose id's SHA-1, read as a number, is `I-1` modulo N. The
same id lands in the same shard on every machine, Python process and ordering of the cases, and
the N shards together hold every case exactly once.
"""

from __future__ import annotations

import hashlib


def parse(spec: str) -> tuple[int, int]:
    """`"I/N"` -> (I, N); a clear ValueError naming the value and what is allowed otherwise."""
    index, sep, count = str(spec).partition("/")
    if not sep or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"--shard {spec!r}: expected I/N with whole numbers, e.g. 2/4")
    index, count = int(index), int(count)
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard {spec!r}: expected 1 <= I <= N and N >= 1")
    return index, count


def shard_of(case_id: str, count: int) -> int:
    """The shard (1..count) that holds `case_id`."""
    digest = hashlib.sha1(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest, "big") % count + 1


def select(cases, spec: str | None):
    """The cases of shard `spec` ("I/N"), in their order; all of them when `spec` is None."""
    if spec is None:
        return list(cases)
    index, count = parse(spec)
    return [case for case in cases if shard_of(case.id, count) == index]
