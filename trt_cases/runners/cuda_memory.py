"""Device memory and streams through cuda-python's runtime API (`cudart`, as the cookbook uses).

Every CUDA call's return code is checked (`check`) and raised as `CudaError` with CUDA's own
message; buffers are freed when their owner closes, even on errors. Output buffers are poisoned
with all-ones bytes (NaN in fp32, fp16 and bf16) before each run, so an element the engine never
wrote can never pass a comparison.
"""

from __future__ import annotations

import contextlib

import numpy as np


def cudart():
    """cuda-python's runtime module: `cuda.bindings.runtime` (cuda-python 12.6+), else `cuda.cudart`."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        from cuda import cudart as runtime
    return runtime


def missing() -> str | None:
    """Why CUDA cannot be used here (one line), or None."""
    try:
        rt = cudart()
    except ImportError:
        return "cuda-python is not installed (pip install cuda-python)"
    err, count = rt.cudaGetDeviceCount()
    if int(err) != 0 or count == 0:
        return f"no CUDA device ({_name(rt, err) if int(err) else 'cudaGetDeviceCount() returned 0'})"
    return None


class CudaError(RuntimeError):
    """A CUDA runtime call failed; the message names the call and CUDA's error string."""


def check(result, call: str):
    """Unpack a cuda-python `(err, *values)` result, raising CudaError on any error code."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise CudaError(f"{call} failed: {_name(cudart(), err)}")
    return values[0] if len(values) == 1 else tuple(values) or None


def _name(rt, err) -> str:
    _, name = rt.cudaGetErrorName(err)
    _, text = rt.cudaGetErrorString(err)
    return f"{name.decode() if isinstance(name, bytes) else name}: {text.decode() if isinstance(text, bytes) else text}"


class DeviceBuffer:
    """`nbytes` of device memory; `upload`/`download` copy asynchronously on a stream."""

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self.ptr = check(cudart().cudaMalloc(max(self.nbytes, 1)), f"cudaMalloc({self.nbytes})")

    def upload(self, array: np.ndarray, stream) -> None:
        array = np.ascontiguousarray(array)
        if array.nbytes != self.nbytes:
            raise ValueError(f"upload of {array.nbytes} bytes into a buffer of {self.nbytes}")
        rt = cudart()
        check(rt.cudaMemcpyAsync(self.ptr, array.ctypes.data, self.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(host to device)")

    def download(self, array: np.ndarray, stream) -> None:
        if not array.flags.c_contiguous or array.nbytes != self.nbytes:
            raise ValueError(f"download into a non-contiguous or mis-sized array ({array.nbytes} bytes, buffer {self.nbytes})")
        rt = cudart()
        check(rt.cudaMemcpyAsync(array.ctypes.data, self.ptr, self.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync(device to host)")

    def poison(self, stream) -> None:
        """Fill with 0xFF bytes: NaN in every float format, so unwritten outputs show."""
        check(cudart().cudaMemsetAsync(self.ptr, 0xFF, self.nbytes, stream), "cudaMemsetAsync")

    def free(self) -> None:
        if self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            check(cudart().cudaFree(ptr), "cudaFree")


class Stream(contextlib.AbstractContextManager):
    """A CUDA stream that owns the buffers allocated through it and frees them all on close."""

    def __init__(self):
        self.handle = check(cudart().cudaStreamCreate(), "cudaStreamCreate")
        self.buffers: list[DeviceBuffer] = []

    def alloc(self, nbytes: int) -> DeviceBuffer:
        buffer = DeviceBuffer(nbytes)
        self.buffers.append(buffer)
        return buffer

    def synchronize(self) -> None:
        check(cudart().cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def release(self) -> None:
        """Free every buffer of this stream (after synchronizing); the stream stays usable."""
        try:
            self.synchronize()
        finally:
            buffers, self.buffers = self.buffers, []
            errors = []
            for buffer in buffers:
                try:
                    buffer.free()
                except CudaError as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]

    def __exit__(self, *exc):
        try:
            self.release()
        finally:
            check(cudart().cudaStreamDestroy(self.handle), "cudaStreamDestroy")
        return False


def round_trip(array: np.ndarray) -> np.ndarray:
    """Copy `array` to the device and back through a poisoned buffer; a check of the copy path."""
    out = np.empty_like(np.ascontiguousarray(array))
    with Stream() as stream:
        buffer = stream.alloc(out.nbytes)
        buffer.poison(stream.handle)
        buffer.upload(array, stream.handle)
        buffer.download(out, stream.handle)
        stream.synchronize()
    return out


def device_memory_used() -> int:
    """Bytes of device memory in use (cudaMemGetInfo), for leak checks."""
    free, total = check(cudart().cudaMemGetInfo(), "cudaMemGetInfo")
    return int(total) - int(free)
