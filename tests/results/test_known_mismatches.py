"""The known-mismatches data file: well-formed, matched by backend, case and versions."""

import fnmatch
import json

import pytest

from trt_cases.results import known_mismatches
from trt_cases.cases.families import case_from_id
from trt_cases.cases.sets import SETS, named

ENTRY = {"backend": "tensorrt-loop-fp16", "case": "gru-uni-linear-L1-H4-S3-E4-B2-fp16-s0",
         "when": {"tensorrt": "TensorRT 10.13"}, "reason": "a reason"}


def test_the_repository_file_is_valid_and_names_real_cases():
    ids = [case.id for name in SETS for case in named(name)]
    for entry in known_mismatches.load():
        if any(ch in entry["case"] for ch in "*?["):  # a pattern must match a case of the sets
            assert any(fnmatch.fnmatchcase(i, entry["case"]) for i in ids), entry["case"]
        else:
            case_from_id(entry["case"])  # raises on a typo'd id


@pytest.mark.parametrize("env, hit", [({"tensorrt": "TensorRT 10.13.2"}, True), ({"tensorrt": "TensorRT 10.14"}, False), ({}, False)])
def test_when_fields_prefix_the_environment(env, hit):
    assert (known_mismatches.find([ENTRY], ENTRY["backend"], ENTRY["case"], env) is not None) == hit


def test_backend_and_case_must_both_match():
    env = {"tensorrt": "TensorRT 10.13"}
    assert known_mismatches.find([ENTRY], "tensorrt-onnx-fp16", ENTRY["case"], env) is None
    assert known_mismatches.find([ENTRY], ENTRY["backend"], "other", env) is None


@pytest.mark.parametrize("content, message", [
    ("{", "is not JSON"), ("{}", "expected a JSON list"), (json.dumps([{"backend": "x"}]), "entry 0: expected exactly the keys"),
    (json.dumps([{**ENTRY, "reason": ""}]), "'reason' non-empty"),
])
def test_malformed_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "known.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        known_mismatches.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        known_mismatches.load(tmp_path / "nope.json")
