"""The NumPy reference as a runner: the float64 ground truth every other backend is diffed against."""

from __future__ import annotations

import numpy as np

from reference import rnn_v2

from ..case import Case


def run_reference(case: Case, materials=None, dtype=np.float64):
    """The reference's outputs for `case` (on `materials` if given, else the case's own data), computed
    in `dtype`: float64, the ground truth, or float32, a faithful float32 implementation."""
    m = case.materialise() if materials is None else materials
    return rnn_v2(m.input, case.op, case.layer_count, case.hidden_size, m.weights, m.biases,
                  max_seq_length=case.max_seq_length, direction=case.direction, input_mode=case.input_mode,
                  seq_lengths=m.seq_lengths, hidden_state=m.hidden_state, cell_state=m.cell_state, dtype=dtype)


class ReferenceRunner:
    name = "reference"
    precision = "float64"

    def unsupported(self, case: Case) -> str | None:
        return None

    def infer(self, case: Case):
        return run_reference(case)
