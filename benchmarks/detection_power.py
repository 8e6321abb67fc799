"""Detection power of the default run: for each bug planted by `tests/executor/test_mutations.py`, how many of
the default run's cases (`seeds` + `edge`) fail on each simulated path at the float32 tolerance, and
which bound (max or systematic mean) fails first; then caught/planted.

    python benchmarks/detection_power.py
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import pytest  # noqa: E402

from tests.executor import test_mutations as mutations  # noqa: E402


def main() -> int:
    caught = 0
    cases = mutations.DEFAULT_CASES
    print(f"{len(mutations.BUGS)} planted bugs, {len(cases)} default-run cases, compared at float32")
    for bug in mutations.BUGS:
        with pytest.MonkeyPatch.context() as monkeypatch:
            bug.plant(monkeypatch)
            rows = []
            for path in bug.paths:
                runner = mutations.SimulatedRunner(path)
                failing = []
                for case in cases:
                    result = mutations.compare(case, mutations.run_reference(case), runner.infer(case), runner.name, "float32")
                    if not result:
                        failing.append("max" if result.max_abs > result.allowed else "mean")
                rows.append((path, len(failing), failing[0] if failing else "-"))
        caught += all(n for _, n, _ in rows)
        print(f"{bug.name:42} ({bug.where}): " + ", ".join(f"{p} {n}/{len(cases)} (first by {b})" for p, n, b in rows))
    print(f"caught: {caught}/{len(mutations.BUGS)}")
    return 0 if caught == len(mutations.BUGS) else 1


if __name__ == "__main__":
    sys.exit(main())
