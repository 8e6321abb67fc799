"""The docs are checkable: the README stays short, every relative link resolves, every command shown parses.

Commands are parsed, never run: `python -m trt_cases ...` by the CLI's own argparse parser, pytest command
lines against the options this pytest session registered (`Config.getoption` knows every one), and the
example GPU workflow's `run:` steps the same way. Each check is shown failing on a made-up page.
"""

import contextlib
import io
import pathlib
import re
import shlex

import pytest

from trt_cases import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
README_LIMIT = 200
WORKFLOW = ROOT / "examples" / "github-actions" / "gpu-conformance.yml"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def pages(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The markdown a reader sees: README.md, docs/ and examples/."""
    found = [root / "README.md"] if (root / "README.md").exists() else []
    for folder in ("docs", "examples"):
        found += sorted((root / folder).rglob("*.md"))
    return found


def code_blocks(text: str, language: str = "sh") -> list[str]:
    """The bodies of the fenced blocks tagged `language`."""
    return [body for tag, body in FENCE.findall(text) if tag == language]


def prose(text: str) -> str:
    """The text outside fenced blocks and inline code, where links and headings live."""
    return re.sub(r"`[^`\n]*`", "code", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: pathlib.Path) -> set[str]:
    """Every heading anchor of a markdown page (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page: pathlib.Path) -> list[str]:
    """Every relative link of `page` whose file, or #anchor in a markdown file, does not exist."""
    problems = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{page.name}: link {target!r}: {path} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{page.name}: link {target!r}: no heading #{anchor} in {resolved.name}")
    return problems


def commands(script: str) -> list[list[str]]:
    """The command lines of a shell snippet: continuations joined, comments dropped, split at && ; |."""
    argvs = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            argv = shlex.split(part, comments=True)
            if argv:
                argvs.append(argv)
    return argvs


def trt_cases_args(argv: list[str]) -> list[str] | None:
    """The arguments after `python -m trt_cases` (or the console script), or None for another command."""
    if argv[:3] in (["python", "-m", "trt_cases"], ["python3", "-m", "trt_cases"]):
        return argv[3:]
    return argv[1:] if argv[:1] == ["trt-rnn-conformance"] else None


def pytest_args(argv: list[str]) -> list[str] | None:
    """The arguments after `python -m pytest` or `pytest`, or None for another command."""
    if argv[:3] in (["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        return argv[3:]
    return argv[1:] if argv[:1] == ["pytest"] else None


def cli_problem(args: list[str]) -> str | None:
    """What the CLI's parser says against `args` (the command is parsed, not run), or None."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            cli._parser().parse_args(args)
    except SystemExit as exc:
        if exc.code:
            return f"python -m trt_cases {shlex.join(args)}: {stderr.getvalue().strip().splitlines()[-1]}"
    return None


def pytest_problems(args: list[str], config) -> list[str]:
    """Options pytest does not know, and test files that do not exist, in a pytest command line."""
    problems = []
    for arg in args:
        if arg.startswith("--"):
            option = arg.split("=", 1)[0]
        elif arg.startswith("-") and len(arg) > 1:
            option = arg[:2]  # -ra is -r a, -n2 is -n 2
        else:
            if arg.startswith("tests/") and "*" not in arg and not (ROOT / arg.split("::")[0]).exists():
                problems.append(f"pytest {shlex.join(args)}: {arg} does not exist")
            continue
        try:
            config.getoption(option)
        except ValueError:
            problems.append(f"pytest {shlex.join(args)}: no option {option}")
    return problems


def script_problem(argv: list[str]) -> str | None:
    """A `python path.py` command whose script does not exist."""
    if argv[:1] in (["python"], ["python3"]) and len(argv) > 1 and argv[1].endswith(".py"):
        if not (ROOT / argv[1]).exists():
            return f"{shlex.join(argv)}: {argv[1]} does not exist"
    return None


def command_problems(scripts: list[str], config) -> tuple[list[str], dict]:
    """Every problem of every command in `scripts`, and how many of each kind were checked."""
    problems, counted = [], {"trt_cases": 0, "pytest": 0}
    for script in scripts:
        for argv in commands(script):
            if (args := trt_cases_args(argv)) is not None:
                counted["trt_cases"] += 1
                problems += [p for p in [cli_problem(args)] if p]
            elif (args := pytest_args(argv)) is not None:
                counted["pytest"] += 1
                problems += pytest_problems(args, config)
            elif problem := script_problem(argv):
                problems.append(problem)
    return problems, counted


def workflow_scripts(path: pathlib.Path) -> list[str]:
    """Every `run:` step of a GitHub Actions workflow, its `${{ ... }}` expressions replaced by 1."""
    yaml = pytest.importorskip("yaml", reason="pyyaml is not installed: the example workflow cannot be parsed")
    workflow = yaml.safe_load(path.read_text())
    scripts = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                scripts.append(re.sub(r"\$\{\{[^}]*\}\}", "1", step["run"]))
    return scripts


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines < README_LIMIT, f"README.md has {lines} lines; the limit is {README_LIMIT - 1}: move detail to docs/"


def test_every_relative_link_resolves():
    checked = pages()
    assert len(checked) >= 10, f"expected README.md and the docs pages, found {[p.name for p in checked]}"
    problems = [problem for page in checked for problem in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_every_command_shown_parses(pytestconfig):
    scripts = [block for page in pages() for block in code_blocks(page.read_text())]
    problems, counted = command_problems(scripts, pytestconfig)
    assert not problems, "\n".join(problems)
    assert counted["trt_cases"] >= 10 and counted["pytest"] >= 5, f"too few commands found to check: {counted}"


def test_example_workflow_commands_parse(pytestconfig):
    scripts = workflow_scripts(WORKFLOW)
    problems, counted = command_problems(scripts, pytestconfig)
    assert not problems, "\n".join(problems)
    shown = [args[0] for script in scripts for argv in commands(script) if (args := trt_cases_args(argv))]
    assert counted["pytest"] >= 1 and {"merge", "compare"} <= set(shown), f"the workflow lost a step: {counted}, {shown}"


def test_example_workflow_caches_the_directory_the_suite_reads():
    text = WORKFLOW.read_text()
    assert "TRT_RNN_ENGINE_CACHE:" in text and "actions/cache@" in text
    sources = "".join(p.read_text() for p in (ROOT / "trt_cases").rglob("*.py"))
    assert '"TRT_RNN_ENGINE_CACHE"' in sources, "the suite no longer reads TRT_RNN_ENGINE_CACHE: fix the workflow"


# Each check, shown failing.

def test_a_broken_link_and_a_missing_anchor_are_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Its `part`: one\n")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md) [ok](docs/a.md#its-part-one) [gone](docs/b.md) [no](docs/a.md#nowhere)\n"
                    "`[in code](docs/c.md)` [web](https://example.com/x)\n")
    problems = broken_links(page)
    assert len(problems) == 2, problems
    assert "docs/b.md does not exist" in problems[0] and "no heading #nowhere" in problems[1]


def test_an_unknown_cli_flag_and_subcommand_are_found(pytestconfig):
    script = ("python -m trt_cases run --set seeds --no-such-flag\n"
              "python -m trt_cases frobnicate results\n"
              "python -m trt_cases check some-case --backend onnxruntime   # fine\n")
    problems, counted = command_problems([script], pytestconfig)
    assert counted["trt_cases"] == 3 and len(problems) == 2, problems
    assert "--no-such-flag" in problems[0] and "frobnicate" in problems[1]


def test_an_unknown_pytest_option_and_a_missing_test_file_are_found(pytestconfig):
    script = "python -m pytest -m gpu --shard 1/2 --no-such-option -ra && pytest tests/test_no_such_file.py -q"
    problems, counted = command_problems([script], pytestconfig)
    assert counted["pytest"] == 2 and len(problems) == 2, problems
    assert "--no-such-option" in problems[0] and "test_no_such_file.py" in problems[1]


def test_a_workflow_with_a_bad_command_is_found(tmp_path, pytestconfig):
    workflow = tmp_path / "w.yml"
    workflow.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: |\n"
                        "          python -m pytest -m gpu --shard ${{ matrix.shard }}/4 --results-jsn out\n"
                        "          python -m trt_cases merge a b --output all\n")
    problems, _ = command_problems(workflow_scripts(workflow), pytestconfig)
    assert len(problems) == 2, problems
    assert "--results-jsn" in problems[0] and "--output" in problems[1]
