"""A case becomes a TensorRT network, each way a user builds one: the loop path, the drop-in
`add_rnn_v2`, the ONNX parser, and the native `IRNNv2Layer` where the installed TensorRT has it.

Every network has the same inputs (`input`, and where the case sets them `seq_lengths`,
`hidden_state`, `cell_state`; with `weights_as_inputs`, `W.<i>`, `R.<i>`, `Wb.<i>`, `Rb.<i>` per layer
index) and outputs (`output`, `hidden`, and `cell` for LSTM) in `IRNNv2Layer` layout. Describing a
network is cheap; building its plan (`trt_cases.networks.engine`) is the expensive, cached step.

Precision, as TensorRT 11 users build it: the network's float tensors (weights, states, compute) are
`precision` ("fp32", "fp16" as HALF, "bf16" as BF16), in a strongly typed network (TensorRT 11 and
TensorRT-RTX have no other kind; 9.x-10.x set NetworkDefinitionCreationFlag.STRONGLY_TYPED). With
`io="network"` the inputs and outputs are in that precision too; with `io="float32"` they are FLOAT,
cast at the boundary, half inside: the form ModelOpt AutoCast produces. `seq_lengths` stays INT32,
and weights given as inputs (`weights_as_inputs`) are in the network precision. Weak typing (an fp32
network plus BuilderFlag.FP16) is the runner's business, not a network of its own.

`Network.feeds` are always float32/int32 NumPy arrays, whatever the network's types: their values are
exactly representable in the case's precision (`Case.materialise()` rounds them), and the runner
converts each to its engine input's dtype.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from reference import RNNDirection, RNNInputMode, RNNOperation
from reference.rnn_v2 import stack_parameters

from ..cases import half
from . import trt_api
from ..cases.case import Case, Materials
from ..cases.case import OUTPUT_NAMES
from ..cases.dynamic import dynamic_inputs, profile_for
from ..cases.profile import OptimizationProfile
from ..cases.onnx_case import OnnxCase, OnnxMaterials
from .loop_builder import add_rnn_loop, data_type, layer_tensors
from .profiles import check as check_profile, network_inputs

PATHS = ("loop", "drop-in", "onnx", "native")
PRECISIONS = half.PRECISIONS  # network precisions: the type of the float tensors
IO_FORMS = ("network", "float32")  # inputs and outputs in the network precision, or float32 cast at the boundary
FLOAT_INPUTS = ("input", "hidden_state", "cell_state", "X", "initial_h", "initial_c")  # an OnnxCase's by ONNX names
INT_INPUTS = ("seq_lengths", "sequence_lens")


class Network(NamedTuple):
    """A built network definition and what running it needs; `keep` holds arrays TensorRT reads later."""
    case: Case  # or a tuple of cases, for a packed network
    path: str
    builder: object
    network: object
    feeds: dict  # input name -> float32/int32 array
    keep: list
    logger: object
    precision: str = "fp32"  # "fp32", "fp16" or "bf16": the type of the network's float tensors
    io: str = "network"  # "network" or "float32": the type of its inputs and outputs
    typing: str = "weak"  # "strong" or "weak"
    profile: OptimizationProfile | None = None  # a dynamic network's profile (`cases.profile`); None: static


class PathUnavailable(Exception):
    """This path cannot be built with the installed TensorRT (the message is the one-line reason)."""


def build_network(case: Case, path: str, *, precision: str = "fp32", io: str = "network", strongly_typed: bool | None = None,
                  weights_as_inputs: bool = False, materials: Materials | None = None, dynamic: bool = False,
                  profile: OptimizationProfile | None = None) -> Network:
    """The network for `case` along `path` in `precision` (see the module docstring), its types checked
    (`check_types`); raises PathUnavailable with the reason when the installed TensorRT cannot build it.

    `strongly_typed`: None is strong typing for fp16/bf16 and the installed TensorRT's default for fp32.
    An ONNX-operator case (`OnnxCase`) is built on the onnx path only: its one-node model parsed, the
    network's inputs `X`, `sequence_lens`, `initial_h`, `initial_c` and outputs `Y`, `Y_h`, `Y_c` by ONNX's names.

    `dynamic` (or a `profile`, which implies it): the batch dims and S of `input`, `seq_lengths` and the
    states are -1 (`cases.profile.dynamic_inputs`), the outputs follow, and the network carries `profile`
    (default `cases.profile.profile_for(case)`), checked against its inputs. The feeds stay the case's own
    (the profile's opt shape). Static networks are built exactly as without these arguments. A model node with a
    profile (`NodeCase.profile`, `cases.model_profile`) parses its one-node model with symbolic `seq` and `batch`
    dims and carries that profile (the case's own unless `profile` is given), on `X`, `sequence_lens`, `initial_h`,
    `initial_c`.
    """
    dynamic = dynamic or profile is not None
    if isinstance(case, OnnxCase):
        profile = case.profile if profile is None else profile
        if dynamic and profile is None:
            raise ValueError(f"dynamic=True: ONNX-operator case {case.id} has no profile; a model node built dynamic "
                             "takes its profile from --min-shapes/--opt-shapes/--max-shapes")
        return _build_onnx_node(case, path, precision, io, strongly_typed, weights_as_inputs, materials,
                                profile if dynamic else None)
    trt, builder, network, logger, typing = _new_network(path, weights_as_inputs, precision, io, strongly_typed)
    m = case.materialise() if materials is None else materials
    feeds, keep = {}, []
    _add_case(trt, network, logger, case, path, m, "", weights_as_inputs, feeds, keep, precision, io, dynamic)
    if dynamic:
        profile = profile_for(case) if profile is None else profile
        check_profile(profile, network_inputs(network))
    net = Network(case, path, builder, network, feeds, keep, logger, precision, io, typing, profile)
    check_types(net)
    return net


def build_packed_network(cases, path: str = "loop", *, precision: str = "fp32", io: str = "network",
                         strongly_typed: bool | None = None) -> Network:
    """One network holding every case, its tensors prefixed `c<i>.` (`c0.input`, `c0.output`, ...).

    One build then serves many cases, which is what makes building a whole case set affordable.
    """
    if path not in ("loop", "drop-in"):
        raise ValueError(f"packing is for the loop and drop-in paths; the {path} path builds one network per case")
    trt, builder, network, logger, typing = _new_network(path, False, precision, io, strongly_typed)
    feeds, keep = {}, []
    for i, case in enumerate(cases):
        _add_case(trt, network, logger, case, path, case.materialise(), f"c{i}.", False, feeds, keep, precision, io)
    net = Network(tuple(cases), path, builder, network, feeds, keep, logger, precision, io, typing)
    check_types(net)
    return net


def _build_onnx_node(case, path, precision, io, strongly_typed, weights_as_inputs, materials, profile=None):
    if path != "onnx":
        raise ValueError(f"path={path!r}: an ONNX-operator case ({case.id}) is built on the onnx path only; allowed: onnx")
    from .onnx_node import node_feeds

    trt, builder, network, logger, typing = _new_network(path, weights_as_inputs, precision, io, strongly_typed)
    m = case.materialise() if materials is None else materials
    keep = []
    _parse_onnx(trt, network, logger, case, m, precision, io, keep, dynamic=profile is not None)
    if profile is not None:
        check_profile(profile, network_inputs(network))
    net = Network(case, path, builder, network, node_feeds(case, m, np.float32, io="float32"), keep, logger,
                  precision, io, typing, profile)
    check_types(net)
    return net


def _new_network(path, weights_as_inputs, precision, io, strongly_typed):
    if path not in PATHS:
        raise ValueError(f"unknown network path {path!r}; allowed: {', '.join(PATHS)}")
    half.check_precision(precision)
    if io not in IO_FORMS:
        raise ValueError(f"io={io!r}; allowed: {', '.join(IO_FORMS)}")
    if strongly_typed not in (None, True, False):
        raise ValueError(f"strongly_typed={strongly_typed!r}; allowed: None, True, False")
    reason = trt_api.missing(path) or _typing_missing(precision, strongly_typed)
    if reason:
        raise PathUnavailable(reason)
    if weights_as_inputs and path != "loop":
        raise ValueError(f"weights_as_inputs is for the loop path only; the {path} path takes weights as constants")
    from .trt_api import CapturingLogger

    trt = trt_api.load().module
    logger = CapturingLogger(trt)
    builder = trt.Builder(logger)
    strong = precision != "fp32" if strongly_typed is None else strongly_typed
    network = trt_api.create_network(builder, strongly_typed=strong)
    return trt, builder, network, logger, _typing(trt, network, strong)


def _typing_missing(precision, strongly_typed):
    """Why the installed TensorRT cannot make a `precision` network typed as asked (one line), or None."""
    rt = trt_api.load()
    if precision == "bf16" and not hasattr(rt.module.DataType, "BF16"):
        return f"precision bf16: DataType.BF16 not available in {rt.label}"
    if precision != "fp32" and strongly_typed is False:
        return (f"precision {precision} with strongly_typed=False: a weakly typed {precision} network is not built; "
                f"weak typing is an fp32 network with BuilderFlag.{precision.upper()}")
    if strongly_typed is False and trt_api.always_strongly_typed():
        return f"strongly_typed=False: {rt.label} is always strongly typed"
    if (strongly_typed or precision != "fp32") and not trt_api.can_strongly_type():
        return (f"precision {precision} needs a strongly typed network: "
                f"NetworkDefinitionCreationFlag.STRONGLY_TYPED not available in {rt.label}")
    return None


def _typing(trt, network, strong):
    """"strong" or "weak": created with STRONGLY_TYPED, or by a TensorRT that has no weak typing (probed)."""
    return "strong" if strong or trt_api.always_strongly_typed() else "weak"


def _add_case(trt, network, logger, case, path, m, prefix, weights_as_inputs, feeds, keep, precision, io,
              dynamic=False):
    """Add one case's inputs, RNN and marked outputs to `network`, all names prefixed with `prefix`;
    `dynamic`: the inputs' batch dims and S are -1."""
    feeds[prefix + "input"] = m.input.astype(np.float32)
    feeds.update({prefix + name: value for name, value in _state_feeds(m).items()})
    if path == "onnx":
        _parse_onnx(trt, network, logger, case, m, precision, io, keep, dynamic)
        return
    dims = dynamic_inputs(case) if dynamic else {name: np.shape(getattr(m, name))
                                                for name in ("input", "seq_lengths", "hidden_state", "cell_state")}
    inner, boundary = data_type(trt, precision), data_type(trt, "fp32" if io == "float32" else precision)
    x = _cast(network, network.add_input(prefix + "input", boundary, dims["input"]), inner)
    extras = {}
    for name in ("seq_lengths", "hidden_state", "cell_state"):
        value = getattr(m, name)
        if value is not None:
            tensor = network.add_input(prefix + name, trt.int32 if name == "seq_lengths" else boundary, dims[name])
            extras[name] = tensor if name == "seq_lengths" else _cast(network, tensor, inner)
    if path == "loop":
        layers = _layer_tensors(trt, network, case, m, weights_as_inputs, feeds, keep, prefix, precision)
        outputs = add_rnn_loop(trt, network, x, op=case.op, layer_count=case.layer_count, hidden_size=case.hidden_size,
                               direction=case.direction, layers=layers, keep=keep, name=prefix + "input", **extras)
    else:
        layer, arrays = _add_rnn_v2_as_the_cookbook_does(trt, network, x, case, m, extras, native=path == "native")
        keep += [layer, *arrays]  # the drop-in holds the weight arrays its constants read; native half weights here
        outputs = [layer.get_output(i) for i in range(3 if case.op == "LSTM" else 2)]
    for name, tensor in zip(OUTPUT_NAMES, outputs):
        if tensor.dtype != boundary:
            tensor.name = f"{prefix}{name}/{precision}"
            tensor = _cast(network, tensor, boundary)
        tensor.name = prefix + name
        network.mark_output(tensor)


def _cast(network, tensor, dtype):
    """`tensor` as `dtype`: itself, or the output of a cast layer named and output `<tensor>/cast`."""
    if tensor.dtype == dtype:
        return tensor
    cast = network.add_cast(tensor, dtype)
    cast.name = f"{tensor.name}/cast"
    output = cast.get_output(0)
    output.name = cast.name
    return output


def check_types(net: Network) -> None:
    """Raise TypeError naming the first tensor whose type is not what `net.precision` and `net.io` intend.

    Inputs and outputs: `seq_lengths` INT32, the others in the io type (weight inputs in the network
    precision); inside, every float tensor (constants, weights, states, compute) in the network precision.
    """
    trt, network = trt_api.load().module, net.network
    inner = data_type(trt, net.precision)
    boundary = data_type(trt, "fp32" if net.io == "float32" else net.precision)
    floats = {trt.DataType.FLOAT, trt.DataType.HALF} | ({trt.DataType.BF16} if hasattr(trt.DataType, "BF16") else set())
    io_tensors = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        base = re.sub(r"^c\d+\.", "", tensor.name)  # a packed network's names start c<i>.
        intended = trt.DataType.INT32 if base in INT_INPUTS else boundary if base in FLOAT_INPUTS else inner
        io_tensors[tensor.name] = (tensor, intended, "input")
    for i in range(network.num_outputs):
        io_tensors[network.get_output(i).name] = (network.get_output(i), boundary, "output")
    for name, (tensor, intended, kind) in io_tensors.items():
        _check(net, f"{kind} {name!r}", tensor.dtype, intended)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for k in range(layer.num_outputs):
            tensor = layer.get_output(k)
            if tensor is None or tensor.name in io_tensors or tensor.dtype not in floats:
                continue
            what = f"tensor {tensor.name!r} ({layer.type.name.lower()} layer {layer.name!r})"
            _check(net, what, tensor.dtype, inner)


def _check(net, what, dtype, intended):
    if dtype != intended:
        case_id = net.case.id if isinstance(net.case, (Case, OnnxCase)) else f"{len(net.case)} packed cases"
        raise TypeError(f"{net.path} network of {case_id} in {net.precision} (io={net.io}): {what} is {dtype.name}; "
                        f"intended {intended.name}")


def _add_rnn_v2_as_the_cookbook_does(trt, network, x, case, m, extras, native):
    """Set the layer up attribute by attribute and gate by gate, as TensorRT 8 code does; return the layer.


    The native layer takes TensorRT's own enums and `trt.Weights` in its input's type, kept alive by the
    returned layer's network `keep`; the drop-in takes float32 arrays and converts them to its input's type.
    """
    from .drop_in import add_rnn_v2
    from .loop_builder import precision_of

    enum = (lambda kind, name: getattr(getattr(trt, kind), name)) if native else (lambda kind, name: name)  # noqa: E731
    layer = add_rnn_v2(network, x, case.layer_count, case.hidden_size, case.max_seq_length,
                       enum("RNNOperation", case.op), implementation="native" if native else "loop")
    layer.direction = enum("RNNDirection", case.direction)
    layer.input_mode = enum("RNNInputMode", case.input_mode)
    for name, tensor in extras.items():
        setattr(layer, name, tensor)
    precision = precision_of(trt, x.dtype)
    arrays = []

    def values(value):
        array = np.ascontiguousarray(value, np.float32)
        if not native or precision == "fp32":
            return array
        arrays.append(half.stored(array, precision))
        return half.weights(trt, arrays[-1], precision)

    for (index, gate, is_w), value in m.weights.items():
        layer.set_weights_for_gate(index, enum("RNNGateType", gate.name), is_w, values(value))
    for (index, gate, is_w), value in m.biases.items():
        layer.set_bias_for_gate(index, enum("RNNGateType", gate.name), is_w, values(value))
    return layer, arrays


def network_feeds(m: Materials | OnnxMaterials) -> dict:
    """The feeds of a case network's data inputs (not its weights) for `m`: a dynamic network at `m`'s shape (an
    ONNX node's, `OnnxMaterials`: `X`, `sequence_lens`, `initial_h`, `initial_c` where given)."""
    if isinstance(m, OnnxMaterials):
        from .onnx_node import node_feeds

        return node_feeds(None, m, np.float32, io="float32")
    return {"input": m.input.astype(np.float32), **_state_feeds(m)}


def _state_feeds(m):
    feeds = {}
    if m.seq_lengths is not None:
        feeds["seq_lengths"] = m.seq_lengths.astype(np.int32)
    for name in ("hidden_state", "cell_state"):
        if getattr(m, name) is not None:
            feeds[name] = getattr(m, name).astype(np.float32)
    return feeds


def _layer_tensors(trt, network, case, m, weights_as_inputs, feeds, keep, prefix="", precision="fp32"):
    """Per layer index: stacked parameters as constants, or as network inputs fed from `m`."""
    stacked = stack_parameters(m.weights, m.biases, op=RNNOperation[case.op], layer_count=case.layer_count,
                               hidden_size=case.hidden_size, data_length=case.data_length,
                               direction=RNNDirection[case.direction], input_mode=RNNInputMode[case.input_mode])
    return layer_tensors(trt, network, stacked, case.op, case.hidden_size, keep,
                         inputs=feeds if weights_as_inputs else None, prefix=prefix, precision=precision)


def _parse_onnx(trt, network, logger, case, m, precision="fp32", io="network", keep=None, dynamic=False):
    """Parse the case's ONNX model (`trt_cases.networks.onnx_export`, or `onnx_node` for an `OnnxCase`) in `precision`
    into `network`; raise with the parser's errors. bf16 initializers go to `keep` as `half.BF16Constant`s (the
    parser names their constant layers after them). `dynamic`: the model's batch dims and S are symbolic."""
    from .onnx_export import bf16_initializers, export
    from .onnx_node import node_model

    if isinstance(case, OnnxCase):
        model = node_model(case, m, precision, io=io, dynamic=dynamic)
    else:
        model = export(case, m, precision, io=io, dynamic=dynamic)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model.SerializeToString()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"ONNX parser failed on the {precision} (io={io}) model of case {case.id}: {errors}")
    if keep is not None:
        keep += [half.BF16Constant(name, bits) for name, bits in bf16_initializers(model).items()]


def bf16_constants(net: Network) -> dict:
    """The float32 values of `net`'s bf16 constant layers, by layer name: TensorRT's Python API cannot
    give them back (BF16 `Weights` have no NumPy view), so the builders keep them (`half.BF16Constant`)."""
    found = {}
    for item in net.keep:
        for kept in getattr(item, "_keep", None) or [item]:  # a drop-in layer keeps its own
            if isinstance(kept, half.BF16Constant):
                found[kept.layer] = half.bf16_values(kept.bits)
    return found
