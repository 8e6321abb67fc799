"""The one run engine: a case on a runner becomes a record and its outputs; a run is cases x backends.

`run_case` is the only code that turns an outcome into a `Record`: passed, failed, error (the backend
raised; the run goes on), skipped (with the runner's reason), built (build checks), or xfail/xpass for a
listed known mismatch or builder failure, or for an oracle whose outputs match another reading of an ONNX
node. `run` (the command line), `check`, the pytest plugin and the GPU tests all go through it.

`run` opens each backend once and gives it its cases grouped by the engine that serves them
(`Runner.engine_key`), so one engine runs all its cases while it is loaded. Each record is handed to
`on_record` as it finishes. Ctrl-C stops the run at once; an interrupt raised inside a C++ callback (a
TensorRT logger) is swallowed by the bindings, so a SIGINT handler also remembers it, and the run stops
after that record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time

from ..cases.chunks import streaming_problem
from ..cases.onnx_case import OnnxCase
from ..results import known_mismatches
from ..results.compare import compare, timestep_errors
from ..results.inputs import arrays_of, stored_keys
from ..results.records import Record, output_key
from ..runners.base import Built, Runner
from ..runners.registry import BackendSpec
from . import streaming, timing


class References(dict):
    """The reference's outputs per case id, computed once per run, and the arrays a record stores beside them."""

    def of(self, case, outputs: dict):
        """The reference's outputs of `case`; the first time, its inputs and reference go into `outputs` too."""
        if case.id not in self:
            materials = case.materialise()
            self[case.id] = case.reference(materials)
            outputs.update(stored_keys(case.id, arrays_of(case, materials)))  # the inputs: a replay needs nothing else
            outputs.update({output_key("reference", case.id, name): value
                            for name, value in zip(case.output_names, self[case.id])})
        return self[case.id]


def run_case(runner: Runner, case, *, references: References | None = None, xfails=(), env=None,
             repeats: int = 0, prepared: bool = False, reason: str | None = None) -> tuple[Record, dict]:
    """`case` on the (open) `runner`, whatever happens: its record, and the arrays it adds to `outputs.npz`.

    `prepared`: `runner.prepare(case)` was asked already and said `reason` (None: it can run the case).
    `repeats`: timed inferences after the first.
    """
    references = References() if references is None else references
    env = known_mismatches.versions() if env is None else env
    served = streaming.first_call(case) if getattr(case, "chunk", None) and not case_problem(case) else case
    base = dict(case=case.id, backend=runner.name, kind=runner.kind, precision=runner.precision, spec=case.to_json(),
                typing=runner.typing, chunk=getattr(case, "chunk", None))
    outputs = {}
    reason = case_problem(case) or (reason if prepared else runner.prepare(case))  # e.g. a model node whose
    if reason:  # weights the graph computes, or a bidirectional case streamed: skipped with its reason, nothing runs
        return Record(status="skipped", reason=reason, **base), outputs
    base.update(engine=runner.engine_key(served), run_shape=_plain_shape(runner.run_shape(served)))
    expected = references.of(case, outputs)
    build_before = runner.build_seconds
    start = time.perf_counter()
    try:
        actual = streaming.infer(runner, case)  # a case with `chunk`: called chunk by chunk, states carried
    except Exception as exc:  # a backend failure is this case's failure (or a known builder failure); the run goes on
        message = f"{type(exc).__name__}: {exc}"
        # a dynamic engine is built from the case at its profile's opt shape: a known failure of that build is known
        known = known_mismatches.find_build_failure(runner.name, case, env, message) or \
            known_mismatches.find_build_failure(runner.name, case.engine_case, env, message)
        return Record(status="xfail" if known else "error", reason=f"known builder failure: {known['reason']}" if known
                      else message, run_seconds=time.perf_counter() - start, **base), outputs
    seconds = time.perf_counter() - start
    build = runner.build_seconds - build_before if runner.kind in ("tensorrt", "build-check") else None
    if isinstance(actual, Built):
        known = known_mismatches.find_build_failure(runner.name, case, env)
        return Record(status="xpass" if known else "built", reason=f"listed as a known builder failure, but it built: "
                      f"{known['reason']}" if known else "", build_seconds=build, run_seconds=seconds, **base), outputs
    known = known_mismatches.find(xfails, runner.name, case, env)
    try:  # outputs of the wrong number or shape are the backend's error, not bad input to the run
        result = compare(case, expected, actual, runner.name, runner.precision)
        per_step = timestep_errors(case, expected, actual)
    except (ValueError, TypeError) as exc:
        status, reason = ("xfail", known["reason"]) if known else ("error", f"outputs not comparable: {exc}")
        status, reason = _reading_verdict(runner, case, actual, known, status, reason)
        return Record(status=status, reason=reason, run_seconds=seconds, **base), outputs
    outputs.update({output_key(runner.name, case.id, name): value for name, value in zip(case.output_names, actual)})
    samples = timing.samples(lambda timed: streaming.infer(runner, timed), case, repeats)
    status, reason = ("xpass" if result else "xfail", known["reason"]) if known else ("passed" if result else "failed", "")
    if not result:
        status, reason = _reading_verdict(runner, case, actual, known, status, reason)
    record = Record(status=status, reason=reason, max_abs=result.max_abs, max_rel=result.max_rel, allowed=result.allowed,
                    min_tolerance=result.min_tolerance, worst_output=result.worst_output,
                    worst_index=list(result.worst_index), worst_timestep=result.worst_timestep, observed=result.observed,
                    expected=result.expected, note=result.note, timestep_errors=per_step, build_seconds=build,
                    run_seconds=timing.median(samples, seconds), run_seconds_samples=samples, **base)
    return record, outputs


