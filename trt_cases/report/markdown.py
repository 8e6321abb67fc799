"""The Markdown summary of a results document, for CI logs: counts per backend, failures by severity,
expected failures and skips grouped by reason, not-comparable passes."""

from __future__ import annotations

from .model import STATUSES, counts, failures_by_backend, look, not_supported


def markdown_report(document) -> str:
    lines = ["# RNN conformance summary", "", f"Sets: {', '.join(document.get('sets', []))}", ""]
    if document.get("partial"):
        lines += ["**Partial run**: it was interrupted; the counts cover the cases that finished.", ""]
    lines += ["| backend | " + " | ".join(STATUSES) + " |", "|---|" + "---|" * len(STATUSES)]
    for backend, row in counts(document).items():
        lines.append(f"| {backend} | " + " | ".join(str(row.get(s, 0)) for s in STATUSES) + " |")
    failing = [r for group in failures_by_backend(document).values() for r in group if r["status"] != "xfail"]
    lines += ["", f"Failures: {len(failing)}"]
    for r in failing:
        figures = f" max abs {r['max_abs']:.3e} (allowed {r['allowed']:.3e})" if r.get("max_abs") is not None else f" {r.get('reason', '')}"
        named = f": {r['reason']}" if r.get("max_abs") is not None and r.get("reason") else ""  # e.g. a reading
        lines.append(f"- `{r['backend']}` `{r['case']}`: {r['status']}{figures}{named}")
    expected = {}
    for r in document["records"]:
        if r["status"] == "xfail":
            expected.setdefault((r["backend"], r.get("reason") or "no reason given"), []).append(r["case"])
    if expected:  # findings about a backend (`finding: ...`) and known mismatches, grouped by reason
        lines += ["", f"Expected failures (findings and known mismatches): {sum(map(len, expected.values()))}"]
        lines += [f"- `{backend}` ({len(ids)} case{'s' if len(ids) > 1 else ''}, e.g. `{ids[0]}`): {reason}"
                  for (backend, reason), ids in expected.items()]
    skipped = not_supported(document)
    if skipped:  # a node the installed TensorRT's parser refuses is what that TensorRT does not support
        lines += ["", f"Not supported here (skipped, in each backend's words; TensorRT parser refusals first): "
                      f"{sum(map(len, skipped.values()))}"]
        lines += [f"- `{backend}` ({len(ids)} case{'s' if len(ids) > 1 else ''}, e.g. `{ids[0]}`): {reason}"
                  for (backend, reason), ids in skipped.items()]
    unchecked = [r for r in document["records"] if look(r) == "not-comparable"]
    if unchecked:
        lines += ["", f"Not comparable (passed on shapes and finiteness only): {len(unchecked)}"]
        lines += [f"- `{r['backend']}` `{r['case']}`" for r in unchecked]
    return "\n".join(lines) + "\n"
