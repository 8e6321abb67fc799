"""Layers that create, move or re-type data: constant, shuffle, slice, concatenation, gather, shape,
(un)squeeze, fill, cast and identity, each as TensorRT's Python API documents it.

Every function takes the layer's record (`graph.Layer`), its input arrays (None for an unset
optional input) and the `DataType` names of its outputs, and returns the output arrays.
"""

from __future__ import annotations

import numpy as np

from .dtypes import convert
from .weights import weight_values


def not_covered(rec, option):
    """The error for a layer option the executor does not cover: it names the layer, its type and the option."""
    return NotImplementedError(f"layer {rec.name!r} ({rec.kind}): {option} is not covered by the executor")


def ints(value) -> tuple:
    """A 0-d or 1-d integer shape tensor (or Dims) as a tuple of Python ints."""
    return tuple(int(v) for v in np.reshape(np.asarray(value), -1))


def constant(rec, inputs, dtypes):
    """IConstantLayer: its weights, shaped `shape`."""
    layer = rec.layer
    weights = weight_values(rec, layer.weights)
    return [convert(weights.reshape(tuple(layer.shape)), dtypes[0], rec.name)]


def shuffle(rec, inputs, dtypes):
    """IShuffleLayer: first transpose, reshape (static `reshape_dims` or input 1), second transpose."""
    layer, x = rec.layer, inputs[0]
    x = np.transpose(x, _permutation(rec, layer.first_transpose, x.ndim))
    dims = ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else layer.reshape_dims
    if dims is not None:
        x = x.reshape(_reshape_dims(rec, tuple(dims), x.shape, layer.zero_is_placeholder))
    return [np.transpose(x, _permutation(rec, layer.second_transpose, x.ndim))]


def _permutation(rec, permutation, rank):
    """The first `rank` entries of a Permutation (TensorRT stores 8), checked to permute range(rank)."""
    perm = tuple(permutation)[:rank]
    if sorted(perm) != list(range(rank)):
        raise not_covered(rec, f"transpose {tuple(permutation)} on a rank-{rank} tensor")
    return perm


def _reshape_dims(rec, dims, shape, zero_is_placeholder):
    """Resolve 0 (copy the input's dim at that index, with zero_is_placeholder) and one -1 (inferred)."""
    dims = list(dims)
    for i, d in enumerate(dims):
        if d == 0 and zero_is_placeholder:
            if i >= len(shape):
                raise ValueError(f"layer {rec.name!r}: reshape dim {i} is 0 (copy) but the input has rank {len(shape)}")
            dims[i] = shape[i]
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise ValueError(f"layer {rec.name!r}: reshape dims {tuple(dims)} are invalid")
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1]))
        total = int(np.prod(shape))
        if known == 0 or total % known:
            raise ValueError(f"layer {rec.name!r}: cannot infer -1 in {tuple(dims)} from shape {shape}")
        dims[dims.index(-1)] = total // known
    return tuple(dims)


def slice_(rec, inputs, dtypes):
    """ISliceLayer: output[i] = input[start + i*stride] per axis, out-of-bounds handled by `mode`."""
    layer, x = rec.layer, inputs[0]
    start, size, stride = (_slice_param(rec, getattr(layer, attr), inputs, k, attr)
                           for k, attr in ((1, "start"), (2, "shape"), (3, "stride")))
    axes = _slice_axes(rec, layer, inputs, x.ndim)
    full = {"start": [0] * x.ndim, "size": list(x.shape), "stride": [1] * x.ndim}
    for name, values in (("start", start), ("size", size), ("stride", stride)):
        if len(values) != len(axes):
            raise ValueError(f"layer {rec.name!r}: slice {name} {values} does not match axes {axes}")
        for axis, v in zip(axes, values):
            full[name][axis] = v
    mode = layer.mode.name
    fill = inputs[4] if len(inputs) > 4 and inputs[4] is not None else np.zeros((), x.dtype)
    if mode not in ("STRICT_BOUNDS", "WRAP", "CLAMP", "FILL", "REFLECT"):
        raise not_covered(rec, f"mode {mode}")
    indices, inside = [], np.ones(tuple(full["size"]), dtype=bool)
    for axis in range(x.ndim):
        idx = full["start"][axis] + np.arange(full["size"][axis]) * full["stride"][axis]
        idx, ok = _sample(rec, idx, x.shape[axis], mode)
        indices.append(idx)
        inside &= np.reshape(ok, [-1 if a == axis else 1 for a in range(x.ndim)])
    out = x[np.ix_(*indices)] if x.ndim else x.copy()
    return [np.where(inside, out, fill) if mode == "FILL" else out]


def _slice_param(rec, static, inputs, k, name):
    """Slice start/shape/stride: input k when set, else the static Dims."""
    if len(inputs) > k and inputs[k] is not None:
        return ints(inputs[k])
    if static is None:
        raise ValueError(f"layer {rec.name!r}: slice {name} is neither static nor an input")
    return tuple(static)


def _slice_axes(rec, layer, inputs, rank):
    """The axes start/shape/stride refer to (input 5 or `axes`, negatives counted from the end); all by default."""
    axes = ints(inputs[5]) if len(inputs) > 5 and inputs[5] is not None else getattr(layer, "axes", None)  # 8.6 lacks it
    if axes is None:
        return tuple(range(rank))
    axes = tuple(a + rank if a < 0 else a for a in axes)
    if len(set(axes)) != len(axes) or not all(0 <= a < rank for a in axes):
        raise ValueError(f"layer {rec.name!r}: slice axes {axes} invalid for rank {rank}")
    return axes


