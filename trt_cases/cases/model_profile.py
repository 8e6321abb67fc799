"""The node cases a run takes from users' models (`models_node_cases`): as `cases.model` makes them, or tested as
deployed: an optimization profile (`--min-shapes/--opt-shapes/--max-shapes NAME=DIMS`, trtexec's flags) makes each
recurrent node's cases share one dynamic engine.

NAME is a graph input or a recurrent node's X tensor. What is supported: a graph input's min, opt and max dims
become each node's X dims by ONNX shape inference (with data propagation), so a profile on `x` reaches a node
behind a Transpose, or behind a Reshape whose shape the graph computes from `Shape` (torch's dynamo exporter
writes both); a node whose X dims the profile does not determine is an error naming the flag that would (the
node's X). Each node's profile is on its one-node model's inputs (`networks.onnx_node`): `X`, and the
`sequence_lens`, `initial_h`, `initial_c` it feeds, their batch dim following X's (a batch the model fixes, by a
stored state say, must then be the profile's at min, opt and max). The node's cases are the node at min, opt and
max and at every `--shape` (which must lie inside the profile), their inputs drawn from the seed; with `--inputs`,
the node at the given inputs' shape too. Every problem is one ValueError naming the flag, the input and the dims.
"""

from __future__ import annotations

import dataclasses

from .model import NodeCase, node_cases
from .onnx_case import OPS
from .onnx_model import Graph, dims_text, parse_shape, read_model, shape_table
from .profile import FIELDS, OptimizationProfile

FLAGS = tuple(f"--{field}-shapes" for field in FIELDS)  # --min-shapes, --opt-shapes, --max-shapes


def models_node_cases(paths, *, shapes=(), inputs: str = "", seed: int = 0, min_shapes=(), opt_shapes=(),
                      max_shapes=()) -> dict[str, list[NodeCase]]:
    """`node_cases` of several models: each `--shape` goes to the models that have that name (one must). With
    `--min-shapes/--opt-shapes/--max-shapes`, a model that has the profile's names gets `model_profile`'s
    dynamic node cases (one engine per node, run at min, opt, max and each `--shape`)."""
    shapes = shape_table(shapes)
    profile = parse_profile(min_shapes, opt_shapes, max_shapes)
    known = {}
    for path in dict.fromkeys(paths):
        model = read_model(path)
        rnn = [n.input[0] for n in model.graph.node if n.op_type in OPS and n.input]
        known[path] = {i.name for i in model.graph.input} | set(rnn)
    for name in shapes:
        if not any(name in names for names in known.values()):
            allowed = sorted(set().union(*known.values()))
            raise ValueError(f"--shape {name}: no model ({', '.join(known)}) has a graph input or recurrent-node X of "
                             f"that name; allowed: {', '.join(allowed)}")
    for name in profile.names if profile else ():
        if not any(name in names for names in known.values()):
            allowed = sorted(set().union(*known.values())) if known else []
            raise ValueError(f"--min-shapes/--opt-shapes/--max-shapes {name}: no model ({', '.join(known) or 'none given'}) "
                             f"has a graph input or recurrent-node X of that name; allowed: {', '.join(allowed)}")
    found = {}
    for path, names in known.items():
        mine = {n: d for n, d in shapes.items() if n in names}
        own = [(n, t) for n, t in profile.shapes if n in names] if profile else []
        found[path] = dynamic_node_cases(path, OptimizationProfile(tuple(own)), shapes=mine, inputs=inputs, seed=seed) \
            if own else node_cases(path, shapes=mine, inputs=inputs, seed=seed)
    return found


def parse_profile(min_shapes=(), opt_shapes=(), max_shapes=()) -> OptimizationProfile | None:
    """The three flags' `NAME=DIMS` values as one profile (None when none is given); every name in all three."""
    given = [_table(values, flag) for values, flag in zip((min_shapes, opt_shapes, max_shapes), FLAGS)]
    if not any(given):
        return None
    names = list(dict.fromkeys(name for table in given for name in table))
    for name in names:
        for table, flag in zip(given, FLAGS):
            if name not in table:
                raise ValueError(f"{flag} gives no {name}: a profile needs min, opt and max dims of every input it "
                                 f"names (--min-shapes {name}=DIMS --opt-shapes {name}=DIMS --max-shapes {name}=DIMS)")
    try:
        return OptimizationProfile(tuple((name, tuple(table[name] for table in given)) for name in names))
    except ValueError as exc:
        raise ValueError(f"{'/'.join(FLAGS)}: {exc}") from None


