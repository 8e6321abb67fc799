"""The NumPy executor (`trt_cases.executor`) proven against parties that are not us.

- NVIDIA's ONNX parser (TensorRT-RTX's) turns each case's ONNX export into a network; the
  executor's simulation of it must match onnxruntime on the same model, at the float32 tolerance of
  `trt_cases.results.compare`, over `seeds`, `matrix`, `edge` and drawn cases.
- One-operator ONNX graphs reach the other layer types and options the parser emits (gather
  modes, slice modes, reductions, unary and activation functions, ...): again against onnxruntime.
- Options only the API reaches (MatrixOperation.VECTOR, a second transpose, reshape dims and slice
  strides as tensors) are built by hand and checked against onnxruntime on the equivalent graph.
- Loops (COUNT and WHILE limits, LAST_VALUE of a recurrence, CONCATENATE padding, an iterator on
  axis 1, an LSTM with dynamic shapes) against the outputs NVIDIA's TensorRT cookbook recorded on a
  GPU: NVIDIA/trt-samples-for-hackathon-cn, cookbook/02-API/Layer/LoopStructure/log-main.py.log.
- What the executor does not cover fails loudly, naming the layer, its type and the option.
"""

import numpy as np
import pytest
from hypothesis import given, settings

from trt_cases.networks import trt_api
from trt_cases.cases.precision import TOLERANCE
from trt_cases.results.compare import compare
from trt_cases.networks.build import build_network
from trt_cases.cases.sets import named
from trt_cases.cases.strategies import cases

pytestmark = pytest.mark.trt_build
RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("onnx"), allow_module_level=True)
onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trt_cases.networks.trt_api import CapturingLogger  # noqa: E402
from trt_cases.executor import CLASSES, execute  # noqa: E402
from trt_cases.runners.onnx_runners import run_onnxruntime  # noqa: E402

trt = RT.module
SET_CASES = [case for name in ("seeds", "matrix", "edge") for case in named(name)]
F, I64, I32, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL
ELEM = {np.dtype(np.float32): F, np.dtype(np.int64): I64, np.dtype(np.int32): I32, np.dtype(np.bool_): B}


def simulate(case, path):
    """The executor's outputs for `case`'s network on `path`, as an IRNNv2-layout tuple."""
    net = build_network(case, path)
    values = execute(net.network, net.feeds)
    return tuple(values[name] for name in case.output_names)


def check_against_onnxruntime(case):
    result = compare(case, run_onnxruntime(case), simulate(case, "onnx"), "simulated-onnx", "float32")
    assert result, result.message().replace("with the reference", "with onnxruntime")


@pytest.mark.parametrize("case", SET_CASES, ids=lambda case: f"simulated-onnx-{case.id}")
def test_parsed_networks_match_onnxruntime(case):
    check_against_onnxruntime(case)


@settings(max_examples=settings.default.max_examples)
@given(case=cases())
def test_parsed_networks_of_drawn_cases_match_onnxruntime(case):
    try:
        check_against_onnxruntime(case)
    except AssertionError as exc:
        exc.add_note(f"reproduce: python -m trt_cases trace {case.id} --path loop; case {case.to_json()}")
        raise


# --- one ONNX operator at a time: the parser picks the layers, onnxruntime gives the numbers -------

RNG = np.random.default_rng(5)
X = RNG.standard_normal((2, 3, 4)).astype(np.float32)
MASKS = RNG.random((2, 3, 4)) > 0.5, RNG.random((2, 3, 4)) > 0.5


