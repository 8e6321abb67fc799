"""Command line: compare the reference with every available oracle, over case sets or one case.

    python -m trt_cases                                  # seeds + matrix + edge, every CPU oracle
    python -m trt_cases run --set matrix --backend onnxruntime
    python -m trt_cases check lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --backend onnxruntime
    python -m trt_cases trace lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --path loop

Exit status 0 when every comparison passed, 1 when one failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time

from .case import Case
from .compare import compare
from .runners.reference_runner import run_reference
from .runners.registry import CPU_ORACLES, backend
from .sets import SETS, named


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trt_cases", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="compare over case sets (the default command)")
    run.add_argument("--set", action="append", choices=list(SETS), help="case set (repeatable); default: all")
    run.add_argument("--backend", action="append", choices=list(CPU_ORACLES), help="oracle (repeatable); default: all")
    check = sub.add_parser("check", help="compare one case, given by its id")
    check.add_argument("case_id")
    check.add_argument("--backend", action="append", choices=list(CPU_ORACLES), help="oracle (repeatable); default: all")
    tracing = sub.add_parser("trace", help="simulate one case's network and localise where it departs from the reference")
    tracing.add_argument("case_id")
    tracing.add_argument("--path", choices=["loop", "drop-in"], default="loop", help="network path (default: loop)")
    args = parser.parse_args(argv)
    if args.command == "trace":
        try:
            case = Case.from_id(args.case_id)
        except ValueError as exc:
            parser.error(str(exc))
        return trace_case(case, args.path)
    if args.command == "check":
        try:
            cases = [Case.from_id(args.case_id)]
        except ValueError as exc:
            parser.error(str(exc))
        return compare_all(cases, args.backend or list(CPU_ORACLES), verbose=True)
    sets = getattr(args, "set", None) or list(SETS)
    cases = [case for name in sets for case in named(name)]
    print(f"{len(cases)} cases from {', '.join(sets)}")
    return compare_all(cases, getattr(args, "backend", None) or list(CPU_ORACLES), verbose=False)


def compare_all(cases, backend_names, verbose) -> int:
    """Compare every case on every backend with the reference; print one line per backend, failures in full."""
    failed = 0
    for name in backend_names:
        runner = backend(name)
        counts = {"passed": 0, "failed": 0, "skipped": 0}
        reasons = set()
        start = time.perf_counter()
        for case in cases:
            reason = runner.unsupported(case)
            if reason:
                counts["skipped"] += 1
                reasons.add(reason)
                continue
            result = compare(case, run_reference(case), runner.infer(case), runner.name, runner.precision)
            counts["passed" if result else "failed"] += 1
            if verbose or not result:
                print(result.message())
        failed += counts["failed"]
        print(f"{name:18} precision {runner.precision:8} passed {counts['passed']:4}  failed {counts['failed']:4}"
              f"  skipped {counts['skipped']:4}  ({time.perf_counter() - start:.1f} s)")
        for reason in sorted(reasons):
            print(f"{'':18} skipped: {reason}")
    return 1 if failed else 0


def trace_case(case, path) -> int:
    """Print, per layer and direction, where the simulated network first departs from the reference."""
    from . import trt_api
    from .executor.trace import trace
    from .runners.simulated_runner import SimulatedRunner

    runner = SimulatedRunner(path)
    reason = runner.unsupported(case)
    if reason:
        print(f"cannot trace {case.id} on the {path} path: {reason}")
        return 2
    print(f"trace of {case.id}: {runner.label}; network defined with {trt_api.load().label}'s API")
    result = compare(case, run_reference(case), runner.infer(case), runner.name, runner.precision)
    print("\n".join(line for line in result.message().splitlines() if not line.startswith("  re-run:")))
    verdicts = trace(case, path)
    for verdict in verdicts:
        print("  " + verdict.line())
    return 0 if result and all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
