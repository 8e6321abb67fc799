"""Every TensorRT call the suite makes fits the real API of TensorRT 8.6, the newest 10.x and 11.x.

The suite's network paths (loop, drop-in, onnx, weights as inputs, packed), the executor reading
them back, the build check and the TensorRT runner run under TensorRT-RTX with the API recorded
(`trt_api_check.scenarios`). Each recorded read, write and call is then checked against the real
bindings of each version (PyPI wheels, imported over stand-in libraries compiled here; see
`trt_api_check.bindings`): the class and attribute exist, a call fits a pybind11 overload, an enum
member exists. What a version lacks is hidden and the suite is played again, so a probe's fallback
runs and is checked, and an unguarded use fails with the line that made it.

Skips only where no C compiler or no wheel can be had. Wheels are cached in
~/.cache/trt-rnn-conformance/bindings (TRT_RNN_BINDINGS_CACHE).
"""

import pytest

from trt_api_check import bindings, check, scenarios
from trt_api_check.recorder import Event
from trt_cases.networks import trt_api

if trt_api.load() is None:
    pytest.skip(f"recording needs a TensorRT API: {trt_api.missing('loop')}", allow_module_level=True)


@pytest.fixture(scope="module")
def baseline():
    events, failures = scenarios.record()
    assert not failures, "scenarios fail under the installed TensorRT with nothing hidden: " + "; ".join(
        f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures.items())
    return events, failures


def api_of(label):
    try:
        return check.Api(bindings.description(label))
    except bindings.Unavailable as exc:
        pytest.skip(f"TensorRT {label} bindings: {exc}")


@pytest.mark.parametrize("label", list(bindings.VERSIONS))
def test_suite_api_fits_tensorrt(label, baseline):
    api = api_of(label)
    problems, guarded = check.check_version(api, baseline)
    assert not problems, (f"the suite's TensorRT calls that TensorRT {api.version} does not support:\n"
                          + "\n".join(problems) + "\n(also played: " + "; ".join(guarded) + ")")


def test_recording_covers_every_path(baseline):
    """The recording saw each path's distinctive calls, each from a line of the suite."""
    events, _ = baseline
    symbols = {e.symbol for e in events}
    for needed in ("Builder.create_network", "INetworkDefinition.add_loop", "ILoop.add_iterator",
                   "INetworkDefinition.add_input", "INetworkDefinition.add_constant", "OnnxParser.parse",
                   "ISliceLayer.start", "IShuffleLayer.reshape_dims", "IBuilderConfig.clear_flag",
                   "Builder.build_serialized_network", "Runtime.deserialize_cuda_engine",
                   "IExecutionContext.execute_async_v3", "ICudaEngine.get_tensor_dtype",
                   "IExecutionContext.set_input_shape", "IExecutionContext.get_tensor_shape",
                   "IExecutionContext.set_binding_shape", "IExecutionContext.get_binding_shape",
                   "Builder.create_optimization_profile", "IOptimizationProfile.set_shape"):
        assert needed in symbols, f"no scenario used {needed}"
    assert all(e.site.startswith("trt_cases/") for e in events), sorted({e.symbol for e in events if e.site == "?"})


def test_checker_rejects_what_a_version_lacks():
    """The check itself fails on misuse: wrong arity, wrong argument kind, a missing member,
    a read-only write, a write of the wrong kind, an implicit-batch network on 8.6."""
    api = api_of("8.6")
    site = "trt_cases/example.py:1"
    bad = [Event("call", "INetworkDefinition", "add_slice", site, args=("ITensor", "tuple[int]")),
           Event("call", "INetworkDefinition", "add_slice", site, args=("ITensor", "str", "tuple[int]", "tuple[int]")),
           Event("read", "BuilderFlag", "BF16", site),
           Event("write", "ILayer", "num_outputs", site, args=("int",)),
           Event("write", "ITensor", "name", site, args=("int",)),
           Event("call", "Builder", "create_network", site, args=("int",), values=(0,))]
    good = [Event("call", "INetworkDefinition", "add_slice", site, args=("ITensor", "tuple[int]", "list[int]", "Dims")),
            Event("call", "Builder", "create_network", site, args=("int",), values=(1,)),
            Event("write", "ITensor", "name", site, args=("str",))]
    found = check.problems_of(api, bad + good, {})
    assert len(found) == len(bad), found
    assert {symbol for symbol, _ in found} == {e.symbol for e in bad}
