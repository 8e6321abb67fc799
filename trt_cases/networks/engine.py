"""Build a network into a serialized plan, capturing the builder's log so a failure can show it.

The builder's timing cache is loaded from and saved to a `TimingCacheFile` where the installed
TensorRT has one (probed: `create_timing_cache`; a TensorRT that declares its timing cache a no-op
by a deprecation warning, as TensorRT-RTX does, is not given one), and the builder optimisation
level is set where `builder_optimization_level` exists.

The build runs in a worker thread while the calling thread waits, so Ctrl-C stops a run within a
fraction of a second even in the middle of a long build: a KeyboardInterrupt raised inside the
builder's C++ (in a logger callback) is swallowed by the bindings, one raised in the waiting thread is
not. Where the API has a progress monitor (`IBuilderConfig.progress_monitor`), the build is also
cancelled, so no builder keeps running behind the interrupt.
"""

from __future__ import annotations

import threading
import time
import warnings

from . import profiles, trt_api


class BuildError(RuntimeError):
    """The builder returned no plan; the message carries the builder's log."""


def build_plan(net, flags=(), strict_fp32: bool = False, *, optimization_level: int | None = None,
               timing_cache=None, profile=None) -> tuple[bytes, float]:
    """The serialized plan of `net` (a `networks.Network`) and the seconds the build took.

    `flags` names BuilderFlags to set (e.g. "FP16"); `strict_fp32` clears TF32, which TensorRT
    enables by default, so that an fp32 engine computes in IEEE float32. `optimization_level`
    (0-5) sets `builder_optimization_level`; `timing_cache` (`engine_cache.TimingCacheFile`) is
    read before and written after the build where this TensorRT keeps a timing cache. `profile`
    (default `net.profile`; an `OptimizationProfile`) is set on the config for a dynamic network.
    """
    profile = getattr(net, "profile", None) if profile is None else profile
    config = net.builder.create_builder_config()
    if profile is not None:
        profiles.apply(net.builder, config, net.network, profile)
    trt_flags = trt_api.load().module.BuilderFlag
    for flag in flags:
        config.set_flag(getattr(trt_flags, flag))
    if strict_fp32 and hasattr(trt_flags, "TF32"):
        config.clear_flag(trt_flags.TF32)
    if optimization_level is not None:
        if not hasattr(config, "builder_optimization_level"):
            raise BuildError(f"IBuilderConfig.builder_optimization_level not available in {trt_api.load().label}")
        config.builder_optimization_level = optimization_level
    cache = attach_timing_cache(config, timing_cache.load()) if timing_cache is not None else None
    start = time.perf_counter()
    plan = _interruptible(lambda: net.builder.build_serialized_network(net.network, config), config)
    seconds = time.perf_counter() - start
    if plan is None:
        raise BuildError(f"builder returned no plan for case {net.case.id} ({net.path} path); builder log:\n"
                         + net.logger.text())
    if cache is not None:
        timing_cache.store(bytes(cache.serialize()))
    return bytes(plan), seconds


def attach_timing_cache(config, data: bytes | None):
    """Give `config` a timing cache made from `data` (an empty one if `data` is missing or rejected).

    Returns the `ITimingCache`, or None where this TensorRT has none or declares it a no-op.
    """
    if not hasattr(config, "create_timing_cache") or not hasattr(config, "set_timing_cache"):
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache = _timing_cache(config, data or b"")
        if cache is not None and not config.set_timing_cache(cache, False) and data:
            cache = _timing_cache(config, b"")  # a cache from another device or version: start afresh
            if cache is not None and not config.set_timing_cache(cache, False):
                cache = None
    no_op = False
    for w in caught:
        if issubclass(w.category, DeprecationWarning) and "timing cache" in str(w.message).lower():
            no_op = True  # e.g. TensorRT-RTX: "Timing cache operations are no-ops"
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return None if no_op else cache


def _timing_cache(config, data: bytes):
    try:
        cache = config.create_timing_cache(data)
    except Exception:  # corrupt bytes: never trusted, rebuilt from empty
        cache = None
    if cache is None and data:
        return _timing_cache(config, b"")
    return cache


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
