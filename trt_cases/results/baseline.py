"""The upgrade check: compare a CURRENT run with a BASELINE run and list what changed.

Runs are matched by their cases: a (case id, backend) pair present in both runs is compared,
however the case sets were spelled (`./good.json` or `good.json`, `pytest` or `seeds, edge`).

Regressions (exit 1):
- new failure: a pair that passed, built or was an expected failure now fails or errors;
- skipped -> failed: a pair that was skipped now fails or errors;
- new case failing: a pair only in the current run fails or errors;
- error growth: a passing pair's max abs error grew more than ERROR_GROWTH times and to more than
  ERROR_FLOOR of its tolerance (growth far below the tolerance is rounding noise; a pair whose
  values are "not comparable", a chaotic case, is not a check of values, so neither is its growth);
- vanished: a pair that ran before is skipped now, or is absent although the current run ran both
  its case (on another backend) and its backend (on other cases);
- partial run: the current run was interrupted;
- slower run, only with `timing=True`: see `_slower`.
Listed, not regressions: still failing (failing in both runs), fixed, known mismatch now passes,
now runs (skipped -> passing), new case, only in baseline (its case or backend was not selected).
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import NamedTuple

from .records import FAILING

ERROR_GROWTH = 10.0  # x: a passing case's error may grow this much before it counts
ERROR_FLOOR = 0.01  # growth only counts once the error reaches 1% of the case's tolerance
TIME_GROWTH = 1.5  # x: median run time
RUN_MARGIN_S = 0.010  # ... and by at least 10 ms per case run
MIN_SAMPLES = 3  # repeated timings a record needs before its timing is compared
OK = ("passed", "built", "xfail")
ORDER = ("partial run", "new failure", "skipped -> failed", "new case failing", "vanished", "error growth",
         "slower run", "still failing", "fixed", "known mismatch now passes", "now runs", "new case",
         "only in baseline")


class Change(NamedTuple):
    kind: str  # one of ORDER
    case: str
    backend: str
    detail: str
    regression: bool


@dataclasses.dataclass
class Diff:
    """What changed from a baseline run to a current one."""
    changes: list[Change]
    compared: list[tuple]  # the (case, backend) pairs present in both runs
    timing: str  # what the timing comparison did, or why it did not run

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]

    def exit_status(self) -> int:
        return 1 if self.regressions else 0


def compare_runs(baseline: dict, current: dict, *, timing: bool = False) -> Diff:
    """Every change from `baseline` to `current` (two `results.read` documents); ValueError if they share no pair."""
    before = {(r["case"], r["backend"]): r for r in baseline["records"]}
    after = {(r["case"], r["backend"]): r for r in current["records"]}
    both = [key for key in before if key in after]
    if not both:
        raise ValueError(f"the runs have no (case, backend) pair in common (baseline: {len(before)} records, sets "
                         f"{baseline.get('sets')}; current: {len(after)} records, sets {current.get('sets')}); nothing to compare")
    if all(before[k]["status"] == "skipped" or after[k]["status"] == "skipped" for k in both):
        raise ValueError(f"no (case, backend) pair ran in both runs: the {len(both)} pairs they share were skipped in "
                         "one or the other; nothing was compared")
    changes = [Change("partial run", "*", "*", f"the {which} run was interrupted; pairs it did not reach are missing",
                      which == "current") for which, doc in (("baseline", baseline), ("current", current)) if doc.get("partial")]
    changes += _one_sided(before, after)
    for key in both:
        changes += _status_change(key, before[key], after[key]) + _error_growth(key, before[key], after[key])
    timing_note = "timing not compared (pass --timing; it needs runs made with --timing-repeats N)"
    if timing:
        slower, timing_note = _timing(before, after, both)
        changes += slower
    changes.sort(key=lambda c: (not c.regression, ORDER.index(c.kind), c.backend, c.case))
    return Diff(changes, both, timing_note)


def _one_sided(before, after):
    cases_now, backends_now = {k[0] for k in after}, {k[1] for k in after}
    changes = []
    for key, old in before.items():
        if key in after or old["status"] == "skipped":
            continue
        if key[0] in cases_now and key[1] in backends_now:
            changes.append(Change("vanished", *key, f"was {old['status']}; absent from the current run, which ran "
                                                    "this case and this backend", True))
        else:
            changes.append(Change("only in baseline", *key, f"was {old['status']}; not selected in the current run", False))
    for key, new in after.items():
        if key in before or new["status"] == "skipped":
            continue
        failing = new["status"] in FAILING
        changes.append(Change("new case failing" if failing else "new case", *key, f"{new['status']}: {_figures(new)}", failing))
    return changes


def _status_change(key, old, new):
    was, now = old["status"], new["status"]
    if was not in ("skipped",) and now == "skipped":
        return [Change("vanished", *key, f"was {was}; skipped now: {new.get('reason', '')}", True)]
    if was == "xfail" and now == "xpass":
        return [Change("known mismatch now passes", *key, f"listed as known, now within tolerance: {_figures(new)}", False)]
    if was in OK and now in FAILING:
        return [Change("new failure", *key, f"{was} -> {now}: {_figures(new)}", True)]
    if was == "skipped" and now in FAILING:
        return [Change("skipped -> failed", *key, f"skipped before ({old.get('reason', '')}); now {now}: {_figures(new)}", True)]
    if was in FAILING and now in FAILING:
        return [Change("still failing", *key, f"{was} -> {now}: {_figures(new)}", False)]
    if was in FAILING and now in OK:
        return [Change("fixed", *key, f"{was} -> {now}", False)]
    if was == "skipped" and now in OK:
        return [Change("now runs", *key, f"skipped before; now {now}", False)]
    return []


def _error_growth(key, old, new):
    if old["status"] != "passed" or new["status"] != "passed" or old.get("max_abs") is None \
            or "not comparable" in (new.get("note") or ""):  # a chaotic case's values are not a check, nor their growth
        return []
    a, b, allowed = old["max_abs"], new["max_abs"], new.get("allowed") or 0.0
    if b > ERROR_GROWTH * a and b > ERROR_FLOOR * allowed:
        return [Change("error growth", *key, f"max abs error {a:.3e} -> {b:.3e} ({b / a if a else float('inf'):.1f}x; "
                                             f"tolerance {allowed:.3e})", True)]
    return []


def _timing(before, after, both):
    """Slower runs among pairs with repeated samples in both runs, and a line saying what was compared."""
    sampled = [k for k in both if len(before[k].get("run_seconds_samples") or ()) >= MIN_SAMPLES
               and len(after[k].get("run_seconds_samples") or ()) >= MIN_SAMPLES]
    if not sampled:
        lacking = [name for name, side in (("baseline", before), ("current run", after))
                   if not any(len(side[k].get("run_seconds_samples") or ()) >= MIN_SAMPLES for k in both)]
        return [], (f"timing not compared: the {' and the '.join(lacking) or 'runs'} {'have' if len(lacking) > 1 else 'has'} "
                    f"no pair with {MIN_SAMPLES}+ repeated timings in common (make both runs with --timing-repeats N, N >= {MIN_SAMPLES})")
    slower = [c for c in (_slower(k, before[k], after[k]) for k in sampled) if c]
    return slower, (f"timing compared on {len(sampled)} of {len(both)} pairs (median of repeated timings, warm-up excluded; "
                    f"slower = median over {TIME_GROWTH}x and {RUN_MARGIN_S * 1e3:.0f} ms above the baseline's, and every "
                    "current sample above every baseline sample)")


def _slower(key, old, new):
    """Slower only when the medians moved beyond growth and margin AND the sample ranges do not overlap."""
    a, b = old["run_seconds_samples"], new["run_seconds_samples"]
    ma, mb = statistics.median(a), statistics.median(b)
    if mb > TIME_GROWTH * ma and mb - ma > RUN_MARGIN_S and min(b) > max(a):
        return Change("slower run", *key, f"median run {ma:.4f} -> {mb:.4f} s ({mb / ma:.1f}x; samples "
                                          f"{min(a):.4f}..{max(a):.4f} -> {min(b):.4f}..{max(b):.4f} s)", True)
    return None


def _figures(record):
    if record.get("max_abs") is None:
        return record.get("reason", "")
    return f"max abs error {record['max_abs']:.3e}, allowed {record['allowed']:.3e}"
