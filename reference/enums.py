"""TensorRT's RNN enums (RNNOperation, RNNDirection, RNNInputMode, RNNGateType) and their parsing.

Values accept an enum member, TensorRT's name as a string (any case, with or without the C++ `k`
prefix), or any object with a `.name` such as the real `trt.RNNOperation.LSTM`.
"""

from __future__ import annotations

import enum


class RNNOperation(enum.Enum):
    RELU = 0
    TANH = 1
    LSTM = 2
    GRU = 3


class RNNDirection(enum.Enum):
    UNIDIRECTION = 0
    BIDIRECTION = 1


class RNNInputMode(enum.Enum):
    LINEAR = 0
    SKIP = 1


class RNNGateType(enum.Enum):
    INPUT = 0
    OUTPUT = 1
    FORGET = 2
    UPDATE = 3
    RESET = 4
    CELL = 5
    HIDDEN = 6


# The gates each operation uses, in the order the reference stacks them (TensorRT's equations).
GATES = {
    RNNOperation.RELU: (RNNGateType.INPUT,),
    RNNOperation.TANH: (RNNGateType.INPUT,),
    RNNOperation.LSTM: (RNNGateType.INPUT, RNNGateType.FORGET, RNNGateType.CELL, RNNGateType.OUTPUT),
    RNNOperation.GRU: (RNNGateType.UPDATE, RNNGateType.RESET, RNNGateType.HIDDEN),
}


def parse(enum_cls: type[enum.Enum], value: object, argument: str) -> enum.Enum:
    """Return the member of `enum_cls` that `value` names, or raise naming `argument`."""
    if isinstance(value, enum_cls):
        return value
    allowed = ", ".join(m.name for m in enum_cls)
    if isinstance(value, str):
        name = value
    elif isinstance(getattr(value, "name", None), str):
        name = value.name
    else:
        raise TypeError(
            f"{argument}={value!r}: expected a {enum_cls.__name__} member, one of its names as a "
            f"string, or an object with a .name such as trt.{enum_cls.__name__}; allowed: {allowed}"
        )
    key = name.strip().upper()
    if key not in enum_cls.__members__ and key.startswith("K") and key[1:] in enum_cls.__members__:
        key = key[1:]
    if key not in enum_cls.__members__:
        raise ValueError(f"{argument}={value!r} is not a {enum_cls.__name__}; allowed: {allowed}")
    return enum_cls[key]
