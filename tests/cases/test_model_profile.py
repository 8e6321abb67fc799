"""A user's model with a profile (`--min-shapes/--opt-shapes/--max-shapes`): each recurrent node built once as a dynamic
one-node model and run at min, opt, max and every `--shape`; bad profiles are one-line errors before any build.

The fixture `tests/models/dynamo_lstm.onnx` is `torch.onnx.export(..., dynamo=True)` of a 2-layer bidirectional
LSTM with dynamic batch and sequence dims. Expected values: the float64 reference (`reference.onnx_rnn`) in the
run's comparisons, and onnxruntime running the user's whole model on the same graph input.
"""

import json
import pathlib
import shlex
import subprocess
import sys

import numpy as np
import onnxruntime
import pytest

from trt_cases.cases.model_profile import models_node_cases
from trt_cases.cli import main
from trt_cases.export import bundle
from trt_cases.networks.build import build_network
from trt_cases.networks.profiles import network_inputs
from trt_cases.runners.build_check import BuildCheckRunner
from trt_cases.runners.simulated_runner import SimulatedRunner

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = "tests/models/dynamo_lstm.onnx"
PROFILE = ["--min-shapes", "x=1x1x8", "--opt-shapes", "x=2x5x8", "--max-shapes", "x=4x9x8"]
NODES = ("node_LSTM_115", "node_LSTM_223")


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.chdir(ROOT)


def dynamic_cases(**options):
    return models_node_cases([MODEL], min_shapes=["x=1x1x8"], opt_shapes=["x=2x5x8"], max_shapes=["x=4x9x8"],
                             **options)[MODEL]


def test_done_when_every_node_runs_at_min_opt_max_on_one_engine(tmp_path, capsys):
    """The issue's done-when: simulated-onnx and onnxruntime pass every node at min, opt and max, one engine each."""
    status = main(["run", "--set", MODEL, *PROFILE, "--backend", "simulated-onnx", "--backend", "onnxruntime",
                   "--out", str(tmp_path), "--no-progress"])
    assert status == 0, capsys.readouterr()
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    assert {r["status"] for r in records} == {"passed"} and len(records) == 12
    for node, X in zip(NODES, ((1, 1, 8), (1, 1, 12))):
        for backend in ("simulated-onnx", "onnxruntime"):
            mine = [r for r in records if f"-{node}-" in r["case"] and r["backend"] == backend]
            shapes = [r["run_shape"]["X"] for r in mine]
            assert shapes == [list(X), [5, 2, X[2]], [9, 4, X[2]]], (node, backend, shapes)
            assert all(r["run_shape"]["initial_h"] == [2, s[1], 6] for r, s in zip(mine, shapes))
        engines = {r["engine"] for r in records if f"-{node}-" in r["case"] and r["backend"] == "simulated-onnx"}
        assert engines == {f"onnx:fp32:network:dynamo_lstm-{node}-S5-N2-dyn1x1-5x2-9x4-fp32-s0"}
    assert "symbolic dims" not in capsys.readouterr().out  # a profile was given: no hint


