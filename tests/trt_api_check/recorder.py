"""Record every TensorRT API use of the suite: a proxy around the module `trt_api.load()` returns.

Every attribute read on the module, on its classes and on every object they hand out (builder,
config, network, layers, tensors, loops, parser), every call with its argument kinds, and every
attribute write becomes an `Event`, with the line of `trt_cases` that made it. Attributes named in
`hidden` behave as absent (AttributeError), which is how a TensorRT version lacking them is played
under TensorRT-RTX: a probe (`hasattr`) then takes its fallback, and an unguarded read fails.

Enums, `Dims` and `IHostMemory` are handed out unwrapped (they are values, not API objects); reads of
their classes' members are recorded on the way in.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

import numpy as np

import trt_cases

PACKAGE = pathlib.Path(trt_cases.__file__).resolve().parent
RAW_CLASSES = {"Dims", "Dims2", "Dims3", "Dims4", "DimsHW", "Dims32", "Dims64", "Permutation", "IHostMemory"}


@dataclasses.dataclass(frozen=True)
class Event:
    """One use of the API. `op`: read, write or call; `owner`: class name ("" for the module)."""
    op: str
    owner: str
    attr: str
    site: str  # trt_cases/<file>.py:<line> of the suite's code that made it
    args: tuple = ()  # argument kinds, e.g. ("ITensor", "tuple[int]")
    kwargs: tuple = ()  # (name, kind) pairs
    values: tuple = ()  # literal scalar arguments (int, bool, str, enum member names), None elsewhere
    unbound: bool = False  # a method called through its class (self is the first argument)
    hidden: bool = False  # a read or write of an attribute hidden to play a version lacking it
    absent_here: bool = False  # the attribute is absent from the TensorRT-RTX this ran on

    @property
    def symbol(self) -> str:
        return f"{self.owner}.{self.attr}" if self.owner else self.attr


class Revealed:
    """An enum member TensorRT-RTX lacks and the version being checked has (`BuilderFlag.FP16` on 10.x),
    with that version's value: the suite's branch for it runs, and calls taking it are recorded, not made."""

    def __init__(self, owner, name, value):
        self.owner, self.name, self.value = owner, name, value

    def __int__(self):
        return self.value

    __index__ = __int__

    def __eq__(self, other):
        return isinstance(other, Revealed) and (self.owner, self.name) == (other.owner, other.name)

    def __hash__(self):
        return hash((self.owner, self.name))

    def __repr__(self):
        return f"<{self.owner}.{self.name}: {self.value} (revealed)>"


class RevealedEnum:
    """An enum class TensorRT-RTX lacks and the version being checked has (`RNNOperation` on 8.6)."""

    def __init__(self, recorder, name, members):
        self._recorder, self._name, self._members = recorder, name, members

    def __getattr__(self, member):
        if member.startswith("_"):
            raise AttributeError(member)
        self._recorder.add(Event("read", self._name, member, site()))
        if member not in self._members:
            raise AttributeError(f"{self._name}.{member}")
        return Revealed(self._name, member, self._members[member])


class HiddenAttribute(AttributeError):
    """An attribute hidden to play a TensorRT version that lacks it."""

    def __init__(self, event):
        super().__init__(f"{event.symbol} is hidden (absent in the TensorRT version being checked)")
        self.event = event


def site() -> str:
    """`trt_cases/<path>:<line>` of the innermost frame in the suite's package, else '?'."""
    frame = sys._getframe(2)
    while frame is not None:
        path = pathlib.Path(frame.f_code.co_filename)
        if PACKAGE in path.parents:
            return f"{path.relative_to(PACKAGE.parent).as_posix()}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


