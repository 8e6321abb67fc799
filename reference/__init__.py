"""A pure-NumPy float64 reference of TensorRT's RNN layers (`IRNNv2Layer` and the legacy `IRNNLayer`)
and of the ONNX RNN, GRU and LSTM operators (`onnx_rnn`), all on one set of cells and one scan.

No TensorRT import anywhere in this package: it is the ground truth the suite diffs TensorRT against.
"""

from .enums import GATES, RNNDirection, RNNGateType, RNNInputMode, RNNOperation
from .facade import RNNv2
from .legacy import RNN
from .onnx_rnn import onnx_rnn
from .rnn_v2 import rnn_v2

__all__ = ["GATES", "RNN", "RNNDirection", "RNNGateType", "RNNInputMode", "RNNOperation", "RNNv2", "onnx_rnn", "rnn_v2"]
