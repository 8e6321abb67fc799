"""The HTML page of a results document, section by section; no scripts, no external files.

Sections: environment, legend, changes from a baseline (when given), counts per backend, the
backends that did not run (one line per reason), the conformance matrix and the error heat map
(backends that ran only; each cell links to its worst failure or its cases), failures grouped by
backend and sorted by severity with a chart per output, not-comparable passes, and every case.
"""

from __future__ import annotations

import html

from . import svg
from .model import (HEAT, ROW_AXES, STATUSES, anchor, counts, failures_by_backend, grid, heat, look, not_run, not_supported, output_errors,
                    ratio, states, worst_look)

CHARTS_PER_BACKEND = 12  # failures of one backend drawn with charts; the rest are listed with their figures
LOOKS = {"passed": "passed", "built": "built (no values checked)", "not-comparable": "not comparable (shapes, finiteness only)",
         "xfail": "known mismatch (xfail)", "xpass": "known mismatch passes (xpass)", "failed": "failed",
         "error": "error (backend raised)", "skipped": "skipped"}
esc = html.escape


def html_report(document, *, outputs=None, diff=None) -> str:
    """The page; `outputs` (the saved arrays) adds a curve per output, `diff` (a `baseline.Diff`) a baseline view."""
    rows, backends, cells = grid(document)
    skipped_out = {b for group in not_run(document).values() for b in group}
    ran = [b for b in backends if b not in skipped_out]
    regressed = {(c.case, c.backend): c for c in (diff.regressions if diff else [])}
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>RNN conformance report</title>"
             f"<style>{CSS}</style></head><body><h1>TensorRT RNN conformance report</h1>", _environment(document)]
    if document.get("partial"):
        parts.append("<p id='partial' class='banner'>Partial run: it was interrupted; only the cases that finished are here.</p>")
    parts += [_legend(), _changes(diff, document) if diff else "", "<h2>Backends</h2>", _counts_table(document, ran), _not_run(document), _not_supported(document),
              "<div class='grids'><div><h2>Conformance matrix</h2><p class='hint'>One row per configuration, one column per backend "
              "that ran (path and precision). A cell shows passed/compared and takes the look of its worst case; it links to that "
              "case's failure, or to its cases below. Hover for case ids, precision and initial states.</p>",
              _table("conformance-matrix", rows, ran, lambda row, b: _status_cell(cells.get((row, b), []), regressed)),
              "</div><div><h2>Error heat map</h2><p class='hint'>Worst max abs error over the allowed error, per cell "
              "(1 = at the tolerance). Same rows and columns, same links.</p>",
              _table("error-heat-map", rows, ran, lambda row, b: _heat_cell(cells.get((row, b), []))), "</div></div>",
              _failures(document, outputs), _not_comparable(document), _cases(document, ran), "</body></html>"]
    return "".join(parts)


def _environment(document):
    env = document.get("environment", {})
    trt, cuda = env.get("tensorrt"), env.get("cuda")
    items = [f"created {document.get('created', '?')}", f"sets: {', '.join(document.get('sets', []))}",
             f"TensorRT: {trt['flavour'] + ' ' + trt['version'] if trt else 'not installed'}",
             f"GPU: {cuda['gpu'] + ' (CC ' + cuda['compute_capability'] + ')' if cuda else 'none'}",
             f"Python {env.get('python', '?')}"] + [f"{k} {v}" for k, v in env.get("packages", {}).items()]
    return "<p id='environment'>" + " &middot; ".join(esc(i) for i in items) + "</p>"


def _legend():
    status = "".join(f"<span class='swatch status-{k}'>{esc(v)}</span>" for k, v in LOOKS.items())
    bins = "".join(f"<span class='swatch' style='background:{bg};color:{fg}'>{esc(label)}</span>" for _, bg, fg, label in HEAT)
    return (f"<div id='legend'><div><b>Matrix, by status:</b> {status}</div><div><b>Heat map, max abs error / allowed:</b> {bins}"
            " <span class='swatch status-error'>error</span><span class='swatch status-skipped'>skip</span>"
            "<span class='swatch status-not-comparable'>n/c</span><span class='swatch status-built'>built</span></div>"
            "<div><span class='swatch regressed'>outlined</span> a regression from the baseline (when one is given)</div></div>")


