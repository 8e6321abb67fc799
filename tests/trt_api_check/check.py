"""Check recorded API uses against one real TensorRT version's API (as `describe.py` printed it).

A read needs the class and attribute; a write a writable property; a call one pybind11 overload
that fits (arity, keyword names, argument kinds: int, float, bool, str, bytes, NumPy arrays or
`Weights`, enums, tensors and other API classes, `Dims` as tuples, lists of them). Attributes the
version lacks are played as absent under TensorRT-RTX (`scenarios.record(hidden)`), so that a
probe's fallback runs and is checked too, and an unguarded read fails its scenario.
"""

from __future__ import annotations

import re

from . import scenarios

PREFIXES = re.compile(r"\b(?:tensorrt_bindings\.tensorrt|tensorrt_bindings|tensorrt|numpy|typing_extensions|typing"
                      r"|collections\.abc)\.")
ALIASES = {"SupportsInt": "int", "SupportsFloat": "float", "Buffer": "bytes"}  # newer pybind11's annotations
DIMS = {"Dims", "Dims2", "Dims3", "Dims4", "DimsHW", "Dims32", "Dims64", "Permutation"}
VERBS = {"read": "read", "write": "written", "call": "called"}
ANY = {"", "object", "Any", "capsule", "handle", "Callable"}


class Api:
    """One version's API: classes with their attributes, module-level names, its version string."""

    def __init__(self, description: dict):
        self.version = description["version"]
        self.classes = description["classes"]
        self.module = description["module"]

    def entry(self, owner, attr):
        if owner == "":
            if attr in self.classes:
                return {"kind": "class"}
            return self.module.get(attr)
        cls = self.classes.get(owner)
        return None if cls is None else cls["attrs"].get(attr)

    def has(self, owner, attr) -> bool:
        return self.entry(owner, attr) is not None

    def is_a(self, kind, cls) -> bool:
        return kind == cls or (kind in self.classes and cls in self.classes[kind]["bases"])

    def signatures(self, owner, attr):
        if owner and attr == "__init__" or owner == "" and attr in self.classes:
            cls = owner or attr
            return self.classes[cls]["attrs"].get("__init__", {}).get("signatures", [])
        entry = self.entry(owner, attr) or {}
        return entry.get("signatures", [])


def split_top(text, sep=","):
    """Split `text` at `sep` outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[(<{"
        depth -= ch in "])>}"
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts]


def parameters(signature):
    """[(name, annotation, has_default)] of a signature's text (`self: X, a: int = 0`)."""
    params = []
    for part in split_top(signature):
        name, _, rest = part.partition(":")
        annotation, eq, _ = rest.partition("=")
        if "=" in name:  # an unannotated default: `x=1`
            name, eq = name.split("=")[0], "="
        params.append((name.strip(), PREFIXES.sub("", annotation).strip(), bool(eq)))
    return params


def accepts(api, annotation, kind) -> bool:
    """Whether a pybind11 parameter annotated `annotation` takes an argument of `kind` (a recorder kind)."""
    ann = ALIASES.get(annotation.strip(), annotation.strip())
    if ann in ANY:
        return True
    m = re.fullmatch(r"Optional\[(.*)\]", ann)
    if m:
        return kind == "None" or accepts(api, m.group(1), kind)
    m = re.fullmatch(r"(?:List|Sequence|list|Tuple|tuple)\[(.*)\]", ann)
    if m:
        km = re.fullmatch(r"(?:list|tuple)\[(.*)\]", kind)
        return km is not None and all(accepts(api, m.group(1), k) for k in split_top(km.group(1)))
    if ann == "float":
        return kind in ("int", "float")
    if ann in ("bytes", "buffer"):
        return kind in ("bytes", "ndarray")
    if ann in DIMS:
        km = re.fullmatch(r"(?:list|tuple)\[(int)?\]", kind)
        return km is not None or kind in DIMS
    if ann == "Weights":
        return kind in ("Weights", "ndarray")
    if ann in ("ndarray", "array"):
        return kind == "ndarray"
    if ann in api.classes:
        return api.is_a(kind, ann)
    return kind == ann


def fits(api, signature, event) -> bool:
    params = parameters(signature)
    if params and params[0][0] == "self" and not event.unbound:
        params = params[1:]
    if any(name.startswith("*") for name, _, _ in params):
        return True
    if len(event.args) > len(params):
        return False
    named = {name: annotation for name, annotation, _ in params}
    for (name, annotation, _), kind in zip(params, event.args):
        if not accepts(api, annotation, kind):
            return False
    rest = {name: default for name, _, default in params[len(event.args):]}
    for name, kind in event.kwargs:
        if name not in rest or not accepts(api, named[name], kind):
            return False
        rest.pop(name)
    return all(rest.values())


def setter_takes(api, entry, kind) -> bool:
    """Whether a property's setter (`(arg0: X, arg1: T)`) takes a value of `kind`; True where unknown."""
    params = parameters(entry.get("setter") or "")
    return len(params) < 2 or accepts(api, params[1][1], kind)


