"""The user's own model: every ONNX RNN, GRU and LSTM node of a model file as a case (`NodeCase`).

A `NodeCase` is an `OnnxCase` whose attributes, weights (W, R, B, P) and, where the model stores them,
`sequence_lens`/`initial_h`/`initial_c` are the node's own, read from the model; only that node is run (as
the one-node model of `networks.onnx_node`), never the rest of the graph. Its X is whatever tensor feeds
the node (a graph input, or computed by the graph, e.g. after a Transpose): drawn from the seed at the
node's input shape, or given with an inputs file (`.npz`, keyed by the node's X tensor name or by the
graph's input names, from which the graph computes X with onnxruntime). Inputs the node has but the model
does not store (lengths, states fed or computed) are drawn too: lengths ragged in [1, S], states in
[-0.5, 0.5]. Everything is rounded to the case precision (an fp16 run of an fp32 model rounds its weights).

Shapes come from the model (`onnx.shape_inference`). Symbolic or unknown sequence and batch dims default to
`DEFAULT_SEQ_LENGTH` and `DEFAULT_BATCH_SIZE` (the `OnnxCase` defaults, so ragged lengths show both 1 and
S), unless given with `shapes` (`--shape NAME=SxNxI`, NAME a graph input or the node's X tensor). A weight
the graph computes instead of storing (a Transpose of an initializer, say) cannot be extracted: the case
carries that `problem`, and every backend skips it with the reason. Constant-node outputs (and Identity
of stored data) are stored data. Bad input (a missing or unreadable file, a model with no recurrent node,
an attribute ONNX does not define or the reference does not implement, inputs that contradict the
attributes, shapes that cannot be resolved, a model larger than memory) raises one ValueError naming the
model, the node and what is wrong.

A node built as deployed (`cases.model_profile`: `--min-shapes/--opt-shapes/--max-shapes`) carries a `profile` on
its one-node model's inputs (`X`, and the `sequence_lens`, `initial_h`, `initial_c` it feeds): its `seq_length` and
`batch_size` are then the shape it runs at, inside the profile, and its engine is built from the node at the
profile's opt shape (`engine_case`), one engine for every run shape.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pathlib
import re

import numpy as np

from .case import PRECISIONS, RECURRENT_RADIUS, _lengths, _round
from .onnx_case import GATE_COUNT, OPS, OnnxCase, OnnxMaterials
from .onnx_model import Graph, dims_text, given_arrays, read_model, shape_table
from .profile import OptimizationProfile

DEFAULT_SEQ_LENGTH = 5
DEFAULT_BATCH_SIZE = 3
SLOTS = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")  # the operator's inputs, in order
WEIGHTS = ("W", "R", "B", "P")
FED = ("sequence_lens", "initial_h", "initial_c")  # node inputs that are data, stored or drawn
ATTRIBUTES = {"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"}
OP_ATTRIBUTES = {"RNN": set(), "GRU": {"linear_before_reset"}, "LSTM": {"input_forget"}}
_PRECISION_OF = {1: "fp32", 10: "fp16", 16: "bf16", 11: "fp32"}  # ONNX elem type -> case precision (double: fp32)


@dataclasses.dataclass(frozen=True)
class NodeCase(OnnxCase):
    """One recurrent node of a user's model, run alone on the node's own weights and attributes."""
    model: str = ""  # the model file, as given
    node: str = ""  # the node's name in the model ("" when it has none)
    node_index: int = 0  # its position in graph.node
    label: str = ""  # the node as named in the id (file-name safe)
    stored: tuple = ()  # the node inputs whose values the model stores (weights, lengths, states)
    x_name: str = ""  # the tensor feeding the node's X
    inputs: str = ""  # an inputs file (.npz) giving X (and lengths/states), or "" to draw them
    digest: str = ""  # SHA-1 of the node's attributes and stored data: a changed model is noticed
    problem: str = ""  # why no backend can run it (a weight the graph computes), or ""
    # The profile of the node's dynamic engine (its one-node model's inputs), or None: a static node of its own shape
    profile: OptimizationProfile | None = None

    # family "onnx", as OnnxCase: every later stage (runners, reports) treats it as the ONNX node it is; its JSON
    # has a "model" key, by which `families.case_from_json` re-reads it from the model

    def __post_init__(self):
        super().__post_init__()
        for name in ("model", "node", "label", "x_name", "inputs", "digest", "problem"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name}={getattr(self, name)!r}: expected a string")
        if not self.model or not self.label:
            raise ValueError("a model node case needs model (the file) and label (the node)")
        object.__setattr__(self, "stored", tuple(self.stored))
        bad = [s for s in self.stored if s not in SLOTS]
        if bad:
            raise ValueError(f"stored={list(self.stored)!r}: {bad[0]!r} is not an input of {self.op}; allowed: {', '.join(SLOTS)}")
        if self.profile is not None:
            self._check_profile()

    def _check_profile(self) -> None:
        """A profile given as JSON becomes an `OptimizationProfile`; it has `X` of this node's input size, and the
        run shape lies inside it."""
        if isinstance(self.profile, dict):
            object.__setattr__(self, "profile", OptimizationProfile.from_json(self.profile))
        if not isinstance(self.profile, OptimizationProfile):
            raise TypeError(f"profile={self.profile!r}: expected an OptimizationProfile, its JSON, or None")
        if "X" not in self.profile.names or len(self.profile["X"][1]) != 3 or self.profile["X"][1][2] != self.input_size:
            raise ValueError(f"{self.where}: profile {self.profile.to_json()} has no X of rank 3 with input size "
                             f"{self.input_size}")
        reason = self.profile.contains(self.run_shape)
        if reason:
            raise ValueError(f"{self.where}: the run shape lies outside the profile: {reason}")

    @property
    def run_shape(self) -> dict | None:
        """A dynamic node's one-node model inputs -> the dims it runs at (None for a static node)."""
        if self.profile is None:
            return None
        S, N, I, D, H = self.seq_length, self.batch_size, self.input_size, self.D, self.hidden_size
        shapes = {"X": (N, S, I) if self.layout else (S, N, I), "sequence_lens": (N,),
                  "initial_h": (N, D, H) if self.layout else (D, N, H)}
        shapes["initial_c"] = shapes["initial_h"]
        return {name: shapes[name] for name in self.profile.names}

    @property
    def engine_case(self) -> "NodeCase":
        """The node at its profile's opt shape, its inputs drawn: what its dynamic engine is built from (itself
        when static)."""
        if self.profile is None:
            return self
        opt = self.profile["X"][1]
        S, N = (opt[1], opt[0]) if self.layout else (opt[0], opt[1])
        return dataclasses.replace(self, seq_length=S, batch_size=N, inputs="")

    @property
    def id(self) -> str:
        parts = [_safe(pathlib.Path(self.model).stem), self.label, f"S{self.seq_length}", f"N{self.batch_size}"]
        if self.inputs:
            parts.append("inputs")
        parts += [f"chunk{self.chunk}"] if self.chunk else []
        if self.profile is not None:  # X's dims but the input size, in the node's layout, at min, opt and max
            parts.append("dyn" + "-".join("x".join(map(str, dims[:-1])) for dims in self.profile["X"]))
        return "-".join(parts + [self.precision, f"s{self.seed}"])

    @property
    def where(self) -> str:
        return f"model {self.model}: node {self.node or self.label} ({self.op})"

    @property
    def recurrent_radius(self) -> float:
        """The largest spectral radius of the node's recurrent matrices (each gate, each direction)."""
        if self.problem or "R" not in self.stored:
            return RECURRENT_RADIUS
        R, H = _node_data(self)["R"], self.hidden_size
        with np.errstate(all="ignore"):
            radii = [np.max(np.abs(np.linalg.eigvals(R[d, g * H:(g + 1) * H]))) for d in range(R.shape[0])
                     for g in range(GATE_COUNT[self.op])]
        return float(max(radii))

    def to_json(self) -> dict:
        data = super().to_json()
        data["stored"] = list(self.stored)
        data["profile"] = None if self.profile is None else self.profile.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict) -> NodeCase:
        """The case, re-read from its model: an error if the file is gone or its node has changed."""
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "family"}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"model node case JSON has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
        case = cls(**data)
        if not case.problem:
            _node_data(case)  # the model is there and its node unchanged
        return case

    def materialise(self) -> OnnxMaterials:
        """The node's stored data and its drawn or given inputs, rounded to the case precision."""
        if self.problem:
            raise ValueError(self.problem)
        stored, given = _node_data(self), _given(self)
        rng = np.random.default_rng(self.seed)
        S, N, I, H, D = self.seq_length, self.batch_size, self.input_size, self.hidden_size, self.D
        state = (N, D, H) if self.layout else (D, N, H)
        drawn = {"X": rng.uniform(-1.0, 1.0, (N, S, I) if self.layout else (S, N, I)),
                 "sequence_lens": _lengths(rng, (N,), S, "ragged"),
                 "initial_h": rng.uniform(-0.5, 0.5, state), "initial_c": rng.uniform(-0.5, 0.5, state)}
        values = {}
        for slot in SLOTS:
            present = slot in ("X", "W", "R") or _has(self, slot)
            if not present:
                values[slot] = None
                continue
            value = stored.get(slot, given.get(slot, drawn.get(slot)))
            values[slot] = np.asarray(value, dtype=np.int32) if slot == "sequence_lens" else \
                _round(np.asarray(value, dtype=np.float64), self.precision)
        return OnnxMaterials(**values)


