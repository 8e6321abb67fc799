"""Localise a disagreement: per layer and direction, the first timestep and gate (or state h/c) where
a network's simulated per-step values depart from the reference's.

The network side asks the executor for the loop builder's named tensors (`input/L0.fwd.gate.INPUT`,
`input/L0.fwd.h`, ...; see `trt_cases.loop_builder`), each stacked over the loop's iterations. The
reference side runs the reference's own pieces (`stack_parameters`, the cell step functions and
`reference.scan.scan`) layer by layer, recording each step's arguments: the state after step k is
what step k+1 received (or what the scan returned, after the last one), so masking and the backward
start at `len-1` are the reference's, not re-implemented here. A gate's value is its pre-activation,
computed from the recorded previous state with the cell equations of `reference.cells`. Iteration
k is timestep k forward, S-1-k backward.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from reference import GATES, RNNDirection, RNNInputMode, RNNOperation
from reference.cells import sigmoid
from reference.rnn_v2 import STEPS, stack_parameters
from reference.scan import scan

from ..case import Case
from ..compare import ROUNDING, SENSITIVITY_FACTOR, TOLERANCE, sensitivity
from ..networks import build_network
from . import execute

DIRECTIONS = ("fwd", "bwd")
TRACEABLE_PATHS = ("loop", "drop-in")  # the paths whose networks carry the loop builder's names


@dataclasses.dataclass(frozen=True)
class StepVerdict:
    """Where one layer index first departs from the reference (truthy when it never does)."""
    layer: int
    direction: str  # "fwd" or "bwd"
    steps: int
    compared: tuple  # what was compared at each step, e.g. ("gate INPUT", "h")
    timestep: int | None = None  # None: agrees
    iteration: int | None = None
    what: str = ""
    index: tuple = ()  # (sequence, unit) of the worst element
    observed: float = float("nan")
    expected: float = float("nan")
    allowed: float = 0.0

    def __bool__(self) -> bool:
        return self.timestep is None

    def line(self) -> str:
        where = f"layer {self.layer} {self.direction}"
        if self:
            return f"{where}: agrees over {self.steps} timesteps ({', '.join(self.compared)})"
        return (f"{where}: departs at timestep {self.timestep} (iteration {self.iteration} of {self.steps}) in "
                f"{self.what}, sequence {self.index[0]} unit {self.index[1]}: simulated {self.observed!r}, "
                f"reference {self.expected!r} (|error| {abs(self.observed - self.expected):.3e} > "
                f"allowed {self.allowed:.3e})")


def trace(case: Case, path: str = "loop") -> list[StepVerdict]:
    """For each layer and direction of `case`'s network on `path`, where it first departs from the reference."""
    if path not in TRACEABLE_PATHS:
        raise ValueError(f"trace needs the loop builder's tensor names; path {path!r} has none "
                         f"(allowed: {', '.join(TRACEABLE_PATHS)})")
    expected = reference_steps(case)
    observed = network_steps(case, path)
    spread = SENSITIVITY_FACTOR * sensitivity(case, ROUNDING["float64"])
    return [first_departure(case, key, observed[key], expected[key], spread) for key in expected]


def network_steps(case: Case, path: str) -> dict:
    """The simulated per-step values of `case`'s network: (layer, direction) -> name -> (steps, N, H)."""
    net = build_network(case, path)
    names = {(layer, d): {what: f"input/L{layer}.{DIRECTIONS[d]}.{what}" for what in _labels(case)}
             for layer in range(case.layer_count) for d in range(case.K)}
    wanted = {name for labels in names.values() for name in labels.values()}
    values = execute(net.network, net.feeds, keep=wanted.__contains__, rounding="none")  # exact: float64 tolerance
    for key, labels in names.items():
        if labels["h"] not in values:
            raise ValueError(f"the {path} network of {case.id} has no tensor {labels['h']!r}")
    return {key: {what: values[name] for what, name in labels.items() if name in values}
            for key, labels in names.items()}


def _labels(case):
    """The per-step values traced, in the order they are checked: gates, then h, then c for LSTM."""
    op = RNNOperation[case.op]
    return [f"gate.{gate.name}" for gate in GATES[op]] + ["h"] + (["c"] if op is RNNOperation.LSTM else [])


