"""TensorRT engines run on the GPU: build (or load from the engine cache), deserialize, execute.

`TensorRTRunner(path, precision)` builds the case's network along `path` ("loop", "drop-in",
"onnx", "native") with the builder flags of `precision` ("fp32" with TF32 off, "tf32", "fp16",
"bf16"), runs it with cuda-python (`execute_async_v3` with tensor addresses, or `execute_async_v2`
bindings on a TensorRT 8 that lacks v3, found by probing), poisons every output before the run,
and returns float64 outputs in `IRNNv2Layer` layout. Use it as a context manager: it owns the
stream and device buffers, and frees them on exit.
"""

from __future__ import annotations

import contextlib
import os
import pathlib

import numpy as np

from .. import cuda_memory, trt_api
from ..case import Case
from ..compare import OUTPUT_NAMES
from ..engine import build_plan
from ..engine_cache import EngineCache, shape_signature
from ..networks import build_network

PRECISIONS = {"fp32": "float32", "tf32": "tf32", "fp16": "float16", "bf16": "bfloat16"}  # -> tolerance row
FLAGS = {"fp32": (), "tf32": ("TF32",), "fp16": ("FP16",), "bf16": ("BF16",)}
DEFAULT_CACHE = pathlib.Path(os.environ.get("TRT_RNN_ENGINE_CACHE", pathlib.Path.home() / ".cache" / "trt-rnn-conformance"))


