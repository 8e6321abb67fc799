"""Reports of a results document: a self-contained HTML page and a Markdown summary for CI logs.

The page holds the environment, counts per backend, the conformance matrix (op x direction x
input mode x lengths x layers, one column per backend, i.e. per path and precision) coloured by
status, the same grid as an error heat map (worst error over tolerance), and for each failing case
its per-timestep error curve. No scripts, no external files: it opens anywhere.
"""

from __future__ import annotations

import html
import math

ROW_AXES = ("op", "direction", "input_mode", "seq_lengths", "layer_count")
COLOURS = {"passed": "#2e7d32", "built": "#1565c0", "xfail": "#ef6c00", "skipped": "#9e9e9e",
           "failed": "#c62828", "error": "#6a1b9a", "xpass": "#ad1457", "none": "#eeeeee"}
RANK = ["none", "skipped", "built", "passed", "xfail", "xpass", "failed", "error"]  # worst last


def _row_key(record):
    spec = record.get("spec") or {}
    if not spec:
        return None
    return (spec["op"], spec["direction"].replace("DIRECTION", "").lower(), spec["input_mode"].lower(),
            "lens" if spec["seq_lengths"] else "full", f"L{spec['layer_count']}")


def grid(document):
    """`(rows, backends, cells)`: cells[(row, backend)] = the records of that group."""
    cells, rows, backends = {}, [], []
    for record in document["records"]:
        row = _row_key(record)
        if row is None:
            continue
        cells.setdefault((row, record["backend"]), []).append(record)
        if row not in rows:
            rows.append(row)
        if record["backend"] not in backends:
            backends.append(record["backend"])
    return sorted(rows), backends, cells


def _worst_status(records):
    return max((r["status"] for r in records), key=RANK.index, default="none")


def _ratio(records):
    """Worst error over tolerance in a group, or None when nothing was compared."""
    ratios = [r["max_abs"] / r["allowed"] for r in records if r.get("max_abs") is not None and r.get("allowed")]
    return max(ratios) if ratios else None


def _heat(ratio):
    if ratio is None:
        return COLOURS["none"], "-"
    level = min(1.0, max(0.0, (math.log10(max(ratio, 1e-12)) + 8) / 8))  # 1e-8 .. 1 of the tolerance
    red = int(255 * level)
    return (COLOURS["failed"] if ratio > 1 else f"rgb({red},{int(200 - 120 * level)},{255 - red})"), f"{ratio:.0e}"


def counts(document):
    """{backend: {status: count}}"""
    table = {}
    for record in document["records"]:
        row = table.setdefault(record["backend"], {})
        row[record["status"]] = row.get(record["status"], 0) + 1
    return table


def html_report(document) -> str:
    rows, backends, cells = grid(document)
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>RNN conformance report</title><style>{CSS}</style></head><body>",
             "<h1>TensorRT RNN conformance report</h1>", _environment(document), "<h2>Backends</h2>", _counts_table(document),
             "<h2>Conformance matrix</h2><p>Each cell: the cases of that configuration on that backend; colour by the worst status, "
             "text passed/compared. Hover for details.</p>", "<table id='conformance-matrix'><tr>"]
    parts += [f"<th>{esc(a)}</th>" for a in ROW_AXES] + [f"<th class='backend'>{esc(b)}</th>" for b in backends] + ["</tr>"]
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row))
        for backend in backends:
            group = cells.get((row, backend), [])
            status = _worst_status(group)
            ok = sum(r["status"] in ("passed", "built", "xfail") for r in group)
            ran = sum(r["status"] != "skipped" for r in group)
            title = "; ".join(f"{r['case']}: {r['status']}" + (f" ({r['reason']})" if r.get("reason") else "") for r in group[:6])
            parts.append(f"<td class='cell status-{status}' style='background:{COLOURS[status]}' title='{esc(title)}'>"
                         f"{ok}/{ran if ran else '-'}</td>")
        parts.append("</tr>")
    parts.append("</table><h2>Error heat map</h2><p>Worst max abs error over the allowed error, per cell (1 = at the tolerance).</p>"
                 "<table id='error-heat-map'><tr>" + "".join(f"<th>{esc(a)}</th>" for a in ROW_AXES)
                 + "".join(f"<th class='backend'>{esc(b)}</th>" for b in backends) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row))
        for backend in backends:
            colour, text = _heat(_ratio(cells.get((row, backend), [])))
            parts.append(f"<td class='heat' style='background:{colour}'>{text}</td>")
        parts.append("</tr>")
    parts.append("</table>" + _failures(document) + "</body></html>")
    return "".join(parts)