def reference_steps(case: Case, materials=None) -> dict:
    """The reference's per-step values: (layer, direction) -> name -> (steps, N, H), in processing order."""
    m = case.materialise() if materials is None else materials
    op, K, L, H, S = RNNOperation[case.op], case.K, case.layer_count, case.hidden_size, case.max_seq_length
    layers = stack_parameters(m.weights, m.biases, op=op, layer_count=L, hidden_size=H, data_length=case.data_length,
                              direction=RNNDirection[case.direction], input_mode=RNNInputMode[case.input_mode])
    N = int(np.prod(case.batch_dims, dtype=np.int64))
    x = m.input.reshape(N, S, case.data_length).transpose(1, 0, 2)
    lengths = None if m.seq_lengths is None else m.seq_lengths.reshape(N)
    h0, c0 = (np.zeros((N, L * K, H)) if v is None else v.reshape(N, L * K, H) for v in (m.hidden_state, m.cell_state))
    steps = {}
    with np.errstate(all="ignore"):
        for layer in range(L):
            halves = []
            for d in range(K):
                p = layers[K * layer + d]
                xw = (np.tile(x, len(GATES[op])) if p.W is None else x @ p.W.T) + p.Wb
                calls = []
                out, h, c = scan(_recording(STEPS[op], calls), xw, h0[:, K * layer + d], c0[:, K * layer + d],
                                 p.R, p.Rb, lengths, reverse=d == 1)
                steps[(layer, d)] = _per_step(op, calls, h, c, p)
                halves.append(out)
            x = np.concatenate(halves, axis=-1)
    return steps


def _recording(step, calls):
    """`step`, recording the arguments (xw_t, h, c) of every call in `calls`."""
    def recorded(xw_t, h, c, R, Rb):
        calls.append((xw_t, h, c))
        return step(xw_t, h, c, R, Rb)
    return recorded


def _per_step(op, calls, h_last, c_last, p):
    """Gates from each call's arguments; the state after call k is the state call k+1 received."""
    gates = [gate_values(op, xw_t, h, p.R, p.Rb) for xw_t, h, _ in calls]
    record = {f"gate.{gate.name}": np.stack([g[k] for g in gates]) for k, gate in enumerate(GATES[op])}
    record["h"] = np.stack([h for _, h, _ in calls[1:]] + [h_last])
    if op is RNNOperation.LSTM:
        record["c"] = np.stack([c for _, _, c in calls[1:]] + [c_last])
    return record


def gate_values(op, xw_t, h, R, Rb):
    """Each gate's pre-activation at one step, in `GATES[op]` order (the equations of `reference.cells`)."""
    if op is RNNOperation.GRU:
        xz, xr, xh = np.split(xw_t, 3, axis=-1)
        hz, hr, hh = np.split(h @ R.T + Rb, 3, axis=-1)
        return xz + hz, xr + hr, xh + sigmoid(xr + hr) * hh
    return np.split(xw_t + h @ R.T + Rb, len(GATES[op]), axis=-1)


def first_departure(case, key, observed, expected, spread) -> StepVerdict:
    """The first iteration, and the first value in `_labels` order, where `observed` departs from `expected`."""
    layer, d = key
    labels = [label for label in _labels(case) if label in observed]
    steps = expected["h"].shape[0]
    compared = tuple(label.replace(".", " ") for label in labels)
    allowed = {label: max(TOLERANCE["float64"] * max(1.0, float(np.max(np.abs(expected[label]), initial=0.0))), spread)
               for label in labels}
    for k in range(steps):
        for label in labels:
            a, e = observed[label][k], expected[label][k]
            same = (a == e) | (np.isnan(a) & np.isnan(e))  # equal infinities and NaN in both agree
            error = np.where(same, 0.0, np.abs(a - e))
            error = np.where(np.isnan(error), np.inf, error)
            if np.max(error, initial=0.0) > allowed[label]:
                n, j = np.unravel_index(int(np.argmax(error)), error.shape)
                return StepVerdict(layer, DIRECTIONS[d], steps, compared, k if d == 0 else steps - 1 - k, k,
                                   label.replace(".", " "), (int(n), int(j)), float(observed[label][k][n, j]),
                                   float(expected[label][k][n, j]), allowed[label])
    return StepVerdict(layer, DIRECTIONS[d], steps, compared)
