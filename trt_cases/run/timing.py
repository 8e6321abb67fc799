"""Repeated inference timing for `run --timing-repeats N`: warm-up excluded, median kept.

One sample per case is noise: the first inference includes warm-up (allocations, engine
deserialisation, caches) and a loaded machine adds jitter. After the first (warm-up) inference of a
case, a runner is timed N more times; the record keeps every sample and their median, so that
`compare --timing` can tell a slower backend from a noisy machine.
"""

from __future__ import annotations

import statistics
import time


def samples(infer, case, repeats: int) -> list[float] | None:
    """Seconds of `repeats` further calls of `infer(case)`; None when no repeats were asked for."""
    if not repeats:
        return None
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        infer(case)
        seconds.append(time.perf_counter() - start)
    return seconds


def median(timed: list[float] | None, first: float) -> float:
    """The run time to record: the median of the repeated samples, else the one (warm-up) measurement."""
    return statistics.median(timed) if timed else first