def test_the_dynamic_node_agrees_with_onnxruntime_on_the_whole_model(tmp_path):
    """Given the graph input x, the first node's dynamic network (simulated) gives the final states onnxruntime
    computes with the user's whole model (its initial states are zeros the graph computes)."""
    x = np.random.default_rng(7).uniform(-1, 1, (3, 4, 8)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    cases = dynamic_cases(inputs=str(tmp_path / "in.npz"))
    given = [c for c in cases if c.inputs and c.node == NODES[0]]
    assert [c.id for c in given] == ["dynamo_lstm-node_LSTM_115-S4-N3-inputs-dyn1x1-5x2-9x4-fp32-s0"]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    y, h, c = onnxruntime.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    runner = SimulatedRunner("onnx")
    assert runner.prepare(given[0]) is None
    Y, Y_h, Y_c = runner.infer(given[0])
    np.testing.assert_allclose(Y_h, h[:2], atol=2e-6)
    np.testing.assert_allclose(Y_c, c[:2], atol=2e-6)


def test_build_onnx_builds_each_node_once_for_all_its_run_shapes():
    """One dynamic network (-1 seq and batch dims, the node's profile) and one plan serve every run shape."""
    cases = [c for c in dynamic_cases(shapes=["x=3x2x8"]) if c.node == NODES[0]]
    assert [(c.seq_length, c.batch_size) for c in cases] == [(1, 1), (5, 2), (9, 4), (2, 3)]
    net = build_network(cases[0].engine_case, "onnx", profile=cases[0].profile)
    assert network_inputs(net.network) == {"X": (-1, -1, 8), "initial_h": (2, -1, 6), "initial_c": (2, -1, 6)}
    runner = BuildCheckRunner("onnx")
    built = []
    for case in cases:
        assert runner.prepare(case) is None
        built.append(runner.infer(case))
    assert runner.engines_built == 1 and len({b.engine for b in built}) == 1


def test_an_engine_never_runs_a_shape_outside_its_profile():
    import dataclasses

    case = dynamic_cases()[0]
    with pytest.raises(ValueError, match=r"outside the profile"):
        dataclasses.replace(case, seq_length=10)
    runner = SimulatedRunner("onnx")
    inside = case.materialise()
    outside = inside._replace(X=np.zeros((10, 1, 8)), initial_h=np.zeros((2, 1, 6)), initial_c=np.zeros((2, 1, 6)))
    runner.infer(case, inside)
    with pytest.raises(ValueError, match=r"X.*outside|outside.*X"):
        runner.infer(case, outside)


BAD = [
    (["--min-shapes", "x=3x1x8", "--opt-shapes", "x=2x5x8", "--max-shapes", "x=4x9x8"],
     "error: --min-shapes/--opt-shapes/--max-shapes: profile input 'x': min > opt in some dim: min (3, 1, 8), "
     "opt (2, 5, 8), max (4, 9, 8)"),
    (["--min-shapes", "x=1x1x8", "--opt-shapes", "x=2x5x8", "--max-shapes", "x=4x4x8"],
     "error: --min-shapes/--opt-shapes/--max-shapes: profile input 'x': opt > max in some dim: min (1, 1, 8), "
     "opt (2, 5, 8), max (4, 4, 8)"),
    (PROFILE + ["--shape", "x=5x2x8"],
     "error: --shape x=5x2x8: input 'x': run dims (5, 2, 8) outside the profile: min (1, 1, 8), max (4, 9, 8)"),
    (["--min-shapes", "y=1x1x8", "--opt-shapes", "y=2x5x8", "--max-shapes", "y=4x9x8"],
     f"error: --min-shapes/--opt-shapes/--max-shapes y: no model ({MODEL}) has a graph input or recurrent-node X of "
     "that name; allowed: val_131, val_15, x"),
    (["--min-shapes", "x=1x8", "--opt-shapes", "x=2x8", "--max-shapes", "x=4x8"],
     f"error: --min-shapes x=1x8: model {MODEL}: x has rank 3 (shape (?, ?, 8)); the profile gives rank 2"),
    (["--min-shapes", "x=1x1x8", "--opt-shapes", "x=2x5", "--max-shapes", "x=4x9x8"],
     "error: --min-shapes/--opt-shapes/--max-shapes: profile input 'x': ranks differ: min (1, 1, 8), opt (2, 5), "
     "max (4, 9, 8)"),
    (["--min-shapes", "x=1x1x7", "--opt-shapes", "x=2x5x7", "--max-shapes", "x=4x9x7"],
     f"error: --min-shapes x=1x1x7: model {MODEL} fixes dim 2 of x at 8 (shape (?, ?, 8)); the profile gives 7"),
    (["--min-shapes", "val_15=1x1x7", "--opt-shapes", "val_15=2x5x7", "--max-shapes", "val_15=4x9x7"],
     f"error: --min-shapes val_15=1x1x7: model {MODEL} fixes dim 2 of val_15 at 8 (the input size of the node's W) "
     "(shape (?, ?, 8)); the profile gives 7"),
    (["--min-shapes", "x=1x1x8", "--opt-shapes", "x=2x5x8"],
     "error: --max-shapes gives no x: a profile needs min, opt and max dims of every input it names "
     "(--min-shapes x=DIMS --opt-shapes x=DIMS --max-shapes x=DIMS)"),
    (["--min-shapes", "val_15=1x1x8", "--opt-shapes", "val_15=2x5x8", "--max-shapes", "val_15=4x9x8"],
     f"error: --min-shapes val_15=1x1x8: model {MODEL}: node node_LSTM_223 (LSTM): shape inference does not determine "
     "its X 'val_131' from the profile (it gives (?, ?, ?)); give the node's X in the profile instead: --min-shapes "
     "val_131=DIMS --opt-shapes val_131=DIMS --max-shapes val_131=DIMS"),
]


@pytest.mark.parametrize("command", ["run", "check", "export"])
@pytest.mark.parametrize("extra, message", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_profiles_are_one_line_errors_exit_2(command, extra, message, tmp_path, capsys, monkeypatch):
    import trt_cases.networks.build as build

    monkeypatch.setattr(build, "build_network", lambda *a, **k: pytest.fail("built before the profile was checked"))
    argv = {"run": ["run", "--set", MODEL, "--backend", "simulated-onnx", "--out", str(tmp_path / "out")],
            "check": ["check", "dynamo_lstm-node_LSTM_115-S5-N2-fp32-s0", "--set", MODEL, "--backend", "simulated-onnx"],
            "export": ["export", "dynamo_lstm-node_LSTM_115-S5-N2-fp32-s0", "--set", MODEL, "--out",
                       str(tmp_path / "bundle")]}[command]
    assert main(argv + extra) == 2
    assert capsys.readouterr().err.strip() == message


def test_a_symbolic_model_without_a_profile_says_which_flags_test_it_as_deployed(tmp_path, capsys):
    assert main(["run", "--set", MODEL, "--backend", "onnxruntime", "--out", str(tmp_path), "--no-progress"]) == 0
    hint = [line for line in capsys.readouterr().out.splitlines() if "symbolic dims" in line]
    assert hint == [f"model {MODEL}: symbolic dims (x (batch, seq, 8)) run at one shape here; to test it as deployed "
                    "(one engine with an optimization profile, run at min, opt and max), add e.g. --min-shapes x=1x1x8 "
                    "--opt-shapes x=4x4x8 --max-shapes x=8x8x8"]
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    assert [(r["run_shape"], r["status"]) for r in records] == [(None, "passed")] * 2  # static, as before


def test_the_bundle_carries_the_profile_to_trtexec_and_polygraphy(tmp_path):
    case = dynamic_cases()[2]  # node 1 at max
    out = bundle.write(case, tmp_path / "bundle")
    polygraphy, trtexec, _ = [shlex.split(line.removesuffix(" || status=1"))
                              for line in (out / "commands.sh").read_text().splitlines() if " || status=1" in line]
    assert polygraphy[polygraphy.index("--trt-min-shapes"):polygraphy.index("--load-inputs")] == [
        "--trt-min-shapes", "X:[1,1,8]", "initial_c:[2,1,6]", "initial_h:[2,1,6]",
        "--trt-opt-shapes", "X:[5,2,8]", "initial_c:[2,2,6]", "initial_h:[2,2,6]",
        "--trt-max-shapes", "X:[9,4,8]", "initial_c:[2,4,6]", "initial_h:[2,4,6]"]
    assert trtexec[2:5] == ["--minShapes=X:1x1x8,initial_c:2x1x6,initial_h:2x1x6",
                            "--optShapes=X:5x2x8,initial_c:2x2x6,initial_h:2x2x6",
                            "--maxShapes=X:9x4x8,initial_c:2x4x6,initial_h:2x4x6"]
    import onnx

    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in onnx.load(out / "model.onnx").graph.input]
    assert dims == [["seq", "batch", 8], [2, "batch", 6], [2, "batch", 6]]
    assert np.load(out / "inputs.npz")["X"].shape == (9, 4, 8)  # the case's run shape
    static = bundle.write(models_node_cases([MODEL])[MODEL][0], tmp_path / "static")
    assert "Shapes" not in (static / "commands.sh").read_text() and "shapes" not in (static / "commands.sh").read_text()


def test_pytest_onnx_model_takes_the_profile():
    def collect(*options):
        return subprocess.run([sys.executable, "-m", "pytest", "tests/runners/test_gpu.py::test_model_nodes", "-m", "gpu",
                               "--collect-only", "-q", "-p", "no:cacheprovider", "--allow-no-gpu-comparisons",
                               "--onnx-model", MODEL, *options], cwd=ROOT, capture_output=True, text=True, timeout=300)

    found = collect("--onnx-min-shapes", "x=1x1x8", "--onnx-opt-shapes", "x=2x5x8", "--onnx-max-shapes", "x=4x9x8")
    assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-2000:]
    for node in NODES:
        for shape in ("S1-N1", "S5-N2", "S9-N4"):
            assert f"[dynamo_lstm-{node}-{shape}-dyn1x1-5x2-9x4-fp32-s0-tensorrt-onnx-fp32]" in found.stdout


