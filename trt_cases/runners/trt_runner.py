"""TensorRT engines run on the GPU: build (or load from the engine cache), deserialize once, execute.

`TensorRTRunner(path, precision)` builds the case's network along `path` ("loop", "drop-in",
"onnx", "native") as an engine of `precision` ("fp32" with TF32 off, "tf32", "fp16", "bf16"),
runs it with cuda-python (`execute_async_v3` with tensor addresses, or `execute_async_v2`
bindings on a TensorRT 8 that lacks v3, found by probing), poisons every output before the run,
and returns float64 outputs in `IRNNv2Layer` layout.

Typing (the record's `typing` field): where the builder has `BuilderFlag.FP16`/`BF16` (TensorRT
8.6 to 10.x) a half engine is the float32 network built with that flag ("weak"); where it does
not (TensorRT 11, TensorRT-RTX) it is a strongly typed network whose tensors are half ("strong").
`typing="weak"|"strong"` (or `TRT_RNN_TYPING`) forces one; a typing or precision this TensorRT
cannot express is a skip naming what is missing, never an fp32 engine reported as half.

Use it as a context manager: it owns the stream, device buffers and the deserialised engines with
their execution contexts (at most `kept_engines`, least recently used evicted), and frees them on
exit. Plans are cached on disk, the builder's timing cache beside them.

Dynamic engines: a dynamic case (`case.profile`) runs on the engine of `case.engine_case` built with its profile,
one engine for every run shape; with `share_engines`, a static IRNNv2 case on the loop path runs on its shared
engine (`engine_plan`: weights, lengths and states as inputs, a covering profile), as `build-loop*` plans it. The
engine's key includes the profile; before each execution every input's dims are set on the context
(`set_input_shape`, or `set_binding_shape` where the context has no `execute_async_v3`) and the outputs are sized
from the context. A run shape outside the engine's profile is refused before anything is built or run.
`engine_counts` says how many engines were built, loaded from the disk cache and deserialised, and how many
executions ran.
"""

from __future__ import annotations

import collections
import os
import pathlib

import numpy as np

from . import cuda_memory, engine_plan
from ..networks import build as networks, trt_api
from ..cases.half import bf16_bits, bf16_values  # noqa: F401  (bf16 I/O as bit patterns; re-exported for tests)
from ..cases.case import Case
from ..cases.case import OUTPUT_NAMES
from ..networks.engine import build_plan
from ..networks.engine_cache import EngineCache, LoadedEngines, TimingCacheFile, cache_key, shape_signature, with_profile
from ..cases.onnx_case import OnnxCase
from . import ONLY_ONNX
from .base import Runner
from .onnx_probe import node_refusal, parser_refusal

PRECISIONS = {"fp32": "float32", "tf32": "tf32", "fp16": "float16", "bf16": "bfloat16"}  # -> tolerance row
FLAGS = {"fp32": (), "tf32": ("TF32",), "fp16": ("FP16",), "bf16": ("BF16",)}  # weak typing's builder flags
HALF_TYPES = {"fp16": "HALF", "bf16": "BF16"}  # DataType of a strongly typed half network
TYPINGS = ("auto", "weak", "strong")
IOS = ("network", "float32")  # half engines: I/O in the network's type, or float32 with casts (AutoCast's form)
KEPT_ENGINES = 16
DEFAULT_CACHE = pathlib.Path(os.environ.get("TRT_RNN_ENGINE_CACHE", pathlib.Path.home() / ".cache" / "trt-rnn-conformance"))
TYPING_ENV, OPT_LEVEL_ENV = "TRT_RNN_TYPING", "TRT_RNN_BUILDER_OPT_LEVEL"


