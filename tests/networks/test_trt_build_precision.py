"""Half-precision networks as TensorRT 11 users build them: strongly typed fp16/bf16 on the loop,
drop-in and ONNX paths, with I/O in the network precision or float32 cast at the boundary (ModelOpt
AutoCast's form). Each builds with the installed builder (TensorRT-RTX here, no GPU needed); its
inputs and outputs have the intended names, shapes and types; its constants hold the case's values
rounded to the precision (checked against torch's bfloat16 and NumPy's float16, not our converter).

The default run builds every op x direction with lengths and states on each path, precision and I/O
form; `-m sweep` builds every network of seeds, matrix and edge the same ways.
"""

import itertools

import numpy as np
import pytest

from trt_cases import Case
from trt_cases.cases import half
from trt_cases.networks import trt_api
from trt_cases.networks.engine import build_plan
from trt_cases.networks.build import PathUnavailable, bf16_constants, build_network, check_types
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import named

pytestmark = pytest.mark.trt_build
RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)
trt = RT.module

PATHS = ("loop", "drop-in", "onnx")
HALF_PRECISIONS = ("fp16", "bf16")
IO_FORMS = ("network", "float32")
DATA_TYPES = {"fp32": "FLOAT", "fp16": "HALF", "bf16": "BF16"}
OPS = ("RELU", "TANH", "LSTM", "GRU")
DIRECTIONS = ("UNIDIRECTION", "BIDIRECTION")

# Networks the installed TensorRT's ONNX parser refuses, found by these tests (see the README). Its RNN
# importers make float32 constants whatever the node's type, which a strongly typed network rejects:
# the zero of the sequence_lens mask (onnx-tensorrt RNNHelpers.cpp, clearMissingSequenceElements), and
# GRU's 1 of (1 - z) in bf16 (fp16 is converted). Matched by TensorRT label prefix, as known mismatches are.
KNOWN_PARSER_DEFECTS = (
    {"tensorrt": "TensorRT-RTX 1.7", "applies": lambda case, precision: case.seq_lengths,
     "message": r"ISelectLayer must have `thenInput` and `elseInput` of same types but has (Half|BFloat16) and Float",
     "reason": "the parser's sequence_lens mask selects against a FLOAT zero"},
    {"tensorrt": "TensorRT-RTX 1.7", "applies": lambda case, precision: case.op == "GRU" and precision == "bf16",
     "message": r"ElementWiseOperation SUB must have same input types. But they are of types Float and BFloat16",
     "reason": "the parser's GRU computes 1 - z with a FLOAT one"},
)


def parser_defect(case, path, precision):
    """The known parser defect that stops `case`'s `precision` ONNX network here, or None (the defects are the
    half-precision networks' float32 constants: an fp32 network has none)."""
    if path != "onnx" or precision not in HALF_PRECISIONS:
        return None
    for defect in KNOWN_PARSER_DEFECTS:
        if RT.label.startswith(defect["tensorrt"]) and defect["applies"](case, precision):
            return defect
    return None


def full_case(op, direction, seq_lengths=True, **overrides):
    fields = dict(layer_count=2, hidden_size=4, max_seq_length=3, data_length=3, batch_dims=(2,), direction=direction,
                  seq_lengths=seq_lengths, hidden_state=True, cell_state=op == "LSTM", seed=5)
    return Case(op, **{**fields, **overrides})


def signature(tensors):
    return [(t.name, tuple(t.shape), t.dtype.name) for t in tensors]


