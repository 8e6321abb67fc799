"""Compare trtexec's --exportOutput JSON with reference_outputs.npz at the suite's tolerance (exit 1 when over it).

Shipped as is in every bug-report bundle (`python -m trt_cases export`); run it in the bundle's folder, after
`trtexec ... --exportOutput=trtexec_outputs.json`: `python3 check_trtexec_outputs.py trtexec_outputs.json`.
It needs only NumPy. The largest allowed absolute error is the bundle's `tolerance.json` ("atol").
"""
import json
import sys

import numpy as np


def main(argv) -> int:
    with open("tolerance.json") as f:
        atol = float(json.load(f)["atol"])
    path = argv[0] if argv else "trtexec_outputs.json"
    try:
        with open(path) as f:
            exported = {o["name"]: o for o in json.load(f)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"trtexec outputs {path}: cannot read ({exc}); give the JSON file of trtexec --exportOutput", file=sys.stderr)
        return 2
    failed = False
    with np.load("reference_outputs.npz") as reference:
        for name in reference.files:
            expected = reference[name]
            if name not in exported:
                print(f"{name}: not in trtexec's outputs")
                failed = True
                continue
            actual = np.asarray(exported[name]["values"], dtype=np.float64).reshape(expected.shape)
            error = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
            bad = not np.isfinite(error) or error > atol
            failed |= bad
            print(f"{name}: max abs error {error:.3e} (allowed {atol:.3e}): {'FAILED' if bad else 'passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
