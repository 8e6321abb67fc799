"""The case model and the case sets: ids, determinism, the drawn data's promises, and invalid cases."""

import dataclasses
import itertools
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import GATES, RNNOperation, rnn_v2
from trt_cases import Case
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import EDGE, edge, matrix, named, seeds
from trt_cases.cases.strategies import INVALID_CASE_FIELDS, cases


def test_id_is_readable_and_stable():
    case = Case("lstm", layer_count=2, hidden_size=8, max_seq_length=5, data_length=8, batch_dims=(2, 3),
                direction="BIDIRECTION", input_mode="skip", seq_lengths=True, hidden_state=True, cell_state=True, seed=17)
    assert case.id == "lstm-bi-skip-L2-H8-S5-E8-B2x3-lens-h0-c0-fp32-s17"
    assert Case("GRU", weight_scale=0.25, seq_lengths=True, lengths="full").id == "gru-uni-linear-L1-H4-S3-E4-B2-lensS-fp32-w0.25-s0"


@given(case=cases())
def test_id_and_json_round_trip(case):
    assert Case.from_id(case.id) == case
    assert Case.from_json(json.loads(json.dumps(case.to_json()))) == case


def test_from_id_rejects_garbage():
    with pytest.raises(ValueError, match=r"case id 'lstm-sideways' is not of the form"):
        Case.from_id("lstm-sideways")


def test_from_json_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"case JSON has unknown keys \['peepholes'\]"):
        Case.from_json({"op": "LSTM", "peepholes": True})


@given(case=cases())
def test_materialise_is_deterministic_and_shaped(case):
    a, b = case.materialise(), case.materialise()
    for x, y in zip(a, b):
        if isinstance(x, dict):
            assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        else:
            assert (x is None and y is None) or np.array_equal(x, y)
    assert a.input.shape == case.batch_dims + (case.max_seq_length, case.data_length)
    if case.seq_lengths:
        assert a.seq_lengths.dtype == np.int32 and a.seq_lengths.shape == case.batch_dims
        assert a.seq_lengths.min() >= 1 and a.seq_lengths.max() <= case.max_seq_length
    outputs = run_reference(case)  # the drawn data is exactly what the reference accepts
    assert np.all(np.isfinite(outputs[0]))


def test_ragged_lengths_contain_one_and_full():
    lengths = Case("GRU", batch_dims=(2, 3), max_seq_length=5, seq_lengths=True, seed=4).materialise().seq_lengths
    assert {1, 5} <= set(lengths.ravel().tolist())


@pytest.mark.parametrize("precision, dtype", [("fp32", np.float32), ("fp16", np.float16)])
def test_values_are_exact_in_the_case_precision(precision, dtype):
    m = Case("LSTM", precision=precision, hidden_state=True, cell_state=True).materialise()
    for value in [m.input, m.hidden_state, m.cell_state, *m.weights.values(), *m.biases.values()]:
        np.testing.assert_array_equal(value.astype(dtype).astype(np.float64), value)


def test_bf16_values_have_eight_bit_mantissas():
    m = Case("GRU", precision="bf16").materialise()
    bits = m.input.astype(np.float32).view(np.uint32)
    assert np.all(bits & 0xFFFF == 0) and np.array_equal(bits.view(np.float32).astype(np.float64), m.input)


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
def test_recurrent_weights_have_the_promised_spectral_radius(scale):
    case = Case("LSTM", hidden_size=16, weight_scale=scale, seed=9)
    for (index, gate, is_w), R in case.materialise().weights.items():
        if not is_w:
            radius = np.max(np.abs(np.linalg.eigvals(R)))
            assert radius == pytest.approx(case.recurrent_radius, rel=1e-5)


def test_every_gate_is_distinct():
    m = Case("LSTM", layer_count=2, direction="BIDIRECTION").materialise()
    for (a, va), (b, vb) in itertools.combinations(m.weights.items(), 2):
        if va.shape == vb.shape:
            assert not np.allclose(va, vb), (a, b)


@given(case=cases(), field=st.sampled_from(sorted(INVALID_CASE_FIELDS)), data=st.data())
def test_invalid_cases_raise_a_named_error(case, field, data):
    bad = data.draw(INVALID_CASE_FIELDS[field], label=field)
    with pytest.raises((ValueError, TypeError), match=field):
        Case(**{**dataclasses.asdict(case), field: bad})


def test_skip_and_cell_state_rules():
    with pytest.raises(ValueError, match=r"input_mode=SKIP requires data length E == hidden_size; got E=5, hidden_size=4"):
        Case("GRU", input_mode="SKIP", data_length=5)
    with pytest.raises(ValueError, match=r"cell_state is set but op=GRU"):
        Case("GRU", cell_state=True)


