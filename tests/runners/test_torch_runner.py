"""The PyTorch runner: gate order, layer_index and state layout, packed seq_lengths, TF32 flags, refusals.

The sweep of case sets against every oracle is tests/runners/test_oracles.py; this file proves the
conversions that only this runner makes. Re-run one test with `pytest tests/runners/test_torch_runner.py -k NAME`.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reference import GATES, RNNGateType, RNNOperation  # noqa: E402
from trt_cases import Case  # noqa: E402
from trt_cases.runners.reference_runner import run_reference  # noqa: E402
from trt_cases.runners.torch_runner import (  # noqa: E402
    TorchRunner, cpu_threads, cuda_tf32, initial_states, torch_available)

OPS = ("RELU", "TANH", "LSTM", "GRU")
DIRECTIONS = ("UNIDIRECTION", "BIDIRECTION")
OUTPUT_NAMES = ("output", "hidden", "cell")
CUDA = torch.cuda.is_available()
CPU64 = TorchRunner()


def case_of(op, direction="BIDIRECTION", input_mode="LINEAR", **overrides):
    """A small case with every option on; SKIP gets E == H."""
    fields = dict(op=op, direction=direction, input_mode=input_mode, layer_count=2, hidden_size=4,
                  data_length=4 if input_mode == "SKIP" else 5, max_seq_length=5, batch_dims=(2, 3),
                  seq_lengths=True, hidden_state=True, cell_state=op == "LSTM", seed=3)
    return Case(**{**fields, **overrides})


def assert_close(case, got, expected, tol, what="torch"):
    """Max abs error within `tol * max(1, |expected|)`; the message names the case and worst index."""
    assert len(got) == len(expected), f"{case.id}: {len(got)} outputs from {what}, reference has {len(expected)}"
    for name, g, e in zip(OUTPUT_NAMES, got, expected):
        assert g.shape == e.shape and g.dtype == np.float64, f"{case.id} {name}: {g.shape} {g.dtype} vs {e.shape}"
        err = np.abs(g - e) / np.maximum(1.0, np.abs(e))
        worst = np.unravel_index(np.nanargmax(err), err.shape) if err.size else ()
        assert not np.isnan(err).any() and err[worst] <= tol, (
            f"{case.id} {name}: {what} {g[worst]!r} vs reference {e[worst]!r} at {worst}, "
            f"scaled error {err[worst]:.3g} > {tol:g}; reproduce: "
            f"TorchRunner().infer(Case.from_id({case.id!r})) vs run_reference(Case.from_id({case.id!r}))")


def assert_matches_reference(case, materials=None, runner=CPU64, tol=1e-10):
    m = case.materialise() if materials is None else materials
    assert_close(case, runner.infer(case, m), run_reference(case, m), tol, runner.name)


def with_gates_swapped(materials, a, b):
    """The materials with gates `a` and `b` exchanged in every W, R, Wb and Rb."""
    swap = {a: b, b: a}
    rename = lambda table: {(i, swap.get(g, g), w): v for (i, g, w), v in table.items()}  # noqa: E731
    return materials._replace(weights=rename(materials.weights), biases=rename(materials.biases))


@pytest.mark.parametrize("input_mode", ("LINEAR", "SKIP"))
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("op", OPS)
def test_matches_reference(op, direction, input_mode):
    assert_matches_reference(case_of(op, direction, input_mode))


@pytest.mark.parametrize("op, a, b", [(op, a, b) for op in ("LSTM", "GRU")
                                      for a, b in itertools.combinations(GATES[RNNOperation[op]], 2)])
def test_gate_mapping(op, a, b):
    """Swapping two gates' weights changes the outputs, and the runner matches the reference on both."""
    case = case_of(op, seq_lengths=False, hidden_state=False, cell_state=False, weight_scale=1.5)
    m = case.materialise()
    swapped = with_gates_swapped(m, a, b)
    original, permuted = CPU64.infer(case, m), CPU64.infer(case, swapped)
    assert max(np.max(np.abs(x - y)) for x, y in zip(original, permuted)) > 1e-2, f"{op}: {a.name}<->{b.name} is invisible"
    assert_close(case, original, run_reference(case, m), 1e-10)
    assert_close(case, permuted, run_reference(case, swapped), 1e-10)


def test_gru_update_and_reset_are_not_torch_order():
    """torch stacks GRU gates r, z, n: TensorRT's UPDATE, RESET, HIDDEN read as torch's order is wrong."""
    case = case_of("GRU", hidden_state=False)
    m = case.materialise()
    expected = run_reference(case, m)
    assert_close(case, CPU64.infer(case, m), expected, 1e-10)
    as_if_torch_order = CPU64.infer(case, with_gates_swapped(m, RNNGateType.UPDATE, RNNGateType.RESET))
    assert np.max(np.abs(as_if_torch_order[0] - expected[0])) > 1e-2