def _has(case, slot) -> bool:
    return {"B": case.bias, "P": case.peepholes, "sequence_lens": case.sequence_lens != "none",
            "initial_h": case.initial_h, "initial_c": case.initial_c}.get(slot, True)


def _safe(text: str, fallback: str = "model") -> str:
    """A name as an id part: letters, digits, `_` and `.`, no leading/trailing separators (else `fallback`)."""
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_.") or fallback


def node_cases(path, *, shapes=(), inputs: str = "", seed: int = 0, precision: str | None = None) -> list[NodeCase]:
    """A case per RNN, GRU and LSTM node of the model at `path` (in graph order)."""
    shapes = shape_table(shapes)
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; allowed: {', '.join(PRECISIONS)}")
    model = read_model(path)
    g = Graph(path, model, shapes)
    nodes = [(i, n) for i, n in enumerate(g.graph.node) if n.op_type in OPS and n.domain in ("", "ai.onnx")]
    if not nodes:
        found = sorted({n.op_type for n in g.graph.node})
        raise ValueError(f"model {path}: no RNN, GRU or LSTM node (its graph has {', '.join(found) or 'no nodes'})")
    x_names = {n.input[0] for _, n in nodes if n.input}
    unknown = [name for name in shapes if name not in g.inputs and name not in x_names]
    if unknown:
        raise ValueError(f"--shape {unknown[0]}: model {path} has no graph input or recurrent-node X of that name; "
                         f"allowed: {', '.join(dict.fromkeys(g.inputs + sorted(x_names)))}")
    labels, cases = set(), []
    for index, node in nodes:
        label = _safe(node.name, f"{node.op_type.lower()}{index}")
        if label in labels:
            label = f"{label}_{index}"
        labels.add(label)
        cases.append(_node_case(g, index, node, label, shapes, inputs, seed, precision))
    return cases


