"""Metamorphic properties of the reference, on hypothesis-drawn cases.

Each property states one piece of TensorRT's semantics as an equality between two ways of
computing the same thing (float64, so equal to 1e-12): bidirectional vs two unidirectional runs,
seq_lengths vs truncation, SKIP vs identity W, stacked layers vs chained single layers, batch
order, explicit zero states vs unset states.
"""

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from reference import GATES, RNNOperation
from trt_cases import Materials
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.strategies import cases

ATOL = 1e-12


def assert_outputs_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=ATOL)


def flat(case, m):
    """The case and materials with batch dims flattened to one N (the reference's own plumbing is not under test)."""
    N = int(np.prod(case.batch_dims, dtype=np.int64))
    reshape = lambda v, tail: None if v is None else np.reshape(v, (N,) + tail)  # noqa: E731
    LK, H = case.layer_count * case.K, case.hidden_size
    return dataclasses.replace(case, batch_dims=(N,)), m._replace(
        input=reshape(m.input, m.input.shape[-2:]), seq_lengths=reshape(m.seq_lengths, ()),
        hidden_state=reshape(m.hidden_state, (LK, H)), cell_state=reshape(m.cell_state, (LK, H)))


def row(v, index):
    return None if v is None else v[:, index:index + 1]


def variant(**changes):
    """Drawn cases with some fields fixed (a map, not a filter: no draws are wasted)."""
    return cases().map(lambda c: dataclasses.replace(c, **{k: v(c) if callable(v) else v for k, v in changes.items()}))


@given(case=variant(layer_count=1, direction="UNIDIRECTION"))
def test_bidirectional_is_two_unidirectional_runs(case):
    """The backward half is a forward run on each sequence reversed within its own length."""
    case, m = flat(case, case.materialise())
    bi = dataclasses.replace(case, direction="BIDIRECTION")
    m_bi = Materials(m.input, {**m.weights, **{(1,) + k[1:]: v for k, v in m.weights.items()}},
                     {**m.biases, **{(1,) + k[1:]: v * 0.5 for k, v in m.biases.items()}}, m.seq_lengths,
                     None if m.hidden_state is None else np.concatenate([m.hidden_state, -m.hidden_state], 1),
                     None if m.cell_state is None else np.concatenate([m.cell_state, m.cell_state * 0.5], 1))
    output, *finals = run_reference(bi, m_bi)
    uni = dataclasses.replace(case, direction="UNIDIRECTION")
    forward = run_reference(uni, m._replace(weights={k: v for k, v in m_bi.weights.items() if k[0] == 0},
                                            biases={k: v for k, v in m_bi.biases.items() if k[0] == 0},
                                            hidden_state=row(m_bi.hidden_state, 0), cell_state=row(m_bi.cell_state, 0)))
    lengths = np.full(case.batch_dims, case.max_seq_length) if m.seq_lengths is None else m.seq_lengths
    reversed_x = m.input.copy()
    for n, length in enumerate(lengths):
        reversed_x[n, :length] = m.input[n, :length][::-1]
    backward = run_reference(uni, m._replace(
        input=reversed_x, weights={(0,) + k[1:]: v for k, v in m_bi.weights.items() if k[0] == 1},
        biases={(0,) + k[1:]: v for k, v in m_bi.biases.items() if k[0] == 1},
        hidden_state=row(m_bi.hidden_state, 1), cell_state=row(m_bi.cell_state, 1)))
    H = case.hidden_size
    np.testing.assert_allclose(output[..., :H], forward[0], rtol=0, atol=ATOL)
    for n, length in enumerate(lengths):
        np.testing.assert_allclose(output[n, :length, H:], backward[0][n, :length][::-1], rtol=0, atol=ATOL)
        np.testing.assert_array_equal(output[n, length:], 0.0)
    for final, f, b in zip(finals, forward[1:], backward[1:]):
        np.testing.assert_allclose(final, np.concatenate([f, b], axis=1), rtol=0, atol=ATOL)


