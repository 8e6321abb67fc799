"""A case becomes a TensorRT network, each way a user builds one: the loop path, the drop-in
`add_rnn_v2`, the ONNX parser, and the native `IRNNv2Layer` where the installed TensorRT has it.

Every network has the same inputs (`input`, and where the case sets them `seq_lengths`,
`hidden_state`, `cell_state`; with `weights_as_inputs`, `W.<i>`, `R.<i>`, `Wb.<i>`, `Rb.<i>` per layer
index) and outputs (`output`, `hidden`, and `cell` for LSTM) in `IRNNv2Layer` layout. Describing a
network is cheap; building its plan (`trt_cases.engine`) is the expensive, cached step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference import RNNDirection, RNNInputMode, RNNOperation
from reference.rnn_v2 import stack_parameters

from . import trt_api
from .case import Case, Materials
from .compare import OUTPUT_NAMES
from .loop_builder import add_rnn_loop, layer_tensors

PATHS = ("loop", "drop-in", "onnx", "native")


class Network(NamedTuple):
    """A built network definition and what running it needs; `keep` holds arrays TensorRT reads later."""
    case: Case  # or a tuple of cases, for a packed network
    path: str
    builder: object
    network: object
    feeds: dict  # input name -> float32/int32 array
    keep: list
    logger: object


class PathUnavailable(Exception):
    """This path cannot be built with the installed TensorRT (the message is the one-line reason)."""


def build_network(case: Case, path: str, *, weights_as_inputs: bool = False, materials: Materials | None = None) -> Network:
    """The network for `case` along `path`; raises PathUnavailable with the reason when it cannot be."""
    trt, builder, network, logger = _new_network(path, weights_as_inputs)
    m = case.materialise() if materials is None else materials
    feeds, keep = {}, []
    _add_case(trt, network, logger, case, path, m, "", weights_as_inputs, feeds, keep)
    return Network(case, path, builder, network, feeds, keep, logger)


def build_packed_network(cases, path: str = "loop") -> Network:
    """One network holding every case, its tensors prefixed `c<i>.` (`c0.input`, `c0.output`, ...).

    One build then serves many cases, which is what makes building a whole case set affordable.
    """
    if path not in ("loop", "drop-in"):
        raise ValueError(f"packing is for the loop and drop-in paths; the {path} path builds one network per case")
    trt, builder, network, logger = _new_network(path, False)
    feeds, keep = {}, []
    for i, case in enumerate(cases):
        _add_case(trt, network, logger, case, path, case.materialise(), f"c{i}.", False, feeds, keep)
    return Network(tuple(cases), path, builder, network, feeds, keep, logger)


def _new_network(path, weights_as_inputs):
    if path not in PATHS:
        raise ValueError(f"unknown network path {path!r}; allowed: {', '.join(PATHS)}")
    reason = trt_api.missing(path)
    if reason:
        raise PathUnavailable(reason)
    if weights_as_inputs and path != "loop":
        raise ValueError(f"weights_as_inputs is for the loop path only; the {path} path takes weights as constants")
    from .engine import CapturingLogger

    trt = trt_api.load().module
    logger = CapturingLogger(trt)
    builder = trt.Builder(logger)
    return trt, builder, trt_api.create_network(builder, strongly_typed=False), logger


def _add_case(trt, network, logger, case, path, m, prefix, weights_as_inputs, feeds, keep):
    """Add one case's inputs, RNN and marked outputs to `network`, all names prefixed with `prefix`."""
    feeds[prefix + "input"] = m.input.astype(np.float32)
    feeds.update({prefix + name: value for name, value in _state_feeds(m).items()})
    if path == "onnx":
        _parse_onnx(trt, network, logger, case, m)
        return
    x = network.add_input(prefix + "input", trt.float32, m.input.shape)
    extras = {}
    for name, dtype in (("seq_lengths", trt.int32), ("hidden_state", trt.float32), ("cell_state", trt.float32)):
        value = getattr(m, name)
        if value is not None:
            extras[name] = network.add_input(prefix + name, dtype, value.shape)
    if path == "loop":
        layers = _layer_tensors(trt, network, case, m, weights_as_inputs, feeds, keep, prefix)
        outputs = add_rnn_loop(trt, network, x, op=case.op, layer_count=case.layer_count, hidden_size=case.hidden_size,
                               direction=case.direction, layers=layers, keep=keep, **extras)
    else:
        layer = _add_rnn_v2_as_the_cookbook_does(trt, network, x, case, m, extras, native=path == "native")
        keep.append(layer)  # the drop-in holds the weight arrays its constants read
        outputs = [layer.get_output(i) for i in range(3 if case.op == "LSTM" else 2)]
    for name, tensor in zip(OUTPUT_NAMES, outputs):
        tensor.name = prefix + name
        network.mark_output(tensor)


def _add_rnn_v2_as_the_cookbook_does(trt, network, x, case, m, extras, native):
    """Set the layer up attribute by attribute and gate by gate, as TensorRT 8 code does; return the layer.

    The native layer takes TensorRT's own enums (and float32 weights); the drop-in takes them too.
    """
    from .drop_in import add_rnn_v2

    enum = (lambda kind, name: getattr(getattr(trt, kind), name)) if native else (lambda kind, name: name)  # noqa: E731
    layer = add_rnn_v2(network, x, case.layer_count, case.hidden_size, case.max_seq_length,
                       enum("RNNOperation", case.op), implementation="native" if native else "loop")
    layer.direction = enum("RNNDirection", case.direction)
    layer.input_mode = enum("RNNInputMode", case.input_mode)
    for name, tensor in extras.items():
        setattr(layer, name, tensor)
    for (index, gate, is_w), value in m.weights.items():
        layer.set_weights_for_gate(index, enum("RNNGateType", gate.name), is_w, np.ascontiguousarray(value, np.float32))
    for (index, gate, is_w), value in m.biases.items():
        layer.set_bias_for_gate(index, enum("RNNGateType", gate.name), is_w, np.ascontiguousarray(value, np.float32))
    return layer


def _state_feeds(m):
    feeds = {}
    if m.seq_lengths is not None:
        feeds["seq_lengths"] = m.seq_lengths.astype(np.int32)
    for name in ("hidden_state", "cell_state"):
        if getattr(m, name) is not None:
            feeds[name] = getattr(m, name).astype(np.float32)
    return feeds


def _layer_tensors(trt, network, case, m, weights_as_inputs, feeds, keep, prefix=""):
    """Per layer index: stacked parameters as constants, or as network inputs fed from `m`."""
    stacked = stack_parameters(m.weights, m.biases, op=RNNOperation[case.op], layer_count=case.layer_count,
                               hidden_size=case.hidden_size, data_length=case.data_length,
                               direction=RNNDirection[case.direction], input_mode=RNNInputMode[case.input_mode])
    return layer_tensors(trt, network, stacked, case.op, case.hidden_size, keep,
                         inputs=feeds if weights_as_inputs else None, prefix=prefix)


def _parse_onnx(trt, network, logger, case, m):
    """Parse the case's ONNX model (`trt_cases.onnx_export`) into `network`; raise with the parser's errors."""
    from .onnx_export import export

    parser = trt.OnnxParser(network, logger)
    if not parser.parse(export(case, m, np.float32).SerializeToString()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"ONNX parser failed on case {case.id}: {errors}")
