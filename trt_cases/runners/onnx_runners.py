"""ONNX oracles: the exported model (`trt_cases.networks.onnx_export`) run by onnxruntime and by `onnx.reference`.

What each backend does with the model, found by experiment against the reference
(tests/networks/test_onnx_export.py pins it):

- onnxruntime (CPU, float32) honours everything the export uses: `sequence_lens` (outputs past a
  sequence's length are exactly zero, the reverse direction starts at `len-1`, Y_h/Y_c are the
  states at the last valid step), `initial_h`/`initial_c`, GRU `linear_before_reset=1`,
  `direction="bidirectional"` and the RNN activations Relu and Tanh. No case is unsupported.
- onnx.reference (float64) ignores `sequence_lens` (every sequence runs all S steps), so a case with
  seq_lengths is split: each sequence runs alone, truncated to its length, without `sequence_lens`,
  and the results are assembled into the IRNNv2 layout. Its RNN node knows only the Tanh and Affine
  activations, so RELU is unsupported. It honours initial_h/initial_c, linear_before_reset and
  bidirectional.

For an ONNX-operator case (`OnnxCase`) both run its one-node model (`networks.onnx_node`) as it is, its
outputs `Y, Y_h[, Y_c]` in the node's layout: onnxruntime in float32, onnx.reference in float64 (no
splitting: what it ignores, `sequence_lens`, `clip`, `input_forget`, LSTM and GRU `activations`, shows as a
reading, `cases.readings`). A node the library refuses (onnxruntime: `layout=1`; onnx.reference: an RNN
activation other than Tanh and Affine) is a skip quoting the library's own message.

onnx and onnxruntime are imported when a runner runs, so this module imports without them and
`prepare()` says which package is missing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import traceback

import numpy as np

from ..cases.case import Case, Materials
from ..cases.onnx_case import OnnxCase
from . import Probed
from .base import Runner


def run_onnxruntime(case: Case, materials: Materials | None = None):
    """The exported float32 model run by onnxruntime on the CPU; outputs as float64 in IRNNv2 layout."""
    import onnxruntime

    from ..networks.onnx_export import export, feeds

    m = case.materialise() if materials is None else materials
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: no chatter on stderr
    options.intra_op_num_threads = 1  # deterministic, and fast enough for these sizes
    session = onnxruntime.InferenceSession(export(case, m, np.float32).SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    return tuple(np.asarray(out, dtype=np.float64) for out in session.run(None, feeds(case, m, np.float32)))


def run_onnx_reference(case: Case, materials: Materials | None = None):
    """The exported float64 model run by onnx.reference; seq_lengths handled by splitting the batch."""
    m = case.materialise() if materials is None else materials
    if not case.seq_lengths:
        return _evaluate(case, m)
    S, LK, H = case.max_seq_length, case.layer_count * case.K, case.hidden_size
    N = int(np.prod(case.batch_dims, dtype=np.int64))
    x = np.reshape(m.input, (N, S, case.data_length))
    states = {name: None if getattr(m, name) is None else np.reshape(getattr(m, name), (N, LK, H))
              for name in ("hidden_state", "cell_state")}
    outputs = [np.zeros((N, S, case.K * H)), np.zeros((N, LK, H))]
    if case.op == "LSTM":
        outputs.append(np.zeros((N, LK, H)))
    for n, length in enumerate(np.reshape(m.seq_lengths, -1).tolist()):
        one = dataclasses.replace(case, batch_dims=(1,), max_seq_length=length, seq_lengths=False)
        one_states = [None if states[name] is None else states[name][n:n + 1] for name in ("hidden_state", "cell_state")]
        output, *finals = _evaluate(one, Materials(x[n:n + 1, :length], m.weights, m.biases, None, *one_states))
        outputs[0][n, :length] = output[0]  # past its length the output stays zero
        for full, final in zip(outputs[1:], finals):
            full[n] = final[0]
    return tuple(out.reshape(case.batch_dims + out.shape[1:]) for out in outputs)


def _evaluate(case, m):
    """One run of `onnx.reference.ReferenceEvaluator` on the float64 export of `case`."""
    from onnx.reference import ReferenceEvaluator

    from ..networks.onnx_export import export, feeds

    evaluator = ReferenceEvaluator(export(case, m, np.float64))
    return tuple(np.asarray(out, dtype=np.float64) for out in evaluator.run(None, feeds(case, m, np.float64)))


def onnxruntime_session(case: OnnxCase, materials=None):
    """An onnxruntime CPU session of the case's float32 one-node model, its weights from `materials` where given
    (raises onnxruntime's own errors); a model node built with a profile: the model with symbolic sequence and
    batch dims, as deployed, run at its shape."""
    import onnxruntime

    from ..networks.onnx_node import node_model

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # fatal only: a refused node is reported by its exception, not on stderr
    options.intra_op_num_threads = 1
    model = node_model(case, materials, dtype=np.float32, dynamic=case.profile is not None)
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def onnxruntime_refusal(exc: Exception) -> str:
    """onnxruntime's message, one line: its error-code prefix and source location dropped."""
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", str(exc).strip())
    text = re.sub(r"/onnxruntime_src/\S+:\d+ \S+\(.*?\) (\[with [^]]*\] )?", "", text)
    text = text.split(" If you need support")[0]
    return "onnxruntime: " + " ".join(text.split())


def _from_library(exc: Exception, package: str) -> bool:
    """Whether `exc` was raised by `package` itself (its refusal), not by this suite's code."""
    if type(exc).__module__.startswith(package):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and f"/{package.replace('.', '/')}/" in frames[-1].filename


def _missing(*packages):
    """A reason naming the first package that is not installed, or None."""
    for package in packages:
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed"
    return None


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"
    precision = "float32"

    def __init__(self):
        self._session = Probed()  # the session of the last ONNX-operator case asked about

    def prepare(self, case: Case) -> str | None:
        missing = _missing("onnx", "onnxruntime")
        if missing or not isinstance(case, OnnxCase):
            return missing
        try:
            self._session.keep(case, onnxruntime_session(case))
        except Exception as exc:  # not onnxruntime's refusal: `infer` raises it again, and the record is an error
            return onnxruntime_refusal(exc) if _from_library(exc, "onnxruntime") else None
        return None

    def infer(self, case: Case, materials=None):
        if not isinstance(case, OnnxCase):
            return run_onnxruntime(case, materials)
        from ..networks.onnx_node import node_feeds

        session = (materials is None and self._session.get(case)) or onnxruntime_session(case, materials)
        return tuple(np.asarray(out, dtype=np.float64)
                     for out in session.run(None, node_feeds(case, materials, dtype=np.float32)))


class OnnxReferenceRunner(Runner):
    name = "onnx.reference"
    precision = "float64"

    def __init__(self):
        self._outputs = Probed()  # the outputs of the last ONNX-operator case tried in `unsupported`

    def prepare(self, case: Case) -> str | None:
        missing = _missing("onnx")
        if missing:
            return missing
        if isinstance(case, OnnxCase):  # it refuses only when it runs (an unknown RNN activation): try it once
            try:
                self._outputs.keep(case, run_onnx_reference_node(case))
            except Exception as exc:  # not its refusal: `infer` raises it again, and the record is an error
                if not _from_library(exc, "onnx.reference"):
                    return None
                return f"onnx.reference: {type(exc).__name__}: {' '.join(str(exc).split())}"
            return None
        if case.op == "RELU":
            return ("onnx.reference's RNN node implements only the Tanh and Affine activations; "
                    "activations=['Relu'] raises RuntimeError")
        return None

    def infer(self, case: Case, materials=None):
        if isinstance(case, OnnxCase):
            return (materials is None and self._outputs.take(case)) or run_onnx_reference_node(case, materials)
        return run_onnx_reference(case, materials)


def run_onnx_reference_node(case: OnnxCase, materials=None):
    """The float64 one-node model of an ONNX-operator case run by onnx.reference as it is (nothing split)."""
    from onnx.reference import ReferenceEvaluator

    from ..networks.onnx_node import node_feeds, node_model

    evaluator = ReferenceEvaluator(node_model(case, materials, np.float64))
    return tuple(np.asarray(out, dtype=np.float64)
                 for out in evaluator.run(None, node_feeds(case, materials, np.float64)))
