"""Helpers the test modules share: a case checked on a runner through the run engine, stand-in runners, the
verdicts a case set may end in, and pytest run as a user runs it."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from trt_cases.results.records import describe
from trt_cases.run import run_case
from trt_cases.runners.base import Runner


def conforms(runner, case, log=None, hint: str = ""):
    """`case` on `runner` through the run engine: skips with the runner's reason, else must pass; the record (and
    its outputs) go to `log` (the `conformance_log` fixture) where given. Returns the record."""
    record, outputs = run_case(runner, case)
    if log is not None:
        log.add(record, outputs)
    if record.status == "skipped":
        pytest.skip(record.reason)
    assert record.status == "passed", describe(record) + (f"\n  {hint}" if hint else "")
    return record


class Fixed(Runner):
    """A stand-in backend whose outputs are the reference's plus `shift` (0: a perfect backend)."""

    def __init__(self, name="stub", kind="oracle", shift=0.0, precision="float32", reason=None):
        self.name, self.kind, self.shift, self.precision, self.reason = name, kind, shift, precision, reason

    def prepare(self, case):
        return self.reason

    def infer(self, case, materials=None):
        return tuple(e + self.shift for e in case.reference(materials))


def specs(factories: dict) -> dict:
    """`{name: factory}` as the backend specs `run.run` takes (kind "oracle": the record takes the runner's own)."""
    from trt_cases.runners.registry import BackendSpec

    return {name: BackendSpec(name, "oracle", factory) for name, factory in factories.items()}


class DropsCellStateAtOneStep(Fixed):
    """A planted engine defect: an LSTM called on one step ignores a non-zero initial cell state (runs from zero);
    on two or more steps, and for the other ops, it is the reference."""

    def infer(self, case, materials=None):
        m = case.materialise() if materials is None else materials
        if case.op == "LSTM" and case.max_seq_length == 1:
            m = m._replace(**{"cell_state" if hasattr(m, "cell_state") else "initial_c": None})
        return case.reference(m)


class Spy(Fixed):
    """The reference, keeping each call's `(case, materials, outputs)` in `calls`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def infer(self, case, materials=None):
        outputs = case.reference(materials)
        self.calls.append((case, materials, outputs))
        return outputs


ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_pytest(*args, timeout=600):
    """`python -m pytest ARGS` in the repository, as a user runs it (not inside this session's xdist worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def acceptable(record) -> bool:
    """Passed or built; skipped with a reason; or an expected failure that names a finding or a known mismatch of
    TensorRT-RTX."""
    if record.status == "skipped":
        return bool(record.reason)
    if record.status == "xfail":
        return record.reason.startswith("finding: ") or "TensorRT-RTX" in record.reason
    return record.status in ("passed", "built")
