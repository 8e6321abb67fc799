"""The executor's typed rounding (`execute(..., rounding="network")`) against implementations that are not ours.

- The rounding functions against an exact rational oracle (Python's `fractions`, round half to even),
  on float64 values that include the ones a float32 detour rounds wrongly (1 + 2**-8 + 2**-30 in
  bfloat16), ties, subnormals and overflow; and bfloat16 against torch on float32 values.
- Small HALF and BF16 networks built by hand (element-wise, unary, activation, cast, a BF16
  constant, a loop whose recurrence and outputs are half) against torch on the CPU doing the same
  operations in torch.float16 / torch.bfloat16, which rounds every result to the tensor's type.
- What the executor cannot emulate (FP8, INT8 tensors) is refused, naming the tensor and its type.
"""

import fractions
import math

import numpy as np
import pytest

from trt_cases.networks import trt_api
from trt_cases.executor.dtypes import to_bfloat16, to_float16, to_float32

# (mantissa bits, smallest normal exponent, largest exponent) of each type
FORMATS = {"float16": (10, -14, 15), "bfloat16": (7, -126, 127), "float32": (23, -126, 127)}
ROUND = {"float16": to_float16, "bfloat16": to_bfloat16, "float32": to_float32}


def exact_rounding(x: float, fmt: str) -> float:
    """`x` rounded to nearest, ties to even, in exact rational arithmetic; inf past the largest finite value."""
    bits, emin, emax = FORMATS[fmt]
    if x == 0 or not math.isfinite(x):
        return x
    exponent = max(math.frexp(x)[1] - 1, emin) - bits  # the exponent of one unit in the last place
    step = fractions.Fraction(2) ** exponent
    rounded = round(fractions.Fraction(x) / step) * step  # round() of a Fraction rounds half to even
    if abs(rounded) >= fractions.Fraction(2) ** (emax + 1):
        return math.copysign(math.inf, x)
    return math.copysign(float(rounded), x) if rounded == 0 else float(rounded)


def hard_values(fmt):
    """Ties, ties nudged by less than a float32 unit (double rounding), subnormals, overflow, random values."""
    bits, emin, emax = FORMATS[fmt]
    rng = np.random.default_rng(3)
    one_ulp = 2.0 ** -bits
    tie = 1 + one_ulp / 2
    values = [tie, -tie, 1 + 1.5 * one_ulp, tie + 2 ** -30, tie - 2 ** -30, 3 * tie + 2 ** -40,
              2.0 ** (emin - 1) * (1 + one_ulp / 2 + 2 ** -40), 2.0 ** (emin - bits - 1), 2.0 ** (emin - bits - 2),
              2.0 ** emax * (2 - one_ulp / 2), 2.0 ** emax * (2 - one_ulp / 2) * (1 - 2 ** -40),
              1e300, -1e300, 0.0, -0.0]
    values += list(rng.standard_normal(2000) * 10.0 ** rng.integers(-8, 8, 2000))
    values += list(rng.uniform(-1, 1, 500) * 2.0 ** emin)  # subnormals of the type
    return np.array(values, dtype=np.float64)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_rounding_is_exact_round_half_to_even_from_float64(fmt):
    values = hard_values(fmt)
    expected = np.array([exact_rounding(float(v), fmt) for v in values])
    observed = ROUND[fmt](values)
    wrong = np.flatnonzero((observed != expected) | (np.signbit(observed) != np.signbit(expected)))
    assert wrong.size == 0, [(values[i], observed[i], expected[i]) for i in wrong[:5]]


def test_bfloat16_rounding_keeps_nan_and_infinities():
    observed = to_bfloat16(np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(observed[0]) and observed[1] == np.inf and observed[2] == -np.inf


torch = pytest.importorskip("torch")


def test_bfloat16_rounding_of_float32_values_matches_torch():
    rng = np.random.default_rng(4)
    values = (rng.standard_normal(100_000) * 10.0 ** rng.integers(-30, 30, 100_000)).astype(np.float32)
    expected = torch.from_numpy(values).to(torch.bfloat16).to(torch.float64).numpy()
    np.testing.assert_array_equal(to_bfloat16(values.astype(np.float64)), expected)


# --- hand-built HALF and BF16 networks against torch doing the same operations in that type ----------

RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)
trt = RT.module

from trt_cases.networks.trt_api import CapturingLogger  # noqa: E402
from trt_cases.executor import execute  # noqa: E402

TYPES = {"float16": (trt.DataType.HALF, torch.float16), "bfloat16": (trt.DataType.BF16, torch.bfloat16)}
RNG = np.random.default_rng(11)


def new_network():
    """An empty network (strongly typed where the installed TensorRT has the flag) and its builder."""
    builder = trt.Builder(CapturingLogger(trt))
    flags = trt_api.load().module.NetworkDefinitionCreationFlag
    strong = 1 << int(flags.STRONGLY_TYPED) if hasattr(flags, "STRONGLY_TYPED") else 0
    return builder.create_network(strong), builder


