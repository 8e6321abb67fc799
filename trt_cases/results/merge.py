"""Merging results: shards of a run spread over machines, or pytest-xdist workers, into one results file.

Records are keyed by (case, backend). The same key twice is kept once when the two records agree
(timings aside, which differ between any two runs), and refused when they differ; the raw outputs
of `outputs.npz` likewise. Results of different environments (another TensorRT, GPU or driver) are
merged and kept: the merged document lists every source with its environment and says that they
differ, so nobody reads a mixed run as one machine's.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from . import records as results

TIMINGS = ("build_seconds", "run_seconds")


@dataclasses.dataclass
class Merged:
    """Merged records (as results.json dicts) and outputs, with where they came from."""
    records: list
    outputs: dict
    sets: list
    environment: dict | None
    sources: list  # {"source", "environment", "records"} per merged results file
    partial: bool = False

    @property
    def environments_differ(self) -> bool:
        return len({json.dumps(s["environment"], sort_keys=True) for s in self.sources}) > 1

    def differences(self) -> list[str]:
        """The environment fields (dotted) whose values differ between the sources."""
        flat = [_flatten(s["environment"] or {}) for s in self.sources]
        keys = sorted(set().union(*flat))
        return [key for key in keys if len({json.dumps(f.get(key)) for f in flat}) > 1]


def combine_records(records, *, sources=None) -> list:
    """`records` (dicts) with exact repeats of a (case, backend) dropped; a ValueError for conflicting ones."""
    seen, merged = {}, []
    for i, record in enumerate(records):
        key = (record["case"], record["backend"])
        if key in seen:
            first, j = seen[key]
            if _content(first) != _content(record):
                where = f" ({sources[j]} and {sources[i]})" if sources else ""
                raise ValueError(f"conflicting records for case {key[0]} on backend {key[1]}{where}: "
                                 f"{first['status']} vs {record['status']}; the shards overlap with different results")
            continue
        seen[key] = (record, i)
        merged.append(record)
    return merged


def combine_outputs(parts, *, sources=None) -> dict:
    """The union of several `outputs.npz` contents; a ValueError when one key holds different arrays."""
    merged, origin = {}, {}
    for i, outputs in enumerate(parts):
        for key, value in outputs.items():
            if key in merged:
                if not _same_array(merged[key], value):
                    where = f" ({sources[origin[key]]} and {sources[i]})" if sources else ""
                    raise ValueError(f"conflicting outputs for {key}{where}; the shards overlap with different results")
                continue
            merged[key], origin[key] = value, i
    return merged


def merge(directories) -> Merged:
    """Read and merge the results directories (or results.json paths) `directories`."""
    if not directories:
        raise ValueError("merge: no results directories given")
    documents, parts, names = [], [], []
    for directory in directories:
        path = pathlib.Path(directory)
        folder = path if path.is_dir() else path.parent
        documents.append(results.read(path))
        npz = folder / "outputs.npz"
        parts.append(results.load_outputs(folder) if npz.exists() else {})
        names.append(str(directory))
    sources = []
    for name, document in zip(names, documents):
        sources += [name] * len(document.get("records", []))
    records = combine_records([r for d in documents for r in d.get("records", [])], sources=sources)
    outputs = combine_outputs(parts, sources=names)
    sets = list(dict.fromkeys(s for d in documents for s in d.get("sets", [])))
    summary = [{"source": name, "environment": d.get("environment"), "records": len(d.get("records", []))}
               for name, d in zip(names, documents)]
    return Merged(records=records, outputs=outputs, sets=sets, environment=documents[0].get("environment"),
                  sources=summary, partial=any(d.get("partial") for d in documents))


def write(merged: Merged, directory) -> pathlib.Path:
    """Write the merged results.json and outputs.npz into `directory`; returns the JSON's path."""
    records = results.records_of({"records": merged.records})
    path = results.write(directory, records, merged.outputs, sets=merged.sets, env=merged.environment or {})
    document = json.loads(path.read_text())
    document["merged_from"] = merged.sources
    if merged.environments_differ:
        document["environments_differ"] = merged.differences()
    if merged.partial:
        document["partial"] = True
    path.write_text(json.dumps(document, indent=1))
    return path


def _content(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMINGS}


def _same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _flatten(value, prefix="") -> dict:
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}{key}.") if isinstance(item, dict) else {f"{prefix}{key}": item})
    return flat


def describe(merged: Merged, directory) -> str:
    """What was merged from where, and whether the environments differ: a few lines for the terminal."""
    lines = [f"merged {len(merged.records)} records from {len(merged.sources)} results into {directory}"]
    lines += [f"  {s['source']}: {s['records']} records" for s in merged.sources]
    if merged.environments_differ:
        lines.append(f"note: the results come from different environments (they differ in {', '.join(merged.differences())}); "
                     "each source's environment is kept under merged_from in results.json")
    if merged.partial:
        lines.append("note: at least one source is a partial run; the merged results are marked partial")
    return "\n".join(lines)