def check_builds(case, path, precision, io):
    """Build `case`'s network; check its typing, I/O names, shapes and types, and that a plan comes out."""
    defect = parser_defect(case, path, precision)
    if defect is not None:
        with pytest.raises(RuntimeError, match=defect["message"]):
            build_network(case, path, precision=precision, io=io)
        pytest.xfail(f"{RT.label} ONNX parser: {defect['reason']}")  # still red when the defect goes away
    net = build_network(case, path, precision=precision, io=io)
    assert (net.precision, net.io, net.typing) == (precision, io, "strong")
    boundary = DATA_TYPES["fp32" if io == "float32" else precision]
    m = case.materialise()
    expected_inputs = [("input", m.input.shape, boundary)]
    expected_inputs += [(name, getattr(m, name).shape, "INT32" if name == "seq_lengths" else boundary)
                        for name in ("seq_lengths", "hidden_state", "cell_state") if getattr(m, name) is not None]
    expected_outputs = [(name, r.shape, boundary) for name, r in zip(("output", "hidden", "cell"), run_reference(case))]
    network = net.network
    assert sorted(signature(network.get_input(i) for i in range(network.num_inputs))) == sorted(expected_inputs)
    assert signature(network.get_output(i) for i in range(network.num_outputs)) == expected_outputs
    assert {name: a.dtype for name, a in net.feeds.items()} == {
        name: np.dtype(np.int32 if name == "seq_lengths" else np.float32) for name, *_ in expected_inputs}
    plan, _ = build_plan(net)
    assert len(plan) > 0


SUBSET = [(path, full_case(op, direction, seq_lengths)) for path in PATHS for op in OPS for direction in DIRECTIONS
          for seq_lengths in ((True, False) if path == "onnx" else (True,))]


@pytest.mark.parametrize("io", IO_FORMS)
@pytest.mark.parametrize("precision", HALF_PRECISIONS)
@pytest.mark.parametrize("path, case", SUBSET, ids=[f"{path}-{case.id}" for path, case in SUBSET])
def test_half_networks_build(path, case, precision, io):
    check_builds(case, path, precision, io)


SWEEP = [case for name in ("seeds", "matrix", "edge") for case in named(name)]


@pytest.mark.sweep
@pytest.mark.parametrize("io", IO_FORMS)
@pytest.mark.parametrize("precision", HALF_PRECISIONS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", SWEEP, ids=lambda case: case.id)
def test_every_set_network_builds_in_half(case, path, precision, io):
    check_builds(case, path, precision, io)


# --- the values and types inside -------------------------------------------------------------

def constants(network):
    """The network's constant layers, as IConstantLayer (the Polygraphy way: set the class)."""
    found = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type == trt.LayerType.CONSTANT:
            layer.__class__ = trt.IConstantLayer
            found.append(layer)
    return found


def torch_bf16_bits(values):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(values, np.float32)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


@pytest.mark.parametrize("path", ("loop", "drop-in"))
@pytest.mark.parametrize("precision", HALF_PRECISIONS)
def test_every_float_constant_is_in_the_network_precision(path, precision):
    case = full_case("GRU", "BIDIRECTION")  # GRU has the 1 of (1 - z); lengths add the masked zeros
    net = build_network(case, path, precision=precision)
    dtypes = {layer.get_output(0).dtype.name for layer in constants(net.network)}
    assert dtypes == {DATA_TYPES[precision], "INT32"}


@pytest.mark.parametrize("path", ("loop", "drop-in"))
def test_fp16_weights_are_the_cases_rounded_by_numpy(path):
    case = full_case("LSTM", "UNIDIRECTION", layer_count=1)
    m = case.materialise()
    net = build_network(case, path, precision="fp16")
    held = [np.asarray(layer.weights) for layer in constants(net.network) if layer.get_output(0).dtype.name == "HALF"]
    assert all(array.dtype == np.float16 for array in held)
    held_values = {float(v) for array in held for v in array.ravel()}
    for table in (m.weights, m.biases):
        for key, value in table.items():
            assert {float(v) for v in np.float16(value).ravel()} <= held_values, f"weights {key} missing"


@pytest.mark.parametrize("path", ("loop", "drop-in", "onnx"))
def test_bf16_constants_are_readable_and_the_cases_rounded_by_torch(path):
    case = full_case("LSTM", "UNIDIRECTION", seq_lengths=False, layer_count=1, precision="bf16")
    m = case.materialise()
    net = build_network(case, path, precision="bf16")
    kept = bf16_constants(net)
    by_name = {layer.name: layer for layer in constants(net.network)}
    assert kept and all(by_name[name].get_output(0).dtype.name == "BF16" for name in kept)
    kept_bits = {int(b) for values in kept.values() for b in half.bf16_bits(values).ravel()}
    for table in (m.weights, m.biases):
        for key, value in table.items():
            assert {int(b) for b in torch_bf16_bits(value).ravel()} <= kept_bits, f"weights {key} missing"


def test_bf16_bits_round_to_nearest_even_like_torch():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.standard_normal(10_000).astype(np.float32) * np.float32(10.0) ** rng.integers(-40, 38, 10_000),
        np.array([0x3F808000, 0x3F818000, 0x3F80FFFF, 0x00008000, 0x7F7FFFFF, 0x80000001],
                 dtype=np.uint32).view(np.float32),  # ties to even (down, up), carry, subnormal, overflow
        np.array([0.0, -0.0, np.inf, -np.inf], dtype=np.float32)]).astype(np.float32)
    np.testing.assert_array_equal(half.bf16_bits(values), torch_bf16_bits(values))
    assert half.bf16_bits(np.float32(np.nan)) == 0x7FC0
    exact = half.bf16_values(half.bf16_bits(values[:100]))
    np.testing.assert_array_equal(half.bf16_bits(exact), half.bf16_bits(values[:100]))


