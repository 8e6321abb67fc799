"""The minimal case of every known mismatch and known builder failure: `reduce` from a case the entry lists, on a
backend it names (a GPU entry that no CPU backend shows, cuDNN's, is left for a GPU: listed as such), then the
entry's `minimal`, `reproduce` and `reduced_on` fields. `--write` stores them in the JSON files; regenerate
docs/findings.md after (`python -m trt_cases findings --out docs/findings.md`).

    python benchmarks/reduce_findings.py [--write]
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from trt_cases.cases.families import case_from_id  # noqa: E402
from trt_cases.reduce import reduce_case  # noqa: E402
from trt_cases.reduce.of_results import reproduce_command  # noqa: E402
from trt_cases.results import known_mismatches  # noqa: E402

LAYOUT1 = ("onnx-rnn-fwd-H5-S4-N2-I4-layout1-fp32-s92", "onnx-rnn-fwd-H5-S1-N2-I4-layout1-fp32-s92",
           "onnx-rnn-bi-H5-S1-N1-I4-layout1-fp32-s98")  # the three entries: S >= 2, N >= 2, bidirectional (each
# started where only its own condition holds, so that its minimal case is one the entry lists)
# (file, entry index) -> (start case id, backend it is reduced on); None: no backend here shows it
STARTS = {
    ("known_mismatches.json", 0): None,  # cuDNN: needs a GPU with torch
    **{("known_mismatches.json", 1 + k): (LAYOUT1[k], "simulated-onnx") for k in range(3)},
    **{("known_mismatches.json", 4 + k): (LAYOUT1[k], "build-onnx") for k in range(3)},  # the engine's network
    ("known_mismatches.json", 7): ("onnx-rnn-fwd-H3-S5-N2-I3-act_Softplus-fp32-s66", "simulated-onnx"),
    ("known_build_failures.json", 0): ("relu-uni-skip-L2-H1-S1-E1-B2-fp32-s0", "build-loop"),
    ("known_build_failures.json", 1): ("relu-uni-skip-L2-H1-S1-E1-B2-fp32-s0", "build-drop-in"),
    **{("known_build_failures.json", 2 + k): (LAYOUT1[k], "build-onnx") for k in range(3)},
    ("known_build_failures.json", 5): ("onnx-lstm-rev-H5-S5-N2-I4-act_Sigmoid_Elu_Elu-alpha_0.5_0.5-fp32-s86", "build-onnx"),
    ("known_build_failures.json", 6): ("onnx-rnn-rev-H5-S4-N2-I4-layout1-h0-fp32-s146", "simulated-onnx"),
    ("known_build_failures.json", 7): ("onnx-rnn-bi-H1-S1-N1-I1-layout1-nobias-lens-h0-fp32-s0", "simulated-onnx"),
}


def main(write: bool) -> int:
    files = {name: json.loads((known_mismatches.DEFAULT_FILE.parent / name).read_text())
             for name in ("known_mismatches.json", "known_build_failures.json")}
    for (name, index), start in STARTS.items():
        entry = files[name][index]
        if start is None:
            entry.update(minimal=entry["case"], reproduce=reproduce_command(case_from_id(entry["case"]), entry["backend"]))
            entry.pop("reduced_on", None)
            print(f"{name}[{index}] {entry['backend']}: not reduced here (needs its GPU backend); minimal = the listed case")
            continue
        case_id, backend = start
        r = reduce_case(case_from_id(case_id), backend)
        entry.update(minimal=r.case.id, reproduce=reproduce_command(r.case, backend), reduced_on=backend)
        print(f"{name}[{index}] {backend}: {case_id} -> {r.case.id} ({r.runs} runs, "
              f"{'1-minimal' if r.minimal else 'NOT minimal'}; {r.signature.line()[:100]})")
    if write:
        for name, entries in files.items():
            (known_mismatches.DEFAULT_FILE.parent / name).write_text(json.dumps(entries, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv[1:]))
