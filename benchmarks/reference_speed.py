"""Time the NumPy reference on a large LSTM and, where PyTorch is installed, compare with torch.nn.LSTM.

Case: LSTM, bidirectional, 2 layers, batch 64, S=128, E=H=256, float64 on the CPU. Prints the
median of a few runs for each and the ratio (target: the reference at or under PyTorch, <= 1.0x),
the reference's float32 path (`dtype=np.float32`) on the same case, the reference's throughput over
the `matrix` case set (cases per second through `run_reference`), and which BLAS kernel NumPy runs:
an `OPENBLAS_CORETYPE` set in the environment (some machines force an older kernel) changes the
reference's time several-fold and leaves PyTorch's alone.

    python benchmarks/reference_speed.py [--repeat 5] [--threads N]

`--threads N` runs both NumPy's OpenBLAS and torch on N threads (OpenBLAS set through ctypes). With N >= 2
the reference runs a bidirectional layer's two directions at once on two threads, BLAS held to one thread
each (`reference.scan.run_layer`); with N = 1 it uses one core. On a machine shared with other work, one
thread each is the steadier comparison: both lose far more when the cores are oversubscribed. What was
changed for the target and measured: reference_speed_notes.md.
"""

import argparse
import os
import statistics
import time

import numpy as np

from reference import GATES, RNNOperation, rnn_v2

B, S, E, H, L, K = 64, 128, 256, 256, 2, 2


def median_seconds(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def blas_kernel():
    try:
        import threadpoolctl
    except ImportError:
        return openblas_kernel()
    return ", ".join(f"{i['internal_api']} {i.get('architecture', '?')} x{i['num_threads']}"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas") or "none found"


def openblas_function(what):
    """`get_config`, `get_num_threads`, `set_num_threads` of the OpenBLAS NumPy loaded (ctypes), or None."""
    import ctypes

    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"), ("openblas", "")):
            function = getattr(lib, f"{prefix}_{what}{suffix}", None)
            if function is not None:
                return function
    return None


def openblas_kernel():
    """The kernel of the OpenBLAS NumPy loaded, asked through ctypes (without threadpoolctl)."""
    import ctypes

    config, threads = openblas_function("get_config"), openblas_function("get_num_threads")
    if config is None:
        return "unknown (pip install threadpoolctl to see it)"
    config.restype = ctypes.c_char_p
    return f"{config().decode()} x{threads() if threads else '?'} threads"


def matrix_cases_per_second():
    """The reference's throughput over the `matrix` case set, every case through `run_reference`."""
    from trt_cases.runners.reference_runner import run_reference
    from trt_cases.cases.sets import named

    cases = named("matrix")
    materials = [case.materialise() for case in cases]
    start = time.perf_counter()
    for case, m in zip(cases, materials):
        run_reference(case, m)
    return len(cases), len(cases) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="threads for OpenBLAS and torch (default: theirs)")
    args = parser.parse_args()
    if args.threads is not None:
        set_threads = openblas_function("set_num_threads")
        if set_threads is None:
            parser.error("--threads: no OpenBLAS found under NumPy to set the threads of")
        set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (B, S, E))
    weights, biases = {}, {}
    for index in range(L * K):
        for gate in GATES[RNNOperation.LSTM]:
            weights[(index, gate, True)] = rng.uniform(-1, 1, (H, E if index < K else K * H)) / 16
            weights[(index, gate, False)] = rng.uniform(-1, 1, (H, H)) / 16
            biases[(index, gate, True)] = rng.uniform(-0.1, 0.1, H)
            biases[(index, gate, False)] = rng.uniform(-0.1, 0.1, H)
    run = lambda dtype=np.float64: rnn_v2(x, "LSTM", L, H, weights, biases, direction="BIDIRECTION", dtype=dtype)  # noqa: E731
    single = median_seconds(lambda: run(np.float32), args.repeat)
    count, rate = matrix_cases_per_second()
    print(f"NumPy {np.__version__} BLAS: {blas_kernel()}  (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print(f"case: LSTM bidirectional L={L} batch={B} S={S} E={E} H={H} float64, median of {args.repeat}")
    try:
        import torch
    except ImportError:
        print(f"reference (NumPy)        {median_seconds(run, args.repeat):8.3f} s")
        print(f"reference float32 path   {single:8.3f} s   (dtype=np.float32)")
        print(f"reference, matrix set    {rate:8.1f} cases/s   ({count} cases through run_reference)")
        print("torch.nn.LSTM            not installed: no ratio")
        return
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    lstm = torch.nn.LSTM(E, H, num_layers=L, bidirectional=True, batch_first=True, dtype=torch.float64)
    xt = torch.from_numpy(x)
    with torch.no_grad():  # interleaved, so that both see the same load on a shared machine
        reference, torch_s, ratio = interleaved(run, lambda: lstm(xt), args.repeat)
    print(f"reference (NumPy)        {reference:8.3f} s")
    print(f"reference float32 path   {single:8.3f} s   (dtype=np.float32)")
    print(f"reference, matrix set    {rate:8.1f} cases/s   ({count} cases through run_reference)")
    print(f"torch.nn.LSTM (CPU)      {torch_s:8.3f} s   torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"ratio reference / torch  {ratio:8.2f}x   (median of the runs' ratios; target <= 1.0x)")


def interleaved(first, second, repeat):
    """Medians of `first` and `second` timed in alternation, and the median of their ratio per round."""
    first(), second()  # warm-up
    a, b = [], []
    for _ in range(repeat):
        for fn, times in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b), statistics.median(x / y for x, y in zip(a, b))


if __name__ == "__main__":
    main()
