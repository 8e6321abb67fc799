"""Conformance cases for TensorRT's RNN layers and the code that turns them into networks and reports."""

from .cases.case import Case, Materials
from .networks.drop_in import add_rnn_v2

__all__ = ["Case", "Materials", "add_rnn_v2", "reduce_case"]


def reduce_case(case, backend: str, **run_options):
    """The smallest case that still fails on `backend` as `case` does (`trt_cases.reduce.reduce_case`; imported
    when called, since running a backend loads the run engine and its runners)."""
    from .reduce import reduce_case as reduce_

    return reduce_(case, backend, **run_options)