def test_float32_io_casts_at_the_boundary_only():
    net = build_network(full_case("TANH", "BIDIRECTION"), "loop", precision="fp16", io="float32")
    layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    casts = [(layer.get_input(0).dtype.name, layer.get_output(0).dtype.name, layer.get_output(0).name)
             for layer in layers if layer.type == trt.LayerType.CAST]
    assert sorted(casts) == [("FLOAT", "HALF", "hidden_state/cast"), ("FLOAT", "HALF", "input/cast"),
                             ("HALF", "FLOAT", "hidden"), ("HALF", "FLOAT", "output")]


def test_loop_names_stay_traceable_through_the_boundary_cast():
    net = build_network(full_case("GRU", "UNIDIRECTION", layer_count=1), "loop", precision="bf16", io="float32")
    names = {net.network.get_layer(i).get_output(k).name for i in range(net.network.num_layers)
             for k in range(net.network.get_layer(i).num_outputs)}
    assert {"input/L0.fwd.h", "input/L0.fwd.gate.UPDATE", "input/L0.fwd.xw"} <= names


def test_weights_as_inputs_are_in_the_network_precision():
    case = full_case("RELU", "UNIDIRECTION", layer_count=1)
    net = build_network(case, "loop", precision="fp16", io="float32", weights_as_inputs=True)
    types = {net.network.get_input(i).name: net.network.get_input(i).dtype.name for i in range(net.network.num_inputs)}
    assert types == {"input": "FLOAT", "seq_lengths": "INT32", "hidden_state": "FLOAT",
                     "W.0": "HALF", "R.0": "HALF", "Wb.0": "HALF", "Rb.0": "HALF"}
    assert all(net.feeds[name].dtype == np.float32 for name in ("W.0", "R.0", "Wb.0", "Rb.0"))
    assert len(build_plan(net)[0]) > 0


def test_fp32_keeps_the_installed_default_typing():
    net = build_network(full_case("RELU", "UNIDIRECTION"), "loop")
    assert (net.precision, net.io) == ("fp32", "network")
    assert net.typing == ("strong" if trt_api.always_strongly_typed() else "weak")
    assert {net.network.get_output(i).dtype.name for i in range(net.network.num_outputs)} == {"FLOAT"}


# --- types checked before building -----------------------------------------------------------

