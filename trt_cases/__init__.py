"""Conformance cases for TensorRT's RNN layers and the code that turns them into networks and reports."""

from .case import Case, Materials

__all__ = ["Case", "Materials"]
