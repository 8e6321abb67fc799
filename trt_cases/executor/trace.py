"""Localise a disagreement: per layer and direction, the first place where a network's values depart
from the reference's: a step's gate, `c` or `h`, the direction's output sequence, the layer's output
after the two directions are concatenated, the network's `output`, or the final `hidden`/`cell`.

What is compared, in this order for each layer index (a departure explains what comes after it):
- **Per step** (loop and drop-in paths, whose tensors the loop builder names `input/L<l>.<fwd|bwd>.<what>`):
  each gate's pre-activation, then `c` (LSTM), then `h`, iteration by iteration. Iteration k is
  timestep k forward, S-1-k backward.
- **Output sequence**: the direction's loop output (loop, drop-in; CONCATENATE or REVERSE) or the
  ONNX node's `layer<l>/Y` direction slice (onnx path), in timestep order: masking past a length and
  the backward half's re-assembly show here.
- **Layer output**: the direction's half of the layer's concatenated output (the CONCATENATION of the
  two loop outputs; `layer<l>/output` on the onnx path): the directions' order shows here.
- **`output`**: the direction's half of the network output (last layer only).
- **Final states**: `layer<l>/Y_h`, `Y_c` (onnx path), then the network outputs `hidden` and `cell`,
  row `layer_index`.

The ONNX parser's loop interior (both directions in one loop, tensors named by a counter such as
`layer0/LSTM_87` or `(Unnamed Layer* 110) [Matrix Multiply]`) has no names that map to gates or
states, so the onnx path is traced from the output sequence on.

ONNX-operator cases and model nodes (`OnnxCase`, `NodeCase`) have the onnx path only, and their network is the
parser's one node: it localises to the direction, the timestep and the output: the direction's slice of `Y`
timestep by timestep in processing order (a reverse node's one direction reads `bwd`), then `Y_h`, then `Y_c`,
against `reference.onnx_rnn`'s outputs (`node_reference_steps`). Gates and per-step states are not mapped.

The reference side runs the reference's own pieces (`stack_parameters`, the cell step functions and
`reference.scan.scan`) layer by layer, recording each step's arguments: the state after step k is
what step k+1 received (or what the scan returned, after the last one), so masking and the backward
start at `len-1` are the reference's, not re-implemented here. A gate's value is its pre-activation.

`trace(case, path)` reads the simulated network (the NumPy executor);
`trt_cases.runners.trace_engine.trace_engine(case, path, runner)` marks the same tensors as outputs of a
real TensorRT engine (`mark_probes`) and compares them with the same reference values (`verdicts`), by name.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from reference import GATES, RNNDirection, RNNInputMode, RNNOperation
from reference.rnn_v2 import STEPS, stack_parameters
from reference.scan import input_contribution, scan

from ..cases.case import Case
from ..cases.onnx_case import OnnxCase
from ..cases.precision import ROUNDING, SENSITIVITY_FACTOR, TOLERANCE, sensitivity
from ..networks.build import build_network
from . import execute

DIRECTIONS = ("fwd", "bwd")
TRACEABLE_PATHS = ("loop", "drop-in", "onnx")
SEQUENCES = ("output sequence", "layer output", "output")  # compared timestep by timestep


@dataclasses.dataclass(frozen=True)
class StepVerdict:
    """Where one layer index first departs from the reference (truthy when it never does)."""
    layer: int
    direction: str  # "fwd" or "bwd"
    steps: int
    compared: tuple  # what was compared, in order, e.g. ("gate INPUT", "c", "h", "output sequence", "hidden")
    timestep: int | None = None  # None for a final state, or when it agrees
    iteration: int | None = None
    what: str = ""  # "": agrees
    index: tuple = ()  # (sequence, unit) of the worst element
    observed: float = float("nan")
    expected: float = float("nan")
    allowed: float = 0.0

    def __bool__(self) -> bool:
        return not self.what

    def line(self) -> str:
        where = f"layer {self.layer} {self.direction}"
        if self:
            return f"{where}: agrees over {self.steps} timesteps ({', '.join(self.compared)})"
        at = (f"at timestep {self.timestep} (iteration {self.iteration} of {self.steps}) "
              if self.timestep is not None else "")
        return (f"{where}: departs {at}in {self.what}, sequence {self.index[0]} unit {self.index[1]}: "
                f"observed {self.observed!r}, reference {self.expected!r} (|error| "
                f"{abs(self.observed - self.expected):.3e} > allowed {self.allowed:.3e})")


@dataclasses.dataclass(frozen=True)
class Probe:
    """One network tensor traced: which layer index and quantity it shows, and how to read it.

    `read(value)` turns the tensor's value into the reference's layout: `(iterations, N, H)` per step,
    `(S, N, H)` for sequences (timestep order), `(N, H)` for final states.
    """
    layer: int
    direction: int
    what: str
    tensor: str
    read: object
    reference: str  # the key of `reference_steps`' record it is compared with
    per_step: bool = False  # a tensor inside a loop: one value per iteration


def trace(case: Case, path: str = "loop", precision: str = "float64") -> list[StepVerdict]:
    """For each layer and direction of `case`'s simulated network on `path`, where it first departs."""
    check_path(path)
    if isinstance(case, OnnxCase) and path != "onnx":
        raise ValueError(f"path={path!r}: {case.id} is an ONNX-operator case; it has the onnx path only")
    net = build_network(case, path)
    found = probes(case, path, net.network)
    values = execute(net.network, net.feeds, keep={p.tensor for p in found},
                     rounding="none")  # exact: the float64 tolerance
    return verdicts(case, found, values, precision)