class Recorder:
    """Wraps a TensorRT module; `events` collects what the wrapped API was asked."""

    def __init__(self, module, hidden=frozenset(), revealed=None):
        self.module = module
        self.prefix = module.__name__
        self.hidden = set(hidden)
        self.revealed = dict(revealed or {})  # (enum class, member) -> value in the version being played
        self.events: list[Event] = []
        self._proxies = {}  # id(target) -> (target, proxy): one proxy per object, so `is` keeps working
        self.proxy = _Proxy(self, module, "module")

    def reveal(self, owner, name, instance):
        """What stands for `owner.name`, absent here and present in the version being played: an enum
        member (its value), an enum class ({"enum": members}), or a method ("method": its calls are
        recorded and answered by `stand_in`)."""
        spec = self.revealed[owner, name]
        if isinstance(spec, int):
            return Revealed(owner, name, spec)
        if isinstance(spec, dict):
            return RevealedEnum(self, name, spec["enum"])
        method = _Method(self, None, owner, name, unbound=False)
        method.instance = instance
        return method

    def add(self, event):
        self.events.append(event)
        return event

    def is_api_class(self, value) -> bool:
        return isinstance(value, type) and (value.__module__ or "").startswith(self.prefix)

    def api_class_of(self, value):
        """The first class of the TensorRT module in `type(value)`'s MRO, or None."""
        return next((c for c in type(value).__mro__ if self.is_api_class(c)), None)

    def fake(self, target, owner):
        """A proxy over a stand-in object (an engine, a context) that records as class `owner`."""
        return _Proxy(self, target, "fake:" + owner)

    def wrap(self, value, owner, attr, unbound):
        if isinstance(value, _Proxy):
            return value
        if value is None or isinstance(value, (bool, int, float, str, bytes, np.ndarray, np.generic)):
            return value
        if isinstance(value, type):
            return self._cached(value, "class") if self.is_api_class(value) else value
        cls = self.api_class_of(value)
        if cls is not None and type(value) is cls:
            if hasattr(cls, "__members__") or cls.__name__ in RAW_CLASSES:
                return value
            return self._cached(value, "instance")
        if callable(value):
            return _Method(self, value, owner, attr, unbound)
        return value

    def _cached(self, target, role):
        key = id(target)
        if key not in self._proxies:
            self._proxies[key] = (target, _Proxy(self, target, role))
        return self._proxies[key][1]

    def kind(self, value) -> str:
        """The kind of an argument, as the signature check reads it."""
        if isinstance(value, Revealed):
            return value.owner
        if isinstance(value, _Proxy):
            target, role = object.__getattribute__(value, "_target"), object.__getattribute__(value, "_role")
            return f"type[{target.__name__}]" if role == "class" else _Proxy._owner(value)
        if value is None:
            return "None"
        if isinstance(value, (bool, np.bool_)):
            return "bool"
        if isinstance(value, (int, np.integer)):
            return "int"
        if isinstance(value, (float, np.floating)):
            return "float"
        if isinstance(value, str):
            return "str"
        if isinstance(value, (bytes, bytearray, memoryview)):
            return "bytes"
        if isinstance(value, np.ndarray):
            return "ndarray"
        if isinstance(value, (tuple, list)):
            inner = ",".join(sorted({self.kind(v) for v in value}))
            return f"{type(value).__name__}[{inner}]"
        cls = self.api_class_of(value)
        if cls is not None:
            return cls.__name__
        return f"py:{type(value).__name__}"

    def literal(self, value):
        if isinstance(value, Revealed):
            return f"{value.owner}.{value.name}"
        if isinstance(value, (bool, int, str, np.integer)):
            return value if isinstance(value, (bool, str)) else int(value)
        cls = self.api_class_of(value)
        if cls is not None and hasattr(cls, "__members__"):
            return f"{cls.__name__}.{value.name}"
        return None


def unwrap(value):
    if isinstance(value, _Proxy):
        return object.__getattribute__(value, "_target")
    if isinstance(value, (tuple, list)):
        return type(value)(unwrap(v) for v in value)
    return value