def _changes(diff, document):
    failing = {(r["case"], r["backend"]) for r in document["records"] if r["status"] in ("error", "failed", "xpass", "xfail")}
    rows = []
    for c in diff.changes:
        target = f"#{esc(f'failure-{c.backend}-{c.case}')}" if (c.case, c.backend) in failing else f"#case-{esc(c.case)}"
        rows.append(f"<tr class='{'regression' if c.regression else 'note'}'><td>{'REGRESSION' if c.regression else 'note'}</td>"
                    f"<td>{esc(c.kind)}</td><td>{esc(c.backend)}</td><td><a href='{target}'>{esc(c.case)}</a></td>"
                    f"<td>{esc(c.detail)}</td></tr>")
    return (f"<h2>Changes from the baseline</h2><p id='baseline-summary'>{len(diff.regressions)} regression(s) over "
            f"{len(diff.compared)} (case, backend) pairs present in both runs; {len(diff.changes) - len(diff.regressions)} other "
            f"change(s). {esc(diff.timing)}</p>"
            + ("<table id='baseline-changes'><tr><th></th><th>change</th><th>backend</th><th>case</th><th>detail</th></tr>"
               + "".join(rows) + "</table>" if rows else "<p id='no-changes'>No changes.</p>"))


def _counts_table(document, ran):
    rows = ["<table id='backend-counts'><tr><th>backend</th>" + "".join(f"<th>{s}</th>" for s in STATUSES) + "</tr>"]
    for backend, row in ((b, r) for b, r in counts(document).items() if b in ran):
        rows.append(f"<tr><td>{esc(backend)}</td>" + "".join(f"<td class='{'zero' if not row.get(s) else ''}'>{row.get(s, 0)}</td>"
                                                              for s in STATUSES) + "</tr>")
    return "".join(rows) + "</table>"


def _not_run(document):
    groups = not_run(document)
    if not groups:
        return ""
    items = "".join(f"<li><b>{len(names)} backend(s)</b> ({esc(', '.join(names))}): {esc(reason)}</li>" for reason, names in groups.items())
    return f"<div id='not-run'><b>Did not run</b> (every case skipped; left out of the matrix):<ul>{items}</ul></div>"


def _not_supported(document):
    groups = not_supported(document)
    if not groups:
        return ""
    items = "".join(f"<li><b>{esc(backend)}</b>, {len(ids)} case(s) (e.g. <code>{esc(ids[0])}</code>): {esc(reason)}</li>"
                    for (backend, reason), ids in groups.items())
    return (f"<details id='not-supported'><summary><b>Not supported here</b>: {sum(map(len, groups.values()))} cases skipped, "
            f"in each backend's words (what the installed TensorRT's parser refuses first)</summary><ul>{items}</ul></details>")


def _table(table_id, rows, backends, cell):
    head = "".join(f"<th>{esc(a)}</th>" for a in ROW_AXES) + "".join(f"<th class='backend'>{esc(b)}</th>" for b in backends)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "".join(cell(row, b) for b in backends) + "</tr>"
                   for row in rows)
    return f"<table id='{table_id}'><tr>{head}</tr>{body}</table>"


def _tooltip(group):
    lines = [f"{r['case']} [{r['precision']}, initial states {states(r.get('spec') or {})}]: {look(r)}"
             + (f", error {ratio(r):.2g} of tolerance" if ratio(r) is not None else "")
             + (f" ({r['reason']})" if r.get("reason") else "") for r in group[:15]]
    return "\n".join(lines + ([f"... and {len(group) - 15} more"] if len(group) > 15 else []))


def _link(group):
    failing = sorted((r for r in group if r["status"] in ("error", "failed", "xpass", "xfail")),
                     key=lambda r: (["error", "failed", "xpass", "xfail"].index(r["status"]), -(ratio(r) or 0)))
    return f"#{anchor(failing[0])}" if failing else f"#case-{group[0]['case']}"


