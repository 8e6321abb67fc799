"""`reduce` under each bug planted by `tests/executor/test_mutations.py`: from the first failing default-run case, the
smallest case that fails the same way; sizes before -> after (layers, S, batch, H), the runs spent, and whether
it was verified 1-minimal. Printed as the Markdown table of docs/reduce.md, once per tolerance: the bare
`simulated-loop` (float64 tolerance; `simulated-onnx` for the bug in the parser's input) and `-fp32` (the
float32 tolerance the mutation test judges by).

    python benchmarks/reduce_mutations.py
"""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import pytest  # noqa: E402

from tests.executor import test_mutations as mutations  # noqa: E402
from tests.reduce.test_reduce import backend_of, reduce_under  # noqa: E402
from trt_cases.reduce.steps import sizes  # noqa: E402

SIZES = ("layers", "S", "batch", "H")


def table(precision: str) -> tuple[list[str], bool]:
    rows = ["| bug | backend | first failing case | layers | S | batch | H | minimal case | kept steps | runs | 1-minimal |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    every = True
    for bug in mutations.BUGS:
        with pytest.MonkeyPatch.context() as monkeypatch:
            bug.plant(monkeypatch)
            r = reduce_under(bug, backend_of(bug, precision))
        before, after = sizes(r.start), sizes(r.case)
        every &= r.minimal
        rows.append(f"| {bug.name} | {r.backend} | `{r.start.id}` | "
                    + " | ".join(f"{before[k]} -> {after[k]}" for k in SIZES)
                    + f" | `{r.case.id}` | {len(r.steps) - 1} | {r.runs} | {'yes' if r.minimal else 'NO'} |")
    return rows, every


def main() -> int:
    ok = True
    for precision in ("", "fp32"):
        start = time.perf_counter()
        rows, every = table(precision)
        ok &= every
        print("\n".join(rows))
        print(f"\n({len(mutations.BUGS)} bugs, {time.perf_counter() - start:.0f} s)\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
