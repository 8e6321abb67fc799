"""The scan over time for one direction of one layer, with sequence-length masking.

A sequence of length `len` updates its state at steps `t < len` only: past its end the state is
held (so the final state is the one at step `len-1`, or the initial state for `len = 0`) and the
output is zero. Running the steps in reverse order with the same mask starts the backward direction
at position `len-1`, as TensorRT and onnxruntime do. `run_direction` computes the input projection
a chunk of timesteps at a time, hoisted out of the time loop as every real implementation does, and
`run_layer` runs a layer's two directions at once where a second core is there to take one.

Everything here is feature-major, as in `cells`: a timestep's input is `(I, N)`, its states `(H, N)`,
its input contribution `(G*H, N)`; sequences are `(S, I, N)` views, best of `(I, S, N)` arrays (see
`project`). The callers (`rnn_v2`, `onnx_rnn`) lay their inputs and outputs out so.
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading

import numpy as np

from .cells import STEPS, Cell


def scan(step, xw, h, c, R, Rb, lengths=None, reverse=False, out=None, work=None):
    """Run `step` over `xw` `(S, G*H, N)` from the states `h`, `c` `(H, N)`; return outputs `(S, H, N)`
    (written into `out` if given) and the final `(h, c)`. `work`, a `(2, G, H, N)` buffer, is made if not
    given. Without lengths each step writes its `h` straight into `out[t]` and its `c` into one of two
    alternating buffers (`states`); with lengths the held states are masked in."""
    S = xw.shape[0]
    if out is None:
        out = np.empty((S,) + h.shape, dtype=h.dtype)
    if work is None:
        work = np.empty((2, R.shape[0] // R.shape[1]) + h.shape, dtype=h.dtype)
    states = np.empty((2,) + c.shape, dtype=c.dtype)
    for k, t in enumerate(range(S - 1, -1, -1) if reverse else range(S)):
        if lengths is None:
            h, c = step(xw[t], h, c, R, Rb, work=work, out=(out[t], states[k % 2]))
        else:
            h_new, c_new = step(xw[t], h, c, R, Rb, work=work)
            live = t < lengths  # (N,): broadcast along the hidden units
            h = np.where(live, h_new, h)
            c = np.where(live, c_new, c)
            out[t] = np.where(live, h, 0.0)
    return out, h, c


# Values of `xw` projected at a time (32 MB in float64): the projection's memory stays bounded for long
# sequences of wide layers (S*G*H*N values at once would be 1 GB at S=1000, N=64, G*H=2048), and one
# product over 16 or more timesteps runs as fast as one over the whole sequence.
CHUNK_VALUES = 1 << 22


def run_direction(op: str, cell: Cell, x, W, R, Wb, Rb, h0, c0, lengths=None, reverse=False, out=None):
    """One direction of one layer on `x` `(S, I, N)`: `xw = W·x` for every timestep, then the scan of
    `op`'s step ("RNN", "GRU", "LSTM"), which adds `R·h` and the biases. `W` None is TensorRT's SKIP mode
    (the input itself, once per gate). Gates are stacked in `enums.GATES` order. The projection is one
    product per chunk of timesteps (about CHUNK_VALUES values of `xw` each), hoisted out of the steps of
    the chunk as every real implementation hoists it out of the time loop.

    `input_contribution` splits the biases between `xw` and the step; `trt_cases.executor.trace` calls it
    too, so its steps see the same numbers to the bit."""
    S, N, (GH, H) = x.shape[0], x.shape[-1], R.shape
    if out is None:
        out = np.empty((S, H, N), dtype=h0.dtype)
    chunk = max(1, min(S, CHUNK_VALUES // (GH * N)))
    projection = np.empty(chunk * GH * N, dtype=h0.dtype)
    work = np.empty((2, GH // H, H, N), dtype=h0.dtype)
    step = functools.partial(STEPS[op], cell=cell)
    h, c = h0, c0
    starts = range(0, S, chunk)
    for t0 in (reversed(starts) if reverse else starts):
        span = slice(t0, min(t0 + chunk, S))
        xw, b = input_contribution(op, x[span], W, R, Wb, Rb, projection)
        _, h, c = scan(step, xw, h, c, R, b, None if lengths is None else lengths - t0, reverse, out[span], work)
    return out, h, c


# A layer's two directions run at once from this many values of `xw` (S*G*H*N) up, on a BLAS with 2+ threads
PARALLEL_VALUES = 1 << 20


def run_layer(directions, size):
    """Results of a layer's directions (callables taking no argument), in order. One after the other; or,
    for two directions of `size` values (S*G*H*N) or more where NumPy's BLAS runs 2 or more threads, both at
    once on two threads, BLAS held to one thread meanwhile (process-wide, while the layer runs). NumPy's
    elementwise calls, the larger part of a step, use one core; this puts the second core to work on the
    other direction. Each direction's arithmetic is the same either way."""
    blas = _blas() if len(directions) == 2 and size >= PARALLEL_VALUES else None
    if blas is None or min(library.num_threads for library in blas.lib_controllers) < 2:
        return [direction() for direction in directions]
    if not _TWO_THREADS.acquire(blocking=False):  # another caller's layer is on two threads: this one waits for none
        return [direction() for direction in directions]
    errors = np.geterr()  # the caller's: NumPy's error state belongs to a thread

    def second():
        with np.errstate(**errors):
            return directions[1]()

    try:
        with blas.limit(limits=1):
            other = _second_thread().submit(second)
            try:
                first = directions[0]()
            except Exception:
                concurrent.futures.wait([other])
                raise
            return [first, other.result()]
    finally:
        _TWO_THREADS.release()


