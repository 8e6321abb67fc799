"""Dynamic-shape networks: `-1` batch and sequence dims plus an optimization profile, so that one engine runs
at many shapes (and, with weights as inputs, many weight sets).

The profile's bad input (each kind, its exact one-line message); the ONNX export's dynamic model run by
onnxruntime (independent of the builders here) at every run shape of a case, against the float64 reference
on that shape's data; each path's dynamic network (its inputs' dims), built to a plan with the installed
builder (TensorRT-RTX in CI); the engine-structure key (equal keys: the same network, one engine for both
cases). A sweep builds every structure of the `dynamic` set on every path and precision; a known builder failure or ONNX parser defect
(the same as for static networks: none is new with dynamic shapes) must fail with its words.
"""

import dataclasses
import re

import numpy as np
import onnxruntime
import pytest

from trt_cases.cases.case import Case
from trt_cases.cases.sets import dynamic_structures
from trt_cases.cases.profile import OptimizationProfile
from trt_cases.cases.case import materials_at
from trt_cases.cases.dynamic import case_at, dynamic_inputs, feed_shapes, profile_for, run_shapes
from trt_cases.networks import profiles, trt_api
from trt_cases.networks.engine_cache import cache_key, engine_structure, with_profile
from trt_cases.networks.onnx_export import export, feeds
from trt_cases.results import known_mismatches

RT = trt_api.load()
builder = pytest.mark.skipif(RT is None, reason=trt_api.missing("loop") if RT is None else "")
LSTM = Case("LSTM", layer_count=2, direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True,
            batch_dims=(2, 3), max_seq_length=4, hidden_size=5, data_length=3)
GRU_SKIP = Case("GRU", input_mode="SKIP", hidden_size=4, data_length=4, batch_dims=(3,), max_seq_length=5,
                seq_lengths=True)
RELU_UNBATCHED = Case("RELU", batch_dims=(), max_seq_length=3, hidden_state=True)
CASES = [LSTM, GRU_SKIP, RELU_UNBATCHED]
PATHS = ("loop", "drop-in", "onnx")


# The profile's bad input: one line naming the input and the dims.

INPUTS = {"input": (-1, -1, 3), "seq_lengths": (-1,)}


@pytest.mark.parametrize("shapes, message", [
    ({"input": ((2, 1, 3), (1, 4, 3), (4, 4, 3))}, "profile input 'input': min > opt in some dim: min (2, 1, 3), "
                                                   "opt (1, 4, 3), max (4, 4, 3)"),
    ({"input": ((1, 1, 3), (4, 5, 3), (4, 4, 3))}, "profile input 'input': opt > max in some dim: min (1, 1, 3), "
                                                   "opt (4, 5, 3), max (4, 4, 3)"),
    ({"input": ((1, 1, 3), (2, 2), (4, 4, 3))}, "profile input 'input': ranks differ: min (1, 1, 3), opt (2, 2), "
                                                "max (4, 4, 3)"),
    ({"input": ((1, 1, 3), (2, 2, 3))}, "profile input 'input': expected (min, opt, max) dims; got ((1, 1, 3), (2, 2, 3))"),
    ({"input": ((1, -1, 3), (2, 2, 3), (4, 4, 3))}, "profile input 'input': min dims (1, -1, 3) have a negative dim"),
])
def test_profile_refuses_bad_dims(shapes, message):
    with pytest.raises(ValueError) as error:
        OptimizationProfile(tuple(shapes.items()))
    assert str(error.value) == message


@pytest.mark.parametrize("shapes, message", [
    ({"input": ((1, 1, 3), (2, 2, 3), (4, 4, 3)), "seq_lengths": ((1,), (2,), (4,)), "X": ((1,), (1,), (1,))},
     "profile input 'X': the network has no such input; its inputs: input, seq_lengths"),
    ({"input": ((1, 1), (2, 2), (4, 4)), "seq_lengths": ((1,), (2,), (4,))},
     "profile input 'input': rank 2 (min (1, 1)); the network's input is (-1, -1, 3), rank 3"),
    ({"input": ((1, 1, 4), (2, 2, 4), (4, 4, 4)), "seq_lengths": ((1,), (2,), (4,))},
     "profile input 'input': dim 2 is fixed at 3 by the network ((-1, -1, 3)); the profile gives min (1, 1, 4), "
     "opt (2, 2, 4), max (4, 4, 4)"),
    ({"input": ((1, 1, 3), (2, 2, 3), (4, 4, 3))}, "input 'seq_lengths' has dynamic dims (-1,) and no entry in the profile"),
])
def test_profile_refuses_what_the_network_does_not_have(shapes, message):
    with pytest.raises(ValueError) as error:
        profiles.check(OptimizationProfile(tuple(shapes.items())), INPUTS)
    assert str(error.value) == message


