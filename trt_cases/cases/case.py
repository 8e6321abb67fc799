"""A conformance case: a frozen, JSON-serialisable description with a readable id, and its data.

Describing a case is cheap; `materialise()` draws its input, weights and states deterministically
from the seed. Weights make every gate distinguishable (independent draws per gate, per matrix)
and the recurrence contractive: each gate's R is scaled to spectral radius `0.9 * weight_scale`,
so with the default scale no float32 implementation is pushed into chaos. Values are rounded to
the case's precision, so that an engine of that precision sees exactly the reference's numbers.
"""

from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

import numpy as np

from reference import GATES, RNNDirection, RNNInputMode, RNNOperation, rnn_v2
from reference.enums import parse
from reference.validate import positive_int

from .profile import OptimizationProfile

PRECISIONS = ("fp32", "fp16", "bf16", "tf32")
OUTPUT_NAMES = ("output", "hidden", "cell")  # an IRNNv2Layer's outputs, in the order every backend returns them
LENGTHS = {"ragged": "lens", "ones": "lens1", "full": "lensS"}  # pattern -> id tag
RECURRENT_RADIUS = 0.9  # spectral radius of every R at weight_scale 1
_DIRECTION_TAGS = {"UNIDIRECTION": "uni", "BIDIRECTION": "bi"}


class Materials(NamedTuple):
    """A case's data, in `IRNNv2Layer` terms; float64 values exactly representable in its precision."""
    input: np.ndarray  # (N..., S, E)
    weights: dict  # (layer_index, RNNGateType, is_w) -> (H, E) | (H, K*H) | (H, H)
    biases: dict  # (layer_index, RNNGateType, is_w) -> (H,)
    seq_lengths: np.ndarray | None  # (N...) int32
    hidden_state: np.ndarray | None  # (N..., L*K, H)
    cell_state: np.ndarray | None  # (N..., L*K, H)