class _Proxy:
    """The module, a class of it, or an object it handed out, recording what is done with it."""

    __slots__ = ("_rec", "_target", "_role")

    def __init__(self, recorder, target, role):
        object.__setattr__(self, "_rec", recorder)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_role", role)

    def _owner(self):
        target, role = object.__getattribute__(self, "_target"), object.__getattribute__(self, "_role")
        if role.startswith("fake:"):
            return role[len("fake:"):]
        return "" if role == "module" else target.__name__ if role == "class" else type(target).__name__

    def __getattribute__(self, name):
        rec, target, role = (object.__getattribute__(self, k) for k in ("_rec", "_target", "_role"))
        if name == "__mro_entries__" and role == "class":  # `class _Logger(trt.ILogger)` subclasses the real class
            return lambda bases: (target,)
        owner = _Proxy._owner(self)
        if (owner, name) in rec.hidden:
            event = rec.add(Event("read", owner, name, site(), hidden=True))
            value = getattr(target, name, None) if role == "instance" else None
            if value is None or callable(value):
                raise HiddenAttribute(event)
            # A property the version lacks, set on this TensorRT-RTX network (the RTX ONNX parser sets
            # ISliceLayer.axes): that version's parser would not make such a layer; read it as it is.
            return rec.wrap(value, owner, name, unbound=False)
        try:
            value = getattr(target, name)
        except AttributeError:
            if (owner, name) in rec.revealed:
                rec.add(Event("read", owner, name, site()))
                return rec.reveal(owner, name, target)
            rec.add(Event("read", owner, name, site(), absent_here=True))
            raise
        rec.add(Event("read", owner, name, site()))
        return rec.wrap(value, owner, name, unbound=role == "class")

    def __setattr__(self, name, value):
        rec, target = object.__getattribute__(self, "_rec"), object.__getattribute__(self, "_target")
        if name == "__class__":  # the executor casts an ILayer to its class, as Polygraphy does
            target.__class__ = unwrap(value)
            return
        owner = _Proxy._owner(self)
        event = Event("write", owner, name, site(), args=(rec.kind(value),), values=(rec.literal(value),),
                      hidden=(owner, name) in rec.hidden)
        rec.add(event)
        if event.hidden:
            raise HiddenAttribute(event)
        setattr(target, name, unwrap(value))

    def __call__(self, *args, **kwargs):
        rec, target = object.__getattribute__(self, "_rec"), object.__getattribute__(self, "_target")
        rec.add(_call_event(rec, _Proxy._owner(self), "__init__", args, kwargs, unbound=False))
        return rec.wrap(target(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}), "", "", False)

    def __repr__(self):
        return f"<recorded {object.__getattribute__(self, '_target')!r}>"

    def __str__(self):
        return str(object.__getattribute__(self, "_target"))


class _Method:
    """A callable read from the API; calling it records the argument kinds."""

    def __init__(self, recorder, target, owner, attr, unbound):
        self.recorder, self.target, self.owner, self.attr, self.unbound = recorder, target, owner, attr, unbound

    def __call__(self, *args, **kwargs):
        rec = self.recorder
        rec.add(_call_event(rec, self.owner, self.attr, args, kwargs, self.unbound))
        if self.target is None:  # a revealed method: TensorRT-RTX has none to call
            if rec.stand_in is None:
                return None
            return rec.wrap(rec.stand_in(self.owner, self.attr, (self.instance, *unwrap(args))), "", "", False)
        if any(isinstance(a, Revealed) for a in list(args) + list(kwargs.values())):
            return None  # TensorRT-RTX cannot take a member it lacks; the call is recorded
        if rec.stand_in is not None:
            replaced = rec.stand_in(self.owner, self.attr, unwrap(args))
            if replaced is not None:
                return replaced
        return rec.wrap(self.target(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}), "", "", False)


Recorder.stand_in = None  # (owner, attr, args) -> a value to return instead of calling (e.g. no real build)


def _call_event(rec, owner, attr, args, kwargs, unbound):
    return Event("call", owner, attr, site(), args=tuple(rec.kind(a) for a in args),
                 kwargs=tuple((k, rec.kind(v)) for k, v in sorted(kwargs.items())),
                 values=tuple(rec.literal(a) for a in args), unbound=unbound)
