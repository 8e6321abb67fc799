"""The run shape of an execution: the feeds' dims, checked as TensorRT checks `set_input_shape`.

A network input's `-1` dims take the fed extent; a dim the network fixes must be fed as it is. With an
optimization profile (`trt_cases.cases.profile.OptimizationProfile`, or a mapping input name -> (min, opt,
max) dims), the profile must fit the network (`trt_cases.networks.profiles.check`) and the run dims lie
within min and max, dim by dim. Every error is one line naming the input and the dims.
"""

from __future__ import annotations

from ..cases.profile import OptimizationProfile
from ..networks import profiles


def run_shape(values: dict) -> dict:
    """Input name -> dims of the arrays in `values`: the shape an execution runs at."""
    return {name: tuple(int(d) for d in value.shape) for name, value in values.items()}


def check_dims(name: str, network_dims, fed_dims) -> None:
    """Raise ValueError unless `fed_dims` fit `network_dims` (same rank, every dim but a -1 equal)."""
    network_dims, fed_dims = tuple(network_dims), tuple(fed_dims)
    if len(fed_dims) != len(network_dims) or any(d not in (-1, f) for d, f in zip(network_dims, fed_dims)):
        raise ValueError(f"input {name!r}: fed dims {fed_dims} do not fit the network's dims {network_dims} "
                         "(a -1 takes any extent, a fixed dim must be fed as it is)")


def check_profile(profile, network_inputs: dict, shapes: dict) -> None:
    """Raise ValueError where `profile` does not fit a network whose inputs are `network_inputs` (name ->
    dims, -1 dynamic), or the run `shapes` (name -> dims) lie outside it."""
    if not isinstance(profile, OptimizationProfile):
        profile = OptimizationProfile(tuple(dict(profile).items()))
    profiles.check(profile, network_inputs)
    outside = profile.contains(shapes)
    if outside:
        raise ValueError(outside)