BREAKAGES = {
    "seq_lengths out of range": lambda c, m: m._replace(seq_lengths=np.zeros(c.batch_dims, np.int32)),
    "missing R": lambda c, m: m._replace(weights={k: v for k, v in m.weights.items() if k[2]}),
    "wrong R shape": lambda c, m: m._replace(weights={k: (v if k[2] else v[:, :-1]) for k, v in m.weights.items()}),
    "wrong hidden_state": lambda c, m: m._replace(hidden_state=np.zeros(c.batch_dims + (c.layer_count * c.K + 1, c.hidden_size))),
    "wrong input length": lambda c, m: m._replace(input=m.input[..., :0, :]),
}
MESSAGES = {
    "seq_lengths out of range": r"seq_lengths=.* outside \[1, max_seq_length=",
    "missing R": r"Missing weights/bias: \(0, \w+, 0\)",
    "wrong R shape": r"weights \(\d+, \w+, 0\) has shape",
    "wrong hidden_state": r"hidden_state has shape",
    "wrong input length": r"input has shape",
}


@given(case=cases(), breakage=st.sampled_from(sorted(BREAKAGES)))
def test_broken_materials_raise_the_documented_error(case, breakage):
    m = BREAKAGES[breakage](case, case.materialise())
    with pytest.raises(ValueError, match=MESSAGES[breakage]):
        rnn_v2(m.input, case.op, case.layer_count, case.hidden_size, m.weights, m.biases,
               max_seq_length=case.max_seq_length, direction=case.direction, input_mode=case.input_mode,
               seq_lengths=m.seq_lengths if breakage == "seq_lengths out of range" else None,
               hidden_state=m.hidden_state, cell_state=m.cell_state)


def test_sets_have_unique_ids_and_the_promised_sizes():
    for name in ("seeds", "matrix", "edge"):
        ids = [case.id for case in named(name)]
        assert len(ids) == len(set(ids))
    assert len(seeds()) == 8 and len(matrix()) == 128 and len(edge()) == len(EDGE)
    axes = {(c.op, c.direction, c.input_mode, c.seq_lengths, c.layer_count, c.hidden_state) for c in matrix()}
    assert len(axes) == 4 * 2 * 2 * 2 * 2 * 2
    with pytest.raises(ValueError, match=r"unknown case set 'everything'; allowed: seeds, matrix, edge"):
        named("everything")


def test_every_op_is_in_every_set_but_seeds():
    for cases_ in (matrix(), edge()):
        assert {c.op for c in cases_} == {op.name for op in GATES} == {op.name for op in RNNOperation}


def test_edge_cases_keep_their_promises():
    assert np.max(np.abs(run_reference(EDGE["relu-growth-past-1e4"])[0])) > 1e4
    assert np.mean(np.abs(run_reference(EDGE["saturated-tanh"])[0]) > 0.99) > 0.9  # pinned at the rails
    for name in ("saturated-lstm", "saturated-gru"):  # gate pre-activations deep in sigmoid's flat tails
        m = EDGE[name].materialise()
        pre = [m.input @ w.T + m.biases[k] for k, w in m.weights.items() if k[2]]
        assert np.median(np.abs(pre)) > 5
    assert EDGE["chaotic-tanh"].recurrent_radius > 1 and EDGE["chaotic-tanh"].max_seq_length >= 128
    assert {c.max_seq_length for c in edge()} >= {1} and {c.hidden_size for c in edge()} >= {1}
    lengths = {name: EDGE[name].materialise().seq_lengths for name in ("lengths-all-one", "lengths-all-full")}
    assert np.all(lengths["lengths-all-one"] == 1) and np.all(lengths["lengths-all-full"] == EDGE["lengths-all-full"].max_seq_length)


def test_the_default_run_reaches_the_traps():
    """Every op's gates reach pre-activations in the hundreds, of both signs (past float32 exp's overflow
    at 88.7), and the default run has ragged bidirectional, batch dims with lengths, and bidirectional
    stacks with initial states."""
    from trt_cases.executor.trace import reference_steps
    from trt_cases.cases.selection import DEFAULT_SETS, select_cases

    default = select_cases(DEFAULT_SETS)
    for op in ("RELU", "TANH", "LSTM", "GRU"):
        case = EDGE[f"huge-preactivation-{op.lower()}"]
        assert case in default and case.op == op and case.weight_scale < 1e3
        records = reference_steps(case).values()
        for gate in [k for k in next(iter(records)) if k.startswith("gate.")]:
            values = np.concatenate([r[gate].ravel() for r in records])
            assert values.max() > 100 and values.min() < -100, (case.id, gate, values.min(), values.max())
    assert any(c.K == 2 and c.seq_lengths and c.lengths == "ragged" for c in default)
    assert any(len(c.batch_dims) >= 2 and c.seq_lengths and c.K == 2 for c in default)
    assert any(c.K == 2 and c.layer_count >= 2 and c.hidden_state and c.op == op for c in default for op in ("LSTM", "GRU"))
