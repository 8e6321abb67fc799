"""The pytest suite's comparisons, kept as a run keeps them: the same records, statuses and outputs.

Tests compare case by case and append each comparison, with its outputs, to a `ComparisonLog`.
At the end of the session it becomes results records and `outputs.npz` content as
`python -m trt_cases run` writes them (xfail or xpass for a known mismatch, per-timestep errors, the
raw outputs and the reference's), and a `summary`: plain data (compared and passed per backend and
precision, skip reasons per backend), so pytest-xdist workers can send theirs to the controller,
which adds them up for the end-of-run lines and the GPU gate.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import records as results
from ..cases.families import case_from_id
from .compare import timestep_errors

KINDS = (("simulated-", "simulated"), ("tensorrt-", "tensorrt"), ("torch-cuda", "cudnn"))


def kind_of(backend: str) -> str:
    return next((kind for prefix, kind in KINDS if backend.startswith(prefix)), "oracle")


def is_gpu(backend: str) -> bool:
    """A backend that runs on the GPU: TensorRT engines and cuDNN."""
    return kind_of(backend) in ("tensorrt", "cudnn")


class ComparisonLog(list):
    """Comparisons made in this session (a list of `compare.Comparison`), their outputs, and skip reasons."""

    def __init__(self):
        super().__init__()
        self.details = []  # (case, expected, actual, known entry) per comparison, beside the list
        self.skips = {}
        self.skipped_cases = []

    def append(self, comparison, *, case=None, expected=None, actual=None, known=None):
        """Log one comparison; with the outputs compared, they go to outputs.npz; `known`: its known-mismatch entry."""
        super().append(comparison)
        self.details.append((case, expected, actual, known))

    def skipped(self, backend, reason, case=None):
        self.skips.setdefault(backend, {}).setdefault(reason, 0)
        self.skips[backend][reason] += 1
        if case is not None:
            self.skipped_cases.append((backend, reason, case))

    def records(self):
        """`(records, outputs)` for `results.write`, one record per (case, backend); a repeat keeps the last."""
        records, outputs = {}, {}
        for comparison, (case, expected, actual, known) in zip(self, self.details):
            case = case if case is not None else case_from_id(comparison.case_id)
            record = results.record_of(comparison, case, kind_of(comparison.backend))
            if known:
                record = dataclasses.replace(record, status="xpass" if comparison else "xfail", reason=known["reason"])
            if actual is not None and expected is not None:
                record.timestep_errors = timestep_errors(case, expected, actual)
                for name, value in zip(case.output_names, actual):
                    outputs[f"{comparison.backend}/{case.id}/{name}"] = np.asarray(value)
                for name, value in zip(case.output_names, expected):
                    outputs[f"reference/{case.id}/{name}"] = np.asarray(value)
            records[(record.case, record.backend)] = record
        for backend, reason, case in self.skipped_cases:
            records.setdefault((case.id, backend), results.Record(
                case=case.id, backend=backend, kind=kind_of(backend), precision="", status="skipped", reason=reason,
                spec=case.to_json()))
        return list(records.values()), outputs

    def summary(self) -> dict:
        """Plain data: `counts` [[backend, precision, passed, compared], ...] and `skips` {backend: {reason: n}}."""
        counts = {}
        for comparison in self:
            passed, total = counts.get((comparison.backend, comparison.precision), (0, 0))
            counts[(comparison.backend, comparison.precision)] = (passed + bool(comparison), total + 1)
        return {"counts": [[b, p, passed, total] for (b, p), (passed, total) in counts.items()],
                "skips": {b: dict(r) for b, r in self.skips.items()}}


def add_summaries(summaries) -> dict:
    """Several `summary()` results (one per pytest-xdist worker) added up."""
    counts, skips = {}, {}
    for summary in summaries:
        for backend, precision, passed, total in summary.get("counts", []):
            before = counts.get((backend, precision), (0, 0))
            counts[(backend, precision)] = (before[0] + passed, before[1] + total)
        for backend, reasons in summary.get("skips", {}).items():
            for reason, count in reasons.items():
                skips.setdefault(backend, {}).setdefault(reason, 0)
                skips[backend][reason] += count
    return {"counts": [[b, p, passed, total] for (b, p), (passed, total) in counts.items()], "skips": skips}


def summary_lines(summary) -> list[str]:
    """What ran on which backend and precision, and what was skipped and why: the end-of-run lines."""
    lines = [f"ran      {backend} ({precision}): {total} cases, {passed} passed"
             for backend, precision, passed, total in summary["counts"]]
    lines += [f"skipped  {backend}: {count} x {reason}"
              for backend, reasons in summary["skips"].items() for reason, count in reasons.items()]
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
