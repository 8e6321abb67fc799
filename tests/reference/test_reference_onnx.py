"""`reference.onnx_rnn` against independent implementations of the ONNX RNN, GRU and LSTM operators.

What each oracle covers (the rest is in test_reference_onnx_properties.py):
- onnxruntime (float32 single-node models, rtol 1e-5): every op x direction x {no lengths,
  ragged lengths with initial states}; every activation with non-default alpha/beta, in every slot,
  names in any case (LSTM, GRU); how activation_alpha/beta line up with the activations; clip
  (its reading: gates only); peepholes; input_forget; linear_before_reset 0 and 1; missing B; a
  length 0 with zero initial states. Its CPU kernels refuse layout=1.
- onnx.reference (float64, 1e-12): op x direction x layout x initial states, GRU linear_before_reset
  0/1, LSTM peepholes, RNN Tanh and Affine. It ignores clip, input_forget, sequence_lens and the
  GRU/LSTM activations (and RNN's alpha lines up per direction), so none of those is tested there.
- torch (float64): torch.nn.RNN (tanh, relu), GRU (linear_before_reset=1, gates r,z,n -> z,r,h) and
  LSTM (i,f,g,o -> i,o,f,c), uni and bidirectional, initial states, lengths (packed sequences).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from reference import onnx_rnn  # noqa: E402

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
S, N, I, H = 5, 3, 4, 3
INPUTS = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")


def draw(op, D, seed, layout=0, scale=1.0):
    """Inputs with every gate drawn independently (no two gates alike, never all ones)."""
    rng = np.random.default_rng(seed)
    G = GATES[op]
    state = (D, N, H) if layout == 0 else (N, D, H)
    inputs = dict(X=rng.uniform(-2, 2, (S, N, I) if layout == 0 else (N, S, I)),
                  W=rng.uniform(-1, 1, (D, G * H, I)) * scale, R=rng.uniform(-1, 1, (D, G * H, H)) * scale,
                  B=rng.uniform(-1, 1, (D, 2 * G * H)) * scale)
    extras = dict(sequence_lens=np.array([S, 2, 4], dtype=np.int32), initial_h=rng.uniform(-1, 1, state))
    if op == "LSTM":
        extras.update(initial_c=rng.uniform(-1, 1, state))
    return inputs, extras


def single_node_model(op, inputs, attrs, elem_type):
    outputs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]
    names = [name if inputs.get(name) is not None else "" for name in INPUTS]
    while names[-1] == "":
        names.pop()
    info = [helper.make_tensor_value_info(name, TensorProto.INT32 if name == "sequence_lens" else elem_type,
                                          inputs[name].shape) for name in names if name]
    node = helper.make_node(op, names, outputs, **{k: v for k, v in attrs.items() if v is not None})
    graph = helper.make_graph([node], op.lower(), info, [helper.make_tensor_value_info(o, elem_type, None) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model, {name: inputs[name] for name in names if name}


def run_ort(op, inputs, **attrs):
    ort = pytest.importorskip("onnxruntime")
    inputs = {k: (v if k == "sequence_lens" else np.asarray(v, dtype=np.float32)) for k, v in inputs.items() if v is not None}
    model, feeds = single_node_model(op, inputs, attrs, TensorProto.FLOAT)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run_onnx_reference(op, inputs, **attrs):
    from onnx.reference import ReferenceEvaluator

    model, feeds = single_node_model(op, inputs, attrs, TensorProto.DOUBLE)
    return ReferenceEvaluator(model).run(None, feeds)


def close(expected, got, rtol=1e-5, atol=1e-5):
    assert len(expected) == len(got)
    for name, e, g in zip(("Y", "Y_h", "Y_c"), expected, got):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=name)


def onnx_attrs(op, H, **attrs):
    return dict(hidden_size=H, **attrs)


# --- onnxruntime ---------------------------------------------------------------------------------

@pytest.mark.parametrize("op", GATES)
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("extras", [False, True], ids=["plain", "lengths+states"])
def test_onnxruntime_op_direction_lengths_states(op, direction, extras):
    """(onnxruntime's CPU kernels refuse layout=1: onnx.reference and a property cover it.)"""
    D = 2 if direction == "bidirectional" else 1
    inputs, more = draw(op, D, 1)
    if extras:
        inputs.update(more)
    attrs = dict(direction=direction)
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    close(run_ort(op, inputs, hidden_size=H, **attrs), onnx_rnn(op, **inputs, **attrs))


# non-default values, exact in float32 (ONNX stores float attributes in float32)
ALPHA_BETA = {"Affine": (0.75, -0.25), "LeakyRelu": (0.3125, None), "ThresholdedRelu": (0.25, None),
              "ScaledTanh": (1.25, 0.625), "HardSigmoid": (0.375, 0.4375), "Elu": (0.8125, None),
              "Relu": (None, None), "Tanh": (None, None), "Sigmoid": (None, None),
              "Softsign": (None, None), "Softplus": (None, None)}


def activation_list(op, name, D):
    """`name` in the first slot of the forward functions and the last slot of the reverse ones, with
    its non-default alpha/beta placed where onnxruntime and the reference consume them."""
    defaults = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    forward = [name] + defaults[1:]
    reverse = defaults[:-1] + [name]
    names = forward + (reverse if D == 2 else [])
    alpha, beta = ALPHA_BETA[name]
    count = names.count(name)
    alphas = None if alpha is None else [alpha * (1 + 0.125 * k) for k in range(count)]
    betas = None if beta is None else [beta * (1 + 0.125 * k) for k in range(count)]
    return names, alphas, betas


@pytest.mark.parametrize("op", GATES)
@pytest.mark.parametrize("name", ALPHA_BETA)
def test_onnxruntime_activations_with_alpha_beta(op, name):
    inputs, more = draw(op, 2, 2, scale=0.5)
    inputs.update(more)
    names, alphas, betas = activation_list(op, name, 2)
    spelled = names if op == "RNN" else [n.lower() if k % 2 else n.upper() for k, n in enumerate(names)]
    attrs = dict(direction="bidirectional", activations=names, activation_alpha=alphas, activation_beta=betas)
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    expected = run_ort(op, inputs, hidden_size=H, **{**attrs, "activations": spelled})
    close(expected, onnx_rnn(op, **inputs, **{**attrs, "activations": spelled}))


def test_onnxruntime_consumes_alpha_beta_in_order_of_the_functions_that_take_them():
    inputs, _ = draw("LSTM", 1, 3)
    attrs = dict(activations=["HardSigmoid", "Tanh", "LeakyRelu"], activation_alpha=[0.375, 0.0625], activation_beta=[0.4375])
    expected = run_ort("LSTM", inputs, hidden_size=H, **attrs)
    close(expected, onnx_rnn("LSTM", **inputs, **attrs))
    # read index by index, LeakyRelu would take alpha[2] (absent: 0.01): a different answer
    other = onnx_rnn("LSTM", **inputs, activations=attrs["activations"], activation_alpha=[0.375], activation_beta=[0.4375])
    assert not np.allclose(other[0], expected[0], atol=1e-4)


def test_onnxruntime_defaults_for_affine_differ_from_the_onnx_text():
    """ONNX: defaults are those of the ONNX operator (Affine 1.0, 0.0); onnxruntime reads 0, 0."""
    inputs, _ = draw("RNN", 1, 4, scale=0.5)
    expected = run_ort("RNN", inputs, hidden_size=H, activations=["Affine"])
    np.testing.assert_array_equal(expected[0], 0.0)
    ours = onnx_rnn("RNN", **inputs, activations=["Affine"])
    close(run_ort("RNN", inputs, hidden_size=H, activations=["Affine"], activation_alpha=[1.0], activation_beta=[0.0]), ours)


@pytest.mark.parametrize("op", GATES)
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_onnxruntime_clip(op, direction):
    D = 2 if direction == "bidirectional" else 1
    inputs, more = draw(op, D, 5)
    inputs.update(more)
    attrs = dict(direction=direction, clip=0.6)
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    expected = run_ort(op, inputs, hidden_size=H, **attrs)
    assert not np.allclose(expected[0], run_ort(op, inputs, hidden_size=H, **{**attrs, "clip": None})[0], atol=1e-3)
    close(expected, onnx_rnn(op, **inputs, **attrs, clip_reading="gates"))
    if op != "LSTM":  # no cell state: both readings are the same
        close(expected, onnx_rnn(op, **inputs, **attrs, clip_reading="wording"))


def test_onnxruntime_clips_the_gates_but_not_the_cell_state_before_h():
    """A case where |C| exceeds clip: onnxruntime matches the 'gates' reading and not the wording."""
    inputs, _ = draw("LSTM", 1, 6)
    inputs["B"][0, :4 * H] += 5.0  # saturate i, o, f and c: C grows past the clip
    inputs["X"] = np.repeat(inputs["X"], 2, axis=0)
    expected = run_ort("LSTM", inputs, hidden_size=H, clip=0.5)
    gates = onnx_rnn("LSTM", **inputs, clip=0.5, clip_reading="gates")
    wording = onnx_rnn("LSTM", **inputs, clip=0.5, clip_reading="wording")
    assert np.abs(gates[2]).max() > 0.6
    close(expected, gates)
    assert np.abs(wording[0] - expected[0]).max() > 1e-2


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("input_forget", [0, 1])
def test_onnxruntime_lstm_peepholes_and_input_forget(direction, input_forget):
    D = 2 if direction == "bidirectional" else 1
    inputs, more = draw("LSTM", D, 7)
    inputs.update(more, P=np.random.default_rng(8).uniform(-1, 1, (D, 3 * H)))
    attrs = dict(direction=direction, input_forget=input_forget)
    close(run_ort("LSTM", inputs, hidden_size=H, **attrs), onnx_rnn("LSTM", **inputs, **attrs))


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_onnxruntime_gru_linear_before_reset(direction, linear_before_reset):
    D = 2 if direction == "bidirectional" else 1
    inputs, more = draw("GRU", D, 9)
    inputs.update(more)
    attrs = dict(direction=direction, linear_before_reset=linear_before_reset)
    close(run_ort("GRU", inputs, hidden_size=H, **attrs), onnx_rnn("GRU", **inputs, **attrs))


@pytest.mark.parametrize("op", GATES)
def test_onnxruntime_missing_bias_and_a_zero_length(op):
    inputs, _ = draw(op, 2, 10)
    inputs.update(B=None, sequence_lens=np.array([0, S, 1], dtype=np.int32))
    close(run_ort(op, inputs, hidden_size=H, direction="bidirectional"),
          onnx_rnn(op, **inputs, direction="bidirectional"))


def test_onnxruntime_zero_length_final_state_is_zero_not_the_initial_state():
    """The one documented disagreement on lengths: onnxruntime's Y_h for a length 0 is 0; the reference
    holds the initial state (no step ran)."""
    inputs, more = draw("GRU", 1, 11)
    inputs.update(initial_h=more["initial_h"], sequence_lens=np.array([0, S, 2], dtype=np.int32))
    expected, ours = run_ort("GRU", inputs, hidden_size=H), onnx_rnn("GRU", **inputs)
    np.testing.assert_array_equal(expected[1][0, 0], 0.0)
    np.testing.assert_array_equal(ours[1][0, 0], inputs["initial_h"][0, 0])
    close([e[..., 1:, :] for e in expected], [o[..., 1:, :] for o in ours])


# --- onnx.reference (float64) -------------------------------------------------------------------

@pytest.mark.parametrize("op,attrs", [("RNN", {}), ("RNN", {"activations": ["Affine"], "activation_alpha": [0.625],
                                                              "activation_beta": [0.125]}),
                                      ("GRU", {"linear_before_reset": 0}), ("GRU", {"linear_before_reset": 1}),
                                      ("LSTM", {}), ("LSTM", {"P": True})], ids=str)
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_onnx_reference(op, attrs, direction, layout):
    D = 2 if direction == "bidirectional" else 1
    if "activations" in attrs and D == 2:
        pytest.skip("onnx.reference lines RNN's activation_alpha up per direction; only the forward case is comparable")
    inputs, more = draw(op, D, 12, layout, scale=0.5)
    inputs.update(initial_h=more["initial_h"], initial_c=more.get("initial_c"))
    attrs = dict(attrs)
    if attrs.pop("P", False):
        inputs["P"] = np.random.default_rng(13).uniform(-1, 1, (D, 3 * H))
    attrs.update(direction=direction, layout=layout)
    close(run_onnx_reference(op, {k: v for k, v in inputs.items() if v is not None}, hidden_size=H, **attrs),
          onnx_rnn(op, **inputs, **attrs), rtol=1e-12, atol=1e-12)


# --- torch (float64) ----------------------------------------------------------------------------

def torch_to_onnx(module, op, D, H):
    """W, R, B in ONNX layout and gate order from a torch.nn.RNN/GRU/LSTM's parameters."""
    order = {"RNN": [0], "GRU": [1, 0, 2], "LSTM": [0, 3, 1, 2]}[op]  # torch r,z,n / i,f,g,o
    arrays = {"W": [], "R": [], "B": []}
    for d in range(D):
        suffix = "_reverse" if d else ""
        get = lambda name: getattr(module, f"{name}_l0{suffix}").detach().numpy()  # noqa: E731
        blocks = lambda a: np.concatenate([a[k * H:(k + 1) * H] for k in order])  # noqa: E731
        arrays["W"].append(blocks(get("weight_ih")))
        arrays["R"].append(blocks(get("weight_hh")))
        arrays["B"].append(np.concatenate([blocks(get("bias_ih")), blocks(get("bias_hh"))]))
    return {k: np.stack(v) for k, v in arrays.items()}


@pytest.mark.parametrize("op,nonlinearity", [("RNN", "tanh"), ("RNN", "relu"), ("GRU", None), ("LSTM", None)])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [False, True])
def test_torch(op, nonlinearity, bidirectional, lengths):
    torch = pytest.importorskip("torch")
    D = 2 if bidirectional else 1
    torch.manual_seed(0)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    module = getattr(torch.nn, op)(I, H, bidirectional=bidirectional, dtype=torch.float64, **kwargs)
    rng = np.random.default_rng(14)
    X, h0, c0 = rng.uniform(-2, 2, (S, N, I)), rng.uniform(-1, 1, (D, N, H)), rng.uniform(-1, 1, (D, N, H))
    seq = np.array([S, 2, 4]) if lengths else np.full(N, S)
    state = (torch.from_numpy(h0), torch.from_numpy(c0)) if op == "LSTM" else torch.from_numpy(h0)
    with torch.no_grad():
        packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(X), torch.from_numpy(seq), enforce_sorted=False)
        out, final = module(packed, state)
        out = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=S)[0].numpy()
    finals = [f.numpy() for f in final] if op == "LSTM" else [final.numpy()]
    expected = [out.reshape(S, N, D, H).transpose(0, 2, 1, 3)] + finals
    attrs = dict(direction="bidirectional" if bidirectional else "forward",
                 activations=["Relu"] * D if nonlinearity == "relu" else None,
                 linear_before_reset=1 if op == "GRU" else 0)
    ours = onnx_rnn(op, X, **torch_to_onnx(module, op, D, H), sequence_lens=seq.astype(np.int32) if lengths else None,
                    initial_h=h0, initial_c=c0 if op == "LSTM" else None, **attrs)
    close(expected, ours, rtol=1e-12, atol=1e-12)


