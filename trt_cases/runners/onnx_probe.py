"""Whether the installed ONNX parser accepts a half-precision RNN model, probed, never looked up by version.

Some parsers refuse strongly typed fp16/bf16 RNN, GRU and LSTM nodes (TensorRT-RTX 1.7's importers
make FLOAT constants whatever the node's type: the zero of the `sequence_lens` mask, GRU's 1 of
`1 - z` in bf16). `parser_refusal(case, precision, io)` parses the model of a small case with the
same operation, direction, lengths and precision once, and returns the parser's reason as a
one-line skip reason, or None when it parses. The ONNX runners skip such cases with that reason
instead of reporting an fp32 build or an error; a parser that is fixed simply stops refusing.
"""

from __future__ import annotations

import functools
import re

from ..networks import trt_api
from ..cases.case import Case


def parser_refusal(case: Case, precision: str, io: str = "network") -> str | None:
    """The installed parser's reason for refusing `case`'s `precision` ONNX model, or None (fp32: None)."""
    if precision == "fp32":
        return None
    return _probe(case.op, case.direction, case.seq_lengths, precision, io)


@functools.cache
def _probe(op, direction, seq_lengths, precision, io):
    from ..networks.build import build_network

    probe = Case(op, hidden_size=2, max_seq_length=2, data_length=2, batch_dims=(2,), direction=direction,
                 seq_lengths=seq_lengths, precision=precision)
    try:
        build_network(probe, "onnx", precision=precision, io=io)
    except RuntimeError as exc:
        if "ONNX parser failed" not in str(exc):
            raise
        detail = re.search(r"API Usage Error \((.*?)(?: In \w+ at |\)$)", str(exc), re.MULTILINE)
        what = f"{op} nodes" + (" with sequence_lens" if seq_lengths else "")
        reason = detail.group(1).strip() if detail else str(exc).splitlines()[0]
        reason = re.sub(r"^\(Unnamed Layer\* \d+\) \[\w+\]: ", "", reason)  # the parser's own layer name
        return f"{trt_api.load().label}'s ONNX parser refuses {precision} {what}: {reason}"
    return None


def node_refusal(case, precision: str = "fp32", io: str = "network"):
    """For an ONNX-operator case (`OnnxCase`): `(reason, None)` when the installed parser refuses its node, the
    reason quoting the parser; else `(None, network)`, the parsed network (`build_network(case, "onnx", ...)`; a
    model node built with a profile: its dynamic network, built from the node at the profile's opt shape)."""
    from ..networks.build import build_network

    try:
        return None, build_network(case.engine_case, "onnx", precision=precision, io=io, profile=case.profile)
    except Exception as exc:  # not the parser's refusal: the runner builds again when it runs, and that is an error
        if not isinstance(exc, RuntimeError) or "ONNX parser failed" not in str(exc):
            return None, None
        return f"{trt_api.load().label}'s ONNX parser refuses the {precision} node: {parser_message(str(exc))}", None


def parser_message(text: str) -> str:
    """The parser's errors from `_parse_onnx`'s message, on one line, without the case id and node-name preamble."""
    text = text.split(": ", 1)[1] if text.startswith("ONNX parser failed") else text
    text = re.sub(r"In node -?\d+ with name: ?\S* and operator: ?\w* ", "", text)
    text = re.sub(r" In op at /_src/\S+\)", ")", text)  # the parser's source location
    text = text.split("[checkMacros.cpp::catchCudaError")[0]  # a CPU machine's CUDA runtime complaining afterwards
    return " ".join(text.split())
