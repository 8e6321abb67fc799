"""An ONNX model file as data for the cases of its recurrent nodes: stored tensors (initializers, Constant
nodes, Identity of either), who produces what, types and shapes after `onnx.shape_inference` (with the
user's `--shape` values), and inputs files (`.npz`), from which onnxruntime computes a node's X when only
the graph inputs are given. Every problem is one ValueError naming the model and what is wrong.
"""

from __future__ import annotations

import functools
import os
import pathlib

import numpy as np

MEMORY_FACTOR = 3  # a model in memory: the file's bytes, the parsed protobuf, one copy for shape inference


def parse_shape(spec: str, flag: str = "--shape") -> tuple[str, tuple]:
    """`NAME=1x20x64` -> ("NAME", (1, 20, 64)); a ValueError naming `flag` otherwise."""
    name, sep, dims = str(spec).rpartition("=")
    parts = dims.lower().split("x")
    if not sep or not name or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise ValueError(f"{flag} {spec!r}: expected NAME=DIMxDIMx... with whole numbers >= 1, e.g. X=20x1x64")
    return name, tuple(int(p) for p in parts)


def read_model(path, available: int | None = None):
    """The model's protobuf (external data left on disk); ValueError for a missing, unreadable or huge file."""

    from . import limits

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"model {path}: no such file")
    size = path.stat().st_size
    available = limits.available_bytes() if available is None else available
    if available is not None and MEMORY_FACTOR * size > available:
        raise ValueError(f"model {path}: {size / limits.GIB:.3g} GiB on disk needs about "
                         f"{MEMORY_FACTOR * size / limits.GIB:.3g} GiB to read; this machine has "
                         f"{available / limits.GIB:.3g} GiB available")
    return _load(str(path.resolve()), path.stat().st_mtime_ns, size)


@functools.lru_cache(maxsize=4)
def _load(path, mtime_ns, size):
    import onnx

    try:
        return onnx.load(path, load_external_data=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"model {path}: cannot read it: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    except Exception as exc:  # protobuf's DecodeError and kin: not an ONNX model
        raise ValueError(f"model {path}: not an ONNX model ({type(exc).__name__}: {exc})") from None


class Graph:
    """What the model says about tensors: stored values, producers, types and shapes (after inference)."""

    def __init__(self, path, model, shapes):
        from onnx import numpy_helper

        self.path, self.model, self.graph = str(path), model, model.graph
        self.base = str(pathlib.Path(path).resolve().parent)
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.inputs = [i.name for i in self.graph.input if i.name not in self.initializers]
        self.producers = {out: node for node in self.graph.node for out in node.output if out}
        self.to_array = numpy_helper.to_array
        self.shapes, self._types = shapes, None

    @property
    def types(self) -> dict:
        """Tensor name -> (ONNX elem type, dims with None where unknown): the model's, after shape inference."""
        if self._types is None:
            self._types = self._infer(self.path, self.model, self.shapes)
        return self._types

    def _infer(self, path, model, shapes):
        import onnx

        typed = onnx.ModelProto()
        typed.CopyFrom(model)
        graph_shapes = {name: dims for name, dims in shapes.items() if name in self.inputs}
        for value in typed.graph.input:
            if value.name in graph_shapes:
                _check_given_shape(path, value, graph_shapes[value.name])
                dims = value.type.tensor_type.shape
                dims.Clear()
                for d in graph_shapes[value.name]:
                    dims.dim.add().dim_value = d
        try:
            # data propagation: a Reshape whose shape the graph computes (`Shape`, `Slice`, `Concat`, as
            # torch's dynamo exporter writes between stacked layers) gets its dims too
            typed = onnx.shape_inference.infer_shapes(typed, strict_mode=False, data_prop=True)
        except Exception:  # an op shape inference does not know: keep what the file says
            pass
        types = {}
        for value in list(typed.graph.input) + list(typed.graph.value_info) + list(typed.graph.output):
            t = value.type.tensor_type
            dims = None if not t.HasField("shape") else tuple(
                d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)
            types[value.name] = (t.elem_type, dims)
        for name, t in self.initializers.items():
            types[name] = (t.data_type, tuple(t.dims))
        return types

    def stored(self, name):
        """(value, None) when `name` is stored data; (None, why not) otherwise."""
        seen = name
        while True:
            if name in self.initializers:
                try:
                    return self.to_array(self.initializers[name], self.base), None
                except Exception as exc:
                    raise ValueError(f"model {self.path}: initializer {name!r} cannot be read: {exc}") from None
            node = self.producers.get(name)
            if node is None:
                return None, "a graph input" if name in self.inputs else "not produced by any node"
            if node.op_type == "Identity":
                name = node.input[0]
                continue
            if node.op_type == "Constant":
                return self._constant(node, seen), None
            return None, f"computed by the graph (node {node.name or '(unnamed)'!r}, {node.op_type})"

    def _constant(self, node, name):
        from onnx import helper

        for attr in node.attribute:
            value = helper.get_attribute_value(attr)
            if attr.name == "value":
                return self.to_array(value, self.base)
            if attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
                return np.asarray(value)
        raise ValueError(f"model {self.path}: Constant node {node.name!r} producing {name!r} holds no numeric value")


def _check_given_shape(path, value, dims):
    """`--shape NAME=DIMS` for a graph input: its rank and its fixed dims as the model declares them."""
    t = value.type.tensor_type
    if not t.HasField("shape"):
        return
    declared = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)
    if len(declared) != len(dims) or any(d is not None and d != g for d, g in zip(declared, dims)):
        raise ValueError(f"--shape {value.name}={'x'.join(map(str, dims))}: model {path} declares {value.name} with "
                         f"shape {dims_text(declared)}; give its rank and fixed dims, e.g. "
                         f"{value.name}={'x'.join(str(d or 1) for d in declared)}")