# Held while a layer runs on two threads: one at a time, so that each BLAS limit restores what it found
_TWO_THREADS = threading.Lock()


@functools.cache
def _blas():
    """threadpoolctl's controller of the BLAS libraries loaded (NumPy's among them), or None without
    threadpoolctl or a BLAS it knows."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    return blas if blas.lib_controllers else None


@functools.cache
def _second_thread():
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference-direction")


def input_contribution(op: str, x, W, R, Wb, Rb, projection=None):
    """`(xw, b)` for the scan: `xw = W·x` for every timestep (W None: SKIP, the input once per gate) and
    the bias `b` `(G*H, N)` the step adds as its Rb. RNN and LSTM add both biases linearly: b = Wb + Rb,
    which the step adds to its `(G*H, N)` block while it is in cache (an addition over the whole S*G*H*N
    projection streams it through memory once more: 2-8% of the LSTM benchmark). GRU: Wb joins `xw` and
    b = Rb, as with linear_before_reset=1 its hidden part is multiplied by r. Biases are repeated along N:
    `(G*H, N)` contiguous, so that each addition is one contiguous pass."""
    N = x.shape[-1]
    xw = np.tile(x, (1, R.shape[0] // R.shape[1], 1)) if W is None else project(x, W, projection)
    if op == "GRU":
        xw += along_batch(Wb, N)
        return xw, None if Rb is None else along_batch(Rb, N)
    return xw, along_batch(Wb if Rb is None else Wb + Rb, N)


def along_batch(b, N):
    """The bias vector `b` `(G*H,)` repeated along the batch: `(G*H, N)`, contiguous."""
    return np.repeat(b[:, None], N, axis=1)


def project(x, W, out=None):
    """`W·x[t]` for every timestep of `x` `(S, I, N)` as one product `(G*H, I)·(I, S*N)` (a third faster here
    than S products `(G*H, I)·(I, N)`), into the flat buffer `out` if given. Returns an `(S, G*H, N)` view of
    the `(G*H, S, N)` result: a step's block `(G*H, N)` is strided, which costs its one addition little.
    `x` is best a view of an `(I, S, N)` array (`rnn_v2` and `onnx_rnn` lay inputs and layer outputs out so);
    any other layout is copied into one first."""
    S, I, N = x.shape
    G = W.shape[0]
    columns = x.transpose(1, 0, 2).reshape(I, S * N)
    product = np.matmul(W, columns, out=None if out is None else out[:G * S * N].reshape(G, S * N))
    return product.reshape(G, S, N).transpose(1, 0, 2)
