"""The one run engine (`engine.run_case`, `engine.run`), the verdict of a run (`gate`), progress and timing."""

from .engine import References, run, run_case
from .gate import gate

__all__ = ["References", "gate", "run", "run_case"]