@pytest.mark.parametrize("op", OPS)
def test_seq_lengths_match_reference(op):
    case = case_of(op, layer_count=3, max_seq_length=7, batch_dims=(3, 2), hidden_state=False, cell_state=False)
    assert case.materialise().seq_lengths.min() == 1 and case.materialise().seq_lengths.max() == 7
    assert_matches_reference(case)


@pytest.mark.parametrize("op", OPS)
def test_padding_past_seq_lengths_is_never_read(op):
    """NaN past each length leaves every output unchanged; outputs there are zero."""
    case = case_of(op, layer_count=2, max_seq_length=6)
    m = case.materialise()
    past = np.arange(case.max_seq_length) >= m.seq_lengths[..., None]  # (N..., S)
    poisoned = m._replace(input=np.where(past[..., None], np.nan, m.input))
    clean, got = CPU64.infer(case, m), CPU64.infer(case, poisoned)
    for name, x, y in zip(OUTPUT_NAMES, clean, got):
        np.testing.assert_array_equal(x, y, err_msg=f"{case.id} {name}")
    assert np.all(got[0][past] == 0.0)


def test_backward_direction_starts_at_last_valid_step():
    """The backward half at step len-1 is one step from hidden_state on x[len-1], as for a length-1 sequence."""
    case = case_of("LSTM", layer_count=1, max_seq_length=6)
    m = case.materialise()
    lengths = m.seq_lengths.reshape(-1)
    x = m.input.reshape((-1,) + m.input.shape[-2:])
    last = x[np.arange(len(lengths)), lengths - 1][:, None, :].reshape(case.batch_dims + (1, case.data_length))
    one_step = dataclasses.replace(case, max_seq_length=1, seq_lengths=False)
    backward_first = CPU64.infer(one_step, m._replace(input=last, seq_lengths=None))[0][..., 0, case.hidden_size:]
    output = CPU64.infer(case, m)[0].reshape((-1,) + m.input.shape[-2:-1] + (2 * case.hidden_size,))
    at_last = output[np.arange(len(lengths)), lengths - 1, case.hidden_size:]
    np.testing.assert_allclose(at_last, backward_first.reshape(at_last.shape), rtol=0, atol=1e-14)


@pytest.mark.parametrize("op", OPS)
def test_final_states_layout(op):
    """hidden[..., layer_index, :] is the last layer's output at its final step (forward: S-1, backward: 0)."""
    case = case_of(op, layer_count=3, seq_lengths=False)
    output, hidden, *cell = CPU64.infer(case)
    H, top = case.hidden_size, 2 * (case.layer_count - 1)
    assert hidden.shape == case.batch_dims + (2 * case.layer_count, H)
    np.testing.assert_array_equal(hidden[..., top, :], output[..., -1, :H])
    np.testing.assert_array_equal(hidden[..., top + 1, :], output[..., 0, H:])
    assert len(cell) == (op == "LSTM")


@pytest.mark.parametrize("op", OPS)
def test_initial_states_layout(op):
    """hidden_state/cell_state (N..., L*K, H) reach the right sequence and layer_index."""
    case = case_of(op, layer_count=2, seq_lengths=False)
    m = case.materialise()
    assert_matches_reference(case, m)
    base = CPU64.infer(case, m)
    h0 = m.hidden_state.copy()
    h0[1, 2, 3] += 0.25  # sequence (1, 2), layer_index 3: the top layer's backward direction
    changed = CPU64.infer(case, m._replace(hidden_state=h0))
    moved = np.abs(changed[0] - base[0]) > 0
    others = np.ones(case.batch_dims, dtype=bool)
    others[1, 2] = False
    assert moved[1, 2].any() and not moved[others].any(), "hidden_state reached another sequence"
    assert not moved[1, 2, :, : case.hidden_size].any(), "a top-layer backward state reached the forward half"
    rows_swapped = m._replace(hidden_state=m.hidden_state[..., [1, 0, 2, 3], :])
    assert np.max(np.abs(CPU64.infer(case, rows_swapped)[0] - base[0])) > 1e-3
    hx = initial_states(case, m, 6, "cpu", torch.float64)
    assert all(state.is_contiguous() for state in (hx if isinstance(hx, tuple) else (hx,))), "cuDNN refuses it"


def test_lstm_cell_state_without_hidden_state():
    assert_matches_reference(case_of("LSTM", hidden_state=False, cell_state=True))


