"""The NumPy executor on dynamic-shape networks (`execute(network, feeds, profile=...)`), proven against
parties that are not us.

- One parsed dynamic network: a 2-layer bidirectional LSTM in ONNX with symbolic dims `S` and `N` (the
  form `torch.onnx.export(..., dynamo=True, dynamic_shapes=...)` writes: two LSTM nodes, the first's Y
  transposed and reshaped with `[0, 0, -1]` into the second), ragged `sequence_lens` and initial states,
  parsed by TensorRT-RTX into a network with `-1` dims, trip limits from SHAPE layers and length masks.
  The same network runs at the shapes that break kernels (the profile's min, opt and max, S=1, batch 1,
  batch 5, lengths ragged at the longest S), each compared with onnxruntime running the same model at
  that shape and with the float64 reference (`reference.onnx_rnn`) on that shape's data.
- The dynamic networks `build_network(..., dynamic=True)` builds on the loop, drop-in and ONNX paths, each
  executed at every run shape of its case's profile against the reference on that shape's data.
- Typed rounding at a dynamic shape: the float16 model's network, every tensor rounded to HALF, against
  the reference at the tolerance the simulated fp16 backends use.
- Bad run shapes: a fixed dim fed another value, a shape outside the profile, a profile that does not
  fit the network: one-line errors, exact text.
- Each layer kind a dynamic network uses, on a network built by hand with `-1` input dims, against
  values computed by hand: SHAPE, slices, gathers, concatenations, casts, element-wise and reductions
  of shape tensors, FILL, SHUFFLE with run-time reshape dims, SLICE with run-time start/size/stride,
  a COUNT trip limit from the run shape with iterators and loop outputs of run-time length, SELECT.
"""

import re

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from reference.onnx_rnn import onnx_rnn
from trt_cases.cases.case import Case
from trt_cases.cases.precision import TOLERANCE
from trt_cases.cases.profile import OptimizationProfile
from trt_cases.cases.case import materials_at
from trt_cases.cases.dynamic import case_at, run_shapes
from trt_cases.executor import execute
from trt_cases.networks import trt_api
from trt_cases.networks.build import build_network
from trt_cases.networks.trt_api import CapturingLogger
from trt_cases.networks.onnx_export import feeds as export_feeds

pytestmark = pytest.mark.trt_build
RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("onnx"), allow_module_level=True)
trt = RT.module
E, H, D = 3, 4, 2  # input size, hidden size, directions
PROFILE = {"X": ((1, 1, E), (4, 3, E), (9, 5, E)), "sequence_lens": ((1,), (3,), (5,)),
           "initial_h": ((D, 1, H), (D, 3, H), (D, 5, H)), "initial_c": ((D, 1, H), (D, 3, H), (D, 5, H))}
# (S, N): min, opt, max (batch 5: not a multiple of 8), S=1 at batch 5, batch 1 at the longest S.
RUN_SHAPES = [(1, 1), (4, 3), (9, 5), (1, 5), (9, 1)]
# An IRNNv2 case built dynamic on each path (`build_network(..., dynamic=True)`): two batch dims, ragged lengths, states.
DYNAMIC_CASE = Case("LSTM", layer_count=2, direction="BIDIRECTION", seq_lengths=True, hidden_state=True,
                    cell_state=True, batch_dims=(2, 3), max_seq_length=4, hidden_size=5, data_length=3)


# --- the parsed dynamic network --------------------------------------------------------------------

def lstm_weights(rng, inputs):
    """W, R, B of one bidirectional ONNX LSTM layer (gates iofc), scaled so no gate saturates."""
    return (rng.uniform(-0.5, 0.5, (D, 4 * H, inputs)), rng.uniform(-0.5, 0.5, (D, 4 * H, H)),
            rng.uniform(-0.3, 0.3, (D, 8 * H)))


WEIGHTS = [lstm_weights(np.random.default_rng(19), E), lstm_weights(np.random.default_rng(20), D * H)]


