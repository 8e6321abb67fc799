"""Every backend behind one contract (`base.Runner`), and the registry of backend specs (`registry`).

`infer(case)` returns `(output, hidden)` or, for LSTM, `(output, hidden, cell)` as float64 arrays shaped
`(N..., S, K*H)`, `(N..., L*K, H)`, `(N..., L*K, H)`: `IRNNv2Layer` layout. Layout conversions live in each runner.
An ONNX-operator case (`cases.onnx_case.OnnxCase`) is answered in its own layout, `case.output_names` in order.
"""

from __future__ import annotations

# What every IRNNv2-only backend (loop, drop-in and native paths, torch) answers an ONNX-operator case (`OnnxCase`).
ONLY_ONNX = "an ONNX-operator case runs on the onnx path only"


class Probed:
    """What `prepare(case)` had to compute to answer for an ONNX-operator case (the parsed network, an
    onnxruntime session, outputs), kept for the `infer(case)` that follows on the same case: done once."""

    def __init__(self):
        self.case, self.value = None, None

    def keep(self, case, value) -> None:
        self.case, self.value = case, value

    def holds(self, case) -> bool:
        return self.value is not None and self.case == case

    def get(self, case):
        """The value kept for `case`, or None (kept for the next call too)."""
        return self.value if self.holds(case) else None

    def take(self, case):
        """The value kept for `case`, or None; forgotten either way."""
        value = self.get(case)
        self.case, self.value = None, None
        return value