def semantic(api, event):
    """Problems no signature shows: an implicit-batch network where TensorRT still has implicit batch."""
    if event.op == "call" and (event.owner, event.attr) == ("Builder", "create_network"):
        flags = event.values[0] if event.values else 0
        members = api.classes.get("NetworkDefinitionCreationFlag", {}).get("members", {})
        implicit_batch_exists = api.has("Builder", "max_batch_size")  # implicit batch left with it, in 10.0
        if implicit_batch_exists and "EXPLICIT_BATCH" in members and isinstance(flags, int) \
                and not flags & (1 << members["EXPLICIT_BATCH"]):
            return (f"flags={flags} make an implicit-batch network; the loop and ONNX paths need "
                    "NetworkDefinitionCreationFlag.EXPLICIT_BATCH here")
    return None


def absent_enums(api) -> dict:
    """Every enum class and member of this version that the installed TensorRT(-RTX) lacks, revealed at
    once (revealing what the suite never reads changes nothing; it saves replaying round by round)."""
    from trt_cases.networks import trt_api

    here = trt_api.load().module
    out = {}
    for name, cls in api.classes.items():
        if not cls.get("enum"):
            continue
        mine = getattr(here, name, None)
        if mine is None:
            out["", name] = {"enum": cls["members"]}
        else:
            out.update({(name, m): v for m, v in cls["members"].items() if not hasattr(mine, m)})
    return out


def revealable(api, owner, attr):
    """How the recorder plays `owner.attr`, absent in TensorRT-RTX, when this version has it (or None)."""
    if owner == "" and api.classes.get(attr, {}).get("enum"):
        return {"enum": api.classes[attr]["members"]}
    members = api.classes.get(owner, {}).get("members", {})
    if attr in members:
        return members[attr]
    if (api.entry(owner, attr) or {}).get("kind") == "callable" and owner:
        return "method"
    return None


def unreachable(api, event) -> bool:
    """A layer class read for a LayerType this version lacks (the executor reads the class of each layer
    it meets): no network of this version has such a layer, so the read cannot happen here."""
    from trt_cases.executor.graph import CLASSES

    kinds = {cls: kind for kind, cls in CLASSES.items()}
    layer_types = api.classes.get("LayerType", {}).get("members", {})
    layer_class = event.attr if event.owner == "" else event.owner
    return layer_class in kinds and kinds[layer_class] not in layer_types


def problems_of(api, events, failures):
    """{(symbol, what): sites} for every recorded use the version does not support."""
    found = {}

    def add(symbol, what, event):
        found.setdefault((symbol, what), set()).add(f"{VERBS[event.op]} by {event.site}")

    for name, exc in failures.items():
        cause = scenarios.hidden_cause(exc)
        if cause is not None:
            add(cause.event.symbol, "no such attribute, and no fallback", cause.event)
        else:
            found.setdefault((f"scenario {name!r}", f"fails on this version's API: {type(exc).__name__}: {exc}"), set())
    for event in set(events):
        if event.hidden or event.absent_here or unreachable(api, event):
            continue
        if event.owner and event.owner not in api.classes:
            add(event.symbol, f"no class {event.owner}", event)
            continue
        if event.op in ("read", "write") and not api.has(event.owner, event.attr):
            add(event.symbol, "no such attribute", event)
        elif event.op == "write" and not api.entry(event.owner, event.attr).get("writable", False):
            add(event.symbol, "read-only attribute", event)
        elif event.op == "write" and not setter_takes(api, api.entry(event.owner, event.attr), event.args[0]):
            add(event.symbol, f"its setter does not take {event.args[0]} "
                              f"({api.entry(event.owner, event.attr)['setter']})", event)
        elif event.op == "call":
            sigs = api.signatures(event.owner, event.attr)
            if sigs and not any(fits(api, s, event) for s in sigs):
                kinds = ", ".join(list(event.args) + [f"{k}={v}" for k, v in event.kwargs])
                add(event.symbol, f"no overload takes ({kinds}); it has {' | '.join(sigs)}", event)
        what = semantic(api, event)
        if what:
            add(event.symbol, what, event)
    return found


def check_version(api, baseline, record=scenarios.record, rounds=12):
    """Play the suite against `api`: hide what it lacks, re-record, check. Returns (problems, guarded).

    `problems`: readable lines; `guarded`: symbols the version lacks that the suite probes and falls back from,
    and symbols it has that TensorRT-RTX lacks, whose branch was played with stand-ins.
    """
    events, failures = baseline
    hidden, revealed, upfront = set(), {}, absent_enums(api)  # what the current `events` were played with
    revealed_all = []
    for _ in range(rounds):
        lacking = {(e.owner, e.attr) for e in events if e.op in ("read", "write") and not e.absent_here
                   and not api.has(e.owner, e.attr) and not unreachable(api, e)}
        extra = {(e.owner, e.attr): spec for e in events if e.absent_here
                 and (spec := revealable(api, e.owner, e.attr)) is not None}
        if lacking <= hidden and extra.keys() <= revealed.keys():
            break
        hidden |= lacking
        revealed = {**upfront, **revealed, **extra}
        events, failures = record(frozenset(hidden), revealed)
        revealed_all = sorted({e.symbol for e in events if (e.owner, e.attr) in revealed})
    problems = problems_of(api, events, failures)
    lines = [f"{api.version}: {symbol}: {what}" + (f" ({', '.join(sorted(sites))})" if sites else "")
             for (symbol, what), sites in sorted(problems.items())]
    failed_symbols = {symbol for symbol, _ in problems}
    guarded = sorted({f"{e.symbol} ({e.site})" for e in events if e.hidden and e.symbol not in failed_symbols})
    return lines, guarded + [f"{symbol} (absent in the TensorRT used to record; played as present)"
                             for symbol in revealed_all]