def _node_case(g, index, node, label, shapes, inputs, seed, precision) -> NodeCase:
    where = f"model {g.path}: node {node.name or label} ({node.op_type})"
    try:
        return _build(g, index, node, label, shapes, inputs, seed, precision, where)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        raise ValueError(text if text.startswith(f"model {g.path}") else f"{where}: {text}") from None


def _attributes(node, where) -> dict:
    from onnx import helper

    allowed = ATTRIBUTES | OP_ATTRIBUTES[node.op_type]
    attrs = {}
    for attr in node.attribute:
        if attr.name not in allowed:
            raise ValueError(f"attribute {attr.name!r} is not one the reference implements for {node.op_type} "
                             f"(it implements {', '.join(sorted(allowed))}); it is never ignored")
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list):
            value = [v.decode() if isinstance(v, bytes) else v for v in value]
        attrs[attr.name] = value
    return attrs


def _build(g, index, node, label, shapes, inputs, seed, precision, where) -> NodeCase:
    op = node.op_type
    attrs = _attributes(node, where)
    names = dict(zip(SLOTS, list(node.input) + [""] * len(SLOTS)))
    if not names["X"] or not names["W"] or not names["R"]:
        raise ValueError("X, W and R are required inputs of the operator; the node lacks "
                         + ", ".join(s for s in ("X", "W", "R") if not names[s]))
    direction = attrs.get("direction", "forward")
    layout = attrs.get("layout", 0)
    D, G = (2 if direction == "bidirectional" else 1), GATE_COUNT[op]
    stored, problems = {}, []
    for slot in WEIGHTS + FED:
        if names[slot]:
            value, why = g.stored(names[slot])
            if value is not None:
                stored[slot] = value
            elif slot in WEIGHTS:
                shown = slot if names[slot] == slot else f"{slot} ({names[slot]!r})"
                problems.append(f"{shown} is {why}, not stored")
    H = attrs.get("hidden_size")
    if H is None:
        H = stored["R"].shape[-1] if "R" in stored and np.ndim(stored["R"]) == 3 else None
        if H is None:
            raise ValueError("attribute 'hidden_size' is not set and R is not stored: the hidden size cannot be known")
    _check_weights(stored, op, D, G, H, direction)
    elem, x_dims = g.types.get(names["X"], (None, None))
    I = stored["W"].shape[2] if "W" in stored else None
    given = given_arrays(g, names, inputs, FED) if inputs else {}
    if "X" in given:
        x_dims = given["X"].shape
    elif names["X"] in shapes:
        x_dims = shapes[names["X"]]
    S = N = None
    if x_dims is not None:
        if len(x_dims) != 3:
            raise ValueError(f"X ({names['X']!r}) has rank {len(x_dims)} (shape {dims_text(x_dims)}); the operator "
                             f"takes rank 3: {'(N, S, I)' if layout else '(S, N, I)'} (layout={layout})")
        s, n, i = (x_dims[1], x_dims[0], x_dims[2]) if layout else x_dims
        if I is not None and i is not None and i != I:
            raise ValueError(f"X ({names['X']!r}) has input_size {i} (shape {dims_text(x_dims)}, layout={layout}) but W "
                             f"has shape {stored['W'].shape}: input_size {I}")
        S, N, I = s, n, I or i
    elif not problems:
        raise ValueError(f"the shape of X ({names['X']!r}) cannot be resolved from the model (shape inference gives "
                         f"none); give it with --shape {names['X']}={'NxSxI' if layout else 'SxNxI'}")
    for slot in FED:
        if slot in stored or slot in given:
            value = stored.get(slot, given.get(slot))
            n = np.shape(value)[0] if slot == "sequence_lens" else np.shape(value)[0 if layout else 1] \
                if np.ndim(value) == 3 else None
            if n is not None and N is not None and n != N:
                raise ValueError(f"{slot} ({names[slot]!r}) has shape {np.shape(value)}: batch size {n}, "
                                 f"but X has batch size {N}")
            N = N or n
    S, N = S or DEFAULT_SEQ_LENGTH, N or DEFAULT_BATCH_SIZE
    I = I or 1  # only when W is not stored (the case is a problem case)
    _check_fed(stored, given, op, D, N, S, H, layout)
    prec = precision or _PRECISION_OF.get(g.types.get(names["W"], (elem, None))[0] or elem, "fp32")
    onnx_fields = {"op": op, "hidden_size": int(H), "seq_length": int(S), "batch_size": int(N), "input_size": int(I),
                   "direction": direction, "layout": layout, "activations": tuple(attrs.get("activations", ())),
                   "activation_alpha": tuple(attrs.get("activation_alpha", ())),
                   "activation_beta": tuple(attrs.get("activation_beta", ())), "clip": attrs.get("clip"),
                   "input_forget": attrs.get("input_forget", 0),
                   "linear_before_reset": attrs.get("linear_before_reset", 0), "bias": bool(names["B"]),
                   "peepholes": bool(names["P"]) and op == "LSTM",
                   "sequence_lens": "ragged" if names["sequence_lens"] else "none",
                   "initial_h": bool(names["initial_h"]), "initial_c": bool(names["initial_c"]) and op == "LSTM"}
    if op != "LSTM" and (names["initial_c"] or names["P"]):
        raise ValueError(f"{op} takes no initial_c or P, but the node has {len(node.input)} inputs")
    _check_activations(onnx_fields, attrs)
    problem = f"{where}: {problems[0]}: only stored weights can be extracted" if problems else ""
    return NodeCase(**onnx_fields, precision=prec, seed=seed, model=str(g.path), node=node.name, node_index=index,
                    label=label, stored=tuple(s for s in SLOTS if s in stored), x_name=names["X"],
                    inputs=str(inputs or ""), digest=_digest(node, stored), problem=problem)


