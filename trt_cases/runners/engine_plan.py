"""Which engine serves which case, when one engine serves many: the shared engines of a run.

A shared engine is built for a structure, not for a case: op, direction, input mode, layers, H, E and the number
of batch dims (`networks.engine_cache.engine_structure`), on the loop path (the one that takes weights as
inputs), with weights, lengths and states as network inputs and dynamic batch and sequence dims. Every static
IRNNv2 case of that structure runs on it: a case without lengths is fed lengths S (the same computation), one
without initial states is fed zeros (TensorRT's default). The engine's profile covers every planned case
(`OptimizationProfile.covering`), so it is built once, for all of them.

`plan(cases, ...)` is cheap (no network is built); the TensorRT runner and the build check use the same plan, so
`build-loop*` on a CPU builds exactly the engines `tensorrt-loop-*` would.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..cases.case import Case, Materials
from ..cases.dynamic import profile_for
from ..cases.profile import OptimizationProfile
from ..networks.engine_cache import engine_structure


@dataclasses.dataclass(frozen=True)
class SharedEngine:
    """One engine of a plan: its key, the case its network is built from (every input present, at the profile's
    opt shape, the profile attached) and the profile."""
    key: str
    case: Case
    profile: OptimizationProfile


def with_every_input(case: Case) -> Case:
    """`case` with lengths, initial hidden state and (LSTM) initial cell state as inputs: the shared engine's form."""
    return dataclasses.replace(case, seq_lengths=True, hidden_state=True, cell_state=case.op == "LSTM", profile=None)


def every_input(case: Case, m: Materials) -> Materials:
    """`m` with the inputs the case leaves out made explicit: lengths S, zero initial states."""
    batch, states = case.batch_dims, case.batch_dims + (case.layer_count * case.K, case.hidden_size)
    lengths = m.seq_lengths if m.seq_lengths is not None else np.full(batch, case.max_seq_length, dtype=np.int32)
    return m._replace(seq_lengths=lengths,
                      hidden_state=m.hidden_state if m.hidden_state is not None else np.zeros(states),
                      cell_state=m.cell_state if m.cell_state is not None or case.op != "LSTM" else np.zeros(states))


def shareable(case, path: str) -> bool:
    """A static IRNNv2 case on the loop path (ONNX nodes, other paths, dynamic and streamed cases keep their own engines)."""
    return path == "loop" and isinstance(case, Case) and case.profile is None and not case.chunk


def plan(cases, path: str, precision: str, typing: str, io: str = "network") -> dict[str, SharedEngine]:
    """Case id -> the shared engine that runs it, for every shareable case of `cases` (others are absent)."""
    groups = {}
    for case in cases:
        if shareable(case, path):
            full = with_every_input(case)
            groups.setdefault(engine_structure(full, path, precision, typing, io=io), []).append(full)
    found = {}
    for structure, group in groups.items():
        profile = OptimizationProfile.covering([profile_for(c) for c in group])
        first = group[0]
        opt = profile["input"][1]
        built = dataclasses.replace(first, batch_dims=tuple(opt[:-2]), max_seq_length=opt[-2], profile=profile)
        engine = SharedEngine(f"shared:{structure}:{_compact(profile)}", built, profile)
        found.update({c.id: engine for c in cases if shareable(c, path) and
                      engine_structure(with_every_input(c), path, precision, typing, io=io) == structure})
    return found


def feeds(case: Case, path: str, precision: str, io: str = "network", materials: Materials | None = None,
          strongly_typed: bool | None = None) -> dict:
    """What a shared engine is fed to run `case` (on `materials` if given): its data with every input made explicit,
    and its weights, by the names the shared network's inputs have."""
    from ..networks.build import build_network

    m = case.materialise() if materials is None else materials
    full = with_every_input(case)
    return build_network(full, path, precision=precision, io=io, strongly_typed=strongly_typed, weights_as_inputs=True,
                         materials=every_input(case, m)).feeds


def network(engine: SharedEngine, path: str, precision: str, io: str = "network", strongly_typed: bool | None = None):
    """The shared engine's network: weights, lengths and states as inputs, dynamic batch and S, its profile."""
    from ..networks.build import build_network

    return build_network(engine.case, path, precision=precision, io=io, strongly_typed=strongly_typed,
                         weights_as_inputs=True, profile=engine.profile)


def run_shape(case: Case) -> dict:
    """The dims a static case's data takes on its shared engine (every input present)."""
    full = with_every_input(case)
    return dataclasses.replace(full, profile=profile_for(full)).run_shape


class Planned:
    """A runner's shared engines, by case id: empty unless it shares engines (`enabled`) and was told its cases. The
    one bookkeeping `tensorrt-loop-*`, `build-loop*` and `simulated-loop*` keep, so they plan alike."""

    def __init__(self, enabled: bool):
        self.enabled, self.by_case = enabled, {}

    def plan(self, cases, path: str, precision: str, typing: str, io: str = "network") -> None:
        if self.enabled:
            self.by_case = plan(cases, path, precision, typing, io)

    def get(self, case) -> SharedEngine | None:
        """The shared engine that runs `case`, or None (it runs on its own engine)."""
        return self.by_case.get(case.id)

    def run_shape(self, case) -> dict | None:
        """The dims `case` runs at: on its shared engine every input's, else the case's own (None when static)."""
        return run_shape(case) if case.id in self.by_case else case.run_shape


def _compact(profile: OptimizationProfile) -> str:
    return "-".join("x".join(map(str, dims[:-1])) for dims in profile["input"])
