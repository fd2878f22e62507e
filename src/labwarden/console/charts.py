"""Server-rendered SVG: the overview's sparklines and the history's charts. Only numbers and
escaped labels go into the markup, and no script or inline style: the CSP holds."""

from __future__ import annotations

from markupsafe import Markup, escape

RISKS = ("Low", "Medium", "High", "Unacceptable")


def sparkline(values: list[float], width: int = 120, height: int = 24) -> Markup:
    """Scores (0-100) left to right; an empty box when there is no history yet."""
    if not values:
        return Markup(f'<svg class="spark" width="{width}" height="{height}" role="img" '
                      f'aria-label="no history yet" viewBox="0 0 {width} {height}"></svg>')
    points = _points(values, width, height, 0.0, 100.0)
    last = points[-1]
    label = f"score over the last {len(values)} runs, now {values[-1]:.1f} %"
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {height}">'
        f'<polyline class="line" points="{_join(points)}"/>'
        f'<circle class="dot" cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2"/></svg>')


def line_chart(series: list[tuple[str, list[float]]], labels: list[str], title: str,
               low: float = 0.0, high: float = 100.0, ticks: list[tuple[float, str]] | None = None,
               width: int = 640, height: int = 200) -> Markup:
    """One chart, several named series over the same runs (x: run order)."""
    pad_l, pad_b, pad_t = 90, 20, 10
    inner_w, inner_h = width - pad_l - 10, height - pad_b - pad_t
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}">',
             f'<title>{escape(title)}</title>']
    ticks = ticks or [(low, f"{low:.0f}"), ((low + high) / 2, ""), (high, f"{high:.0f}")]
    for value, text in ticks:
        y = pad_t + inner_h - (value - low) / ((high - low) or 1) * inner_h
        parts.append(f'<line class="grid" x1="{pad_l}" x2="{width - 10}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/>')
        if text:
            parts.append(f'<text class="tick" x="{pad_l - 6}" y="{y + 4:.1f}" '
                         f'text-anchor="end">{escape(text)}</text>')
    for index, (name, values) in enumerate(series):
        if not values:
            continue
        points = [(pad_l + x, pad_t + y) for x, y in
                  _points(values, inner_w, inner_h, low, high)]
        parts.append(f'<polyline class="line s{index % 6}" points="{_join(points)}">'
                     f'<title>{escape(name)}</title></polyline>')
        for x, y in points:
            parts.append(f'<circle class="dot s{index % 6}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
    if labels:
        parts.append(f'<text class="tick" x="{pad_l}" y="{height - 4}">{escape(labels[0])}</text>')
        parts.append(f'<text class="tick" x="{width - 10}" y="{height - 4}" '
                     f'text-anchor="end">{escape(labels[-1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def risk_value(risk: str | None) -> float:
    return float(RISKS.index(risk)) if risk in RISKS else 0.0


def risk_ticks() -> list[tuple[float, str]]:
    return [(float(i), name) for i, name in enumerate(RISKS)]


def _points(values: list[float], width: float, height: float, low: float,
            high: float) -> list[tuple[float, float]]:
    span = (high - low) or 1.0
    step = width / (len(values) - 1) if len(values) > 1 else 0.0
    return [(i * step if len(values) > 1 else width / 2,
             height - (min(max(v, low), high) - low) / span * (height - 2) - 1)
            for i, v in enumerate(values)]


def _join(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
