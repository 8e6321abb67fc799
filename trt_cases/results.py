"""Results of a conformance run: one readable JSON document plus raw outputs as `.npz`.

`results.json` holds the environment and one record per (case, backend): status, error figures,
worst index and timestep, per-timestep errors, build and run seconds. `outputs.npz` holds every
backend's outputs and the reference's, keyed `<backend>/<case id>/<output>`, saved without pickle,
so a GPU run can be replayed and compared on a CPU machine or against the next TensorRT.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import pathlib
import platform

import numpy as np

FORMAT = "trt-rnn-conformance/results/1"
STATUSES = ("passed", "failed", "error", "skipped", "xfail", "xpass", "built")
FAILING = ("failed", "error", "xpass")


@dataclasses.dataclass
class Record:
    """One case on one backend."""
    case: str
    backend: str
    kind: str  # oracle, simulated, build-check, cudnn, tensorrt
    precision: str
    status: str
    reason: str = ""
    spec: dict = dataclasses.field(default_factory=dict)
    max_abs: float | None = None
    max_rel: float | None = None
    allowed: float | None = None
    min_tolerance: float | None = None
    worst_output: str | None = None
    worst_index: list | None = None
    worst_timestep: int | None = None
    observed: float | None = None
    expected: float | None = None
    timestep_errors: list | None = None
    build_seconds: float | None = None
    run_seconds: float | None = None
    note: str = ""
    run_seconds_samples: list | None = None  # `run --timing-repeats N`: N timed inferences after the warm-up one
    typing: str = ""  # TensorRT engines: "weak" (fp32 network + builder precision flag) or "strong" (typed network)


def environment() -> dict:
    """What produced the results: TensorRT flavour and version, CUDA, driver, GPU, Python, packages."""
    from . import trt_api

    env = {"python": platform.python_version(), "platform": platform.platform(), "packages": {}}
    for package in ("numpy", "onnx", "onnxruntime", "torch", "hypothesis", "cuda-python", "cuda-bindings",
                    "tensorrt", "tensorrt-rtx-cu13-bindings", "trt-rnn-conformance"):
        try:
            env["packages"][package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    rt = trt_api.load()
    env["tensorrt"] = {"flavour": rt.flavour, "version": rt.version} if rt else None
    env["cuda"] = _cuda()
    return env


def _cuda() -> dict | None:
    from . import cuda_memory

    if cuda_memory.missing():
        return None
    rt = cuda_memory.cudart()
    info = {"runtime": cuda_memory.check(rt.cudaRuntimeGetVersion(), "cudaRuntimeGetVersion"),
            "driver": cuda_memory.check(rt.cudaDriverGetVersion(), "cudaDriverGetVersion")}
    props = cuda_memory.check(rt.cudaGetDeviceProperties(0), "cudaGetDeviceProperties")
    name = props.name
    info["gpu"] = (name.decode(errors="replace") if isinstance(name, bytes) else str(name)).rstrip("\x00")
    info["compute_capability"] = f"{props.major}.{props.minor}"
    return info


def write(directory, records, outputs: dict, *, sets, env=None) -> pathlib.Path:
    """Write `results.json` and `outputs.npz` into `directory`; returns the JSON's path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "sets": list(sets), "environment": environment() if env is None else env,
                "records": [dataclasses.asdict(r) for r in records]}
    path = directory / "results.json"
    path.write_text(json.dumps(document, indent=1, default=_plain))
    np.savez_compressed(directory / "outputs.npz", **{k: np.asarray(v) for k, v in outputs.items()})
    return path


def _plain(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def read(path) -> dict:
    """A results document, checked; a clear ValueError for unreadable or foreign files."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such results file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a results file (not JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a results file of this suite (format {document.get('format') if isinstance(document, dict) else None!r}, expected {FORMAT!r})")
    fields = {f.name for f in dataclasses.fields(Record)}
    for i, record in enumerate(document.get("records", [])):
        if not isinstance(record, dict) or not {"case", "backend", "status"} <= set(record) or set(record) - fields \
                or record["status"] not in STATUSES:
            raise ValueError(f"{path}: record {i} is malformed")
    return document


def load_outputs(directory) -> dict:
    """The raw outputs saved beside a results document."""
    with np.load(pathlib.Path(directory) / "outputs.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def record_of(comparison, case, kind: str) -> Record:
    """A `Record` for a `compare.Comparison` made outside a run (the pytest path)."""
    return Record(case=case.id, backend=comparison.backend, kind=kind, precision=comparison.precision,
                  status="passed" if comparison else "failed", spec=case.to_json(), max_abs=comparison.max_abs,
                  max_rel=comparison.max_rel, allowed=comparison.allowed, min_tolerance=comparison.min_tolerance,
                  worst_output=comparison.worst_output, worst_index=list(comparison.worst_index),
                  worst_timestep=comparison.worst_timestep, observed=comparison.observed,
                  expected=comparison.expected, note=comparison.note)
