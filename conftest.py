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


@pytest.fixture
def comparison_log(request):
    """Where oracle tests record their comparisons, for the end-of-run count per backend."""
    return request.config.stash.setdefault(COMPARISONS, [])


def pytest_terminal_summary(terminalreporter, config):
    log = config.stash.get(COMPARISONS, [])
    if not log:
        return
    counts = {}
    for result in log:
        passed, total = counts.get(result.backend, (0, 0))
        counts[result.backend] = (passed + bool(result), total + 1)
    terminalreporter.write_sep("-", "cases compared with the reference, per backend")
    terminalreporter.write_line(", ".join(f"{name}: {total} ({passed} passed)" for name, (passed, total) in counts.items()))
