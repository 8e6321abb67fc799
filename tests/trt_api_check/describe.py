"""Run inside a subprocess against the real `tensorrt_bindings` module: print its API as JSON.

For every class the module exports: its base classes, and per attribute whether it is a property
(and writable), an enum member, or a callable with its pybind11 signatures (the docstring's
`name(self: X, arg: type = default) -> type` lines, one per overload).
"""

import inspect
import json
import re
import sys


def signatures(name, obj):
    """The signature lines of a pybind11 callable, or of a Python function through `inspect`."""
    doc = getattr(obj, "__doc__", None) or ""
    found = [m.group(1) for m in re.finditer(rf"^\s*(?:\d+\.\s*)?{re.escape(name)}\((.*)\)\s*->", doc, re.M)]
    if found or "(self: " in doc or not callable(obj):
        return found, "pybind11"
    try:
        return [str(inspect.signature(obj))[1:].rsplit(")", 1)[0]], "python"
    except (TypeError, ValueError):
        return [], "python"


def describe_attr(cls, attr):
    try:
        static = inspect.getattr_static(cls, attr)
        value = getattr(cls, attr)
    except AttributeError:
        return None
    if isinstance(static, property):
        setter = re.match(r"\((.*)\) -> None", (getattr(static.fset, "__doc__", None) or "").strip())
        return {"kind": "property", "writable": static.fset is not None, "setter": setter and setter.group(1)}
    if isinstance(cls, type) and hasattr(cls, "__members__") and attr in cls.__members__:
        return {"kind": "enum"}
    if callable(value):
        sigs, how = signatures(attr, value)
        return {"kind": "callable", "signatures": sigs, "how": how}
    return {"kind": "value", "type": type(value).__name__}


def describe(module):
    api = {"version": module.__version__, "classes": {}, "module": {}}
    for name in dir(module):
        obj = getattr(module, name)
        if isinstance(obj, type):
            attrs = {a: d for a in dir(obj) if (d := describe_attr(obj, a)) is not None}
            api["classes"][name] = {"bases": [b.__name__ for b in obj.__mro__[1:]], "attrs": attrs,
                                    "enum": hasattr(obj, "__members__")}
            if hasattr(obj, "__members__"):
                api["classes"][name]["members"] = {m: int(v) for m, v in obj.__members__.items()}
        elif not name.startswith("__"):
            entry = {"kind": "value", "type": type(obj).__name__}
            if callable(obj):
                sigs, how = signatures(name, obj)
                entry = {"kind": "callable", "signatures": sigs, "how": how}
            api["module"][name] = entry
    return api


if __name__ == "__main__":
    import tensorrt_bindings

    json.dump(describe(tensorrt_bindings), sys.stdout)
