"""The upgrade check: compare a CURRENT run with a BASELINE run and list what changed.

Regressions (non-zero exit): a case that passed (or was an expected failure) and now fails or
errors; a passing case whose max abs error grew by more than ERROR_GROWTH times and to more than
ERROR_FLOOR of its tolerance (growth among errors far below the tolerance is rounding noise);
a case that ran before and vanished or is now skipped; run or build time grown by more than
TIME_GROWTH times and by more than the absolute margins below. Also listed, not regressions:
fixed cases and listed known mismatches that now pass.
"""

from __future__ import annotations

from typing import NamedTuple

from .results import FAILING

ERROR_GROWTH = 10.0  # x: a passing case's error may grow this much before it counts
ERROR_FLOOR = 0.01  # growth only counts once the error reaches 1% of the case's tolerance
TIME_GROWTH = 1.5  # x: run or build time
RUN_MARGIN_S = 0.010  # ... and by at least 10 ms per case run
BUILD_MARGIN_S = 1.0  # ... or 1 s per engine build


class Change(NamedTuple):
    kind: str  # new failure, error growth, vanished, slower run, slower build, fixed, known mismatch now passes
    case: str
    backend: str
    detail: str
    regression: bool


def compare_runs(baseline: dict, current: dict) -> list[Change]:
    """Every change from `baseline` to `current` (two `results.read` documents of the same case sets)."""
    if sorted(baseline["sets"]) != sorted(current["sets"]):
        raise ValueError(f"the runs used different case sets: baseline {baseline['sets']}, current {current['sets']}; "
                         "compare runs of the same sets")
    before = {(r["case"], r["backend"]): r for r in baseline["records"]}
    after = {(r["case"], r["backend"]): r for r in current["records"]}
    changes = []
    for key, old in before.items():
        new = after.get(key)
        ran_before = old["status"] not in ("skipped",)
        if new is None or (ran_before and new["status"] == "skipped"):
            if ran_before:
                why = "absent from the current run" if new is None else f"skipped now: {new['reason']}"
                changes.append(Change("vanished", *key, f"was {old['status']}; {why}", True))
            continue
        changes += _status_change(key, old, new) + _error_growth(key, old, new) + _slower(key, old, new)
    return changes


def _status_change(key, old, new):
    was_ok, now_failing = old["status"] in ("passed", "built", "xfail"), new["status"] in FAILING
    if was_ok and now_failing and not (old["status"] == "xfail" and new["status"] == "xpass"):
        return [Change("new failure", *key, f"{old['status']} -> {new['status']}: {_figures(new)}", True)]
    if old["status"] in FAILING and new["status"] in ("passed", "built"):
        return [Change("fixed", *key, f"{old['status']} -> {new['status']}", False)]
    if new["status"] == "xpass":
        return [Change("known mismatch now passes", *key, f"listed as known, now within tolerance: {_figures(new)}", False)]
    return []


def _error_growth(key, old, new):
    if old["status"] != "passed" or new["status"] != "passed" or old.get("max_abs") is None:
        return []
    a, b, allowed = old["max_abs"], new["max_abs"], new.get("allowed") or 0.0
    if b > ERROR_GROWTH * a and b > ERROR_FLOOR * allowed:
        return [Change("error growth", *key, f"max abs error {a:.3e} -> {b:.3e} ({b / a if a else float('inf'):.1f}x; "
                                             f"tolerance {allowed:.3e})", True)]
    return []


def _slower(key, old, new):
    changes = []
    for field, margin, kind in (("run_seconds", RUN_MARGIN_S, "slower run"), ("build_seconds", BUILD_MARGIN_S, "slower build")):
        a, b = old.get(field), new.get(field)
        if a and b and b > TIME_GROWTH * a and b - a > margin:
            changes.append(Change(kind, *key, f"{field} {a:.3f} -> {b:.3f} s ({b / a:.1f}x)", True))
    return changes


def _figures(record):
    if record.get("max_abs") is None:
        return record.get("reason", "")
    return f"max abs error {record['max_abs']:.3e}, allowed {record['allowed']:.3e}"


def summary(changes) -> str:
    """Text for the terminal and CI logs, regressions first."""
    if not changes:
        return "no changes: every case that ran before ran again with the same verdict, error and timing class"
    lines = []
    for regression in (True, False):
        for c in sorted((c for c in changes if c.regression == regression), key=lambda c: (c.kind, c.backend, c.case)):
            lines.append(f"{'REGRESSION' if regression else 'note':10} {c.kind:26} {c.backend:28} {c.case}: {c.detail}")
    count = sum(c.regression for c in changes)
    lines.append(f"{count} regression(s), {len(changes) - count} other change(s)")
    return "\n".join(lines)