def normal(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def node(op_type, inputs, **attributes):
    return helper.make_node(op_type, inputs, ["y"], **attributes)


def i64(*values):
    return np.array(values, dtype=np.int64)


# id -> (nodes, graph inputs, initializers, opset); the graph's output is "y".
ONNX_OPS = {
    "Gather-DEFAULT": ([node("Gather", ["x", "i"], axis=1)], {"x": X}, {"i": np.array([[2, 0], [1, 1]], np.int64)}),
    "GatherElements-ELEMENT": ([node("GatherElements", ["x", "i"], axis=2)], {"x": X},
                               {"i": RNG.integers(0, 4, (2, 3, 2)).astype(np.int64)}),
    "GatherND-ND-batch1": ([node("GatherND", ["x", "i"], batch_dims=1)], {"x": X},
                           {"i": np.array([[[1, 2], [0, 3]], [[2, 2], [1, 0]]], np.int64)}),
    "Slice-negative-steps": ([node("Slice", ["x", "s", "e", "a", "st"])], {"x": X},
                             {"s": i64(3, 0), "e": i64(-10, 3), "a": i64(2, 1), "st": i64(-2, 2)}),
    "Transpose-Reshape-0-and-minus-1": ([helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
                                         node("Reshape", ["t", "s"])], {"x": X}, {"s": i64(0, -1)}),
    "Reshape-allowzero": ([node("Reshape", ["x", "s"], allowzero=1)], {"x": X}, {"s": i64(4, 6)}),
    "Flatten": ([node("Flatten", ["x"], axis=2)], {"x": X}, {}),
    "Where": ([node("Where", ["c", "x", "z"])], {"x": X, "c": MASKS[0][0, :, :1]}, {"z": np.zeros((1, 4), np.float32)}),
    "Cast-int32": ([node("Cast", ["x"], to=I32)], {"x": np.array([1.0, -2.0, 3.0], np.float32)}, {}),
    "Unsqueeze-Squeeze": ([helper.make_node("Unsqueeze", ["x", "a"], ["u"]), node("Squeeze", ["u", "b"])],
                          {"x": X}, {"a": i64(0, -1), "b": i64(0)}),
    "ReduceSum": ([node("ReduceSum", ["x", "a"], keepdims=0)], {"x": X}, {"a": i64(0, 2)}),
    "MatMul-broadcast": ([node("MatMul", ["x", "w"])], {"x": X}, {"w": normal(1, 4, 5)}),
    "MatMul-vector-right": ([node("MatMul", ["x", "w"])], {"x": X}, {"w": normal(4)}),
    "MatMul-vector-left": ([node("MatMul", ["w", "x"])], {"x": X[0]}, {"w": normal(3)}),
    "Gemm-transposed": ([node("Gemm", ["a", "w", "c"], transA=1, transB=1, alpha=0.5, beta=2.0)],
                        {"a": normal(4, 3)}, {"w": normal(5, 4), "c": normal(5)}),
    "Range-int64": ([node("Range", ["s", "l", "d"])], {"s": np.array(2, np.int64)},
                    {"l": np.array(11, np.int64), "d": np.array(3, np.int64)}),
    "Expand": ([node("Expand", ["x", "s"])], {"x": X[:, :1]}, {"s": i64(2, 3, 4)}),
    "Tile": ([node("Tile", ["x", "r"])], {"x": X}, {"r": i64(1, 2, 3)}),
    "Pad-reflect": ([node("Pad", ["x", "p"], mode="reflect")], {"x": X}, {"p": i64(0, 1, 2, 0, 2, 3)}),
    "Pad-edge": ([node("Pad", ["x", "p"], mode="edge")], {"x": X}, {"p": i64(0, 1, 2, 0, 2, 3)}),
    "Pad-constant": ([node("Pad", ["x", "p", "v"], mode="constant")], {"x": X},
                     {"p": i64(0, 1, 2, 0, 2, 3), "v": np.array(1.5, np.float32)}),
    "Pad-wrap": ([node("Pad", ["x", "p"], mode="wrap")], {"x": X}, {"p": i64(0, 1, 2, 0, 2, 3)}, 19),
    "Concat": ([node("Concat", ["x", "x"], axis=-1)], {"x": X}, {}),
    "Shape": ([node("Shape", ["x"])], {"x": X}, {}),
    "Identity": ([node("Identity", ["x"])], {"x": X}, {}),
    "Not": ([node("Not", ["a"])], {"a": MASKS[0]}, {}),
    "Clip": ([node("Clip", ["x", "lo", "hi"])], {"x": X},
             {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}),
    "Gelu-erf": ([node("Gelu", ["x"])], {"x": X}, {}, 20),
    "Gelu-tanh": ([node("Gelu", ["x"], approximate="tanh")], {"x": X}, {}, 20),
}
for _op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"):
    ONNX_OPS[_op] = ([node(_op, ["x"], axes=[1], keepdims=1)], {"x": X}, {})
for _op in ("Div", "Pow", "Max", "Min", "Sub", "Mul", "Add"):
    ONNX_OPS[_op] = ([node(_op, ["x", "w"])], {"x": np.abs(X) + 0.5}, {"w": np.abs(normal(3, 1)) + 0.5})
for _op in ("Equal", "Greater", "Less"):
    ONNX_OPS[_op] = ([node(_op, ["x", "w"])], {"x": np.round(X)}, {"w": np.zeros((1, 4), np.float32)})
for _op in ("And", "Or", "Xor"):
    ONNX_OPS[_op] = ([node(_op, ["a", "b"])], {"a": MASKS[0], "b": MASKS[1]}, {})
for _op in ("Abs", "Neg", "Exp", "Log", "Sqrt", "Sin", "Cos", "Tan", "Sinh", "Cosh", "Atan", "Asinh", "Floor", "Ceil",
            "Erf", "Sign", "Round", "Reciprocal", "IsNaN", "IsInf"):
    ONNX_OPS[_op] = ([node(_op, ["x"])], {"x": np.abs(X) + np.float32(0.1) if _op in ("Log", "Sqrt") else 2 * X}, {})
for _op, _attributes in (("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", {"alpha": 0.2}),
                         ("Elu", {"alpha": 0.7}), ("Selu", {"alpha": 1.5, "gamma": 1.2}), ("Softsign", {}),
                         ("Softplus", {}), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
                         ("ThresholdedRelu", {"alpha": 0.3})):
    ONNX_OPS[_op] = ([node(_op, ["x"], **_attributes)], {"x": 3 * X}, {})


def onnx_model(nodes, inputs, initializers, opset=17):
    graph_inputs = [helper.make_tensor_value_info(n, ELEM[v.dtype], v.shape) for n, v in inputs.items()]
    output = helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)  # typed by shape inference below
    graph = helper.make_graph(nodes, "one-op", graph_inputs, [output],
                              initializer=[numpy_helper.from_array(v, n) for n, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)  # types the output for the parser


def parse(model):
    """The network TensorRT's ONNX parser builds for `model` (and the objects that keep it alive)."""
    logger = CapturingLogger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model.SerializeToString()), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    return network, (builder, parser, logger)


