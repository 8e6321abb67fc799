"""`pytest -m gpu`: engines and cuDNN on the GPU against the reference, per case, path and precision.

Backends: TensorRT on every network path (loop, drop-in, ONNX parser, native where it exists) at fp32, TF32,
fp16 and bf16 (half engines also with each typing forced), and PyTorch's cuDNN RNNs at float32, TF32 and
float16 as a second GPU implementation. Cases: the IRNNv2 sets (`seeds`, `matrix`, `edge`, `dynamic`) and the
ONNX-operator set `onnx`. Which case runs on which backend, on what kind of engine and in which tier is
`tests/gpu_plan.py`: `pytest -m gpu` builds at most about 400 engines cold; `pytest -m "gpu and sweep"` makes
every other comparison. Each (backend, case) is one test; a backend that cannot run here skips with a one-line
reason, and the run ends with a summary of what ran where and how many engines served it. Tolerances follow
each case's sensitivity (`trt_cases.results.compare`); a failure lists the other GPU backends on the same case.
Streamed cases (the `streaming` set: an engine called chunk by chunk, its states fed back; cuDNN as torch called
chunk by chunk with `(h, c)` carried) run as any other, through `run_case`.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

import gpu_plan
from trt_cases.run import run_case, streaming
from trt_cases.runners import cuda_memory
from trt_cases.results import known_mismatches
from trt_cases.results.compare import compare, side_by_side
from trt_cases.results.records import output_key
from trt_cases.cases.sets import named
from trt_cases.cases.strategies import cases, cases_on

pytestmark = pytest.mark.gpu
BACKENDS = {**gpu_plan.gpu_backends(), **gpu_plan.typed_backends()}
CROSS_CHECK = ("torch-cuda-float32", "tensorrt-loop-fp32", "tensorrt-onnx-fp32")
KNOWN = known_mismatches.load()
PAIRS = [pytest.param(entry.backend, case, entry.share, id=f"{entry.backend}{'-shared' if entry.share else ''}-{case.id}",
                      marks=[pytest.mark.sweep] if entry.tier == gpu_plan.THOROUGH else [])
         for entry in gpu_plan.entries() for case in gpu_plan.cases_of(entry)]


@pytest.fixture(scope="module")
def runners(runner_options, conformance_log):
    """One runner per (backend, shared) for the module, made with the session's runner options, opened on first use;
    their engine counts go to the end-of-run summary."""
    opened = Runners(runner_options)
    yield opened
    for (name, _), runner in opened.items():
        runner.close()
        conformance_log.add_engine_counts(name, getattr(runner, "engine_counts", {}))


class Runners(dict):
    def __init__(self, options):
        super().__init__()
        self.options = options

    def get_open(self, name, share=False):
        if (name, share) not in self:
            spec = BACKENDS[name]
            runner = spec.create(**self.options, **({"share_engines": True} if share and "share_engines" in spec.options else {}))
            if share:
                runner.plan(gpu_plan.shared_cases(name))
            if runner.prepare(probe_case(name)) is None:
                runner.open()
            self[(name, share)] = runner
        return self[(name, share)]


def probe_case(name):
    """A small case in the precision this backend takes, to ask whether it can run at all."""
    return dataclasses.replace(named("seeds")[0], precision=BACKENDS[name].case_precisions[0])


def check(runners, name, case, conformance_log, share=False):
    """`case` on backend `name` through the run engine: a test that passes, fails, skips or xfails as its record."""
    runner = runners.get_open(name, share)
    case = dataclasses.replace(case, precision=BACKENDS[name].case_precisions[0])
    record, outputs = run_case(runner, case, xfails=KNOWN)
    conformance_log.add(record, outputs)
    if record.status == "skipped":
        pytest.skip(record.reason)
    if record.status == "error":
        pytest.fail(f"{name} raised on {case.id}: {record.reason}")
    if record.status == "xfail":
        pytest.xfail(f"known mismatch: {record.reason}")
    if record.status == "xpass":
        pytest.fail(f"[XPASS(strict)] {name} agrees on {case.id}, but it is listed as a known mismatch: {record.reason}")
    if record.status == "failed":
        expected = case.reference()
        actual = tuple(outputs[output_key(name, case.id, n)] for n in case.output_names)
        results, found = {name: compare(case, expected, actual, name, runner.precision)}, {name: actual}
        for other in CROSS_CHECK:
            peer = runners.get_open(other)
            if other != name and peer.prepare(case) is None:
                found[other] = streaming.infer(peer, case)  # a streamed case streamed on the peer too
                results[other] = compare(case, expected, found[other], other, peer.precision)
        pytest.fail(results[name].message() + "\n" + side_by_side(case, results, found))


@pytest.mark.parametrize("name,case,share", PAIRS)
def test_conformance(runners, name, case, share, conformance_log):
    check(runners, name, case, conformance_log, share)


@pytest.mark.parametrize("name", BACKENDS)
def test_model_nodes(runners, name, model_case, conformance_log):
    """A node of the user's model (`--onnx-model`), alone, on its own weights: on the TensorRT ONNX-parser backends,
    and on cuDNN where torch can express the node."""
    spec = BACKENDS[name]
    if not (spec.kind == "cudnn" or spec.path == "onnx"):
        pytest.skip(f"{name} runs IRNNv2 cases only; a model's ONNX node runs on the tensorrt-onnx-* and torch-cuda-* backends")
    check(runners, name, model_case, conformance_log)


HYPOTHESIS = [pytest.param("torch-cuda-float32", False, cases(), id="torch-cuda-float32"),
              pytest.param("tensorrt-loop-fp32", True, cases_on(named("matrix")), id="tensorrt-loop-fp32-shared"),
              pytest.param("tensorrt-onnx-fp32", False, cases(), id="tensorrt-onnx-fp32", marks=pytest.mark.sweep)]


@pytest.mark.parametrize("name,share,drawn", HYPOTHESIS)
def test_hypothesis_cases(runners, name, share, drawn, conformance_log):
    """Drawn cases: on cuDNN any case; on the shared loop engines cases of `matrix`'s structures inside their
    profiles (no new engine); on the ONNX path one engine each (the thorough tier)."""
    runner = runners.get_open(name, share)
    reason = runner.prepare(probe_case(name))
    if reason:
        record, _ = run_case(runner, probe_case(name), prepared=True, reason=reason)
        conformance_log.add(record)
        pytest.skip(reason)
    planned = gpu_plan.shared_cases(name) if share else []

    @settings(max_examples=max(200, settings.default.max_examples))
    @given(case=drawn)
    def property_(case):
        if share:
            runner.plan(planned + [case])  # the drawn case joins its structure's engine; the profiles stay
        check(runners, name, case, conformance_log, share)

    property_()


def test_cuda_round_trip():
    reason = cuda_memory.missing()
    if reason:
        pytest.skip(reason)
    rng = np.random.default_rng(0)
    for array in (rng.standard_normal((3, 5, 7)).astype(np.float32), rng.integers(-9, 9, 1000).astype(np.int32),
                  rng.standard_normal(17).astype(np.float16)):
        np.testing.assert_array_equal(cuda_memory.round_trip(array), array)


def test_poisoned_buffer_reads_back_as_nan():
    reason = cuda_memory.missing()
    if reason:
        pytest.skip(reason)
    out = np.zeros(64, dtype=np.float32)
    with cuda_memory.Stream() as stream:
        buffer = stream.alloc(out.nbytes)
        buffer.poison(stream.handle)
        buffer.download(out, stream.handle)
        stream.synchronize()
    assert np.all(np.isnan(out))


def test_cuda_errors_are_raised_with_their_name():
    reason = cuda_memory.missing()
    if reason:
        pytest.skip(reason)
    with pytest.raises(cuda_memory.CudaError, match=r"cudaMalloc\(.*\) failed: cudaErrorMemoryAllocation"):
        cuda_memory.DeviceBuffer(1 << 50)


def test_device_memory_is_stable_over_1000_cases(runners):
    """1000 cases through the cuDNN runner and the cuda-python buffers leave device memory where it was."""
    reason = cuda_memory.missing()
    runner = runners.get_open("torch-cuda-float32")
    reason = reason or runner.prepare(probe_case("torch-cuda-float32"))
    if reason:
        pytest.skip(reason)
    import torch

    group = named("matrix")
    for case in group[:8]:  # warm up allocators and cuDNN handles
        runner.infer(case)
        cuda_memory.round_trip(case.materialise().input.astype(np.float32))
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    before = cuda_memory.device_memory_used()
    for i in range(1000):
        case = group[i % len(group)]
        runner.infer(case)
        cuda_memory.round_trip(case.materialise().input.astype(np.float32))
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    growth = cuda_memory.device_memory_used() - before
    assert growth <= 2 << 20, f"device memory grew by {growth} bytes over 1000 cases"


class StandInContextV2:
    """A TensorRT 8 style context whose 'engine' copies `input` to `output` on the device, nothing else."""

    def __init__(self, tensors):
        self.tensors, self.addresses = tensors, {}

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr

    def _copy(self, src, dst, nbytes, stream):
        rt = cuda_memory.cudart()
        cuda_memory.check(rt.cudaMemcpyAsync(dst, src, nbytes, rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
        return True

    def execute_async_v2(self, bindings, stream):
        names = [t[0] for t in self.tensors]
        return self._copy(bindings[names.index("input")], bindings[names.index("output")], 4 * 2 * 3, stream)


class StandInContextV3(StandInContextV2):
    """A TensorRT 10 style context: tensor addresses and execute_async_v3."""

    def execute_async_v3(self, stream):
        return self._copy(self.addresses["input"], self.addresses["output"], 4 * 2 * 3, stream)


class StandInEngine:
    def __init__(self, tensors, v3):
        self.tensors, self.v3 = tensors, v3

    def create_execution_context(self):
        return (StandInContextV3 if self.v3 else StandInContextV2)(self.tensors)


@pytest.mark.parametrize("v3", [True, False], ids=["execute_async_v3", "execute_async_v2"])
def test_execute_uploads_runs_and_downloads_with_poisoned_outputs(v3):
    """The TensorRT runner's execution path on real device buffers, with a stand-in engine (no TensorRT needed)."""
    reason = cuda_memory.missing()
    if reason:
        pytest.skip(reason)
    from trt_cases.runners.trt_runner import execute

    tensors = [("input", True, (2, 3), np.dtype(np.float32)), ("output", False, (2, 3), np.dtype(np.float32)),
               ("hidden", False, (2, 1, 3), np.dtype(np.float32))]
    x = np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5
    with cuda_memory.Stream() as stream:
        output, hidden = execute(StandInEngine(tensors, v3), {"input": x}, stream, tensors)
        assert stream.buffers  # owned until released
    np.testing.assert_array_equal(output, x)
    assert np.all(np.isnan(hidden)), "an output the engine never wrote must read back as NaN"


