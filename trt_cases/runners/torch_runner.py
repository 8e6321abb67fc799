"""PyTorch's `torch.nn.RNN`, `LSTM` and `GRU` as a runner: CPU float64 as a second oracle, cuDNN on GPU.

The conversions between `IRNNv2Layer` and torch live here and nowhere else: gate order (torch's GRU
stacks r, z, n where TensorRT names UPDATE, RESET, HIDDEN), `layer_index = 2*layer + direction` to
`weight_ih_l{layer}{_reverse}`, `seq_lengths` to a packed sequence, and states `(N..., L*K, H)` to
torch's `(L*K, N, H)`. Importing this module works without torch; the runner then reports why not.
"""

from __future__ import annotations

import contextlib

import numpy as np

from reference import RNNGateType, RNNInputMode, RNNOperation

from ..cases.case import Case
from ..cases.onnx_case import OnnxCase
from . import torch_onnx
from .base import Runner

try:
    import torch
except ImportError:  # the CPU-only suite runs without torch; prepare() says so
    torch = None

DTYPES = ("float64", "float32", "float16")

# Each operation's gates in the order torch stacks them in weight_ih / weight_hh / bias_ih / bias_hh.
TORCH_GATES = {
    RNNOperation.RELU: (RNNGateType.INPUT,),
    RNNOperation.TANH: (RNNGateType.INPUT,),
    RNNOperation.LSTM: (RNNGateType.INPUT, RNNGateType.FORGET, RNNGateType.CELL, RNNGateType.OUTPUT),  # i, f, g, o
    RNNOperation.GRU: (RNNGateType.RESET, RNNGateType.UPDATE, RNNGateType.HIDDEN),  # r, z, n: not TensorRT's z, r, h
}


def torch_available() -> bool:
    """Whether torch could be imported (the runner reports every case unsupported otherwise)."""
    return torch is not None


class TorchRunner(Runner):
    """`torch.nn.{RNN,LSTM,GRU}` on `device` in `dtype`; on CUDA, `allow_tf32` picks TF32 or IEEE float32.

    `dtype` is a torch dtype or its name ("float64", "float32", "float16"). `num_threads` is torch's
    intra-op thread count during a CPU call (None leaves it): these RNNs are too small to gain from
    more threads, and an OpenMP team stalls badly when another process holds one of the cores.
    """

    def __init__(self, device: str = "cpu", dtype="float64", allow_tf32: bool = False, num_threads: int | None = 1):
        dtype_name = str(dtype).removeprefix("torch.")
        if dtype_name not in DTYPES:
            raise ValueError(f"dtype={dtype!r}; allowed: {', '.join(DTYPES)} (or the torch dtypes of those names)")
        if not isinstance(device, str) or not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
            raise ValueError(f"device={device!r}; allowed: 'cpu', 'cuda' or 'cuda:N'")
        if not isinstance(allow_tf32, bool):
            raise TypeError(f"allow_tf32={allow_tf32!r}: expected True or False")
        if allow_tf32 and dtype_name != "float32":
            raise ValueError(f"allow_tf32=True needs dtype float32 (TF32 is a float32 math mode); got {dtype_name}")
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                        or num_threads < 1):
            raise ValueError(f"num_threads={num_threads!r}: expected an int >= 1, or None to leave torch's setting")
        self.device = device
        self.dtype_name = dtype_name
        self.allow_tf32 = allow_tf32
        self.num_threads = num_threads
        self.precision = "tf32" if allow_tf32 else dtype_name
        self.name = f"torch-{device}-{self.precision}"
        self.kind = "oracle" if device == "cpu" else "cudnn"

    def __repr__(self) -> str:
        return f"TorchRunner(device={self.device!r}, dtype={self.dtype_name!r}, allow_tf32={self.allow_tf32})"

    def prepare(self, case: Case) -> str | None:
        """A one-line reason this runner cannot run `case` here, or None."""
        if torch is None:
            return "torch is not installed (pip install torch)"
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            return (f"device={self.device!r} but torch {torch.__version__} sees no CUDA device "
                    "(torch.cuda.is_available() is False)")
        if self.device == "cpu" and self.dtype_name == "float16":
            return "float16 runs on CUDA only: this backend checks cuDNN's half kernels, not torch's CPU fallback"
        if self.device == "cpu" and self.allow_tf32:
            return "TF32 exists on CUDA only (compute capability 8.0 or newer); use device='cuda'"
        if self.allow_tf32 and torch.cuda.get_device_capability(self.device) < (8, 0):
            gpu, capability = torch.cuda.get_device_name(self.device), torch.cuda.get_device_capability(self.device)
            return f"TF32 needs compute capability 8.0 or newer; {gpu} has {capability}"
        if self.dtype_name == "float16" and case.precision != "fp16":
            return f"case precision {case.precision}: its values are not exactly representable in float16; run fp16 cases"
        if isinstance(case, OnnxCase):
            return torch_onnx.unsupported(case)
        return None

    def infer(self, case: Case, materials=None):
        """torch's outputs for `case` (on `materials` if given) as float64 arrays in IRNNv2Layer layout, or for
        an ONNX-operator case its Y, Y_h[, Y_c] in the node's layout (`torch_onnx`)."""
        reason = self.prepare(case)
        if reason is not None:
            raise RuntimeError(f"{self.name} cannot run {case.id}: {reason}")
        m = case.materialise() if materials is None else materials
        dtype = getattr(torch, self.dtype_name)
        with contextlib.ExitStack() as stack:
            stack.enter_context(torch.no_grad())
            if self.device == "cpu":
                stack.enter_context(cpu_threads(self.num_threads))
            else:
                stack.enter_context(cuda_tf32(self.allow_tf32))
            if isinstance(case, OnnxCase):  # the ONNX node, in its own layout
                return torch_onnx.infer(case, m, self.device, dtype)
            module = build_module(case, self.device, dtype)
            copy_weights(module, case, m)
            return run_module(module, case, m, self.device, dtype)


