"""What a pytest session compared, kept as a run keeps it: the records and outputs of `run.run_case`.

At the end of the session the records go to `--results-json` as `python -m trt_cases run` writes them, and a
`summary`: plain data (compared and passed per backend and precision, skip reasons per backend), so
pytest-xdist workers can send theirs to the controller, which adds them up for the end-of-run lines and the
GPU gate.
"""

from __future__ import annotations

from ..results.records import Record
from ..run.gate import compared
from ..runners.registry import is_gpu


class RecordLog:
    """The records of this session, one per (case, backend) (a repeat keeps the last), and their outputs."""

    def __init__(self):
        self.by_pair, self.outputs, self.engines = {}, {}, {}

    def add_engine_counts(self, backend: str, counts: dict) -> None:
        """A runner's engine counts (built, loaded from the cache, deserialised), added up per backend."""
        mine = self.engines.setdefault(backend, {})
        for name, value in counts.items():
            mine[name] = mine.get(name, 0) + value

    def add(self, record: Record, outputs: dict | None = None) -> None:
        self.by_pair[(record.case, record.backend)] = record
        self.outputs.update(outputs or {})

    @property
    def records(self) -> list[Record]:
        return list(self.by_pair.values())

    def summary(self) -> dict:
        """Plain data: `counts` [[backend, precision, passed, compared], ...] and `skips` {backend: {reason: n}}."""
        counts, skips = {}, {}
        for r in self.records:
            if compared(r):
                passed, total = counts.get((r.backend, r.precision), (0, 0))
                counts[(r.backend, r.precision)] = (passed + (r.status in ("passed", "xpass")), total + 1)
            elif r.status == "skipped":
                skips.setdefault(r.backend, {}).setdefault(r.reason, 0)
                skips[r.backend][r.reason] += 1
        return {"counts": [[b, p, passed, total] for (b, p), (passed, total) in counts.items()], "skips": skips,
                "engines": self.engines}


def add_summaries(summaries) -> dict:
    """Several `summary()` results (one per pytest-xdist worker) added up."""
    counts, skips, engines = {}, {}, {}
    for summary in summaries:
        for backend, found in summary.get("engines", {}).items():
            mine = engines.setdefault(backend, {})
            for name, value in found.items():
                mine[name] = mine.get(name, 0) + value
        for backend, precision, passed, total in summary.get("counts", []):
            before = counts.get((backend, precision), (0, 0))
            counts[(backend, precision)] = (before[0] + passed, before[1] + total)
        for backend, reasons in summary.get("skips", {}).items():
            for reason, count in reasons.items():
                skips.setdefault(backend, {}).setdefault(reason, 0)
                skips[backend][reason] += count
    return {"counts": [[b, p, passed, total] for (b, p), (passed, total) in counts.items()], "skips": skips,
            "engines": engines}


def summary_lines(summary) -> list[str]:
    """What ran on which backend and precision, and what was skipped and why: the end-of-run lines."""
    lines = [f"ran      {backend} ({precision}): {total} cases, {passed} passed"
             for backend, precision, passed, total in summary["counts"]]
    lines += [f"skipped  {backend}: {count} x {reason}"
              for backend, reasons in summary["skips"].items() for reason, count in reasons.items()]
    compared = {backend: total for backend, _, _, total in summary["counts"]}
    lines += [f"engines  {backend}: " + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
              + f" for {compared.get(backend, 0)} comparisons"
              for backend, counts in summary.get("engines", {}).items() if any(counts.values())]
    return lines


def gpu_gate(summary) -> list[str]:
    """Empty when a GPU backend compared at least one case; else one line per GPU backend saying why it did not."""
    if any(is_gpu(backend) and total for backend, _, _, total in summary["counts"]):
        return []
    lines = [("no GPU backend compared any case with the reference; the GPU conformance gate fails "
              "(--allow-no-gpu-comparisons accepts a run that expects none)")]
    reasons = {b: r for b, r in summary["skips"].items() if is_gpu(b)}
    lines += [f"  {backend}: {'; '.join(sorted(r, key=r.get, reverse=True))}" for backend, r in reasons.items()]
    if not reasons:
        lines.append("  no GPU backend recorded a reason for skipping (were all GPU comparison tests deselected?)")
    return lines
