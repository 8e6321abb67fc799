"""No GPU, real `tensorrt` installed: its bindings give no builder (`TypeError: ... factory function returned
nullptr` from `trt.Builder(logger)`). Networks are then built with TensorRT-RTX where it is installed, and skipped
with a reason naming both where it is not; the TensorRT runner never runs TensorRT-RTX in real TensorRT's place.

The real `tensorrt` here is a stand-in module whose `Builder` raises that TypeError, as the bindings do.
"""

import sys
import types

import pytest

from trt_cases.cases.sets import seeds
from trt_cases.networks import trt_api
from trt_cases.networks.build import PathUnavailable, build_network
from trt_cases.run import run_case
from trt_cases.runners.build_check import BuildCheckRunner
from trt_cases.runners.simulated_runner import SimulatedRunner
from trt_cases.runners.trt_runner import TensorRTRunner

NULLPTR = "pybind11::init(): factory function returned nullptr"


CUDA_ERROR = "CUDA initialization failure with error: 35. Please check your CUDA installation"


def builderless_tensorrt():
    """A `tensorrt` module as the real bindings behave on a machine without a usable CUDA device: the builder logs
    TensorRT's CUDA error and its constructor raises the nullptr TypeError."""
    class ILogger:
        def __init__(self):
            pass

    class Builder:
        def __init__(self, logger):
            logger.log(types.SimpleNamespace(name="ERROR"), CUDA_ERROR)
            raise TypeError(NULLPTR)

    names = lambda *members: types.SimpleNamespace(**{m: m for m in members})  # noqa: E731  (enums, as 10.x has them)
    return types.SimpleNamespace(__name__="tensorrt", __version__="10.13.3.9", ILogger=ILogger, Builder=Builder,
                                 BuilderFlag=names("FP16", "BF16", "TF32"), DataType=names("FLOAT", "HALF", "BF16", "INT32"),
                                 NetworkDefinitionCreationFlag=names("EXPLICIT_BATCH", "STRONGLY_TYPED"))


NO_BUILDER = f"TensorRT 10.13.3.9 is installed but gives no builder (no usable CUDA device: TypeError: {NULLPTR}; [ERROR] {CUDA_ERROR})"


@pytest.fixture
def no_gpu_tensorrt(monkeypatch):
    """`tensorrt` is the builder-less stand-in while the test runs; `trt_api.load()` chooses afresh before and after."""
    monkeypatch.setitem(sys.modules, "tensorrt", builderless_tensorrt())
    trt_api.load.cache_clear()
    yield monkeypatch
    trt_api.load.cache_clear()


@pytest.fixture
def rtx_installed():
    rt = trt_api._import_rtx()
    if rt is None:
        pytest.skip("TensorRT-RTX (tensorrt-rtx-cu13-bindings) is not installed: nothing to fall back to")
    return rt


def test_builds_fall_back_to_tensorrt_rtx(no_gpu_tensorrt, rtx_installed):
    rt = trt_api.load()
    assert (rt.flavour, rt.version) == ("TensorRT-RTX", rtx_installed.version)
    assert rt.no_builder == NO_BUILDER
    assert trt_api.missing("loop") is None
    case = seeds()[0]
    net = build_network(case, "loop")
    assert net.network.num_outputs == len(case.output_names)
    record, _ = run_case(BuildCheckRunner("loop"), case)
    assert record.status == "built", record.reason
    record, _ = run_case(SimulatedRunner("loop"), case)
    assert record.status == "passed", record.reason


def test_the_tensorrt_runner_does_not_run_tensorrt_rtx_in_real_tensorrts_place(no_gpu_tensorrt, rtx_installed):
    runner = TensorRTRunner("loop", "fp32", compute_capability=(8, 9))
    assert runner.prepare(seeds()[0]) == (
        f"{NO_BUILDER}; tensorrt-loop-fp32 runs real TensorRT, not the {rtx_installed.label} builds fall back to")


def test_without_tensorrt_rtx_builds_skip_naming_why(no_gpu_tensorrt):
    for name in ("tensorrt_rtx_libs", "tensorrt_rtx_bindings"):
        no_gpu_tensorrt.setitem(sys.modules, name, None)  # None in sys.modules: the import raises ImportError
    rt = trt_api.load()
    assert (rt.flavour, rt.version) == ("TensorRT", "10.13.3.9")
    reason = (f"{NO_BUILDER}; TensorRT-RTX (tensorrt-rtx-cu13-bindings), whose builder runs on the CPU, is not installed")
    assert trt_api.missing("loop") == reason and "\n" not in reason
    with pytest.raises(PathUnavailable, match="gives no builder"):
        build_network(seeds()[0], "loop")
    for runner in (BuildCheckRunner("loop"), SimulatedRunner("loop"), TensorRTRunner("loop", "fp32", compute_capability=(8, 9))):
        record, _ = run_case(runner, seeds()[0])
        assert (record.status, record.reason) == ("skipped", reason), runner.name


def test_a_tensorrt_that_gives_a_builder_is_kept(monkeypatch):
    """With a usable device real TensorRT stays the choice, whatever else is installed."""
    module = builderless_tensorrt()
    module.Builder = lambda logger: object()
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    trt_api.load.cache_clear()
    try:
        assert trt_api.load() == trt_api.TensorRT(module, "TensorRT", "10.13.3.9", None)
    finally:
        trt_api.load.cache_clear()
