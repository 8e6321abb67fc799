"""The shrinking steps of `reduce`: from a case, every case one simplification away, biggest cuts first.

A step changes one thing and never grows another, so a chain of kept steps ends. IRNNv2 cases (`Case`):
fewer layers, one direction, fewer batch dims and sequences (`()`, `(1,)`, two, ...), shorter S, smaller H
and E (SKIP keeps E == H), lengths dropped or uniform, initial states dropped, weight scale back to 1, the
precision back to fp32. ONNX-operator cases (`OnnxCase`) add every non-default attribute back to its default
(each activation function on its own, then all of them), peepholes and bias dropped, layout 0, and a forward
or reverse node for a bidirectional one. A model node (`NodeCase`) keeps its model's weights and attributes,
so it shrinks S, N and the precision only, and one step swaps the model's weights for drawn ones (an
`OnnxCase` of the same attributes), after which every `OnnxCase` step applies.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

from ..cases.case import Case
from ..cases.model import NodeCase
from ..cases.onnx_case import ACTIVATION_COUNT, OnnxCase


class Step(NamedTuple):
    """One simplification: what it does, in words, and the case it gives."""
    name: str
    case: object


def steps(case) -> list[Step]:
    """Every case one step simpler than `case` (invalid combinations left out), in the order they are tried."""
    if isinstance(case, NodeCase):
        found = _node_steps(case)
    elif isinstance(case, OnnxCase):
        found = _onnx_steps(case)
    elif isinstance(case, Case):
        found = _irnnv2_steps(case)
    else:
        raise TypeError(f"case={case!r}: expected a Case, an OnnxCase or a model's NodeCase")
    valid, seen = [], {_key(case)}
    for name, change in found:
        try:
            shrunk = dataclasses.replace(case, **change) if isinstance(change, dict) else change()
        except (TypeError, ValueError):  # e.g. SKIP needs E == H: not a case, not a step
            continue
        if _key(shrunk) not in seen and _valid_activations(shrunk):
            seen.add(_key(shrunk))
            valid.append(Step(name, shrunk))
    return valid


def sizes(case) -> dict:
    """The sizes a reduction reports: layers, S, batch (the number of sequences), H."""
    if isinstance(case, OnnxCase):
        return {"layers": 1, "S": case.seq_length, "batch": case.batch_size, "H": case.hidden_size}
    return {"layers": case.layer_count, "S": case.max_seq_length, "batch": math.prod(case.batch_dims),
            "H": case.hidden_size}


def _key(case):
    return (type(case).__name__, tuple(sorted((k, str(v)) for k, v in case.to_json().items())))


def smaller(n: int) -> list[int]:
    """Smaller values of a size, smallest first: 1, 2, n // 2, n - 1."""
    return sorted({m for m in (1, 2, n // 2, n - 1) if 1 <= m < n})


def _irnnv2_steps(case: Case):
    found = [(f"layers {case.layer_count} -> {n}", dict(layer_count=n)) for n in smaller(case.layer_count)]
    if case.direction == "BIDIRECTION":
        found.append(("one direction (forward)", dict(direction="UNIDIRECTION")))
    found += [(f"batch dims {_dims(case.batch_dims)} -> {_dims(d)}", dict(batch_dims=d)) for d in _fewer(case.batch_dims)]
    found += [(f"S {case.max_seq_length} -> {n}", dict(max_seq_length=n)) for n in smaller(case.max_seq_length)]
    skip = case.input_mode == "SKIP"
    found += [(f"H {case.hidden_size} -> {n}" + (" (and E: SKIP)" if skip else ""),
               dict(hidden_size=n, **({"data_length": n} if skip else {}))) for n in smaller(case.hidden_size)]
    if not skip:
        found += [(f"E {case.data_length} -> {n}", dict(data_length=n)) for n in smaller(case.data_length)]
    found += _lengths(case.seq_lengths, case.lengths, "seq_lengths", "lengths", False)
    found += [(f"{what} dropped", {name: False}) for name, what in (("hidden_state", "initial hidden state"),
                                                                      ("cell_state", "initial cell state"))
              if getattr(case, name)]
    return found + _data_steps(case)


def _onnx_steps(case: OnnxCase):
    found = []
    if case.direction == "bidirectional":
        found += [(f"one direction ({d})", lambda d=d: _one_direction(case, d)) for d in ("forward", "reverse")]
    elif case.direction == "reverse":
        found.append(("direction reverse -> forward", dict(direction="forward")))
    found += [(f"N {case.batch_size} -> {n}", dict(batch_size=n)) for n in smaller(case.batch_size)]
    found += [(f"S {case.seq_length} -> {n}", dict(seq_length=n)) for n in smaller(case.seq_length)]
    found += [(f"H {case.hidden_size} -> {n}", dict(hidden_size=n)) for n in smaller(case.hidden_size)]
    found += [(f"I {case.input_size} -> {n}", dict(input_size=n)) for n in smaller(case.input_size)]
    if case.layout:
        found.append(("layout 1 -> 0", dict(layout=0)))
    if case.activations:
        found.append(("activations -> the defaults", dict(activations=(), activation_alpha=(), activation_beta=())))
        found += [(f"activation {k} {name} -> the default", lambda k=k: _default_function(case, k))
                  for k, name in enumerate(case.activations) if name != _default_of(case, k)]
        if case.activation_alpha or case.activation_beta:
            found.append(("activation_alpha/beta -> the defaults", dict(activation_alpha=(), activation_beta=())))
    for name, simplest in (("clip", None), ("input_forget", 0), ("linear_before_reset", 0), ("peepholes", False),
                           ("bias", False), ("initial_h", False), ("initial_c", False)):
        if getattr(case, name) != simplest:
            found.append((f"{name} -> 0" if simplest == 0 and simplest is not False else f"{name} dropped",
                          {name: simplest}))
    found += _lengths(case.sequence_lens != "none", case.sequence_lens, "sequence_lens", "sequence_lens", "none")
    return found + _data_steps(case)


def _node_steps(case: NodeCase):
    """A model node keeps what its model stores: S and N shrink only where nothing stored or given fixes them."""
    fields = {f.name for f in dataclasses.fields(OnnxCase)}
    found = [("the model's weights -> drawn ones (an ONNX-operator case of the node's attributes)",
              lambda: OnnxCase(**{name: getattr(case, name) for name in fields}))]
    fixed = bool(case.inputs) or any(s in case.stored for s in ("sequence_lens", "initial_h", "initial_c"))
    if not fixed:
        found += [(f"N {case.batch_size} -> {n}", dict(batch_size=n)) for n in smaller(case.batch_size)]
        found += [(f"S {case.seq_length} -> {n}", dict(seq_length=n)) for n in smaller(case.seq_length)]
    return found + _data_steps(case, weights=False)


def _lengths(on, pattern, flag, field, off):
    """Lengths dropped, or made uniform (all S, all 1) where they are ragged."""
    if not on:
        return []
    found = [("lengths dropped", {flag: off} if off else {flag: False})]
    if pattern == "ragged":
        found += [("lengths uniform (all S)", {field: "full"}), ("lengths uniform (all 1)", {field: "ones"})]
    return found


def _data_steps(case, weights=True):
    found = []
    if weights and case.weight_scale != 1.0:
        found.append((f"weight scale {case.weight_scale:g} -> 1", dict(weight_scale=1.0)))
    if case.precision != "fp32":
        found.append((f"precision {case.precision} -> fp32", dict(precision="fp32")))
    return found


def _fewer(dims: tuple) -> list[tuple]:
    """Batch dims with fewer sequences, or fewer dims for as many: (), (1,), (2,), (n // 2,), each dim dropped."""
    n = math.prod(dims)
    found = [(), (1,)] + [(m,) for m in smaller(n)] + [dims[:i] + dims[i + 1:] for i in range(len(dims))]
    if len(dims) > 1:
        found.append((n,))
    return [d for d in dict.fromkeys(found) if (math.prod(d), len(d)) < (n, len(dims))]


def _dims(dims) -> str:
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


# --- ONNX activation functions, one by one ------------------------------------------------------------

def _functions(case: OnnxCase) -> list[tuple]:
    """`(name, alpha, beta)` per listed function: the parameter lists are consumed in order by the functions that
    take them (`reference.onnx_attributes.PARAMETERS`); None where the list has run out (the function's default)."""
    from reference.onnx_attributes import PARAMETERS

    alphas, betas, found = list(case.activation_alpha), list(case.activation_beta), []
    for name in case.activations:
        takes_alpha, takes_beta = PARAMETERS.get(name, (False, False))
        alpha = alphas.pop(0) if takes_alpha and alphas else None
        beta = betas.pop(0) if takes_beta and betas else None
        found.append((name, alpha, beta))
    return found


def _with_functions(case: OnnxCase, functions, **change) -> OnnxCase:
    alphas = tuple(a for _, a, _ in functions if a is not None)
    betas = tuple(b for _, _, b in functions if b is not None)
    return dataclasses.replace(case, activations=tuple(f for f, _, _ in functions), activation_alpha=alphas,
                               activation_beta=betas, **change)


def _default_of(case: OnnxCase, k: int) -> str:
    from reference.onnx_attributes import DEFAULT_ACTIVATIONS

    return DEFAULT_ACTIVATIONS[case.op][k % ACTIVATION_COUNT[case.op]]


def _default_function(case: OnnxCase, k: int) -> OnnxCase:
    functions = _functions(case)
    functions[k] = (_default_of(case, k), None, None)
    return _with_functions(case, functions)


def _one_direction(case: OnnxCase, direction: str) -> OnnxCase:
    """A bidirectional node as its forward or its reverse half: that direction's activation functions kept."""
    if not case.activations:
        return dataclasses.replace(case, direction=direction)
    n = ACTIVATION_COUNT[case.op]
    functions = _functions(case)
    return _with_functions(case, functions[:n] if direction == "forward" else functions[n:], direction=direction)


def _valid_activations(case) -> bool:
    """Whether the reference takes the case's activation functions and parameters (a step must give a real node)."""
    if not isinstance(case, OnnxCase) or not case.activations and not case.activation_alpha and not case.activation_beta:
        return True
    from reference.onnx_attributes import activation_functions

    try:
        activation_functions(case.op, case.D, list(case.activations) or None, list(case.activation_alpha),
                             list(case.activation_beta))
    except (TypeError, ValueError):
        return False
    return True