def compute_capability() -> tuple[int, int]:
    rt = cuda_memory.cudart()
    device = cuda_memory.check(rt.cudaGetDevice(), "cudaGetDevice")
    attr = rt.cudaDeviceAttr
    return (cuda_memory.check(rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute"),
            cuda_memory.check(rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute"))


class TensorRTRunner(contextlib.AbstractContextManager):
    """A TensorRT engine per case (cached on disk), run on the current CUDA device."""

    def __init__(self, path: str = "loop", precision: str = "fp32", *, cache_dir=None, weights_as_inputs: bool = False,
                 compute_capability=None):
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; allowed: {', '.join(PRECISIONS)}")
        self.path, self.engine_precision, self.weights_as_inputs = path, precision, weights_as_inputs
        self.name = f"tensorrt-{path}-{precision}" + ("-weights-as-inputs" if weights_as_inputs else "")
        self.precision = PRECISIONS[precision]
        self.cache = EngineCache(DEFAULT_CACHE if cache_dir is None else cache_dir)
        self.build_seconds = 0.0
        self._runtime = self._stream = None
        self._compute_capability = compute_capability  # None: ask the CUDA device (tests on CPU pass one)

    def unsupported(self, case: Case) -> str | None:
        reason = trt_api.missing(self.path) or cuda_memory.missing()
        if reason:
            return reason
        rt = trt_api.load()
        absent = [flag for flag in FLAGS[self.engine_precision] if not hasattr(rt.module.BuilderFlag, flag)]
        if absent:
            return f"BuilderFlag.{absent[0]} not available in {rt.label}"
        capability = compute_capability()
        if rt.flavour == "TensorRT-RTX" and capability[0] == 9:
            return f"{rt.label}'s runtime does not run on compute capability {'.'.join(map(str, capability))} GPUs"
        if case.precision != self.engine_precision:
            return f"case precision {case.precision} differs from the engine's {self.engine_precision}: run {self.engine_precision} cases"
        return None

    def __enter__(self):
        trt = trt_api.load().module
        from ..engine import CapturingLogger

        self._logger = CapturingLogger(trt)
        self._runtime = trt.Runtime(self._logger)
        self._stream = cuda_memory.Stream()
        return self

    def __exit__(self, *exc):
        if self._stream is not None:
            self._stream.__exit__(*exc)
        self._stream = self._runtime = None
        return False

    def plan(self, case: Case) -> bytes:
        """The serialized engine for `case`, from the cache or freshly built."""
        rt = trt_api.load()
        capability = self._compute_capability or compute_capability()
        fields = {"tensorrt": rt.label, "compute_capability": list(capability), "path": self.path,
                  "precision": self.engine_precision, "weights_as_inputs": self.weights_as_inputs,
                  "case": shape_signature(case) if self.weights_as_inputs else case.to_json()}

        def build():
            net = build_network(case, self.path, weights_as_inputs=self.weights_as_inputs)
            plan, seconds = build_plan(net, flags=FLAGS[self.engine_precision], strict_fp32=self.engine_precision == "fp32")
            self.build_seconds += seconds
            return plan
        return self.cache.get_or_build(fields, build)[0]

    def infer(self, case: Case, materials=None):
        if self._stream is None:
            raise RuntimeError(f"{self.name}: use the runner as a context manager (`with TensorRTRunner(...) as runner:`)")
        feeds = build_network(case, self.path, weights_as_inputs=self.weights_as_inputs, materials=materials).feeds
        engine = self._runtime.deserialize_cuda_engine(self.plan(case))
        if engine is None:
            raise RuntimeError(f"{self.name}: the engine for {case.id} failed to deserialize:\n{self._logger.text()}")
        try:
            return execute(engine, feeds, self._stream)
        finally:
            self._stream.release()


def execute(engine, feeds: dict, stream: cuda_memory.Stream, tensors=None):
    """Run `engine` once on `feeds`; returns its outputs (`output`, `hidden`, `cell`) as float64.

    `tensors` is `io_tensors(engine)` unless given (tests pass it for a stand-in engine).
    """
    outputs = execute_all(engine, feeds, stream, tensors)
    return tuple(outputs[name] for name in OUTPUT_NAMES if name in outputs)


def execute_all(engine, feeds: dict, stream: cuda_memory.Stream, tensors=None) -> dict:
    """Run `engine` once on `feeds`; returns every output by name as float64 (trace marks extra ones)."""
    context = engine.create_execution_context()
    names, outputs, buffers = io_tensors(engine) if tensors is None else tensors, {}, {}
    for name, is_input, shape, dtype in names:
        if is_input:
            array = np.ascontiguousarray(feeds[name], dtype=dtype)
            if array.shape != shape:
                raise ValueError(f"input {name} has shape {array.shape}; the engine expects {shape}")
            buffers[name] = stream.alloc(array.nbytes)
            buffers[name].upload(array, stream.handle)
        else:
            outputs[name] = np.empty(shape, dtype=dtype)
            buffers[name] = stream.alloc(outputs[name].nbytes)
            buffers[name].poison(stream.handle)
    if hasattr(context, "execute_async_v3"):
        for name, buffer in buffers.items():
            context.set_tensor_address(name, int(buffer.ptr))
        ok = context.execute_async_v3(int(stream.handle))
    else:  # TensorRT 8: bindings in engine order
        ok = context.execute_async_v2([int(buffers[name].ptr) for name, *_ in names], int(stream.handle))
    if not ok:
        raise RuntimeError("execute_async returned false")
    for name, array in outputs.items():
        buffers[name].download(array, stream.handle)
    stream.synchronize()
    return {name: array.astype(np.float64) for name, array in outputs.items()}


def io_tensors(engine):
    """`[(name, is_input, shape, numpy dtype)]` in engine order, through whichever API this TensorRT has."""
    trt = trt_api.load().module
    if hasattr(engine, "num_io_tensors"):
        return [(name, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT, tuple(engine.get_tensor_shape(name)),
                 np.dtype(trt.nptype(engine.get_tensor_dtype(name))))
                for name in (engine.get_tensor_name(i) for i in range(engine.num_io_tensors))]
    return [(engine.get_binding_name(i), engine.binding_is_input(i), tuple(engine.get_binding_shape(i)),
             np.dtype(trt.nptype(engine.get_binding_dtype(i)))) for i in range(engine.num_bindings)]
