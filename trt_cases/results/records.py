"""Results of a conformance run: one readable JSON document plus raw outputs as `.npz`.

`results.json` holds the environment and one record per (case, backend): status, error figures,
worst index and timestep, per-timestep errors, build and run seconds. `outputs.npz` holds every
backend's outputs and the reference's, keyed `<backend>/<case id>/<output>`, saved without pickle,
so a GPU run can be replayed and compared on a CPU machine or against the next TensorRT.

A run streams its records through a `ResultsWriter`: `results.json` is rewritten atomically as
records finish, marked `"partial": true` until the run completes, so a crash or Ctrl-C keeps
every finished record in a valid file. `read` checks a file against the schema derived from `Record`.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import shlex
import time

import numpy as np

from ..cases import schema

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
    engine: str = ""  # the engine (or network) that ran the case: one value for every case and shape it served
    run_shape: dict | None = None  # a dynamic-shape engine: input name -> the dims it ran at
    chunk: int | None = None  # a streaming run: the steps per call (absent for a whole-sequence run)


def environment() -> dict:
    """What produced the results: TensorRT flavour and version, CUDA, driver, GPU, Python, packages."""
    from ..networks import trt_api

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
    from ..runners import cuda_memory

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


def write(directory, records, outputs: dict, *, sets, env=None, partial: bool = False) -> pathlib.Path:
    """Write `results.json` and `outputs.npz` into `directory`; returns the JSON's path."""
    writer = ResultsWriter(directory, sets=sets, env=env)
    for record in records:
        writer.add(record)
    writer.outputs.update(outputs)
    return writer.close(partial=partial)


class ResultsWriter:
    """Records streamed to `directory/results.json` as they finish: rewritten atomically (a temporary file
    and `os.replace`) at most every `interval` seconds and on `flush()`, marked partial until `close()`.
    `outputs.npz` is written on `close()` (also after an interruption) and every `outputs_interval` seconds.
    As a context manager, an exception leaves a partial file with every record added so far.
    """

    def __init__(self, directory, *, sets, env=None, interval: float = 1.0, outputs_interval: float = 30.0):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.document = {"format": FORMAT,
                         "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                         "sets": list(sets), "environment": environment() if env is None else env,
                         "partial": True, "records": []}
        self.outputs, self.interval, self.outputs_interval = {}, interval, outputs_interval
        self.written = self.outputs_written = time.monotonic()
        self.path = self.directory / "results.json"
        self.flush()

    def add(self, record, outputs: dict | None = None) -> None:
        self.document["records"].append(dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record)
        self.outputs.update(outputs or {})
        now = time.monotonic()
        if now - self.outputs_written >= self.outputs_interval:
            self._write_outputs()
        if now - self.written >= self.interval:
            self.flush()

    def flush(self) -> None:
        _atomic(self.path, lambda f: f.write(json.dumps(self.document, indent=1, default=_plain).encode()))
        self.written = time.monotonic()

    def close(self, *, partial: bool = False) -> pathlib.Path:
        """Write the outputs and the final document (partial or complete); returns the JSON's path."""
        self._write_outputs()
        self.document["partial"] = partial
        self.flush()
        return self.path

    def _write_outputs(self):
        arrays = {k: np.asarray(v) for k, v in self.outputs.items()}
        _atomic(self.directory / "outputs.npz", lambda f: np.savez_compressed(f, **arrays))
        self.outputs_written = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.close(partial=True)
        return False


def _atomic(path: pathlib.Path, fill) -> None:
    """Write `path` through a temporary file beside it and `os.replace`, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            fill(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
    schema.check(document, document_schema(), f"results file {path}")
    return document


def document_schema() -> dict:
    """The schema of `results.json`: known top-level keys typed (others allowed), records exactly `Record`'s fields."""
    record = schema.dataclass_schema(Record, required=("case", "backend", "status"),
                                     items={"worst_index": {"type": "integer"}, "timestep_errors": {"type": "number"}})
    record["properties"]["status"] = {"enum": list(STATUSES)}
    return {"type": "object", "required": ["format", "records"],
            "properties": {"format": {"const": FORMAT}, "created": {"type": "string"},
                           "sets": {"type": "array", "items": {"type": "string"}},
                           "environment": {"type": ["object", "null"]}, "partial": {"type": "boolean"},
                           "records": {"type": "array", "items": record}}}


def records_of(document: dict) -> list[Record]:
    """The records of a results document as `Record`s (a file written before a field was added loads too)."""
    fields = {f.name for f in dataclasses.fields(Record)}
    return [Record(**{k: v for k, v in r.items() if k in fields}) for r in document["records"]]


def load_outputs(directory) -> dict:
    """The raw outputs saved beside a results document."""
    with np.load(pathlib.Path(directory) / "outputs.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def output_key(backend: str, case_id: str, output: str) -> str:
    """The key of one output in `outputs.npz`: `<backend>/<case id>/<output>` (the reference's backend: "reference")."""
    return f"{backend}/{case_id}/{output}"


def describe(record: Record) -> str:
    """One backend's outcome on one case, worded as `compare.Comparison.message`, with the command that re-runs it."""
    if record.status in ("skipped", "error") or record.max_abs is None:  # no numbers: outputs not comparable
        return f"{record.backend}: {record.status}: {record.reason}"
    if record.status == "built":
        return f"{record.backend}: built (no numbers compared)"
    verdict = {"passed": "agrees", "failed": "DISAGREES", "xfail": "xfail: DISAGREES (a finding or a listed known mismatch)",
               "xpass": "XPASS: agrees, but is listed as a known mismatch (counts as a failure)"}[record.status]
    lines = [f"{record.backend} {verdict} with the reference on case {record.case}",
             f"  worst: {record.worst_output}{record.worst_index}"
             + (f" (timestep {record.worst_timestep})" if record.worst_timestep is not None else "")
             + f": observed {record.observed!r}, expected {record.expected!r}",
             f"  max abs error {record.max_abs:.3e} (allowed {record.allowed:.3e}), max rel error {record.max_rel:.3e}"]
    lines += [f"  note: {text}" for text in (record.note, record.reason) if text]
    model = (record.spec or {}).get("model")  # a model node's id is found only with its model
    where = f" --set {shlex.quote(model)}" if model else ""
    lines.append(f"  re-run: python -m trt_cases check {record.case}{where} --backend {record.backend}")
    return "\n".join(lines)