def _table(values, flag) -> dict:
    table = {}
    for spec in values or ():
        name, dims = parse_shape(spec, flag)
        if name in table:
            raise ValueError(f"{flag} {name}: given twice ({_spec(name, table[name])} and {spec}); give each input once")
        table[name] = dims
    return table


def _spec(name, dims) -> str:
    return f"{name}={'x'.join(map(str, dims))}"


def declared_dims(model) -> dict:
    """Graph input name -> its declared dims (None where symbolic or unknown), initializers left out."""
    stored = {t.name for t in model.graph.initializer}
    return {v.name: tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                          for d in v.type.tensor_type.shape.dim)
            for v in model.graph.input if v.name not in stored and v.type.tensor_type.HasField("shape")}


def _x_dims(model) -> dict:
    """A recurrent node's X name -> (None, None, input size), the input size fixed where W is an initializer."""
    stored = {t.name: tuple(t.dims) for t in model.graph.initializer}
    found = {}
    for node in model.graph.node:
        if node.op_type in OPS and node.domain in ("", "ai.onnx") and len(node.input) > 1:
            w = stored.get(node.input[1])
            found[node.input[0]] = (None, None, w[2] if w and len(w) == 3 else None)
    return found


def check_against_model(path, model, profile: OptimizationProfile) -> None:
    """Each profile input of this model: a graph input of the declared rank whose fixed dims it keeps, or a
    recurrent node's X of rank 3."""
    declared, x_dims = declared_dims(model), _x_dims(model)
    for name, triple in profile.shapes:
        dims = declared.get(name, x_dims.get(name))
        if dims is None:
            continue  # a graph input without a declared shape: shape inference says the rest
        for flag, given in zip(FLAGS, triple):
            if len(given) != len(dims):
                raise ValueError(f"{flag} {_spec(name, given)}: model {path}: {name} has rank {len(dims)} "
                                 f"(shape {dims_text(dims)}); the profile gives rank {len(given)}")
            fixed = [i for i, (d, g) in enumerate(zip(dims, given)) if d is not None and d != g]
            if fixed:
                what = "" if name in declared else " (the input size of the node's W)"
                raise ValueError(f"{flag} {_spec(name, given)}: model {path} fixes dim {fixed[0]} of {name} at "
                                 f"{dims[fixed[0]]}{what} (shape {dims_text(dims)}); the profile gives {given[fixed[0]]}")


def dynamic_node_cases(path, profile: OptimizationProfile, *, shapes=None, inputs: str = "", seed: int = 0) -> list:
    """The node cases of the model at `path` built with `profile` (its names: this model's graph inputs or node
    X's): per recurrent node, the node at min, opt, max, at every `shapes` run shape and at the `inputs` file's
    shape, all with the node's profile (one engine)."""
    shapes = dict(shapes or {})
    model = read_model(path)
    check_against_model(path, model, profile)
    for name, dims in shapes.items():
        if name not in profile.names:
            raise ValueError(f"--shape {_spec(name, dims)}: with a profile, --shape gives a run shape of an input the "
                             f"profile names ({', '.join(profile.names)}); {name} is not one of them")
        reason = profile.contains({name: dims})
        if reason:
            raise ValueError(f"--shape {_spec(name, dims)}: {reason}")
    points = [(f"{FLAGS[i]} {', '.join(_spec(n, t[i]) for n, t in profile.shapes)}", {n: t[i] for n, t in profile.shapes})
              for i in range(3)]
    points += [(f"--shape {_spec(name, dims)}", {**points[1][1], name: dims}) for name, dims in shapes.items()]
    labels = [what for what, _ in points]
    at = [_cases_at(path, model, point, what, seed) for what, point in points]
    if inputs:
        labels.append(f"--inputs {inputs}")
        at.append(_at(labels[-1], lambda: node_cases(path, inputs=inputs, seed=seed)))
    found = []
    for node, (lo, opt, hi) in enumerate(zip(*at[:3])):
        if opt.problem:  # a weight the graph computes: no backend runs it, one static case says why
            found.append(opt)
            continue
        node_profile = _at(opt.where, lambda: node_profile_of(lo, opt, hi))
        for what, cases in zip(labels, at):
            case = _at(what, lambda: dataclasses.replace(cases[node], profile=node_profile))
            if case not in found:
                found.append(case)
    return found


