"""The precision model: how far a correct implementation of each precision may land from the float64
reference on a case. Facts about cases and precisions, used by networks, runners, trace and compare.

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

import functools

import numpy as np


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


@functools.lru_cache(maxsize=4096)
def emulated_error(case, precision: str) -> float:
    """Mean abs departure of the reference computed in `EMULATION[precision]` from the float64 reference."""
    base = case.reference()
    emulated = case.reference(dtype=EMULATION[precision])
    with np.errstate(all="ignore"):
        errors = np.concatenate([abs_error(np.asarray(b), np.asarray(e, dtype=np.float64)).ravel()
                                 for b, e in zip(base, emulated)])
    return float(np.mean(errors)) if errors.size else 0.0


def emulation_error(case, precision: str, mean_magnitude: float) -> float:
    """The unit of the systematic bound: the emulation's mean error, at least one rounding unit of the mean output."""
    return max(emulated_error(case, precision), ROUNDING[precision] * max(1.0, mean_magnitude))


@functools.lru_cache(maxsize=4096)
def sensitivity(case, eps: float, seed: int = 0) -> float:
    """Max change of any reference output when every datum is perturbed by relative `eps`."""
    m = case.materialise()
    rng = np.random.default_rng(seed)
    nudge = lambda v: None if v is None else v * (1 + eps * rng.choice((-1.0, 1.0), np.shape(v)))  # noqa: E731
    base, moved = case.reference(m), case.reference(case.perturbed(m, nudge))
    return max(float(np.max(np.abs(a - b))) for a, b in zip(base, moved))


def abs_error(e, a):
    """Elementwise abs error; a non-finite mismatch (NaN or Inf where the other differs) is infinite."""
    same_nonfinite = ~np.isfinite(e) & ((e == a) | (np.isnan(e) & np.isnan(a)))
    with np.errstate(invalid="ignore"):
        err = np.abs(e - a)
    err = np.where(same_nonfinite, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)
