"""Command line: conformance runs, one-case checks, the upgrade comparison, and reports.

    python -m trt_cases                        # a small default run on whatever is available
    python -m trt_cases run --set matrix --backend onnxruntime --path loop --precision fp16
    python -m trt_cases check lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --backend onnxruntime
    python -m trt_cases compare results/old results/new     # exit 1 on regressions
    python -m trt_cases report results/new                  # re-render report.html and summary.md
    python -m trt_cases trace lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --path loop
    python -m trt_cases run --set matrix --shard 2/4 --out results/shard2   # one machine's quarter of the cases
    python -m trt_cases merge results/shard1 results/shard2 ... --out results/all
    python -m trt_cases run --set mymodel.onnx --backend onnxruntime       # every RNN/GRU/LSTM node of a model
    python -m trt_cases export lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17 --out bundle   # a bug-report bundle
    python -m trt_cases run --set mymodel.onnx --stream-chunk 1 --backend onnxruntime   # called step by step, states carried

Exit status:
  0    all passed (compare: no regression)
  1    conformance failures: a case failed, errored, or passed while listed as a known mismatch
       (compare: regressions)
  2    bad usage or input: unknown names, malformed case or results files, sizes this machine cannot
       hold, an --out that cannot be written or holds earlier results (use --force or another --out)
  3    nothing compared: no backend compared any case with the reference (skipped and built-only runs
       count as nothing compared; --allow-no-comparison accepts that), or a backend named with
       --backend could not run any case (one line on stderr per such backend, with its reason)
  130  interrupted (Ctrl-C); `run` keeps the finished records in results.json, marked "partial": true
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import sys

from . import report
from .results import baseline, baseline_output, known_mismatches, records as results, shard
from .cases.case import PRECISIONS
from .cases.sets import SETS
from .cases.selection import DEFAULT_SETS, select_cases
from .run import gate, run
from .runners.registry import select_backends

OK, FAILURES, USAGE, NOTHING_COMPARED, INTERRUPTED = 0, 1, 2, 3, 130
EXIT_STATUS = __doc__[__doc__.index("Exit status:"):]
RESULT_FILES = ("results.json", "outputs.npz", "report.html", "summary.md")


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if getattr(args, "builder_optimization_level", None) is not None:
            _runner_options(args)  # checked before any work
        return COMMANDS[args.command or "run"](args)
    except ValueError as exc:  # bad names, unreadable or foreign files: a message, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED


def _parser():
    epilog = dict(epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser = argparse.ArgumentParser(prog="python -m trt_cases", description=__doc__.splitlines()[0], **epilog)
    parser.set_defaults(command=None, set=None, backend=None, path=None, precision=None, out=None,
                        xfails_file=str(known_mismatches.DEFAULT_FILE), progress=None, force=False,
                        allow_no_comparison=False, timing_repeats=0)
    sub = parser.add_subparsers(dest="command")
    run_ = sub.add_parser("run", help="run case sets on backends; write results, report.html and summary.md", **epilog)
    run_.add_argument("--set", action="append", metavar="SET",
                      help=f"{', '.join(SETS)}, random:N, a case id, a .json file of cases, or an ONNX model (MODEL.onnx: a case "
                           f"per RNN/GRU/LSTM node) (repeatable; default {' '.join(DEFAULT_SETS)})")
    check = sub.add_parser("check", help="compare one case, given by its id, and print the comparisons", **epilog)
    check.add_argument("case_id")
    check.add_argument("--set", action="append", metavar="MODEL.onnx",
                       help="where the case id is found: a model's node ids need the model (repeatable)")
    export = sub.add_parser("export", help="write one case as a bug-report bundle: model.onnx, inputs, float64 "
                                           "reference outputs, polygraphy and trtexec command lines", **epilog)
    export.add_argument("case_id")
    export.add_argument("--out", required=True, help="a new or empty folder for the bundle")
    export.add_argument("--set", action="append", metavar="MODEL.onnx", help="a model whose node ids to resolve (repeatable)")
    export.add_argument("--precision", choices=PRECISIONS, help="the case at this precision")
    for p in (run_, check, export):
        p.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                       help="a model's input shape, e.g. x=1x20x64 (NAME: a graph input or a recurrent node's X; repeatable)")
        p.add_argument("--inputs", default="", metavar="FILE.npz",
                       help="a model's inputs: arrays keyed by a node's X tensor name or by graph input names")
        p.add_argument("--seed", type=_seed, default=0, metavar="N", help="seed drawing a model's node inputs (default 0)")
        p.add_argument("--stream-chunk", metavar="C", help="stream every case (a model's nodes too): C steps per call, "
                                                           "the states each call returns fed to the next (docs/streaming.md)")
    for p in (run_, check, export):  # a model as deployed: one engine per node with this optimization profile
        for field in ("min", "opt", "max"):
            p.add_argument(f"--{field}-shapes", action="append", default=[], metavar="NAME=DIMS",
                           help=f"the {field} dims of a model's optimization profile, e.g. x=1x20x64 (trtexec's "
                                f"--{field}Shapes; NAME: a graph input or a recurrent node's X; repeatable): each node "
                                "runs on one engine at min, opt, max and every --shape")
    for p in (run_, check):
        p.add_argument("--backend", action="append", help="backend name (repeatable; default: every one)")
        p.add_argument("--path", action="append", help="network path: loop, drop-in, onnx, native (repeatable)")
        p.add_argument("--precision", action="append", help="fp32, tf32, fp16, bf16, float32, float64 ... (repeatable)")
        p.add_argument("--xfails-file", default=str(known_mismatches.DEFAULT_FILE), help="known mismatches (JSON)")
        p.add_argument("--builder-optimization-level", metavar="N", help="TensorRT builder optimisation level 0-5")
        p.add_argument("--share-engines", action="store_true",
                       help="run static IRNNv2 cases of one structure on one loop engine (weights, lengths and states as "
                            "inputs, dynamic batch and S), as pytest -m gpu runs matrix (tensorrt-loop-*, build-loop*, "
                            "simulated-loop*)")
        p.add_argument("--allow-no-comparison", action="store_true",
                       help="exit 0, not 3, when no backend compared numbers (e.g. a run of build checks only)")
    run_.add_argument("--out", help="results directory (default results/<UTC time>); one holding results is refused")
    run_.add_argument("--timing-repeats", type=_repeats, default=0, metavar="N",
                      help="after each case's first (warm-up) inference, time N more; record their median (for compare --timing)")
    run_.add_argument("--force", action="store_true", help="overwrite the results already in --out")
    run_.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress on stderr (default on): a bar on a terminal, a line every 10 s or 10%% otherwise")
    run_.add_argument("--shard", metavar="I/N", help="run only shard I of N (a partition of the cases by id), e.g. 2/4")
    merge_ = sub.add_parser("merge", help="merge results directories (shards of one run) into one results file and report")
    merge_.add_argument("results", nargs="+", metavar="DIR", help="results directories (or results.json files), e.g. one per shard")
    merge_.add_argument("--out", required=True, help="directory for the merged results.json, outputs.npz and report")
    compare = sub.add_parser("compare", help="the upgrade check: list changes from BASELINE to CURRENT; exit 1 on regressions")
    compare.add_argument("baseline")
    compare.add_argument("current")
    compare.add_argument("--timing", action="store_true",
                         help="also compare run times: medians of repeated timings (runs made with --timing-repeats N)")
    compare.add_argument("--json", metavar="FILE", help="write the changes as JSON")
    compare.add_argument("--junit", metavar="FILE", help="write JUnit XML: one testcase per (case, backend) pair")
    rep = sub.add_parser("report", help="re-render report.html and summary.md of a results directory")
    rep.add_argument("results")
    rep.add_argument("--baseline", metavar="OTHER", help="a baseline results directory: show the changes from it")
    _trace_and_reduce_parsers(sub, epilog)
    return parser


def _repeats(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"--timing-repeats {text!r}: allowed: a whole number N >= 0")
    return int(text)


def _seed(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"--seed {text!r}: allowed: a whole number N >= 0")
    return int(text)


def _runner_options(args) -> dict:
    """`--builder-optimization-level N`, checked: the options the TensorRT runners are made with."""
    from .runners.trt_runner import optimization_level_of

    level = getattr(args, "builder_optimization_level", None)
    return {"builder_optimization_level": optimization_level_of(level, "--builder-optimization-level"),
            "share_engines": bool(getattr(args, "share_engines", False))}


def cmd_run(args) -> int:
    specs = args.set or list(DEFAULT_SETS)
    out = pathlib.Path(args.out or f"results/{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}")
    _check_out(out, args.force)
    cases = _streamed(args, select_cases(specs, **_model_options(args)))
    if getattr(args, "shard", None) is not None:  # a deterministic part of the cases, for a run spread over machines
        cases = shard.select(cases, args.shard)
        print(f"shard {args.shard}: {len(cases)} of the cases")
    backends = select_backends(args.backend, args.path, args.precision)
    xfails = known_mismatches.load(args.xfails_file)
    try:
        if args.force:
            for name in RESULT_FILES:
                (out / name).unlink(missing_ok=True)
        writer = results.ResultsWriter(out, sets=specs)  # writes a first (partial, empty) file: --out works
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write results there: {exc.strerror or exc}") from None
    print(f"{len(cases)} cases ({', '.join(specs)}) on {len(backends)} backends -> {out}", flush=True)
    _profile_hint(args, specs)
    interrupted, engines = False, {}
    try:
        with writer:
            run(cases, backends, xfails=xfails, progress=args.progress is not False, on_record=writer.add,
                timing_repeats=args.timing_repeats, runner_options=_runner_options(args), engine_counts=engines)
            writer.close()
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        kept = len(writer.document["records"])
        print(f"interrupted: {kept} finished record(s) kept in {writer.path}, marked partial", file=sys.stderr)
        return INTERRUPTED
    document = results.read(writer.path)
    summary = report.write(out, document)
    print(summary)
    print(_what_ran(document))
    print(_engines_line(engines, results.records_of(document)))
    print(f"results: {out / 'results.json'}  report: {out / 'report.html'}")
    status, lines = gate(results.records_of(document), args.backend or (), args.allow_no_comparison)
    for line in lines:
        print(line, file=sys.stderr)
    return status


def _engines_line(engines: dict, records) -> str:
    """How many engines (and networks) served how many cases, per backend that builds any."""
    if not engines:
        return "engines: none built (no TensorRT or build-check backend ran)"
    lines = ["engines:"]
    for name, counts in engines.items():
        served = [r for r in records if r.backend == name and r.engine]
        lines.append(f"  {name}: " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items())
                     + f" for {len(served)} cases on {len({r.engine for r in served})} distinct engines")
    return "\n".join(lines)


def _model_options(args) -> dict:
    """`--shape`, `--inputs`, `--seed`: how a model's node cases get their data; `--min/opt/max-shapes`: a profile."""
    return dict(shapes=getattr(args, "shape", ()) or (), inputs=getattr(args, "inputs", "") or "",
                seed=getattr(args, "seed", 0) or 0,
                **{f"{f}_shapes": getattr(args, f"{f}_shapes", ()) or () for f in ("min", "opt", "max")})