def _status_cell(group, regressed):
    if not group:
        return "<td class='cell status-none'></td>"
    status = worst_look(group)
    ok = sum(r["status"] in ("passed", "built", "xfail") for r in group)
    ran = sum(r["status"] != "skipped" for r in group)
    hits = [regressed[(r["case"], r["backend"])] for r in group if (r["case"], r["backend"]) in regressed]
    title = _tooltip(group) + "".join(f"\nREGRESSION {c.kind}: {c.case}: {c.detail}" for c in hits)
    marked = " regressed" if hits else ""
    return (f"<td class='cell status-{status}{marked}' title='{esc(title)}'>"
            f"<a href='{esc(_link(group))}'>{f'{ok}/{ran}' if ran else 'skip'}</a></td>")


def _heat_cell(group):
    status = worst_look(group)
    value = max((ratio(r) for r in group if ratio(r) is not None and look(r) != "not-comparable"), default=None)
    if status in ("none", "skipped", "built", "error", "not-comparable") or value is None:
        text = {"none": "", "skipped": "skip", "built": "built", "error": "error", "not-comparable": "n/c"}.get(status, status)
        return f"<td class='heat status-{status}' title='{esc(_tooltip(group))}'>{text}</td>"
    if status in ("xfail", "xpass"):  # a listed known mismatch: its own look, as in the matrix, not failure red
        return (f"<td class='heat status-{status}' title='{esc(_tooltip(group))}'>"
                f"<a href='{esc(_link(group))}'>{f'{value:.0e}' if value else '0'}</a></td>")
    background, colour, label = heat(value)
    return (f"<td class='heat' style='background:{background};color:{colour}' title='{esc(label + chr(10) + _tooltip(group))}'>"
            f"<a href='{esc(_link(group))}'>{f'{value:.0e}' if value else '0'}</a></td>")


def _failures(document, outputs):
    groups = failures_by_backend(document)
    if not groups:
        return "<h2>Failures</h2><p id='no-failures'>None.</p>"
    total = sum(len(g) for g in groups.values())
    parts = [f"<h2>Failures</h2><p class='hint'>{total} failing or known-mismatch records, grouped by backend; errors first, then "
             "by error over tolerance, largest first.</p>"]
    for backend, records in groups.items():
        parts.append(f"<section class='backend-failures' id='failures-{esc(backend)}'><h3>{esc(backend)} ({len(records)})</h3>")
        parts += [_failure(r, outputs if i < CHARTS_PER_BACKEND else None, charted=i < CHARTS_PER_BACKEND) for i, r in enumerate(records)]
        parts.append("</section>")
    return "".join(parts)


def _failure(r, outputs, *, charted):
    spec = r.get("spec") or {}
    parts = [f"<div class='failure fail-{r['status']}' id='{esc(anchor(r))}'><h4><span class='swatch status-{r['status']}'>"
             f"{r['status']}</span> {esc(r['case'])}</h4><p class='meta'>backend precision {esc(r['precision'])} &middot; case "
             f"precision {esc(str(spec.get('precision', '?')))} &middot; initial states {esc(states(spec))} &middot; "
             f"{'sequence lengths' if spec.get('seq_lengths') else 'full length'}</p>"]
    if r.get("max_abs") is not None:
        parts.append(f"<p>max abs error {r['max_abs']:.3e}, allowed {r['allowed']:.3e} ({ratio(r):.3g}x the tolerance); worst "
                     f"{esc(str(r['worst_output']))}{r['worst_index']}, observed {r['observed']!r}, expected {r['expected']!r}</p>")
    for text in (r.get("reason"), r.get("note")):
        if text:
            parts.append(f"<p class='reason'>{esc(text)}</p>")
    if charted and r["status"] != "error":
        charts = [(svg.line_chart if axis == "timestep" else svg.bar_chart)(
                      values, r.get("allowed"), title=f"{name}: error per {axis}")
                  for name, axis, values in output_errors(r, outputs)]
        parts.append("<div class='charts'>" + "".join(charts) + "</div>" if charts else "")
    parts.append(f"<p><code>python -m trt_cases check {esc(r['case'])} --backend {esc(r['backend'])}</code></p></div>")
    return "".join(parts)