def test_pytest_onnx_model_refuses_a_partial_profile_as_a_usage_error():
    """The same options, checked in-process (a subprocess costs seconds): only some of min/opt/max is a UsageError."""
    from trt_cases.pytest_plugin import options

    given = {"--onnx-model": [MODEL], "--onnx-shape": [], "--onnx-inputs": "", "--onnx-min-shapes": ["x=1x1x8"],
             "--onnx-opt-shapes": ["x=2x5x8"], "--onnx-max-shapes": [], "--stream-chunk": None}

    class Config:
        def getoption(self, name, default=None):
            return given[name]

    with pytest.raises(pytest.UsageError, match=r"^--onnx-model: --max-shapes gives no x: a profile needs min, opt "
                                                r"and max dims of every input it names"):
        options._model_cases(Config())


def test_a_known_builder_failure_of_the_engine_is_known_at_every_run_shape(tmp_path, capsys):
    """TensorRT-RTX 1.7 builds a layout=1 node as layout 0 (a known builder failure): a dynamic engine of such a node,
    built from its opt shape, fails the same way whichever run shape builds it first (here min, S=1 N=1, a shape at
    which the two layouts read alike)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from trt_cases.networks import trt_api

    if trt_api.missing("onnx"):
        pytest.skip(trt_api.missing("onnx"))
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), name)
               for name, shape in (("W", (1, 4, 3)), ("R", (1, 4, 4)))]
    graph = helper.make_graph([helper.make_node("RNN", ["x", "W", "R"], ["y"], hidden_size=4, layout=1, name="rnn")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "s", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), tmp_path / "rnn1.onnx")
    main(["run", "--set", str(tmp_path / "rnn1.onnx"), "--min-shapes", "x=1x1x3", "--opt-shapes", "x=2x3x3",
          "--max-shapes", "x=3x4x3", "--backend", "build-onnx", "--out", str(tmp_path / "out"), "--no-progress"])
    records = json.loads((tmp_path / "out" / "results.json").read_text())["records"]
    status = "xfail" if trt_api.load().label.startswith("TensorRT-RTX 1.7.") else "built"  # a fixed parser builds it
    assert [(r["run_shape"]["X"], r["status"]) for r in records] == [([1, 1, 3], status), ([2, 3, 3], status),
                                                                      ([3, 4, 3], status)], records
    assert all("builds it as layout=0" in r["reason"] for r in records if status == "xfail")
