"""The README's set-up commands are the ones CI runs, and the reference page's example prints what it claims."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_has_two_setup_commands_and_ci_runs_the_second():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_reference_example_runs(capsys):
    text = (ROOT / "docs" / "reference.md").read_text()
    example = text.split("## `reference.RNNv2`", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "docs/reference.md example", "exec"), {})
    printed = capsys.readouterr().out
    assert "[   7.   42.  217. 1092.]" in printed and "[   7.   42.    0.    0.]" in printed
