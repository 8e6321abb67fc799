"""docs/findings.md is generated from the known entries and up to date; every entry carries a minimal case that
the entry itself covers and a command that reproduces it, and the minimal cases found on a CPU backend still
fail there (run again through the run engine, with no known-mismatch list)."""

import fnmatch
import pathlib

import pytest

from trt_cases import cli
from trt_cases.cases.families import case_from_id
from trt_cases.results import findings, known_mismatches

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "findings.md"
ENTRIES = [(path.name, i, entry) for _, path in findings.SOURCES for i, entry in enumerate(known_mismatches.load(path))]


def test_the_findings_page_is_up_to_date():
    assert DOC.read_text() == findings.markdown(), f"docs/findings.md is stale: run `{findings.COMMAND}`"


def test_the_command_writes_the_page(tmp_path, capsys):
    assert cli.main(["findings", "--out", str(tmp_path / "docs" / "findings.md")]) == 0
    assert (tmp_path / "docs" / "findings.md").read_text() == findings.markdown()


def test_a_changed_entry_makes_the_page_stale(monkeypatch, tmp_path):
    entries = known_mismatches.load(known_mismatches.DEFAULT_FILE)
    entries[0]["reason"] += " (changed)"
    monkeypatch.setattr(findings, "SOURCES", (("Known mismatches", tmp_path / "m.json"), findings.SOURCES[1]))
    (tmp_path / "m.json").write_text(__import__("json").dumps(entries))
    assert DOC.read_text() != findings.markdown()


@pytest.mark.parametrize("name, index, entry", ENTRIES, ids=[f"{n}[{i}]" for n, i, _ in ENTRIES])
def test_every_entry_has_a_minimal_case_it_covers(name, index, entry):
    assert entry.get("minimal") and entry.get("reproduce"), f"{name}[{index}] has no minimal case: benchmarks/reduce_findings.py"
    case = case_from_id(entry["minimal"])
    assert fnmatch.fnmatchcase(case.id, entry["case"]) and known_mismatches._holds(entry.get("where", {}), case)
    backend = entry.get("reduced_on", entry["backend"])
    assert entry["reproduce"] == f"python -m trt_cases check {case.id} --backend {backend}"


@pytest.mark.trt_build
@pytest.mark.parametrize("name, index, entry", [e for e in ENTRIES if e[2].get("reduced_on", "").startswith("simulated-")],
                         ids=lambda v: v if isinstance(v, (str, int)) else "")
def test_minimal_cases_found_on_a_simulated_backend_still_fail_there(name, index, entry):
    from trt_cases.networks import trt_api
    from trt_cases.reduce import search

    if trt_api.load() is None:
        pytest.skip(trt_api.missing("onnx"))
    record, outputs = search._attempt(case_from_id(entry["minimal"]), entry["reduced_on"])
    assert search.signature_of(record, outputs) is not None, f"{entry['minimal']} passes on {entry['reduced_on']}"
