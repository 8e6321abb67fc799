"""Builder seconds per case: one network per case versus many cases packed into one network.

Uses the installed builder (TensorRT-RTX on a CPU-only machine) on the `matrix` set's loop-path
networks. Prints seconds per case for pack sizes 1 (one network per case) up to the whole set.

    python benchmarks/build_speed.py [--cases 128] [--packs 1 4 16 32]
"""

import argparse
import time

from trt_cases import trt_api
from trt_cases.networks import build_network, build_packed_network
from trt_cases.sets import matrix


def build_seconds(net):
    config = net.builder.create_builder_config()
    start = time.perf_counter()
    plan = net.builder.build_serialized_network(net.network, config)
    if plan is None:
        raise RuntimeError(net.logger.text())
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=128, help="how many matrix cases (default: all 128)")
    parser.add_argument("--packs", type=int, nargs="+", default=[1, 4, 16, 32])
    args = parser.parse_args()
    rt = trt_api.load()
    if rt is None:
        raise SystemExit(trt_api.missing("loop"))
    cases = matrix()[: args.cases]
    print(f"{rt.label}: builder seconds per case, loop path, {len(cases)} matrix cases")
    baseline = None
    for pack in args.packs:
        start = time.perf_counter()
        seconds = 0.0
        for i in range(0, len(cases), pack):
            group = cases[i:i + pack]
            net = build_network(group[0], "loop") if pack == 1 else build_packed_network(group)
            seconds += build_seconds(net)
        wall = time.perf_counter() - start
        per_case = seconds / len(cases)
        baseline = baseline or per_case
        print(f"pack {pack:3}: {per_case:.3f} s/case in the builder ({wall / len(cases):.3f} s/case wall), "
              f"{baseline / per_case:.1f}x vs one network per case")


if __name__ == "__main__":
    main()
