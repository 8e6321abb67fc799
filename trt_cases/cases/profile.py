"""An optimization profile (TensorRT's min, opt and max dims per network input) as a case-level value,
and the profile and run shapes of an IRNNv2 case built with dynamic batch and sequence dims.

A profile is plain data: frozen, JSON-able, checked on its own (`OptimizationProfile.check`) and against
a network's inputs (`trt_cases.networks.profiles`); `contains(shapes)` says why a run shape lies outside it.
Every error is one line naming the input and the dims.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .case import Case, Materials, _lengths, _round

FIELDS = ("min", "opt", "max")


def _dims(value, name, field) -> tuple:
    if not isinstance(value, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in value):
        raise ValueError(f"profile input {name!r}: {field} dims {value!r} are not a tuple of ints")
    if any(d < 0 for d in value):
        raise ValueError(f"profile input {name!r}: {field} dims {tuple(value)} have a negative dim")
    return tuple(value)


@dataclasses.dataclass(frozen=True)
class OptimizationProfile:
    """Per network input name, `(min, opt, max)` dims; the inputs in name order."""
    shapes: tuple  # ((name, (min, opt, max)), ...), sorted by name

    def __post_init__(self):
        shapes = dict(self.shapes) if not isinstance(self.shapes, dict) else self.shapes
        fixed = []
        for name in sorted(shapes):
            triple = shapes[name]
            if not isinstance(triple, (tuple, list)) or len(triple) != 3:
                raise ValueError(f"profile input {name!r}: expected (min, opt, max) dims; got {triple!r}")
            fixed.append((name, tuple(_dims(d, name, f) for d, f in zip(triple, FIELDS))))
        object.__setattr__(self, "shapes", tuple(fixed))
        self.check()

    @classmethod
    def of(cls, **shapes) -> "OptimizationProfile":
        """`OptimizationProfile.of(input=(min, opt, max), ...)`."""
        return cls(tuple(shapes.items()))

    def __getitem__(self, name) -> tuple:
        return dict(self.shapes)[name]

    @property
    def names(self) -> tuple:
        return tuple(name for name, _ in self.shapes)

    def check(self) -> None:
        """Raise ValueError (one line, the input and its dims) where ranks differ or min <= opt <= max fails."""
        for name, (lo, opt, hi) in self.shapes:
            if not len(lo) == len(opt) == len(hi):
                raise ValueError(f"profile input {name!r}: ranks differ: min {lo}, opt {opt}, max {hi}")
            for a, b, what in ((lo, opt, "min > opt"), (opt, hi, "opt > max")):
                if any(x > y for x, y in zip(a, b)):
                    raise ValueError(f"profile input {name!r}: {what} in some dim: min {lo}, opt {opt}, max {hi}")

    def contains(self, shapes: dict) -> str | None:
        """Why the run shape `shapes` (input name -> dims) lies outside this profile, or None if inside."""
        for name, dims in shapes.items():
            if name not in self.names:
                continue  # a static input: the network checks its dims
            lo, _, hi = self[name]
            dims = tuple(int(d) for d in dims)
            if len(dims) != len(lo):
                return f"input {name!r}: run dims {dims} have rank {len(dims)}; the profile's rank is {len(lo)}"
            if any(d < a or d > b for d, a, b in zip(dims, lo, hi)):
                return f"input {name!r}: run dims {dims} outside the profile: min {lo}, max {hi}"
        missing = [name for name in self.names if name not in shapes]
        if missing:
            return f"input {missing[0]!r}: no run dims given; the profile has min {self[missing[0]][0]}"
        return None

    @classmethod
    def covering(cls, profiles) -> "OptimizationProfile":
        """The smallest profile holding every one of `profiles` (same inputs and ranks): the least min and
        the greatest max per dim, opt the first profile's (TensorRT tunes for one shape)."""
        first, *rest = profiles
        for other in rest:
            if {n: len(t[0]) for n, t in other.shapes} != {n: len(t[0]) for n, t in first.shapes}:
                raise ValueError(f"profiles cover different inputs or ranks: {first.to_json()} and {other.to_json()}")
        shapes = []
        for name, (lo, opt, hi) in first.shapes:
            for other in rest:
                olo, _, ohi = other[name]
                lo, hi = tuple(map(min, lo, olo)), tuple(map(max, hi, ohi))
            shapes.append((name, (lo, opt, hi)))
        return cls(tuple(shapes))

    def to_json(self) -> dict:
        return {name: {f: list(d) for f, d in zip(FIELDS, triple)} for name, triple in self.shapes}

    @classmethod
    def from_json(cls, data: dict) -> "OptimizationProfile":
        return cls(tuple((name, tuple(tuple(dims[f]) for f in FIELDS)) for name, dims in data.items()))


