"""Compare a backend's outputs with the reference's: pure functions, no backend knowledge.

Two bounds, both must hold. The first bounds the maximum error and follows the case's
conditioning, not one fixed number. In absolute terms, for a case compared at a backend precision:

    allowed = max(TOLERANCE[precision] * max(1, max |expected|),        the floor, one table
                  SENSITIVITY_FACTOR * sensitivity(case, ROUNDING[precision]))

`sensitivity` re-runs the float64 reference with every input, weight and state perturbed by one
rounding unit of the precision (random signs) and takes the largest change of any output: how
far a correct implementation of that precision may legitimately land. For a well-conditioned case
it is far below the floor; for a chaotic one (recurrent spectral radius well above 1, long S) it
reaches the size of the outputs themselves, and the comparison says that values are not
comparable. A comparison reports the max abs and rel error, the worst output, index and timestep,
and the smallest floor that would have passed. NaN or Inf where the reference is finite never passes.

The second sees small systematic errors that stay under the floor (an activation 2e-5 off shifts
every output a little; the maximum hides it, the mean does not). For precisions with a faithful
emulation (EMULATION: float32), the reference is re-run computing in that dtype on the same data;
its mean abs departure from the float64 reference is the error a correct engine shows on this case:

    unit         = max(mean |emulated - expected|, ROUNDING[precision] * max(1, mean |expected|))
    mean_allowed = MEAN_FACTOR * unit,   compared with mean |actual - expected| over every element

Measured by `benchmarks/tolerance_check.py` over matrix, edge and 1000 hypothesis cases (units,
mean error / unit): torch CPU float32 at most 1.3, onnxruntime 10.3, cuDNN fp32 on an H100 76
(its tanh RNNs carry a systematic error of their own, see the README). An engine whose sigmoid or
tanh is off by a relative 2e-5 (`--backend emulated-sigmoid-2e-5`, `emulated-tanh-2e-5`) reaches
403 and 419. MEAN_FACTOR sits between, at 128: cuDNN's worst is 0.6 of the bound, and the 2e-5
sigmoid and tanh still fail 7 and 9 of the 28 default cases, 11 and 32 of `matrix`. Cases whose
values are not comparable (chaotic at the precision) skip it; precisions without an emulation (tf32, float16, bfloat16, float64) have only
the first bound.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .case import Case, Materials
from .runners.reference_runner import run_reference

OUTPUT_NAMES = ("output", "hidden", "cell")

# The floor: relative tolerance per unit of output magnitude, keyed by the precision a backend
# computes in. Measured worst cases (max abs error / max(1, max |expected|)) over seeds+matrix+edge:
# float64 oracles 4e-15 (5e-14 on chaotic-tanh); onnxruntime float32 5.5e-6 (saturated GRU);
# cuDNN on an H100 against float64, per the README's GPU table. float16 and bfloat16: the floor is
# ~4x the worst of the typed simulations (each tensor of the fp16/bf16 network rounded to its type),
# 1.33e-3 and 1.03e-2 over seeds+matrix+edge on the loop, drop-in and ONNX paths, in both I/O forms
# (1.21e-3 and 8.2e-3 on random:300), measured by `python benchmarks/simulated_precision.py --path
# loop drop-in onnx`; cuDNN fp16 on an H100: 8.2e-4 on matrix.
TOLERANCE = {"float64": 1e-10, "float32": 5e-5, "tf32": 5e-3, "float16": 5e-3, "bfloat16": 4e-2}
ROUNDING = {"float64": 2.0 ** -53, "float32": 2.0 ** -24, "tf32": 2.0 ** -11, "float16": 2.0 ** -11,
            "bfloat16": 2.0 ** -8}
SENSITIVITY_FACTOR = 10.0
# The systematic bound: precision -> the NumPy dtype of its faithful emulation, and the factor over
# the emulation's mean error (see the module docstring for the measurements behind 128).
EMULATION = {"float32": np.float32}
MEAN_FACTOR = 128.0


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

    def __bool__(self) -> bool:
        return self.passed

    @property
    def min_tolerance(self) -> float:
        """The smallest TOLERANCE entry (relative to `scale`) with which this comparison would pass."""
        return self.max_abs / self.scale

    @property
    def worst_timestep(self) -> int | None:
        return self.worst_index[-2] if self.worst_output == "output" else None

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
        lines.append(f"  re-run: python -m trt_cases check {self.case_id} --backend {self.backend}")
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
            raise ValueError(f"{backend} output {OUTPUT_NAMES[k]} has shape {a.shape} for case {case.id}; expected {e.shape}")
        err = _error(e, a)
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
                      OUTPUT_NAMES[k], index, float(actual[k][index]), float(expected[k][index]), note,
                      mean_abs, mean_allowed)


def _mean_magnitude(expected) -> float:
    values = np.concatenate([np.ravel(np.asarray(e, dtype=np.float64)) for e in expected])
    values = values[np.isfinite(values)]
    return float(np.mean(np.abs(values))) if values.size else 0.0


@functools.lru_cache(maxsize=4096)
def emulated_error(case: Case, precision: str) -> float:
    """Mean abs departure of the reference computed in `EMULATION[precision]` from the float64 reference."""
    base = run_reference(case)
    emulated = run_reference(case, dtype=EMULATION[precision])
    with np.errstate(all="ignore"):
        errors = np.concatenate([_error(np.asarray(b), np.asarray(e, dtype=np.float64)).ravel()
                                 for b, e in zip(base, emulated)])
    return float(np.mean(errors)) if errors.size else 0.0


def emulation_error(case: Case, precision: str, mean_magnitude: float) -> float:
    """The unit of the systematic bound: the emulation's mean error, at least one rounding unit of the mean output."""
    return max(emulated_error(case, precision), ROUNDING[precision] * max(1.0, mean_magnitude))


def timestep_errors(case, expected, actual) -> list:
    """The largest error of the `output` tensor at each timestep (NaN counts as infinite), as a run records it."""
    errors = np.abs(np.asarray(actual[0], dtype=float) - expected[0])
    per_step = np.max(np.moveaxis(np.nan_to_num(errors, nan=np.inf), -2, 0).reshape(case.max_seq_length, -1), axis=1)
    return [float(v) for v in per_step]


def _error(e, a):
    """Elementwise abs error; a non-finite mismatch (NaN or Inf where the other differs) is infinite."""
    same_nonfinite = ~np.isfinite(e) & ((e == a) | (np.isnan(e) & np.isnan(a)))
    with np.errstate(invalid="ignore"):
        err = np.abs(e - a)
    err = np.where(same_nonfinite, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


@functools.lru_cache(maxsize=4096)
def sensitivity(case: Case, eps: float, seed: int = 0) -> float:
    """Max change of any reference output when every datum is perturbed by relative `eps`."""
    m = case.materialise()
    rng = np.random.default_rng(seed)
    nudge = lambda v: None if v is None else v * (1 + eps * rng.choice((-1.0, 1.0), np.shape(v)))  # noqa: E731
    perturbed = Materials(nudge(m.input), {k: nudge(v) for k, v in m.weights.items()},
                          {k: nudge(v) for k, v in m.biases.items()}, m.seq_lengths,
                          nudge(m.hidden_state), nudge(m.cell_state))
    base, moved = run_reference(case, m), run_reference(case, perturbed)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(base, moved))


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