@dataclasses.dataclass(frozen=True)
class Case:
    op: str
    layer_count: int = 1
    hidden_size: int = 4
    max_seq_length: int = 3
    data_length: int = 4
    batch_dims: tuple = (2,)
    direction: str = "UNIDIRECTION"
    input_mode: str = "LINEAR"
    seq_lengths: bool = False
    hidden_state: bool = False
    cell_state: bool = False
    precision: str = "fp32"
    seed: int = 0
    weight_scale: float = 1.0
    lengths: str = "ragged"  # with seq_lengths: "ragged" (1 and S both occur), "ones" (all 1), "full" (all S)
    # A dynamic engine's optimization profile (`cases.dynamic`): `batch_dims` and `max_seq_length` are then the
    # shape this case runs at, inside the profile; None: a static engine of the case's own shape.
    profile: OptimizationProfile | None = None
    chunk: int | None = None  # streamed: the steps per call, states carried between calls (`cases.chunks`)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "op", parse(RNNOperation, self.op, "op").name)
        set_(self, "direction", parse(RNNDirection, self.direction, "direction").name)
        set_(self, "input_mode", parse(RNNInputMode, self.input_mode, "input_mode").name)
        for name in ("layer_count", "hidden_size", "max_seq_length", "data_length"):
            positive_int(getattr(self, name), name)
        if not isinstance(self.batch_dims, (tuple, list)):
            raise TypeError(f"batch_dims={self.batch_dims!r}: expected a tuple of ints >= 1")
        set_(self, "batch_dims", tuple(positive_int(d, "batch_dims") for d in self.batch_dims))
        for name in ("seq_lengths", "hidden_state", "cell_state"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r}: expected True or False (whether it is set)")
        if self.lengths not in LENGTHS:
            raise ValueError(f"lengths={self.lengths!r}; allowed: {', '.join(LENGTHS)}")
        if not self.seq_lengths:
            set_(self, "lengths", "ragged")  # meaningless without seq_lengths: one canonical value
        check_data_fields(self)
        if self.input_mode == "SKIP" and self.data_length != self.hidden_size:
            raise ValueError(
                f"input_mode=SKIP requires data length E == hidden_size; got E={self.data_length}, "
                f"hidden_size={self.hidden_size}"
            )
        if self.cell_state and self.op != "LSTM":
            raise ValueError(f"cell_state is set but op={self.op}: only LSTM has a cell state")
        if self.profile is not None:
            self._check_profile()

    def _check_profile(self) -> None:
        """A profile given as JSON becomes an `OptimizationProfile`; its `input` must have this case's rank and E,
        and the run shape must lie inside it."""
        if isinstance(self.profile, dict):
            object.__setattr__(self, "profile", OptimizationProfile.from_json(self.profile))
        if not isinstance(self.profile, OptimizationProfile):
            raise TypeError(f"profile={self.profile!r}: expected an OptimizationProfile, its JSON, or None")
        if "input" not in self.profile.names:
            raise ValueError(f"profile {self.profile.to_json()}: it has no 'input'; a dynamic case's input varies")
        opt = self.profile["input"][1]
        if len(opt) != len(self.batch_dims) + 2 or opt[-1] != self.data_length:
            raise ValueError(f"profile input 'input': opt dims {opt} do not fit batch dims {self.batch_dims}, S and "
                             f"E={self.data_length}")
        reason = self.profile.contains(self.run_shape)
        if reason:
            raise ValueError(f"case at batch dims {self.batch_dims}, S={self.max_seq_length}: {reason}")

    time_axis = -2  # of `output` (N..., S, K*H)

    @property
    def run_shape(self) -> dict | None:
        """A dynamic case's network inputs -> the dims it runs at (None for a static case)."""
        if self.profile is None:
            return None
        states = self.batch_dims + (self.layer_count * self.K, self.hidden_size)
        shapes = {"input": self.batch_dims + (self.max_seq_length, self.data_length), "seq_lengths": self.batch_dims,
                  "hidden_state": states, "cell_state": states}
        return {name: shapes[name] for name in self.profile.names}

    @property
    def engine_case(self) -> "Case":
        """The case at its profile's opt shape: what its dynamic engine is built from (itself when static)."""
        if self.profile is None:
            return self
        opt = self.profile["input"][1]
        return dataclasses.replace(self, batch_dims=tuple(opt[:-2]), max_seq_length=opt[-2])

    @property
    def output_names(self) -> tuple:
        """The outputs this case's layer has, in the order every backend returns them: `cell` for LSTM only."""
        return OUTPUT_NAMES if self.op == "LSTM" else OUTPUT_NAMES[:2]

    @property
    def K(self) -> int:
        return 2 if self.direction == "BIDIRECTION" else 1

    @property
    def recurrent_radius(self) -> float:
        """Spectral radius of every recurrent matrix; above 1 a long sequence may be chaotic."""
        return RECURRENT_RADIUS * self.weight_scale

    @property
    def id(self) -> str:
        parts = [self.op.lower(), _DIRECTION_TAGS[self.direction], self.input_mode.lower(),
                 f"L{self.layer_count}", f"H{self.hidden_size}", f"S{self.max_seq_length}",
                 f"E{self.data_length}", "B" + "x".join(map(str, self.batch_dims))]
        parts += [tag for tag, on in ((LENGTHS[self.lengths], self.seq_lengths), ("h0", self.hidden_state),
                                      ("c0", self.cell_state)) if on]
        parts += [f"chunk{self.chunk}"] if self.chunk else []
        parts.append(self.precision)
        if self.weight_scale != 1.0:
            short = f"{self.weight_scale:g}"
            parts.append(f"w{short if float(short) == self.weight_scale else repr(self.weight_scale)}")
        parts.append(f"s{self.seed}")
        if self.profile is not None:
            parts.append("dyn" + "-".join("x".join(map(str, dims[:-1])) for dims in self.profile["input"]))
        return "-".join(parts)

    def to_json(self) -> dict:
        return drop_whole_run({**dataclasses.asdict(self), "batch_dims": list(self.batch_dims),
                               "profile": None if self.profile is None else self.profile.to_json()})

    @classmethod
    def from_json(cls, data: dict) -> "Case":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"case JSON has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
        return cls(**{**data, "batch_dims": tuple(data.get("batch_dims", (2,)))})

    @classmethod
    def from_id(cls, case_id: str) -> "Case":
        """Parse an id made by `.id` back into the case."""
        m = _ID.fullmatch(case_id)
        if not m:
            raise ValueError(f"case id {case_id!r} is not of the form op-dir-mode-L#-H#-S#-E#-B#x#[-lens|-lens1|-lensS][-h0][-c0][-chunk#]-precision[-w#]-s#, e.g. lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17")
        g = m.groupdict()
        return cls(op=g["op"], direction={v: k for k, v in _DIRECTION_TAGS.items()}[g["dir"]], input_mode=g["mode"],
                   layer_count=int(g["L"]), hidden_size=int(g["H"]), max_seq_length=int(g["S"]),
                   data_length=int(g["E"]), batch_dims=tuple(int(b) for b in g["B"].split("x") if b),
                   seq_lengths=bool(g["lens"]), lengths={t: n for n, t in LENGTHS.items()}.get(g["lens"], "ragged"),
                   hidden_state=bool(g["h0"]), cell_state=bool(g["c0"]),
                   precision=g["prec"], weight_scale=float(g["w"]) if g["w"] else 1.0, seed=int(g["seed"]),
                   chunk=int(g["chunk"]) if g["chunk"] else None, profile=_profile_of_tag(g))

    def reference(self, materials: Materials | None = None, dtype=np.float64) -> tuple:
        """The reference's outputs (on `materials` if given, else this case's own data), computed in `dtype`:
        float64, the ground truth, or float32, a faithful float32 implementation."""
        m = self.materialise() if materials is None else materials
        return rnn_v2(m.input, self.op, self.layer_count, self.hidden_size, m.weights, m.biases,
                      max_seq_length=self.max_seq_length, direction=self.direction, input_mode=self.input_mode,
                      seq_lengths=m.seq_lengths, hidden_state=m.hidden_state, cell_state=m.cell_state, dtype=dtype)

    def perturbed(self, m: Materials, nudge) -> Materials:
        """`m` with `nudge` applied to every real-valued datum (input, weights, biases, states), lengths kept."""
        return Materials(nudge(m.input), {k: nudge(v) for k, v in m.weights.items()},
                         {k: nudge(v) for k, v in m.biases.items()}, m.seq_lengths,
                         nudge(m.hidden_state), nudge(m.cell_state))

    def materialise(self) -> Materials:
        """Deterministic data for this case (same seed, same numbers, on every machine). A dynamic case has the
        weights of its profile's opt shape and its own data at its run shape (`materials_at`)."""
        if self.profile is not None:
            static = dataclasses.replace(self.engine_case, profile=None)
            return materials_at(self, static.materialise(), self.batch_dims, self.max_seq_length)
        rng = np.random.default_rng(self.seed)
        op = RNNOperation[self.op]
        L, H, S, E, K = self.layer_count, self.hidden_size, self.max_seq_length, self.data_length, self.K
        rnd = lambda shape, scale: _round(rng.uniform(-scale, scale, shape), self.precision)  # noqa: E731
        x = rnd(self.batch_dims + (S, E), 1.0)
        weights, biases = {}, {}
        for index in range(L * K):
            cols = E if index < K else K * H
            for gate in GATES[op]:
                if not (index < K and self.input_mode == "SKIP"):
                    weights[(index, gate, True)] = rnd((H, cols), self.weight_scale / np.sqrt(cols))
                weights[(index, gate, False)] = _round(_radius_scaled(rng, H, self.recurrent_radius), self.precision)
                biases[(index, gate, True)] = rnd((H,), 0.5 * self.weight_scale)
                biases[(index, gate, False)] = rnd((H,), 0.5 * self.weight_scale)
        lengths = _lengths(rng, self.batch_dims, S, self.lengths) if self.seq_lengths else None
        h0 = rnd(self.batch_dims + (L * K, H), 0.5) if self.hidden_state else None
        c0 = rnd(self.batch_dims + (L * K, H), 0.5) if self.cell_state else None
        return Materials(x, weights, biases, lengths, h0, c0)