SWEEP_SHAPES = [dataclasses.replace(named("matrix")[i], seed=0) for i in (5, 45, 77, 120)]  # one per op


@pytest.mark.parametrize("shape", SWEEP_SHAPES, ids=lambda case: case.op.lower())
def test_weights_as_inputs_sweep(shape, conformance_log, runner_options):
    """One engine per shape (weights are network inputs), fed hundreds of drawn weight sets."""
    from hypothesis import strategies as st

    from trt_cases.runners.trt_runner import TensorRTRunner

    runner = TensorRTRunner("loop", "fp32", weights_as_inputs=True, **{k: v for k, v in runner_options.items() if v is not None})
    reason = runner.prepare(shape)
    if reason:
        conformance_log.add(run_case(runner, shape, prepared=True, reason=reason)[0])
        pytest.skip(reason)
    with runner:
        @settings(max_examples=max(200, settings.default.max_examples))
        @given(seed=st.integers(0, 2**31 - 1), weight_scale=st.sampled_from((0.25, 0.5, 1.0)))
        def property_(seed, weight_scale):
            case = dataclasses.replace(shape, seed=seed, weight_scale=weight_scale)
            record, outputs = run_case(runner, case)
            conformance_log.add(record, outputs)
            assert record.status == "passed", f"{record.status}: {record.reason or record.max_abs}"

        property_()
    assert runner.cache.misses <= 1, "weights-as-inputs engines must be built once per shape"
