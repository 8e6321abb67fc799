"""Project-wide pytest set-up: hypothesis profiles.

`HYPOTHESIS_PROFILE=thorough pytest` raises example counts and sizes; the default `ci` profile
keeps the CPU suite within CI's few minutes on two cores.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