def lstm_model(dtype=np.float32, lengths=True):
    """Two stacked bidirectional LSTM nodes with symbolic S and N, in `dtype` (float32 or float16), taking
    `sequence_lens` where `lengths`."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    inits = [numpy_helper.from_array(np.asarray(w, dtype), f"{n}{layer}")
             for layer, ws in enumerate(WEIGHTS) for n, w in zip("WRB", ws)]
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "merge_directions"))
    lens = "sequence_lens" if lengths else ""
    nodes = [
        helper.make_node("LSTM", ["X", "W0", "R0", "B0", lens, "initial_h", "initial_c"],
                         ["Y0", "Y_h0", "Y_c0"], hidden_size=H, direction="bidirectional"),
        helper.make_node("Transpose", ["Y0"], ["Y0_t"], perm=[0, 2, 1, 3]),  # (S, N, D, H)
        helper.make_node("Reshape", ["Y0_t", "merge_directions"], ["X1"]),  # (S, N, D*H)
        helper.make_node("LSTM", ["X1", "W1", "R1", "B1", lens], ["Y", "Y_h", "Y_c"],
                         hidden_size=H, direction="bidirectional"),
    ]
    value = helper.make_tensor_value_info
    inputs = [value("X", elem, ["S", "N", E])] + [value("sequence_lens", TensorProto.INT32, ["N"])] * lengths
    inputs += [value("initial_h", elem, [D, "N", H]), value("initial_c", elem, [D, "N", H])]
    outputs = [value("Y", elem, ["S", D, "N", H]), value("Y_h", elem, [D, "N", H]), value("Y_c", elem, [D, "N", H])]
    model = helper.make_model(helper.make_graph(nodes, "dynamic_bilstm", inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def parse(model):
    """TensorRT-RTX's network of `model` (strongly typed), and what must outlive it."""
    logger = CapturingLogger(trt)
    builder = trt.Builder(logger)
    network = trt_api.create_network(builder, strongly_typed=True)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model.SerializeToString()), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    return network, (builder, parser, logger)


@pytest.fixture(scope="module")
def parsed():
    model = lstm_model()
    network, keep = parse(model)
    yield model, network
    del keep