def run(cases, backends: dict[str, BackendSpec], *, xfails=(), progress=None, on_record=None, timing_repeats=0,
        runner_options=None, engine_counts: dict | None = None):
    """Run every case on every backend; returns `(records, outputs)` for `results.write`.

    `runner_options`: keyword options for `BackendSpec.create` (e.g. builder_optimization_level, share_engines).
    `engine_counts`: a dict filled with each backend's `Runner.engine_counts` once its cases are done.
    `progress`: None or False for none, True for `progress.Progress` on stderr (a bar on a terminal,
    periodic lines otherwise), or a `Progress`. `on_record(record, outputs)` is called as each record
    finishes, with the outputs it added. Ctrl-C raises KeyboardInterrupt after the records so far.
    """
    from .progress import Progress

    records, outputs, env, references = [], {}, known_mismatches.versions(), References()
    if progress is True:
        progress = Progress(len(cases) * len(backends))
    try:
        with _interrupts() as interrupted, contextlib.ExitStack() as stack:
            for spec in backends.values():
                if progress:
                    progress.stage(spec.name)
                variants = list(dict.fromkeys(_variant(case, p) for case in cases for p in spec.case_precisions))
                if progress and len(variants) != len(cases):
                    progress.grow(len(variants) - len(cases))
                runner = _create(spec, runner_options or {})
                for record, added in _backend_records(spec, runner, variants, stack, references, xfails, env,
                                                      timing_repeats):
                    if interrupted.is_set():  # swallowed inside a C++ callback: this record is not to be trusted
                        raise KeyboardInterrupt
                    records.append(record)
                    outputs.update(added)
                    if on_record is not None:
                        on_record(record, added)
                    if progress:
                        progress.update(record.status)
                if engine_counts is not None and not isinstance(runner, Exception) and any(runner.engine_counts.values()):
                    engine_counts[spec.name] = dict(runner.engine_counts)
    finally:
        if progress:
            progress.close()
    return records, outputs


def _create(spec, options):
    try:
        return spec.create(**options)
    except Exception as exc:  # e.g. a library that fails to load: every case of the backend is this error
        return exc


def _backend_records(spec, runner, cases, stack, references, xfails, env, repeats):
    """The records of one backend's cases, grouped by the engine that serves them (engines in the order their
    first case came). Each case is prepared just before it runs (a runner keeps what preparing computed for
    that case only); the runner is opened before the first case it can run. A runner that cannot start or open
    makes the cases it would have run errors carrying that message."""
    if isinstance(runner, Exception):
        yield from ((_error(spec, case, runner), {}) for case in cases)
        return
    groups, opened = {}, False
    try:
        runner.plan(cases)
    except Exception as exc:  # a runner that cannot plan its engines runs none of the cases
        yield from ((_error(spec, case, exc, runner), {}) for case in cases)
        return
    for case in cases:
        groups.setdefault(_engine_key(runner, case), []).append(case)
    for case in (case for group in groups.values() for case in group):
        try:
            reason = case_problem(case) or runner.prepare(case)
        except Exception as exc:  # a runner that fails to answer: this case's error
            yield _error(spec, case, exc, runner), {}
            continue
        if not reason and not opened:
            try:
                stack.enter_context(runner)
                opened = True
            except Exception as exc:  # the backend could not open its resources: an error, the run goes on
                yield _error(spec, case, exc, runner), {}
                continue
        yield run_case(runner, case, references=references, xfails=xfails, env=env, repeats=repeats,
                       prepared=True, reason=reason)


def _engine_key(runner, case) -> str:
    """The engine a case will run on, for grouping; "" where the runner cannot say yet (its `prepare` will)."""
    try:
        return runner.engine_key(case)
    except Exception:  # e.g. no CUDA device to key a TensorRT engine by: the case's own prepare says why
        return ""


def case_problem(case) -> str:
    """Why no backend runs `case` as it is asked (one line), or "": a model node whose weights the graph computes,
    a streamed case that cannot stream (`cases.chunks.streaming_problem`; never run over the whole sequence)."""
    if getattr(case, "problem", ""):
        return case.problem
    if getattr(case, "chunk", None):
        why = streaming_problem(case)
        return f"cannot stream {case.chunk} step(s) per call: {why}" if why else ""
    return ""


def _plain_shape(shape: dict | None) -> dict | None:
    return None if shape is None else {name: list(dims) for name, dims in shape.items()}


def _error(spec, case, exc, runner=None) -> Record:
    return Record(case=case.id, backend=spec.name, kind=spec.kind, precision=runner.precision if runner else "",
                  spec=case.to_json(), status="error", reason=f"{type(exc).__name__}: {exc}", chunk=getattr(case, "chunk", None))


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


def _variant(case, precision):
    return case if case.precision == precision else dataclasses.replace(case, precision=precision)


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
    if runner.kind == "oracle":
        return "xfail", readings.finding(found, runner.name)
    return "failed", readings.failure(found, runner.name) + (f"; {reason}" if reason else "")
