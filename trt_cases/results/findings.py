"""docs/findings.md, generated from the known mismatches and known builder failures: each entry with its
versions, the cases it covers, its reason, the minimal case `reduce` found for it and the command that
reproduces it. `python -m trt_cases findings --out docs/findings.md` writes it; a test fails when it is stale.
"""

from __future__ import annotations

import json
import pathlib

from . import known_mismatches

COMMAND = "python -m trt_cases findings --out docs/findings.md"
SOURCES = (("Known mismatches", known_mismatches.DEFAULT_FILE),
           ("Known builder failures", known_mismatches.BUILD_FAILURES_FILE))


def markdown() -> str:
    """The findings page, from the entries shipped with the package."""
    lines = ["# Findings", "",
             f"Generated from `trt_cases/results/{SOURCES[0][1].name}` and `{SOURCES[1][1].name}` by `{COMMAND}`;",
             "edit the entries, not this page. Each entry's minimal case is the one `reduce` found from a case the entry",
             "lists (`benchmarks/reduce_findings.py`), on the backend named; its reproduce command runs it again.", ""]
    for title, path in SOURCES:
        lines += [f"## {title}", ""]
        for number, entry in enumerate(known_mismatches.load(path), 1):
            lines += _entry(number, entry) + [""]
    return "\n".join(lines)


def _entry(number, entry) -> list[str]:
    when = ", ".join(f"{k} {v}*" for k, v in entry["when"].items())
    lines = [f"### {number}. `{entry['backend']}` on `{entry['case']}` ({when})", ""]
    if entry.get("where"):
        lines.append(f"- cases: {_where(entry['where'])}")
    if entry.get("error"):
        lines.append(f"- the builder's error contains: `{entry['error']}`")
    if "reduced_on" in entry:
        lines.append(f"- minimal case: `{entry['minimal']}` (found by `reduce` on `{entry['reduced_on']}`)")
    else:
        lines.append(f"- minimal case: `{entry.get('minimal', entry['case'])}` (as listed: not reduced here, its backend "
                     "needs a GPU)")
    if entry.get("reproduce"):
        lines.append(f"- reproduce: `{entry['reproduce']}`")
    return lines + ["", entry["reason"]]


def _where(where) -> str:
    parts = []
    for field, condition in where.items():
        if isinstance(condition, list):
            parts.append(f"{field} in {json.dumps(condition)}")
        else:
            parts += [f"{field} {op} {condition[key]}" for key, op in (("min", ">="), ("max", "<=")) if key in condition]
    return ", ".join(parts)


def write(out) -> pathlib.Path:
    out = pathlib.Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown())
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    return out
