"""Run one layer outside a loop's boundary: look up its function, feed it, check what comes out."""

from __future__ import annotations

from . import arithmetic, shapes
from .dtypes import conform

FUNCTIONS = {
    "ACTIVATION": arithmetic.activation, "ELEMENTWISE": arithmetic.elementwise,
    "MATRIX_MULTIPLY": arithmetic.matrix_multiply, "REDUCE": arithmetic.reduce, "SELECT": arithmetic.select,
    "UNARY": arithmetic.unary,
    "CAST": shapes.cast, "CONCATENATION": shapes.concatenation, "CONSTANT": shapes.constant, "FILL": shapes.fill,
    "GATHER": shapes.gather, "IDENTITY": shapes.identity, "SHAPE": shapes.shape, "SHUFFLE": shapes.shuffle,
    "SLICE": shapes.slice_, "SQUEEZE": shapes.squeeze, "UNSQUEEZE": shapes.unsqueeze,
}


def run_layer(rec, scope, tensors):
    """Evaluate layer `rec` on the values in `scope` (name -> array) and store its outputs there."""
    inputs = [None if name is None else scope[name] for name in rec.inputs]
    outputs = FUNCTIONS[rec.kind](rec, inputs, [tensors[name].dtype for name in rec.outputs])
    for name, value in zip(rec.outputs, outputs):
        scope[name] = conform(value, tensors[name], f"layer {rec.name!r} ({rec.kind}), output {name!r}")
