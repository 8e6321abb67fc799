"""The run shape of an execution: the feeds' dims, checked as TensorRT checks `set_input_shape`.

A network input's `-1` dims take the fed extent; a dim the network fixes must be fed as it is. With an
optimization profile (per input name, `(min, opt, max)` dims: `trt_cases.cases.profile.OptimizationProfile`
or any mapping of that form), every dynamic input needs an entry and its run dims must lie within min and
max, dim by dim. Every error is one line naming the input and the dims.
"""

from __future__ import annotations


def run_shape(values: dict) -> dict:
    """Input name -> dims of the arrays in `values`: the shape an execution runs at."""
    return {name: tuple(int(d) for d in value.shape) for name, value in values.items()}


def check_dims(name: str, network_dims, fed_dims) -> None:
    """Raise ValueError unless `fed_dims` fit `network_dims` (same rank, every dim but a -1 equal)."""
    network_dims, fed_dims = tuple(network_dims), tuple(fed_dims)
    if len(fed_dims) != len(network_dims) or any(d not in (-1, f) for d, f in zip(network_dims, fed_dims)):
        raise ValueError(f"input {name!r}: fed dims {fed_dims} do not fit the network's dims {network_dims} "
                         "(a -1 takes any extent, a fixed dim must be fed as it is)")


def profile_shapes(profile) -> dict:
    """Input name -> (min, opt, max) dims of `profile`: an object with `.shapes` pairs, or a mapping."""
    pairs = profile.shapes if hasattr(profile, "shapes") else profile
    shapes = dict(pairs.items() if hasattr(pairs, "items") else pairs)
    for name, triple in shapes.items():
        if len(triple) != 3:
            raise ValueError(f"profile input {name!r}: expected (min, opt, max) dims; got {triple!r}")
    return {name: tuple(tuple(int(d) for d in dims) for dims in triple) for name, triple in shapes.items()}


def check_profile(profile, network_inputs: dict, shapes: dict) -> None:
    """Raise ValueError where the run `shapes` (name -> dims) lie outside `profile`, for a network whose
    inputs are `network_inputs` (name -> dims, -1 dynamic): an entry for no input, a dynamic input
    without an entry, a rank that differs, a dim below min or above max."""
    entries = profile_shapes(profile)
    for name in entries:
        if name not in network_inputs:
            raise ValueError(f"profile input {name!r}: the network has no such input; its inputs: "
                             f"{', '.join(network_inputs)}")
    for name, dims in network_inputs.items():
        if name not in entries:
            if -1 in tuple(dims):
                raise ValueError(f"input {name!r} has dynamic dims {tuple(dims)} and no entry in the profile")
            continue
        lo, _, hi = entries[name]
        run = tuple(shapes[name])
        if len(run) != len(lo):
            raise ValueError(f"input {name!r}: run dims {run} have rank {len(run)}; the profile's min {lo} "
                             f"has rank {len(lo)}")
        if any(d < a or d > b for d, a, b in zip(run, lo, hi)):
            raise ValueError(f"input {name!r}: run dims {run} outside the profile: min {lo}, max {hi}")
