"""PyTorch on ONNX-operator cases (`OnnxCase`): `torch.nn.RNN`/`LSTM`/`GRU` where they compute the ONNX node.

torch implements a subset of the ONNX operators: LSTM without peepholes, `input_forget` or `clip`; GRU with
`linear_before_reset=1` only (its `n` gate applies r after the recurrent product); RNN with Tanh or Relu in
both directions; the default activations; `forward` and `bidirectional` (and `reverse` without
`sequence_lens`, run as forward on the time-reversed input). `unsupported` names the first attribute
outside that subset. The conversions live here: ONNX gate blocks (LSTM iofc, GRU zrh) to torch's (ifgo,
rzn), B split into bias_ih and bias_hh, `layout` to `batch_first`, `sequence_lens` to a packed sequence,
and torch's outputs back to Y `(S, D, N, H)` / `(N, S, D, H)` and Y_h, Y_c in the node's layout.
"""

from __future__ import annotations

import numpy as np

from ..cases.onnx_case import GATE_COUNT, OnnxCase, OnnxMaterials

# torch's gate blocks as ONNX block indices: LSTM torch i,f,g,o = ONNX i,o,f,c blocks 0,2,3,1; GRU r,z,n = z,r,h 1,0,2.
TORCH_BLOCKS = {"RNN": (0,), "LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2)}
DEFAULT_ACTIVATIONS = {"RNN": ("Tanh",), "GRU": ("Sigmoid", "Tanh"), "LSTM": ("Sigmoid", "Tanh", "Tanh")}


def unsupported(case: OnnxCase) -> str | None:
    """A one-line reason torch cannot compute this ONNX node, or None."""
    what = None
    if case.clip is not None:
        what = f"clip={case.clip:g}"
    elif case.peepholes:
        what = "peepholes (P)"
    elif case.input_forget:
        what = "input_forget=1"
    elif case.op == "GRU" and not case.linear_before_reset:
        what = "linear_before_reset=0 (torch's GRU is linear_before_reset=1)"
    elif case.direction == "reverse" and case.sequence_lens != "none":
        what = "direction=reverse with sequence_lens (torch has no reverse-only RNN)"
    elif case.activations:
        per_direction = {case.activations[i:i + len(case.activations) // case.D]
                         for i in range(0, len(case.activations), len(case.activations) // case.D)}
        rnn_ok = case.op == "RNN" and len(per_direction) == 1 and next(iter(per_direction)) in (("Tanh",), ("Relu",))
        if not rnn_ok and per_direction != {DEFAULT_ACTIVATIONS[case.op]}:
            what = f"activations={list(case.activations)}"
    if what is None and (case.activation_alpha or case.activation_beta):
        what = "activation_alpha/activation_beta"
    return None if what is None else f"torch.nn.{case.op} cannot express the ONNX {case.op} attribute {what}"


def infer(case: OnnxCase, m: OnnxMaterials, device: str, dtype):
    """torch's Y, Y_h[, Y_c] for the node on `m`, float64 NumPy arrays in the node's layout."""
    import torch

    H, D, N, S = case.hidden_size, case.D, case.batch_size, case.seq_length
    common = dict(num_layers=1, bidirectional=D == 2, batch_first=bool(case.layout), device=device, dtype=dtype)
    if case.op == "LSTM":
        module = torch.nn.LSTM(case.input_size, H, **common)
    elif case.op == "GRU":
        module = torch.nn.GRU(case.input_size, H, **common)
    else:
        nonlinearity = (case.activations or ("Tanh",))[0].lower()
        module = torch.nn.RNN(case.input_size, H, nonlinearity=nonlinearity, **common)
    G = GATE_COUNT[case.op]
    blocks = TORCH_BLOCKS[case.op]
    B = np.zeros((D, 2 * G * H)) if m.B is None else m.B
    with torch.no_grad():
        for d in range(D):
            suffix = "_l0" + ("_reverse" if d else "")
            reorder = lambda v: np.concatenate([v[b * H:(b + 1) * H] for b in blocks])  # noqa: E731
            for name, value in (("weight_ih", m.W[d]), ("weight_hh", m.R[d]), ("bias_ih", B[d, :G * H]),
                                ("bias_hh", B[d, G * H:])):
                getattr(module, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(reorder(value))))
        module.eval()
        time = 1 if case.layout else 0
        x = np.asarray(m.X)
        if case.direction == "reverse":
            x = np.flip(x, axis=time)
        x = torch.tensor(np.ascontiguousarray(x), dtype=dtype, device=device)

        def state(values):  # (D, N, H) for torch, zeros where the node has none
            if values is None:
                return torch.zeros((D, N, H), dtype=dtype, device=device)
            values = np.transpose(values, (1, 0, 2)) if case.layout else values
            return torch.tensor(np.ascontiguousarray(values), dtype=dtype, device=device)

        hx = None
        if m.initial_h is not None or m.initial_c is not None:
            hx = (state(m.initial_h), state(m.initial_c)) if case.op == "LSTM" else state(m.initial_h)
        if m.sequence_lens is None:
            y, states = module(x, hx)
        else:
            lengths = torch.tensor(np.asarray(m.sequence_lens), dtype=torch.int64)
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=bool(case.layout), enforce_sorted=False)
            y, states = module(packed, hx)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=bool(case.layout), total_length=S)
    to_numpy = lambda t: t.to(device="cpu", dtype=torch.float64).numpy()  # noqa: E731
    y = to_numpy(y)
    if case.direction == "reverse":
        y = np.flip(y, axis=time)
    Y = y.reshape(N, S, D, H) if case.layout else y.reshape(S, N, D, H).transpose(0, 2, 1, 3)
    states = states if isinstance(states, tuple) else (states,)
    finals = tuple(to_numpy(s).transpose(1, 0, 2) if case.layout else to_numpy(s) for s in states)
    return (np.ascontiguousarray(Y),) + tuple(np.ascontiguousarray(f) for f in finals)
