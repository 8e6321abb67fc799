"""Build a network into a serialized plan, capturing the builder's log so a failure can show it.

The build runs in a worker thread while the calling thread waits, so Ctrl-C stops a run within a
fraction of a second even in the middle of a long build: a KeyboardInterrupt raised inside the
builder's C++ (in a logger callback) is swallowed by the bindings, one raised in the waiting thread is
not. Where the API has a progress monitor (`IBuilderConfig.progress_monitor`), the build is also
cancelled, so no builder keeps running behind the interrupt.
"""

from __future__ import annotations

import threading
import time

from . import trt_api


def CapturingLogger(trt):
    """An `ILogger` that keeps every message (severity name, text) for error reports."""

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages = []

        def log(self, severity, msg):
            self.messages.append((getattr(severity, "name", str(severity)), msg))

        def text(self, least=("INTERNAL_ERROR", "ERROR", "WARNING", "INFO")) -> str:
            return "\n".join(f"[{sev}] {msg}" for sev, msg in self.messages if sev in least)

    return _Logger()


class BuildError(RuntimeError):
    """The builder returned no plan; the message carries the builder's log."""


def build_plan(net, flags=(), strict_fp32: bool = False) -> tuple[bytes, float]:
    """The serialized plan of `net` (a `networks.Network`) and the seconds the build took.

    `flags` names BuilderFlags to set (e.g. "FP16"); `strict_fp32` clears TF32, which TensorRT
    enables by default, so that an fp32 engine computes in IEEE float32.
    """
    config = net.builder.create_builder_config()
    trt_flags = trt_api.load().module.BuilderFlag
    for flag in flags:
        config.set_flag(getattr(trt_flags, flag))
    if strict_fp32 and hasattr(trt_flags, "TF32"):
        config.clear_flag(trt_flags.TF32)
    start = time.perf_counter()
    plan = _interruptible(lambda: net.builder.build_serialized_network(net.network, config), config)
    seconds = time.perf_counter() - start
    if plan is None:
        raise BuildError(f"builder returned no plan for case {net.case.id} ({net.path} path); builder log:\n"
                         + net.logger.text())
    return bytes(plan), seconds


def _interruptible(build, config):
    """`build()` in a worker thread; on KeyboardInterrupt cancel it (where the API can) and re-raise."""
    cancel = threading.Event()
    trt = trt_api.load().module
    monitor = None  # held here for as long as the build runs
    if hasattr(trt, "IProgressMonitor") and hasattr(config, "progress_monitor"):
        monitor = config.progress_monitor = _CancellingMonitor(trt, cancel)
    outcome, finished = {}, threading.Event()

    def work():
        try:
            outcome["plan"] = build()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name="tensorrt-builder", daemon=True).start()
    try:  # an Event, not Thread.join: an interrupted join marks a running thread as stopped (Python 3.11)
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.set()
        finished.wait(10.0)  # a cancelled build returns within a step
        raise
    del monitor
    if "error" in outcome:
        raise outcome["error"]
    return outcome["plan"]


def _CancellingMonitor(trt, cancel):
    """An `IProgressMonitor` whose `step_complete` returns False (cancel the build) once `cancel` is set."""

    class _Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            pass

        def step_complete(self, phase_name, step):
            return not cancel.is_set()

        def phase_finish(self, phase_name):
            pass

    return _Monitor()