_ID = re.compile(
    r"(?P<op>relu|tanh|lstm|gru)-(?P<dir>uni|bi)-(?P<mode>linear|skip)-L(?P<L>\d+)-H(?P<H>\d+)-S(?P<S>\d+)"
    r"-E(?P<E>\d+)-B(?P<B>(?:\d+(?:x\d+)*)?)(?:-(?P<lens>lens|lens1|lensS))?(?P<h0>-h0)?(?P<c0>-c0)?(?:-chunk(?P<chunk>\d+))?"
    r"-(?P<prec>fp32|fp16|bf16|tf32)(?:-w(?P<w>[0-9.e+-]+))?-s(?P<seed>\d+)(?:-dyn(?P<lo>\d+(?:x\d+)*)-(?P<opt>\d+(?:x\d+)*)-(?P<hi>\d+(?:x\d+)*))?"
)


def _profile_of_tag(g) -> OptimizationProfile | None:
    """The profile a `-dyn<min>-<opt>-<max>` id tag names (batch dims and S of `input`; the other inputs follow)."""
    if not g["lo"]:
        return None
    E, LK, H = int(g["E"]), int(g["L"]) * (2 if g["dir"] == "bi" else 1), int(g["H"])
    triples = [tuple(int(d) for d in g[k].split("x")) for k in ("lo", "opt", "hi")]
    shapes = {"input": tuple(t + (E,) for t in triples)}
    batch = tuple(t[:-1] for t in triples)
    if g["lens"]:
        shapes["seq_lengths"] = batch
    for name, on in (("hidden_state", g["h0"]), ("cell_state", g["c0"])):
        if on:
            shapes[name] = tuple(b + (LK, H) for b in batch)
    return OptimizationProfile(tuple(shapes.items()))


