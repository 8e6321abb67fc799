"""A bug-report bundle: one case as files a TensorRT user attaches to a bug report, checkable with NVIDIA's tools.

`write(case, out)` writes into the folder `out` (new or empty):
- `model.onnx`: the case as an ONNX model (IRNNv2 cases: `networks.onnx_export.export`; ONNX-operator and model
  node cases: the one-node model of `networks.onnx_node`), in the case precision: float32 for fp32/tf32, a
  FLOAT16 model for fp16, BFLOAT16 inside with FLOAT inputs and outputs for bf16 (NumPy has no bfloat16);
- `inputs.npz`, `reference_outputs.npz`: the feeds and the float64 reference, keyed by the model's graph input
  and output names;
- `inputs.json`, `reference_outputs.json`: the same in Polygraphy's JSON (`--load-inputs`: a list of feed dicts;
  `--load-outputs`: a `RunResults` with one runner, `reference`), written by polygraphy when it is importable,
  else in the same format by `polygraphy_json.to_json`;
- `<input>.bin`: each input's raw bytes, for `trtexec --loadInputs=<input>:<input>.bin,...`;
- `check_trtexec_outputs.py` (this package's own file, copied) and `tolerance.json`: compares trtexec's
  `--exportOutput` JSON with the reference at the tolerance that `tolerance.json` holds;
- `case.json`, `README.md` and `commands.sh`: the case, and the polygraphy and trtexec command lines with the
  suite's tolerance for the precision (`--atol` the largest error allowed, `--rtol 0`).

A case built with an optimization profile (a dynamic case, a model node given `--min/opt/max-shapes`) is exported
as its dynamic model (symbolic batch and sequence dims) with its inputs at the case's run shape, and the command
lines carry the profile: trtexec's `--minShapes/--optShapes/--maxShapes`, polygraphy's
`--trt-min-shapes/--trt-opt-shapes/--trt-max-shapes`.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import pathlib
import shlex

import numpy as np

from ..cases.case import Case
from ..cases.precision import ROUNDING, SENSITIVITY_FACTOR, TOLERANCE, sensitivity
from .polygraphy_json import writers

COMPARED_AT = {"fp32": "float32", "tf32": "tf32", "fp16": "float16", "bf16": "bfloat16"}  # case -> compare precision
POLYGRAPHY_FLAGS = {"fp32": [], "tf32": ["--tf32"], "fp16": ["--strongly-typed"], "bf16": ["--strongly-typed"]}
TRTEXEC_FLAGS = {"fp32": ["--noTF32"], "tf32": [], "fp16": ["--stronglyTyped"], "bf16": ["--stronglyTyped"]}
CHECK_SCRIPT = "check_trtexec_outputs.py"  # package data, copied into every bundle as is
FILES = ("model.onnx", "inputs.npz", "reference_outputs.npz", "inputs.json", "reference_outputs.json", "case.json",
         "README.md", "commands.sh", CHECK_SCRIPT, "tolerance.json")


def model_and_feeds(case, materials):
    """The ONNX model of `case` in its precision, its feeds, and its graph output names."""
    from ..networks import onnx_export, onnx_node

    dtype, io_form = {"fp16": (np.float16, "network"), "bf16": ("bf16", "float32")}.get(case.precision,
                                                                                      (np.float32, "network"))
    dynamic = case.profile is not None
    if isinstance(case, Case):
        model = onnx_export.export(case, materials, dtype, io=io_form, dynamic=dynamic)
        feeds = onnx_export.feeds(case, materials, dtype, io=io_form)
    else:
        model = onnx_node.node_model(case, materials, dtype, io=io_form, dynamic=dynamic)
        feeds = onnx_node.node_feeds(case, materials, dtype, io=io_form)
    return model, feeds, [o.name for o in model.graph.output]


def tolerance(case, expected) -> float:
    """The suite's largest allowed absolute error for this case at its precision (`results.compare`'s first bound)."""
    precision = COMPARED_AT[case.precision]
    scale = max([1.0] + [float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0)) for e in expected])
    return max(TOLERANCE[precision] * scale, SENSITIVITY_FACTOR * sensitivity(case, ROUNDING[precision]))


def check_out(out) -> pathlib.Path:
    """`out` as a folder to fill: refused (ValueError) when it is a file, holds anything, or cannot be written."""
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is an existing file; give a new or empty folder")
    if out.is_dir():
        if any(out.iterdir()):
            raise ValueError(f"--out {out} is not empty; give a new or empty folder")
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"--out {out} is not writable")
        return out
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {parent} is not a writable folder")
    return out


def write(case, out) -> pathlib.Path:
    """Write the bundle of `case` into `out` (checked by `check_out`); returns the folder. A streamed case
    (`chunk` set) is written as one bundle per call (`write_calls`)."""
    out = check_out(out)
    if getattr(case, "problem", ""):
        raise ValueError(f"case {case.id} cannot be exported: {case.problem}")
    if getattr(case, "chunk", None):
        return write_calls(case, out)
    materials = case.materialise()
    return write_files(case, materials, case.reference(materials), out)


def write_files(case, materials, expected, out: pathlib.Path, note: str = "") -> pathlib.Path:
    """The bundle's files for `case` on `materials` with the reference outputs `expected`; `note` heads the README."""
    model, feeds, output_names = model_and_feeds(case, materials)
    import onnx

    try:
        out.mkdir(parents=True, exist_ok=True)
        onnx.save(model, out / "model.onnx")
        np.savez(out / "inputs.npz", **feeds)
        reference = dict(zip(output_names, (np.asarray(e, dtype=np.float64) for e in expected)))
        np.savez(out / "reference_outputs.npz", **reference)
        save_inputs, save_outputs = writers()
        save_inputs([feeds], out / "inputs.json")
        save_outputs(reference, out / "reference_outputs.json")
        for name, value in feeds.items():
            np.ascontiguousarray(value).tofile(out / f"{name}.bin")
        (out / "case.json").write_text(json.dumps(case.to_json(), indent=1) + "\n")
        atol = tolerance(case, expected)
        commands = command_lines(case, feeds, atol)
        (out / "commands.sh").write_text(f"#!/bin/sh\n# {case.id}: every check runs; exit 1 if any failed\n"
                                         'cd "$(dirname "$0")"\nstatus=0\n'
                                         + "".join(f"{c} || status=1\n" for c in commands) + "exit $status\n")
        (out / "tolerance.json").write_text(json.dumps({"atol": atol, "rtol": 0}) + "\n")
        (out / CHECK_SCRIPT).write_bytes(importlib.resources.files(__package__).joinpath(CHECK_SCRIPT).read_bytes())
        (out / "README.md").write_text(note + _readme(case, feeds, output_names, atol, commands))
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write the bundle there: {exc.strerror or exc}") from None
    return out


