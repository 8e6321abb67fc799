"""The stage packages import only down the flow (`STAGES`, first to last), and no package's modules import each other
in a cycle.

Parsed from the source (no import side effects): every `from ..x import` / `import trt_cases.x` in a
stage's modules names its own stage or an earlier one. `reference/` sits below all of them and never
imports `trt_cases`. Inside one package, the modules' imports (top level or inside a function) form no
cycle: a cycle is a pair of modules each needing the other, which one module or a third one should hold.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STAGES = ("cases", "networks", "executor", "runners", "results", "run", "report", "export", "reduce", "pytest_plugin", "cli")


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "trt_cases" or len(parts) < 2:
        return None
    return "cli" if parts[1] in ("cli", "__main__") else parts[1]


def _import_statements(path: pathlib.Path, root: pathlib.Path = ROOT):
    """(module, names) per import in `path`, top level or inside a function: `from m import a, b` gives (m, [a, b]),
    `import m` gives (m, []); relative modules are resolved against the file's package."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(root).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            yield from ((a.name, []) for a in node.names)


def _imports(path: pathlib.Path):
    """Absolute module names imported by `path` (relative imports resolved against its package)."""
    for target, names in _import_statements(path):
        yield target
        if target == "trt_cases":  # `from trt_cases import results`: the names are the stages
            yield from (f"trt_cases.{name}" for name in names)


def package_imports(package: pathlib.Path, root: pathlib.Path = ROOT) -> dict:
    """{module: the modules of the same package it imports} for the package folder `package` (its own `.py` files; a
    subpackage is a package of its own). `from . import x` is an edge to module `x` where `x` is one, else to the
    package's `__init__`; the `__init__` that Python runs before any of its modules is not an edge."""
    prefix = ".".join(package.relative_to(root).parts)
    modules = {prefix if p.name == "__init__.py" else f"{prefix}.{p.stem}": p for p in sorted(package.glob("*.py"))}
    graph = {}
    for module, path in modules.items():
        edges = set()
        for target, names in _import_statements(path, root):
            named = {f"{target}.{name}" for name in names} & modules.keys()
            edges |= named | ({target} & modules.keys() if len(named) < len(names) or not names else set())
        graph[module] = edges
    return graph


def import_cycle(graph: dict) -> list | None:
    """A cycle of `graph` (module -> modules it imports) as [a, b, ..., a], or None when there is none."""
    on_path, done, path = set(), set(), []

    def visit(module):
        on_path.add(module)
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported in on_path:
                return path[path.index(imported):] + [imported]
            if imported not in done and (cycle := visit(imported)):
                return cycle
        on_path.discard(module)
        done.add(module)
        path.pop()
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


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


PACKAGES = sorted(p.parent for top in ("trt_cases", "reference") for p in (ROOT / top).rglob("__init__.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_cycle_inside_a_package(package):
    cycle = import_cycle(package_imports(package))
    assert cycle is None, f"{package.relative_to(ROOT)}: its modules import each other in a cycle: {' -> '.join(cycle)}"


def test_import_cycle_rule_names_the_cycle(tmp_path):
    """The rule fails on a cycle, a function-level import included, and names it; a one-way package passes."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .page import draw\n")  # the package runs its modules: no edge back
    (package / "model.py").write_text("import math\n\n\ndef look():\n    from . import page\n    return page\n")
    (package / "page.py").write_text("from . import model, svg\nfrom .svg import line\n")
    (package / "svg.py").write_text("import pkg.model\n")
    graph = package_imports(package, tmp_path)
    assert graph == {"pkg": {"pkg.page"}, "pkg.model": {"pkg.page"}, "pkg.page": {"pkg.model", "pkg.svg"},
                     "pkg.svg": {"pkg.model"}}
    assert import_cycle(graph) == ["pkg.page", "pkg.model", "pkg.page"]
    (package / "model.py").write_text("from . import VERSION\n")  # a name of the package's __init__
    (package / "__init__.py").write_text("from .page import draw\nVERSION = 1\n")
    assert import_cycle(package_imports(package, tmp_path)) == ["pkg", "pkg.page", "pkg.model", "pkg"]
    (package / "model.py").write_text("import math\n")
    assert import_cycle(package_imports(package, tmp_path)) is None


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
