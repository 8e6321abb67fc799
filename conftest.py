"""Hypothesis profiles, and the suite's pytest plugin (`trt_cases.pytest_plugin`: results files, shards, the GPU
gate, `--onnx-model`).

The default `ci` profile is derandomised (the same examples on every run, no example database), so CI is
deterministic; `HYPOTHESIS_PROFILE=thorough pytest` explores: random draws, more examples, larger sizes.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=True, database=None)
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["trt_cases.pytest_plugin"]
