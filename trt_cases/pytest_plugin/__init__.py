"""The suite's pytest plugin: results files, shards, the GPU gate, `--onnx-model`, pytest-xdist merging.

Registered by the project's conftest.py (`pytest_plugins`), so `pytest -m gpu` in a checkout has it.
- `--results-json DIR` writes the session's records as `python -m trt_cases run` does; under `pytest -n N`
  each worker writes `DIR/workers/gwK` and the controller merges them into `DIR`.
- `--onnx-model PATH` (a file, a folder or a quoted glob; with `--onnx-shape NAME=DIMS`, `--onnx-inputs
  FILE.npz`) adds every RNN/GRU/LSTM node of a user's model to the GPU tests (the `model_case` parameter);
  `--onnx-min-shapes/--onnx-opt-shapes/--onnx-max-shapes NAME=DIMS` build each node with that profile.
- `--shard I/N` keeps shard I of N of the tests, partitioned by case id (`trt_cases.results.shard`).
- The GPU gate: when GPU comparison tests were selected (`pytest -m gpu`) and no GPU backend compared a
  single case, the session fails with one line per backend saying why it did not run, unless
  `--allow-no-gpu-comparisons` is given.
- Fixtures: `conformance_log` (where tests add the records of `run.run_case`), `runner_options` (the options
  runners are made with: `--builder-optimization-level`).
"""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

from . import options
from .log import RecordLog, add_summaries, gpu_gate, summary_lines

LOG = pytest.StashKey[RecordLog]()
WORKER_SUMMARIES = pytest.StashKey[list]()
SUMMARY = pytest.StashKey[dict]()  # this session's, every worker's added up
RESULTS_ERROR = pytest.StashKey[str]()
GATE = pytest.StashKey[list]()  # the gate's lines when it failed
GATE_TESTS = pytest.StashKey[int]()  # selected GPU tests that compare cases
SUMMARY_KEY = "trt_rnn_conformance"  # in pytest-xdist's workeroutput


def pytest_addoption(parser):
    options.add_options(parser)