def build_module(case: Case, device: str, dtype) -> torch.nn.RNNBase:
    """An untrained `torch.nn.RNN`/`LSTM`/`GRU` shaped like `case`, batch first, in eval mode."""
    op = RNNOperation[case.op]
    common = dict(num_layers=case.layer_count, bidirectional=case.K == 2, batch_first=True, device=device, dtype=dtype)
    if op is RNNOperation.LSTM:
        module = torch.nn.LSTM(case.data_length, case.hidden_size, **common)
    elif op is RNNOperation.GRU:
        module = torch.nn.GRU(case.data_length, case.hidden_size, **common)
    else:
        module = torch.nn.RNN(case.data_length, case.hidden_size, nonlinearity=op.name.lower(), **common)
    return module.eval()


def copy_weights(module, case: Case, materials) -> None:
    """Copy every `(layer_index, gate, is_w)` weight and bias into torch's parameters, in torch's gate order.

    A SKIP first layer gets the identity as every gate's W. Raises on a missing or unused weight.
    """
    op = RNNOperation[case.op]
    gates = TORCH_GATES[op]
    H, K = case.hidden_size, case.K
    skip = RNNInputMode[case.input_mode] is RNNInputMode.SKIP
    used = {"weights": set(), "biases": set()}

    def stacked(kind, layer_index, is_w, shape):
        keys = [(layer_index, gate, is_w) for gate in gates]
        used[kind].update(keys)
        table = getattr(materials, kind)
        return np.concatenate([np.reshape(table[key], shape) for key in keys])

    for layer_index in range(case.layer_count * K):
        first = layer_index < K
        suffix = f"_l{layer_index // K}" + ("_reverse" if layer_index % K else "")
        if first and skip:
            w_ih = np.tile(np.eye(H), (len(gates), 1))
        else:
            w_ih = stacked("weights", layer_index, True, (H, case.data_length if first else K * H))
        parameters = {"weight_ih": w_ih,
                      "weight_hh": stacked("weights", layer_index, False, (H, H)),
                      "bias_ih": stacked("biases", layer_index, True, (H,)),
                      "bias_hh": stacked("biases", layer_index, False, (H,))}
        for name, value in parameters.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(value))
    unused = [f"{kind} {key}" for kind in used for key in getattr(materials, kind) if key not in used[kind]]
    if unused:
        raise ValueError(f"{case.id}: {', '.join(unused)} have no place in this "
                         f"{case.op} {case.direction} {case.input_mode} RNN")


