"""A streamed case (`chunk` set): which cases can stream, and the chunk cases one engine per chunk length runs.

A streaming run calls one engine again and again on `chunk` steps of the case's input (the last call shorter
when `chunk` does not divide S), its output states fed back as the next call's initial states. Only a forward,
unidirectional case without lengths streams (`streaming_problem` says why another does not): a reverse
direction reads the sequence from its end, which a chunk does not have, and with lengths a row's stream ends
inside the sequence.

A chunk case is the engine a call runs: its parent's fields with S = the chunk's steps and the states as inputs
(hidden, and cell for LSTM). Its identity is (parent, steps): the `parent` field is the whole streamed case, so
its JSON (the engine cache key of `TensorRTRunner.engine_fields`) differs from every other case's, and the
calls of one length share one engine. That is safe although engines bake their weights in: every call of a
chunk case takes its parent's weights (`materialise` returns them), and only input and states change between
calls, which are engine inputs. Its own data (`materialise`) are its parent's weights, the parent's first
`steps` steps and the parent's initial states (or zeros); a streaming run gives each call its own window and
the states of the call before (`window`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .case import Case, Materials, _round
from .model import NodeCase
from .onnx_case import OnnxCase, OnnxMaterials


def streaming_problem(case) -> str | None:
    """Why `case` cannot be run chunk by chunk (one line), or None."""
    if isinstance(case, OnnxCase):
        if case.direction != "forward":
            return (f"direction={case.direction!r}: the reverse direction starts from the sequence's end, which a "
                    "chunk does not have; only a forward node streams")
        if case.sequence_lens != "none":
            return "sequence_lens is given: a row whose sequence ends inside a chunk stops streaming; only full rows stream"
        return None
    if case.profile is not None:
        return "a dynamic-shape case (profile set): a streamed case runs one static engine per chunk length"
    if case.direction != "UNIDIRECTION":
        return (f"direction={case.direction}: the reverse direction starts from the sequence's end, which a chunk "
                "does not have; only a unidirectional case streams")
    if case.seq_lengths:
        return "seq_lengths is set: a row whose sequence ends inside a chunk stops streaming; only full rows stream"
    return None


def streamed(cases, chunk) -> list:
    """`cases` streamed `chunk` steps per call (`--stream-chunk`): a one-line ValueError naming the option when
    `chunk` is not a whole number in 1..S of every case."""
    text = str(chunk)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--stream-chunk {text}: allowed: a whole number of steps per call, 1 or more (at most the case's S)")
    out = []
    for case in cases:
        if int(text) > case.max_seq_length:
            raise ValueError(f"--stream-chunk {text}: case {case.id} has only S={case.max_seq_length} steps; "
                             f"allowed: 1 to {case.max_seq_length}")
        out.append(dataclasses.replace(case, chunk=int(text)))
    return out


def spans(case) -> list[tuple[int, int]]:
    """`(start, steps)` of each call of the streamed `case`, in order."""
    S, C = case.max_seq_length, case.chunk
    return [(start, min(C, S - start)) for start in range(0, S, C)]


class ChunkOf:
    """What every chunk case does differently from its family: its id, JSON and data (see the module docstring)."""

    @property
    def id(self) -> str:
        return f"{self.parent.id}-call{self.max_seq_length}"

    def to_json(self) -> dict:
        data = super().to_json()
        data["parent"] = self.parent.to_json()
        return data

    def materialise(self):
        """The parent's weights, its first `steps` steps of input, its initial states (zeros where it has none)."""
        parent = self.parent.materialise()
        return window(self.parent, parent, 0, self.max_seq_length, initial_states(self.parent, parent))


@dataclasses.dataclass(frozen=True)
class IRNNv2Chunk(ChunkOf, Case):
    parent: Case | None = None


@dataclasses.dataclass(frozen=True)
class OnnxChunk(ChunkOf, OnnxCase):
    parent: OnnxCase | None = None


@dataclasses.dataclass(frozen=True)
class NodeChunk(ChunkOf, NodeCase):
    parent: NodeCase | None = None


FAMILIES = ((NodeCase, NodeChunk), (OnnxCase, OnnxChunk), (Case, IRNNv2Chunk))  # most derived first


def chunk_case(case, steps: int):
    """The chunk case of the streamed `case` whose calls run `steps` steps, the states as inputs."""
    cls = next(chunk for family, chunk in FAMILIES if isinstance(case, family))
    fields = {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}
    if isinstance(case, OnnxCase):
        fields.update(seq_length=steps, initial_h=True, initial_c=case.op == "LSTM")
    else:
        fields.update(max_seq_length=steps, hidden_state=True, cell_state=case.op == "LSTM")
    return cls(**{**fields, "chunk": None}, parent=case)


def initial_states(case, materials) -> tuple:
    """The states the first call starts from: the case's own, zeros where it has none (LSTM: hidden and cell)."""
    if isinstance(case, OnnxCase):
        shape = (case.batch_size, 1, case.hidden_size) if case.layout else (1, case.batch_size, case.hidden_size)
        given = (materials.initial_h, materials.initial_c)
    else:
        shape = case.batch_dims + (case.layer_count, case.hidden_size)
        given = (materials.hidden_state, materials.cell_state)
    count = 2 if case.op == "LSTM" else 1
    return tuple(np.zeros(shape) if state is None else state for state in given[:count])


def window(case, materials, start: int, steps: int, states):
    """The materials of the call that runs steps `start`..`start + steps - 1` of the streamed `case` from `states`
    (hidden[, cell] in the case's state layout, as the previous call returned them)."""
    hidden, cell = (tuple(states) + (None,))[:2]
    if isinstance(case, OnnxCase):
        m = materials
        X = m.X[:, start:start + steps] if case.layout else m.X[start:start + steps]
        return OnnxMaterials(X, m.W, m.R, m.B, None, hidden, cell, m.P)
    m = materials
    return Materials(m.input[..., start:start + steps, :], m.weights, m.biases, None, hidden, cell)


def reference_calls(case):
    """Each call of the streamed `case` as the reference computes it: `(chunk case, materials, outputs)`, the states
    carried rounded to the case precision, as an engine of that precision would hand them on (for bundles)."""
    materials = case.materialise()
    states, calls = initial_states(case, materials), []
    for start, steps in spans(case):
        chunk = chunk_case(case, steps)
        m = window(case, materials, start, steps, states)
        outputs = chunk.reference(m)
        calls.append((chunk, m, outputs))
        states = tuple(_round(np.asarray(s), case.precision) for s in outputs[1:])
    return calls
