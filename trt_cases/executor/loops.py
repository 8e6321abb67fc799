"""Run one `ILoop` as TensorRT's Python API and NVIDIA's TensorRT cookbook (LoopStructure) describe it.

- Trip limits: COUNT runs `n` iterations (a 0-d integer); WHILE runs while its 0-d bool, computed at
  the start of each iteration from that iteration's values, holds.
- An iterator yields slice `i` of its input along `axis`, or slice `M-1-i` when reversed, `M` being
  the COUNT trip count.
- A recurrence reads its first input at iteration 0 and, at iteration `i+1`, the value its second
  input (the back edge) had at iteration `i`.
- Loop outputs: LAST_VALUE is the tensor's value at the last iteration, which for a recurrence's
  output is its value after that iteration (the cookbook's For loop doubling 1 six times gives 64);
  CONCATENATE stacks every iteration's value on a new `axis`, and REVERSE stacks them in reverse
  order, to the length given by the second input: the cookbook's runs keep the first `v` iterations
  when `v` is shorter and pad with zeros when it is longer (the executor covers REVERSE only when
  the length equals the iteration count).
"""

from __future__ import annotations

import collections

import numpy as np

from .dtypes import conform, numpy_dtype
from .layers import run_layer
from .shapes import ints

MAX_ITERATIONS = 1_000_000  # a WHILE loop still running after this many iterations is reported, not awaited


def run_loop(loop, values, tensors, recorded):
    """Run `loop` on the tensors computed so far (`values`); store its outputs in `values`.

    Returns the per-iteration values of the interior tensors named in `recorded`, stacked on a new
    first axis (iteration order), for the caller's `keep`.
    """
    count = _trip_count(loop, values)
    state = {rec.outputs[0]: values[rec.inputs[0]] for rec in loop.recurrences}
    history = collections.defaultdict(list)
    wanted = set(recorded) | {rec.inputs[0] for rec in loop.outputs if rec.layer.kind.name != "LAST_VALUE"}
    last, i = None, 0
    while count is None or i < count:
        if i == MAX_ITERATIONS:
            raise RuntimeError(f"loop {loop.name!r} still runs after {MAX_ITERATIONS} iterations")
        scope = collections.ChainMap(dict(state), values)
        for rec in loop.iterators:
            scope[rec.outputs[0]] = _iterate(loop, rec, values[rec.inputs[0]], i, count, tensors)
        if not _condition_holds(loop, scope, tensors):
            break
        for rec in loop.interior:
            if rec.outputs[0] not in scope.maps[0]:
                run_layer(rec, scope, tensors)
        for name in wanted:
            history[name].append(scope[name])
        state = {rec.outputs[0]: scope[rec.inputs[1]] for rec in loop.recurrences}
        last, i = scope, i + 1
    for rec in loop.outputs:
        values[rec.outputs[0]] = conform(_output(loop, rec, history, state, last, i, values, tensors),
                                         tensors[rec.outputs[0]], f"loop {loop.name!r}, output {rec.name!r}")
    return {name: _stack(history[name], tensors[name]) for name in recorded}


def _trip_count(loop, values):
    """The COUNT limit's value, or None for a loop limited by WHILE alone."""
    counts = [rec for rec in loop.trip_limits if rec.layer.kind.name == "COUNT"]
    kinds = [rec.layer.kind.name for rec in loop.trip_limits]
    if any(kind not in ("COUNT", "WHILE") for kind in kinds) or len(set(kinds)) != len(kinds):
        raise NotImplementedError(f"loop {loop.name!r}: trip limits {kinds} are not covered "
                                  "(one COUNT and/or one WHILE)")
    if not counts:
        return None
    (count,) = ints(values[counts[0].inputs[0]])
    if count < 0:
        raise ValueError(f"loop {loop.name!r}: trip count {count} is negative")
    return count


def _iterate(loop, rec, x, i, count, tensors):
    """Iterator `rec`'s value at iteration `i`: slice i (or M-1-i reversed) of `x` along its axis."""
    layer = rec.layer
    axis = layer.axis + x.ndim if layer.axis < 0 else layer.axis
    if layer.reverse and count is None:
        raise NotImplementedError(f"iterator {rec.name!r} of loop {loop.name!r}: reverse=True without a COUNT "
                                  "trip limit is not covered (TensorRT counts back from the COUNT trip count)")
    index = count - 1 - i if layer.reverse else i
    if not 0 <= index < x.shape[axis]:
        raise ValueError(f"iterator {rec.name!r} of loop {loop.name!r}: iteration {i} reads index {index} of an axis "
                         f"of extent {x.shape[axis]}")
    return conform(np.take(x, index, axis=axis), tensors[rec.outputs[0]], f"iterator {rec.name!r}")


def _condition_holds(loop, scope, tensors):
    """For a WHILE loop, evaluate what its condition needs and return it; True without WHILE."""
    limits = [rec for rec in loop.trip_limits if rec.layer.kind.name == "WHILE"]
    if not limits:
        return True
    for rec in loop.condition:
        run_layer(rec, scope, tensors)
    value = np.asarray(scope[limits[0].inputs[0]])
    if value.dtype != np.bool_ or value.size != 1:
        raise ValueError(f"loop {loop.name!r}: the WHILE condition is {value.dtype} {value.shape}, expected a 0-d bool")
    return bool(value)


def _output(loop, rec, history, state, last, iterations, values, tensors):
    """The value of loop output `rec` after `iterations` iterations."""
    kind, source = rec.layer.kind.name, rec.inputs[0]
    if kind == "LAST_VALUE":
        if source in state:
            return state[source]
        if last is None:
            raise ValueError(f"loop {loop.name!r}: LAST_VALUE output {rec.name!r} of a loop that ran no iteration")
        return last[source]
    if kind not in ("CONCATENATE", "REVERSE"):
        raise NotImplementedError(f"loop output {rec.name!r} of loop {loop.name!r}: kind {kind} is not covered")
    (length,) = ints(values[rec.inputs[1]])
    if kind == "REVERSE" and length != iterations:
        raise NotImplementedError(f"loop output {rec.name!r} of loop {loop.name!r}: REVERSE with length {length} "
                                  f"after {iterations} iterations is not covered")
    steps = history[source][::-1] if kind == "REVERSE" else history[source]
    stacked = _stack(steps[:length], tensors[source])
    if length > iterations:
        stacked = np.concatenate([stacked, np.zeros((length - iterations,) + stacked.shape[1:], stacked.dtype)])
    return np.moveaxis(stacked, 0, rec.layer.axis)


def _stack(steps, tensor):
    """Per-iteration values stacked on a new first axis (an empty one, from the inferred shape, for none)."""
    if steps:
        return np.stack(steps)
    if -1 in tensor.shape:
        raise ValueError(f"no iteration ran, and the shape {tensor.shape} of the values to stack is not static")
    return np.zeros((0,) + tuple(tensor.shape), numpy_dtype(tensor.dtype, "loop"))