def write_calls(case, out: pathlib.Path) -> pathlib.Path:
    """A streamed case as one bundle per call (`call000/`, `call001/`, ...): each call's model (the chunk's steps,
    the states as inputs), its input window and the states the reference hands it (rounded to the case precision,
    as an engine of that precision would carry them), and its reference outputs; `commands.sh` checks every call."""
    from ..cases.chunks import reference_calls, streaming_problem

    why = streaming_problem(case)
    if why:
        raise ValueError(f"case {case.id} cannot be exported streamed: {why}")
    calls = reference_calls(case)
    for i, (chunk, materials, expected) in enumerate(calls):
        note = (f"> Call {i + 1} of {len(calls)} of the streamed case `{case.id}` ({case.chunk} step(s) per call; "
                "see ../README.md).\n\n")
        write_files(chunk, materials, expected, out / f"call{i:03d}", note)
    try:
        (out / "case.json").write_text(json.dumps(case.to_json(), indent=1) + "\n")
        (out / "commands.sh").write_text(f"#!/bin/sh\n# {case.id}: every call's checks; exit 1 if any failed\n"
                                         'cd "$(dirname "$0")"\nstatus=0\n'
                                         + "".join(f"sh call{i:03d}/commands.sh || status=1\n" for i in range(len(calls)))
                                         + "exit $status\n")
        (out / "README.md").write_text(_streamed_readme(case, calls))
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write the bundle there: {exc.strerror or exc}") from None
    return out


