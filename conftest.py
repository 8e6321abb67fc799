"""Project-wide pytest set-up: hypothesis profiles, the comparison log, results files, shards, the GPU gate.

- Hypothesis: the default `ci` profile is derandomised (the same examples on every run, no example
  database), so CI is deterministic; `HYPOTHESIS_PROFILE=thorough pytest` explores: random draws,
  more examples, larger sizes.
- `--results-json DIR` writes the session's comparisons as `python -m trt_cases run` does; under
  `pytest -n N` each worker writes `DIR/workers/gwK` and the controller merges them into `DIR`.
- `--onnx-model PATH` (with `--onnx-shape NAME=DIMS`, `--onnx-inputs FILE.npz`) adds every RNN/GRU/LSTM node of
  a user's model to the GPU tests (`tests/test_gpu.py`).
- `--shard I/N` keeps shard I of N of the tests, partitioned by case id (`trt_cases.results.shard`).
- The GPU gate: when GPU comparison tests were selected (`pytest -m gpu`) and no GPU backend compared
  a single case, the session fails with one line per backend saying why it did not run, unless
  `--allow-no-gpu-comparisons` is given.
"""

import os
import pathlib
import shutil

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=True, database=None)
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


import pytest  # noqa: E402

from trt_cases.results.comparison_log import ComparisonLog, add_summaries, gpu_gate, summary_lines  # noqa: E402

COMPARISONS = pytest.StashKey[ComparisonLog]()
WORKER_SUMMARIES = pytest.StashKey[list]()
SUMMARY = pytest.StashKey[dict]()  # this session's, every worker's added up
RESULTS_ERROR = pytest.StashKey[str]()
GATE = pytest.StashKey[list]()  # the gate's lines when it failed
GATE_TESTS = pytest.StashKey[int]()  # selected GPU tests that compare cases
SUMMARY_KEY = "trt_rnn_conformance"  # in pytest-xdist's workeroutput


def pytest_addoption(parser):
    group = parser.getgroup("trt-rnn-conformance")
    group.addoption("--results-json", metavar="DIR",
                    help="write the comparisons of this run as results.json, outputs.npz and report.html into DIR, "
                         "the same format as `python -m trt_cases run` (under -n N, every worker's)")
    group.addoption("--shard", metavar="I/N",
                    help="run only shard I of N: tests partitioned by case id (SHA-1), the same on every machine")
    group.addoption("--allow-no-gpu-comparisons", action="store_true",
                    help="do not fail `pytest -m gpu` when no GPU backend compared any case")
    group.addoption("--builder-optimization-level", metavar="N",
                    help="TensorRT builder optimisation level 0-5 for the GPU tests (sets TRT_RNN_BUILDER_OPT_LEVEL)")
    group.addoption("--onnx-model", action="append", default=[], metavar="PATH",
                    help="add every RNN/GRU/LSTM node of this ONNX model to the GPU tests (tensorrt-onnx-* and torch-cuda-* backends; "
                         "repeatable)")
    group.addoption("--onnx-shape", action="append", default=[], metavar="NAME=DIMS",
                    help="a shape for --onnx-model, e.g. x=1x20x64 (NAME: a graph input or a node's X; repeatable)")
    group.addoption("--onnx-inputs", default="", metavar="FILE.npz",
                    help="inputs for --onnx-model: arrays keyed by a node's X tensor name or by graph input names")


def pytest_configure(config):
    """Check `--shard`; pass `--builder-optimization-level` to the TensorRT runners; under pytest-xdist, give each
    worker one GPU of the runner: gw0 -> GPU 0, gw1 -> GPU 1, ..."""
    level = config.getoption("--builder-optimization-level")
    if level is not None:
        from trt_cases.runners.trt_runner import OPT_LEVEL_ENV, optimization_level_of

        try:
            os.environ[OPT_LEVEL_ENV] = str(optimization_level_of(level, "--builder-optimization-level"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.onnx_model_cases = _model_cases(config)  # read by tests/test_gpu.py
    if config.getoption("--shard") is not None:
        from trt_cases.results import shard

        try:
            shard.parse(config.getoption("--shard"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
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


def _model_cases(config) -> list:
    """The node cases of every `--onnx-model` (with `--onnx-shape`, `--onnx-inputs`); bad input is a usage error."""
    paths = config.getoption("--onnx-model", default=[]) or []
    if not paths:
        return []
    from trt_cases.cases.model import models_node_cases

    try:
        found = models_node_cases(paths, shapes=config.getoption("--onnx-shape"), inputs=config.getoption("--onnx-inputs"))
        return [case for cases in found.values() for case in cases]
    except ValueError as exc:
        raise pytest.UsageError(f"--onnx-model: {exc}") from None


def shard_key(item) -> str:
    """A test's case id where it is parametrised by a case (all backends of a case in one shard), else its node id."""
    from trt_cases.cases.case import Case
    from trt_cases.cases.onnx_case import OnnxCase

    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((value.id for value in params.values() if isinstance(value, (Case, OnnxCase))), item.nodeid)


def pytest_collection_modifyitems(config, items):
    spec = config.getoption("--shard")
    if spec is None:
        return
    from trt_cases.results import shard

    index, count = shard.parse(spec)
    keep, drop = [], []
    for item in items:
        (keep if shard.shard_of(shard_key(item), count) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session):
    session.config.stash[GATE_TESTS] = sum(
        1 for item in session.items if item.get_closest_marker("gpu") and "comparison_log" in getattr(item, "fixturenames", ()))


@pytest.fixture
def comparison_log(request):
    """Where comparison tests record results and skips, for the end-of-run summary per backend."""
    return request.config.stash.setdefault(COMPARISONS, ComparisonLog())


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
    log = config.stash.get(COMPARISONS, ComparisonLog())
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
    from trt_cases.results import records as results

    records, outputs = log.records()
    _render(results.write(directory, records, outputs, sets=["pytest"]))


def _merge_workers(directory):
    """Merge the workers' results (DIR/workers/gw*) into DIR, then remove them."""
    from trt_cases.results import merge

    parts = sorted(p for p in (directory / "workers").glob("gw*") if (p / "results.json").exists())
    if not parts:
        return
    _render(merge.write(merge.merge(parts), directory))
    shutil.rmtree(directory / "workers")


def _render(path):
    from trt_cases import report
    from trt_cases.results import records as results

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
