"""Read an `INetworkDefinition` into what the executor walks: layers, loops, and one order.

Each layer is cast to its concrete class (`layer.__class__ = trt.IShuffleLayer`, as Polygraphy
does), since the Python API hands out plain `ILayer`s. Tensors are known by name (TensorRT keeps
tensor names unique in a network). A loop is the set of boundary layers sharing one `ILoop`
(`ILoopBoundaryLayer.loop`); its interior is every layer that depends, without leaving the loop, on
one of its iterator or recurrence outputs. Layers inside a loop that depend on neither are loop
invariant and run once, outside it. The schedule is a topological order of the layers outside
every loop and of the loops, each loop placed after every tensor it reads from outside.
"""

from __future__ import annotations

import dataclasses
import heapq

# LayerType name -> the class that exposes its parameters, for every layer type the executor covers.
CLASSES = {
    "ACTIVATION": "IActivationLayer", "CAST": "ICastLayer", "CONCATENATION": "IConcatenationLayer",
    "CONSTANT": "IConstantLayer", "ELEMENTWISE": "IElementWiseLayer", "FILL": "IFillLayer",
    "GATHER": "IGatherLayer", "IDENTITY": "IIdentityLayer", "ITERATOR": "IIteratorLayer",
    "LOOP_OUTPUT": "ILoopOutputLayer", "MATRIX_MULTIPLY": "IMatrixMultiplyLayer",
    "RECURRENCE": "IRecurrenceLayer", "REDUCE": "IReduceLayer", "SELECT": "ISelectLayer",
    "SHAPE": "IShapeLayer", "SHUFFLE": "IShuffleLayer", "SLICE": "ISliceLayer", "SQUEEZE": "ISqueezeLayer",
    "TRIP_LIMIT": "ITripLimitLayer", "UNARY": "IUnaryLayer", "UNSQUEEZE": "IUnsqueezeLayer",
}
BOUNDARY = ("TRIP_LIMIT", "ITERATOR", "RECURRENCE", "LOOP_OUTPUT")


@dataclasses.dataclass(eq=False)
class Layer:
    """One layer: its `LayerType` name, the layer cast to its class, and its tensors by name."""
    index: int
    kind: str
    layer: object
    name: str
    inputs: list  # tensor names; None for an optional input left unset
    outputs: list


@dataclasses.dataclass(eq=False)
class Loop:
    """One `ILoop`: its boundary layers by kind and its interior in evaluation order."""
    name: str
    trip_limits: list = dataclasses.field(default_factory=list)
    iterators: list = dataclasses.field(default_factory=list)
    recurrences: list = dataclasses.field(default_factory=list)
    outputs: list = dataclasses.field(default_factory=list)
    interior: list = dataclasses.field(default_factory=list)
    condition: list = dataclasses.field(default_factory=list)  # interior layers a WHILE limit needs

    @property
    def boundary(self):
        return self.trip_limits + self.iterators + self.recurrences + self.outputs

    @property
    def first_index(self) -> int:
        return min(layer.index for layer in self.boundary)


@dataclasses.dataclass
class Tensor:
    """What TensorRT infers for a tensor: its shape (-1 where unknown) and its `DataType` name; `rounded`:
    whether the executor rounds the tensor's float values to that type (`execute`'s `rounding`)."""
    shape: tuple
    dtype: str
    rounded: bool = False


@dataclasses.dataclass
class Graph:
    inputs: dict  # name -> Tensor
    outputs: list  # names of the marked outputs, in order
    tensors: dict  # name -> Tensor, every tensor of the network
    schedule: list  # Layer and Loop steps in a valid order


def read(network, trt) -> Graph:
    """The graph of `network`, using the classes of the TensorRT module `trt`."""
    inputs, layers, tensors = _read_layers(network, trt)
    loops = []
    owner, member = _group_loops(layers, loops)
    consumers = {}
    for layer in layers:
        for name in layer.inputs:
            consumers.setdefault(name, []).append(layer)
    for loop in loops:
        _find_interior(loop, consumers, owner, member)
    outputs = [network.get_output(i).name for i in range(network.num_outputs)]
    for name in outputs:
        if owner.get(name) is not None:
            raise ValueError(f"network output {name!r} is inside loop {owner[name].name!r}; "
                             "only an ILoopOutputLayer may carry a value out of a loop")
    return Graph(inputs, outputs, tensors, _schedule(layers, loops))


def _read_layers(network, trt):
    """The network's inputs and every tensor (name -> Tensor), and its layers cast to their classes."""
    inputs, layers = {}, []
    for i in range(network.num_inputs):
        t = network.get_input(i)
        inputs[t.name] = Tensor(tuple(t.shape), t.dtype.name)
    tensors = dict(inputs)
    for index in range(network.num_layers):
        layer = _cast(network.get_layer(index), trt, index)
        layers.append(layer)
        for k, name in enumerate(layer.outputs):
            if name in tensors:
                raise ValueError(f"tensor name {name!r} is produced twice (layer {layer.name!r}); names must be unique")
            out = layer.layer.get_output(k)
            tensors[name] = Tensor(tuple(out.shape), out.dtype.name)
    for layer in layers:
        for name in layer.inputs:
            if name is not None and name not in tensors:
                raise ValueError(f"layer {layer.name!r} reads tensor {name!r}, which no layer or input produces")
    return inputs, layers, tensors