def test_profile_contains_says_why_a_run_shape_lies_outside():
    profile = profile_for(GRU_SKIP)  # batch 1..7, S 1..5
    assert profile.contains(feed_shapes(GRU_SKIP, (7,), 5)) is None
    assert profile.contains({"input": (8, 5, 4), "seq_lengths": (8,)}) == (
        "input 'input': run dims (8, 5, 4) outside the profile: min (1, 1, 4), max (7, 5, 4)")
    assert profile.contains({"input": (2, 6, 4), "seq_lengths": (2,)}) == (
        "input 'input': run dims (2, 6, 4) outside the profile: min (1, 1, 4), max (7, 5, 4)")
    assert profile.contains({"input": (2, 4), "seq_lengths": (2,)}) == (
        "input 'input': run dims (2, 4) have rank 2; the profile's rank is 3")
    assert profile.contains({"input": (2, 5, 4)}) == "input 'seq_lengths': no run dims given; the profile has min (1,)"


def test_profile_of_a_case_and_its_json():
    profile = profile_for(LSTM)
    assert profile["input"] == ((1, 1, 1, 3), (2, 3, 4, 3), (5, 7, 4, 3))
    assert profile["hidden_state"] == ((1, 1, 4, 5), (2, 3, 4, 5), (5, 7, 4, 5))
    assert profile["seq_lengths"] == ((1, 1), (2, 3), (5, 7))
    assert OptimizationProfile.from_json(profile.to_json()) == profile
    for batch_dims, S in run_shapes(LSTM):
        assert profile.contains(feed_shapes(LSTM, batch_dims, S)) is None, (batch_dims, S)
    wider = OptimizationProfile.covering([profile, profile_for(dataclasses.replace(LSTM, batch_dims=(4, 1)))])
    assert wider["input"] == ((1, 1, 1, 3), (2, 3, 4, 3), (9, 7, 4, 3))


# The ONNX export's dynamic model, run by onnxruntime at every run shape against the reference.

@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_dynamic_onnx_model_matches_the_reference_at_every_run_shape(case):
    m = case.materialise()
    model = export(case, m, dynamic=True)
    dims = {i.name: tuple(d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim) for i in model.graph.input}
    nb = len(case.batch_dims)
    batch = ("batch",) if nb == 1 else tuple(f"batch_{i}" for i in range(nb))
    assert dims["input"] == batch + ("sequence", case.data_length)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    shapes = run_shapes(case)
    assert len(shapes) >= 3 and any(S == 1 for _, S in shapes) and any(int(np.prod(b)) % 8 for b, _ in shapes)
    for batch_dims, S in shapes:
        at, data = case_at(case, batch_dims, S), materials_at(case, m, batch_dims, S)
        for got, want, name in zip(session.run(None, feeds(at, data)), at.reference(data), case.output_names):
            assert got.shape == want.shape, (name, batch_dims, S)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name} at batch {batch_dims}, S={S}")


# Each path's dynamic network and its plan.

def input_dims(net):
    return {net.network.get_input(i).name: tuple(net.network.get_input(i).shape) for i in range(net.network.num_inputs)}


PLANNED = {"loop": GRU_SKIP, "drop-in": RELU_UNBATCHED, "onnx": LSTM}  # one plan per path in the default run


@pytest.mark.trt_build
@builder
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_dynamic_network_has_minus_one_dims(case, path):
    """Every case's dynamic network on every path; its plan built for one case per path (all in the sweep)."""
    from trt_cases.networks.build import build_network
    from trt_cases.networks.engine import build_plan

    net = build_network(case, path, dynamic=True)
    assert input_dims(net) == dynamic_inputs(case)
    assert net.profile == profile_for(case)
    K, H, L, nb = case.K, case.hidden_size, case.layer_count, len(case.batch_dims)
    outputs = {net.network.get_output(i).name: tuple(net.network.get_output(i).shape) for i in range(net.network.num_outputs)}
    want = {"output": (-1,) * (nb + 1) + (K * H,), "hidden": (-1,) * nb + (L * K, H)}
    assert outputs == want | ({"cell": want["hidden"]} if case.op == "LSTM" else {})
    if PLANNED[path] == case:
        assert len(build_plan(net)[0]) > 0


