"""Backends behind one protocol: `infer(case) -> outputs in IRNNv2Layer layout`.

Every runner has a `name`, the `precision` it computes in ("float64" or "float32", which picks
the tolerance row), `unsupported(case)` returning a one-line reason or None, and `infer(case)`
returning `(output, hidden)` or, for LSTM, `(output, hidden, cell)` as float64 arrays shaped
`(N..., S, K*H)`, `(N..., L*K, H)`, `(N..., L*K, H)`. Layout conversions live in each runner.
An ONNX-operator case (`cases.onnx_case.OnnxCase`) is answered in its own layout, `case.output_names` in order.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..cases.case import Case

# What every IRNNv2-only backend (loop, drop-in and native paths, torch) answers an ONNX-operator case (`OnnxCase`).
ONLY_ONNX = "an ONNX-operator case runs on the onnx path only"


class Runner(Protocol):
    name: str
    precision: str

    def unsupported(self, case: Case) -> str | None: ...

    def infer(self, case: Case) -> tuple[np.ndarray, ...]: ...