def run_module(module, case: Case, materials, device: str, dtype):
    """Run `module` on the materials, packing by `seq_lengths`; outputs in IRNNv2Layer layout, float64."""
    x = np.asarray(materials.input)
    batch, S, LK, H = x.shape[:-2], case.max_seq_length, case.layer_count * case.K, case.hidden_size
    if x.shape[-2:] != (S, case.data_length):
        raise ValueError(f"{case.id}: input has shape {x.shape}; expected (N..., {S}, {case.data_length})")
    N = int(np.prod(batch, dtype=np.int64))
    x = torch.tensor(x.reshape(N, S, case.data_length), dtype=dtype, device=device)
    hx = initial_states(case, materials, N, device, dtype)
    if materials.seq_lengths is None:
        output, states = module(x, hx)
    else:
        lengths = torch.tensor(np.reshape(materials.seq_lengths, (N,)), dtype=torch.int64)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        output, states = module(packed, hx)
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=S)
    states = states if isinstance(states, tuple) else (states,)
    outputs = (to_numpy(output).reshape(batch + (S, case.K * H)),)
    return outputs + tuple(to_numpy(state).transpose(1, 0, 2).reshape(batch + (LK, H)) for state in states)


def initial_states(case: Case, materials, N: int, device: str, dtype):
    """torch's `hx` from `hidden_state`/`cell_state` `(N..., L*K, H)`: `(L*K, N, H)`, zeros where unset."""
    if materials.hidden_state is None and materials.cell_state is None:
        return None
    LK, H = case.layer_count * case.K, case.hidden_size

    def state(values):
        if values is None:
            return torch.zeros((LK, N, H), dtype=dtype, device=device)
        layout = np.ascontiguousarray(np.reshape(values, (N, LK, H)).transpose(1, 0, 2))  # cuDNN needs contiguous hx
        return torch.tensor(layout, dtype=dtype, device=device)

    if RNNOperation[case.op] is RNNOperation.LSTM:
        return state(materials.hidden_state), state(materials.cell_state)
    if materials.cell_state is not None:
        raise ValueError(f"{case.id}: cell_state is set but op={case.op}: only LSTM has a cell state")
    return state(materials.hidden_state)


def to_numpy(tensor) -> np.ndarray:
    """A float64 NumPy copy of `tensor` on the CPU."""
    return tensor.to(device="cpu", dtype=torch.float64).numpy()


@contextlib.contextmanager
def cpu_threads(num_threads: int | None):
    """Run the block with torch's intra-op thread count set to `num_threads` (None: unchanged), then restore."""
    saved = torch.get_num_threads()
    if num_threads is not None and num_threads != saved:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != saved:
            torch.set_num_threads(saved)


@contextlib.contextmanager
def cuda_tf32(allow_tf32: bool):
    """Let cuDNN's RNNs and cuBLAS's matmul use TF32 (or strict IEEE float32) for the block, then restore.

    torch >= 2.9 has per-operation `fp32_precision` settings and warns when the legacy `allow_tf32`
    flags are even read, so those are used only where the new settings are missing.
    """
    rnn = getattr(torch.backends.cudnn, "rnn", None)
    if hasattr(rnn, "fp32_precision") and hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        value = "tf32" if allow_tf32 else "ieee"
        settings = [(rnn, "fp32_precision", value), (torch.backends.cuda.matmul, "fp32_precision", value)]
    else:
        settings = [(torch.backends.cudnn, "allow_tf32", allow_tf32),
                    (torch.backends.cuda.matmul, "allow_tf32", allow_tf32)]
    saved = [getattr(owner, attribute) for owner, attribute, _ in settings]
    try:
        for owner, attribute, value in settings:
            setattr(owner, attribute, value)
        yield
    finally:
        for (owner, attribute, _), value in zip(settings, saved):
            setattr(owner, attribute, value)