def pytest_configure(config):
    """Check the options; under pytest-xdist, give each worker one GPU of the machine: gw0 -> GPU 0, gw1 -> GPU 1, ..."""
    options.configure(config)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = [g for g in visible.split(",") if g.strip()]
    else:
        import subprocess

        smi = shutil.which("nvidia-smi")
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout if smi else ""
        gpus = [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[int(worker.removeprefix("gw")) % len(gpus)]


def pytest_generate_tests(metafunc):
    """`model_case`: the node cases of `--onnx-model` (one skipped placeholder when none was given)."""
    if "model_case" in metafunc.fixturenames:
        found = metafunc.config.stash.get(options.MODEL_CASES, [])
        none = pytest.param(None, marks=pytest.mark.skip(reason="no --onnx-model given (a model whose nodes to test)"),
                            id="no-onnx-model")
        metafunc.parametrize("model_case", found or [none], ids=[case.id for case in found] or None)


def shard_key(item) -> str:
    """A test's case id where it is parametrised by a case (all backends of a case in one shard), else its node id."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((value.id for value in params.values() if hasattr(value, "materialise")), item.nodeid)


def pytest_collection_modifyitems(config, items):
    """The thorough tier (tests marked both `gpu` and `sweep`) runs only when the marker expression names `sweep`
    (`pytest -m "gpu and sweep"`): `pytest -m gpu` is the default tier. Then `--shard I/N`."""
    if "sweep" not in (config.getoption("markexpr") or ""):
        thorough = [i for i in items if i.get_closest_marker("gpu") and i.get_closest_marker("sweep")]
        if thorough:
            config.hook.pytest_deselected(items=thorough)
            items[:] = [i for i in items if not (i.get_closest_marker("gpu") and i.get_closest_marker("sweep"))]
    spec = config.getoption("--shard")
    if spec is None:
        return
    from ..results import shard

    index, count = shard.parse(spec)
    keep, drop = [], []
    for item in items:
        (keep if shard.shard_of(shard_key(item), count) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session):
    session.config.stash[GATE_TESTS] = sum(
        1 for item in session.items if item.get_closest_marker("gpu") and "conformance_log" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def conformance_log(request) -> RecordLog:
    """Where comparison tests add their records (`run.run_case`), for results files and the end-of-run summary."""
    return request.config.stash.setdefault(LOG, RecordLog())


@pytest.fixture(scope="session")
def runner_options(pytestconfig) -> dict:
    """Keyword options for `BackendSpec.create` (the builder optimisation level)."""
    return pytestconfig.stash.get(options.RUNNER_OPTIONS, {})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: keep each worker's summary, to add them up at the end."""
    summary = getattr(node, "workeroutput", {}).get(SUMMARY_KEY)
    if summary is not None:
        node.config.stash.setdefault(WORKER_SUMMARIES, []).append(summary)


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _is_controller(config) -> bool:
    return not _is_worker(config) and config.pluginmanager.getplugin("dsession") is not None


def pytest_sessionstart(session):
    """pytest-xdist's controller: no stale worker results (an earlier, interrupted run) may join this run's."""
    directory = session.config.getoption("--results-json")
    if directory and _is_controller(session.config):
        shutil.rmtree(pathlib.Path(directory) / "workers", ignore_errors=True)


def pytest_sessionfinish(session):
    config = session.config
    log = config.stash.get(LOG, RecordLog())
    directory = config.getoption("--results-json")
    if _is_worker(config):
        config.workeroutput[SUMMARY_KEY] = {**log.summary(), "gate_tests": config.stash.get(GATE_TESTS, 0)}
        if directory:
            _write(log, pathlib.Path(directory) / "workers" / config.workerinput["workerid"])
        return
    if _is_controller(config):
        workers = config.stash.get(WORKER_SUMMARIES, [])
        summary, gate_tests = add_summaries(workers), max((w.get("gate_tests", 0) for w in workers), default=0)
        if directory:
            try:
                _merge_workers(pathlib.Path(directory))
            except ValueError as exc:  # workers disagree on a (case, backend): say so, keep their results
                config.stash[RESULTS_ERROR] = f"--results-json {directory}: the workers' results were not merged: {exc}"
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        summary, gate_tests = log.summary(), config.stash.get(GATE_TESTS, 0)
        if directory:
            _write(log, pathlib.Path(directory))
    config.stash[SUMMARY] = summary
    if gate_tests and not config.getoption("--allow-no-gpu-comparisons"):
        lines = gpu_gate(summary)
        config.stash[GATE] = lines
        if lines and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _write(log, directory):
    from ..results import records as results

    _render(results.write(directory, log.records, log.outputs, sets=["pytest"]))


def _merge_workers(directory):
    """Merge the workers' results (DIR/workers/gw*) into DIR, then remove them."""
    from ..results import merge

    parts = sorted(p for p in (directory / "workers").glob("gw*") if (p / "results.json").exists())
    if not parts:
        return
    _render(merge.write(merge.merge(parts), directory))
    shutil.rmtree(directory / "workers")


def _render(path):
    from .. import report
    from ..results import records as results

    report.write(path.parent, results.read(path))


def pytest_terminal_summary(terminalreporter, config):
    summary = config.stash.get(SUMMARY, None)
    lines = summary_lines(summary) if summary else []
    if lines:
        terminalreporter.write_sep("-", "cases compared with the reference, per backend")
        for line in lines:
            terminalreporter.write_line(line)
    if RESULTS_ERROR in config.stash:
        terminalreporter.write_line(config.stash[RESULTS_ERROR], red=True)
    gate = config.stash.get(GATE, [])
    if gate:
        terminalreporter.write_sep("=", "GPU gate failed", red=True)
        for line in gate:
            terminalreporter.write_line(line, red=True)
