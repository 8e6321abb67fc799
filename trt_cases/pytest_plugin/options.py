"""The plugin's command-line options, and what they are turned into: model node cases, runner options."""

from __future__ import annotations

import glob
import pathlib

import pytest

MODEL_CASES = pytest.StashKey[list]()
RUNNER_OPTIONS = pytest.StashKey[dict]()


def add_options(parser) -> None:
    group = parser.getgroup("trt-rnn-conformance")
    group.addoption("--results-json", metavar="DIR",
                    help="write the comparisons of this run as results.json, outputs.npz and report.html into DIR, "
                         "the same format as `python -m trt_cases run` (under -n N, every worker's)")
    group.addoption("--shard", metavar="I/N",
                    help="run only shard I of N: tests partitioned by case id (SHA-1), the same on every machine")
    group.addoption("--allow-no-gpu-comparisons", action="store_true",
                    help="do not fail `pytest -m gpu` when no GPU backend compared any case")
    group.addoption("--builder-optimization-level", metavar="N",
                    help="TensorRT builder optimisation level 0-5 for the GPU tests")
    group.addoption("--onnx-model", action="append", default=[], metavar="PATH",
                    help="add every RNN/GRU/LSTM node of this ONNX model to the GPU tests (tensorrt-onnx-* and torch-cuda-* "
                         "backends): a .onnx file, a folder (its *.onnx files) or a quoted glob ('models/*.onnx'); repeatable")
    group.addoption("--onnx-shape", action="append", default=[], metavar="NAME=DIMS",
                    help="a shape for --onnx-model, e.g. x=1x20x64 (NAME: a graph input or a node's X; repeatable)")
    group.addoption("--onnx-inputs", default="", metavar="FILE.npz",
                    help="inputs for --onnx-model: arrays keyed by a node's X tensor name or by graph input names")
    group.addoption("--stream-chunk", metavar="C",
                    help="stream --onnx-model's nodes: C steps per call, the states each call returns fed to the next "
                         "(a bidirectional or reverse node is a skip saying why)")
    for field in ("min", "opt", "max"):  # the model as deployed: one engine per node with this profile
        group.addoption(f"--onnx-{field}-shapes", action="append", default=[], metavar="NAME=DIMS",
                        help=f"the {field} dims of an optimization profile for --onnx-model (trtexec's --{field}Shapes; "
                             "NAME: a graph input or a node's X; repeatable): each node runs on one engine at min, opt, "
                             "max and every --onnx-shape")


def model_paths(values) -> list[str]:
    """`--onnx-model` values as .onnx files: a file as it is, a folder's *.onnx files, a glob's matches (sorted)."""
    paths = []
    for value in values:
        if pathlib.Path(value).is_dir():
            found = sorted(str(p) for p in pathlib.Path(value).glob("*.onnx"))
            if not found:
                raise ValueError(f"--onnx-model {value}: the folder holds no .onnx file")
        elif glob.has_magic(value):
            found = sorted(glob.glob(value))
            if not found:
                raise ValueError(f"--onnx-model {value!r}: no file matches the pattern")
        else:
            found = [value]
        paths += found
    return list(dict.fromkeys(paths))


def configure(config) -> None:
    """Check the options before collection; bad input is a usage error (one line, exit 4), never a traceback."""
    from ..runners.trt_runner import optimization_level_of
    from ..results import shard

    try:
        level = optimization_level_of(config.getoption("--builder-optimization-level"), "--builder-optimization-level")
        if config.getoption("--shard") is not None:
            shard.parse(config.getoption("--shard"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RUNNER_OPTIONS] = {"builder_optimization_level": level}
    stray = [a for a in config.args if a.lower().endswith(".onnx")]
    if stray and config.getoption("--onnx-model"):
        raise pytest.UsageError(f"{stray[0]} was given as a test path: the shell expanded an unquoted glob after "
                                "--onnx-model; quote it (--onnx-model 'models/*.onnx') or give the folder")
    config.stash[MODEL_CASES] = _model_cases(config)


def _model_cases(config) -> list:
    """The node cases of every `--onnx-model` (with `--onnx-shape`, `--onnx-inputs`); bad input is a usage error."""
    values = config.getoption("--onnx-model", default=[]) or []
    chunk = config.getoption("--stream-chunk", default=None)
    if not values:
        if chunk is not None:
            raise pytest.UsageError(f"--stream-chunk {chunk}: it streams the nodes of --onnx-model, and none was given")
        return []
    from ..cases.chunks import streamed
    from ..cases.model_profile import models_node_cases

    try:
        found = models_node_cases(model_paths(values), shapes=config.getoption("--onnx-shape"),
                                  inputs=config.getoption("--onnx-inputs"),
                                  **{f"{f}_shapes": config.getoption(f"--onnx-{f}-shapes") for f in ("min", "opt", "max")})
        cases = [case for cases in found.values() for case in cases]
    except ValueError as exc:
        raise pytest.UsageError(f"--onnx-model: {exc}") from None
    try:
        return cases if chunk is None else streamed(cases, chunk)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
