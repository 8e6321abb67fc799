"""Reports of a results document: a self-contained HTML page and a Markdown summary for CI logs.

`write(directory, document)` is the entry point. The modules depend one way: `model` (what the page
shows, as data) <- `markdown` and `html_page` (which draws its charts with `svg`) <- this `write`.
"""

from __future__ import annotations

import pathlib

from .html_page import html_report
from .markdown import markdown_report
from .model import saved_outputs

__all__ = ["html_report", "markdown_report", "saved_outputs", "write"]


def write(directory, document, *, diff=None) -> str:
    """Write `report.html` (with the outputs saved in `directory`, where there are any) and `summary.md`
    into `directory`; returns the summary's text."""
    directory = pathlib.Path(directory)
    with saved_outputs(directory) as outputs:
        (directory / "report.html").write_text(html_report(document, outputs=outputs, diff=diff))
    summary = markdown_report(document)
    (directory / "summary.md").write_text(summary)
    return summary