def check_path(path):
    if path not in TRACEABLE_PATHS:
        raise ValueError(f"path={path!r}; allowed: {', '.join(TRACEABLE_PATHS)} (the native IRNNv2Layer has "
                         "no loop structure to trace)")


# --- the network side: which tensors show what ------------------------------------------------------

def probes(case: Case, path: str, network) -> list[Probe]:
    """The tensors of `network` (built for `case` along `path`) that map to reference quantities."""
    from ..networks import trt_api
    from .graph import Loop, read

    graph = read(network, trt_api.load().module)
    if isinstance(case, OnnxCase):
        return _present(_node_probes(case), graph, path, case)
    N, S, H, L, K = _sizes(case)
    found = []
    if path == "onnx":
        for layer in range(L):
            for d in range(K):
                found += [Probe(layer, d, "output sequence", f"layer{layer}/Y", lambda v, d=d: v[:, d], "sequence"),
                          Probe(layer, d, "layer output", f"layer{layer}/output", lambda v, d=d: _half(v, d, H), "sequence"),
                          Probe(layer, d, "Y_h", f"layer{layer}/Y_h", lambda v, d=d: v[d], "final h")]
                if case.op == "LSTM":
                    found.append(Probe(layer, d, "Y_c", f"layer{layer}/Y_c", lambda v, d=d: v[d], "final c"))
    else:
        loops = {step.name: step for step in graph.schedule if isinstance(step, Loop)}
        concats = [step for step in graph.schedule if not isinstance(step, Loop) and step.kind == "CONCATENATION"]
        for layer in range(L):
            sequences = {}
            for d in range(K):
                scope = f"input/L{layer}.{DIRECTIONS[d]}"
                for label in _step_labels(case):
                    found.append(Probe(layer, d, label.replace(".", " "), f"{scope}.{label}", lambda v: v, label, per_step=True))
                loop = loops.get(scope)
                sequence = None if loop is None else next(
                    (rec.outputs[0] for rec in loop.outputs if rec.layer.kind.name in ("CONCATENATE", "REVERSE")), None)
                if sequence is not None:
                    sequences[d] = sequence
                    found.append(Probe(layer, d, "output sequence", sequence, lambda v: v.transpose(1, 0, 2), "sequence"))
            concat = next((c for c in concats if len(sequences) == K == 2 and set(sequences.values()) <= set(c.inputs)), None)
            if concat is not None:
                found += [Probe(layer, d, "layer output", concat.outputs[0],
                                lambda v, d=d: _half(v.transpose(1, 0, 2), d, H), "sequence") for d in range(K)]
    for layer in range(L):
        for d in range(K):
            if layer == L - 1:
                found.append(Probe(layer, d, "output", "output",
                                   lambda v, d=d: _half(v.reshape(N, S, K * H).transpose(1, 0, 2), d, H), "sequence"))
            index = K * layer + d
            found += [Probe(layer, d, name, name, lambda v, i=index: v.reshape(N, L * K, H)[:, i], f"final {name[0]}")
                      for name in (("hidden", "cell") if case.op == "LSTM" else ("hidden",))]
    return _present(found, graph, path, case)


