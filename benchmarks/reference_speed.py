"""Time the NumPy reference on a large LSTM and, where PyTorch is installed, compare with torch.nn.LSTM.

Case: LSTM, bidirectional, 2 layers, batch 64, S=128, E=H=256, float64 on the CPU. Prints the
median of a few runs for each and the ratio (target: the reference within 1.5x of PyTorch), and
which BLAS kernel NumPy runs: an `OPENBLAS_CORETYPE` set in the environment (some machines force
an older kernel) changes the reference's time several-fold and leaves PyTorch's alone.

    python benchmarks/reference_speed.py [--repeat 5]
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
        return "unknown (pip install threadpoolctl to see it)"
    return ", ".join(f"{i['internal_api']} {i.get('architecture', '?')} x{i['num_threads']}"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas") or "none found"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (B, S, E))
    weights, biases = {}, {}
    for index in range(L * K):
        for gate in GATES[RNNOperation.LSTM]:
            weights[(index, gate, True)] = rng.uniform(-1, 1, (H, E if index < K else K * H)) / 16
            weights[(index, gate, False)] = rng.uniform(-1, 1, (H, H)) / 16
            biases[(index, gate, True)] = rng.uniform(-0.1, 0.1, H)
            biases[(index, gate, False)] = rng.uniform(-0.1, 0.1, H)
    reference = median_seconds(lambda: rnn_v2(x, "LSTM", L, H, weights, biases, direction="BIDIRECTION"), args.repeat)
    print(f"NumPy {np.__version__} BLAS: {blas_kernel()}  (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print(f"case: LSTM bidirectional L={L} batch={B} S={S} E={E} H={H} float64, median of {args.repeat}")
    print(f"reference (NumPy)        {reference:8.3f} s")
    try:
        import torch
    except ImportError:
        print("torch.nn.LSTM            not installed: no ratio")
        return
    lstm = torch.nn.LSTM(E, H, num_layers=L, bidirectional=True, batch_first=True, dtype=torch.float64)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        torch_s = median_seconds(lambda: lstm(xt), args.repeat)
    print(f"torch.nn.LSTM (CPU)      {torch_s:8.3f} s   torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"ratio reference / torch  {reference / torch_s:8.2f}x   (target <= 1.5x)")


if __name__ == "__main__":
    main()
