"""torch.nn.RNN/GRU/LSTM as an oracle of ONNX-operator cases: every case of the `onnx` set torch can express
(default activations or RNN Tanh/Relu, GRU linear_before_reset=1, no clip, peepholes or input_forget;
both layouts, ragged sequence_lens, initial states, reverse without lengths) agrees with the reference in
float64; every other case is declined naming the attribute torch lacks. On a GPU the same conversions run
cuDNN (`torch-cuda-*` backends in `pytest -m gpu`).
"""

import numpy as np
import pytest

from trt_cases.cases.onnx_case import OnnxCase
from trt_cases.cases.sets import named
from trt_cases.results.compare import compare

torch_runner = pytest.importorskip("trt_cases.runners.torch_runner")
pytest.importorskip("torch")

RUNNER = torch_runner.TorchRunner("cpu", "float64")
CASES = named("onnx")
EXPRESSIBLE = [case for case in CASES if RUNNER.prepare(case) is None]


def test_torch_expresses_a_real_part_of_the_set():
    assert len(EXPRESSIBLE) >= 40, [RUNNER.prepare(c) for c in CASES]
    assert {c.layout for c in EXPRESSIBLE} == {0, 1}
    assert {c.direction for c in EXPRESSIBLE} == {"forward", "reverse", "bidirectional"}
    assert {c.sequence_lens for c in EXPRESSIBLE} >= {"none", "ragged"}


@pytest.mark.parametrize("case", EXPRESSIBLE, ids=lambda case: case.id)
def test_torch_float64_agrees_with_the_reference(case):
    result = compare(case, case.reference(), RUNNER.infer(case), RUNNER.name, RUNNER.precision)
    assert result, result.message()


@pytest.mark.parametrize("fields, attribute", [
    (dict(op="LSTM", clip=2.0), "clip=2"),
    (dict(op="LSTM", peepholes=True), "peepholes"),
    (dict(op="LSTM", input_forget=1), "input_forget=1"),
    (dict(op="GRU", linear_before_reset=0), "linear_before_reset=0"),
    (dict(op="RNN", activations=("LeakyRelu",)), "activations=['LeakyRelu']"),
    (dict(op="GRU", linear_before_reset=1, direction="reverse", sequence_lens="ragged"), "direction=reverse"),
])
def test_what_torch_cannot_express_is_declined_naming_the_attribute(fields, attribute):
    reason = RUNNER.prepare(OnnxCase(**fields))
    assert reason and attribute in reason and "\n" not in reason


def test_a_swapped_gate_block_is_seen():
    """The gate-block conversion matters: torch with ONNX's LSTM blocks taken in torch's order disagrees."""
    case = next(c for c in EXPRESSIBLE if c.op == "LSTM")
    m = case.materialise()
    H = case.hidden_size
    swapped = m._replace(W=np.concatenate([m.W[:, H:2 * H], m.W[:, :H], m.W[:, 2 * H:]], axis=1))
    result = compare(case, case.reference(m), RUNNER.infer(case, swapped), RUNNER.name, RUNNER.precision)
    assert not result
