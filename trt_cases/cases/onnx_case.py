"""An ONNX-operator case: one ONNX RNN, GRU or LSTM node with every attribute the operator defines.

The IRNNv2 cases (`case.Case`) cover what `IRNNv2Layer` can say; users reach TensorRT through the ONNX
parser with whatever their exporter wrote (`layout=1`, `clip`, peepholes, `input_forget`,
`linear_before_reset` 0 or 1, other activations, `reverse`). An `OnnxCase` describes such a node in ONNX's
own words; its data are the node's inputs by their ONNX names, and its outputs keep ONNX's `Y, Y_h[, Y_c]`
in the node's layout (layout 0: Y `(S, D, N, H)`, Y_h `(D, N, H)`; layout 1: Y `(N, S, D, H)`, Y_h
`(N, D, H)`); the float64 truth is `reference.onnx_rnn`. Weights are drawn as for `Case`: independent per
gate and matrix, every R scaled to spectral radius `0.9 * weight_scale`, values rounded to the precision.
"""

from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

import numpy as np

from reference.validate import positive_int

from .case import LENGTHS, RECURRENT_RADIUS, _lengths, _radius_scaled, _round, check_data_fields, drop_whole_run

OPS = ("RNN", "GRU", "LSTM")
GATE_COUNT = {"RNN": 1, "GRU": 3, "LSTM": 4}
ACTIVATION_COUNT = {"RNN": 1, "GRU": 2, "LSTM": 3}  # per direction
DIRECTIONS = {"forward": "fwd", "reverse": "rev", "bidirectional": "bi"}  # ONNX value -> id tag
ACTIVATIONS = ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid",
               "Elu", "Softsign", "Softplus")
_CANONICAL = {a.lower(): a for a in ACTIVATIONS}
OUTPUT_NAMES = ("Y", "Y_h", "Y_c")


class OnnxMaterials(NamedTuple):
    """A node's inputs by their ONNX names; float64 values exactly representable in the case precision."""
    X: np.ndarray  # layout 0: (S, N, I); layout 1: (N, S, I)
    W: np.ndarray  # (D, G*H, I)
    R: np.ndarray  # (D, G*H, H)
    B: np.ndarray | None  # (D, 2*G*H): Wb then Rb
    sequence_lens: np.ndarray | None  # (N,) int32
    initial_h: np.ndarray | None  # layout 0: (D, N, H); layout 1: (N, D, H)
    initial_c: np.ndarray | None
    P: np.ndarray | None  # (D, 3*H): Pi, Po, Pf