def onnxruntime_run(model, inputs):
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


def assert_close(observed, expected, what):
    """Exact for integers and bools; the float32 tolerance of `trt_cases.results.compare` for floats."""
    assert observed.shape == expected.shape, f"{what}: shape {observed.shape}, onnxruntime {expected.shape}"
    if expected.dtype.kind in "biu":
        assert observed.dtype.kind == expected.dtype.kind, f"{what}: {observed.dtype}, onnxruntime {expected.dtype}"
        assert np.array_equal(observed, expected), f"{what}: {observed} != {expected}"
        return
    allowed = TOLERANCE["float32"] * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    assert np.max(np.abs(observed - expected), initial=0.0) <= allowed, f"{what}: {observed} vs onnxruntime {expected}"


@pytest.mark.parametrize("name", list(ONNX_OPS), ids=lambda name: f"simulated-onnx-{name}")
def test_one_operator_networks_match_onnxruntime(name):
    model = onnx_model(*ONNX_OPS[name])
    network, _alive = parse(model)
    assert_close(execute(network, ONNX_OPS[name][1])["y"], onnxruntime_run(model, ONNX_OPS[name][1]), name)


# --- the same one-operator graphs in float16: the executor's typed rounding against onnxruntime's ---------

F16 = TensorProto.FLOAT16
ELEM[np.dtype(np.float16)] = F16
FP16_UNSUPPORTED = {"IsInf": "onnxruntime's IsInf has no float16 kernel (the model fails type checking)"}
# The parser decomposes Gemm into a matrix multiply, a scale by alpha, a scale by beta and a sum, each an fp16
# tensor that an fp16 engine rounds; onnxruntime rounds once. Their results may differ by a few units in the last place.
FP16_ROUNDED_STEPS = {"Gemm-transposed": 4}
FP16_OPS = [name for name, spec in ONNX_OPS.items()
            if name not in FP16_UNSUPPORTED and any(v.dtype == np.float32 for d in spec[1:3] for v in d.values())]


