"""Polygraphy's JSON files (`--load-inputs`, `--load-outputs`), written by polygraphy where it is importable, else
in the same format by `to_json` here (tests check the two agree)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np


def writers():
    """polygraphy's own `save_json` and `RunResults` where polygraphy is importable, else this module's same format."""
    try:
        from polygraphy.comparator import IterationResult, RunResults
        from polygraphy.json import save_json
        from polygraphy.logger import G_LOGGER
    except ImportError:
        return (lambda feeds, path: path.write_text(to_json(feeds)),
                lambda outputs, path: path.write_text(to_json(run_results({"reference": [outputs]}))))
    G_LOGGER.module_severity = G_LOGGER.ERROR  # its "Saving ..." lines would drown the command's own
    return (lambda feeds, path: save_json(feeds, str(path), description="inputs"),
            lambda outputs, path: RunResults([("reference", [IterationResult(dict(outputs), runner_name="reference")])])
            .save(str(path)))


def run_results(runs: dict) -> dict:
    """A Polygraphy `RunResults` as plain data: runner name -> list of iterations (output name -> array)."""
    return {"lst": [[name, [{"outputs": {k: {"values": v, "polygraphy_class": "LazyArray"} for k, v in it.items()},
                              "runtime": None, "runner_name": name, "polygraphy_class": "IterationResult"}
                             for it in iterations]] for name, iterations in runs.items()],
            "polygraphy_class": "RunResults"}


def to_json(obj) -> str:
    """`obj` (lists, dicts, arrays) as Polygraphy's JSON: arrays are `{"array": base64 of np.save, "polygraphy_class":
    "ndarray"}`, indented by 4, as `polygraphy.json.to_json` writes them (tests check it against polygraphy)."""
    def plain(value):
        if isinstance(value, np.ndarray):
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            return {"array": base64.b64encode(buffer.getvalue()).decode(), "polygraphy_class": "ndarray"}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value
    return json.dumps(plain(obj), indent=4)

