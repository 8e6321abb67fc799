"""IRNNv2 cases built with dynamic batch and sequence dims: the inputs that vary, the profile a case's engine is
built with, the run shapes it is executed at, and the cases of one dynamic engine (one per run shape).

A dynamic case is a `Case` with a `profile`: its `batch_dims` and `max_seq_length` are the shape it runs at;
its weights are those of the profile's opt shape (`Case.materialise`), so every run shape of one engine sees the
same weights, as a deployed constant-weight engine does.
"""

from __future__ import annotations

import dataclasses

from .case import Case
from .profile import OptimizationProfile


def dynamic_inputs(case: Case) -> dict:
    """The dynamic network inputs of `case` and their dims with -1 where they vary (batch dims and S)."""
    nb = len(case.batch_dims)
    batch = (-1,) * nb
    dims = {"input": batch + (-1, case.data_length)}
    if case.seq_lengths:
        dims["seq_lengths"] = batch
    for name in ("hidden_state", "cell_state"):
        if getattr(case, name):
            dims[name] = batch + (case.layer_count * case.K, case.hidden_size)
    return dims


def max_batch_dims(case: Case) -> tuple:
    """Each batch dim's maximum: 2b + 1, twice the case's and odd, so that the largest batch is never a
    multiple of 8 (a vectorised kernel's remainder path runs) and the case's own batch lies strictly inside."""
    return tuple(2 * b + 1 for b in case.batch_dims)


def profile_for(case: Case) -> OptimizationProfile:
    """The profile of `case` built dynamic: batch dims from 1 to `max_batch_dims`, S from 1 to the case's
    `max_seq_length` (the bound the native IRNNv2Layer puts on S, kept on every path so that one profile
    serves all three), opt at the case's own shape, where TensorRT picks its tactics."""
    shapes = {}
    for name, dims in dynamic_inputs(case).items():
        tail = dims[len(case.batch_dims) + (1 if name == "input" else 0):]
        seq = {"input": ((1,), (case.max_seq_length,), (case.max_seq_length,))}.get(name, ((), (), ()))
        shapes[name] = ((1,) * len(case.batch_dims) + seq[0] + tail,
                        case.batch_dims + seq[1] + tail,
                        max_batch_dims(case) + seq[2] + tail)
    return OptimizationProfile(tuple(shapes.items()))


def run_shapes(case: Case) -> list:
    """`(batch_dims, S)` at which a dynamic engine of `case` runs: min, opt, max (a batch volume that is not a
    multiple of 8, see `max_batch_dims`), S=1 at the opt batch, batch 1 at the longest S, and the max batch
    at a middle S (a case without batch dims still runs at three sequence lengths)."""
    B, S, top = case.batch_dims, case.max_seq_length, max_batch_dims(case)
    shapes = [((1,) * len(B), 1), (B, S), (top, S), (B, 1), ((1,) * len(B), S), (top, (S + 1) // 2)]
    unique = []
    for shape in shapes:
        if shape not in unique:
            unique.append(shape)
    return unique


def case_at(case: Case, batch_dims: tuple, S: int) -> Case:
    """`case` at another run shape (its reference then checks that shape's data)."""
    return dataclasses.replace(case, batch_dims=tuple(batch_dims), max_seq_length=S)


def feed_shapes(case: Case, batch_dims: tuple, S: int) -> dict:
    """The run shape (input name -> dims) of `case`'s dynamic inputs at `batch_dims` and `S`."""
    runs = tuple(batch_dims) + (S,)
    return {name: tuple(runs[i] if d == -1 else d for i, d in enumerate(dims))
            for name, dims in dynamic_inputs(case).items()}


def engine_cases(case: Case) -> list[Case]:
    """`case` (static, at the profile's opt shape) as the cases one dynamic engine runs: one per `run_shapes`
    shape, each carrying the engine's profile (`profile_for(case)`)."""
    profile = profile_for(case)
    return [dataclasses.replace(case, batch_dims=tuple(batch), max_seq_length=S, profile=profile)
            for batch, S in run_shapes(case)]