def in_float16(arrays):
    return {name: v.astype(np.float16) if v.dtype == np.float32 else v for name, v in arrays.items()}


def float16_case(name):
    """The fp16 graph of ONNX_OPS[name], its network parsed by TensorRT, and onnxruntime's float16 output."""
    nodes, inputs, initializers, *opset = ONNX_OPS[name]
    model = onnx_model(nodes, in_float16(inputs), in_float16(initializers), *opset)
    network, alive = parse(model)
    return network, alive, in_float16(inputs), onnxruntime_run(model, in_float16(inputs))


def ulps_apart(observed, expected):
    """|observed - expected| in units of the float16 spacing at `expected` (0 where both are the same non-finite)."""
    spacing = np.spacing(np.abs(expected).astype(np.float16)).astype(np.float64)
    same = (observed == expected) | (np.isnan(observed) & np.isnan(expected))
    return np.where(same, 0.0, np.abs(observed - expected.astype(np.float64)) / spacing)


@pytest.mark.parametrize("name", FP16_OPS, ids=lambda name: f"simulated-onnx-fp16-{name}")
def test_one_operator_float16_networks_round_as_onnxruntime_does(name):
    network, _alive, feeds, expected = float16_case(name)
    observed = execute(network, feeds)["y"]
    if expected.dtype != np.float16:  # Shape, Cast, comparisons: integers and bools, exact
        assert_close(observed, expected, name)
        return
    assert network.get_output(0).dtype == trt.DataType.HALF
    assert np.array_equal(observed, observed.astype(np.float16).astype(np.float64), equal_nan=True), \
        f"{name}: values off the float16 grid"
    worst = float(np.max(ulps_apart(observed, expected), initial=0.0))
    assert worst <= FP16_ROUNDED_STEPS.get(name, 0), f"{name}: {worst} float16 ulps from onnxruntime"


def test_without_rounding_the_float16_networks_do_not_match_onnxruntime():
    """The control: the same float16 networks in exact float64 miss onnxruntime's float16 results."""
    off_grid = []
    for name in FP16_OPS:
        network, _alive, feeds, expected = float16_case(name)
        if expected.dtype == np.float16:
            exact = execute(network, feeds, rounding="none")["y"]
            if float(np.max(ulps_apart(exact, expected), initial=0.0)) > 0:
                off_grid.append(name)
    assert {"Add", "Mul", "Div", "MatMul-broadcast", "Exp", "Tanh", "Sigmoid", "ReduceSum"} <= set(off_grid), off_grid


# --- options only the network API reaches, against onnxruntime on the equivalent graph -------------

def network():
    builder = trt.Builder(CapturingLogger(trt))
    return builder.create_network(0), builder


def constant(net, array):
    """A constant layer's output, and the array TensorRT reads it from (to keep alive)."""
    array = np.array(array, order="C")  # a copy that keeps 0-d shapes (ascontiguousarray makes them 1-d)
    return net.add_constant(array.shape, trt.Weights(array)).get_output(0), array


