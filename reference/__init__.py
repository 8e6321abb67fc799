"""A pure-NumPy float64 reference of TensorRT's RNN layers (`IRNNv2Layer` and the legacy `IRNNLayer`).

No TensorRT import anywhere in this package: it is the ground truth the suite diffs TensorRT against.
"""

from .enums import GATES, RNNDirection, RNNGateType, RNNInputMode, RNNOperation
from .facade import RNNv2
from .legacy import RNN
from .rnn_v2 import rnn_v2

__all__ = ["GATES", "RNN", "RNNDirection", "RNNGateType", "RNNInputMode", "RNNOperation", "RNNv2", "rnn_v2"]