def test_check_types_names_a_float32_constant_in_an_fp16_network():
    net = build_network(full_case("RELU", "UNIDIRECTION"), "loop", precision="fp16")
    stray = net.network.add_constant((1,), trt.Weights(np.ones(1, np.float32)))
    stray.name = "stray"
    net.keep.append(stray)
    with pytest.raises(TypeError, match=r"loop network of relu-uni-.* in fp16 \(io=network\): tensor '.*' "
                                        r"\(constant layer 'stray'\) is FLOAT; intended HALF"):
        check_types(net)


def test_check_types_names_an_input_of_the_wrong_io_type():
    net = build_network(full_case("LSTM", "UNIDIRECTION"), "drop-in", precision="bf16")
    with pytest.raises(TypeError, match=r"drop-in network of lstm-.* in bf16 \(io=float32\): input 'input' is BF16; "
                                        r"intended FLOAT"):
        check_types(net._replace(io="float32"))


# --- what cannot be built, and bad arguments -------------------------------------------------

@pytest.mark.parametrize("precision", HALF_PRECISIONS)
def test_weakly_typed_half_network_is_refused(precision):
    with pytest.raises(PathUnavailable, match=rf"precision {precision} with strongly_typed=False: a weakly typed "
                                              rf"{precision} network is not built; weak typing is an fp32 network "
                                              rf"with BuilderFlag.{precision.upper()}"):
        build_network(full_case("RELU", "UNIDIRECTION"), "loop", precision=precision, strongly_typed=False)


def test_weak_typing_where_every_network_is_strongly_typed():
    if not trt_api.always_strongly_typed():
        pytest.skip(f"{RT.label} can create weakly typed networks")
    with pytest.raises(PathUnavailable, match=rf"strongly_typed=False: {RT.label} is always strongly typed"):
        build_network(full_case("RELU", "UNIDIRECTION"), "loop", strongly_typed=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(precision="fp8"), r"precision='fp8'; allowed: fp32, fp16, bf16"),
    (dict(precision="tf32"), r"precision='tf32'; allowed: fp32, fp16, bf16"),
    (dict(io="half"), r"io='half'; allowed: network, float32"),
    (dict(strongly_typed="yes"), r"strongly_typed='yes'; allowed: None, True, False"),
])
def test_bad_precision_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_network(full_case("RELU", "UNIDIRECTION"), "loop", **kwargs)


