"""Map the installed builder's failures over a grid of cases and check them against the known builder failures.

Builds the loop and drop-in networks of 576 cases per path (RELU, TANH, LSTM, GRU; both directions
and input modes; layers 1, 2, 4; hidden size 1, 2; batch dims (), 1, 2, 1x3, 3x1, 2x3; S 1, 2, 5;
with and without lengths and states) and prints, per path, how many failed and every case where
`trt_cases/results/known_build_failures.json` disagrees with what the builder did.

    python benchmarks/build_failures.py
"""

import itertools

from trt_cases.results import known_mismatches
from trt_cases.cases.case import Case
from trt_cases.networks.engine import build_plan
from trt_cases.networks.build import build_network


def grid():
    for i, (op, direction, mode, layers, hidden, batch) in enumerate(itertools.product(
            ["RELU", "TANH", "LSTM", "GRU"], ["UNIDIRECTION", "BIDIRECTION"], ["LINEAR", "SKIP"], [1, 2, 4], [1, 2],
            [(), (1,), (2,), (1, 3), (3, 1), (2, 3)])):
        options = bool(i % 2)
        yield Case(op, layers, hidden, (1, 2, 5)[i % 3], hidden if mode == "SKIP" else 3, batch, direction, mode,
                   options, options, options and op == "LSTM", seed=i)


def main():
    env = known_mismatches.versions()
    print(env.get("tensorrt"))
    for path in ("loop", "drop-in"):
        built = failed = disagree = 0
        for case in grid():
            try:
                build_plan(build_network(case, path))
                error = None
            except Exception as exc:  # noqa: BLE001 - any builder failure is mapped
                error = f"{type(exc).__name__}: {exc}"
            listed = known_mismatches.find_build_failure(f"build-{path}", case.id, env)
            matched = error is not None and known_mismatches.find_build_failure(f"build-{path}", case.id, env, error)
            built, failed = built + 1, failed + (error is not None)
            if (error is not None) != (listed is not None) or (error is not None and not matched):
                disagree += 1
                print(f"  disagrees: {path} {case.id}: {'failed' if error else 'built'}")
        print(f"{path}: {built} cases built, {failed} failed, {disagree} disagree with the known builder failures")


if __name__ == "__main__":
    main()