def _streamed_readme(case, calls) -> str:
    steps = ", ".join(str(chunk.max_seq_length) for chunk, _, _ in calls)
    state = "`hidden_state`/`cell_state`" if isinstance(case, Case) else "`initial_h`/`initial_c`"
    where = f" --set {case.model}" if getattr(case, "model", "") else ""
    return f"""# TensorRT conformance case `{case.id}`, streamed

Made by trt-rnn-conformance (`python -m trt_cases export {case.id}{where}`).
A streaming engine is called again and again on a few steps of the sequence, the final states of one call fed
as the initial states of the next. This case runs its {case.max_seq_length} steps in {len(calls)} calls of
{steps} step(s): one engine per call length, its states as inputs ({state}).

Each `callNNN/` folder is one call, a bundle of its own (model, inputs, float64 reference outputs, polygraphy
and trtexec commands, see its README): its inputs are that call's steps and the states the float64 reference
hands on after the calls before it, rounded to {case.precision}, as an engine of that precision would carry
them. `sh commands.sh` checks every call against the reference. To stream your engine's own states instead,
feed call k+1 the state outputs of your call k; `python -m trt_cases check {case.id}{where} --backend tensorrt-...`
does that on a GPU and compares the whole sequence.
"""


def command_lines(case, feeds, atol) -> list[str]:
    load = ",".join(f"{name}:{name}.bin" for name in feeds)
    polygraphy = ["polygraphy", "run", "model.onnx", "--trt", *POLYGRAPHY_FLAGS[case.precision], "--load-inputs",
                  "inputs.json", "--load-outputs", "reference_outputs.json", "--atol", f"{atol:.6g}", "--rtol", "0"]
    trtexec = ["trtexec", "--onnx=model.onnx", *TRTEXEC_FLAGS[case.precision], f"--loadInputs={load}",
               "--exportOutput=trtexec_outputs.json"]
    polygraphy[4:4], trtexec[2:2] = profile_flags(case.profile)
    return [shlex.join(polygraphy), shlex.join(trtexec), "python3 check_trtexec_outputs.py trtexec_outputs.json"]


def profile_flags(profile) -> tuple[list, list]:
    """A profile as polygraphy's (`--trt-min-shapes X:[1,1,8] ...`) and trtexec's (`--minShapes=X:1x1x8,...`)
    arguments; none for a static case."""
    if profile is None:
        return [], []
    polygraphy, trtexec = [], []
    for i, field in enumerate(("min", "opt", "max")):
        polygraphy += [f"--trt-{field}-shapes"] + [f"{name}:[{','.join(map(str, t[i]))}]" for name, t in profile.shapes]
        trtexec.append(f"--{field}Shapes=" + ",".join(f"{name}:{'x'.join(map(str, t[i]))}" for name, t in profile.shapes))
    return polygraphy, trtexec


def _readme(case, feeds, output_names, atol, commands) -> str:
    inputs = ", ".join(f"`{k}` {tuple(v.shape)} {v.dtype}" for k, v in feeds.items())
    source = (f"\nIt is node `{case.node or case.label}` of the model `{case.model}`, alone, with that node's own "
              "attributes and stored weights; its X is the drawn or given input of that node.\n"
              if getattr(case, "model", "") else "")
    return f"""# TensorRT conformance case `{case.id}`

Made by trt-rnn-conformance (`python -m trt_cases export {(getattr(case, "parent", None) or case).id}{f" --set {case.model}" if source else ""}`). The model computes one recurrent layer
(or stack) whose float64 reference outputs are in `reference_outputs.npz` / `reference_outputs.json`.
{source}
- model: `model.onnx` ({case.precision}); inputs: {inputs}; outputs: {', '.join(f'`{n}`' for n in output_names)}
- tolerance: an output element may differ from the reference by at most {atol:.6g} (absolute): the suite's
  floor for {COMPARED_AT[case.precision]} times max(1, max |reference|), or 10x the reference's own sensitivity to
  {COMPARED_AT[case.precision]} rounding where that is larger. (For float32 the suite also bounds the mean error;
  see the suite's README.)

Check it with TensorRT (both commands are in `commands.sh`):

```sh
{commands[0]}
{commands[1]}
{commands[2]}
```

`inputs.json`/`reference_outputs.json` are Polygraphy's formats (`--load-inputs`, `--load-outputs`);
`<input>.bin` are the raw inputs for `trtexec --loadInputs`; `case.json` describes the case;
`tolerance.json` holds the tolerance that `check_trtexec_outputs.py` applies.
"""