def _profile_hint(args, specs) -> None:
    """A model with symbolic dims given no profile: one line per model naming the flags that test it as deployed."""
    from .cases.model_profile import symbolic_hint
    from .cases.onnx_model import shape_table

    options = _model_options(args)
    if not any(options[f"{f}_shapes"] for f in ("min", "opt", "max")):
        for line in symbolic_hint([s for s in specs if s.lower().endswith(".onnx")], shape_table(options["shapes"])):
            print(line, flush=True)


def _streamed(args, cases) -> list:
    """`--stream-chunk C`: the cases streamed C steps per call (a one-line error for a C that is not 1..S)."""
    from .cases.chunks import streamed

    return cases if getattr(args, "stream_chunk", None) is None else streamed(cases, args.stream_chunk)


def _one_case(args):
    """The case `args.case_id` names: of either family, or a node of a model given with --set."""
    from .cases.families import case_from_id
    from .cases.model import resolve

    if getattr(args, "set", None):
        cases = select_cases(args.set, **_model_options(args))
        cases = list(dict.fromkeys(_streamed(args, cases) + cases))  # the id with its -chunkC tag, or without it
        known = [c for c in cases if c.id == args.case_id]
        if known:
            return _streamed(args, known)[0]
        if any(s.lower().endswith(".onnx") for s in args.set):
            return _streamed(args, [resolve(args.case_id, cases)])[0]
    try:
        case = case_from_id(args.case_id)
    except ValueError as exc:
        raise ValueError(f"{exc} (a model node's case id needs its model: --set MODEL.onnx)") from None
    return _streamed(args, [case])[0]


