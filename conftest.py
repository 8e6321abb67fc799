"""Project-wide pytest set-up: hypothesis profiles.

`HYPOTHESIS_PROFILE=thorough pytest` raises example counts and sizes; the default `ci` profile
keeps the CPU suite within CI's few minutes on two cores.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


import pytest  # noqa: E402

COMPARISONS = pytest.StashKey[list]()


class ComparisonLog(list):
    """Comparisons made in this run, and the reasons backends were skipped, for the summary and --results-json."""

    def __init__(self):
        super().__init__()
        self.skips = {}
        self.skipped_cases = []

    def skipped(self, backend, reason, case=None):
        self.skips.setdefault(backend, {}).setdefault(reason, 0)
        self.skips[backend][reason] += 1
        if case is not None:
            self.skipped_cases.append((backend, reason, case))


def pytest_addoption(parser):
    parser.addoption("--results-json", metavar="DIR",
                     help="write the comparisons of this run as results.json (+ report.html) into DIR, "
                          "the same format as `python -m trt_cases run`")
    parser.addoption("--builder-optimization-level", metavar="N",
                     help="TensorRT builder optimisation level 0-5 for the GPU tests (sets TRT_RNN_BUILDER_OPT_LEVEL)")


def pytest_sessionfinish(session):
    directory = session.config.getoption("--results-json")
    log = session.config.stash.get(COMPARISONS, None)
    if not directory or log is None:
        return
    from trt_cases import report, results
    from trt_cases.case import Case

    kinds = (("simulated-", "simulated"), ("tensorrt-", "tensorrt"), ("torch-cuda", "cudnn"))
    records = [results.record_of(c, Case.from_id(c.case_id), next((k for p, k in kinds if c.backend.startswith(p)), "oracle"))
               for c in log]
    records += [results.Record(case=case.id, backend=backend, kind="", precision="", status="skipped", reason=reason,
                               spec=case.to_json()) for backend, reason, case in log.skipped_cases]
    path = results.write(directory, records, {}, sets=["pytest"])
    (path.parent / "report.html").write_text(report.html_report(results.read(path)))


@pytest.fixture
def comparison_log(request):
    """Where comparison tests record results and skips, for the end-of-run summary per backend."""
    return request.config.stash.setdefault(COMPARISONS, ComparisonLog())


def pytest_terminal_summary(terminalreporter, config):
    log = config.stash.get(COMPARISONS, None)
    if not log and not (log and log.skips):
        return
    counts = {}
    for result in log:
        passed, total = counts.get((result.backend, result.precision), (0, 0))
        counts[(result.backend, result.precision)] = (passed + bool(result), total + 1)
    terminalreporter.write_sep("-", "cases compared with the reference, per backend")
    for (name, precision), (passed, total) in counts.items():
        terminalreporter.write_line(f"ran      {name} ({precision}): {total} cases, {passed} passed")
    for name, reasons in log.skips.items():
        for reason, count in reasons.items():
            terminalreporter.write_line(f"skipped  {name}: {count} x {reason}")


def pytest_configure(config):
    """`--builder-optimization-level` for the TensorRT runners; under pytest-xdist, one GPU per worker (gw0 -> GPU 0, ...)."""
    level = config.getoption("--builder-optimization-level", None)
    if level is not None:
        from trt_cases.runners.trt_runner import OPT_LEVEL_ENV, optimization_level_of

        try:
            os.environ[OPT_LEVEL_ENV] = str(optimization_level_of(level, "--builder-optimization-level"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = [g for g in visible.split(",") if g.strip()]
    else:
        import shutil
        import subprocess

        smi = shutil.which("nvidia-smi")
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout if smi else ""
        gpus = [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[int(worker.removeprefix("gw")) % len(gpus)]
