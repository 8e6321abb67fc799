"""The case families, and a case from its id or its JSON whichever family it belongs to.

`Case` describes an `IRNNv2Layer` (ids like `lstm-bi-linear-...`), `OnnxCase` one ONNX RNN/GRU/LSTM node
(ids `onnx-...`), `NodeCase` (`model`) one recurrent node of a user's model file, its weights read from the
model (ids `<model stem>-<node>-...`, resolved only with the model: `model.resolve`). A `NodeCase` is of the
family `onnx` (every later stage treats it as the ONNX node it is); its JSON has a `"model"` key. Every family
offers the same protocol to the later stages: `id`, `precision`,
`to_json()`, `materialise()`, `reference(materials, dtype)`, `perturbed(materials, nudge)`,
`output_names`, `time_axis`, `max_seq_length` and `recurrent_radius`.
"""

from __future__ import annotations

from .case import Case
from .model import NodeCase
from .onnx_case import OnnxCase

FAMILIES = {"irnnv2": Case, "onnx": OnnxCase}


def case_from_id(case_id: str):
    """The case an id names, of whichever family its form belongs to."""
    if not isinstance(case_id, str):
        raise TypeError(f"case id {case_id!r}: expected a string")
    return (OnnxCase if case_id.startswith("onnx-") else Case).from_id(case_id)


def case_from_json(data: dict):
    """A case from its JSON object; `"family"` picks the family (default: the IRNNv2 `Case`)."""
    family = data.get("family", "irnnv2")
    if family not in FAMILIES:
        raise ValueError(f"case JSON family={family!r}; allowed: {', '.join(FAMILIES)}")
    cls = NodeCase if family == "onnx" and "model" in data else FAMILIES[family]
    return cls.from_json({k: v for k, v in data.items() if k != "family"} if cls is Case else data)