def _check_out(out: pathlib.Path, force: bool) -> None:
    """Refuse, before any work, an --out that cannot hold results or already holds some (unless forced)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is an existing file; give a folder for the results")
    if out.is_dir():
        earlier = [name for name in RESULT_FILES if (out / name).exists()]
        if earlier and not force:
            raise ValueError(f"--out {out} already holds results ({', '.join(earlier)}); use --force to overwrite "
                             "them or give another --out")
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"--out {out} is not writable")
        return
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {parent} is not writable")


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
    """Every selected backend on one case, each whatever the others do; the same verdict as `run`."""
    from .cases import limits

    case = _one_case(args)
    limits.check_case(case)
    _profile_hint(args, args.set or ())
    backends = select_backends(args.backend, args.path, args.precision)
    xfails = known_mismatches.load(args.xfails_file)
    records = []
    for spec in backends.values():
        found, _ = run([case], {spec.name: spec}, xfails=xfails, runner_options=_runner_options(args))
        records += found
        for record in found:
            print(results.describe(record), flush=True)
    status, lines = gate(records, args.backend or (), args.allow_no_comparison)
    for line in lines:
        print(line, file=sys.stderr)
    return status


def cmd_export(args) -> int:
    """Write one case as a bug-report bundle (`export.bundle`)."""
    import dataclasses

    from .cases import limits
    from .export import bundle

    bundle.check_out(args.out)
    case = _one_case(args)
    if args.precision and args.precision != case.precision:
        case = dataclasses.replace(case, precision=args.precision)
    limits.check_case(case)
    out = bundle.write(case, args.out)
    print(f"wrote the bundle of {case.id} to {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    print(f"check it with TensorRT: sh {out / 'commands.sh'}")
    return 0


def cmd_compare(args) -> int:
    diff = baseline.compare_runs(results.read(args.baseline), results.read(args.current), timing=args.timing)
    print(baseline_output.summary(diff))
    for option, path, text in (("--json", args.json, lambda: json.dumps(baseline_output.to_json(diff, args.baseline, args.current), indent=1)),
                               ("--junit", args.junit, lambda: baseline_output.to_junit(diff))):
        if path:
            try:
                pathlib.Path(path).write_text(text())
            except OSError as exc:
                raise ValueError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None
    return diff.exit_status()


def cmd_report(args) -> int:
    directory = pathlib.Path(args.results)
    document = results.read(directory)
    diff = baseline.compare_runs(results.read(args.baseline), document) if args.baseline else None
    directory = directory if directory.is_dir() else directory.parent
    report.write(directory, document, diff=diff)
    print(f"wrote {directory / 'report.html'} and {directory / 'summary.md'}")
    return 0


def cmd_merge(args) -> int:
    from .results import merge

    out = pathlib.Path(args.out)
    if (out / "results.json").exists():
        raise ValueError(f"--out {out}: already holds a results.json; give a new directory")
    merged = merge.merge(args.results)
    document = results.read(merge.write(merged, out))
    report.write(out, document)
    print(merge.describe(merged, out))
    return 0


def _trace_and_reduce_parsers(sub, epilog) -> None:
    """`trace` (where a case departs), `reduce` (its smallest failing case), `findings` (the findings page)."""
    tracing = sub.add_parser("trace", help="localise where one case's network departs from the reference: simulated "
                                           "(NumPy executor) or, with --backend tensorrt-*, on a real engine", **epilog)
    tracing.add_argument("case_id")
    tracing.add_argument("--path", choices=["loop", "drop-in", "onnx"],
                         help="network path of the simulation (default: loop; onnx for ONNX-operator cases and model nodes)")
    tracing.add_argument("--backend", help="a tensorrt-* backend: trace its engine (the GPU's), e.g. tensorrt-loop-fp32")
    shrink = sub.add_parser("reduce", help="shrink a failing case to a 1-minimal case that fails the same way on a "
                                           "backend; or every distinct failure of a results directory", **epilog)
    shrink.add_argument("case_id", metavar="CASE_ID|RESULTS_DIR")
    shrink.add_argument("--backend", help="the backend it fails on (required with a case id)")
    shrink.add_argument("--precision", help="run at this precision, as `run --precision` (fp32, fp16, ..., float64)")
    shrink.add_argument("--out", help="a new or empty folder for the bug-report bundle of the smallest case")
    found = sub.add_parser("findings", help="write the findings page (docs/findings.md) from the known mismatches and "
                                            "known builder failures, each with its minimal case", **epilog)
    found.add_argument("--out", required=True, help="the Markdown file to write, e.g. docs/findings.md")
    for p in (tracing, shrink):
        p.add_argument("--set", action="append", metavar="MODEL.onnx", help="a model whose node ids to resolve (repeatable)")
        p.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS", help="a model's input shape, e.g. x=5x3x8")
        p.add_argument("--inputs", default="", metavar="FILE.npz", help="a model's inputs (as for run)")
        p.add_argument("--seed", type=_seed, default=0, metavar="N", help="seed drawing a model's node inputs (default 0)")


def cmd_trace(args) -> int:
    """Print, per layer and direction, where the case's network (simulated, or a TensorRT engine) first departs."""
    from .cases.onnx_case import OnnxCase

    case = _one_case(args)
    path = args.path or ("onnx" if isinstance(case, OnnxCase) else "loop")
    if isinstance(case, OnnxCase) and path != "onnx":
        raise ValueError(f"--path {path}: {case.id} is an ONNX-operator case (or model node); it has the onnx path only")
    try:
        verdicts, agrees = _engine_trace(case, args.backend) if args.backend else _simulated_trace(case, path)
    except _CannotRun as exc:
        print(str(exc), file=sys.stderr)
        return NOTHING_COMPARED
    for verdict in verdicts:
        print("  " + verdict.line())
    if isinstance(case, OnnxCase):
        print("  (an ONNX node's network is localised to direction, timestep and output: Y, then Y_h, Y_c; the parser's "
              "loop interior is named by counters, its gates and per-step states are not mapped)")
    return 0 if agrees and all(verdicts) else FAILURES