def typed_constant(net, values, fmt, keep):
    """A constant of type `fmt` holding `values` (already representable in it)."""
    values = np.asarray(values, dtype=np.float32)
    if fmt == "float16":
        array = values.astype(np.float16)
        keep.append(array)
        return net.add_constant(array.shape, trt.Weights(array)).get_output(0)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16 values: the top half of their float32 bits
    keep.append(bits)
    return net.add_constant(values.shape, trt.Weights(trt.DataType.BF16, bits.ctypes.data, bits.size)).get_output(0)


def representable(shape, fmt, scale=1.0):
    """Random float32 values that `fmt` holds exactly."""
    return torch.from_numpy(RNG.standard_normal(shape).astype(np.float32) * scale).to(TYPES[fmt][1]).float().numpy()


E, U, A = trt.ElementWiseOperation, trt.UnaryOperation, trt.ActivationType
# name -> (network step, torch step); arithmetic is correctly rounded in torch (float32 math for 16-bit
# operands, then one rounding: float32 has more than twice their bits, so the double rounding is harmless)
ARITHMETIC = {
    "x*w+b": (lambda n, x, w, b: n.add_elementwise(n.add_elementwise(x, w, E.PROD).get_output(0), b, E.SUM),
              lambda x, w, b: x * w + b),
    "(x-w)/b": (lambda n, x, w, b: n.add_elementwise(n.add_elementwise(x, w, E.SUB).get_output(0), b, E.DIV),
                lambda x, w, b: (x - w) / b),
    "max(x,w)*b": (lambda n, x, w, b: n.add_elementwise(n.add_elementwise(x, w, E.MAX).get_output(0), b, E.PROD),
                   lambda x, w, b: torch.maximum(x, w) * b),
    "sqrt(|x|)+w": (lambda n, x, w, b: n.add_elementwise(n.add_unary(n.add_unary(x, U.ABS).get_output(0),
                                                                      U.SQRT).get_output(0), w, E.SUM),
                    lambda x, w, b: torch.sqrt(torch.abs(x)) + w),
}
# transcendental functions: torch evaluates them in float32 and rounds, within one unit of the exact rounding
TRANSCENDENTAL = {
    "tanh(x*w)": (lambda n, x, w, b: n.add_activation(n.add_elementwise(x, w, E.PROD).get_output(0), A.TANH),
                  lambda x, w, b: torch.tanh(x * w)),
    "sigmoid(x)+b": (lambda n, x, w, b: n.add_elementwise(n.add_activation(x, A.SIGMOID).get_output(0), b, E.SUM),
                     lambda x, w, b: torch.sigmoid(x) + b),
    "exp(x)*w": (lambda n, x, w, b: n.add_elementwise(n.add_unary(x, U.EXP).get_output(0), w, E.PROD),
                 lambda x, w, b: torch.exp(x) * w),
}


def run_both(fmt, build, step, scale=1.0):
    """The network `build` makes, run by the executor, and `step` run by torch in `fmt`."""
    x, w, b = (representable((64, 32), fmt, scale) for _ in range(3))
    net, _builder = new_network()
    keep = []
    input_ = net.add_input("x", TYPES[fmt][0], x.shape)
    out = build(net, input_, typed_constant(net, w, fmt, keep), typed_constant(net, b, fmt, keep)).get_output(0)
    net.mark_output(out)
    assert out.dtype == TYPES[fmt][0], f"the network computes in {out.dtype}, not {fmt}"
    observed = execute(net, {"x": x})[out.name]
    with torch.no_grad():
        expected = step(*(torch.from_numpy(v).to(TYPES[fmt][1]) for v in (x, w, b))).double().numpy()
    exact = execute(net, {"x": x}, rounding="none")[out.name]
    return observed, expected, exact


def ulps(observed, expected, fmt):
    """|observed - expected| in units of `fmt`'s spacing at `expected`."""
    bits, emin, _ = FORMATS[fmt]
    exponent = np.floor(np.log2(np.maximum(np.abs(expected), 2.0 ** emin)))
    same = observed == expected
    return np.where(same, 0.0, np.abs(observed - expected) / 2.0 ** (exponent - bits))


@pytest.mark.parametrize("fmt", list(TYPES))
@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_arithmetic_in_half_networks_matches_torch_exactly(fmt, name):
    observed, expected, exact = run_both(fmt, *ARITHMETIC[name])
    np.testing.assert_array_equal(observed, expected, err_msg=f"{name} in {fmt}")
    assert not np.array_equal(exact, expected), f"{name}: without rounding it matches too; the test proves nothing"