def _check_weights(stored, op, D, G, H, direction):
    """W, R, B, P against hidden_size and direction (X's input_size is checked against W later)."""
    for slot, expected in (("R", (D, G * H, H)), ("B", (D, 2 * G * H)), ("P", (D, 3 * H))):
        if slot in stored and stored[slot].shape != expected:
            raise ValueError(f"{slot} has shape {stored[slot].shape}, but hidden_size={H}, direction={direction!r} "
                             f"need {expected} for {op}")
    if "W" in stored:
        W = stored["W"]
        if W.ndim != 3 or W.shape[:2] != (D, G * H):
            raise ValueError(f"W has shape {W.shape}, but hidden_size={H}, direction={direction!r} need "
                             f"({D}, {G * H}, input_size) for {op}")


def _check_fed(stored, given, op, D, N, S, H, layout):
    state = (N, D, H) if layout else (D, N, H)
    for slot in ("initial_h", "initial_c"):
        for source, values in (("stored", stored), ("given", given)):
            if slot in values and np.shape(values[slot]) != state:
                raise ValueError(f"{slot} ({source}) has shape {np.shape(values[slot])}; expected {state} "
                                 f"(hidden_size={H}, layout={layout})")
    for values in (stored, given):
        if "sequence_lens" in values:
            lens = np.asarray(values["sequence_lens"])
            if not np.issubdtype(lens.dtype, np.integer) or lens.shape != (N,) or np.any((lens < 0) | (lens > S)):
                raise ValueError(f"sequence_lens={lens.tolist()}: expected {N} whole numbers in [0, seq_length={S}]")