def _present(found, graph, path, case):
    missing = sorted({p.tensor for p in found} - set(graph.tensors))
    if missing:
        raise ValueError(f"the {path} network of {case.id} lacks the traced tensors {missing}")
    return found


def _node_probes(case: OnnxCase) -> list[Probe]:
    """An ONNX node's outputs per direction: `Y`'s direction slice `(S, N, H)`, `Y_h`, `Y_c` `(N, H)`."""
    found = []
    for i, d in enumerate(_node_directions(case)):
        sequence = (lambda v, i=i: v[:, :, i].transpose(1, 0, 2)) if case.layout else (lambda v, i=i: v[:, i])
        state = (lambda v, i=i: v[:, i]) if case.layout else (lambda v, i=i: v[i])
        found.append(Probe(0, d, "output sequence", "Y", sequence, "sequence"))
        found += [Probe(0, d, name, name, state, f"final {name[-1]}") for name in case.output_names[1:]]
    return found


def _node_directions(case: OnnxCase) -> tuple:
    """The trace's direction index of each of the node's directions: a reverse node's one direction is `bwd`."""
    return {"forward": (0,), "reverse": (1,), "bidirectional": (0, 1)}[case.direction]


def mark_probes(network, found) -> dict:
    """Mark every probed tensor as a network output; return tensor name -> output name.

    A tensor inside a loop cannot be an output: it gets a CONCATENATE loop output on a new axis 0 (one
    slice per iteration, in iteration order, as the executor stacks them), marked as `trace/<name>`.
    """
    from ..networks import trt_api

    trt = trt_api.load().module
    tensors, loops = {}, {}
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for k in range(layer.num_outputs):
            tensors[layer.get_output(k).name] = layer.get_output(k)
    marked = {network.get_output(i).name for i in range(network.num_outputs)}
    outputs = {}
    for probe in found:
        if probe.tensor in outputs:
            continue
        tensor = tensors[probe.tensor]
        if probe.per_step:
            loop, trip = loops.get(_scope(probe.tensor)) or _loop_of(network, trt, probe.tensor, loops)
            out = loop.add_loop_output(tensor, trt.LoopOutput.CONCATENATE, 0)
            out.set_input(1, trip)
            tensor = out.get_output(0)
            tensor.name = f"trace/{probe.tensor}"
        if tensor.name not in marked:
            network.mark_output(tensor)
            marked.add(tensor.name)
        outputs[probe.tensor] = tensor.name
    return outputs


def _scope(name):
    """The loop a loop builder name belongs to: `input/L0.fwd.h`, `input/L0.fwd.gate.INPUT` -> `input/L0.fwd`."""
    head, _, tail = name.partition("/")
    return f"{head}/{'.'.join(tail.split('.')[:2])}"


def _loop_of(network, trt, name, loops):
    """The ILoop holding loop builder tensor `name`, and its trip count tensor."""
    scope = _scope(name)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type.name == "TRIP_LIMIT":
            layer.__class__ = trt.ITripLimitLayer
            if layer.loop.name == scope:
                loops[scope] = (layer.loop, layer.get_input(0))
                return loops[scope]
    raise ValueError(f"no loop named {scope!r} holds tensor {name!r}")


def _half(v, d, H):
    return v[..., d * H:(d + 1) * H]


def _sizes(case):
    return (int(np.prod(case.batch_dims, dtype=np.int64)), case.max_seq_length, case.hidden_size,
            case.layer_count, case.K)


def _step_labels(case):
    """The per-step values traced, in the order they are checked: gates, then c (LSTM), then h."""
    op = RNNOperation[case.op]
    return [f"gate.{gate.name}" for gate in GATES[op]] + (["c"] if op is RNNOperation.LSTM else []) + ["h"]


# --- the reference side -----------------------------------------------------------------------------