def test_typing_probes_agree_with_the_api():
    assert trt_api.can_strongly_type() == (trt_api.always_strongly_typed()
                                           or hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"))
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = trt_api.create_network(builder, strongly_typed=True)
    if hasattr(network, "get_flag"):
        assert network.get_flag(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


# --- the drop-in builds in its input's type ---------------------------------------------------

def test_drop_in_takes_a_half_input_and_float32_weights():
    from trt_cases.networks.drop_in import add_rnn_v2

    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = trt_api.create_network(builder, strongly_typed=True)
    x = network.add_input("x", trt.float16, (3, 4, 7))
    layer = add_rnn_v2(network, x, 1, 5, 4, "GRU")
    weights = np.linspace(-1, 1, 35, dtype=np.float32).reshape(5, 7) / 3
    for gate in ("UPDATE", "RESET", "HIDDEN"):
        layer.set_weights_for_gate(0, gate, True, weights)
        layer.set_weights_for_gate(0, gate, False, weights[:, :5])
        layer.set_bias_for_gate(0, gate, True, weights[0, :5])
        layer.set_bias_for_gate(0, gate, False, weights[1, :5])
    outputs = [layer.get_output(i) for i in range(2)]
    assert [t.dtype.name for t in outputs] == ["HALF", "HALF"]
    held = [np.asarray(c.weights) for c in constants(network) if c.get_output(0).dtype.name == "HALF"]
    assert any(np.array_equal(array.reshape(-1)[:35], np.float16(weights).ravel()) for array in held)
    for i, t in enumerate(outputs):
        t.name = f"out{i}"
        network.mark_output(t)
    assert builder.build_serialized_network(network, builder.create_builder_config()) is not None


def test_drop_in_refuses_a_state_of_another_type():
    from trt_cases.networks.drop_in import add_rnn_v2

    network = trt_api.create_network(trt.Builder(trt.Logger(trt.Logger.ERROR)), strongly_typed=True)
    layer = add_rnn_v2(network, network.add_input("x", trt.float16, (3, 4, 5)), 1, 5, 4, "TANH")
    layer.hidden_state = network.add_input("h0", trt.float32, (3, 1, 5))
    for is_w in (True, False):
        layer.set_weights_for_gate(0, "INPUT", is_w, np.ones((5, 5), np.float32))
        layer.set_bias_for_gate(0, "INPUT", is_w, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"hidden_state has type FLOAT; expected the input's type HALF"):
        layer.get_output(0)


def test_drop_in_refuses_an_integer_input():
    from trt_cases.networks.drop_in import add_rnn_v2

    network = trt_api.create_network(trt.Builder(trt.Logger(trt.Logger.ERROR)), strongly_typed=True)
    with pytest.raises(ValueError, match=r"input has type INT32; the RNN computes in FLOAT, HALF"):
        add_rnn_v2(network, network.add_input("x", trt.int32, (3, 4, 5)), 1, 5, 4, "TANH")


def test_subset_covers_every_op_direction_path_precision_and_io():
    covered = {(path, case.op, case.direction) for path, case in SUBSET}
    assert covered == set(itertools.product(PATHS, OPS, DIRECTIONS))
    assert all(case.seq_lengths and case.hidden_state for path, case in SUBSET if path != "onnx")


def test_packed_half_network_builds_with_prefixed_names():
    from trt_cases.networks.build import build_packed_network

    group = named("matrix")[:3]
    net = build_packed_network(group, precision="bf16", io="float32")
    outputs = {net.network.get_output(i).name: net.network.get_output(i).dtype.name for i in range(net.network.num_outputs)}
    assert set(outputs.values()) == {"FLOAT"} and {f"c{i}.output" for i in range(3)} <= set(outputs)
    assert (net.precision, net.io, net.typing) == ("bf16", "float32", "strong")
    assert len(build_plan(net)[0]) > 0


@pytest.mark.parametrize("io", IO_FORMS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("op", OPS)
def test_fp16_network_computes_the_case(op, path, io):
    """The NumPy executor runs the fp16 network (its weights as stored) and agrees with the reference on
    the fp16 case at the fp16 tolerance: the half constants and casts carry the case's numbers."""
    from trt_cases.results.compare import compare
    from trt_cases.executor import execute

    case = full_case(op, "BIDIRECTION", seq_lengths=path != "onnx", batch_dims=(2, 3), max_seq_length=5,
                     precision="fp16")
    net = build_network(case, path, precision="fp16", io=io)
    values = execute(net.network, net.feeds)
    expected = run_reference(case)
    got = tuple(np.asarray(values[name], np.float64) for name in ("output", "hidden", "cell")[:len(expected)])
    verdict = compare(case, expected, got, f"simulated-{path}-fp16", "float16")
    assert verdict, verdict.message()


def test_half_network_where_strong_typing_is_missing(monkeypatch):
    """As on TensorRT 8.6: no STRONGLY_TYPED creation flag and not always strongly typed."""
    monkeypatch.setattr(trt_api, "always_strongly_typed", lambda: False)
    monkeypatch.setattr(trt_api, "can_strongly_type", lambda: False)
    with pytest.raises(PathUnavailable, match=rf"precision fp16 needs a strongly typed network: "
                                              rf"NetworkDefinitionCreationFlag.STRONGLY_TYPED not available in {RT.label}"):
        build_network(full_case("RELU", "UNIDIRECTION"), "onnx", precision="fp16")