@dataclasses.dataclass(frozen=True)
class OnnxCase:
    op: str  # RNN, GRU, LSTM
    hidden_size: int = 4
    seq_length: int = 5
    batch_size: int = 3
    input_size: int = 4
    direction: str = "forward"  # forward, reverse, bidirectional
    layout: int = 0
    activations: tuple = ()  # () = the operator's defaults; else ACTIVATION_COUNT[op] names per direction
    activation_alpha: tuple = ()
    activation_beta: tuple = ()
    clip: float | None = None
    input_forget: int = 0  # LSTM
    linear_before_reset: int = 0  # GRU
    bias: bool = True  # whether B is given
    peepholes: bool = False  # whether P is given (LSTM)
    sequence_lens: str = "none"  # none, or the lengths pattern: ragged, ones, full
    initial_h: bool = False
    initial_c: bool = False  # LSTM
    precision: str = "fp32"
    seed: int = 0
    weight_scale: float = 1.0
    chunk: int | None = None  # streamed: the steps per call, states carried between calls (`cases.chunks`)

    family = "onnx"

    def __post_init__(self):
        set_ = object.__setattr__
        op = str(self.op).upper()
        if op not in OPS:
            raise ValueError(f"op={self.op!r}; allowed: {', '.join(OPS)}")
        set_(self, "op", op)
        for name in ("hidden_size", "seq_length", "batch_size", "input_size"):
            positive_int(getattr(self, name), name)
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction={self.direction!r}; allowed: {', '.join(DIRECTIONS)}")
        for name, allowed in (("layout", (0, 1)), ("input_forget", (0, 1)), ("linear_before_reset", (0, 1))):
            value = getattr(self, name)
            if isinstance(value, bool) or value not in allowed:
                raise ValueError(f"{name}={value!r}; allowed: 0, 1")
        if self.input_forget and op != "LSTM":
            raise ValueError(f"input_forget=1 but op={op}: only LSTM has input_forget")
        if self.linear_before_reset and op != "GRU":
            raise ValueError(f"linear_before_reset=1 but op={op}: only GRU has linear_before_reset")
        for name in ("bias", "peepholes", "initial_h", "initial_c"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r}: expected True or False (whether it is given)")
        for name in ("peepholes", "initial_c"):
            if getattr(self, name) and op != "LSTM":
                raise ValueError(f"{name} is set but op={op}: only LSTM has {'P' if name == 'peepholes' else name}")
        if self.sequence_lens != "none" and self.sequence_lens not in LENGTHS:
            raise ValueError(f"sequence_lens={self.sequence_lens!r}; allowed: none, {', '.join(LENGTHS)}")
        set_(self, "activations", self._activations(self.activations))
        for name in ("activation_alpha", "activation_beta"):
            set_(self, name, self._floats(getattr(self, name), name))
        if self.clip is not None:
            if isinstance(self.clip, bool) or not isinstance(self.clip, (int, float)) or not 0 < self.clip < float("inf"):
                raise ValueError(f"clip={self.clip!r}: expected a finite number > 0, or None for no clip")
            set_(self, "clip", float(self.clip))
        check_data_fields(self)

    def _activations(self, names) -> tuple:
        if isinstance(names, str) or not isinstance(names, (tuple, list)):
            raise TypeError(f"activations={names!r}: expected a list of activation names")
        canonical = []
        for name in names:
            if not isinstance(name, str) or name.lower() not in _CANONICAL:
                raise ValueError(f"activations: {name!r} is not an ONNX RNN activation; allowed: {', '.join(ACTIVATIONS)}")
            canonical.append(_CANONICAL[name.lower()])
        if canonical and len(canonical) != ACTIVATION_COUNT[self.op] * self.D:
            raise ValueError(f"activations={canonical}: {self.op} {self.direction} takes {ACTIVATION_COUNT[self.op] * self.D} "
                             f"({ACTIVATION_COUNT[self.op]} per direction), or none for the defaults")
        return tuple(canonical)

    @staticmethod
    def _floats(values, name) -> tuple:
        if isinstance(values, str) or not isinstance(values, (tuple, list)):
            raise TypeError(f"{name}={values!r}: expected a list of numbers")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) for v in values):
            raise ValueError(f"{name}={list(values)!r}: expected finite numbers")
        return tuple(float(v) for v in values)

    @property
    def D(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    profile = None  # a static node (every family answers `profile`, `run_shape` and `engine_case`)
    run_shape = None

    @property
    def engine_case(self):
        """What its network is built from: itself (a static node)."""
        return self

    @property
    def output_names(self) -> tuple:
        return OUTPUT_NAMES if self.op == "LSTM" else OUTPUT_NAMES[:2]

    @property
    def time_axis(self) -> int:
        """The axis of Y that is time: 0 in layout 0 `(S, D, N, H)`, 1 in layout 1 `(N, S, D, H)`."""
        return self.layout

    @property
    def max_seq_length(self) -> int:
        return self.seq_length

    @property
    def recurrent_radius(self) -> float:
        return RECURRENT_RADIUS * self.weight_scale

    @property
    def attributes(self) -> dict:
        """The node's ONNX attributes, as `onnx.helper.make_node` and `reference.onnx_rnn` take them (defaults left out)."""
        attrs = {"hidden_size": self.hidden_size, "direction": self.direction}
        if self.layout:
            attrs["layout"] = 1
        if self.activations:
            attrs["activations"] = list(self.activations)
        for name in ("activation_alpha", "activation_beta"):  # ONNX float attributes are float32: the node's values
            if getattr(self, name):
                attrs[name] = [float(np.float32(v)) for v in getattr(self, name)]
        if self.clip is not None:
            attrs["clip"] = float(np.float32(self.clip))
        if self.input_forget:
            attrs["input_forget"] = 1
        if self.op == "GRU":
            attrs["linear_before_reset"] = self.linear_before_reset
        return attrs

    @property
    def id(self) -> str:
        parts = ["onnx", self.op.lower(), DIRECTIONS[self.direction], f"H{self.hidden_size}", f"S{self.seq_length}",
                 f"N{self.batch_size}", f"I{self.input_size}"]
        if self.layout:
            parts.append("layout1")
        for tag, values in (("act", self.activations), ("alpha", self.activation_alpha), ("beta", self.activation_beta)):
            if values:
                parts.append("_".join([tag] + [v if isinstance(v, str) else _number(v) for v in values]))
        parts += [f"clip{_number(self.clip)}"] if self.clip is not None else []
        parts += [tag for tag, on in (("input_forget", self.input_forget), ("lbr1", self.linear_before_reset),
                                      ("peep", self.peepholes), ("nobias", not self.bias),
                                      (LENGTHS.get(self.sequence_lens, ""), self.sequence_lens != "none"),
                                      ("h0", self.initial_h), ("c0", self.initial_c)) if on]
        parts += [f"chunk{self.chunk}"] if self.chunk else []
        parts.append(self.precision)
        if self.weight_scale != 1.0:
            parts.append(f"w{_number(self.weight_scale)}")
        parts.append(f"s{self.seed}")
        return "-".join(parts)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        return drop_whole_run({"family": self.family, **{k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}})

    @classmethod
    def from_json(cls, data: dict) -> "OnnxCase":
        data = {k: v for k, v in data.items() if k != "family"}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"ONNX case JSON has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @classmethod
    def from_id(cls, case_id: str) -> "OnnxCase":
        """Parse an id made by `.id` back into the case."""
        m = _ID.fullmatch(case_id)
        if not m:
            raise ValueError(f"case id {case_id!r} is not of the form onnx-op-dir-H#-S#-N#-I#[-layout1][-act_..][-alpha_..]"
                             "[-beta_..][-clip#][-input_forget][-lbr1][-peep][-nobias][-lens|-lens1|-lensS][-h0][-c0]"
                             "[-chunk#]-precision[-w#]-s#, e.g. onnx-lstm-bi-H4-S5-N3-I6-layout1-clip2-peep-lens-h0-c0-fp32-s3")
        g = m.groupdict()
        floats = lambda text: tuple(float(v) for v in text.split("_")) if text else ()  # noqa: E731
        return cls(op=g["op"].upper(), direction={v: k for k, v in DIRECTIONS.items()}[g["dir"]],
                   hidden_size=int(g["H"]), seq_length=int(g["S"]), batch_size=int(g["N"]), input_size=int(g["I"]),
                   layout=1 if g["layout"] else 0, activations=tuple(g["act"].split("_")) if g["act"] else (),
                   activation_alpha=floats(g["alpha"]), activation_beta=floats(g["beta"]),
                   clip=float(g["clip"]) if g["clip"] else None, input_forget=1 if g["if"] else 0,
                   linear_before_reset=1 if g["lbr"] else 0, peepholes=bool(g["peep"]), bias=not g["nobias"],
                   sequence_lens={t: n for n, t in LENGTHS.items()}.get(g["lens"], "none"),
                   initial_h=bool(g["h0"]), initial_c=bool(g["c0"]), precision=g["prec"],
                   weight_scale=float(g["w"]) if g["w"] else 1.0, seed=int(g["seed"]),
                   chunk=int(g["chunk"]) if g["chunk"] else None)

    def materialise(self) -> OnnxMaterials:
        """Deterministic inputs for this node (same seed, same numbers, on every machine)."""
        rng = np.random.default_rng(self.seed)
        G, H, S, N, I, D = GATE_COUNT[self.op], self.hidden_size, self.seq_length, self.batch_size, self.input_size, self.D
        rnd = lambda shape, scale: _round(rng.uniform(-scale, scale, shape), self.precision)  # noqa: E731
        X = rnd((N, S, I) if self.layout else (S, N, I), 1.0)
        W = rnd((D, G * H, I), self.weight_scale / np.sqrt(I))
        R = np.stack([np.concatenate([_round(_radius_scaled(rng, H, self.recurrent_radius), self.precision)
                                      for _ in range(G)]) for _ in range(D)])
        B = rnd((D, 2 * G * H), 0.5 * self.weight_scale) if self.bias else None
        lens = _lengths(rng, (N,), S, self.sequence_lens) if self.sequence_lens != "none" else None
        state = (N, D, H) if self.layout else (D, N, H)
        h0 = rnd(state, 0.5) if self.initial_h else None
        c0 = rnd(state, 0.5) if self.initial_c else None
        P = rnd((D, 3 * H), 0.5 * self.weight_scale) if self.peepholes else None
        return OnnxMaterials(X, W, R, B, lens, h0, c0, P)

    def reference(self, materials: OnnxMaterials | None = None, dtype=np.float64) -> tuple:
        """`reference.onnx_rnn` on this node's inputs: `(Y, Y_h[, Y_c])` in the node's layout, computed in `dtype`."""
        from reference import onnx_rnn

        m = self.materialise() if materials is None else materials
        attrs = self.attributes
        return onnx_rnn(self.op, m.X, m.W, m.R, m.B, m.sequence_lens, m.initial_h, m.initial_c, m.P,
                        hidden_size=attrs.pop("hidden_size"), **attrs, dtype=dtype)

    def perturbed(self, m: OnnxMaterials, nudge) -> OnnxMaterials:
        """`m` with `nudge` applied to every real-valued input, `sequence_lens` kept."""
        return OnnxMaterials(nudge(m.X), nudge(m.W), nudge(m.R), nudge(m.B), m.sequence_lens,
                             nudge(m.initial_h), nudge(m.initial_c), nudge(m.P))


def _number(value: float) -> str:
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


_FLOAT = r"-?[0-9.]+(?:e[+-]?\d+)?"
_ID = re.compile(
    r"onnx-(?P<op>rnn|gru|lstm)-(?P<dir>fwd|rev|bi)-H(?P<H>\d+)-S(?P<S>\d+)-N(?P<N>\d+)-I(?P<I>\d+)"
    r"(?P<layout>-layout1)?"
    rf"(?:-act_(?P<act>[A-Za-z]+(?:_[A-Za-z]+)*))?(?:-alpha_(?P<alpha>{_FLOAT}(?:_{_FLOAT})*))?"
    rf"(?:-beta_(?P<beta>{_FLOAT}(?:_{_FLOAT})*))?(?:-clip(?P<clip>{_FLOAT}))?"
    r"(?P<if>-input_forget)?(?P<lbr>-lbr1)?(?P<peep>-peep)?(?P<nobias>-nobias)?(?:-(?P<lens>lens|lens1|lensS))?"
    r"(?P<h0>-h0)?(?P<c0>-c0)?(?:-chunk(?P<chunk>\d+))?-(?P<prec>fp32|fp16|bf16|tf32)(?:-w(?P<w>[0-9.e+-]+))?-s(?P<seed>\d+)"
)