class _CannotRun(Exception):
    """The backend cannot run the case here: its reason (exit 3)."""


def _simulated_trace(case, path):
    from .networks import trt_api
    from .results.compare import compare
    from .executor.trace import trace
    from .runners.reference_runner import run_reference
    from .runners.simulated_runner import SimulatedRunner

    runner = SimulatedRunner(path)
    reason = runner.prepare(case)
    if reason:
        raise _CannotRun(f"cannot trace {case.id} on the {path} path: {reason}")
    print(f"trace of {case.id}: {runner.label}; network defined with {trt_api.load().label}'s API")
    try:
        result = compare(case, run_reference(case), runner.infer(case), runner.name, runner.precision)
    except ValueError as exc:  # outputs of other shapes: the trace's one line says which
        print(f"{runner.name} DISAGREES with the reference on case {case.id}: {exc}")
        result = False
    else:
        print(result.message())
    try:
        return trace(case, path), bool(result)
    except ValueError as exc:
        print(f"  {exc}")
        return [], False


def _engine_trace(case, backend):
    from .runners.trace_engine import trace_engine
    from .runners.trt_runner import TensorRTRunner

    spec, = select_backends([backend]).values()
    name, runner = spec.name, spec.create()
    if not isinstance(runner, TensorRTRunner):
        raise ValueError(f"--backend {backend}: trace runs on a TensorRT engine; allowed: tensorrt-* backends "
                         "(a simulation is traced with --path)")
    reason = runner.prepare(case)
    if reason:
        raise _CannotRun(f"cannot trace {case.id} on {name}: {reason}")
    print(f"trace of {case.id}: {name}'s engine, the traced tensors marked as its outputs")
    with runner:
        return trace_engine(case, runner.path, runner), True


