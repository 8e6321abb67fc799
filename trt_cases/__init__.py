"""Conformance cases for TensorRT's RNN layers and the code that turns them into networks and reports."""

from .cases.case import Case, Materials
from .networks.drop_in import add_rnn_v2

__all__ = ["Case", "Materials", "add_rnn_v2"]