@pytest.mark.trt_build
@builder
@pytest.mark.parametrize("path", PATHS)
def test_static_network_without_a_profile_and_a_profile_that_does_not_fit(path):
    from trt_cases.networks.build import build_network
    from trt_cases.networks.engine import BuildError, build_plan

    assert build_network(GRU_SKIP, path).profile is None
    net = build_network(GRU_SKIP, path, dynamic=True)
    wrong = OptimizationProfile.of(input=((1, 1, 4), (3, 5, 4), (7, 5, 4)))
    with pytest.raises(ValueError, match=re.escape("input 'seq_lengths' has dynamic dims (-1,) and no entry")):
        build_plan(net, profile=wrong)
    with pytest.raises(BuildError, match="Network has dynamic or shape inputs, but no optimization profile"):
        build_plan(net._replace(profile=None))  # the builder's own words


# One engine for the cases of one structure.

def network_layers(net):
    network = net.network
    return [(layer.type.name, layer.name, [(layer.get_output(k).name, tuple(layer.get_output(k).shape),
                                            layer.get_output(k).dtype.name) for k in range(layer.num_outputs)])
            for layer in (network.get_layer(i) for i in range(network.num_layers))]


@pytest.mark.trt_build
@builder
def test_cases_of_one_engine_structure_build_one_network():
    """Two cases of one key (other batch, S, seed, scale, lengths pattern) give the same weights-as-inputs dynamic
    network, and each case's feeds fit it: one engine, built once here, serves both. A case of another key
    (no h0) gives another network."""
    from trt_cases.networks.build import build_network
    from trt_cases.networks.engine import build_plan

    base = dataclasses.replace(LSTM, layer_count=1, direction="UNIDIRECTION")  # one loop: a quick build
    a = dataclasses.replace(base, seed=1, batch_dims=(1, 2), max_seq_length=2)
    b = dataclasses.replace(base, seed=7, weight_scale=0.5, lengths="full")
    other = dataclasses.replace(base, hidden_state=False)
    assert engine_structure(a, "loop", "fp32", "strong") == engine_structure(b, "loop", "fp32", "strong") == (
        "lstm-uni-linear-L1-H5-E3-R2-lens-h0-c0-loop-fp32-strong-io-network")
    assert engine_structure(other, "loop", "fp32", "strong") != engine_structure(a, "loop", "fp32", "strong")
    profile = OptimizationProfile.covering([profile_for(a), profile_for(b)])
    nets = [build_network(case, "loop", dynamic=True, weights_as_inputs=True, profile=profile) for case in (a, b)]
    nets.append(build_network(other, "loop", dynamic=True, weights_as_inputs=True))
    assert network_layers(nets[0]) == network_layers(nets[1]) != network_layers(nets[2])
    engine_inputs = input_dims(nets[0])
    for net in nets[:2]:
        assert set(net.feeds) == set(engine_inputs)
        run_shape = {name: value.shape for name, value in net.feeds.items()}
        assert profile.contains(run_shape) is None
        for name, value in net.feeds.items():
            assert all(d == -1 or d == v for d, v in zip(engine_inputs[name], value.shape)), name
    assert len(build_plan(nets[0])[0]) > 0
    with pytest.raises(ValueError, match="the loop path alone"):
        engine_structure(a, "onnx", "fp32", "strong")


def test_engine_cache_key_includes_the_profile():
    fields = {"path": "loop", "case": LSTM.to_json()}
    assert with_profile(fields, None) is fields
    keys = {cache_key(with_profile(fields, p)) for p in (None, profile_for(LSTM), profile_for(case_at(LSTM, (2, 2), 4)))}
    assert len(keys) == 3


# Every structure, path and precision builds dynamic, or fails as a listed known builder failure.

SWEEP = dynamic_structures()  # the dynamic set's 16 engines: every op, direction and input mode, stacks, lengths, states


@pytest.mark.sweep
@pytest.mark.trt_build
@builder
@pytest.mark.parametrize("precision", ("fp32", "fp16", "bf16"))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", SWEEP, ids=lambda case: case.id)
def test_every_structure_builds_dynamic(case, path, precision):
    from trt_cases.networks.build import build_network
    from trt_cases.networks.engine import BuildError, build_plan

    from test_trt_build_precision import parser_defect  # the ONNX parser's known defects, static networks' too

    case = dataclasses.replace(case, precision=precision)
    defect = parser_defect(case, path, precision)
    if defect is not None:
        with pytest.raises(RuntimeError, match=defect["message"]):
            build_network(case, path, precision=precision, dynamic=True)
        pytest.xfail(f"{RT.label} ONNX parser: {defect['reason']}")  # still red when the defect goes away
    known = known_mismatches.find_build_failure(f"build-{path}", case, known_mismatches.versions())
    net = build_network(case, path, precision=precision, dynamic=True)
    if known and known.get("where", {}).get("dynamic"):
        with pytest.raises(BuildError, match=re.escape(known["error"])):
            build_plan(net)
        return
    assert len(build_plan(net)[0]) > 0