def dynamic_inputs(case: Case) -> dict:
    """The dynamic network inputs of `case` and their dims with -1 where they vary (batch dims and S)."""
    nb = len(case.batch_dims)
    batch = (-1,) * nb
    dims = {"input": batch + (-1, case.data_length)}
    if case.seq_lengths:
        dims["seq_lengths"] = batch
    for name in ("hidden_state", "cell_state"):
        if getattr(case, name):
            dims[name] = batch + (case.layer_count * case.K, case.hidden_size)
    return dims


def max_batch_dims(case: Case) -> tuple:
    """Each batch dim's maximum: 2b + 1, twice the case's and odd, so that the largest batch is never a
    multiple of 8 (a vectorised kernel's remainder path runs) and the case's own batch lies strictly inside."""
    return tuple(2 * b + 1 for b in case.batch_dims)


def profile_for(case: Case) -> OptimizationProfile:
    """The profile of `case` built dynamic: batch dims from 1 to `max_batch_dims`, S from 1 to the case's
    `max_seq_length` (the bound the native IRNNv2Layer puts on S, kept on every path so that one profile
    serves all three), opt at the case's own shape, where TensorRT picks its tactics."""
    shapes = {}
    for name, dims in dynamic_inputs(case).items():
        tail = dims[len(case.batch_dims) + (1 if name == "input" else 0):]
        seq = {"input": ((1,), (case.max_seq_length,), (case.max_seq_length,))}.get(name, ((), (), ()))
        shapes[name] = ((1,) * len(case.batch_dims) + seq[0] + tail,
                        case.batch_dims + seq[1] + tail,
                        max_batch_dims(case) + seq[2] + tail)
    return OptimizationProfile(tuple(shapes.items()))


def run_shapes(case: Case) -> list:
    """`(batch_dims, S)` at which a dynamic engine of `case` runs: min, opt, max (a batch volume that is not a
    multiple of 8, see `max_batch_dims`), S=1 at the opt batch, batch 1 at the longest S, and the max batch
    at a middle S (a case without batch dims still runs at three sequence lengths)."""
    B, S, top = case.batch_dims, case.max_seq_length, max_batch_dims(case)
    shapes = [((1,) * len(B), 1), (B, S), (top, S), (B, 1), ((1,) * len(B), S), (top, (S + 1) // 2)]
    unique = []
    for shape in shapes:
        if shape not in unique:
            unique.append(shape)
    return unique


def materials_at(case: Case, m: Materials, batch_dims: tuple, S: int, seed: int = 0) -> Materials:
    """`m`'s weights and biases with a new input, lengths and states at `batch_dims` and sequence length `S`,
    drawn from `seed` and rounded to the case precision: the data of one execution of a dynamic engine."""
    rng = np.random.default_rng([case.seed, seed, S, *batch_dims])
    rnd = lambda shape, scale: _round(rng.uniform(-scale, scale, shape), case.precision)  # noqa: E731
    batch_dims = tuple(batch_dims)
    states = batch_dims + (case.layer_count * case.K, case.hidden_size)
    return Materials(rnd(batch_dims + (S, case.data_length), 1.0), m.weights, m.biases,
                     _lengths(rng, batch_dims, S, case.lengths) if case.seq_lengths else None,
                     rnd(states, 0.5) if case.hidden_state else None, rnd(states, 0.5) if case.cell_state else None)


def case_at(case: Case, batch_dims: tuple, S: int) -> Case:
    """`case` at another run shape (its reference then checks that shape's data)."""
    return dataclasses.replace(case, batch_dims=tuple(batch_dims), max_seq_length=S)


def feed_shapes(case: Case, batch_dims: tuple, S: int) -> dict:
    """The run shape (input name -> dims) of `case`'s dynamic inputs at `batch_dims` and `S`."""
    runs = tuple(batch_dims) + (S,)
    return {name: tuple(runs[i] if d == -1 else d for i, d in enumerate(dims))
            for name, dims in dynamic_inputs(case).items()}
