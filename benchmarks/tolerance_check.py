"""How close real implementations come to the tolerances: per backend, the worst ratio of its error to
each bound of `trt_cases.results.compare` (the max bound `allowed`, the systematic bound `mean_allowed`),
and every case over a bound.

A ratio of 1 is the edge of failing. Real implementations should stay well under 1; an engine
with a small systematic bug (an activation 2e-5 off) should not. Runs on a CPU (onnxruntime,
torch CPU float32) and on a GPU (cuDNN float32, TF32, float16) alike:

    python benchmarks/tolerance_check.py                                   # onnxruntime, torch-cpu-float32
    python benchmarks/tolerance_check.py --backend torch-cuda-float32 --backend torch-cuda-tf32 \\
        --backend torch-cuda-float16 --set matrix --set edge --set hypothesis:1000

`--backend emulated-sigmoid-2e-5` (or `-tanh-`, any relative error) is the float32 reference with that
activation off by that relative error: an engine with a small systematic bug, which should be over
the bounds. `--set` takes what `python -m trt_cases run --set` takes, plus `hypothesis:N`: N cases drawn from
`trt_cases.cases.strategies.cases()` with a fixed seed (derandomized), so every machine draws the same
ones. A backend that cannot run here is reported as skipped with its reason; a case that raises is
counted as an error and the run goes on. Known mismatches (`trt_cases/results/known_mismatches.json`) are
marked, not hidden. Exit status 1 if any case is over a bound (known mismatches excepted).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the checkout's trt_cases, installed or not

from trt_cases.results import known_mismatches  # noqa: E402
from trt_cases.results.compare import compare  # noqa: E402
from trt_cases.runners.reference_runner import run_reference  # noqa: E402
from trt_cases.run import streaming  # noqa: E402
from trt_cases.runners.registry import CASE_PRECISION  # noqa: E402

DEFAULT_BACKENDS = ("onnxruntime", "torch-cpu-float32")
DEFAULT_SETS = ("matrix", "edge", "hypothesis:1000")


def hypothesis_cases(count: int) -> list:
    """`count` cases drawn from `trt_cases.cases.strategies.cases()`, the same on every machine; without
    hypothesis, `count` cases of the `random:N` set (`trt_cases.cases.sets.random_cases`), said so."""
    try:
        from hypothesis import HealthCheck, Phase, given, settings
    except ImportError:
        from trt_cases.cases.sets import random_cases

        print(f"hypothesis is not installed: using random:{count} (trt_cases.cases.sets.random_cases) instead")
        return random_cases(count)

    from trt_cases.cases.strategies import cases

    drawn = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def collect(case):
        drawn.append(case)

    collect()
    return list(dict.fromkeys(drawn))


def select(specs) -> list:
    from trt_cases.cases.selection import select_cases

    cases = []
    for spec in specs:
        if spec.startswith("hypothesis:"):
            count = spec.split(":", 1)[1]
            if not count.isdigit() or int(count) < 1:
                raise ValueError(f"--set {spec!r}: hypothesis:N needs a whole number N >= 1")
            cases += hypothesis_cases(int(count))
        else:
            cases += select_cases([spec])
    return list(dict.fromkeys(cases))


class EmulatedBug:
    """The reference computing in float32 with `activation` ("sigmoid" or "tanh") off by relative `error`."""

    precision = "float32"

    def __init__(self, activation: str, error: float):
        self.activation, self.error = activation, error
        self.name = f"emulated-{activation}-{error:g}"

    def prepare(self, case):
        return None

    def infer(self, case, materials=None):
        import reference.cells as cells

        off = 1 + self.error
        with pytest_monkeypatch() as patch:
            if self.activation == "sigmoid":
                sigmoid = cells.sigmoid
                patch.setattr(cells, "sigmoid", lambda v: sigmoid(v) * off)
            else:
                tanh = cells.tanh
                patch.setattr(cells, "tanh", lambda v: tanh(v) * off)
            return run_reference(case, materials, dtype=np.float32)


def pytest_monkeypatch():
    import pytest

    return pytest.MonkeyPatch.context()


def runner_for(name: str):
    """The runner called `name`: any backend `python -m trt_cases run` knows, torch-cpu-float32, or emulated-*."""
    from trt_cases.runners.registry import backends as all_backends

    if name.startswith("emulated-"):
        _, activation, error = name.split("-", 2)
        if activation not in ("sigmoid", "tanh"):
            raise ValueError(f"backend {name!r}: emulated-<sigmoid|tanh>-<relative error>")
        return EmulatedBug(activation, float(error))
    if name == "torch-cpu-float32":
        from trt_cases.runners.torch_runner import TorchRunner
        return TorchRunner("cpu", "float32")
    backends = all_backends()
    if name not in backends:
        raise ValueError(f"unknown backend {name!r}; allowed: torch-cpu-float32, {', '.join(backends)}")
    return backends[name].create()


def check(name: str, cases, xfails, env, show: int) -> bool:
    """Print one backend's figures; True when no case is over a bound (known mismatches excepted)."""
    try:
        runner = runner_for(name)
    except Exception as exc:  # a backend that cannot even be created is reported, not fatal
        print(f"{name}: cannot create the backend: {type(exc).__name__}: {exc}")
        return True
    counts = {"compared": 0, "skipped": 0, "error": 0}
    reasons, errors, rows = {}, [], []
    start = time.perf_counter()
    entered = False
    try:
        for case in cases:
            case = dataclasses.replace(case, precision=CASE_PRECISION.get(runner.precision, "fp32"))
            reason = runner.prepare(case)
            if reason:
                counts["skipped"] += 1
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            if not entered and hasattr(runner, "__enter__"):
                runner.__enter__()
                entered = True
            try:
                result = compare(case, run_reference(case), streaming.infer(runner, case), runner.name, runner.precision)
            except Exception as exc:  # noqa: BLE001 - a failing case is a figure, the sweep goes on
                counts["error"] += 1
                errors.append(f"{case.id}: {type(exc).__name__}: {exc}")
                continue
            counts["compared"] += 1
            known = known_mismatches.find(xfails, runner.name, case.id, env)
            mean_ratio = result.mean_abs / result.mean_allowed if np.isfinite(result.mean_allowed) else 0.0
            rows.append((result.max_abs / result.allowed, mean_ratio, case.id, bool(known)))
    finally:
        if entered:
            runner.__exit__(None, None, None)
    seconds = time.perf_counter() - start
    print(f"{runner.name} ({runner.precision}): {counts['compared']} compared, {counts['skipped']} skipped, "
          f"{counts['error']} errors, {seconds:.1f} s")
    for reason, count in reasons.items():
        print(f"  skipped {count} x {reason}")
    for line in errors[:show]:
        print(f"  error {line}")
    if not rows:
        return not errors
    for label, column in (("max", 0), ("mean", 1)):
        ordered = sorted(rows, key=lambda row: -row[column])
        print(f"  worst {label} ratio (error / allowed): "
              + ", ".join(f"{row[column]:.3g} {row[2]}{' (known mismatch)' if row[3] else ''}" for row in ordered[:show]))
    over = [row for row in rows if row[0] > 1 or row[1] > 1]
    unknown = [row for row in over if not row[3]]
    print(f"  over a bound: {len(over)} ({len(over) - len(unknown)} known mismatches)")
    for max_ratio, mean_ratio, case_id, known in over:
        print(f"    {case_id}: max ratio {max_ratio:.3g}, mean ratio {mean_ratio:.3g}{' (known mismatch)' if known else ''}")
    return not unknown and not errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", help=f"repeatable (default: {' '.join(DEFAULT_BACKENDS)})")
    parser.add_argument("--set", action="append", help=f"repeatable (default: {' '.join(DEFAULT_SETS)})")
    parser.add_argument("--show", type=int, default=5, help="worst cases listed per backend (default 5)")
    args = parser.parse_args(argv)
    try:
        cases = select(args.set or DEFAULT_SETS)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    xfails, env = known_mismatches.load(), known_mismatches.versions()
    print(f"{len(cases)} cases ({', '.join(args.set or DEFAULT_SETS)})")
    ok = True
    for name in args.backend or DEFAULT_BACKENDS:
        ok = check(name, cases, xfails, env, args.show) and ok
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