def compute_capability() -> tuple[int, int]:
    rt = cuda_memory.cudart()
    device = cuda_memory.check(rt.cudaGetDevice(), "cudaGetDevice")
    attr = rt.cudaDeviceAttr
    return (cuda_memory.check(rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute"),
            cuda_memory.check(rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute"))


def optimization_level_of(value, name: str = "builder_optimization_level") -> int | None:
    """`value` (int, digit string, None or "") as a builder optimisation level 0-5; ValueError naming `name` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise ValueError(f"{name}={value!r}; allowed: 0 to 5 (TensorRT's builder optimisation levels)")
    return value


def typing_for(precision: str, requested: str, rt) -> tuple[str, str | None]:
    """The typing ("weak" or "strong") an engine of `precision` is built with, and why it cannot be (or None).

    Weak typing exists where `BuilderFlag.FP16` does (TensorRT 11 and TensorRT-RTX removed the two
    together); strong typing where `NetworkDefinitionCreationFlag.STRONGLY_TYPED` exists or weak does not.
    """
    trt = rt.module
    weak = hasattr(trt.BuilderFlag, "FP16")
    strong = hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED") or not weak
    typing = ("weak" if weak else "strong") if requested == "auto" else requested
    if typing == "weak":
        absent = [flag for flag in FLAGS[precision] if not hasattr(trt.BuilderFlag, flag)]
        if not weak:
            return typing, (f"weak typing not available in {rt.label}: BuilderFlag.FP16 is missing "
                            f"(its networks are strongly typed; use typing strong)")
        if absent:
            return typing, f"BuilderFlag.{absent[0]} not available in {rt.label} (weak typing cannot build {precision})"
    else:
        if not strong:
            return typing, f"strongly typed networks not available in {rt.label}: NetworkDefinitionCreationFlag.STRONGLY_TYPED is missing"
        if precision in HALF_TYPES and not hasattr(trt.DataType, HALF_TYPES[precision]):
            return typing, f"DataType.{HALF_TYPES[precision]} not available in {rt.label} (no {precision} tensors)"
        if precision == "tf32" and not hasattr(trt.BuilderFlag, "TF32"):
            return typing, f"BuilderFlag.TF32 not available in {rt.label}"
    return typing, None


class TensorRTRunner(Runner):
    """A TensorRT engine per static case, per dynamic case's profile or per shared structure (cached on disk, kept
    deserialised while used), run on the current CUDA device."""
    kind = "tensorrt"

    def __init__(self, path: str = "loop", precision: str = "fp32", *, cache_dir=None, weights_as_inputs: bool = False,
                 compute_capability=None, typing: str | None = None, io: str = "network",
                 builder_optimization_level=None, kept_engines: int = KEPT_ENGINES, timing_cache: bool = True,
                 share_engines: bool = False):
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; allowed: {', '.join(PRECISIONS)}")
        requested = typing if typing is not None else os.environ.get(TYPING_ENV) or "auto"
        if requested not in TYPINGS:
            source = "typing" if typing is not None else TYPING_ENV
            raise ValueError(f"{source}={requested!r}; allowed: {', '.join(TYPINGS)}")
        if io not in IOS:
            raise ValueError(f"io={io!r}; allowed: {', '.join(IOS)}")
        self.optimization_level = (optimization_level_of(os.environ.get(OPT_LEVEL_ENV), OPT_LEVEL_ENV)
                                   if builder_optimization_level is None else optimization_level_of(builder_optimization_level))
        self.path, self.engine_precision, self.weights_as_inputs = path, precision, weights_as_inputs
        self.share_engines, self._shared = share_engines, engine_plan.Planned(share_engines)
        self.precision = PRECISIONS[precision]
        rt = trt_api.load()
        self.requested_typing = requested
        self.typing, self._typing_reason = typing_for(precision, requested, rt) if rt else ("", None)
        half_network = self.typing == "strong" and precision in HALF_TYPES
        self.network_precision = precision if half_network else "fp32"
        self.io = io if half_network else ("float32" if precision in HALF_TYPES else "network")
        self.name = (f"tensorrt-{path}-{precision}" + ("-float32-io" if io == "float32" and precision in HALF_TYPES else "")
                     + (f"-{requested}" if requested != "auto" else "") + ("-weights-as-inputs" if weights_as_inputs else ""))
        root = DEFAULT_CACHE if cache_dir is None else cache_dir
        self.cache = EngineCache(root)
        self.kept_engines, self.timing_cache_root = kept_engines, root if timing_cache else None
        self.loaded = LoadedEngines(self._deserialize, self._describe, kept_engines)  # validates kept_engines
        self.build_seconds = 0.0
        self.engines_built = self.engines_loaded = self.executions = 0
        self._kept_feeds = collections.OrderedDict()
        self._runtime = self._stream = self._logger = None
        self._compute_capability = compute_capability  # None: ask the CUDA device (tests on CPU pass one)

    def prepare(self, case: Case) -> str | None:
        if isinstance(case, OnnxCase) and self.path != "onnx":
            return ONLY_ONNX
        reason = trt_api.missing(self.path) or self._typing_reason
        if reason:
            return reason
        rt = trt_api.load()
        if rt.no_builder:  # real TensorRT is installed: this runner never runs TensorRT-RTX in its place
            return f"{rt.no_builder}; {self.name} runs real TensorRT, not the {rt.label} builds fall back to"
        if self.path == "onnx":  # a parser that refuses this node, or this kind of half model: its own words
            reason = (node_refusal(case, self.network_precision, self.io)[0] if isinstance(case, OnnxCase)
                      else parser_refusal(case, self.network_precision, self.io))
            if reason:
                return reason
        if self.optimization_level is not None and not hasattr(rt.module.IBuilderConfig, "builder_optimization_level"):
            return f"IBuilderConfig.builder_optimization_level not available in {rt.label}"
        reason = cuda_memory.missing()
        if reason:
            return reason
        capability = self._compute_capability or compute_capability()
        if rt.flavour == "TensorRT-RTX" and capability[0] == 9:
            return f"{rt.label}'s runtime does not run on compute capability {'.'.join(map(str, capability))} GPUs"
        if case.precision != self.engine_precision:
            return f"case precision {case.precision} differs from the engine's {self.engine_precision}: run {self.engine_precision} cases"
        return None

    def _new_runtime(self):
        trt = trt_api.load().module
        self._logger = trt_api.CapturingLogger(trt)
        return trt.Runtime(self._logger)

    def open(self) -> None:
        self._runtime = self._new_runtime()
        self._stream = cuda_memory.Stream()

    def close(self) -> None:
        self.loaded.clear()  # contexts and engines before the runtime that made them
        self._kept_feeds.clear()
        if self._stream is not None:
            self._stream.__exit__(None, None, None)
        self._stream = self._runtime = None

    def plan(self, cases) -> None:
        """With `share_engines`, the shared engines of `cases` (`engine_plan`), exactly as `build-loop*` plans them."""
        if self.share_engines:
            self._shared.plan(cases, self.path, self.network_precision, self.typing, self.io)
            self._kept_feeds.clear()  # a case now planned onto a shared engine is fed that engine's inputs

    def engine_fields(self, case: Case) -> dict:
        """What the engine for `case` depends on: the key of the disk cache and of the kept engines. A shared engine
        is keyed by its structure and profile, a dynamic one by the case at its opt shape and its profile (one key
        for every run shape); a static engine's fields have no profile."""
        rt = trt_api.load()
        capability = self._compute_capability or compute_capability()
        shared, built = self._shared.get(case), case.engine_case
        fields = {"tensorrt": rt.label, "compute_capability": list(capability), "path": self.path,
                  "precision": self.engine_precision, "typing": self.typing, "io": self.io,
                  "builder_optimization_level": self.optimization_level,
                  "weights_as_inputs": self.weights_as_inputs or shared is not None}
        if shared is not None:
            return with_profile({**fields, "shared": shared.key}, shared.profile)
        return with_profile({**fields, "case": shape_signature(built) if self.weights_as_inputs else built.to_json()},
                            case.profile)

    def engine_key(self, case: Case) -> str:
        """The engine cache key of `case`'s engine; empty where no CUDA device or TensorRT answers (nothing runs)."""
        if trt_api.load() is None or (self._compute_capability is None and cuda_memory.missing()):
            return ""
        return cache_key(self.engine_fields(case))

    def run_shape(self, case) -> dict | None:
        return self._shared.run_shape(case)

    def profile(self, case: Case):
        """The optimization profile of the engine that runs `case` (None: a static engine)."""
        shared = self._shared.get(case)
        return shared.profile if shared is not None else case.profile

    def network(self, case: Case, materials=None):
        """The case's network as this runner builds it (typing, precision, I/O), its tensor types checked. A dynamic
        case's is its engine's network (`engine_case`, the profile), fed the case's own data at its run shape."""
        dynamic = case.profile is not None
        if dynamic and materials is None and self.weights_as_inputs:
            materials = case.materialise()  # its weights fed with its data (the loop path takes data of any shape)
        net = self._checked(networks.build_network(
            case.engine_case, self.path, precision=self.network_precision, io=self.io,
            strongly_typed=self.typing == "strong", weights_as_inputs=self.weights_as_inputs,
            materials=materials if self.weights_as_inputs or not dynamic else None,
            profile=case.profile), case)  # its tensor types checked there (`networks.check_types`)
        return net._replace(feeds=self.feeds(case, materials)) if dynamic and not self.weights_as_inputs else net

    def engine_network(self, case: Case):
        """The network the engine that runs `case` is built from: its shared engine's, or its own (`network`)."""
        shared = self._shared.get(case)
        if shared is None:
            return self.network(case)
        return self._checked(engine_plan.network(shared, self.path, self.network_precision, self.io,
                                                 strongly_typed=self.typing == "strong"), case)

    def _checked(self, net, case: Case):
        if (net.precision, net.typing) != (self.network_precision, self.typing):
            raise TypeError(f"{self.name}: the {self.path} network of {case.id} is {net.precision}, {net.typing}ly typed; "
                            f"this engine needs {self.network_precision}, {self.typing}ly typed")
        return net

    def builder_flags(self) -> tuple:
        """Weak typing: the precision's BuilderFlag; strong typing: the network's types decide, TF32 aside."""
        return FLAGS[self.engine_precision] if self.typing == "weak" or self.engine_precision == "tf32" else ()

    def serialized_plan(self, case: Case) -> bytes:
        """The serialized engine that runs `case`, from the disk cache or freshly built (counted either way)."""
        fields = self.engine_fields(case)

        def build():
            net = self.engine_network(case)
            timing = None
            if self.timing_cache_root is not None:
                timing = TimingCacheFile(self.timing_cache_root, {k: fields[k] for k in ("tensorrt", "compute_capability")})
            plan, seconds = build_plan(net, flags=self.builder_flags(), strict_fp32=self.engine_precision == "fp32",
                                       optimization_level=self.optimization_level, timing_cache=timing)
            self.build_seconds += seconds
            self.engines_built += 1
            return plan
        plan, cached = self.cache.get_or_build(fields, build)
        self.engines_loaded += cached
        return plan

    @property
    def engines_deserialized(self) -> int:
        return self.loaded.deserializations

    @property
    def engine_counts(self) -> dict:
        """Engines built, loaded from the disk cache and deserialised, and executions run, so far (keys as `run`
        prints them: "built" as the build check's)."""
        return {"built": self.engines_built, "loaded_from_cache": self.engines_loaded,
                "deserialized": self.engines_deserialized, "executions": self.executions}

    def _deserialize(self, plan: bytes):
        engine = self._runtime.deserialize_cuda_engine(plan)
        if engine is None:
            log = self._logger.text() if self._logger is not None else ""
            raise RuntimeError(f"{self.name}: an engine failed to deserialize:\n{log}")
        return engine

    def _describe(self, engine):
        """The engine's I/O tensors, refusing an engine whose input is not in the type this runner built."""
        tensors = io_tensors(engine)
        want = {"fp16": np.float16, "bf16": BF16_BITS}.get(self.engine_precision) if self.io == "network" else None
        want = np.dtype(want or np.float32)
        got = next((dtype for name, is_input, _, dtype in tensors if name in ("input", "X")), want)  # X: an OnnxCase
        if got != want:
            raise TypeError(f"{self.name}: the engine's input is {got.name}; this {self.typing}ly typed "
                            f"{self.engine_precision} engine with {self.io} I/O should take {want.name}")
        return tensors

    def feeds(self, case: Case, materials=None) -> dict:
        """What the engine that runs `case` is fed (on `materials` if given): on a shared engine its data with every
        input explicit and its weights; on a dynamic constant-weight engine its data at its run shape."""
        shared = self._shared.get(case)
        if shared is not None:
            return engine_plan.feeds(case, self.path, self.network_precision, self.io, materials,
                                     strongly_typed=self.typing == "strong")
        if case.profile is not None and not self.weights_as_inputs:
            return networks.network_feeds(case.materialise() if materials is None else materials)
        return self.network(case, materials).feeds

    def _feeds(self, case: Case) -> dict:
        """The case's feeds, kept for the last `kept_engines` cases (building a network to get them costs ms to s)."""
        if case in self._kept_feeds:
            self._kept_feeds.move_to_end(case)
        else:
            self._kept_feeds[case] = self.feeds(case)
            while len(self._kept_feeds) > self.kept_engines:
                self._kept_feeds.popitem(last=False)
        return self._kept_feeds[case]

    def infer(self, case: Case, materials=None):
        if self._stream is None:
            raise RuntimeError(f"{self.name}: use the runner as a context manager (`with TensorRTRunner(...) as runner:`)")
        feeds = self._feeds(case) if materials is None else self.feeds(case, materials)
        profile = self.profile(case)
        if profile is not None:  # checked before anything is built, deserialised or run
            reason = profile.contains({name: np.shape(feeds[name]) for name in profile.names if name in feeds})
            if reason:
                raise ValueError(f"{self.name}: {case.id} is not run on its engine: {reason}")
        loaded = self.loaded.get(self.engine_fields(case), lambda: self.serialized_plan(case))
        try:
            self.executions += 1
            if isinstance(case, OnnxCase):  # Y, Y_h[, Y_c] by ONNX's names
                outputs = execute_all(loaded.engine, feeds, self._stream, loaded.tensors, loaded.context)
                return tuple(outputs[name] for name in case.output_names)
            return execute(loaded.engine, feeds, self._stream, loaded.tensors, loaded.context)
        finally:
            self._stream.release()


BF16_BITS = np.uint16  # TensorRT has no 16-bit integer type: a uint16 I/O tensor here is a BF16 one, as bit patterns


def _host_array(value, dtype) -> np.ndarray:
    if dtype == BF16_BITS:
        value = np.asarray(value)
        return np.ascontiguousarray(value) if value.dtype == BF16_BITS else bf16_bits(value)
    return np.ascontiguousarray(value, dtype=dtype)


def execute(engine, feeds: dict, stream: cuda_memory.Stream, tensors=None, context=None):
    """Run `engine` once on `feeds`; returns its outputs (`output`, `hidden`, `cell`) as float64.

    Feeds are converted to each input's engine type (float16, bfloat16 as bit patterns, float32,
    int32). `tensors` is `io_tensors(engine)` and `context` a new execution context unless given
    (the runner passes its kept ones; tests pass them for a stand-in engine).
    """
    outputs = execute_all(engine, feeds, stream, tensors, context)
    return tuple(outputs[name] for name in OUTPUT_NAMES if name in outputs)


def execute_all(engine, feeds: dict, stream: cuda_memory.Stream, tensors=None, context=None) -> dict:
    """Run `engine` once on `feeds`; returns every output by name as float64 (trace marks extra ones).

    On a dynamic engine (a -1 dim in its I/O) every input's dims are set on the context first, and the outputs
    are sized from the context's answer for those dims (`set_input_shapes`).
    """
    context = engine.create_execution_context() if context is None else context
    names, outputs, buffers = io_tensors(engine) if tensors is None else tensors, {}, {}
    arrays = {name: _host_array(feeds[name], dtype) for name, is_input, _, dtype in names if is_input}
    dynamic = any(d < 0 for _, _, shape, _ in names for d in shape)
    shapes = set_input_shapes(context, names, arrays) if dynamic else {name: shape for name, _, shape, _ in names}
    for name, is_input, shape, dtype in names:
        if is_input:
            array = arrays[name]
            if len(array.shape) != len(shape) or any(d not in (-1, a) for d, a in zip(shape, array.shape)):
                raise ValueError(f"input {name} has shape {array.shape}; the engine expects {shape}")
            buffers[name] = stream.alloc(array.nbytes)
            buffers[name].upload(array, stream.handle)
        else:
            outputs[name] = np.empty(shapes[name], dtype=dtype)
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
    return {name: (bf16_values(array) if array.dtype == BF16_BITS else array).astype(np.float64)
            for name, array in outputs.items()}


def set_input_shapes(context, tensors, arrays: dict) -> dict:
    """Set every input's dims (`arrays[name].shape`) on `context` and return every output's dims as the context
    infers them: `set_input_shape`/`get_tensor_shape` where the context has `execute_async_v3`, else TensorRT 8's
    `set_binding_shape`/`get_binding_shape` by binding index (engine order). Dims the context refuses raise."""
    tensor_api = hasattr(context, "execute_async_v3")
    for index, (name, is_input, shape, _) in enumerate(tensors):
        if is_input:
            dims = tuple(int(d) for d in arrays[name].shape)
            ok = context.set_input_shape(name, dims) if tensor_api else context.set_binding_shape(index, dims)
            if ok is False:
                raise ValueError(f"input {name}: the execution context refuses dims {dims} (the engine's are {shape})")
    out = {}
    for index, (name, is_input, _, _) in enumerate(tensors):
        if not is_input:
            dims = tuple(context.get_tensor_shape(name) if tensor_api else context.get_binding_shape(index))
            if any(d < 0 for d in dims):
                raise RuntimeError(f"output {name}: the execution context leaves dims {dims} unknown after every "
                                   f"input's dims were set")
            out[name] = dims
    return out


def numpy_dtype(trt, data_type) -> np.dtype:
    """The host dtype of a TensorRT `DataType`: BF16 (which numpy lacks) as uint16 bit patterns."""
    bf16 = getattr(trt.DataType, "BF16", None)  # TensorRT 8.6 has none
    if bf16 is not None and data_type == bf16:
        return np.dtype(BF16_BITS)
    return np.dtype(trt.nptype(data_type))


def io_tensors(engine):
    """`[(name, is_input, shape, numpy dtype)]` in engine order, through whichever API this TensorRT has."""
    trt = trt_api.load().module
    if hasattr(engine, "num_io_tensors"):
        return [(name, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT, tuple(engine.get_tensor_shape(name)),
                 numpy_dtype(trt, engine.get_tensor_dtype(name)))
                for name in (engine.get_tensor_name(i) for i in range(engine.num_io_tensors))]
    return [(engine.get_binding_name(i), engine.binding_is_input(i), tuple(engine.get_binding_shape(i)),
             numpy_dtype(trt, engine.get_binding_dtype(i))) for i in range(engine.num_bindings)]