def test_read_only_materials_give_no_warning():
    """Materials may be read-only views; torch must neither warn about them nor write to them."""
    case = case_of("GRU")
    m = case.materialise()
    frozen = lambda a: np.lib.stride_tricks.as_strided(a, writeable=False)  # noqa: E731
    m = m._replace(input=frozen(m.input), hidden_state=frozen(m.hidden_state), seq_lengths=frozen(m.seq_lengths),
                   weights={k: frozen(v) for k, v in m.weights.items()}, biases={k: frozen(v) for k, v in m.biases.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_matches_reference(case, m)


def test_weight_with_no_place_raises():
    case = case_of("TANH", input_mode="SKIP")
    m = case.materialise()
    extra = {**m.weights, (0, RNNGateType.INPUT, True): np.eye(4)}
    with pytest.raises(ValueError, match=r"weights \(0, <RNNGateType.INPUT: 0>, True\) have no place"):
        CPU64.infer(case, m._replace(weights=extra))


@pytest.mark.parametrize("kwargs, name, precision", [
    ({}, "torch-cpu-float64", "float64"),
    ({"dtype": torch.float32}, "torch-cpu-float32", "float32"),
    ({"device": "cuda", "dtype": "float32"}, "torch-cuda-float32", "float32"),
    ({"device": "cuda", "dtype": torch.float32, "allow_tf32": True}, "torch-cuda-tf32", "tf32"),
    ({"device": "cuda", "dtype": torch.float16}, "torch-cuda-float16", "float16"),
])
def test_name_and_precision(kwargs, name, precision):
    runner = TorchRunner(**kwargs)
    assert (runner.name, runner.precision) == (name, precision)


@pytest.mark.parametrize("kwargs, match", [
    ({"dtype": torch.bfloat16}, "dtype=torch.bfloat16"),
    ({"device": "mps"}, "device='mps'"),
    ({"dtype": torch.float64, "allow_tf32": True}, "allow_tf32=True needs dtype float32"),
    ({"num_threads": 0}, "num_threads=0"),
])
def test_bad_configuration_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TorchRunner(**kwargs)


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_unsupported():
    runner, case = TorchRunner(device="cuda", dtype=torch.float32), case_of("LSTM")
    reason = runner.prepare(case)
    assert "no CUDA device" in reason and "\n" not in reason
    with pytest.raises(RuntimeError, match=f"{runner.name} cannot run {case.id}: .*no CUDA device"):
        runner.infer(case)


@pytest.mark.parametrize("kwargs, match", [
    ({"dtype": torch.float16}, "float16 runs on CUDA only"),
    ({"dtype": torch.float32, "allow_tf32": True}, "TF32 exists on CUDA only"),
])
def test_cpu_refusals(kwargs, match):
    assert match in TorchRunner(**kwargs).prepare(case_of("GRU"))


def test_cpu_float32_and_float64_are_supported():
    assert TorchRunner().prepare(case_of("RELU")) is None
    assert TorchRunner(dtype="float32").prepare(case_of("RELU")) is None


def test_import_without_torch():
    """With torch absent the module imports, and the runner reports every case unsupported."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from trt_cases import Case\n"
            "from trt_cases.runners.torch_runner import TorchRunner, torch_available\n"
            "assert not torch_available()\n"
            "print(TorchRunner().prepare(Case(op='LSTM')))\n")
    root = pathlib.Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "torch is not installed (pip install torch)"
    assert torch_available()


@pytest.mark.parametrize("allow_tf32", (False, True))
def test_cuda_tf32_sets_and_restores(allow_tf32):
    """The TF32 switch holds inside the block only, and touches no flag that warns."""
    rnn = getattr(torch.backends.cudnn, "rnn", None)
    new_api = hasattr(rnn, "fp32_precision") and hasattr(torch.backends.cuda.matmul, "fp32_precision")
    flags = ((rnn, "fp32_precision"), (torch.backends.cuda.matmul, "fp32_precision")) if new_api else \
        ((torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32"))
    inside = ("tf32" if allow_tf32 else "ieee") if new_api else allow_tf32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before = [getattr(owner, attribute) for owner, attribute in flags]
        with cuda_tf32(allow_tf32):
            assert [getattr(owner, attribute) for owner, attribute in flags] == [inside, inside]
        assert [getattr(owner, attribute) for owner, attribute in flags] == before


def test_cpu_threads_restores():
    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


CUDA_RUNS = [({"dtype": "float64"}, "fp32", 1e-10), ({"dtype": "float32"}, "fp32", 1e-4),
             ({"dtype": "float32", "allow_tf32": True}, "tf32", 3e-2), ({"dtype": "float16"}, "fp16", 3e-2)]


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device (cuDNN)")
@pytest.mark.parametrize("kwargs, precision, tol", CUDA_RUNS, ids=("float64", "float32", "tf32", "float16"))
@pytest.mark.parametrize("op", OPS)
def test_cudnn_matches_reference(op, kwargs, precision, tol):
    runner = TorchRunner(device="cuda", **kwargs)
    for direction, input_mode, seq_lengths in itertools.product(DIRECTIONS, ("LINEAR", "SKIP"), (False, True)):
        case = case_of(op, direction, input_mode, seq_lengths=seq_lengths, precision=precision)
        assert runner.prepare(case) is None
        assert_matches_reference(case, runner=runner, tol=tol)