@pytest.mark.parametrize("ops, equation", [
    (("NONE", "VECTOR"), "bmk,bk->bm"), (("VECTOR", "NONE"), "bm,bmn->bn"),
    (("VECTOR", "VECTOR"), "bk,bk->b"), (("TRANSPOSE", "VECTOR"), "bkm,bk->bm"),
], ids=lambda v: "simulated-" + ("-".join(v) if isinstance(v, tuple) else v))
def test_matrix_multiply_vector_operations_match_einsum_in_onnxruntime(ops, equation):
    shapes = {"bmk,bk->bm": ((2, 3, 4), (2, 4)), "bm,bmn->bn": ((2, 3), (2, 3, 4)),
              "bk,bk->b": ((2, 4), (2, 4)), "bkm,bk->bm": ((2, 4, 3), (2, 4))}[equation]
    a, b = (RNG.standard_normal(shape).astype(np.float32) for shape in shapes)
    net, _builder = network()
    x = net.add_input("a", trt.float32, a.shape)
    w, _keep = constant(net, b)
    op0, op1 = (getattr(trt.MatrixOperation, op) for op in ops)
    out = net.add_matrix_multiply(x, op0, w, op1).get_output(0)
    net.mark_output(out)
    model = onnx_model([node("Einsum", ["a", "b"], equation=equation)], {"a": a}, {"b": b}, 12)
    assert_close(execute(net, {"a": a})[out.name], onnxruntime_run(model, {"a": a}), equation)


def test_shuffle_with_dynamic_reshape_and_second_transpose_matches_onnxruntime():
    net, _builder = network()
    x = net.add_input("x", trt.float32, X.shape)
    dims, _keep = constant(net, np.array([4, 0, 3], dtype=np.int32))
    shuffle = net.add_shuffle(x)
    shuffle.first_transpose = (2, 0, 1)
    shuffle.set_input(1, dims)  # reshape dims as a tensor; 0 copies the first-transposed input's dim 1
    shuffle.second_transpose = (1, 2, 0)
    net.mark_output(shuffle.get_output(0))
    model = onnx_model([helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
                        helper.make_node("Reshape", ["t", "s"], ["r"]), node("Transpose", ["r"], perm=[1, 2, 0])],
                       {"x": X}, {"s": i64(4, 2, 3)})
    assert_close(execute(net, {"x": X})[shuffle.get_output(0).name], onnxruntime_run(model, {"x": X}), "shuffle")


def test_slice_with_stride_and_start_tensors_matches_onnxruntime():
    net, _builder = network()
    x = net.add_input("x", trt.float32, X.shape)
    layer = net.add_slice(x, (0, 0, 0), (2, 2, 2), (1, 1, 1))
    start, _k1 = constant(net, np.array([1, 2, 3], dtype=np.int32))
    stride, _k2 = constant(net, np.array([-1, -2, -2], dtype=np.int32))
    layer.set_input(1, start)
    layer.set_input(3, stride)
    net.mark_output(layer.get_output(0))
    model = onnx_model([node("Slice", ["x", "s", "e", "a", "st"])], {"x": X},
                       {"s": i64(1, 2, 3), "e": i64(-10, -10, 0), "a": i64(0, 1, 2), "st": i64(-1, -2, -2)})
    assert_close(execute(net, {"x": X})[layer.get_output(0).name], onnxruntime_run(model, {"x": X}), "slice")


# --- loops, against the outputs NVIDIA's cookbook recorded with TensorRT on a GPU -------------------

