"""An optimization profile (TensorRT's min, opt and max dims per network input) as a case-level value.

A profile is plain data: frozen, JSON-able, checked on its own (`OptimizationProfile.check`) and against
a network's inputs (`trt_cases.networks.profiles`); `contains(shapes)` says why a run shape lies outside it.
Every error is one line naming the input and the dims.
"""

from __future__ import annotations

import dataclasses

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
