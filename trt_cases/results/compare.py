"""Compare a backend's outputs with the reference's: pure functions, no backend knowledge.

The tolerances come from the precision model (`trt_cases.cases.precision`); `compare` only applies them.
"""

from __future__ import annotations

import dataclasses
import shlex

import numpy as np

from ..cases.case import Case
from ..cases.precision import (EMULATION, MEAN_FACTOR, ROUNDING, SENSITIVITY_FACTOR, TOLERANCE, abs_error,
                               emulation_error, sensitivity)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The verdict for one case on one backend; truthy when it passed."""
    case_id: str
    backend: str
    precision: str
    passed: bool
    max_abs: float
    max_rel: float
    allowed: float
    scale: float
    worst_output: str
    worst_index: tuple
    observed: float
    expected: float
    note: str = ""
    mean_abs: float = 0.0
    mean_allowed: float = float("inf")  # inf: no systematic bound at this precision
    worst_timestep: int | None = None  # the worst element's timestep, where it lies in the output sequence
    model: str = ""  # the model file a model node's case comes from (its id is found only with it)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def min_tolerance(self) -> float:
        """The smallest TOLERANCE entry (relative to `scale`) with which this comparison would pass."""
        return self.max_abs / self.scale

    def message(self) -> str:
        verdict = "agrees" if self.passed else "DISAGREES"
        lines = [
            f"{self.backend} {verdict} with the reference on case {self.case_id}",
            f"  worst: {self.worst_output}{list(self.worst_index)}"
            + (f" (timestep {self.worst_timestep})" if self.worst_timestep is not None else "")
            + f": observed {self.observed!r}, expected {self.expected!r}",
            f"  max abs error {self.max_abs:.3e} (allowed {self.allowed:.3e}), max rel error {self.max_rel:.3e},"
            f" min tolerance to pass {self.min_tolerance:.3e} x scale {self.scale:.3g}",
        ]
        if np.isfinite(self.mean_allowed):
            lines.append(f"  mean abs error {self.mean_abs:.3e} (allowed {self.mean_allowed:.3e}:"
                         f" {MEAN_FACTOR:g} x the mean error of a faithful {self.precision} emulation)")
        if self.note:
            lines.append(f"  note: {self.note}")
        where = f" --set {shlex.quote(self.model)}" if self.model else ""
        lines.append(f"  re-run: python -m trt_cases check {self.case_id}{where} --backend {self.backend}")
        return "\n".join(lines)


def compare(case: Case, expected, actual, backend: str, precision: str) -> Comparison:
    """Diff `actual` against `expected` (both IRNNv2-layout tuples) at the tolerance of `precision`."""
    if len(actual) != len(expected):
        raise ValueError(f"{backend} returned {len(actual)} outputs for case {case.id}; expected {len(expected)}")
    if precision not in TOLERANCE:
        raise ValueError(f"precision={precision!r}; allowed: {', '.join(TOLERANCE)}")
    scale = max([1.0] + [float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0)) for e in expected])
    floor = TOLERANCE[precision] * scale
    spread = SENSITIVITY_FACTOR * sensitivity(case, ROUNDING[precision])
    allowed, note = max(floor, spread), ""
    if spread > floor:
        note = (f"tolerance from the reference's sensitivity to {precision} rounding "
                f"({spread / SENSITIVITY_FACTOR:.3e} x {SENSITIVITY_FACTOR:g}; recurrent spectral radius {case.recurrent_radius:g})")
        if spread >= 2 * scale:
            note += f"; chaotic at {precision}: values are not comparable, only shapes and finiteness are checked"
    worst = (-1.0, 0, ())
    max_rel, errors = 0.0, []
    for k, (e, a) in enumerate(zip(expected, actual)):
        e, a = np.asarray(e, dtype=np.float64), np.asarray(a, dtype=np.float64)
        if e.shape != a.shape:
            raise ValueError(f"{backend} output {case.output_names[k]} has shape {a.shape} for case {case.id}; expected {e.shape}")
        err = abs_error(e, a)
        errors.append(err.ravel())
        index = np.unravel_index(int(np.argmax(err)), err.shape)
        if err[index] > worst[0]:
            worst = (float(err[index]), k, tuple(int(i) for i in index))
        with np.errstate(all="ignore"):  # err / tiny overflows to inf where the reference is exactly 0
            rel = np.where(err == 0, 0.0, err / np.maximum(np.abs(e), np.finfo(float).tiny))
        max_rel = max(max_rel, float(np.max(rel, initial=0.0)))
    max_abs, k, index = worst
    errors = np.concatenate(errors)
    mean_abs = float(np.mean(errors)) if errors.size else 0.0
    mean_allowed = float("inf")
    if precision in EMULATION and spread < 2 * scale:
        mean_allowed = MEAN_FACTOR * emulation_error(case, precision, _mean_magnitude(expected))
    passed = bool(max_abs <= allowed and mean_abs <= mean_allowed)
    if max_abs <= allowed and not passed:
        note = (note + "; " if note else "") + (
            f"systematic error: mean abs error {mean_abs:.3e} > {mean_allowed:.3e} ({MEAN_FACTOR:g} x the mean error "
            f"of a faithful {precision} emulation), though the max is within its tolerance")
    return Comparison(case.id, backend, precision, passed, max_abs, max_rel, allowed, scale,
                      case.output_names[k], index, float(actual[k][index]), float(expected[k][index]), note,
                      mean_abs, mean_allowed, index[case.time_axis] if k == 0 and index else None,
                      getattr(case, "model", ""))


def _mean_magnitude(expected) -> float:
    values = np.concatenate([np.ravel(np.asarray(e, dtype=np.float64)) for e in expected])
    values = values[np.isfinite(values)]
    return float(np.mean(np.abs(values))) if values.size else 0.0


def timestep_errors(case, expected, actual) -> list:
    """The largest error of the output sequence (`output`, ONNX `Y`) at each timestep (NaN counts as infinite), as a run records it."""
    errors = np.abs(np.asarray(actual[0], dtype=float) - expected[0])
    per_step = np.max(np.moveaxis(np.nan_to_num(errors, nan=np.inf), case.time_axis, 0).reshape(errors.shape[case.time_axis], -1),
                      axis=1)
    return [float(v) for v in per_step]


def side_by_side(case: Case, results: dict, outputs: dict) -> str:
    """Every backend's comparison on one case, plus whether the GPU backends agree with each other.

    `results` maps backend name -> Comparison against the reference; `outputs` maps backend name ->
    its outputs. When two backends agree with each other and both disagree with the reference,
    the line says so: the reference (or the case's conditioning) is then the first suspect.
    """
    lines = [f"case {case.id}: every backend against the reference"]
    for name, result in results.items():
        lines.append(f"  {name:32} {'pass' if result else 'FAIL'}  max abs {result.max_abs:.3e}"
                     f"  allowed {result.allowed:.3e}  worst {result.worst_output}{list(result.worst_index)}")
    names = [n for n in outputs if n in results]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if results[a] or results[b]:
                continue
            diff = max(float(np.max(np.abs(x - y))) for x, y in zip(outputs[a], outputs[b]))
            if diff <= max(results[a].allowed, results[b].allowed):
                lines.append(f"  {a} and {b} agree with each other (max abs {diff:.3e}) and not with the "
                             "reference: suspect the reference or the case's conditioning first")
    return "\n".join(lines)
