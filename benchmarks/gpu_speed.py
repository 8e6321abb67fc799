"""GPU figures: measured error and speed of every GPU backend available here.

Prints, per backend: the worst error against the float64 reference over the `matrix` set
(max abs error / max(1, max |expected|), the unit of the tolerance table), cases per second over
`matrix`, hypothesis-style examples per minute (TensorRT: one weights-as-inputs engine per shape
fed many weight sets), and the median time of NVIDIA/TensorRT issue 4490's LSTM
(`nn.LSTM(293, 128, 2 layers, bidirectional)`, batch 32, S=60) on each backend, with TensorRT's
ratio to cuDNN where both ran.

TensorRT's cases per second are "cold" (an empty engine cache: every engine built, deserialised
and run) and "warm" (a new runner on the filled disk cache: engines loaded, deserialised and run),
with the engines built and deserialisations of each pass and the typing (weak: builder flag;
strong: typed network). cuDNN's are two passes over the set. Its issue-4490 time is one
inference on a kept engine and context, host-device copies included.

    PYTHONPATH=. python benchmarks/gpu_speed.py [--repeat 200]
"""

import argparse
import dataclasses
import statistics
import tempfile
import time

import numpy as np

from trt_cases import Case
from trt_cases.runners.reference_runner import run_reference
from trt_cases.runners.registry import CASE_PRECISION, gpu_backends
from trt_cases.cases.sets import matrix

ISSUE_4490 = Case("LSTM", layer_count=2, hidden_size=128, max_seq_length=60, data_length=293, batch_dims=(32,),
                  direction="BIDIRECTION", seed=4490)


def worst_error(runner, cases):
    worst = 0.0
    for case in cases:
        expected, actual = run_reference(case), runner.infer(case)
        scale = max(1.0, max(float(np.max(np.abs(e))) for e in expected))
        worst = max(worst, max(float(np.max(np.abs(e - a))) for e, a in zip(expected, actual)) / scale)
    return worst


def cases_per_second(runner, cases):
    start = time.perf_counter()
    for case in cases:
        runner.infer(case)
    return len(cases) / (time.perf_counter() - start)


def median_ms(runner, case, repeat):
    """Median wall time of one inference of `case` (torch runners: module forward only, synchronised)."""
    import torch

    if hasattr(runner, "device"):
        from trt_cases.runners.torch_runner import build_module, copy_weights, cuda_tf32

        dtype = getattr(torch, runner.dtype_name)
        m = case.materialise()
        with torch.no_grad(), cuda_tf32(runner.allow_tf32):
            module = build_module(case, runner.device, dtype)
            copy_weights(module, case, m)
            x = torch.tensor(m.input, dtype=dtype, device=runner.device)
            times = []
            for i in range(repeat + 10):
                torch.cuda.synchronize()
                start = time.perf_counter()
                module(x)
                torch.cuda.synchronize()
                if i >= 10:
                    times.append(time.perf_counter() - start)
        return 1e3 * statistics.median(times)
    times = []
    for i in range(repeat + 10):
        start = time.perf_counter()
        runner.infer(case)
        if i >= 10:
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def weights_as_inputs_rate(examples=200):
    """Property examples per minute on one weights-as-inputs TensorRT engine (built once, fed many weight sets)."""
    from trt_cases.runners.trt_runner import TensorRTRunner

    shape = matrix()[45]
    runner = TensorRTRunner("loop", "fp32", weights_as_inputs=True)
    reason = runner.prepare(shape)
    if reason:
        return f"{runner.name:34} not run: {reason}"
    with tempfile.TemporaryDirectory() as cache:
        with TensorRTRunner("loop", "fp32", weights_as_inputs=True, cache_dir=cache) as runner:
            start = time.perf_counter()
            for seed in range(examples):
                runner.infer(dataclasses.replace(shape, seed=seed))
            rate = 60 * examples / (time.perf_counter() - start)
            return (f"{runner.name:34} {rate:.0f} property examples/min, {runner.cache.misses} engine(s) built, "
                    f"{runner.loaded.deserializations} deserialised, {runner.loaded.contexts} context(s) for {examples} weight sets")


def tensorrt_row(name, runner, cases, repeat, timings):
    """Cold and warm cases per second of one TensorRT backend, its worst error, and its issue-4490 time."""
    from trt_cases.runners.trt_runner import TensorRTRunner

    def fresh(cache):
        return TensorRTRunner(runner.path, runner.engine_precision, cache_dir=cache, typing=runner.requested_typing)
    with tempfile.TemporaryDirectory() as cache:
        passes = []
        for label in ("cold", "warm"):
            with fresh(cache) as trt:
                start = time.perf_counter()
                got = [trt.infer(case) for case in cases]
                passes.append((len(cases) / (time.perf_counter() - start), trt.cache.misses, trt.loaded.deserializations))
                if label == "cold":
                    outputs = got  # the warm pass serves the same engines; its outputs are the same
                if label == "warm":
                    case_4490 = dataclasses.replace(ISSUE_4490, precision=cases[0].precision)
                    timings[name] = median_ms(trt, case_4490, repeat) if trt.prepare(case_4490) is None else None
    worst = 0.0
    for case, actual in zip(cases, outputs):
        expected = run_reference(case)
        scale = max(1.0, max(float(np.max(np.abs(e))) for e in expected))
        worst = max(worst, max(float(np.max(np.abs(e - a))) for e, a in zip(expected, actual)) / scale)
    (cold, built, cold_loads), (warm, rebuilt, warm_loads) = passes
    return (f"{name:34} worst error {worst:.2e}  {cold:7.1f} cases/s cold ({built} built, {cold_loads} deserialised), "
            f"{warm:7.1f} warm ({rebuilt} built, {warm_loads} deserialised), {runner.typing}ly typed"
            + (f"  issue-4490 LSTM {timings[name]:.3f} ms" if timings[name] else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rows, timings = [], {}
    for name, spec in gpu_backends().items():
        runner = spec.create()
        precision = CASE_PRECISION[runner.precision]
        cases = [dataclasses.replace(c, precision=precision) for c in matrix()]
        reason = runner.prepare(cases[0])
        if reason:
            rows.append(f"{name:34} not run: {reason}")
            continue
        if hasattr(runner, "engine_fields"):
            rows.append(tensorrt_row(name, runner, cases, args.repeat, timings))
            continue
        error = worst_error(runner, cases)
        cold = cases_per_second(runner, cases)
        warm = cases_per_second(runner, cases)
        case_4490 = dataclasses.replace(ISSUE_4490, precision=precision)
        timings[name] = median_ms(runner, case_4490, args.repeat) if runner.prepare(case_4490) is None else None
        rows.append(f"{name:34} worst error {error:.2e}  {cold:7.1f} cases/s cold, {warm:7.1f} warm"
                    + (f"  issue-4490 LSTM {timings[name]:.3f} ms" if timings[name] else ""))
    rows.append(weights_as_inputs_rate())
    print("GPU backends over the matrix set (128 cases) and NVIDIA/TensorRT issue 4490's LSTM, median of", args.repeat)
    for row in rows:
        print(row)
    for name, ms in timings.items():
        if name.startswith("tensorrt") and ms:
            peer = "torch-cuda-float16" if name.endswith("fp16") else "torch-cuda-float32"
            if timings.get(peer):
                print(f"{name}: {ms / timings[peer]:.2f}x cuDNN ({peer})")


if __name__ == "__main__":
    main()
