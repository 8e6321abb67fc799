"""Known mismatches: (backend, case) pairs known to disagree with the reference, with versions and a reason.

They live in one data file (`trt_cases/known_mismatches.json`, installed with the package, or any file
given with `--xfails-file`), never as inline skips. An entry applies when every field of its
`when` (e.g. {"cudnn": "9.19"}) prefixes the running environment's value; it is then an expected
failure, and a listed case that now passes is called out (pytest's strict xfail fails on it).
`case` is a case id, or a shell-style pattern of ids (`fnmatch`, e.g. `*-L[2-9]-H1-*`).

    [{"backend": "torch-cuda-float32", "case": "lstm-uni-...-s106", "when": {"cudnn": "9.19"},
      "reason": "cuDNN's fp32 LSTM is 9e-5 off on saturated gates; CPU float32 is 1e-6 off"}]

An entry may add `where`, conditions on the case's fields (and `batch_volume`): a list of allowed
values, or `{"min": n}` / `{"max": n}`, e.g. `{"hidden_size": [1], "layer_count": {"min": 2}}`.
Known builder failures (`trt_cases/known_build_failures.json`) are the same entries for the build
checks (`build-loop`, ...), plus `error`: text the builder's error must contain, so that another
error on the same case is still an error.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import math
import pathlib

DEFAULT_FILE = pathlib.Path(__file__).resolve().parent / "known_mismatches.json"
BUILD_FAILURES_FILE = pathlib.Path(__file__).resolve().parent / "known_build_failures.json"
FIELDS = {"backend", "case", "when", "reason"}
OPTIONAL = {"error", "where", "minimal", "reproduce", "reduced_on"}  # the last three: `reduce`'s minimal case


def load(path=DEFAULT_FILE) -> list[dict]:
    """The entries of `path`, checked: a malformed file is an error naming the entry and field."""
    path = pathlib.Path(path)
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"known-mismatches file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"known-mismatches file {path} is not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError(f"known-mismatches file {path}: expected a JSON list of entries")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not FIELDS <= set(entry) <= FIELDS | OPTIONAL:
            raise ValueError(f"known-mismatches file {path}, entry {i}: expected exactly the keys {sorted(FIELDS)}"
                             f" (and optionally {sorted(OPTIONAL)})")
        if not isinstance(entry["when"], dict) or not entry["reason"]:
            raise ValueError(f"known-mismatches file {path}, entry {i}: 'when' must be an object and 'reason' non-empty")
        _check_where(entry.get("where", {}), f"known-mismatches file {path}, entry {i}")
    return entries


def _check_where(where, where_from):
    from ..cases.case import Case
    from ..cases.onnx_case import OnnxCase

    fields = {f.name for f in dataclasses.fields(Case)} | {f.name for f in dataclasses.fields(OnnxCase)} | {"batch_volume"}
    if not isinstance(where, dict):
        raise ValueError(f"{where_from}: 'where' must be an object of case fields")
    for field, condition in where.items():
        if field not in fields:
            raise ValueError(f"{where_from}: 'where' names {field!r}, not a case field; allowed: {', '.join(sorted(fields))}")
        if not isinstance(condition, list) and not (isinstance(condition, dict) and condition and set(condition) <= {"min", "max"}):
            raise ValueError(f"{where_from}: 'where' {field!r} must be a list of values or {{\"min\": n, \"max\": n}}")


def find(entries, backend: str, case, environment: dict) -> dict | None:
    """The entry listing `backend` on `case` (a case or its id; entries name them or give fnmatch patterns, and
    `where` conditions on the case's fields) in this environment, or None."""
    case_id = case if isinstance(case, str) else case.id
    for entry in entries:
        if fnmatch.fnmatchcase(backend, entry["backend"]) and fnmatch.fnmatchcase(case_id, entry["case"]) and all(
                str(environment.get(key, "")).startswith(str(value)) for key, value in entry["when"].items()) \
                and _holds(entry.get("where", {}), case):
            return entry
    return None


def _holds(where: dict, case) -> bool:
    """Whether `case` (a case, or the id of one a set or case file can name) meets every condition of `where`."""
    if not where:
        return True
    if isinstance(case, str):
        from ..cases.families import case_from_id

        case = case_from_id(case)
    for field, condition in where.items():
        if field == "batch_volume":
            value = math.prod(case.batch_dims) if hasattr(case, "batch_dims") else case.batch_size
        elif not hasattr(case, field):  # a condition on a field this case's family lacks: not this case
            return False
        else:
            value = getattr(case, field)
        if isinstance(condition, list):
            if value not in condition:
                return False
        elif not (condition.get("min", value) <= value <= condition.get("max", value)):
            return False
    return True


@functools.cache
def build_failures() -> list[dict]:
    """The known builder failures shipped with the package."""
    return load(BUILD_FAILURES_FILE)


def find_build_failure(backend: str, case, environment: dict, error: str | None = None) -> dict | None:
    """The known builder failure of `backend` on `case` (or its id) here; given the builder's `error`, only if it says so."""
    for entry in build_failures():  # several entries may list one case, each for its own error
        if find([entry], backend, case, environment) and (error is None or entry.get("error", "") in error):
            return entry
    return None


@functools.cache
def versions() -> dict:
    """Versions an entry's `when` can name: tensorrt, torch, cudnn, gpu (a results file's `environment` says more)."""
    env = {}
    from ..networks import trt_api

    rt = trt_api.load()
    if rt is not None:
        env["tensorrt"] = rt.label
    try:
        import torch
    except ImportError:
        return env
    env["torch"] = torch.__version__
    if torch.cuda.is_available():
        version = torch.backends.cudnn.version() or 0
        env["cudnn"] = f"{version // 10000}.{version // 100 % 100}.{version % 100}"
        env["gpu"] = torch.cuda.get_device_name(0)
    return env