@given(case=variant(seq_lengths=True))
def test_seq_lengths_equal_truncated_sequences(case):
    case, m = flat(case, case.materialise())
    outputs = run_reference(case, m)
    for n, length in enumerate(m.seq_lengths):
        one = dataclasses.replace(case, batch_dims=(1,), max_seq_length=int(length), seq_lengths=False)
        alone = run_reference(one, m._replace(input=m.input[n:n + 1, :length], seq_lengths=None,
                                              hidden_state=None if m.hidden_state is None else m.hidden_state[n:n + 1],
                                              cell_state=None if m.cell_state is None else m.cell_state[n:n + 1]))
        np.testing.assert_allclose(outputs[0][n, :length], alone[0][0], rtol=0, atol=ATOL)
        np.testing.assert_array_equal(outputs[0][n, length:], 0.0)
        for full, final in zip(outputs[1:], alone[1:]):
            np.testing.assert_allclose(full[n], final[0], rtol=0, atol=ATOL)


@given(case=variant(input_mode="SKIP", data_length=lambda c: c.hidden_size))
def test_skip_equals_linear_with_identity_w(case):
    m = case.materialise()
    identity = {(index, gate, True): np.eye(case.hidden_size)
                for index in range(case.K) for gate in GATES[RNNOperation[case.op]]}
    linear = dataclasses.replace(case, input_mode="LINEAR")
    assert_outputs_equal(run_reference(case, m), run_reference(linear, m._replace(weights={**m.weights, **identity})))


@given(case=variant(layer_count=lambda c: max(2, c.layer_count)))
def test_stacked_layers_equal_chained_single_layers(case):
    case, m = flat(case, case.materialise())
    K = case.K
    outputs = run_reference(case, m)
    x, finals = m.input, []
    for layer in range(case.layer_count):
        rows = slice(K * layer, K * layer + K)
        one = dataclasses.replace(case, layer_count=1, data_length=x.shape[-1],
                                  input_mode=case.input_mode if layer == 0 else "LINEAR")
        pick = lambda table: {(k[0] - K * layer,) + k[1:]: v for k, v in table.items() if k[0] // K == layer}  # noqa: E731
        x, *states = run_reference(one, m._replace(input=x, weights=pick(m.weights), biases=pick(m.biases),
                                                   hidden_state=None if m.hidden_state is None else m.hidden_state[:, rows],
                                                   cell_state=None if m.cell_state is None else m.cell_state[:, rows]))
        finals.append(states)
    np.testing.assert_allclose(outputs[0], x, rtol=0, atol=ATOL)
    for k, full in enumerate(outputs[1:]):
        np.testing.assert_allclose(full, np.concatenate([f[k] for f in finals], axis=1), rtol=0, atol=ATOL)


@given(case=cases(), data=st.data())
def test_batch_order_does_not_matter(case, data):
    case, m = flat(case, case.materialise())
    order = np.array(data.draw(st.permutations(range(case.batch_dims[0])), label="order"))
    take = lambda v: None if v is None else v[order]  # noqa: E731
    permuted = run_reference(case, m._replace(input=take(m.input), seq_lengths=take(m.seq_lengths),
                                              hidden_state=take(m.hidden_state), cell_state=take(m.cell_state)))
    assert_outputs_equal(permuted, [o[order] for o in run_reference(case, m)])


@given(case=variant(hidden_state=False, cell_state=False))
def test_explicit_zero_states_equal_unset_states(case):
    m = case.materialise()
    zeros = np.zeros(case.batch_dims + (case.layer_count * case.K, case.hidden_size))
    explicit = dataclasses.replace(case, hidden_state=True, cell_state=case.op == "LSTM")
    assert_outputs_equal(run_reference(case, m),
                         run_reference(explicit, m._replace(hidden_state=zeros,
                                                            cell_state=zeros if case.op == "LSTM" else None)))
