"""`python -m trt_cases`: the command line (see `trt_cases.cli`)."""

import sys

from .cli import main

sys.exit(main())
