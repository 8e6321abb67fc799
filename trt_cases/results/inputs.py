"""A case's inputs as named arrays, and back: what `outputs.npz` keeps beside the outputs (`inputs/<case id>/<name>`)
so that any run can be replayed, or checked by another tool, on another machine, from the stored data alone.

- ONNX-operator cases (`OnnxCase`, model `NodeCase`): the node's inputs by their ONNX names: `X`, `W`, `R`, and
  where given `B`, `sequence_lens`, `initial_h`, `initial_c`, `P`.
- IRNNv2 cases (`Case`): `input`, and where set `seq_lengths`, `hidden_state`, `cell_state`; every weight as
  `weights/<layer_index>/<GATE>/<W|R>` and every bias as `biases/<layer_index>/<GATE>/<W|R>` (GATE: TensorRT's
  `RNNGateType` name; W: the input weight or bias, R: the recurrent one), as `set_weights_for_gate` takes them.
"""

from __future__ import annotations

import numpy as np

from reference import RNNGateType

from ..cases.case import Case, Materials
from ..cases.onnx_case import OnnxMaterials

PREFIX = "inputs"


def arrays_of(case, materials=None) -> dict[str, np.ndarray]:
    """The case's inputs (its own, or `materials`) by name; None entries left out."""
    m = case.materialise() if materials is None else materials
    if isinstance(m, OnnxMaterials):
        return {name: np.asarray(value) for name, value in m._asdict().items() if value is not None}
    arrays = {"input": m.input}
    arrays.update({name: getattr(m, name) for name in ("seq_lengths", "hidden_state", "cell_state")
                   if getattr(m, name) is not None})
    for kind, table in (("weights", m.weights), ("biases", m.biases)):
        for (index, gate, is_w), value in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1].value, not kv[0][2])):
            arrays[f"{kind}/{index}/{gate.name}/{'W' if is_w else 'R'}"] = np.asarray(value)
    return arrays


def materials_of(case, arrays: dict):
    """The materials `arrays_of(case)` named: `case.reference(materials_of(case, arrays))` replays the case."""
    if not isinstance(case, Case):
        return OnnxMaterials(**{name: arrays.get(name) for name in OnnxMaterials._fields})
    tables = {"weights": {}, "biases": {}}
    for key, value in arrays.items():
        kind, _, rest = key.partition("/")
        if kind in tables:
            index, gate, which = rest.split("/")
            tables[kind][(int(index), RNNGateType[gate], which == "W")] = value
    return Materials(arrays["input"], tables["weights"], tables["biases"], arrays.get("seq_lengths"),
                     arrays.get("hidden_state"), arrays.get("cell_state"))


def stored_keys(case_id: str, arrays: dict) -> dict[str, np.ndarray]:
    """`arrays` keyed as `outputs.npz` keeps them: `inputs/<case id>/<name>`."""
    return {f"{PREFIX}/{case_id}/{name}": value for name, value in arrays.items()}


def read_stored(outputs: dict, case_id: str) -> dict[str, np.ndarray]:
    """The arrays of one case's inputs from a loaded `outputs.npz`, by name."""
    prefix = f"{PREFIX}/{case_id}/"
    return {key[len(prefix):]: value for key, value in outputs.items() if key.startswith(prefix)}
