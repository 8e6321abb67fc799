"""Every way an RNN reaches TensorRT builds: the loop path, the drop-in `add_rnn_v2`, the ONNX
parser, and the native `IRNNv2Layer` where the installed TensorRT has it.

For every case of `seeds`, `matrix`, `edge` and drawn cases, each path's network builds to a
serialized plan with the installed builder (TensorRT-RTX in CI, no GPU needed), and its outputs'
names, shapes and dtypes equal the reference's. A builder error fails with the builder's log.
These tests check building, not numbers: no engine runs here. A known builder failure
(`trt_cases/results/known_build_failures.json`) is a strict expected failure: it must fail with its error.
"""

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings

from trt_cases.results import known_mismatches
from trt_cases.networks import trt_api
from trt_cases.cases.case import Case
from trt_cases.networks.engine import BuildError, build_plan
from trt_cases.networks.build import PATHS, PathUnavailable, build_network, build_packed_network
from trt_cases.runners.reference_runner import run_reference
from trt_cases.cases.sets import named, seeds
from trt_cases.cases.strategies import cases

pytestmark = pytest.mark.trt_build
RT = trt_api.load()
if RT is None:
    pytest.skip(trt_api.missing("loop"), allow_module_level=True)
# Every set case builds on every path; `matrix` (384 of the 468 builds) runs in the sweep, beside
# the fp16/bf16 builds of the same sets: the default run keeps seeds and edge.
SET_CASES = [pytest.param(case, id=case.id, marks=[pytest.mark.sweep] if name == "matrix" else [])
             for name in ("seeds", "matrix", "edge") for case in named(name)]
BUILD_PATHS = ("loop", "drop-in", "onnx")


def output_signature(network):
    trt = RT.module
    return [(network.get_output(i).name, tuple(network.get_output(i).shape), network.get_output(i).dtype)
            for i in range(network.num_outputs)], trt.float32


def known_build_failure(case, path):
    return known_mismatches.find_build_failure(f"build-{path}", case.id, known_mismatches.versions())


def check_builds(case, path, **kwargs):
    """The network builds with the reference's outputs, or, if listed as a known builder failure, fails with its error."""
    known = known_build_failure(case, path) if not kwargs else None
    if known:
        with pytest.raises(BuildError, match=re.escape(known["error"])):
            check_builds_unlisted(case, path)
        return
    check_builds_unlisted(case, path, **kwargs)


def check_builds_unlisted(case, path, **kwargs):
    net = build_network(case, path, **kwargs)
    signature, float32 = output_signature(net.network)
    expected = [(name, r.shape, float32) for name, r in zip(("output", "hidden", "cell"), run_reference(case))]
    assert signature == expected, f"{path} network of {case.id}: outputs {signature}, expected {expected}"
    plan, _ = build_plan(net)
    assert len(plan) > 0


@pytest.mark.parametrize("case", SET_CASES)
@pytest.mark.parametrize("path", BUILD_PATHS)
def test_case_sets_build(path, case):
    check_builds(case, path)


KNOWN_FAILING = "relu-uni-skip-L2-H1-S1-E1-B2-fp32-s0"  # drawn by a CI run; TensorRT-RTX 1.7 cannot build it


@pytest.mark.parametrize("path", BUILD_PATHS)
def test_known_builder_failure_is_listed_and_still_fails(path, request):
    """The listed builder failure, as a strict xfail: it fails with its recorded error, or pytest calls it out."""
    case = Case.from_id(KNOWN_FAILING)
    known = known_build_failure(case, path)
    if path == "onnx":
        assert known is None  # the ONNX parser's network of the same case builds
        check_builds_unlisted(case, path)
        return
    if known is None:
        pytest.skip(f"no known builder failure of {RT.label} on the {path} path of {case.id}")
    request.applymarker(pytest.mark.xfail(strict=True, raises=BuildError, reason=f"known builder failure of {RT.label}: "
                                          f"{known['error']} (trt_cases/results/known_build_failures.json)"))
    with pytest.raises(BuildError) as error:
        check_builds_unlisted(case, path)
    assert known["error"] in str(error.value), str(error.value)  # the recorded error, not another one
    raise error.value


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
@pytest.mark.parametrize("path", BUILD_PATHS)
def test_drawn_cases_build(path, case):
    check_builds(case, path)


