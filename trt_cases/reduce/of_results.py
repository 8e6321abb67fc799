"""`reduce RESULTS_DIR`: one reduction per distinct failure of a run, written beside it as `minimal.json`.

The failing records (failed, error) are grouped by backend and `Signature` (from the outputs the run saved);
the first record of each group is reduced. A backend that cannot run here (a GPU backend on a CPU machine)
leaves its group unreduced, with the reason.
"""

from __future__ import annotations

import json
import pathlib
import shlex

from ..cases.families import case_from_json
from ..results import records as results
from .search import CannotRun, DoesNotFail, reduce_case, signature_of

FORMAT = "trt-rnn-conformance/minimal/1"


def failures(document, outputs) -> dict:
    """(backend, signature) -> the first failing record of that kind, in the run's order."""
    groups = {}
    for record in document["records"]:
        if record["status"] in ("failed", "error"):
            signature = signature_of(record, outputs)
            groups.setdefault((record["backend"], signature), record)
    return groups


def reduce_results(directory, *, on_reduction=None, **run_options) -> pathlib.Path:
    """Reduce each distinct failure of the run in `directory`; write and return `minimal.json` there."""
    directory = pathlib.Path(directory)
    directory = directory if directory.is_dir() else directory.parent
    document = results.read(directory)
    try:
        outputs = results.load_outputs(directory)
    except FileNotFoundError:
        outputs = {}
    entries = []
    for (backend, signature), record in failures(document, outputs).items():
        entry = {"backend": backend, "case": record["case"], "signature": signature.line()}
        try:
            reduction = reduce_case(case_from_json(record["spec"]), backend, **run_options)
            entry.update(reduction.to_json(), reproduce=reproduce_command(reduction.case, backend))
        except (CannotRun, DoesNotFail) as exc:
            entry["not_reduced"] = str(exc)
        entries.append(entry)
        if on_reduction:
            on_reduction(entry)
    path = directory / "minimal.json"
    path.write_text(json.dumps({"format": FORMAT, "results": str(directory), "reductions": entries}, indent=1) + "\n")
    return path


def reproduce_command(case, backend: str) -> str:
    """The command that re-runs `case` on `backend` (a model node: its model and its X's shape, which a step may
    have shrunk)."""
    where = ""
    if getattr(case, "model", ""):
        dims = (case.batch_size, case.seq_length) if case.layout else (case.seq_length, case.batch_size)
        where = f" --set {shlex.quote(case.model)} --shape {shlex.quote(case.x_name)}={'x'.join(map(str, dims + (case.input_size,)))}"
    return f"python -m trt_cases check {case.id}{where} --backend {backend}"