def feeds_at(S, N, dtype=np.float32):
    """Inputs at run shape (S, N): lengths ragged in [1, S] with the longest S present."""
    rng = np.random.default_rng([S, N])
    lengths = rng.integers(1, S + 1, N).astype(np.int32)
    lengths[N // 2] = S
    return {"X": rng.uniform(-1, 1, (S, N, E)).astype(dtype), "sequence_lens": lengths,
            "initial_h": rng.uniform(-0.5, 0.5, (D, N, H)).astype(dtype),
            "initial_c": rng.uniform(-0.5, 0.5, (D, N, H)).astype(dtype)}


def reference(feeds, dtype=np.float32):
    """Y, Y_h, Y_c of the two layers in float64 (`reference.onnx_rnn`) on `feeds` and the `dtype` weights."""
    x, lengths = np.asarray(feeds["X"], np.float64), feeds.get("sequence_lens")
    (W0, R0, B0), (W1, R1, B1) = ([np.asarray(w, dtype).astype(np.float64) for w in ws] for ws in WEIGHTS)
    Y0, _, _ = onnx_rnn("LSTM", x, W0, R0, B0, lengths, np.asarray(feeds["initial_h"], np.float64),
                        np.asarray(feeds["initial_c"], np.float64), hidden_size=H, direction="bidirectional")
    S, _, N, _ = Y0.shape
    return onnx_rnn("LSTM", Y0.transpose(0, 2, 1, 3).reshape(S, N, D * H), W1, R1, B1, lengths,
                    hidden_size=H, direction="bidirectional")


def test_the_parsed_network_is_dynamic(parsed):
    _model, network = parsed
    inputs = {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}
    assert inputs == {"X": (-1, -1, E), "sequence_lens": (-1,), "initial_h": (D, -1, H), "initial_c": (D, -1, H)}
    kinds = {network.get_layer(i).type.name for i in range(network.num_layers)}
    assert {"SHAPE", "TRIP_LIMIT", "ITERATOR", "LOOP_OUTPUT", "SELECT", "CAST"} <= kinds


@pytest.mark.parametrize("S, N", RUN_SHAPES, ids=[f"simulated-onnx-S{S}-N{N}" for S, N in RUN_SHAPES])
def test_one_dynamic_network_at_many_shapes_matches_onnxruntime_and_the_reference(parsed, S, N):
    model, network = parsed
    feeds = feeds_at(S, N)
    got = execute(network, feeds, rounding="none", profile=PROFILE)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    by_onnxruntime = session.run(["Y", "Y_h", "Y_c"], feeds)
    for name, ort_value, expected in zip(("Y", "Y_h", "Y_c"), by_onnxruntime, reference(feeds)):
        assert got[name].shape == expected.shape == ort_value.shape, name
        scale = max(1.0, np.abs(expected).max())
        np.testing.assert_allclose(got[name], expected, rtol=0, atol=TOLERANCE["float64"] * scale, err_msg=name)
        np.testing.assert_allclose(got[name], ort_value, rtol=0, atol=TOLERANCE["float32"] * scale, err_msg=name)
    for n, length in enumerate(feeds["sequence_lens"]):
        assert not np.any(got["Y"][length:, :, n]), f"Y of sequence {n} is not zero past its length {length}"


def test_float16_network_at_a_dynamic_shape_rounds_within_the_fp16_tolerance():
    """Without sequence_lens: TensorRT-RTX 1.7.1's parser refuses a float16 LSTM node that has them (its
    ISelectLayer gets a Half then-input and a Float else-input), static or dynamic."""
    network, keep = parse(lstm_model(np.float16, lengths=False))
    feeds = {name: value for name, value in feeds_at(9, 5, np.float16).items() if name != "sequence_lens"}
    profile = {name: dims for name, dims in PROFILE.items() if name != "sequence_lens"}
    typed = execute(network, feeds, profile=profile)
    exact = execute(network, feeds, rounding="none", profile=profile)
    for name, expected in zip(("Y", "Y_h", "Y_c"), reference(feeds, np.float16)):
        allowed = TOLERANCE["float16"] * max(1.0, np.abs(expected).max())
        error = np.abs(typed[name] - expected).max()
        assert error <= allowed, (name, error, allowed)
        assert np.all(typed[name] == np.float16(typed[name])), f"{name} holds values that are not float16"
        np.testing.assert_allclose(exact[name], expected, rtol=0, atol=1e-12, err_msg=name)
    assert max(np.abs(typed[n] - exact[n]).max() for n in ("Y", "Y_h", "Y_c")) > 2.0 ** -14  # it did round
    del keep


@pytest.mark.parametrize("path", ["loop", "drop-in", "onnx"], ids=lambda path: f"simulated-{path}")
def test_each_paths_dynamic_network_runs_at_every_run_shape_of_its_profile(path):
    """`build_network(..., dynamic=True)` (one network, its profile) executed at every run shape of the case."""
    net = build_network(DYNAMIC_CASE, path, dynamic=True)
    m = DYNAMIC_CASE.materialise()
    for batch_dims, S in run_shapes(DYNAMIC_CASE):
        at, data = case_at(DYNAMIC_CASE, batch_dims, S), materials_at(DYNAMIC_CASE, m, batch_dims, S)
        got = execute(net.network, export_feeds(at, data), rounding="none", profile=net.profile)
        for name, expected in zip(at.output_names, at.reference(data)):
            assert got[name].shape == expected.shape, (path, batch_dims, S, name)
            np.testing.assert_allclose(got[name], expected, rtol=0, atol=TOLERANCE["float64"] * max(1, np.abs(expected).max()),
                                       err_msg=f"{path} at batch {batch_dims}, S={S}: {name}")


# --- bad run shapes and profiles ---------------------------------------------------------------------

def fits(profile_change=None, **feed_change):
    return {**feeds_at(4, 3), **feed_change}, {**PROFILE, **(profile_change or {})}


@pytest.mark.parametrize("feeds, profile, message", [
    (*fits(X=np.zeros((4, 3, 2), np.float32)),
     "input 'X': fed dims (4, 3, 2) do not fit the network's dims (-1, -1, 3) "
     "(a -1 takes any extent, a fixed dim must be fed as it is)"),
    (*fits(initial_h=np.zeros((1, 3, H), np.float32)),
     "input 'initial_h': fed dims (1, 3, 4) do not fit the network's dims (2, -1, 4) "
     "(a -1 takes any extent, a fixed dim must be fed as it is)"),
    (*fits(X=np.zeros((3, E), np.float32)),
     "input 'X': fed dims (3, 3) do not fit the network's dims (-1, -1, 3) "
     "(a -1 takes any extent, a fixed dim must be fed as it is)"),
    (feeds_at(10, 3), PROFILE, "input 'X': run dims (10, 3, 3) outside the profile: min (1, 1, 3), max (9, 5, 3)"),
    (*fits({"X": ((5, 1, E), (6, 3, E), (9, 5, E))}),
     "input 'X': run dims (4, 3, 3) outside the profile: min (5, 1, 3), max (9, 5, 3)"),
    (*fits({"sequence_lens": ((1, 1), (3, 3), (5, 5))}),
     "profile input 'sequence_lens': rank 2 (min (1, 1)); the network's input is (-1,), rank 1"),
    (*fits({"X": ((1, 1, 4), (4, 3, 4), (9, 5, 4))}),
     "profile input 'X': dim 2 is fixed at 3 by the network ((-1, -1, 3)); the profile gives min (1, 1, 4), "
     "opt (4, 3, 4), max (9, 5, 4)"),
    (*fits({"X": ((1, 1, E), (10, 3, E), (9, 5, E))}),
     "profile input 'X': opt > max in some dim: min (1, 1, 3), opt (10, 3, 3), max (9, 5, 3)"),
    (*fits({"Y": ((1,), (1,), (1,))}),
     "profile input 'Y': the network has no such input; its inputs: X, sequence_lens, initial_h, initial_c"),
    (feeds_at(4, 3), {k: v for k, v in PROFILE.items() if k != "initial_c"},
     "input 'initial_c' has dynamic dims (2, -1, 4) and no entry in the profile"),
    (*fits({"X": ((1, 1, E), (4, 3, E))}),
     "profile input 'X': expected (min, opt, max) dims; got ((1, 1, 3), (4, 3, 3))"),
], ids=["fixed-dim", "fixed-leading-dim", "rank", "above-max", "below-min", "profile-rank", "profile-fixed-dim",
        "profile-opt-above-max", "profile-unknown-input", "profile-lacks-input", "profile-not-a-triple"])
def test_bad_run_shapes_are_refused_in_one_line(parsed, feeds, profile, message):
    _model, network = parsed
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        execute(network, feeds, profile=profile)


def test_an_optimization_profile_is_checked_like_a_mapping(parsed):
    _model, network = parsed
    profile = OptimizationProfile(tuple(PROFILE.items()))
    assert execute(network, feeds_at(9, 5), profile=profile)["Y"].shape == (9, D, 5, H)
    with pytest.raises(ValueError, match=re.escape("input 'X': run dims (9, 6, 3) outside the profile")):
        execute(network, feeds_at(9, 6), profile=profile)


# --- each layer kind of a dynamic network, by hand ---------------------------------------------------

class Net:
    """A hand-built network (strongly typed) and the arrays its constants read."""

    def __init__(self):
        self.builder = trt.Builder(CapturingLogger(trt))
        self.network = trt_api.create_network(self.builder, strongly_typed=True)
        self.keep = []

    def input(self, name, dtype, dims):
        return self.network.add_input(name, dtype, dims)

    def const(self, array):
        array = np.array(array, order="C")
        self.keep.append(array)
        return self.network.add_constant(array.shape, trt.Weights(array)).get_output(0)

    def shape32(self, tensor):
        """SHAPE of `tensor` cast to INT32, as the ONNX parser and the loop builder use it."""
        return self.network.add_cast(self.network.add_shape(tensor).get_output(0), trt.int32).get_output(0)

    def dim(self, tensor, axis):
        """Dim `axis` of `tensor` as a (1,) INT32 shape tensor."""
        return self.network.add_slice(self.shape32(tensor), (axis,), (1,), (1,)).get_output(0)

    def run(self, feeds, *tensors):
        """The values of `tensors` (marked as outputs) on `feeds`."""
        for tensor in tensors:
            self.network.mark_output(tensor)
        values = execute(self.network, feeds)
        return [values[tensor.name] for tensor in tensors]


def ew(net, a, b, op):
    return net.network.add_elementwise(a, b, getattr(trt.ElementWiseOperation, op)).get_output(0)


def test_shape_gives_the_fed_dims():
    net = Net()
    x = net.input("x", trt.float32, (-1, -1, 2))
    (dims,) = net.run({"x": np.zeros((3, 5, 2), np.float32)}, net.network.add_shape(x).get_output(0))
    assert dims.dtype == np.int64 and dims.tolist() == [3, 5, 2]


def test_shape_tensors_slice_gather_concatenate_cast_and_compute():
    net = Net()
    x = net.input("x", trt.float32, (-1, -1, 2))
    shape = net.shape32(x)
    gathered = net.network.add_gather(shape, net.const(np.array([2, 0], np.int32)), 0).get_output(0)
    joined = net.network.add_concatenation([net.dim(x, 0), net.const(np.array([4], np.int32))]).get_output(0)
    as_float = net.network.add_cast(shape, trt.float32).get_output(0)
    halved = ew(net, as_float, net.const(np.array([0.5], np.float32)), "PROD")
    back = net.network.add_cast(ew(net, as_float, net.const(np.array([2.0], np.float32)), "PROD"), trt.int32).get_output(0)
    minus_one = ew(net, shape, net.const(np.array([1], np.int32)), "SUB")
    floor_half = ew(net, shape, net.const(np.array([2], np.int32)), "FLOOR_DIV")
    less = ew(net, shape, net.const(np.array([4], np.int32)), "LESS")
    volume = net.network.add_reduce(shape, trt.ReduceOperation.PROD, 1, False).get_output(0)
    total = net.network.add_reduce(shape, trt.ReduceOperation.SUM, 1, True).get_output(0)
    got = net.run({"x": np.zeros((3, 5, 2), np.float32)}, gathered, joined, halved, back, minus_one, floor_half,
                  less, volume, total)
    expected = [[2, 3], [3, 4], [1.5, 2.5, 1.0], [6, 10, 4], [2, 4, 1], [1, 2, 1], [True, False, True], 30, [10]]
    for value, want in zip(got, expected):
        np.testing.assert_array_equal(value, want)
    assert [v.dtype for v in got] == [np.int32, np.int32, np.float64, np.int32, np.int32, np.int32, np.bool_, np.int32,
                                      np.int32]


def test_fill_linspace_of_a_run_time_shape_and_a_constant_fill():
    net = Net()
    x = net.input("x", trt.float32, (-1, -1))
    steps = net.network.add_fill((1,), trt.FillOperation.LINSPACE, trt.int32)
    steps.set_input(0, net.dim(x, 1))  # 0, 1, ..., S-1: the step positions a length mask compares with
    steps.set_input(1, net.const(np.array(0, np.int32)))
    steps.set_input(2, net.const(np.array([1], np.int32)))
    grid = net.network.add_fill((1, 1), trt.FillOperation.LINSPACE, trt.float32)
    grid.set_input(0, net.shape32(x))
    grid.set_input(1, net.const(np.array(2.0, np.float32)))
    grid.set_input(2, net.const(np.array([10.0, 1.0], np.float32)))
    sevens = net.network.add_fill((1, 1), trt.FillOperation.LINSPACE, trt.float32)
    sevens.set_input(0, net.network.add_concatenation([net.dim(x, 0), net.const(np.array([4], np.int32))]).get_output(0))
    sevens.alpha, sevens.beta = 7.0, 0.0  # a constant fill: 7 everywhere
    got = net.run({"x": np.zeros((2, 3), np.float32)}, *(f.get_output(0) for f in (steps, grid, sevens)))
    np.testing.assert_array_equal(got[0], [0, 1, 2])
    np.testing.assert_array_equal(got[1], [[2, 3, 4], [12, 13, 14]])
    np.testing.assert_array_equal(got[2], np.full((2, 4), 7.0))


def test_shuffle_with_run_time_reshape_dims():
    net = Net()
    x = net.input("x", trt.float32, (-1, -1, 2))
    flat = net.network.add_shuffle(x)
    flat.set_input(1, net.network.add_concatenation([net.dim(x, 0), net.const(np.array([-1], np.int32))]).get_output(0))
    placeholder = net.network.add_shuffle(x)
    placeholder.set_input(1, net.const(np.array([0, -1], np.int32)))  # 0 copies the fed dim 0
    x_fed = np.arange(30, dtype=np.float32).reshape(3, 5, 2)
    got = net.run({"x": x_fed}, flat.get_output(0), placeholder.get_output(0))
    assert got[0].shape == got[1].shape == (3, 10)
    np.testing.assert_array_equal(got[0], [list(range(10)), list(range(10, 20)), list(range(20, 30))])
    np.testing.assert_array_equal(got[1], got[0])


def test_slice_with_run_time_start_size_and_stride_and_a_stride_zero_broadcast():
    net = Net()
    x = net.input("x", trt.float32, (-1,))
    layer = net.network.add_slice(x, (0,), (1,), (1,))
    layer.set_input(1, net.const(np.array([1], np.int32)))
    layer.set_input(2, ew(net, net.dim(x, 0), net.const(np.array([2], np.int32)), "FLOOR_DIV"))  # size N // 2
    layer.set_input(3, net.const(np.array([2], np.int32)))
    rows = net.network.add_slice(net.const(np.array([[7.0, 9.0]], np.float32)), (0, 0), (1, 1), (0, 1))
    rows.set_input(2, net.network.add_concatenation([net.dim(x, 0), net.const(np.array([2], np.int32))]).get_output(0))
    got = net.run({"x": np.arange(10, dtype=np.float32)}, layer.get_output(0), rows.get_output(0))
    np.testing.assert_array_equal(got[0], [1, 3, 5, 7, 9])  # start 1, size 10 // 2, stride 2
    np.testing.assert_array_equal(got[1], [[7, 9]] * 10)  # a (1, 2) row read N times: stride 0


def running_sum_loop(net, x, reverse):
    """A loop over dim 0 of `x` (N, 2) whose trip count is that dim, read at run time: running sums, in
    iteration order (CONCATENATE), reversed (REVERSE), and the last (LAST_VALUE)."""
    loop = net.network.add_loop()
    trip = net.network.add_shuffle(net.dim(x, 0))
    trip.reshape_dims = ()
    trip = trip.get_output(0)
    loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    row = loop.add_iterator(x, 0, reverse).get_output(0)
    total = loop.add_recurrence(net.const(np.zeros(2, np.float32)))
    summed = ew(net, total.get_output(0), row, "SUM")
    total.set_input(1, summed)
    outputs = []
    for kind in (trt.LoopOutput.CONCATENATE, trt.LoopOutput.REVERSE):
        out = loop.add_loop_output(summed, kind, 0)
        out.set_input(1, trip)
        outputs.append(out.get_output(0))
    outputs.append(loop.add_loop_output(total.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0))
    return outputs


@pytest.mark.parametrize("reverse", [False, True], ids=["simulated-forward", "simulated-reverse"])
def test_trip_count_iterator_and_loop_outputs_follow_the_run_shape(reverse):
    net = Net()
    x = net.input("x", trt.float32, (-1, 2))
    outputs = running_sum_loop(net, x, reverse)
    for tensor in outputs:
        net.network.mark_output(tensor)
    fed = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.float32)
    # running sums in iteration order; reversed, iteration i reads row N-1-i
    sums = [[7, 8], [12, 14], [15, 18], [16, 20]] if reverse else [[1, 2], [4, 6], [9, 12], [16, 20]]
    got = [execute(net.network, {"x": fed})[t.name] for t in outputs]
    np.testing.assert_array_equal(got[0], sums)
    np.testing.assert_array_equal(got[1], sums[::-1])
    np.testing.assert_array_equal(got[2], [16, 20])
    one = [execute(net.network, {"x": fed[:1]})[t.name] for t in outputs]  # one iteration at N=1
    np.testing.assert_array_equal(one[0], [[1, 2]])
    np.testing.assert_array_equal(one[1], [[1, 2]])
    np.testing.assert_array_equal(one[2], [1, 2])


def test_select_masks_steps_past_each_length_at_run_time_dims():
    net = Net()
    x = net.input("x", trt.float32, (-1, -1))
    lengths = net.input("lengths", trt.int32, (-1,))
    steps = net.network.add_fill((1,), trt.FillOperation.LINSPACE, trt.int32)
    steps.set_input(0, net.dim(x, 1))
    steps.set_input(1, net.const(np.array(0, np.int32)))
    steps.set_input(2, net.const(np.array([1], np.int32)))
    row = net.network.add_shuffle(steps.get_output(0))
    row.reshape_dims = (1, -1)
    column = net.network.add_shuffle(lengths)
    column.reshape_dims = (-1, 1)
    live = ew(net, row.get_output(0), column.get_output(0), "LESS")  # (N, S): step t < length
    masked = net.network.add_select(live, x, net.const(np.zeros((1, 1), np.float32))).get_output(0)
    fed = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    (got,) = net.run({"x": fed, "lengths": np.array([2, 4, 1], np.int32)}, masked)
    np.testing.assert_array_equal(got, [[1, 2, 0, 0], [5, 6, 7, 8], [9, 0, 0, 0]])
