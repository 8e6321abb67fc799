"""`reduce`: a failing case shrunk to a 1-minimal case that fails the same way (`search`), by the steps of `steps`;
`of_results` does it for every distinct failure of a results directory."""

from .search import CannotRun, DoesNotFail, Reduction, reduce_case

__all__ = ["CannotRun", "DoesNotFail", "Reduction", "reduce_case"]
