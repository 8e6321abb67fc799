"""A run keeps every case's inputs in outputs.npz (`inputs/<case id>/<name>`): the reference recomputed from the
stored inputs and the case's spec in results.json alone (no seed, no drawing) equals the stored reference."""

import json
import pathlib

import numpy as np

from helpers import specs

from trt_cases.cases.case import Case
from trt_cases.cases.families import case_from_json
from trt_cases.cases.model import node_cases
from trt_cases.cases.onnx_case import OnnxCase
from trt_cases.results import records
from trt_cases.results.inputs import materials_of, read_stored
from trt_cases.run import run
from trt_cases.runners.reference_runner import ReferenceRunner

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_stored_inputs_replay_the_reference(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cases = [Case("LSTM", layer_count=2, direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True,
                  seed=3),
             Case("GRU", input_mode="SKIP", data_length=4, batch_dims=(2, 2), seed=1),
             OnnxCase("LSTM", direction="bidirectional", peepholes=True, sequence_lens="ragged", initial_h=True,
                      initial_c=True, clip=2.0, layout=1, seed=2),
             OnnxCase("GRU", linear_before_reset=1, bias=False, seed=4),
             *node_cases("tests/models/lstm_peepholes.onnx")]
    found, outputs = run(cases, specs({"reference": ReferenceRunner}))
    records.write(tmp_path, found, outputs, sets=["test"])
    document = json.loads((tmp_path / "results.json").read_text())
    with np.load(tmp_path / "outputs.npz", allow_pickle=False) as data:
        stored = {key: data[key] for key in data.files}
    written = {r["case"]: r["spec"] for r in document["records"]}
    assert set(written) == {c.id for c in cases}
    for case_id, spec in written.items():
        case = case_from_json(spec)
        arrays = read_stored(stored, case_id)
        assert arrays, f"no inputs stored for {case_id}"
        replayed = case.reference(materials_of(case, arrays))
        for name, value in zip(case.output_names, replayed):
            np.testing.assert_array_equal(value, stored[f"reference/{case_id}/{name}"], err_msg=f"{case_id} {name}")


def test_stored_input_names():
    """IRNNv2 weights by layer index, gate and matrix; ONNX inputs by their ONNX names."""
    from trt_cases.results.inputs import arrays_of

    lstm = arrays_of(Case("LSTM", layer_count=2, seq_lengths=True, hidden_state=True))
    assert {"input", "seq_lengths", "hidden_state", "weights/0/INPUT/W", "weights/1/OUTPUT/R", "biases/1/CELL/W",
            "biases/0/FORGET/R"} <= set(lstm) and "cell_state" not in lstm
    assert len([k for k in lstm if k.startswith("weights/")]) == 2 * 4 * 2
    skip = arrays_of(Case("GRU", input_mode="SKIP", data_length=4))
    assert "weights/0/UPDATE/W" not in skip and "weights/0/UPDATE/R" in skip and "biases/0/UPDATE/W" in skip
    onnx = arrays_of(OnnxCase("LSTM", peepholes=True, initial_h=True))
    assert set(onnx) == {"X", "W", "R", "B", "initial_h", "P"}