def cookbook_for_loop(net):
    """case_for: a recurrence doubled t=5 times; LAST_VALUE of it, CONCATENATE of the body to v=6."""
    tensor = net.add_input("tensor", trt.float32, (1, 2, 3, 4))
    loop = net.add_loop()
    t, _k1 = constant(net, np.array(5, dtype=np.int32))
    loop.add_trip_limit(t, trt.TripLimit.COUNT)
    recurrence = loop.add_recurrence(tensor)
    body = net.add_elementwise(recurrence.get_output(0), recurrence.get_output(0), trt.ElementWiseOperation.SUM)
    body.get_output(0).name = "body"
    recurrence.set_input(1, body.get_output(0))
    last = loop.add_loop_output(recurrence.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    every = loop.add_loop_output(body.get_output(0), trt.LoopOutput.CONCATENATE, 0)
    v, _k2 = constant(net, np.array(6, dtype=np.int32))
    every.set_input(1, v)
    return [last.get_output(0), every.get_output(0)], [_k1, _k2]


def cookbook_while_loop(net):
    """case_while: double while the first element is below 32 (ReLU(32 - x) cast to bool); v=6."""
    tensor = net.add_input("tensor", trt.float32, (1, 2, 3, 4))
    loop = net.add_loop()
    recurrence = loop.add_recurrence(tensor)
    threshold, _k1 = constant(net, np.array(32, dtype=np.float32))
    flat = net.add_shuffle(recurrence.get_output(0))
    flat.reshape_dims = [-1]
    first = net.add_slice(flat.get_output(0), [0], [1], [1])
    scalar = net.add_shuffle(first.get_output(0))
    scalar.reshape_dims = []
    gap = net.add_elementwise(threshold, scalar.get_output(0), trt.ElementWiseOperation.SUB)
    relu = net.add_activation(gap.get_output(0), trt.ActivationType.RELU)
    loop.add_trip_limit(net.add_cast(relu.get_output(0), trt.bool).get_output(0), trt.TripLimit.WHILE)
    body = net.add_elementwise(recurrence.get_output(0), recurrence.get_output(0), trt.ElementWiseOperation.SUM)
    recurrence.set_input(1, body.get_output(0))
    last = loop.add_loop_output(recurrence.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    every = loop.add_loop_output(recurrence.get_output(0), trt.LoopOutput.CONCATENATE, 0)
    v, _k2 = constant(net, np.array(6, dtype=np.int32))
    every.set_input(1, v)
    return [last.get_output(0), every.get_output(0)], [_k1, _k2]


def cookbook_iterator_loop(net):
    """case_iterator: ones(1,3,4) plus each slice of the input along axis 1, for t = 2 slices."""
    tensor = net.add_input("tensor", trt.float32, (1, 2, 3, 4))
    loop = net.add_loop()
    iterator = loop.add_iterator(tensor, 1, False)
    t, _k1 = constant(net, np.array(2, dtype=np.int32))
    loop.add_trip_limit(t, trt.TripLimit.COUNT)
    initial, _k2 = constant(net, np.ones((1, 3, 4), dtype=np.float32))
    recurrence = loop.add_recurrence(initial)
    body = net.add_elementwise(recurrence.get_output(0), iterator.get_output(0), trt.ElementWiseOperation.SUM)
    recurrence.set_input(1, body.get_output(0))
    last = loop.add_loop_output(recurrence.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    every = loop.add_loop_output(body.get_output(0), trt.LoopOutput.CONCATENATE, 0)
    every.set_input(1, t)
    return [last.get_output(0), every.get_output(0)], [_k1, _k2]


def cookbook_lstm(net):
    """case_unidirectional_lstm: dynamic shapes, trip count from the input's shape, every weight ones."""
    n_ih, n_h = 7, 5
    x = net.add_input("x", trt.float32, (-1, -1, n_ih))
    h0 = net.add_input("h0", trt.float32, (-1, n_h))
    c0 = net.add_input("c0", trt.float32, (-1, n_h))
    keep = []

    def weights(array):
        tensor, kept = constant(net, array)
        keep.append(kept)
        return tensor

    loop = net.add_loop()
    length = net.add_shuffle(net.add_slice(net.add_shape(x).get_output(0), [1], [1], [1]).get_output(0))
    length.reshape_dims = ()
    loop.add_trip_limit(net.add_cast(length.get_output(0), trt.int32).get_output(0), trt.TripLimit.COUNT)
    x_t = loop.add_iterator(x, 1, False).get_output(0)
    hidden, cell = loop.add_recurrence(h0), loop.add_recurrence(c0)
    w_x, w_h = weights(np.ones((n_ih, n_h), np.float32)), weights(np.ones((n_h, n_h), np.float32))
    bias = weights(np.zeros((1, n_h), np.float32))

    def gate(kind):
        mm = trt.MatrixOperation.NONE
        a = net.add_matrix_multiply(x_t, mm, w_x, mm).get_output(0)
        b = net.add_matrix_multiply(hidden.get_output(0), mm, w_h, mm).get_output(0)
        pre = net.add_elementwise(net.add_elementwise(a, b, trt.ElementWiseOperation.SUM).get_output(0), bias,
                                  trt.ElementWiseOperation.SUM).get_output(0)
        return net.add_activation(pre, kind).get_output(0)

    i, f, g, o = (gate(kind) for kind in (trt.ActivationType.SIGMOID, trt.ActivationType.SIGMOID,
                                          trt.ActivationType.TANH, trt.ActivationType.SIGMOID))
    prod, add = trt.ElementWiseOperation.PROD, trt.ElementWiseOperation.SUM
    c1 = net.add_elementwise(net.add_elementwise(f, cell.get_output(0), prod).get_output(0),
                             net.add_elementwise(i, g, prod).get_output(0), add).get_output(0)
    h1 = net.add_elementwise(o, net.add_activation(c1, trt.ActivationType.TANH).get_output(0), prod).get_output(0)
    hidden.set_input(1, h1)
    cell.set_input(1, c1)
    y = loop.add_loop_output(hidden.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    every = loop.add_loop_output(h1, trt.LoopOutput.CONCATENATE, 1)
    every.set_input(1, length.get_output(0))
    c_last = loop.add_loop_output(cell.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    return [y.get_output(0), every.get_output(0), c_last.get_output(0)], keep


def stacked(values, shape):
    """Per-step values `values`, each broadcast to `shape`, stacked on a new first axis."""
    return np.stack([np.full(shape, v, dtype=np.float64) for v in values])


ONES = {"tensor": np.ones((1, 2, 3, 4), np.float32)}
LSTM_STEPS = (0.76158684, 0.96400476, 0.99504673, 0.99932283)  # h per step, from NVIDIA's log
COOKBOOK = {
    "for": (cookbook_for_loop, ONES, [np.full((1, 2, 3, 4), 32.0), stacked((2, 4, 8, 16, 32, 0), (1, 2, 3, 4))]),
    "while": (cookbook_while_loop, ONES, [np.full((1, 2, 3, 4), 32.0), stacked((1, 2, 4, 8, 16, 0), (1, 2, 3, 4))]),
    "iterator": (cookbook_iterator_loop, ONES, [np.full((1, 3, 4), 3.0), stacked((2, 3), (1, 3, 4))]),
    "lstm": (cookbook_lstm, {"x": np.ones((3, 4, 7), np.float32), "h0": np.ones((3, 5), np.float32),
                             "c0": np.zeros((3, 5), np.float32)},
             [np.full((3, 5), 0.99932283), stacked(LSTM_STEPS, (3, 5)).transpose(1, 0, 2), np.full((3, 5), 3.9999058)]),
}


@pytest.mark.parametrize("name", list(COOKBOOK), ids=lambda name: f"simulated-cookbook-{name}")
def test_loops_match_nvidia_cookbook_outputs(name):
    build, feeds, expected = COOKBOOK[name]
    net, _builder = network()
    outputs, _keep = build(net)
    for tensor in outputs:
        net.mark_output(tensor)
    values = execute(net, feeds)
    for tensor, want in zip(outputs, expected):
        # the log prints float32 results to 8 significant digits
        np.testing.assert_allclose(values[tensor.name], want, rtol=2e-7, atol=0, err_msg=f"{name}: {tensor.name}")


def test_keep_returns_loop_interior_tensors_stacked_over_iterations():
    net, _builder = network()
    outputs, _keep = cookbook_for_loop(net)
    net.mark_output(outputs[0])
    values = execute(net, ONES, keep=["body", "tensor"])
    np.testing.assert_array_equal(values["body"], stacked((2, 4, 8, 16, 32), (1, 2, 3, 4)))  # NVIDIA's log
    np.testing.assert_array_equal(values["tensor"], ONES["tensor"])
    assert set(execute(net, ONES, keep=lambda name: name == "body")) == {outputs[0].name, "body"}


def test_every_covered_layer_type_is_exercised_by_these_tests():
    seen = set()
    for path in ("loop", "drop-in", "onnx"):
        for case in (named("seeds")[1], named("seeds")[5]):
            n = build_network(case, path).network
            seen |= {n.get_layer(i).type.name for i in range(n.num_layers)}
    for name, spec in ONNX_OPS.items():
        n, _alive = parse(onnx_model(*spec))
        seen |= {n.get_layer(i).type.name for i in range(n.num_layers)}
    for build, _feeds, _expected in COOKBOOK.values():
        n, _builder = network()
        build(n)
        seen |= {n.get_layer(i).type.name for i in range(n.num_layers)}
    assert set(CLASSES) - seen == set(), f"layer types the executor covers but no test compares: {set(CLASSES) - seen}"


# --- what is not covered fails loudly ----------------------------------------------------------------

def test_an_uncovered_layer_type_names_the_layer_and_its_type():
    net, _builder = network()
    x = net.add_input("x", trt.float32, (2, 3))
    softmax = net.add_softmax(x)
    softmax.name = "my softmax"
    net.mark_output(softmax.get_output(0))
    match = r"layer 'my softmax' \(index 0\) has type SOFTMAX, which the executor does not cover"
    with pytest.raises(NotImplementedError, match=match):
        execute(net, {"x": np.zeros((2, 3), np.float32)})


def test_an_uncovered_option_names_the_layer_its_type_and_the_option():
    net, _builder = network()
    fill = net.add_fill((2, 3), trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    fill.name = "noise"
    net.mark_output(fill.get_output(0))
    match = r"layer 'noise' \(FILL\): fill operation RANDOM_UNIFORM .* is not covered"
    with pytest.raises(NotImplementedError, match=match):
        execute(net, {})


def test_integer_division_whose_rounding_direction_matters_is_refused():
    net, _builder = network()
    x = net.add_input("x", trt.int32, (3,))
    d, _keep = constant(net, np.array([2, 2, 2], dtype=np.int32))
    div = net.add_elementwise(x, d, trt.ElementWiseOperation.DIV)
    net.mark_output(div.get_output(0))
    np.testing.assert_array_equal(execute(net, {"x": np.array([6, 7, 0], np.int32)})[div.get_output(0).name], [3, 3, 0])
    match = r"\(ELEMENTWISE\): integer DIV with a remainder and operands of opposite signs"
    with pytest.raises(NotImplementedError, match=match):
        execute(net, {"x": np.array([-7, 4, 0], np.int32)})


@pytest.mark.parametrize("feeds, match", [
    ({}, r"feeds: missing inputs \['x'\], unknown names \[\]"),
    ({"x": np.zeros((2, 3), np.float32), "y": np.zeros(1)}, r"unknown names \['y'\]"),
    ({"x": np.zeros((3, 2), np.float32)}, r"input 'x': fed dims \(3, 2\) do not fit the network's dims \(2, 3\)"),
])
def test_bad_feeds_are_refused(feeds, match):
    net, _builder = network()
    net.mark_output(net.add_activation(net.add_input("x", trt.float32, (2, 3)), trt.ActivationType.RELU).get_output(0))
    with pytest.raises(ValueError, match=match):
        execute(net, feeds)


def test_keep_refuses_names_the_network_lacks():
    net, _builder = network()
    net.mark_output(net.add_activation(net.add_input("x", trt.float32, (2, 3)), trt.ActivationType.RELU).get_output(0))
    with pytest.raises(KeyError, match=r"keep names tensors the network does not have: \['nope'\]"):
        execute(net, {"x": np.zeros((2, 3), np.float32)}, keep=["nope"])