def cmd_reduce(args) -> int:
    """Shrink a failing case to a 1-minimal one that fails the same way (or every failure of a results directory)."""
    from .reduce import CannotRun, DoesNotFail, reduce_case
    from .reduce.of_results import reduce_results, reproduce_command
    from .export import bundle

    options = {"precision": args.precision} if args.precision else {}
    target = pathlib.Path(args.case_id)
    if target.is_dir() or target.name == "results.json":
        path = reduce_results(target, on_reduction=lambda e: print(_reduction_line(e)), **options)
        print(f"minimal cases: {path}")
        return OK
    if not args.backend:
        raise ValueError("reduce CASE_ID needs --backend BACKEND: the backend the case fails on")
    if args.out:
        bundle.check_out(args.out)
    case = _one_case(args)
    try:
        reduction = reduce_case(case, args.backend, on_step=lambda t: print(f"{t.step}: {t.case.id}\n    {t.error}",
                                                                            flush=True), **options)
    except DoesNotFail as exc:
        print(str(exc), file=sys.stderr)
        return FAILURES
    except CannotRun as exc:
        print(str(exc), file=sys.stderr)
        return NOTHING_COMPARED
    before, after = (" ".join(f"{k} {v}" for k, v in sizes.items()) for sizes in reduction.to_json()["sizes"].values())
    print(f"smallest failing case: {reduction.case.id} ({before} -> {after}); {reduction.runs} runs spent")
    if reduction.interrupted:
        print("interrupted: this is the smallest failing case found so far (not verified 1-minimal)", file=sys.stderr)
        return INTERRUPTED
    print(f"1-minimal: verified, none of the {reduction.tried} single steps from it keeps the failure "
          f"({reduction.signature.line()})")
    print(f"reproduce: {reproduce_command(reduction.case, args.backend)}")
    if args.out:
        out = bundle.write(reduction.case, args.out)
        (out / "reduction.json").write_text(json.dumps(reduction.to_json(), indent=1) + "\n")
        print(f"wrote the bundle of {reduction.case.id} to {out} (and reduction.json: the chain of steps)")
    return OK


def cmd_findings(args) -> int:
    """docs/findings.md from the known entries (`results.findings`)."""
    from .results import findings

    print(f"wrote {findings.write(args.out)}")
    return OK


def _reduction_line(entry) -> str:
    if "not_reduced" in entry:
        return f"{entry['backend']} {entry['case']}: not reduced: {entry['not_reduced']}"
    return (f"{entry['backend']} {entry['case']} ({entry['signature']}) -> {entry['minimal']} in {entry['runs']} runs"
            f"{'' if entry['one_minimal'] else ' (interrupted: not verified 1-minimal)'}")


COMMANDS = {"run": cmd_run, "check": cmd_check, "compare": cmd_compare, "report": cmd_report, "trace": cmd_trace,
            "merge": cmd_merge, "export": cmd_export, "reduce": cmd_reduce, "findings": cmd_findings}


if __name__ == "__main__":
    sys.exit(main())
