"""What a report shows, as data, for the HTML page (`html_page`) and the Markdown summary (`markdown`).

Each record's look (its status, with passes whose tolerance was not a value check set apart as "not
comparable"), its error over the tolerance and the heat bin of that ratio, the grid of configurations x
backends, the failures by severity, and the errors per output read back from `outputs.npz`.
"""

from __future__ import annotations

import contextlib
import math
import pathlib
import zipfile

import numpy as np

from ..results.records import output_key

ROW_AXES = ("op", "direction", "input_mode", "seq_lengths", "layer_count")
# Looks, worst last: a cell of several records takes the worst look among them.
RANK = ["none", "skipped", "built", "passed", "not-comparable", "xfail", "xpass", "failed", "error"]
STATUSES = ["skipped", "built", "passed", "xfail", "xpass", "failed", "error"]  # columns of the counts
# Heat bins of (max abs error / allowed error): greens far from the tolerance, amber only near it.
HEAT = [(0.01, "#1b5e20", "#fff", "< 0.01"), (0.1, "#43a047", "#fff", "0.01-0.1"), (0.5, "#a5d6a7", "#1b3a1b", "0.1-0.5"),
        (0.8, "#e6ee9c", "#333", "0.5-0.8"), (1.0, "#ffb300", "#222", "0.8-1 near failure"),
        (math.inf, "#c62828", "#fff", "> 1 failed")]


def look(record) -> str:
    """The record's status, except a pass whose tolerance checked no values: "not-comparable"."""
    if record["status"] == "passed" and "not comparable" in (record.get("note") or ""):
        return "not-comparable"
    return record["status"]


def ratio(record):
    """Max abs error over the allowed error (1 = at the tolerance), or None when nothing was compared."""
    if record.get("max_abs") is None or not record.get("allowed"):
        return None
    return record["max_abs"] / record["allowed"]


def heat(value):
    """(background, text colour, bin label) of a ratio."""
    for bound, background, text, label in HEAT:
        if value <= bound:
            return background, text, label
    return HEAT[-1][1:]  # NaN


def states(spec) -> str:
    names = [n for n, on in (("h0", spec.get("hidden_state")), ("c0", spec.get("cell_state"))) if on]
    return " ".join(names) or "zero"


def row_key(record):
    spec = record.get("spec") or {}
    if not spec:
        return None
    if spec.get("family") == "onnx":  # an ONNX-operator case: op, direction, layout, lengths
        return (spec["op"], spec["direction"], f"layout{spec.get('layout', 0)}",
                "lens" if spec.get("sequence_lens", "none") != "none" else "full", "onnx")
    return (spec["op"], spec["direction"].replace("DIRECTION", "").lower(), spec["input_mode"].lower(),
            "lens" if spec["seq_lengths"] else "full", f"L{spec['layer_count']}")


def grid(document):
    """`(rows, backends, cells)`: cells[(row, backend)] = the records of that group."""
    cells, rows, backends = {}, [], []
    for record in document["records"]:
        row = row_key(record)
        if row is None:
            continue
        cells.setdefault((row, record["backend"]), []).append(record)
        if row not in rows:
            rows.append(row)
        if record["backend"] not in backends:
            backends.append(record["backend"])
    return sorted(rows), backends, cells


def worst_look(records) -> str:
    return max((look(r) for r in records), key=RANK.index, default="none")


def not_run(document) -> dict:
    """{reason: [backend, ...]} for the backends whose every case was skipped."""
    by_backend = {}
    for r in document["records"]:
        by_backend.setdefault(r["backend"], []).append(r)
    groups = {}
    for backend, records in by_backend.items():
        if all(r["status"] == "skipped" for r in records):
            reasons = sorted({r.get("reason") or "no reason given" for r in records})
            groups.setdefault("; ".join(reasons[:3]) + (f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""), []).append(backend)
    return groups


def not_supported(document) -> dict:
    """{(backend, reason): [case id, ...]} for the cases skipped by a backend that ran others: what the installed
    TensorRT's parser refuses (reasons naming the parser first), or another backend declines, each in its own words."""
    skipped_out = {b for group in not_run(document).values() for b in group}
    groups = {}
    for r in document["records"]:
        if r["status"] == "skipped" and r["backend"] not in skipped_out:
            groups.setdefault((r["backend"], r.get("reason") or "no reason given"), []).append(r["case"])
    return dict(sorted(groups.items(), key=lambda item: ("parser" not in item[0][1].lower(), item[0])))


def severity(record):
    """Sort key, most severe first: errors, then failures and known mismatches by error over tolerance."""
    order = {"error": 0, "failed": 1, "xpass": 2, "xfail": 3}[record["status"]]
    value = ratio(record)
    return order, -(value if value is not None and not math.isnan(value) else math.inf)


def failures_by_backend(document) -> dict:
    """{backend: [records, most severe first]}, backends with the most severe failure first."""
    groups = {}
    for r in sorted((r for r in document["records"] if r["status"] in ("error", "failed", "xpass", "xfail")), key=severity):
        groups.setdefault(r["backend"], []).append(r)
    return dict(sorted(groups.items(), key=lambda item: (severity(item[1][0]), item[0])))


def anchor(record) -> str:
    return f"failure-{record['backend']}-{record['case']}"


def counts(document):
    """{backend: {status: count}}"""
    table = {}
    for record in document["records"]:
        row = table.setdefault(record["backend"], {})
        row[record["status"]] = row.get(record["status"], 0) + 1
    return table


def output_errors(record, outputs) -> list:
    """[(output name, "timestep" | "layer index", max abs errors)] for each output saved for this record.

    `output` is reduced to one value per timestep, `hidden` and `cell` (final states, no time axis)
    to one value per layer index. Without saved outputs, the record's own per-timestep errors.
    """
    found = []
    for name in ("output", "hidden", "cell"):
        key, ref = output_key(record["backend"], record["case"], name), output_key("reference", record["case"], name)
        if outputs is None or key not in outputs or ref not in outputs:
            continue
        actual, expected = np.asarray(outputs[key], dtype=float), np.asarray(outputs[ref], dtype=float)
        if actual.shape != expected.shape or actual.ndim < 2:
            continue
        with np.errstate(invalid="ignore"):
            error = np.nan_to_num(np.abs(actual - expected), nan=np.inf)
        per = np.max(np.moveaxis(error, -2, 0).reshape(error.shape[-2], -1), axis=1)
        found.append((name, "timestep" if name == "output" else "layer index", [float(v) for v in per]))
    if not found and record.get("timestep_errors"):
        found.append(("output", "timestep", record["timestep_errors"]))
    return found


@contextlib.contextmanager
def saved_outputs(directory):
    """The outputs saved beside a results file, read lazily; None when there are none."""
    path = pathlib.Path(directory) / "outputs.npz"
    if not path.exists():
        yield None
        return
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile):  # an unreadable outputs file: the report goes on without it
        yield None
        return
    with data:
        yield data