@pytest.mark.parametrize("fmt", list(TYPES))
@pytest.mark.parametrize("name", list(TRANSCENDENTAL))
def test_transcendental_functions_in_half_networks_are_within_one_unit_of_torch(fmt, name):
    observed, expected, exact = run_both(fmt, *TRANSCENDENTAL[name])
    assert np.max(ulps(observed, expected, fmt)) <= 1, f"{name} in {fmt}"
    assert np.mean(observed == expected) > 0.95, f"{name} in {fmt}: torch and the executor agree too rarely"
    assert np.mean(exact == expected) < 0.5, f"{name}: without rounding it matches too; the test proves nothing"


def test_float16_overflow_is_infinity_as_in_torch():
    observed, expected, exact = run_both("float16", *ARITHMETIC["x*w+b"], scale=300.0)
    assert np.isinf(expected).any(), "no product overflowed float16; the test proves nothing"
    np.testing.assert_array_equal(observed, expected)
    assert np.isfinite(exact).all()


@pytest.mark.parametrize("fmt", list(TYPES))
def test_a_half_loop_rounds_its_recurrence_and_outputs_as_torch_does(fmt):
    """h = h * a + x_t over 40 steps, LAST_VALUE and CONCATENATE outputs, all in `fmt`."""
    steps = 40
    x = representable((steps, 8), fmt)
    a = representable((8,), fmt)
    net, _builder = new_network()
    keep = []
    xs = net.add_input("x", TYPES[fmt][0], x.shape)
    loop = net.add_loop()
    count = np.array(steps, dtype=np.int32)
    keep.append(count)
    loop.add_trip_limit(net.add_constant((), trt.Weights(count)).get_output(0), trt.TripLimit.COUNT)
    x_t = loop.add_iterator(xs, 0, False).get_output(0)
    h = loop.add_recurrence(typed_constant(net, np.zeros(8), fmt, keep))
    scaled = net.add_elementwise(h.get_output(0), typed_constant(net, a, fmt, keep), E.PROD).get_output(0)
    new_h = net.add_elementwise(scaled, x_t, E.SUM).get_output(0)
    h.set_input(1, new_h)
    last = loop.add_loop_output(h.get_output(0), trt.LoopOutput.LAST_VALUE, 0).get_output(0)
    every = loop.add_loop_output(new_h, trt.LoopOutput.CONCATENATE, 0)
    length = np.array(steps, dtype=np.int32)
    keep.append(length)
    every.set_input(1, net.add_constant((), trt.Weights(length)).get_output(0))
    for tensor in (last, every.get_output(0)):
        net.mark_output(tensor)
        assert tensor.dtype == TYPES[fmt][0]
    values = execute(net, {"x": x})
    th, ta, history = torch.zeros(8, dtype=TYPES[fmt][1]), torch.from_numpy(a).to(TYPES[fmt][1]), []
    for t in range(steps):
        th = th * ta + torch.from_numpy(x[t]).to(TYPES[fmt][1])
        history.append(th.double().numpy())
    np.testing.assert_array_equal(values[last.name], history[-1])
    np.testing.assert_array_equal(values[every.get_output(0).name], np.stack(history))


def test_casts_between_float_types_round_to_the_target():
    net, _builder = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (1000,))
    half = net.add_cast(x, trt.DataType.HALF).get_output(0)
    brain = net.add_cast(half, trt.DataType.BF16).get_output(0)
    back = net.add_cast(brain, trt.DataType.FLOAT).get_output(0)
    for tensor in (half, back):
        net.mark_output(tensor)
    values = RNG.standard_normal(1000).astype(np.float32) * 100
    observed = execute(net, {"x": values})
    expected_half = torch.from_numpy(values).half()
    np.testing.assert_array_equal(observed[half.name], expected_half.double().numpy())
    np.testing.assert_array_equal(observed[back.name], expected_half.to(torch.bfloat16).double().numpy())


# --- precisions the executor cannot emulate are refused ------------------------------------------------

@pytest.mark.parametrize("dtype", ["FP8", "INT8"])
def test_a_type_the_executor_cannot_emulate_is_refused_naming_the_tensor(dtype):
    net, _builder = new_network()
    x = net.add_input("x", trt.DataType.HALF, (4,))
    cast = net.add_cast(x, getattr(trt.DataType, dtype))
    cast.get_output(0).name = "quantised"
    net.mark_output(net.add_cast(cast.get_output(0), trt.DataType.HALF).get_output(0))
    match = f"tensor 'quantised' has data type {dtype}, which the executor cannot emulate"
    with pytest.raises(NotImplementedError, match=match):
        execute(net, {"x": np.zeros(4, np.float32)})


def test_an_unknown_rounding_is_refused():
    net, _builder = new_network()
    net.mark_output(net.add_unary(net.add_input("x", trt.DataType.HALF, (4,)), U.ABS).get_output(0))
    with pytest.raises(ValueError, match=r"rounding='float16'; allowed: network, none"):
        execute(net, {"x": np.zeros(4, np.float32)}, rounding="float16")