def _check_activations(fields, attrs):
    """The attribute values ONNX defines, checked by the case (and the activation parameters by the reference)."""
    from reference.onnx_attributes import activation_functions

    probe = OnnxCase(**fields)  # direction, layout, clip, activations, input_forget, linear_before_reset
    activation_functions(probe.op, probe.D, list(probe.activations) or None, list(probe.activation_alpha),
                         list(probe.activation_beta))


def _digest(node, stored) -> str:
    h = hashlib.sha1(node.SerializeToString(deterministic=True))
    for slot in sorted(stored):
        h.update(slot.encode())
        h.update(np.ascontiguousarray(stored[slot]).tobytes())
    return h.hexdigest()[:16]


# --- data of a case ---------------------------------------------------------------------------------

def _node_data(case: NodeCase) -> dict:
    path = pathlib.Path(case.model)
    try:
        stat = path.stat()
    except OSError:
        raise ValueError(f"case {case.id}: model {case.model}: no such file") from None
    return _node_data_of(str(path.resolve()), stat.st_mtime_ns, case.node_index, case.digest, case.model)


@functools.lru_cache(maxsize=32)
def _node_data_of(path, mtime_ns, index, digest, shown) -> dict:
    model = read_model(path)
    g = Graph(path, model, {})
    if index >= len(g.graph.node) or g.graph.node[index].op_type not in OPS:
        raise ValueError(f"model {shown}: node {index} is not a recurrent node any more: the model has changed")
    node = g.graph.node[index]
    names = dict(zip(SLOTS, list(node.input) + [""] * len(SLOTS)))
    stored = {}
    for slot in WEIGHTS + FED:
        if names[slot]:
            value, _ = g.stored(names[slot])
            if value is not None:
                stored[slot] = value
    if _digest(node, stored) != digest:
        raise ValueError(f"model {shown}: node {node.name or index} has changed since the case was made "
                         "(its attributes or stored data differ): make the cases again from the model")
    for value in stored.values():
        value.setflags(write=False)
    return stored


def _given(case: NodeCase) -> dict:
    if not case.inputs:
        return {}
    try:
        stamps = os.stat(case.model).st_mtime_ns, os.stat(case.inputs).st_mtime_ns
    except OSError as exc:
        raise ValueError(f"case {case.id}: {exc.filename}: no such file") from None
    return _given_of(case.model, case.inputs, case.node_index, stamps)


@functools.lru_cache(maxsize=32)
def _given_of(model_path, inputs, index, stamps) -> dict:
    g = Graph(model_path, read_model(model_path), {})
    node = g.graph.node[index]
    given = given_arrays(g, dict(zip(SLOTS, list(node.input) + [""] * len(SLOTS))), inputs, FED)
    for value in given.values():
        value.setflags(write=False)
    return given


def resolve(case_id: str, cases) -> NodeCase:
    """The model case named `case_id` among `cases` (any precision and seed of theirs)."""
    m = re.fullmatch(r"(?P<stem>.+)-(?P<prec>fp32|fp16|bf16|tf32)-s(?P<seed>\d+)", case_id)
    for case in cases:
        if case.id == case_id:
            return case
        if m and isinstance(case, NodeCase) and case.id.rsplit("-", 2)[0] == m["stem"]:
            return dataclasses.replace(case, precision=m["prec"], seed=int(m["seed"]))
    raise ValueError(f"case id {case_id!r} is none of the model's node cases; they are: "
                     f"{', '.join(c.id for c in cases)}")



