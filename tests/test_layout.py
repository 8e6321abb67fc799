"""The stage packages import only down the flow: cases -> networks -> executor -> runners -> results -> reduce -> cli.

Parsed from the source (no import side effects): every `from ..x import` / `import trt_cases.x` in a
stage's modules names its own stage or an earlier one. `reference/` sits below all of them and never
imports `trt_cases`.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STAGES = ("cases", "networks", "executor", "runners", "results", "reduce", "cli")


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "trt_cases" or len(parts) < 2:
        return None
    return "cli" if parts[1] in ("cli", "__main__") else parts[1]


def _imports(path: pathlib.Path):
    """Absolute module names imported by `path` (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            if target == "trt_cases":  # `from trt_cases import results`: the names are the stages
                yield from (f"trt_cases.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


MODULES = sorted(p for p in (ROOT / "trt_cases").rglob("*.py"))


def test_every_module_lives_in_a_stage_package():
    flat = [p.name for p in (ROOT / "trt_cases").glob("*.py") if p.name not in ("__init__.py", "__main__.py", "cli.py")]
    assert flat == [], f"modules outside the stage packages {STAGES[:-1]}: {flat}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_flow(path):
    here = _stage_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    if here not in STAGES:  # trt_cases/__init__.py: the package's public names, from any stage
        return
    upward = sorted({m for m in _imports(path) if (s := _stage_of(m)) in STAGES and STAGES.index(s) > STAGES.index(here)})
    assert not upward, f"{path.relative_to(ROOT)} ({here}) imports later stages: {upward}"


def test_reference_never_imports_trt_cases():
    for path in (ROOT / "reference").rglob("*.py"):
        assert not [m for m in _imports(path) if m.startswith("trt_cases")], path


SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "tests" / "models").glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_import_what_exists(path):
    """Every `from trt_cases... import name` in the benchmarks and fixture scripts, top level or inside a function,
    names a module and attribute that exist (a script is run by hand, so nothing else would notice)."""
    import importlib

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("trt_cases", "reference")):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                    f"{path.name}: from {node.module} import {alias.name}"
