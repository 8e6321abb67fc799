"""A run's verdict from its records: the exit status and the lines explaining it.

A check that compared nothing is a failure, not a pass: skipped and built records compare no numbers (a
build check proves a network builds, not what it computes), nor does a known builder failure (xfail) or one
that now builds (xpass).
"""

from __future__ import annotations

from ..results.records import FAILING, Record

NUMBERS_COMPARED = ("passed", "failed", "xfail", "xpass")


def compared(record: Record) -> bool:
    """Whether `record` compared numbers with the reference."""
    return record.status in NUMBERS_COMPARED and record.kind != "build-check"


def gate(records: list[Record], named=(), allow_no_comparison: bool = False) -> tuple[int, list[str]]:
    """1 when any record failed, errored or passed while listed as a known mismatch (xpass); else 3 when no
    record compared numbers, unless `allow_no_comparison`; else 3 when a backend in `named` (the user asked for
    it by name) could not run any case; else 0."""
    lines = []
    for name in dict.fromkeys(named):
        own = [r for r in records if r.backend == name]
        if own and all(r.status == "skipped" for r in own):
            lines.append(f"error: backend {name} was named with --backend but could not run: {own[0].reason}")
    count = sum(compared(r) for r in records)
    if not count:
        built = sum(r.status == "built" for r in records)
        lines.append(f"{'note' if allow_no_comparison else 'error'}: nothing compared: no backend compared any case with "
                     f"the reference ({len(records)} records: {built} built, {len(records) - built} skipped or errored)")
    if any(r.status in FAILING for r in records):
        return 1, lines
    if (not count and not allow_no_comparison) or any(line.startswith("error: backend") for line in lines):
        return 3, lines
    return 0, lines
