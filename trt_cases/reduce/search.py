"""`reduce`: shrink a failing case, one kept step at a time, to a 1-minimal case that fails the same way.

A case fails the same way when its run on the backend has the same `Signature`: the same status, the same
failing outputs (an output fails when its largest error is over the record's allowed error; "mean error"
when only the systematic bound failed), and, for a finding or a named reading, the same reading text; for an
error, the same exception type. From the failing case, the single steps of `steps.steps` are tried in order;
the first that keeps the failure is taken and the search starts again from it. It ends when no single step
keeps the failure: the case is then 1-minimal, verified by the last pass (every step from it tried).
Each distinct case runs once (`runs` counts them). Ctrl-C ends the search with the smallest failing case
so far (`interrupted`, not verified minimal).

`_attempt` is the one place that runs a case on a backend.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from ..cases.families import case_from_json
from ..cases.precision import abs_error
from ..results.records import Record, output_key, records_of
from . import steps as shrinking

FAILS = ("failed", "error", "xfail")  # with no known-mismatch list: a disagreement, an error, a known builder failure


class DoesNotFail(Exception):
    """The case does not fail on the backend: nothing to reduce."""


class CannotRun(Exception):
    """The backend cannot run the case (its reason)."""


class Signature(NamedTuple):
    """How a run fails: status, the failing outputs, and the reading, finding or exception type."""
    status: str
    outputs: tuple
    detail: str

    def line(self) -> str:
        parts = [self.status] + ([", ".join(self.outputs)] if self.outputs else []) + ([self.detail] if self.detail else [])
        return ": ".join(parts)


class Taken(NamedTuple):
    """One kept step: its name, the case it gave, and the failure there in words."""
    step: str
    case: object
    error: str


@dataclasses.dataclass(frozen=True)
class Reduction:
    """The smallest failing case found (`case`), the chain from `start`, and the runs it took."""
    start: object
    case: object
    backend: str
    signature: Signature
    steps: tuple  # Taken, first to last; the first is ("start", start, its failure)
    runs: int
    minimal: bool  # verified 1-minimal: no single step from `case` keeps the failure
    tried: int  # single steps tried from `case` in the last pass
    interrupted: bool = False

    def to_json(self) -> dict:
        return {"backend": self.backend, "start": self.start.id, "minimal": self.case.id,
                "minimal_case": self.case.to_json(), "signature": self.signature.line(),
                "steps": [{"step": t.step, "case": t.case.id, "error": t.error} for t in self.steps],
                "runs": self.runs, "one_minimal": self.minimal, "interrupted": self.interrupted,
                "sizes": {"before": shrinking.sizes(self.start), "after": shrinking.sizes(self.case)}}


def reduce_case(case, backend: str, *, on_step=None, **run_options) -> Reduction:
    """The smallest case that still fails on `backend` as `case` does. `on_step(taken)` is called as each step is
    kept. Raises DoesNotFail or CannotRun before shrinking; `run_options` go to the run (`precision`)."""
    seen = {}

    def outcome(candidate):
        key = shrinking._key(candidate)
        if key not in seen:
            seen[key] = _outcome(candidate, backend, **run_options)
        return seen[key]

    ran, signature, error = outcome(case)
    if signature is None:
        raise DoesNotFail(f"case {case.id} does not fail on {backend} ({error}): nothing to reduce")
    chain = [Taken("start", ran, error)]
    if on_step:
        on_step(chain[0])
    current, tried, minimal, interrupted = ran, 0, False, False
    try:
        while True:
            tried = 0
            for step in shrinking.steps(current):
                tried += 1
                shrunk, found, error = outcome(step.case)
                if found == signature and shrinking._key(shrunk) != shrinking._key(current):
                    chain.append(Taken(step.name, shrunk, error))
                    if on_step:
                        on_step(chain[-1])
                    current = shrunk
                    break
            else:
                minimal = True
                break
    except KeyboardInterrupt:
        interrupted = True
    return Reduction(ran, current, backend, signature, tuple(chain), len(seen), minimal, tried, interrupted)


def _outcome(case, backend, **run_options):
    """`(case as run, signature or None, the outcome in words)`; CannotRun when the backend skips it."""
    record, outputs = _attempt(case, backend, **run_options)
    if record.status == "skipped":
        raise CannotRun(f"{backend} cannot run {case.id}: {record.reason}")
    ran = case_from_json(record.spec) if record.spec and record.case != case.id else case  # the backend's precision
    found = signature_of(record, outputs)
    return ran, found, describe(record, found)


def _attempt(case, backend: str, precision: str | None = None) -> tuple[Record, dict]:
    """Run `case` on `backend` (no known-mismatch list: the raw verdict): its record and outputs."""
    from ..run import run
    from ..runners.registry import select_backends

    (record,), outputs = run([case], select_backends([backend], None, [precision] if precision else None))
    return record, outputs


def signature_of(record, outputs: dict) -> Signature | None:
    """How `record` (a `Record` or its dict) fails, from the outputs its run stored; None when it does not fail."""
    r = record if isinstance(record, Record) else records_of({"records": [record]})[0]
    if r.status not in FAILS:
        return None
    if r.status == "error" or r.max_abs is None:
        detail = r.reason.split(":", 1)[0] if r.status == "error" else r.reason
        if "; outputs not comparable" in detail:  # a reading named before the shapes, which shrink
            detail = detail.split("; outputs not comparable")[0]
        return Signature(r.status, (), detail)
    failing = []
    prefix = output_key("reference", r.case, "")
    for name in [key[len(prefix):] for key in outputs if key.startswith(prefix)]:
        expected, actual = outputs.get(output_key("reference", r.case, name)), outputs.get(output_key(r.backend, r.case, name))
        if expected is None or actual is None:
            continue
        error = abs_error(np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64))
        if error.size and not float(np.max(error)) <= r.allowed:
            failing.append(name)
    return Signature(r.status, tuple(failing) or ("mean error",), r.reason)


def describe(record, signature) -> str:
    """The outcome of one run in a line: the failing outputs and the worst element, or the reason."""
    if signature is None:
        return record.status
    if record.max_abs is None:
        return f"{record.status}: {record.reason}"[:200]
    return (f"{signature.line()}; worst {record.worst_output}{record.worst_index}: observed {record.observed:.6g}, "
            f"expected {record.expected:.6g} (|error| {record.max_abs:.3e} > allowed {record.allowed:.3e})"
            if record.max_abs > record.allowed else f"{signature.line()} (max |error| {record.max_abs:.3e} within "
            f"{record.allowed:.3e})")
