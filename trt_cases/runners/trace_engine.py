"""`trace` on a real TensorRT engine: the tensors `trt_cases.executor.trace` probes, marked as engine outputs
(tensors inside a loop through an added CONCATENATE loop output), run, and compared with the reference by name.
"""

from __future__ import annotations

from ..cases.case import Case
from ..executor.trace import StepVerdict, check_path, mark_probes, probes, verdicts
from ..networks.engine import build_plan
from . import trt_runner


def trace_engine(case: Case, path: str, runner) -> list[StepVerdict]:
    """`trace` on a real engine: the traced tensors marked as engine outputs, run by `runner`.

    `runner` is an entered `TensorRTRunner` (it owns the CUDA stream and
    the TensorRT runtime); its precision sets the tolerance. Raises RuntimeError with the runner's
    reason where it cannot run.
    """
    check_path(path)
    if path != runner.path:
        raise ValueError(f"path={path!r} but the runner {runner.name} builds the {runner.path} path")
    reason = runner.prepare(case)
    if reason:
        raise RuntimeError(f"cannot trace {case.id} on {runner.name}: {reason}")
    if runner._stream is None:
        raise RuntimeError(f"{runner.name}: enter the runner first (`with TensorRTRunner(...) as runner:`)")
    net = runner.network(case)  # the runner's own typing, precision and I/O form
    found = probes(case, path, net.network)
    outputs = mark_probes(net.network, found)
    plan, _ = build_plan(net, flags=runner.builder_flags(), strict_fp32=runner.engine_precision == "fp32")
    engine = runner._runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise RuntimeError(f"{runner.name}: the traced engine for {case.id} failed to deserialize")
    try:
        values = trt_runner.execute_all(engine, net.feeds, runner._stream)
    finally:
        runner._stream.release()
    return verdicts(case, found, {name: values[out] for name, out in outputs.items()}, runner.precision)