def _not_comparable(document):
    records = [r for r in document["records"] if look(r) == "not-comparable"]
    if not records:
        return ""
    items = "".join(f"<li id='{esc(anchor(r))}'><span class='swatch status-not-comparable'>n/c</span> {esc(r['backend'])}: "
                    f"{esc(r['case'])}: max abs error {r['max_abs']:.3g}, allowed {r['allowed']:.3g}. {esc(r.get('note', ''))}</li>"
                    for r in records)
    return (f"<h2>Not comparable</h2><p class='hint'>Passed on shapes and finiteness only: the case is chaotic at this "
            f"precision, so its values are not a check.</p><ul id='not-comparable'>{items}</ul>")


def _cases(document, backends):
    by_case = {}
    for r in document["records"]:
        by_case.setdefault(r["case"], {})[r["backend"]] = r
    head = ("<tr><th>case</th><th>precision</th><th>initial states</th>"
            + "".join(f"<th class='backend'>{esc(b)}</th>" for b in backends) + "</tr>")
    rows = []
    for case, records in by_case.items():
        spec = next(iter(records.values())).get("spec") or {}
        cells = [_heat_cell([records[b]]) if b in records else "<td class='status-none'></td>" for b in backends]
        rows.append(f"<tr id='case-{esc(case)}'><td><code>{esc(case)}</code></td><td>{esc(str(spec.get('precision', '')))}</td>"
                    f"<td>{esc(states(spec))}</td>{''.join(cells)}</tr>")
    return (f"<h2>Cases</h2><p class='hint'>Every case: error over tolerance per backend, or its status.</p>"
            f"<table id='cases'>{head}{''.join(rows)}</table>")


CSS = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1300px}table{border-collapse:collapse;margin-bottom:1.2em}
th,td{border:1px solid #ccc;padding:2px 6px;font-size:12px}th.backend{writing-mode:vertical-rl;white-space:nowrap;vertical-align:bottom}
td.cell,td.heat{text-align:center;min-width:2.6em}td a{color:inherit;text-decoration:none;display:block}
#environment,.hint,.meta{font-size:12px;color:#555}.banner{background:#fff3e0;border:1px solid #ef6c00;padding:.4em}
#legend{font-size:12px;border:1px solid #ddd;padding:.5em;margin-bottom:1em;line-height:2}
.swatch{display:inline-block;padding:0 6px;margin-right:4px;border:1px solid #bbb;border-radius:3px;font-size:11px;line-height:1.6}
.status-passed{background:#2e7d32;color:#fff}.status-built{background:#1565c0;color:#fff}.status-xfail{background:#8d6e63;color:#fff}
.status-xpass{background:#ad1457;color:#fff}.status-failed{background:#c62828;color:#fff}
.status-error{background:#4a148c;color:#fff;font-weight:bold}
.status-skipped{background:repeating-linear-gradient(135deg,#eee 0 3px,#fafafa 3px 6px);color:#777}
.status-not-comparable{background:repeating-linear-gradient(45deg,#90a4ae 0 4px,#cfd8dc 4px 8px);color:#102027;font-weight:bold}
.status-none{background:#fff}.regressed{outline:3px solid #000;outline-offset:-3px}
#not-run{font-size:12px;background:#f5f5f5;border:1px solid #ddd;padding:.3em .6em;margin-bottom:1em}#not-run ul{margin:.2em 0}
#not-comparable{font-size:13px}
.failure{border-left:4px solid #c62828;padding-left:.8em;margin-bottom:1em;background:#fff}.failure h4{margin:.3em 0}
.failure.fail-error{border-left-color:#4a148c}.failure.fail-xfail{border-left-color:#8d6e63}.failure p{margin:.2em 0;font-size:13px}
.grids{display:flex;flex-wrap:wrap;column-gap:2em}.grids>div{max-width:100%}.grids .hint{max-width:36em}
.charts{display:flex;flex-wrap:wrap;gap:8px}.reason{color:#4a148c}tr.regression td{background:#ffebee}
td.zero{color:#bbb}#baseline-summary{font-size:13px}#cases td{text-align:center}#cases td:first-child{text-align:left}"""
