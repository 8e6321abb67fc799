"""Inline SVG charts for the HTML page: error per timestep (a line) and per layer index (bars).

Errors span many decades, so the y axis is log10 with a tick and label at every decade; the
tolerance is a dashed line. A zero error is drawn on the floor, a NaN or Inf mismatch at the top.
"""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT = 330, 170
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 22, 34  # margins: room for tick labels and axis titles


def _axis(values, allowed):
    """(low, high) decades covering the finite positive values and the tolerance."""
    finite = [v for v in values if v > 0 and math.isfinite(v)] + ([allowed] if allowed else [])
    low = math.floor(math.log10(min(finite))) if finite else -8
    high = math.ceil(math.log10(max(finite))) if finite else 0
    return low, max(high, low + 1)


def _frame(title, xlabel, ylabel, low, high):
    """The SVG's opening, title, y ticks at each decade and the axis titles."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f"<svg class='chart' width='{WIDTH}' height='{HEIGHT}' xmlns='http://www.w3.org/2000/svg' role='img'>",
             f"<title>{html.escape(title)}</title>",
             f"<text x='{LEFT}' y='13' font-size='11' font-weight='bold'>{html.escape(title)}</text>",
             f"<rect x='{LEFT}' y='{TOP}' width='{WIDTH - LEFT - RIGHT}' height='{plot_h}' fill='#fafafa' stroke='#999'/>"]
    step = max(1, math.ceil((high - low) / 5))
    for decade in range(low, high + 1, step):
        y = TOP + plot_h * (high - decade) / (high - low)
        parts.append(f"<line x1='{LEFT - 3}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e0e0e0'/>"
                     f"<text class='ytick' x='{LEFT - 5}' y='{y + 3:.1f}' font-size='9' text-anchor='end'>1e{decade}</text>")
    parts.append(f"<text class='xlabel' x='{LEFT + (WIDTH - LEFT - RIGHT) / 2:.0f}' y='{HEIGHT - 3}' font-size='10' "
                 f"text-anchor='middle'>{html.escape(xlabel)}</text>"
                 f"<text class='ylabel' x='10' y='{TOP + plot_h / 2:.0f}' font-size='10' text-anchor='middle' "
                 f"transform='rotate(-90 10 {TOP + plot_h / 2:.0f})'>{html.escape(ylabel)}</text>")
    return parts


def _y(value, low, high):
    plot_h = HEIGHT - TOP - BOTTOM
    if not math.isfinite(value):
        return TOP
    level = math.log10(value) if value > 0 else low
    return TOP + plot_h * (high - min(max(level, low), high)) / (high - low)


def _x_ticks(count, x):
    step = max(1, math.ceil(count / 8))
    ticks = list(range(0, count, step))
    return "".join(f"<line x1='{x(i):.1f}' x2='{x(i):.1f}' y1='{HEIGHT - BOTTOM}' y2='{HEIGHT - BOTTOM + 3}' stroke='#999'/>"
                   f"<text class='xtick' x='{x(i):.1f}' y='{HEIGHT - BOTTOM + 12}' font-size='9' text-anchor='middle'>{i}</text>"
                   for i in ticks)


def _tolerance(allowed, low, high):
    if not allowed:
        return ""
    y = _y(allowed, low, high)
    return (f"<line class='tolerance' x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='#333' "
            f"stroke-dasharray='4 3'/><text x='{WIDTH - RIGHT - 2}' y='{y - 3:.1f}' font-size='9' text-anchor='end'>tolerance</text>")


def line_chart(values, allowed, *, title, xlabel="timestep") -> str:
    """Max abs error per timestep, a point per step, the tolerance dashed."""
    low, high = _axis(values, allowed)
    inner = WIDTH - LEFT - RIGHT - 12
    x = lambda i: LEFT + 6 + inner * (i / max(len(values) - 1, 1))  # noqa: E731
    parts = _frame(title, xlabel, "max abs error", low, high) + [_x_ticks(len(values), x), _tolerance(allowed, low, high)]
    points = " ".join(f"{x(i):.1f},{_y(v, low, high):.1f}" for i, v in enumerate(values))
    colour = "#c62828" if allowed and max(values) > allowed else "#2e7d32"
    parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'/>")
    parts += [f"<circle cx='{x(i):.1f}' cy='{_y(v, low, high):.1f}' r='2' fill='{colour}'><title>timestep {i}: {v:.3e}</title></circle>"
              for i, v in enumerate(values) if len(values) <= 64]
    return "".join(parts) + "</svg>"


def bar_chart(values, allowed, *, title, xlabel="layer index (layer x direction)") -> str:
    """Max abs error per layer index of a final state, one bar each, the tolerance dashed."""
    low, high = _axis(values, allowed)
    inner = WIDTH - LEFT - RIGHT
    slot = inner / max(len(values), 1)
    x = lambda i: LEFT + slot * (i + 0.5)  # noqa: E731
    parts = _frame(title, xlabel, "max abs error", low, high) + [_x_ticks(len(values), x)]
    for i, v in enumerate(values):
        y = _y(v, low, high)
        colour = "#c62828" if allowed and v > allowed else "#2e7d32"
        parts.append(f"<rect class='bar' x='{x(i) - slot * 0.35:.1f}' y='{y:.1f}' width='{slot * 0.7:.1f}' "
                     f"height='{HEIGHT - BOTTOM - y:.1f}' fill='{colour}'><title>layer index {i}: {v:.3e}</title></rect>")
        if v == 0:  # no bar to see: say so
            parts.append(f"<text x='{x(i):.1f}' y='{y - 3:.1f}' font-size='9' text-anchor='middle'>0</text>")
    parts.append(_tolerance(allowed, low, high))
    return "".join(parts) + "</svg>"