def test_every_activation_is_checked_on_every_op():
    """The onnxruntime activation test covers all eleven ONNX functions on the three operators."""
    from reference.cells import ACTIVATIONS

    assert set(ALPHA_BETA) == set(ACTIVATIONS)


# --- the exhaustive sweep (`pytest -m sweep`) -----------------------------------------------------

SWEEP_VARIANTS = {"RNN": [{}], "GRU": [{"linear_before_reset": 0}, {"linear_before_reset": 1}],
                  "LSTM": [{}, {"P": True}, {"input_forget": 1}, {"P": True, "input_forget": 1}]}


def sweep_cases():
    for op, variants in SWEEP_VARIANTS.items():
        slots = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
        for name, slot, direction, clip, extras, variant in itertools.product(
                ALPHA_BETA, range(slots), ["forward", "reverse", "bidirectional"], [None, 0.75], [False, True], variants):
            yield pytest.param(op, name, slot, direction, clip, extras, variant,
                               id=f"{op}-{name}-slot{slot}-{direction}-clip{clip}-{'ext' if extras else 'plain'}-{variant}")


@pytest.mark.sweep
@pytest.mark.parametrize("op,name,slot,direction,clip,extras,variant", list(sweep_cases()))
def test_sweep_onnxruntime(op, name, slot, direction, clip, extras, variant):
    """Every activation in every slot of every op, crossed with direction, clip, lengths and initial
    states, peepholes and input_forget (LSTM), linear_before_reset (GRU)."""
    D = 2 if direction == "bidirectional" else 1
    inputs, more = draw(op, D, 20 + slot, scale=0.5)
    if extras:
        inputs.update(more)
    variant = dict(variant)
    if variant.pop("P", False):
        inputs["P"] = np.random.default_rng(21).uniform(-1, 1, (D, 3 * H))
    defaults = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    names = [name if k == slot else n for k, n in enumerate(defaults)] * D
    alpha, beta = ALPHA_BETA[name]
    attrs = dict(direction=direction, activations=names, clip=clip, **variant,
                 activation_alpha=None if alpha is None else [alpha] * D,
                 activation_beta=None if beta is None else [beta] * D)
    expected = run_ort(op, inputs, hidden_size=H, **attrs)
    if not all(np.isfinite(e).all() for e in expected):  # e.g. Softplus as f: f > 1 lets C grow without bound
        pytest.skip("onnxruntime's float32 overflowed to inf where the float64 reference stays finite")
    close(expected, onnx_rnn(op, **inputs, **attrs, clip_reading="gates"))
