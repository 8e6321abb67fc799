"""Builder seconds per case: packing many cases into one network, the timing cache, optimisation levels.

Uses the installed builder (TensorRT-RTX on a CPU-only machine) on the `matrix` set's loop-path
networks.

    python benchmarks/build_speed.py [--cases 128] [--packs 1 4 16 32]
        seconds per case for pack sizes 1 (one network per case) up to the whole set
    python benchmarks/build_speed.py --timing-cache [--cases 32] [--builder-optimization-level N]
        one network per case, built without a timing cache, then with an empty one, then with the
        one the previous pass saved (warm); says whether the runner keeps a timing cache here
    python benchmarks/build_speed.py --levels 0 3 5 [--cases 32]
        one network per case at each builder optimisation level
"""

import argparse
import tempfile
import time
import warnings

from trt_cases.networks import trt_api
from trt_cases.networks.engine import attach_timing_cache
from trt_cases.networks.engine_cache import TimingCacheFile
from trt_cases.networks.build import build_network, build_packed_network
from trt_cases.runners.trt_runner import optimization_level_of
from trt_cases.cases.sets import matrix


def build_seconds(net, level=None, timing_cache=None):
    """Seconds in `build_serialized_network`; `timing_cache` (bytes) is attached even where TensorRT calls it a no-op."""
    config = net.builder.create_builder_config()
    if level is not None:
        config.builder_optimization_level = level
    cache = None
    if timing_cache is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cache = config.create_timing_cache(timing_cache)
            config.set_timing_cache(cache, False)
    start = time.perf_counter()
    plan = net.builder.build_serialized_network(net.network, config)
    if plan is None:
        raise RuntimeError(net.logger.text())
    seconds = time.perf_counter() - start
    if cache is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            timing_cache = bytes(cache.serialize())
    return seconds, timing_cache


def packs(cases, sizes):
    baseline = None
    for pack in sizes:
        start = time.perf_counter()
        seconds = 0.0
        for i in range(0, len(cases), pack):
            group = cases[i:i + pack]
            net = build_network(group[0], "loop") if pack == 1 else build_packed_network(group)
            seconds += build_seconds(net)[0]
        wall = time.perf_counter() - start
        per_case = seconds / len(cases)
        baseline = baseline or per_case
        print(f"pack {pack:3}: {per_case:.3f} s/case in the builder ({wall / len(cases):.3f} s/case wall), "
              f"{baseline / per_case:.1f}x vs one network per case")


def timing_cache_passes(cases, level):
    """Per case, one build without a timing cache, one with an empty one and one with the saved (warm) one.

    The three builds of a case run back to back, in rotating order, so that load on a shared machine
    falls on all three alike.
    """
    with tempfile.TemporaryDirectory() as root:
        config = build_network(cases[0], "loop").builder.create_builder_config()
        kept = attach_timing_cache(config, None) is not None
        print(f"the runner {'keeps' if kept else 'does not keep'} a timing cache with this TensorRT"
              + ("" if kept else " (it has none, or declares it a no-op); measured with one attached anyway"))
        timing = TimingCacheFile(root, {"tensorrt": trt_api.load().label})
        labels = ("no timing cache", "empty timing cache", "warm timing cache")
        seconds = dict.fromkeys(labels, 0.0)
        for i, case in enumerate(cases):
            for label in labels[i % 3:] + labels[:i % 3]:
                data = {"no timing cache": None, "empty timing cache": b""}.get(label, timing.load() or b"")
                spent, data = build_seconds(build_network(case, "loop"), level, data)
                seconds[label] += spent
                if label != "no timing cache":
                    timing.store(data)
        for label in labels:
            print(f"{label:18}: {seconds[label] / len(cases):.3f} s/case in the builder")
        print(f"saved timing cache: {len(timing.load() or b'')} bytes after {len(cases)} builds")


def levels(cases, chosen):
    """Per case, one build at each level, back to back in rotating order (as above)."""
    seconds = dict.fromkeys(chosen, 0.0)
    for i, case in enumerate(cases):
        for level in chosen[i % len(chosen):] + chosen[:i % len(chosen)]:
            seconds[level] += build_seconds(build_network(case, "loop"), level)[0]
    for level in chosen:
        print(f"builder_optimization_level {level}: {seconds[level] / len(cases):.3f} s/case in the builder")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None, help="how many matrix cases (default: all 128; 32 for "
                                                                "--timing-cache and --levels)")
    parser.add_argument("--packs", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--timing-cache", action="store_true", help="builds without, with an empty and with a warm timing cache")
    parser.add_argument("--levels", nargs="+", metavar="N", help="builder optimisation levels to compare (0-5)")
    parser.add_argument("--builder-optimization-level", metavar="N", help="level for --timing-cache (default: TensorRT's)")
    args = parser.parse_args()
    try:
        level = optimization_level_of(args.builder_optimization_level, "--builder-optimization-level")
        chosen = [optimization_level_of(v, "--levels") for v in args.levels or ()]
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    rt = trt_api.load()
    if rt is None:
        raise SystemExit(trt_api.missing("loop"))
    cases = matrix()[: args.cases or (32 if args.timing_cache or chosen else 128)]
    mode = "timing cache" if args.timing_cache else "optimisation levels" if chosen else "packing"
    print(f"{rt.label}: builder seconds per case, loop path, {len(cases)} matrix cases ({mode})")
    if args.timing_cache:
        timing_cache_passes(cases, level)
    elif chosen:
        levels(cases, chosen)
    else:
        packs(cases, args.packs)


if __name__ == "__main__":
    main()
