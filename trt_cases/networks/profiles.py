"""Optimization profiles against a TensorRT network: checked against its inputs, set on a builder config.

The profile itself (`OptimizationProfile`, the profile of a case built dynamic, its run shapes) is a
case-level value in `trt_cases.cases.profile`; here it meets the network: every input with a `-1` dim
needs an entry, every entry names an input of the same rank, and a dim the network fixes keeps its value.
"""

from __future__ import annotations

from ..cases.profile import OptimizationProfile


def network_inputs(network) -> dict:
    """Input name -> dims of a TensorRT `INetworkDefinition` (-1 where a dim is dynamic)."""
    return {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}


def check(profile: OptimizationProfile, inputs: dict) -> None:
    """Raise ValueError (one line naming the input and the dims) where `profile` does not fit `inputs`
    (name -> dims, -1 dynamic): an input it lacks, a rank that differs, a fixed dim given another value,
    or a dynamic input it leaves out."""
    for name, (lo, opt, hi) in profile.shapes:
        if name not in inputs:
            raise ValueError(f"profile input {name!r}: the network has no such input; its inputs: {', '.join(inputs)}")
        dims = inputs[name]
        if len(dims) != len(lo):
            raise ValueError(f"profile input {name!r}: rank {len(lo)} (min {lo}); the network's input is {dims}, "
                             f"rank {len(dims)}")
        for i, d in enumerate(dims):
            if d >= 0 and any(t[i] != d for t in (lo, opt, hi)):
                raise ValueError(f"profile input {name!r}: dim {i} is fixed at {d} by the network ({dims}); "
                                 f"the profile gives min {lo}, opt {opt}, max {hi}")
    for name, dims in inputs.items():
        if any(d < 0 for d in dims) and name not in profile.names:
            raise ValueError(f"input {name!r} has dynamic dims {dims} and no entry in the profile")


def apply(builder, config, network, profile: OptimizationProfile) -> int:
    """Check `profile` against `network`'s inputs and add it to `config` (`create_optimization_profile`,
    `set_shape` per input, `add_optimization_profile`); return the profile's index."""
    check(profile, network_inputs(network))
    trt_profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in profile.shapes:
        trt_profile.set_shape(name, lo, opt, hi)
    index = config.add_optimization_profile(trt_profile)
    if index < 0:
        raise ValueError(f"the builder refused the optimization profile {profile.to_json()}")
    return index

