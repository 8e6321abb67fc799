"""Which cases a run takes: set names, `random:N`, case ids, JSON case files, or the nodes of ONNX models.

Selecting is cheap and checks every case before anything runs (file schema, layer count, memory: `limits`).
"""

from __future__ import annotations

import json
import pathlib

from . import limits, schema
from .case import Case
from .families import case_from_id, case_from_json
from .model import NodeCase
from .model_profile import models_node_cases
from .onnx_case import OnnxCase
from .sets import SETS, named, random_cases

DEFAULT_SETS = ("seeds", "edge", "dynamic-small")


def select_cases(specs, *, shapes=(), inputs: str = "", seed: int = 0, min_shapes=(), opt_shapes=(),
                 max_shapes=()) -> list[Case]:
    """Cases from set names, `random:N`, case ids, JSON files of cases, or ONNX models (a case per RNN, GRU and
    LSTM node, `cases.model`: `shapes`, `inputs` and `seed` set their data; `min_shapes`, `opt_shapes`,
    `max_shapes` a profile, `cases.model_profile`); a clear error otherwise."""
    cases = []
    models = models_node_cases([s for s in specs if s.lower().endswith(".onnx")], shapes=shapes, inputs=inputs,
                               seed=seed, min_shapes=min_shapes, opt_shapes=opt_shapes, max_shapes=max_shapes)
    for spec in specs:
        if spec in SETS:
            cases += named(spec)
        elif spec.startswith("random:"):
            count = spec.split(":", 1)[1]
            if not count.isdigit() or int(count) < 1:
                raise ValueError(f"case set {spec!r}: random:N needs a whole number N >= 1")
            cases += random_cases(int(count))
        elif spec.endswith(".json"):
            cases += _cases_from_file(spec)
        elif spec.lower().endswith(".onnx"):
            cases += models[spec]
        else:
            try:
                cases.append(case_from_id(spec))
            except ValueError:
                raise ValueError(f"unknown case set {spec!r}; allowed: {', '.join(SETS)}, random:N, a case id "
                                 "(e.g. lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17), a .json file of cases or an .onnx model "
                                 "(a model node's case id is found with --set MODEL.onnx)") from None
    cases = list(dict.fromkeys(cases))
    available = limits.available_bytes()
    for case in cases:
        limits.check_case(case, available)
    return cases


def case_file_schema() -> dict:
    """A case file: a JSON list of case ids or case objects (the fields of `Case`, `op` required)."""
    return {"type": "array", "minItems": 1, "items": {"type": ["string", "object"]}}


def case_schema(family: str = "irnnv2", model: bool = False) -> dict:
    """A case object of `family` (the fields of `Case`, or of `OnnxCase` with `"family": "onnx"`, of a model's
    `NodeCase` with `model`; `op` required)."""
    if family == "onnx":
        found = schema.dataclass_schema(NodeCase if model else OnnxCase, required=("op",),
                                        items={"activations": {"type": "string"}, "activation_alpha": {"type": "number"},
                                               "activation_beta": {"type": "number"}, "stored": {"type": "string"}})
        found["properties"]["family"] = {"const": "onnx"}
        return found
    return schema.dataclass_schema(Case, required=("op",), items={"batch_dims": {"type": "integer"}})


def _cases_from_file(path) -> list[Case]:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"case file {path}: {exc}") from None
    schema.check(data, case_file_schema(), f"case file {path} (a JSON list of case ids or case objects)")
    cases = []
    for i, item in enumerate(data):
        try:
            if isinstance(item, str):
                cases.append(case_from_id(item))
            else:
                schema.check(item, case_schema(item.get("family", "irnnv2"), "model" in item), f"case file {path}, item {i}")
                cases.append(case_from_json(item))
        except (TypeError, ValueError) as exc:
            message = str(exc) if str(exc).startswith(f"case file {path}") else f"case file {path}, item {i}: {exc}"
            raise ValueError(message) from None
    return cases
