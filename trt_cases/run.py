"""A conformance run: cases x backends, each compared with the reference, recorded for results files.

Selecting is cheap (names to cases and runner factories); running opens each backend once, goes
case by case, and turns every outcome into a `Record`: passed, failed, error (the backend raised;
the run goes on), skipped (with the backend's reason), built (build checks), or xfail/xpass for a
listed known mismatch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import sys
import time

import numpy as np

from . import known_mismatches
from .case import Case
from .compare import OUTPUT_NAMES, compare
from .results import Record, record_of
from .runners.reference_runner import run_reference
from .runners.registry import CPU_ORACLES
from .sets import SETS, named, random_cases

DEFAULT_SETS = ("seeds", "edge")


def select_cases(specs) -> list[Case]:
    """Cases from set names, `random:N`, case ids, or JSON files of cases; a clear error otherwise."""
    cases = []
    for spec in specs:
        if spec in SETS:
            cases += named(spec)
        elif spec.startswith("random:"):
            count = spec.split(":", 1)[1]
            if not count.isdigit() or int(count) < 1:
                raise ValueError(f"case set {spec!r}: random:N needs a whole number N >= 1")
            cases += random_cases(int(count))
        elif spec.endswith(".json"):
            cases += _cases_from_file(spec)
        else:
            try:
                cases.append(Case.from_id(spec))
            except ValueError:
                raise ValueError(f"unknown case set {spec!r}; allowed: {', '.join(SETS)}, random:N, a case id "
                                 "(e.g. lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17) or a .json file of cases") from None
    return list(dict.fromkeys(cases))


def _cases_from_file(path) -> list[Case]:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"case file {path}: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"case file {path}: expected a JSON list of case objects or ids")
    return [Case.from_id(item) if isinstance(item, str) else Case.from_json(item) for item in data]


def all_backends() -> dict:
    """Every backend name -> factory: CPU oracles, simulated networks, build checks, GPU backends."""
    from .networks import PATHS
    from .runners.build_check import BuildCheckRunner
    from .runners.registry import gpu_backends

    backends = dict(CPU_ORACLES)
    try:
        from .runners.simulated_runner import SimulatedRunner
    except ImportError:  # the executor is optional for a run
        SimulatedRunner = None
    for path in PATHS:
        if SimulatedRunner is not None and path != "native":
            backends[f"simulated-{path}"] = (lambda p=path: SimulatedRunner(p))
        backends[f"build-{path}"] = (lambda p=path: BuildCheckRunner(p))
    backends.update(gpu_backends())
    return backends


def select_backends(names=None, paths=None, precisions=None) -> dict:
    """Factories for the named backends (all by default), kept to `paths`/`precisions` where they have one."""
    available = all_backends()
    unknown = [n for n in names or () if n not in available]
    if unknown:
        raise ValueError(f"unknown backend {unknown[0]!r}; allowed: {', '.join(available)}")
    chosen = {n: available[n] for n in (names or available)}
    for label, wanted, field in (("path", paths, _path_of), ("precision", precisions, _precision_of)):
        if wanted:
            known = {field(n) for n in available} - {None}
            bad = [w for w in wanted if w not in known]
            if bad:
                raise ValueError(f"unknown {label} {bad[0]!r}; allowed: {', '.join(sorted(known))}")
            chosen = {n: f for n, f in chosen.items() if field(n) is None or field(n) in wanted}
    return chosen


def _path_of(name):
    for prefix in ("tensorrt-", "simulated-", "build-"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return next((p for p in ("drop-in", "loop", "onnx", "native") if rest.startswith(p)), None)
    return None


def _precision_of(name):
    tail = name.rsplit("-", 1)[-1]
    return tail if tail in ("fp32", "tf32", "fp16", "bf16", "float32", "float16", "float64") else None


def kind_of(runner) -> str:
    if hasattr(runner, "kind"):
        return runner.kind
    if str(getattr(runner, "device", "cpu")).startswith("cuda"):
        return "cudnn"
    return "oracle"


def run(cases, backends: dict, *, xfails=(), progress=None):
    """Run every case on every backend; returns `(records, outputs)` for `results.write`."""
    from .runners.registry import CASE_PRECISION

    records, outputs, env = [], {}, known_mismatches.environment()
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    total, done = len(cases) * len(backends), 0
    references = {}
    with contextlib.ExitStack() as stack:
        for name, factory in backends.items():
            runner = factory()
            opened = False
            for case in cases:
                case_here = _variant(case, CASE_PRECISION.get(runner.precision, "fp32"))
                record = _one(runner, case_here, references, outputs, xfails, env, stack, opened)
                opened = opened or record.status not in ("skipped",)
                records.append(record)
                done += 1
                key = {"passed": "passed", "built": "passed", "xfail": "passed", "skipped": "skipped"}.get(record.status, "failed")
                counts[key] += 1
                if progress:
                    _progress(done, total, counts)
    if progress:
        sys.stderr.write("\n")
    return records, outputs


def _variant(case, precision):
    return case if case.precision == precision else dataclasses.replace(case, precision=precision)


def _one(runner, case, references, outputs, xfails, env, stack, opened) -> Record:
    """One case on one runner, whatever happens."""
    base = dict(case=case.id, backend=runner.name, kind=kind_of(runner), precision=runner.precision, spec=case.to_json())
    reason = runner.unsupported(case)
    if reason:
        return Record(status="skipped", reason=reason, **base)
    if not opened and hasattr(runner, "__enter__"):
        stack.enter_context(runner)
    if case.id not in references:
        references[case.id] = run_reference(case)
        for output_name, value in zip(OUTPUT_NAMES, references[case.id]):
            outputs[f"reference/{case.id}/{output_name}"] = value
    expected = references[case.id]
    build_before = getattr(runner, "build_seconds", None)
    start = time.perf_counter()
    try:
        actual = runner.infer(case)
    except Exception as exc:  # a backend failure is this case's failure (or a known builder failure); the run goes on
        message = f"{type(exc).__name__}: {exc}"
        known = known_mismatches.find_build_failure(runner.name, case.id, env, message)
        return Record(status="xfail" if known else "error", reason=f"known builder failure: {known['reason']}" if known
                      else message, run_seconds=time.perf_counter() - start, **base)
    seconds = time.perf_counter() - start
    build = None if build_before is None else runner.build_seconds - build_before
    if actual is None:
        known = known_mismatches.find_build_failure(runner.name, case.id, env)
        return Record(status="xpass" if known else "built", reason=f"listed as a known builder failure, but it built: "
                      f"{known['reason']}" if known else "", build_seconds=build, run_seconds=seconds, **base)
    result = compare(case, expected, actual, runner.name, runner.precision)
    for output_name, value in zip(OUTPUT_NAMES, actual):
        outputs[f"{runner.name}/{case.id}/{output_name}"] = value
    known = known_mismatches.find(xfails, runner.name, case.id, env)
    errors = np.abs(np.asarray(actual[0], dtype=float) - expected[0])
    per_step = np.max(np.moveaxis(np.nan_to_num(errors, nan=np.inf), -2, 0).reshape(case.max_seq_length, -1), axis=1)
    record = record_of(result, case, base["kind"])
    return dataclasses.replace(record, status=("xpass" if result else "xfail") if known else record.status,
                               reason=known["reason"] if known else "", timestep_errors=[float(v) for v in per_step],
                               build_seconds=build, run_seconds=seconds)


def _progress(done, total, counts):
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  passed {counts['passed']}"
                     f"  failed {counts['failed']}  skipped {counts['skipped']}")
    sys.stderr.flush()
