"""Backends behind one protocol: `infer(case) -> outputs in IRNNv2Layer layout`.

Every runner has a `name`, the `precision` it computes in ("float64" or "float32", which picks
the tolerance row), `unsupported(case)` returning a one-line reason or None, and `infer(case)`
returning `(output, hidden)` or, for LSTM, `(output, hidden, cell)` as float64 arrays shaped
`(N..., S, K*H)`, `(N..., L*K, H)`, `(N..., L*K, H)`. Layout conversions live in each runner.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..cases.case import Case


class Runner(Protocol):
    name: str
    precision: str

    def unsupported(self, case: Case) -> str | None: ...

    def infer(self, case: Case) -> tuple[np.ndarray, ...]: ...