def _cast(layer, trt, index) -> Layer:
    """Record `layer` and cast it to its concrete class; raise for a type the executor does not cover."""
    kind = layer.type.name
    if kind not in CLASSES:
        raise NotImplementedError(f"layer {layer.name!r} (index {index}) has type {kind}, "
                                  f"which the executor does not cover; covered: {', '.join(sorted(CLASSES))}")
    inputs = [None if layer.get_input(i) is None else layer.get_input(i).name for i in range(layer.num_inputs)]
    outputs = [layer.get_output(i).name for i in range(layer.num_outputs)]
    record = Layer(index, kind, layer, layer.name, inputs, outputs)
    layer.__class__ = getattr(trt, CLASSES[kind])
    return record


def _group_loops(layers, loops):
    """Sort boundary layers into `loops` by their `ILoop`; return the loop of each boundary output
    tensor (None for loop outputs, which live outside) and the loop of each boundary layer index.

    The wrappers of the `ILoop`s stay referenced while grouping, so the bindings hand back the same
    Python object for the same loop and identity tells loops apart; equal names (TensorRT names
    loops "(Unnamed Loop* k)") are taken as the same loop too.
    """
    seen = []  # (ILoop wrapper, Loop)
    owner, member = {}, {}
    for layer in layers:
        if layer.kind not in BOUNDARY:
            continue
        handle = layer.layer.loop
        loop = next((record for h, record in seen if h is handle or h.name == handle.name), None)
        if loop is None:
            loop = Loop(handle.name)
            seen.append((handle, loop))
            loops.append(loop)
        {"TRIP_LIMIT": loop.trip_limits, "ITERATOR": loop.iterators, "RECURRENCE": loop.recurrences,
         "LOOP_OUTPUT": loop.outputs}[layer.kind].append(layer)
        member[layer.index] = loop
        for name in layer.outputs:
            owner[name] = None if layer.kind == "LOOP_OUTPUT" else loop
    for loop in loops:
        if not loop.trip_limits:
            raise ValueError(f"loop {loop.name!r} has no trip limit")
    return owner, member


def _find_interior(loop, consumers, owner, member):
    """Fill `loop.interior` (every layer reached from its iterators and recurrences) and `loop.condition`."""
    inside = {}
    frontier = [name for layer in loop.iterators + loop.recurrences for name in layer.outputs]
    while frontier:
        for layer in consumers.get(frontier.pop(), ()):
            if layer.kind in BOUNDARY:
                if member[layer.index] is not loop:
                    other = member[layer.index].name
                    raise NotImplementedError(f"layer {layer.name!r} ({layer.kind}) of loop {other!r} reads a tensor "
                                              f"of loop {loop.name!r}: nested loops are not covered")
                continue
            if layer.index not in inside:
                if any(owner.get(name) not in (None, loop) for name in layer.outputs):
                    raise ValueError(f"layer {layer.name!r} belongs to two loops")
                inside[layer.index] = layer
                for name in layer.outputs:
                    owner[name] = loop
                frontier.extend(layer.outputs)
    loop.interior = _order(list(inside.values()))
    while_limits = [t for t in loop.trip_limits if t.layer.kind.name == "WHILE"]
    if while_limits:
        loop.condition = _ancestors(while_limits[0].inputs[0], loop.interior)


def _order(layers) -> list:
    """`layers` in an order where each comes after those of them that produce its inputs."""
    producer = {name: layer for layer in layers for name in layer.outputs}
    deps = {layer.index: {producer[n].index for n in layer.inputs if n in producer} for layer in layers}
    return _kahn({layer.index: layer for layer in layers}, deps)


def _ancestors(name, interior) -> list:
    """The layers of `interior` (in its order) that the tensor `name` depends on, itself included."""
    producer = {n: layer for layer in interior for n in layer.outputs}
    needed, frontier = set(), [name]
    while frontier:
        layer = producer.get(frontier.pop())
        if layer is not None and layer.index not in needed:
            needed.add(layer.index)
            frontier.extend(n for n in layer.inputs if n is not None)
    return [layer for layer in interior if layer.index in needed]


def _schedule(layers, loops) -> list:
    """Layers outside every loop and whole loops, in a topological order (ties by layer index)."""
    in_loop = {layer.index for loop in loops for layer in loop.boundary + loop.interior}
    steps = {layer.index: layer for layer in layers if layer.index not in in_loop}
    steps.update({loop.first_index: loop for loop in loops})
    producer = {}
    for key, step in steps.items():
        for layer in step.outputs if isinstance(step, Loop) else [step]:
            for name in layer.outputs:
                producer[name] = key
    deps = {}
    for key, step in steps.items():
        reads = _external_reads(step) if isinstance(step, Loop) else step.inputs
        deps[key] = {producer[name] for name in reads if name in producer and producer[name] != key}
    return _kahn(steps, deps)


def _external_reads(loop) -> set:
    """The tensors `loop` reads from outside itself."""
    members = loop.boundary + loop.interior
    own = {name for layer in members if layer.kind != "LOOP_OUTPUT" for name in layer.outputs}
    return {name for layer in members for name in layer.inputs if name is not None and name not in own}


def _kahn(steps: dict, deps: dict) -> list:
    """Topological order of `steps` (key -> step) under `deps` (key -> keys it needs); raise on a cycle."""
    waiting = {key: set(d) for key, d in deps.items()}
    users = {}
    for key, d in deps.items():
        for dep in d:
            users.setdefault(dep, []).append(key)
    ready = [key for key, d in waiting.items() if not d]
    heapq.heapify(ready)
    order = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for user in users.get(key, ()):
            waiting[user].discard(key)
            if not waiting[user]:
                heapq.heappush(ready, user)
    if len(order) != len(steps):
        stuck = sorted(set(steps) - set(order))
        raise ValueError(f"the network has a cycle outside any recurrence (layers at indices {stuck[:10]})")
    return [steps[key] for key in order]
