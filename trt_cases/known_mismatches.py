"""Known mismatches: (backend, case) pairs known to disagree with the reference, with versions and a reason.

They live in one data file (`trt_cases/known_mismatches.json`, installed with the package, or any file
given with `--xfails-file`), never as inline skips. An entry applies when every field of its
`when` (e.g. {"cudnn": "9.19"}) prefixes the running environment's value; it is then an expected
failure, and a listed case that now passes is called out (pytest's strict xfail fails on it).

    [{"backend": "torch-cuda-float32", "case": "lstm-uni-...-s106", "when": {"cudnn": "9.19"},
      "reason": "cuDNN's fp32 LSTM is 9e-5 off on saturated gates; CPU float32 is 1e-6 off"}]
"""

from __future__ import annotations

import functools
import json
import pathlib

DEFAULT_FILE = pathlib.Path(__file__).resolve().parent / "known_mismatches.json"
FIELDS = {"backend", "case", "when", "reason"}


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
        if not isinstance(entry, dict) or set(entry) != FIELDS:
            raise ValueError(f"known-mismatches file {path}, entry {i}: expected exactly the keys {sorted(FIELDS)}")
        if not isinstance(entry["when"], dict) or not entry["reason"]:
            raise ValueError(f"known-mismatches file {path}, entry {i}: 'when' must be an object and 'reason' non-empty")
    return entries


def find(entries, backend: str, case_id: str, environment: dict) -> dict | None:
    """The entry listing `backend` on `case_id` in this environment, or None."""
    for entry in entries:
        if entry["backend"] == backend and entry["case"] == case_id and all(
                str(environment.get(key, "")).startswith(str(value)) for key, value in entry["when"].items()):
            return entry
    return None


@functools.cache
def environment() -> dict:
    """Versions an entry's `when` can name: tensorrt, torch, cudnn, gpu."""
    env = {}
    from . import trt_api

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
