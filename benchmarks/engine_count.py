"""Count (and optionally build) the TensorRT engines a cold `pytest -m gpu` builds, before and after engine sharing.

The `build-*` backends build on a CPU exactly the engines the `tensorrt-*` backends would (the same networks,
grouped by the same `runners.engine_plan` and the same profiles), so each engine of a GPU run is an engine key
of a build check here. TF32 engines are the fp32 networks built with another flag: counted apart, built once.

- `after`: the plan of `tests/gpu_plan.py`, default tier (`pytest -m gpu`) and thorough tier (`-m "gpu and sweep"`).
- `before`: the GPU tests as they were: every case of seeds, matrix, edge (and onnx on the onnx path) on every
  TensorRT backend, one constant-weight engine per case, plus 200 hypothesis cases on tensorrt-loop-fp32 and
  tensorrt-onnx-fp32 (one engine each) and the four weights-as-inputs sweep engines.

Counted on TensorRT 10/11 terms: the native path has no IRNNv2Layer there and builds nothing. A case the
installed parser refuses (TensorRT-RTX's half-precision defects) is not an engine.

    PYTHONPATH=.:tests python benchmarks/engine_count.py [--build after|before|both] [--sample N]

`--build` builds the engines with the TensorRT-RTX builder and prints the builder's seconds (all of them, or a
random sample of N per list, scaled up: said so in the output).
"""

import argparse
import collections
import dataclasses
import random
import sys
import time

sys.path.insert(0, "tests")

import gpu_plan  # noqa: E402
from trt_cases.cases.chunks import chunk_case, spans, streaming_problem  # noqa: E402
from trt_cases.cases.sets import named  # noqa: E402
from trt_cases.runners.build_check import BuildCheckRunner  # noqa: E402

HYPOTHESIS_EXAMPLES = 200


def build_runner(path, precision, share):
    return BuildCheckRunner(path, "fp32" if precision == "tf32" else precision, share_engines=share)


def engines_of(path, precision, cases, share=False) -> dict:
    """Engine key -> (runner, a case it runs) for `cases` on `tensorrt-{path}-{precision}`."""
    if path == "native":
        return {}
    runner = build_runner(path, precision, share)
    runner.plan(cases)
    found = {}
    for case in cases:
        if runner.prepare(case) is None:
            for served in calls(case):
                found.setdefault((precision, runner.engine_key(served)), (runner, served))
    return found


def calls(case) -> list:
    """The cases a backend's engines serve for `case`: its chunk cases when streamed (one engine per chunk length)."""
    if not getattr(case, "chunk", None) or streaming_problem(case):
        return [case]
    return list({steps: chunk_case(case, steps) for _, steps in spans(case)}.values())


def after() -> dict:
    """Tier -> engines of the plan."""
    tiers = collections.defaultdict(dict)
    shared = {}
    for entry in gpu_plan.entries():
        spec = gpu_plan.backend_spec(entry.backend)
        if spec.kind != "tensorrt":
            continue
        if entry.share:
            shared.setdefault(entry.backend, []).append(entry)
            continue
        typing = ("typed-" + spec.typing,) if spec.typing else ()
        for key, value in engines_of(spec.path, spec.precision, gpu_plan.cases_of(entry)).items():
            tiers[entry.tier][key + typing] = value
    for backend, group in shared.items():
        spec = gpu_plan.backend_spec(backend)
        typing = ("typed-" + spec.typing,) if spec.typing else ()
        engines = engines_of(spec.path, spec.precision, gpu_plan.shared_cases(backend), share=True)
        tier = gpu_plan.DEFAULT if any(e.tier == gpu_plan.DEFAULT for e in group) else gpu_plan.THOROUGH
        tiers[tier].update({key + typing: value for key, value in engines.items()})
    thorough = {k: v for k, v in tiers[gpu_plan.THOROUGH].items() if k not in tiers[gpu_plan.DEFAULT]}
    # typed backends: on 10.x the `-weak` engines are the auto ones (one disk-cache key), `-strong` are new; on
    # 11.x `-weak` is a skip. Either way one typing's engines are new: count the strong ones only.
    thorough = {k: v for k, v in thorough.items() if k[-1] != "typed-weak"}
    return {gpu_plan.DEFAULT: tiers[gpu_plan.DEFAULT], gpu_plan.THOROUGH: thorough}


def before() -> dict:
    """The engines of the GPU tests with one engine per case."""
    irnn = [c for s in ("seeds", "matrix", "edge") for c in named(s) if not getattr(c, "chunk", None)]  # as they were
    found = {}
    for path in gpu_plan.PATHS:
        for precision in gpu_plan.ENGINE_PRECISIONS:
            cases = irnn + (named("onnx") if path == "onnx" else [])
            case_precision = "fp32" if precision == "tf32" else precision
            found.update(engines_of(path, precision, [dataclasses.replace(c, precision=case_precision) for c in cases]))
    extra = 2 * HYPOTHESIS_EXAMPLES + 4
    return found, extra


def build_seconds(engines: dict, sample: int | None) -> tuple[float, int]:
    """The builder's seconds for `engines` (TF32 engines are fp32 networks: built as such), scaled from a sample."""
    items = list(engines.values())
    chosen = random.Random(0).sample(items, min(sample, len(items))) if sample else items
    total = 0.0
    for runner, case in chosen:
        start = time.perf_counter()
        try:
            runner.infer(case)
        except Exception as exc:  # a known builder failure: its time counts, it is still an engine the GPU run tries
            print(f"  build failed ({type(exc).__name__}): {case.id}", file=sys.stderr)
        total += time.perf_counter() - start
    return total * len(items) / max(len(chosen), 1), len(chosen)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", choices=("after", "before", "both"))
    parser.add_argument("--sample", type=int, help="build a random sample of N engines per list and scale the seconds")
    args = parser.parse_args(argv)
    tiers = after()
    old, extra = before()
    print(f"before: {len(old) + extra} engines in a cold `pytest -m gpu` ({len(old)} set-case engines, "
          f"{extra} hypothesis and weights-as-inputs engines)")
    print(f"after:  {len(tiers['default'])} engines in a cold `pytest -m gpu` (default tier), "
          f"{len(tiers['thorough'])} more in `pytest -m \"gpu and sweep\"` (thorough tier)")
    by = collections.Counter(k[0] for k in tiers["default"])
    print("        default tier by precision: " + ", ".join(f"{p} {n}" for p, n in sorted(by.items())))
    lists = {"after": tiers["default"], "before": old}
    for name in ("after", "before") if args.build == "both" else (args.build,) if args.build else ():
        seconds, built = build_seconds(lists[name], args.sample)
        how = f"scaled from {built} built" if built < len(lists[name]) else "all built"
        print(f"{name}: TensorRT-RTX builder {seconds:.0f} s for {len(lists[name])} engines ({how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
