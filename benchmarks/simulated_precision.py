"""The measured errors behind the fp16 and bf16 rows of `compare.TOLERANCE`: typed simulations of every
network of the chosen sets, in each precision, path and I/O form, against the float64 reference.

For each (precision, path, io) it prints the worst error in the tolerance table's unit
(max abs / max(1, max |expected|), i.e. `Comparison.min_tolerance`) over the cases whose tolerance is
the floor (the well-conditioned ones: what the table's row must cover), the case that gave it, the
worst error over allowed among the cases whose tolerance comes from their sensitivity to rounding,
how many cases were chaotic at that precision (reported, not compared), how many failed at today's
tolerance, how many could not be built or simulated (with the first reasons), and the seconds taken.
Simulations by the NumPy executor of the TensorRT-RTX (or TensorRT) network, each tensor rounded to
its network type: not TensorRT runs.

    python benchmarks/simulated_precision.py [--set seeds --set matrix --set edge] [--precision fp16 bf16]
        [--path loop onnx] [--io network float32]
"""

import argparse
import dataclasses
import time

from trt_cases.cases.precision import TOLERANCE
from trt_cases.results.compare import compare
from trt_cases.cases.selection import select_cases
from trt_cases.runners.reference_runner import run_reference
from trt_cases.runners.simulated_runner import PRECISIONS, SimulatedRunner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="case sets (default: seeds, matrix, edge)")
    parser.add_argument("--precision", nargs="+", default=["fp16", "bf16"], choices=list(PRECISIONS))
    parser.add_argument("--path", nargs="+", default=["loop", "onnx"], choices=["loop", "drop-in", "onnx"])
    parser.add_argument("--io", nargs="+", default=["network", "float32"], choices=["network", "float32"])
    args = parser.parse_args()
    specs = args.set or ["seeds", "matrix", "edge"]
    cases = select_cases(specs)
    print(f"{len(cases)} cases ({', '.join(specs)}); error unit: max abs / max(1, max |expected|)")
    for precision in args.precision:
        worst_of_precision = 0.0
        for path in args.path:
            for io in args.io:
                worst_of_precision = max(worst_of_precision, _measure(SimulatedRunner(path, precision, io), cases))
        print(f"{precision}: worst {worst_of_precision:.3e} (tolerance {TOLERANCE[PRECISIONS[precision]]:g})")


def _measure(runner, cases) -> float:
    start = time.perf_counter()
    worst, worst_case, sensitive, chaotic, failed, errors = 0.0, "", 0.0, 0, [], []
    for case in cases:
        case = dataclasses.replace(case, precision=runner.network_precision)
        try:
            result = compare(case, run_reference(case), runner.infer(case), runner.name, runner.precision)
        except Exception as exc:  # reported, never hidden
            errors.append(f"{case.id}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        if "not comparable" in result.note:
            chaotic += 1
            continue
        if not result:
            failed.append(f"{case.id}: FAILED, {result.max_abs:.3e} > allowed {result.allowed:.3e}")
        if result.note:  # the tolerance came from the case's sensitivity, not the floor
            sensitive = max(sensitive, result.max_abs / result.allowed)
        elif result.min_tolerance > worst:
            worst, worst_case = result.min_tolerance, case.id
    print(f"  {runner.name:32} floor cases: worst {worst:.3e} ({worst_case}); sensitive cases: worst "
          f"{sensitive:.2f} of allowed; chaotic {chaotic}, failed {len(failed)}, not built {len(errors)}, "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    for line in failed[:5] + errors[:3]:
        print(f"    {line}")
    return worst


if __name__ == "__main__":
    main()