def node_reference_steps(case: OnnxCase, materials=None) -> dict:
    """An ONNX node's reference values, as `reference_steps` names them: (0, direction) -> `sequence` `(S, N, H)`,
    `final h`, `final c` `(N, H)` (read from `reference.onnx_rnn`'s Y, Y_h, Y_c by `_node_probes`' readers)."""
    outputs = dict(zip(case.output_names, case.reference(materials)))
    return {(0, d): {p.reference: p.read(outputs["Y" if p.reference == "sequence" else p.tensor])
                     for p in _node_probes(case) if p.direction == d} for d in _node_directions(case)}


def reference_steps(case: Case, materials=None) -> dict:
    """The reference's values: (layer, direction) -> name -> array.

    Per step (iteration order, `(steps, N, H)`): `gate.<GATE>` (pre-activations), `c` (LSTM), `h`;
    `sequence`, the direction's output in timestep order `(S, N, H)`; `final h`, `final c` `(N, H)`.
    """
    m = case.materialise() if materials is None else materials
    op, K, L, H, S = RNNOperation[case.op], case.K, case.layer_count, case.hidden_size, case.max_seq_length
    layers = stack_parameters(m.weights, m.biases, op=op, layer_count=L, hidden_size=H, data_length=case.data_length,
                              direction=RNNDirection[case.direction], input_mode=RNNInputMode[case.input_mode])
    N = int(np.prod(case.batch_dims, dtype=np.int64))
    x = m.input.reshape(N, S, case.data_length).transpose(1, 2, 0)  # feature-major (S, E, N), as the scan runs
    lengths = None if m.seq_lengths is None else m.seq_lengths.reshape(N)
    h0, c0 = (np.zeros((N, L * K, H)) if v is None else v.reshape(N, L * K, H) for v in (m.hidden_state, m.cell_state))
    steps = {}
    with np.errstate(all="ignore"):
        for layer in range(L):
            halves = []
            for d in range(K):
                p = layers[K * layer + d]
                xw, Rb = input_contribution("GRU" if op is RNNOperation.GRU else "RNN", x, p.W, p.R, p.Wb, p.Rb)
                p = p._replace(Rb=Rb)  # the reference's arithmetic: for RNN and LSTM the step adds Wb + Rb
                calls = []
                out, h, c = scan(_recording(STEPS[op], calls), xw, h0[:, K * layer + d].T, c0[:, K * layer + d].T,
                                 p.R, p.Rb, lengths, reverse=d == 1)
                steps[(layer, d)] = {**_per_step(op, calls, h, c, p), "sequence": out.transpose(0, 2, 1),
                                     "final h": h.T, "final c": c.T}
                halves.append(out)
            x = np.concatenate(halves, axis=1)
    return steps


def _recording(step, calls):
    """`step`, recording the arguments (xw_t, h, c) of every call in `calls` (copies: the scan reuses its
    state buffers)."""
    def recorded(xw_t, h, c, R, Rb, **buffers):
        calls.append((xw_t, h.copy(), c.copy()))
        return step(xw_t, h, c, R, Rb, **buffers)
    return recorded


def _per_step(op, calls, h_last, c_last, p):
    """Gates from each call's arguments; the state after call k is the state call k+1 received. The scan's
    values are feature-major `(H, N)`; the records are `(steps, N, H)`."""
    gates = [gate_values(op, xw_t, h, p.R, p.Rb) for xw_t, h, _ in calls]
    record = {f"gate.{gate.name}": np.stack([g[k].T for g in gates]) for k, gate in enumerate(GATES[op])}
    record["h"] = np.stack([h.T for _, h, _ in calls[1:]] + [h_last.T])
    if op is RNNOperation.LSTM:
        record["c"] = np.stack([c.T for _, _, c in calls[1:]] + [c_last.T])
    return record


def gate_values(op, xw_t, h, R, Rb):
    """Each gate's pre-activation `(H, N)` at one step, in `GATES[op]` order (the equations of `reference.cells`,
    feature-major as they run: `xw_t` `(G*H, N)`, `h` `(H, N)`, `Rb` `(G*H, N)` or None)."""
    from reference.cells import sigmoid

    if op is RNNOperation.GRU:
        xz, xr, xh = np.split(xw_t, 3, axis=0)
        hz, hr, hh = np.split(R @ h + Rb, 3, axis=0)
        return xz + hz, xr + hr, xh + sigmoid(xr + hr) * hh
    a = xw_t + R @ h
    return np.split(a if Rb is None else a + Rb, len(GATES[op]), axis=0)  # Rb None: already in xw_t


