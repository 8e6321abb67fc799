"""The upgrade check written out: text for terminals and CI logs, JSON for tools, JUnit XML for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .baseline import ORDER, Diff

FORMAT = "trt-rnn-conformance/compare/1"
ONE_SIDED = ("only in baseline", "new case")
SHOWN = 20  # lines per kind of listed (not regression) change in the text; all are in the JSON


def summary(diff: Diff) -> str:
    """Regressions first, all of them; then persisting failures and notes, SHOWN per kind; pairs only in
    one run summed up per backend."""
    lines = []
    for kind in ORDER:
        group = [c for c in diff.changes if c.kind == kind]
        if kind in ONE_SIDED and not (group and group[0].regression):
            lines += _per_backend(kind, group)
            continue
        for c in group if group and group[0].regression else group[:SHOWN]:
            label = "REGRESSION" if c.regression else "failing" if kind == "still failing" else "note"
            lines.append(f"{label:10} {c.kind:26} {c.backend:28} {c.case}: {c.detail}")
        if len(group) > SHOWN and not group[0].regression:
            lines.append(f"{'note':10} {kind:26} ... and {len(group) - SHOWN} more (all of them with --json FILE)")
    if not diff.changes:
        lines.append("no changes: every pair that ran before ran again with the same verdict and error class")
    only = {kind: sum(c.kind == kind for c in diff.changes) for kind in ("only in baseline", "new case", "new case failing")}
    lines.append(f"compared {len(diff.compared)} (case, backend) pairs present in both runs; {only['only in baseline']} ran only "
                 f"in the baseline, {only['new case'] + only['new case failing']} only in the current run")
    lines.append(diff.timing)
    still = sum(c.kind == "still failing" for c in diff.changes)
    lines.append(f"{len(diff.regressions)} regression(s), {still} still failing, "
                 f"{len(diff.changes) - len(diff.regressions) - still} other change(s)")
    return "\n".join(lines)


def _per_backend(kind, group):
    backends = {}
    for c in group:
        backends.setdefault(c.backend, []).append(c.case)
    lines = []
    for backend, cases in backends.items():
        shown = ", ".join(cases[:3]) + (f" ... (all {len(cases)} with --json FILE)" if len(cases) > 3 else "")
        lines.append(f"{'note':10} {kind:26} {backend:28} {len(cases)} pair(s): {shown}")
    return lines


def to_json(diff: Diff, baseline: str, current: str) -> dict:
    return {"format": FORMAT, "baseline": baseline, "current": current, "exit_status": diff.exit_status(),
            "compared": len(diff.compared), "regressions": len(diff.regressions), "timing": diff.timing,
            "changes": [c._asdict() for c in diff.changes]}


def to_junit(diff: Diff) -> str:
    """One testcase per compared pair and per pair only in one run; regressions are failures,
    pairs only in one run are skipped, persisting failures pass with the detail in system-out."""
    by_pair = {key: [] for key in diff.compared}
    for c in diff.changes:
        by_pair.setdefault((c.case, c.backend), []).append(c)
    suite = ET.Element("testsuite", name="trt-rnn-conformance compare", tests=str(len(by_pair)),
                       failures=str(sum(any(c.regression for c in cs) for cs in by_pair.values())),
                       skipped=str(sum(bool(cs) and all(c.kind in ("only in baseline", "new case") for c in cs)
                                       for cs in by_pair.values())), errors="0")
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="timing", value=diff.timing)
    for (case, backend), changes in by_pair.items():
        test = ET.SubElement(suite, "testcase", classname=backend, name=case)
        regressions = [c for c in changes if c.regression]
        if regressions:
            failure = ET.SubElement(test, "failure", type=regressions[0].kind,
                                    message="; ".join(f"{c.kind}: {c.detail}" for c in regressions))
            failure.text = "\n".join(f"{c.kind}: {c.detail}" for c in regressions)
        elif changes and all(c.kind in ("only in baseline", "new case") for c in changes):
            ET.SubElement(test, "skipped", message=f"{changes[0].kind}: {changes[0].detail}")
        if changes:
            ET.SubElement(test, "system-out").text = "\n".join(f"{c.kind}: {c.detail}" for c in changes)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
