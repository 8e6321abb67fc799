"""The NumPy reference as a runner: the float64 ground truth every other backend is diffed against."""

from __future__ import annotations

import numpy as np

from ..cases.case import Case
from .base import Runner


def run_reference(case: Case, materials=None, dtype=np.float64):
    """The reference's outputs for `case` (on `materials` if given, else the case's own data), computed
    in `dtype`: float64, the ground truth, or float32, a faithful float32 implementation."""
    return case.reference(materials, dtype)


class ReferenceRunner(Runner):
    name = kind = "reference"
    precision = "float64"

    def infer(self, case: Case, materials=None):
        return run_reference(case, materials)