def _sample(rec, idx, extent, mode):
    """Map coordinates `idx` on an axis of `extent` by `mode`: (indices to read, which were in bounds)."""
    ok = (idx >= 0) & (idx < extent)
    if ok.all() or idx.size == 0:
        return idx, ok
    if mode == "STRICT_BOUNDS":
        raise ValueError(f"layer {rec.name!r}: slice reads coordinates {idx.tolist()} outside an axis of "
                         f"extent {extent} (mode STRICT_BOUNDS)")
    if extent == 0:
        raise ValueError(f"layer {rec.name!r}: slice in mode {mode} samples an axis of extent 0")
    if mode == "WRAP":
        return np.mod(idx, extent), ok
    if mode == "REFLECT":
        period = 2 * (extent - 1)
        folded = np.mod(idx, period) if period else np.zeros_like(idx)
        return np.where(folded >= extent, period - folded, folded), ok
    return np.clip(idx, 0, extent - 1), ok  # CLAMP reads the edge; FILL reads it too, then overwrites


def concatenation(rec, inputs, dtypes):
    """IConcatenationLayer along `axis`."""
    return [np.concatenate(inputs, axis=rec.layer.axis)]


def gather(rec, inputs, dtypes):
    """IGatherLayer: DEFAULT (ONNX Gather), ELEMENT (GatherElements), ND (GatherND) on `axis`."""
    layer, (data, indices) = rec.layer, inputs[:2]
    mode, batch = layer.mode.name, layer.num_elementwise_dims
    if indices.size and np.min(indices) < 0:
        raise not_covered(rec, "negative gather indices")
    if mode == "DEFAULT" and batch == 0:
        return [np.take(data, indices, axis=layer.axis)]
    if mode == "ELEMENT" and batch == 0:
        grid = list(np.indices(indices.shape, sparse=True))
        grid[layer.axis] = indices
        return [data[tuple(grid)]]
    if mode == "ND":
        return [_gather_nd(data, indices, batch)]
    raise not_covered(rec, f"gather mode {mode} with num_elementwise_dims={batch}")


def _gather_nd(data, indices, batch):
    """GatherND with `batch` leading batch dims shared by data and indices."""
    lead = indices.shape[:batch]
    flat_data = data.reshape((-1,) + data.shape[batch:])
    flat_idx = indices.reshape((-1,) + indices.shape[batch:])
    k = indices.shape[-1]
    rows = [d[tuple(np.moveaxis(i, -1, 0))] for d, i in zip(flat_data, flat_idx)]
    return np.stack(rows).reshape(lead + indices.shape[batch:-1] + data.shape[batch + k:])


def shape(rec, inputs, dtypes):
    """IShapeLayer: the input's dimensions as a 1-d integer tensor."""
    return [np.array(inputs[0].shape, dtype=np.int64)]


def unsqueeze(rec, inputs, dtypes):
    """IUnsqueezeLayer: insert unit dims at `axes` (input 1; negatives count from the output's end)."""
    return [np.expand_dims(inputs[0], _axes(rec, inputs))]


def squeeze(rec, inputs, dtypes):
    """ISqueezeLayer: remove the unit dims at `axes` (input 1; negatives count from the input's end)."""
    x = inputs[0]
    axes = tuple(a + x.ndim if a < 0 else a for a in _axes(rec, inputs))
    if any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"layer {rec.name!r}: squeeze axes {axes} of shape {x.shape} are not all 1")
    return [np.squeeze(x, axis=axes)]


def _axes(rec, inputs):
    """The axes input of a squeeze or unsqueeze layer."""
    if len(inputs) < 2 or inputs[1] is None:
        raise not_covered(rec, "an unset axes input")
    return ints(inputs[1])


def fill(rec, inputs, dtypes):
    """IFillLayer LINSPACE: value = alpha + sum_k beta[k] * index_k (shape from input 0 or `shape`).

    A static scalar beta steps a 1-d output; on a higher rank only beta 0 is covered (a constant fill:
    alpha everywhere, whichever dims a scalar delta would step)."""
    layer = rec.layer
    if layer.operation.name != "LINSPACE":
        raise not_covered(rec, f"fill operation {layer.operation.name} (random values cannot be reproduced)")
    dims = ints(inputs[0]) if len(inputs) > 0 and inputs[0] is not None else tuple(layer.shape)
    alpha = inputs[1].reshape(()) if len(inputs) > 1 and inputs[1] is not None else layer.alpha
    if len(inputs) > 2 and inputs[2] is not None:
        beta = np.reshape(inputs[2], -1)
    elif len(dims) == 1 or layer.beta == 0:
        beta = np.full(len(dims), layer.beta)
    else:
        raise not_covered(rec, f"LINSPACE of rank {len(dims)} with a scalar beta")
    grid = np.indices(dims) if dims else np.zeros((0,))
    value = alpha + np.tensordot(beta, grid, axes=1) if dims else np.asarray(alpha)
    return [convert(value, dtypes[0], rec.name)]


def cast(rec, inputs, dtypes):
    """ICastLayer to `to_type` (the output's data type)."""
    return [convert(inputs[0], dtypes[0], rec.name)]


def identity(rec, inputs, dtypes):
    """IIdentityLayer: a copy, converted when its output type was set to another data type."""
    return [convert(inputs[0], dtypes[0], rec.name)]