def _at(what, make):
    try:
        return make()
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _cases_at(path, model, point, what, seed) -> list:
    """The model's node cases with its inputs at `point` (name -> dims): every node's X dims must follow."""
    g = Graph(path, model, {name: dims for name, dims in point.items()})
    for node in model.graph.node:
        if node.op_type not in OPS or not node.input:
            continue
        x = node.input[0]
        dims = point.get(x) or g.types.get(x, (None, None))[1]
        if dims is None or len(dims) != 3 or None in dims[:2]:
            raise ValueError(f"{what}: model {path}: node {node.name or x} ({node.op_type}): shape inference does not "
                             f"determine its X {x!r} from the profile (it gives {dims_text(dims or (None,) * 3)}); "
                             f"give the node's X in the profile instead: --min-shapes {x}=DIMS --opt-shapes {x}=DIMS "
                             f"--max-shapes {x}=DIMS")
    return _at(what, lambda: node_cases(path, shapes=point, seed=seed))


def node_profile_of(lo, opt, hi) -> OptimizationProfile:
    """The profile of one node's one-node model from the node's cases at min, opt and max: `X`, and the
    `sequence_lens`, `initial_h`, `initial_c` it feeds, batch following X."""
    def x(case):
        return (case.batch_size, case.seq_length, case.input_size) if case.layout else \
            (case.seq_length, case.batch_size, case.input_size)

    def state(case):
        return (case.batch_size, case.D, case.hidden_size) if case.layout else (case.D, case.batch_size, case.hidden_size)

    points = (lo, opt, hi)
    shapes = {"X": tuple(x(c) for c in points)}
    if opt.sequence_lens != "none":
        shapes["sequence_lens"] = tuple((c.batch_size,) for c in points)
    for name in ("initial_h", "initial_c"):
        if getattr(opt, name):
            shapes[name] = tuple(state(c) for c in points)
    return OptimizationProfile(tuple(shapes.items()))


def symbolic_hint(paths, shapes=None) -> list[str]:
    """One line per model with symbolic graph input dims, run here at one shape: the flags that would test it as
    deployed, an example profile built around its `--shape` (else 4 per symbolic dim)."""
    lines = []
    for path in dict.fromkeys(paths):
        model = read_model(path)
        declared = declared_dims(model)
        symbolic = {name: dims for name, dims in declared.items() if None in dims}
        if not symbolic:
            continue
        examples = {}
        for name, dims in symbolic.items():
            given = (shapes or {}).get(name, ())
            opt = tuple(d if d is not None else given[i] if i < len(given) else 4 for i, d in enumerate(dims))
            examples[name] = (tuple(1 if d is None else d for d in dims), opt,
                              tuple(2 * o if d is None else d for d, o in zip(dims, opt)))
        flags = " ".join(f"--{field}-shapes {_spec(name, triple[i])}" for i, field in enumerate(FIELDS)
                         for name, triple in examples.items())
        inputs = ", ".join(f"{name} {_named_dims(model, name)}" for name in symbolic)
        lines.append(f"model {path}: symbolic dims ({inputs}) run at one shape here; to test it as deployed (one engine "
                     f"with an optimization profile, run at min, opt and max), add e.g. {flags}")
    return lines


def _named_dims(model, name) -> str:
    """A graph input's declared dims as the file writes them: `(batch, seq, 8)`, `?` where a dim is unnamed."""
    value = next(v for v in model.graph.input if v.name == name)
    return "(" + ", ".join(str(d.dim_value) if d.HasField("dim_value") else d.dim_param or "?"
                           for d in value.type.tensor_type.shape.dim) + ")"
