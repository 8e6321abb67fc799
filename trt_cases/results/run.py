"""A conformance run: cases x backends, each compared with the reference, recorded for results files.

Selecting is cheap (names to cases and runner factories); running opens each backend once, goes
case by case, and turns every outcome into a `Record`: passed, failed, error (the backend raised;
the run goes on), skipped (with the backend's reason), built (build checks), or xfail/xpass for a
listed known mismatch.

Cases are checked before anything runs (file schema, layer count, memory: `limits`). Each record is
handed to `on_record` as it finishes (the command line streams them to `results.ResultsWriter`).
Ctrl-C stops the run at once. An interrupt raised inside a C++ callback (a TensorRT logger) is
swallowed by the bindings, so a SIGINT handler also remembers it, and the run stops after that record.
`gate` turns the records into the run's verdict: failures, nothing compared, or named backends
that could not run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import signal
import threading
import time

from . import known_mismatches, schema, timing
from ..cases import limits
from ..cases.case import Case
from ..cases.families import case_from_id, case_from_json
from ..cases.model import NodeCase, models_node_cases
from ..cases.onnx_case import OnnxCase
from .compare import compare, timestep_errors
from .inputs import arrays_of, stored_keys
from .records import FAILING, Record, record_of
from ..runners.reference_runner import run_reference
from ..runners.registry import CASE_PRECISION, CPU_ORACLES
from ..cases.sets import SETS, named, random_cases

DEFAULT_SETS = ("seeds", "edge")


def select_cases(specs, *, shapes=(), inputs: str = "", seed: int = 0) -> list[Case]:
    """Cases from set names, `random:N`, case ids, JSON files of cases, or ONNX models (a case per RNN, GRU and
    LSTM node, `cases.model`: `shapes`, `inputs` and `seed` set their data); a clear error otherwise."""
    cases = []
    models = models_node_cases([s for s in specs if s.lower().endswith(".onnx")], shapes=shapes, inputs=inputs,
                               seed=seed)
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
        elif spec.lower().endswith(".onnx"):
            cases += models[spec]
        else:
            try:
                cases.append(case_from_id(spec))
            except ValueError:
                raise ValueError(f"unknown case set {spec!r}; allowed: {', '.join(SETS)}, random:N, a case id "
                                 "(e.g. lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17), a .json file of cases or an .onnx model "
                                 "(a model node's case id is found with --set MODEL.onnx)") from None
    cases = list(dict.fromkeys(cases))
    available = limits.available_bytes()
    for case in cases:
        limits.check_case(case, available)
    return cases


def case_file_schema() -> dict:
    """A case file: a JSON list of case ids or case objects (the fields of `Case`, `op` required)."""
    return {"type": "array", "minItems": 1, "items": {"type": ["string", "object"]}}


def case_schema(family: str = "irnnv2", model: bool = False) -> dict:
    """A case object of `family` (the fields of `Case`, or of `OnnxCase` with `"family": "onnx"`, of a model's
    `NodeCase` with `model`; `op` required)."""
    if family == "onnx":
        found = schema.dataclass_schema(NodeCase if model else OnnxCase, required=("op",),
                                        items={"activations": {"type": "string"}, "activation_alpha": {"type": "number"},
                                               "activation_beta": {"type": "number"}, "stored": {"type": "string"}})
        found["properties"]["family"] = {"const": "onnx"}
        return found
    return schema.dataclass_schema(Case, required=("op",), items={"batch_dims": {"type": "integer"}})


def _cases_from_file(path) -> list[Case]:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"case file {path}: {exc}") from None
    schema.check(data, case_file_schema(), f"case file {path} (a JSON list of case ids or case objects)")
    cases = []
    for i, item in enumerate(data):
        try:
            if isinstance(item, str):
                cases.append(case_from_id(item))
            else:
                schema.check(item, case_schema(item.get("family", "irnnv2"), "model" in item), f"case file {path}, item {i}")
                cases.append(case_from_json(item))
        except (TypeError, ValueError) as exc:
            message = str(exc) if str(exc).startswith(f"case file {path}") else f"case file {path}, item {i}: {exc}"
            raise ValueError(message) from None
    return cases


def all_backends() -> dict:
    """Every backend name -> factory: CPU oracles, simulated networks, build checks, GPU backends."""
    from ..networks.build import PATHS
    from ..runners.build_check import PRECISIONS as NETWORK_PRECISIONS
    from ..runners.build_check import BuildCheckRunner
    from ..runners.registry import gpu_backends

    backends = dict(CPU_ORACLES)
    try:
        from ..runners.simulated_runner import SimulatedRunner
    except ImportError:  # the executor is optional for a run
        SimulatedRunner = None
    for path in PATHS:  # the bare names are float32 networks: simulated exactly, built as -fp32 builds
        if SimulatedRunner is not None and path != "native":
            backends[f"simulated-{path}"] = (lambda p=path: SimulatedRunner(p))
            backends.update({f"simulated-{path}-{q}": (lambda p=path, q=q: SimulatedRunner(p, q))
                             for q in NETWORK_PRECISIONS})
        backends[f"build-{path}"] = (lambda p=path: BuildCheckRunner(p))
        backends.update({f"build-{path}-{q}": (lambda p=path, q=q: BuildCheckRunner(p, q)) for q in NETWORK_PRECISIONS})
    backends.update(gpu_backends())
    return backends


def select_backends(names=None, paths=None, precisions=None) -> dict:
    """Factories for the named backends (all by default), kept to `paths`/`precisions` where they have one."""
    available = all_backends()
    unknown = [n for n in names or () if n not in available]
    if unknown:
        raise ValueError(f"unknown backend {unknown[0]!r}; allowed: {', '.join(available)}")
    chosen = {n: available[n] for n in (names or available)}
    precisions = [_SAME_PRECISION.get(w, w) for w in precisions or ()]
    for label, wanted, field in (("path", paths, _path_of), ("precision", precisions, _precision_of)):
        if wanted:
            known = {field(n) for n in available} - {None}
            bad = [w for w in wanted if w not in known]
            if bad:
                raise ValueError(f"unknown {label} {bad[0]!r}; allowed: {', '.join(sorted(known))}")
            before, chosen = chosen, {n: f for n, f in chosen.items() if field(n) is None or field(n) in wanted}
    return _at_precisions(chosen, precisions, before if precisions else chosen)


def _at_precisions(chosen, precisions, candidates):
    """With `--precision`: every precision must be had by a chosen backend; backends of no precision of
    their own (the CPU oracles) run each case at every wanted precision (its data rounded to it)."""
    if not precisions:
        return chosen
    have = {_precision_of(n) for n in chosen}
    lacking = [w for w in precisions if w not in have and None not in have]
    if lacking:
        offered = {_precision_of(n) for n in candidates} - {None}
        raise ValueError(f"precision {lacking[0]!r}: no selected backend ({', '.join(candidates) or 'none'}) "
                         f"computes in it; allowed with them: {', '.join(sorted(offered)) or 'none'}")
    case_precisions = tuple(dict.fromkeys(CASE_PRECISION.get(w, w) for w in precisions))  # float64 -> fp32
    return {n: f if _precision_of(n) else (lambda f=f: _with_case_precisions(f(), case_precisions))
            for n, f in chosen.items()}


def _with_case_precisions(runner, case_precisions):
    runner.case_precisions = case_precisions  # read by run()
    return runner


_SAME_PRECISION = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}  # one name per precision


def _path_of(name):
    for prefix in ("tensorrt-", "simulated-", "build-"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return next((p for p in ("drop-in", "loop", "onnx", "native") if rest.startswith(p)), None)
    return None


def _precision_of(name):
    tail = name.rsplit("-", 1)[-1]
    if tail in ("fp32", "tf32", "fp16", "bf16", "float32", "float16", "float64"):
        return _SAME_PRECISION.get(tail, tail)
    if name.startswith(("simulated-", "build-")) and _path_of(name):
        return "fp32"  # the bare simulated-{path} and build-{path} are float32 networks
    return None


def kind_of(runner) -> str:
    if hasattr(runner, "kind"):
        return runner.kind
    if str(getattr(runner, "device", "cpu")).startswith("cuda"):
        return "cudnn"
    return "oracle"


def run(cases, backends: dict, *, xfails=(), progress=None, on_record=None, timing_repeats=0):
    """Run every case on every backend; returns `(records, outputs)` for `results.write`.

    `progress`: None or False for none, True for `progress.Progress` on stderr (a bar on a terminal,
    periodic lines otherwise), or a `Progress`. `on_record(record, outputs)` is called as each record
    finishes, with the outputs it added. Ctrl-C raises KeyboardInterrupt after the records so far.
    """
    from .progress import Progress

    records, outputs, env = [], {}, known_mismatches.environment()
    references = {}
    if progress is True:
        progress = Progress(len(cases) * len(backends))
    try:
        with _interrupts() as interrupted, contextlib.ExitStack() as stack:
            for name, factory in backends.items():
                if progress:
                    progress.stage(name)
                try:
                    runner = factory()
                except Exception as exc:  # e.g. a library that fails to load: every case is this backend's error
                    runner = _Unstarted(name, exc)
                opened = False
                precisions = getattr(runner, "case_precisions", None) or (CASE_PRECISION.get(runner.precision, "fp32"),)
                variants = list(dict.fromkeys(_variant(case, p) for case in cases for p in precisions))
                if progress and len(variants) != len(cases):
                    progress.grow(len(variants) - len(cases))
                for case_here in variants:
                    added = {}
                    record = _one(runner, case_here, references, added, xfails, env, stack, opened, timing_repeats)
                    if interrupted.is_set():  # swallowed inside a C++ callback: this record is not to be trusted
                        raise KeyboardInterrupt
                    opened = opened or record.status not in ("skipped",)
                    records.append(record)
                    outputs.update(added)
                    if on_record is not None:
                        on_record(record, added)
                    if progress:
                        progress.update(record.status)
    finally:
        if progress:
            progress.close()
    return records, outputs


@contextlib.contextmanager
def _interrupts():
    """An Event set on SIGINT (which still raises KeyboardInterrupt), while Python's default handler is in place."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield interrupted
        return

    def handler(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


NUMBERS_COMPARED = ("passed", "failed", "xfail", "xpass")


def gate(records, named=(), allow_no_comparison: bool = False) -> tuple[int, list[str]]:
    """The verdict of a run's records (dicts or `Record`s): exit status and the lines explaining it.

    1 when any record failed, errored or passed while listed as a known mismatch (xpass); else 3 when no
    record compared numbers (skipped and built records compare none: a build check proves a network
    builds, not what it computes), unless `allow_no_comparison`; else 3 when a backend in `named`
    (the user asked for it by name) could not run any case; else 0.
    """
    rows = [r if isinstance(r, dict) else dataclasses.asdict(r) for r in records]
    lines = []
    for name in dict.fromkeys(named):
        own = [r for r in rows if r["backend"] == name]
        if own and all(r["status"] == "skipped" for r in own):
            lines.append(f"error: backend {name} was named with --backend but could not run: {own[0]['reason']}")
    compared = sum(r["status"] in NUMBERS_COMPARED and r.get("kind") != "build-check" for r in rows)  # a known
    # builder failure (xfail) or one that now builds (xpass) compared no numbers either
    if not compared:
        built = sum(r["status"] == "built" for r in rows)
        lines.append(f"{'note' if allow_no_comparison else 'error'}: nothing compared: no backend compared any case with "
                     f"the reference ({len(rows)} records: {built} built, {len(rows) - built} skipped or errored)")
    if any(r["status"] in FAILING for r in rows):
        return 1, lines
    if (not compared and not allow_no_comparison) or any(line.startswith("error: backend") for line in lines):
        return 3, lines
    return 0, lines


class _Unstarted:
    """A backend whose factory raised: every case it is asked for is an error carrying that message."""
    kind = precision = ""

    def __init__(self, name, exc):
        self.name, self.exc = name, exc

    def unsupported(self, case):
        return None

    def infer(self, case):
        raise self.exc


def _variant(case, precision):
    return case if case.precision == precision else dataclasses.replace(case, precision=precision)


def _one(runner, case, references, outputs, xfails, env, stack, opened, repeats=0) -> Record:
    """One case on one runner, whatever happens."""
    base = dict(case=case.id, backend=runner.name, kind=kind_of(runner), precision=runner.precision, spec=case.to_json(), typing=getattr(runner, "typing", ""))
    reason = getattr(case, "problem", "") or runner.unsupported(case)  # a case no backend can run, e.g. a
    if reason:  # model node whose weights the graph computes: skipped with its reason before anything runs
        return Record(status="skipped", reason=reason, **base)
    if not opened and hasattr(runner, "__enter__"):
        try:
            stack.enter_context(runner)
        except Exception as exc:  # the backend could not open its resources: an error, the run goes on
            return Record(status="error", reason=f"{type(exc).__name__}: {exc}", **base)
    if case.id not in references:
        materials = case.materialise()
        references[case.id] = run_reference(case, materials)
        outputs.update(stored_keys(case.id, arrays_of(case, materials)))  # the inputs: a replay needs nothing else
        for output_name, value in zip(case.output_names, references[case.id]):
            outputs[f"reference/{case.id}/{output_name}"] = value
    expected = references[case.id]
    build_before = getattr(runner, "build_seconds", None)
    start = time.perf_counter()
    try:
        actual = runner.infer(case)
    except Exception as exc:  # a backend failure is this case's failure (or a known builder failure); the run goes on
        message = f"{type(exc).__name__}: {exc}"
        known = known_mismatches.find_build_failure(runner.name, case, env, message)
        return Record(status="xfail" if known else "error", reason=f"known builder failure: {known['reason']}" if known
                      else message, run_seconds=time.perf_counter() - start, **base)
    seconds = time.perf_counter() - start
    build = None if build_before is None else runner.build_seconds - build_before
    if actual is None:
        known = known_mismatches.find_build_failure(runner.name, case, env)
        return Record(status="xpass" if known else "built", reason=f"listed as a known builder failure, but it built: "
                      f"{known['reason']}" if known else "", build_seconds=build, run_seconds=seconds, **base)
    try:  # outputs of the wrong number or shape are the backend's error, not bad input to the run
        result = compare(case, expected, actual, runner.name, runner.precision)
        per_step = timestep_errors(case, expected, actual)
    except (ValueError, TypeError) as exc:
        known = known_mismatches.find(xfails, runner.name, case, env)
        status, reason = ("xfail", known["reason"]) if known else ("error", f"outputs not comparable: {exc}")
        status, reason = _reading_verdict(runner, case, actual, known, status, reason)
        return Record(status=status, reason=reason, run_seconds=seconds, **base)
    for output_name, value in zip(case.output_names, actual):
        outputs[f"{runner.name}/{case.id}/{output_name}"] = value
    known = known_mismatches.find(xfails, runner.name, case, env)
    samples = timing.samples(runner.infer, case, repeats)
    record = record_of(result, case, base["kind"])
    status, reason = ("xpass" if result else "xfail", known["reason"]) if known else (record.status, "")
    if not result:
        status, reason = _reading_verdict(runner, case, actual, known, status, reason)
    return dataclasses.replace(record, status=status, reason=reason, timestep_errors=per_step,
                               build_seconds=build, run_seconds=timing.median(samples, seconds),
                               run_seconds_samples=samples, typing=base["typing"])


def _reading_verdict(runner, case, actual, known, status, reason) -> tuple[str, str]:
    """A failed ONNX-operator case whose outputs agree with another reading of the node (`cases.readings`):
    for an oracle an expected failure, a finding about it; for a TensorRT backend a failure (or its known
    mismatch) whose reason names the reading. Otherwise `status` and `reason` as they were."""
    if not isinstance(case, OnnxCase):
        return status, reason
    from ..cases import readings

    found = readings.matching(case, actual, lambda want, got: bool(compare(case, want, got, runner.name, runner.precision)))
    if not found:
        return status, reason
    if known:
        return "xfail", f"{known['reason']} ({readings.failure(found, runner.name)})"
    if kind_of(runner) == "oracle":
        return "xfail", readings.finding(found, runner.name)
    return "failed", readings.failure(found, runner.name) + (f"; {reason}" if reason else "")