def shape_table(shapes) -> dict:
    """`--shape` values (`NAME=DIMS` strings or (name, dims) pairs, or a dict) as {name: dims}."""
    if isinstance(shapes, dict):
        return dict(shapes)
    return dict(parse_shape(s) if isinstance(s, str) else s for s in shapes)


def given_arrays(g, names, inputs, fed) -> dict:
    """The node's X, lengths and states from an inputs file: by tensor name, or computed from the graph inputs."""
    arrays = read_inputs(inputs)
    given = {slot: arrays[names[slot]] for slot in ("X",) + fed if names[slot] and names[slot] in arrays}
    wanted = [slot for slot in ("X",) + fed if names[slot] and slot not in given and names[slot] not in g.initializers
              and names[slot] not in g.inputs and g.stored(names[slot])[0] is None]
    if "X" not in given and "X" not in wanted:
        raise ValueError(f"inputs {inputs}: holds no {names['X']!r} (the node's X, a graph input); it holds "
                         f"{', '.join(arrays) or 'nothing'}")
    if wanted:
        missing = [name for name in g.inputs if name not in arrays]
        if "X" in wanted and missing:
            raise ValueError(f"inputs {inputs}: holds neither the node's X {names['X']!r} nor every graph input to "
                             f"compute it (missing {', '.join(missing)})")
        if not missing:
            given.update(_computed(g, {name: arrays[name] for name in g.inputs}, {slot: names[slot] for slot in wanted}))
    return given


@functools.lru_cache(maxsize=8)
def _read_inputs_cached(path, mtime_ns):
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"inputs {path}: not a readable .npz file ({exc})") from None


def read_inputs(path) -> dict:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise ValueError(f"inputs {path}: no such file") from None
    return _read_inputs_cached(str(path), mtime)


def _computed(g, feeds, wanted) -> dict:
    """The tensors `wanted` (slot -> tensor name) computed by the model's graph from `feeds`, with onnxruntime."""
    import onnx
    import onnxruntime

    model = onnx.ModelProto()
    model.CopyFrom(g.model)
    onnx.external_data_helper.load_external_data_for_model(model, g.base)
    del model.graph.output[:]
    for name in wanted.values():
        model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        values = session.run(list(wanted.values()), feeds)
    except Exception as exc:
        raise ValueError(f"model {g.path}: onnxruntime cannot compute the node's inputs {list(wanted.values())} from "
                         f"the given graph inputs: {exc}") from None
    return dict(zip(wanted, values))


def dims_text(dims) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"