def _environment(document):
    env = document.get("environment", {})
    trt = env.get("tensorrt")
    cuda = env.get("cuda")
    items = [f"created {document.get('created', '?')}", f"sets: {', '.join(document.get('sets', []))}",
             f"TensorRT: {trt['flavour'] + ' ' + trt['version'] if trt else 'not installed'}",
             f"GPU: {cuda['gpu'] + ' (CC ' + cuda['compute_capability'] + ')' if cuda else 'none'}",
             f"Python {env.get('python', '?')}"] + [f"{k} {v}" for k, v in env.get("packages", {}).items()]
    return "<p id='environment'>" + " &middot; ".join(html.escape(i) for i in items) + "</p>"


def _counts_table(document):
    rows = ["<table id='backend-counts'><tr><th>backend</th>" + "".join(f"<th>{s}</th>" for s in RANK[1:]) + "</tr>"]
    for backend, row in counts(document).items():
        rows.append(f"<tr><td>{html.escape(backend)}</td>" + "".join(f"<td>{row.get(s, 0)}</td>" for s in RANK[1:]) + "</tr>")
    return "".join(rows) + "</table>"


def _failures(document):
    failing = [r for r in document["records"] if r["status"] in ("failed", "error", "xpass", "xfail")]
    if not failing:
        return "<h2>Failures</h2><p id='no-failures'>None.</p>"
    parts = ["<h2>Failures</h2>"]
    for r in failing:
        parts.append(f"<div class='failure'><h3>{html.escape(r['backend'])}: {html.escape(r['case'])} ({r['status']})</h3>")
        if r.get("max_abs") is not None:
            parts.append(f"<p>max abs error {r['max_abs']:.3e}, allowed {r['allowed']:.3e}, worst {html.escape(str(r['worst_output']))}"
                         f"{r['worst_index']}, observed {r['observed']!r}, expected {r['expected']!r}</p>")
        if r.get("reason"):
            parts.append(f"<p>{html.escape(r['reason'])}</p>")
        if r.get("timestep_errors"):
            parts.append(_curve(r["timestep_errors"], r.get("allowed")))
        parts.append(f"<p><code>python -m trt_cases check {html.escape(r['case'])} --backend {html.escape(r['backend'])}</code></p></div>")
    return "".join(parts)


def _curve(errors, allowed, width=480, height=160):
    """An inline SVG of log10(max abs error) per timestep of output 0, with the tolerance as a dashed line."""
    values = [math.log10(max(e, 1e-18)) if math.isfinite(e) else 3.0 for e in errors]
    top = max(values + [math.log10(allowed) if allowed else -18]) + 0.5
    low = min(values + [math.log10(allowed) if allowed else 0]) - 0.5
    x = lambda i: 40 + (width - 50) * (i / max(len(values) - 1, 1))  # noqa: E731
    y = lambda v: 10 + (height - 30) * (top - v) / (top - low)  # noqa: E731
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    svg = [f"<svg class='timestep-curve' width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>",
           f"<polyline fill='none' stroke='#c62828' stroke-width='2' points='{points}'/>",
           f"<text x='2' y='14' font-size='10'>1e{top:.0f}</text><text x='2' y='{height - 20}' font-size='10'>1e{low:.0f}</text>",
           f"<text x='{width / 2:.0f}' y='{height - 4}' font-size='10'>timestep 0..{len(values) - 1}</text>"]
    if allowed:
        svg.append(f"<line x1='40' x2='{width - 10}' y1='{y(math.log10(allowed)):.1f}' y2='{y(math.log10(allowed)):.1f}' "
                   "stroke='#555' stroke-dasharray='4'/>")
    return "".join(svg) + "</svg>"


def markdown_report(document) -> str:
    lines = ["# RNN conformance summary", "", f"Sets: {', '.join(document.get('sets', []))}", "",
             "| backend | " + " | ".join(RANK[1:]) + " |", "|---|" + "---|" * len(RANK[1:])]
    for backend, row in counts(document).items():
        lines.append(f"| {backend} | " + " | ".join(str(row.get(s, 0)) for s in RANK[1:]) + " |")
    failing = [r for r in document["records"] if r["status"] in ("failed", "error", "xpass")]
    lines += ["", f"Failures: {len(failing)}"]
    for r in failing:
        figures = f" max abs {r['max_abs']:.3e} (allowed {r['allowed']:.3e})" if r.get("max_abs") is not None else f" {r.get('reason', '')}"
        lines.append(f"- `{r['backend']}` `{r['case']}`: {r['status']}{figures}")
    return "\n".join(lines) + "\n"


CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;font-size:12px}th.backend{writing-mode:vertical-rl;white-space:nowrap}
td.cell,td.heat{color:#fff;text-align:center;min-width:2.5em}#environment{font-size:12px;color:#555}
.failure{border-left:4px solid #c62828;padding-left:.8em;margin-bottom:1em}"""