@pytest.mark.parametrize("case", seeds()[:4] + named("edge")[:6], ids=lambda case: case.id)
def test_weights_as_inputs_build(case):
    check_builds(case, "loop", weights_as_inputs=True)
    net = build_network(case, "loop", weights_as_inputs=True)
    names = {net.network.get_input(i).name for i in range(net.network.num_inputs)}
    K = case.K
    expected = {"input"} | {f"{f}.{i}" for i in range(case.layer_count * K) for f in ("R", "Wb", "Rb")}
    expected |= {f"W.{i}" for i in range(case.layer_count * K) if not (i < K and case.input_mode == "SKIP")}
    expected |= {n for n, on in (("seq_lengths", case.seq_lengths), ("hidden_state", case.hidden_state),
                                  ("cell_state", case.cell_state)) if on}
    assert names == expected and set(net.feeds) == expected


def test_packed_network_builds_with_prefixed_names():
    group = named("matrix")[:6]
    net = build_packed_network(group)
    outputs = {net.network.get_output(i).name: tuple(net.network.get_output(i).shape) for i in range(net.network.num_outputs)}
    for i, case in enumerate(group):
        for name, r in zip(("output", "hidden", "cell"), run_reference(case)):
            assert outputs[f"c{i}.{name}"] == r.shape
    assert len(build_plan(net)[0]) > 0


def test_native_path_is_probed_not_versioned():
    reason = trt_api.missing("native")
    if trt_api.has("INetworkDefinition.add_rnn_v2"):
        assert reason is None
        check_builds(seeds()[0], "native")
    else:
        assert reason == f"INetworkDefinition.add_rnn_v2 not available in {RT.label}"
        with pytest.raises(PathUnavailable, match="add_rnn_v2 not available"):
            build_network(seeds()[0], "native")


@pytest.mark.parametrize("other_builder_alive", [False, True])
def test_builder_error_carries_the_builder_log(other_builder_alive):
    """The log holds the builder's error, also when another builder is alive (TensorRT then logs a warning first)."""
    alive = build_network(seeds()[1], "loop") if other_builder_alive else None  # noqa: F841 (kept alive on purpose)
    net = build_network(seeds()[0], "loop")
    net.network.unmark_output(net.network.get_output(0))
    net.network.unmark_output(net.network.get_output(0))  # no outputs left: the builder refuses
    with pytest.raises(BuildError, match=r"builder returned no plan for case relu-uni-linear-L1-H5-S4-E7-B1x3-fp32-s1 "
                                         r"\(loop path\); builder log:\n(.*\n)*\[ERROR\] "):
        build_plan(net)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(path="bogus"), ValueError, r"unknown network path 'bogus'; allowed: loop, drop-in, onnx, native"),
    (dict(path="onnx", weights_as_inputs=True), ValueError, r"weights_as_inputs is for the loop path only; the onnx path"),
])
def test_bad_path_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_network(seeds()[0], **kwargs)


def test_packing_refuses_onnx():
    with pytest.raises(ValueError, match=r"packing is for the loop and drop-in paths; the onnx path builds one network per case"):
        build_packed_network(seeds()[:2], "onnx")


def test_paths_are_the_documented_four():
    assert PATHS == ("loop", "drop-in", "onnx", "native")


def test_runner_plans_are_cached_and_weights_as_inputs_engines_shared(tmp_path):
    """The TensorRT runner's build-and-cache step, with the real builder (no GPU needed for it)."""
    from trt_cases.runners.trt_runner import TensorRTRunner

    case = seeds()[5]
    runner = TensorRTRunner("loop", "fp32", cache_dir=tmp_path, compute_capability=(9, 0))
    first = runner.serialized_plan(case)
    assert runner.serialized_plan(case) == first and (runner.cache.misses, runner.cache.hits) == (1, 1)
    shared = TensorRTRunner("loop", "fp32", cache_dir=tmp_path, weights_as_inputs=True, compute_capability=(9, 0))
    shared.serialized_plan(case)
    shared.serialized_plan(dataclasses.replace(case, seed=99, weight_scale=0.5))  # other values, same shapes: same engine
    assert (shared.cache.misses, shared.cache.hits) == (1, 1)
    other_gpu = TensorRTRunner("loop", "fp32", cache_dir=tmp_path, compute_capability=(8, 9))
    other_gpu.serialized_plan(case)
    assert other_gpu.cache.misses == 1
