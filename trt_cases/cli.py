"""Command line: conformance runs, one-case checks, the upgrade comparison, and reports.

    python -m trt_cases                        # a small default run on whatever is available
    python -m trt_cases run --set matrix --backend onnxruntime --path loop --precision fp16
    python -m trt_cases check lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --backend onnxruntime
    python -m trt_cases compare results/old results/new     # exit 1 on regressions
    python -m trt_cases report results/new                  # re-render report.html and summary.md
    python -m trt_cases trace lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --path loop
    python -m trt_cases run --set matrix --shard 2/4 --out results/shard2   # one machine's quarter of the cases
    python -m trt_cases merge results/shard1 results/shard2 ... --out results/all

Exit status: 0 all passed (or no regression), 1 failures (or regressions), 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import pathlib
import sys

from . import baseline, known_mismatches, report, results, shard
from .run import DEFAULT_SETS, run, select_backends, select_cases


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return COMMANDS[args.command or "run"](args)
    except ValueError as exc:  # bad names, unreadable or foreign files: a message, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(prog="python -m trt_cases", description=__doc__.splitlines()[0])
    parser.set_defaults(command=None, set=None, backend=None, path=None, precision=None, out=None,
                        xfails_file=str(known_mismatches.DEFAULT_FILE), progress=None)
    sub = parser.add_subparsers(dest="command")
    run_ = sub.add_parser("run", help="run case sets on backends; write results, report.html and summary.md")
    run_.add_argument("--set", action="append", metavar="SET",
                      help=f"seeds, matrix, edge, random:N, a case id or a .json file of cases (repeatable; default {' '.join(DEFAULT_SETS)})")
    check = sub.add_parser("check", help="compare one case, given by its id, and print the comparisons")
    check.add_argument("case_id")
    for p in (run_, check):
        p.add_argument("--backend", action="append", help="backend name (repeatable; default: every one)")
        p.add_argument("--path", action="append", help="network path: loop, drop-in, onnx, native (repeatable)")
        p.add_argument("--precision", action="append", help="fp32, tf32, fp16, bf16, float32, float64 ... (repeatable)")
        p.add_argument("--xfails-file", default=str(known_mismatches.DEFAULT_FILE), help="known mismatches (JSON)")
    run_.add_argument("--out", help="results directory (default results/<UTC time>)")
    run_.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: on a terminal)")
    run_.add_argument("--shard", metavar="I/N", help="run only shard I of N (a partition of the cases by id), e.g. 2/4")
    merge_ = sub.add_parser("merge", help="merge results directories (shards of one run) into one results file and report")
    merge_.add_argument("results", nargs="+", metavar="DIR", help="results directories (or results.json files), e.g. one per shard")
    merge_.add_argument("--out", required=True, help="directory for the merged results.json, outputs.npz and report")
    compare = sub.add_parser("compare", help="the upgrade check: list changes from BASELINE to CURRENT; exit 1 on regressions")
    compare.add_argument("baseline")
    compare.add_argument("current")
    rep = sub.add_parser("report", help="re-render report.html and summary.md of a results directory")
    rep.add_argument("results")
    tracing = sub.add_parser("trace", help="simulate one case's network (NumPy executor) and localise where it "
                                           "departs from the reference")
    tracing.add_argument("case_id")
    tracing.add_argument("--path", choices=["loop", "drop-in"], default="loop", help="network path (default: loop)")
    return parser


def cmd_run(args) -> int:
    specs = args.set or list(DEFAULT_SETS)
    cases = select_cases(specs)
    if getattr(args, "shard", None) is not None:  # a deterministic part of the cases, for a run spread over machines
        cases = shard.select(cases, args.shard)
        print(f"shard {args.shard}: {len(cases)} of the cases")
    backends = select_backends(args.backend, args.path, args.precision)
    xfails = known_mismatches.load(args.xfails_file)
    out = pathlib.Path(args.out or f"results/{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}")
    print(f"{len(cases)} cases ({', '.join(specs)}) on {len(backends)} backends -> {out}")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    records, outputs = run(cases, backends, xfails=xfails, progress=progress)
    document = results.read(results.write(out, records, outputs, sets=specs))
    (out / "report.html").write_text(report.html_report(document))
    summary = report.markdown_report(document)
    (out / "summary.md").write_text(summary)
    print(summary)
    print(_what_ran(document))
    print(f"results: {out / 'results.json'}  report: {out / 'report.html'}")
    return 1 if any(r["status"] in results.FAILING for r in document["records"]) else 0


def _what_ran(document) -> str:
    """Which backends ran, by kind, and why the others did not: said plainly."""
    ran, skipped = {}, {}
    for r in document["records"]:
        if r["status"] == "skipped":
            skipped.setdefault(r["backend"], r["reason"])
        else:
            ran.setdefault(r["kind"], set()).add(r["backend"])
    lines = ["ran:"] + [f"  {kind}: {', '.join(sorted(names))}" for kind, names in sorted(ran.items())]
    missing = [f"  {name}: {reason}" for name, reason in skipped.items() if all(name not in n for n in ran.values())]
    lines += ["did not run:"] + missing if missing else ["did not run: none"]
    if any(kind == "simulated" for kind in ran):
        lines.append("note: 'simulated' results come from the NumPy executor of the TensorRT network, not from TensorRT")
    if any(kind == "build-check" for kind in ran):
        lines.append("note: 'build-check' results prove the network builds; no engine ran, no numbers were checked")
    return "\n".join(lines)


def cmd_check(args) -> int:
    from .case import Case
    from .compare import compare
    from .runners.reference_runner import run_reference

    case = Case.from_id(args.case_id)
    failed = 0
    for name, factory in select_backends(args.backend, args.path, args.precision).items():
        runner = factory()
        reason = runner.unsupported(case)
        if reason:
            print(f"{name}: skipped: {reason}")
            continue
        with (runner if hasattr(runner, "__enter__") else contextlib.nullcontext()):
            outputs = runner.infer(case)
        if outputs is None:
            print(f"{name}: built")
            continue
        result = compare(case, run_reference(case), outputs, runner.name, runner.precision)
        failed += not result
        print(result.message())
    return 1 if failed else 0


def cmd_compare(args) -> int:
    changes = baseline.compare_runs(results.read(args.baseline), results.read(args.current))
    print(baseline.summary(changes))
    return 1 if any(c.regression for c in changes) else 0


def cmd_report(args) -> int:
    directory = pathlib.Path(args.results)
    document = results.read(directory)
    directory = directory if directory.is_dir() else directory.parent
    (directory / "report.html").write_text(report.html_report(document))
    (directory / "summary.md").write_text(report.markdown_report(document))
    print(f"wrote {directory / 'report.html'} and {directory / 'summary.md'}")
    return 0


def cmd_merge(args) -> int:
    from . import merge

    out = pathlib.Path(args.out)
    if (out / "results.json").exists():
        raise ValueError(f"--out {out}: already holds a results.json; give a new directory")
    merged = merge.merge(args.results)
    document = results.read(merge.write(merged, out))
    (out / "report.html").write_text(report.html_report(document))
    (out / "summary.md").write_text(report.markdown_report(document))
    print(merge.describe(merged, out))
    return 0


def cmd_trace(args) -> int:
    """Print, per layer and direction, where the simulated network first departs from the reference."""
    from . import trt_api
    from .case import Case
    from .compare import compare
    from .executor.trace import trace
    from .runners.reference_runner import run_reference
    from .runners.simulated_runner import SimulatedRunner

    case = Case.from_id(args.case_id)
    runner = SimulatedRunner(args.path)
    reason = runner.unsupported(case)
    if reason:
        print(f"cannot trace {case.id} on the {args.path} path: {reason}", file=sys.stderr)
        return 2
    print(f"trace of {case.id}: {runner.label}; network defined with {trt_api.load().label}'s API")
    result = compare(case, run_reference(case), runner.infer(case), runner.name, runner.precision)
    print(result.message())
    verdicts = trace(case, args.path)
    for verdict in verdicts:
        print("  " + verdict.line())
    return 0 if result and all(verdicts) else 1


COMMANDS = {"run": cmd_run, "check": cmd_check, "compare": cmd_compare, "report": cmd_report, "trace": cmd_trace,
            "merge": cmd_merge}


if __name__ == "__main__":
    sys.exit(main())
