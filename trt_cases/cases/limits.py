"""Sizes a run can hold, checked before anything runs: a case too big for this machine's memory, or with an
absurd layer count, is refused with one line instead of a MemoryError traceback or a hang.

Memory is estimated at float64 (the reference's precision) for the case's data and results: the input,
W, R and both biases of every layer index, the initial states, and the outputs twice (the reference's and
a backend's). Layer counts are bounded by `MAX_LAYER_COUNT`: onnxruntime loads a stack of 1000 ONNX
RNN nodes in about 1 s and had not loaded 100000 after a minute (the hang of L100000); TensorRT
networks grow alike, a loop per layer.
"""

from __future__ import annotations

import math
import os

from reference import GATES, RNNOperation

MAX_LAYER_COUNT = 256  # far beyond any recurrent model in use; keeps every backend's graph buildable
GIB = 1 << 30


def estimated_bytes(case) -> int:
    """About how many bytes one case needs at float64: data, weights, states and outputs."""
    if getattr(case, "family", "") == "onnx":  # one node: X, W, R, B, P, two states, Y and states, twice
        from .onnx_case import GATE_COUNT

        N, S, I, H, D, G = case.batch_size, case.seq_length, case.input_size, case.hidden_size, case.D, GATE_COUNT[case.op]
        states = 2 * D * N * H
        return 8 * (N * S * I + D * G * H * (I + H + 2) + 3 * D * H + states + 2 * (S * D * N * H + states) + N)
    n = math.prod(case.batch_dims)
    L, H, S, E, K = case.layer_count, case.hidden_size, case.max_seq_length, case.data_length, case.K
    gates = len(GATES[RNNOperation[case.op]])
    weights = K * gates * (H * E + H * H + 2 * H) + (L - 1) * K * gates * (H * K * H + H * H + 2 * H)
    states = 2 * n * L * K * H
    outputs = n * S * K * H + states
    return 8 * (n * S * E + weights + states + 2 * outputs + n)


def available_bytes() -> int | None:
    """Memory this process can still get: MemAvailable where Linux says it, else physical pages; None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_case(case, available: int | None = None) -> None:
    """Raise a one-line ValueError when `case` cannot run here: too many layers, or more memory than there is."""
    if getattr(case, "layer_count", 1) > MAX_LAYER_COUNT:
        raise ValueError(f"case {case.id}: layer_count={case.layer_count} is over the limit of {MAX_LAYER_COUNT} "
                         "layers (backends build one graph node or loop per layer)")
    available = available_bytes() if available is None else available
    need = estimated_bytes(case)
    if available is not None and need > available:
        raise ValueError(f"case {case.id} needs about {_gib(need)} GiB (float64 data, weights, states and "
                         f"outputs); this machine has {_gib(available)} GiB available")


def _gib(count: int) -> str:
    return f"{count / GIB:,.0f}" if count >= 10 * GIB else f"{count / GIB:.2g}"