# --- comparing ----------------------------------------------------------------------------------------

def verdicts(case: Case, found, values: dict, precision: str = "float64") -> list[StepVerdict]:
    """Per layer index, the first probe (in `found` order, per-step ones iteration by iteration) that departs."""
    expected = node_reference_steps(case) if isinstance(case, OnnxCase) else reference_steps(case)
    if isinstance(case, OnnxCase):
        _same_shapes(case, values)
    spread = SENSITIVITY_FACTOR * sensitivity(case, ROUNDING[precision])
    result = []
    for (layer, d), record in expected.items():
        mine = [p for p in found if (p.layer, p.direction) == (layer, d)]
        pairs = [(p.what, np.asarray(p.read(values[p.tensor]), dtype=np.float64), record[p.reference], p.per_step)
                 for p in mine]
        result.append(first_departure(case, (layer, d), pairs, spread, precision))
    return result


def _same_shapes(case: OnnxCase, values: dict) -> None:
    """A node's network whose outputs have other shapes than ONNX's departs before any value: said in one line."""
    from ..networks.onnx_node import output_shapes

    for name, shape in zip(case.output_names, output_shapes(case)):
        if name in values and np.shape(values[name]) != tuple(shape):
            raise ValueError(f"{case.id}: the network's {name} has shape {np.shape(values[name])}, ONNX's is {tuple(shape)} "
                             "(layout, direction or batch read otherwise): no value is comparable")


def first_departure(case, key, pairs, spread, precision="float64") -> StepVerdict:
    """The first departure among `pairs` `(what, observed, expected, per_step)`: per-step values iteration
    by iteration (in `pairs` order within an iteration), then each sequence timestep by timestep in
    processing order, then each final state."""
    layer, d = key
    S = case.max_seq_length
    compared = tuple(what for what, *_ in pairs)
    allowed = {what: max(TOLERANCE[precision] * max(1.0, float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0))), spread)
               for what, _, e, _ in pairs}
    stepwise = [pair for pair in pairs if pair[3]]
    for k in range(S):
        for what, a, e, _ in stepwise:
            verdict = _departs(a[k], e[k], allowed[what])
            if verdict:
                return _verdict(layer, d, S, compared, what, k, verdict, allowed[what])
    for what, a, e, _ in (pair for pair in pairs if pair[0] in SEQUENCES):
        for t in (range(S) if d == 0 else range(S - 1, -1, -1)):  # in processing order
            verdict = _departs(a[t], e[t], allowed[what])
            if verdict:
                return _verdict(layer, d, S, compared, what, t if d == 0 else S - 1 - t, verdict, allowed[what])
    for what, a, e, _ in (pair for pair in pairs if not pair[3] and pair[0] not in SEQUENCES):
        verdict = _departs(a, e, allowed[what])
        if verdict:
            return _verdict(layer, d, S, compared, f"{what} (final state)", None, verdict, allowed[what])
    return StepVerdict(layer, DIRECTIONS[d], S, compared)


def _departs(a, e, allowed):
    """`(index, observed, expected)` of the worst element of `a` against `e` if it exceeds `allowed`, else None."""
    same = (a == e) | (np.isnan(a) & np.isnan(e))  # equal infinities and NaN in both agree
    with np.errstate(invalid="ignore"):
        error = np.where(same, 0.0, np.abs(a - e))
    error = np.where(np.isnan(error), np.inf, error)
    if np.max(error, initial=0.0) <= allowed:
        return None
    index = np.unravel_index(int(np.argmax(error)), error.shape)
    return tuple(int(i) for i in index), float(a[index]), float(e[index])


def _verdict(layer, d, S, compared, what, iteration, found, allowed):
    index, observed, expected = found
    timestep = None if iteration is None else (iteration if d == 0 else S - 1 - iteration)
    return StepVerdict(layer, DIRECTIONS[d], S, compared, timestep, iteration, what, index, observed, expected, allowed)
