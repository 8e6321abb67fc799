"""Build a network into a serialized plan, capturing the builder's log so a failure can show it."""

from __future__ import annotations

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
    plan = net.builder.build_serialized_network(net.network, config)
    seconds = time.perf_counter() - start
    if plan is None:
        raise BuildError(f"builder returned no plan for case {net.case.id} ({net.path} path); builder log:\n"
                         + net.logger.text())
    return bytes(plan), seconds