def check_data_fields(case) -> None:
    """The fields every case family shares: `precision`, `seed`, `weight_scale` (made a float), `chunk`."""
    if case.precision not in PRECISIONS:
        raise ValueError(f"precision={case.precision!r}; allowed: {', '.join(PRECISIONS)}")
    if isinstance(case.seed, bool) or not isinstance(case.seed, int) or case.seed < 0:
        raise ValueError(f"seed={case.seed!r}: expected an int >= 0")
    if not (isinstance(case.weight_scale, (int, float)) and 0 < case.weight_scale < float("inf")):
        raise ValueError(f"weight_scale={case.weight_scale!r}: expected a finite number > 0")
    object.__setattr__(case, "weight_scale", float(case.weight_scale))
    chunk, S = case.chunk, case.max_seq_length
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= S):
        raise ValueError(f"chunk={chunk!r}: expected the steps per streamed call, a whole number in 1..{S} "
                         f"(the case's S), or None for a whole-sequence run")


def drop_whole_run(data: dict) -> dict:
    """A case's JSON without `chunk` when it is None (a whole-sequence run): its JSON, and every engine key made
    from it, as before streaming existed."""
    if data.get("chunk") is None:
        data.pop("chunk", None)
    return data


def _radius_scaled(rng, H, radius):
    m = rng.standard_normal((H, H))
    rho = np.max(np.abs(np.linalg.eigvals(m)))
    return m * (radius / rho) if rho > 0 else m


def _lengths(rng, batch_dims, S, pattern):
    """Lengths in [1, S]: all 1, all S, or ragged (with two or more sequences, both 1 and S occur)."""
    n = int(np.prod(batch_dims))
    lengths = rng.integers(1, S + 1, size=n)
    if pattern != "ragged":
        lengths[:] = 1 if pattern == "ones" else S
    elif n >= 2:
        lengths[rng.permutation(n)[:2]] = (1, S)
    return lengths.astype(np.int32).reshape(batch_dims)


def _round(values, precision):
    """Round float64 values to the nearest value of `precision` (tf32 inputs are fp32 values)."""
    if precision in ("fp32", "tf32"):
        return values.astype(np.float32).astype(np.float64)
    if precision == "fp16":
        return values.astype(np.float16).astype(np.float64)
    bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)  # bf16: round to nearest even
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


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
