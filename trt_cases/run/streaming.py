"""A streaming run: a runner called chunk after chunk, the states it returns fed back as the next call's.

Speech and keyword-spotting models call one RNN engine every few milliseconds on a few steps, the final hidden
(and cell) states of a call fed back as the initial states of the next. `stream(runner, case)` does that for a
case with `chunk` set (`cases.chunks`): one `runner.infer(chunk case, materials)` per chunk of steps, the first
given the case's own initial states (or zeros), each later one the states the previous call returned, exactly
as returned: values an engine of half I/O returned are half values and reach it again unchanged. The outputs
are concatenated along the case's time axis (IRNNv2 `output` `(N..., S, K*H)`; ONNX `Y` `(S, D, N, H)` or, in
layout 1, `(N, S, D, H)`) and the last call's states kept, so they compare with the reference of the whole
sequence as any run does. A build check builds the chunk networks (one per chunk length) and says `Built`.
"""

from __future__ import annotations

import numpy as np

from ..cases.chunks import chunk_case, initial_states, spans, window
from ..runners.base import Built


def stream(runner, case):
    """The streamed outputs of `case` on `runner` (or `Built` for a build check): the calls' outputs along time,
    the last call's states."""
    materials = case.materialise()
    states, pieces = initial_states(case, materials), []
    built = {}
    for start, steps in spans(case):
        chunk = chunk_case(case, steps)
        if built and steps in built:  # a build check: one build per chunk network, nothing to carry
            continue
        outputs = runner.infer(chunk, window(case, materials, start, steps, states))
        if isinstance(outputs, Built):
            built[steps] = outputs
            continue
        pieces.append(outputs[0])
        states = outputs[1:]
    if built:
        return Built(sum(b.seconds for b in built.values()), next(iter(built.values())).engine)
    return (np.concatenate(pieces, axis=case.time_axis),) + tuple(states)


def first_call(case):
    """The chunk case of the streamed `case`'s first call: the engine a record of the case names."""
    return chunk_case(case, spans(case)[0][1])


def infer(runner, case):
    """`case`'s outputs on `runner`: streamed when the case has a `chunk`, else one call over the whole sequence."""
    return stream(runner, case) if getattr(case, "chunk", None) else runner.infer(case)
