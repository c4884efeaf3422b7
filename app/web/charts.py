"""Geometry of the insights charts, drawn as inline SVG by the templates (insights.html).

Text is never scaled: no chart has a viewBox, so 13 px in the SVG is 13 px on the screen at
every width (a scaled 640-wide drawing put 12 px text at about 7 px on a phone).

- Bar charts stack each label on its own line above its bar; bar lengths are percentages of the
  chart's width (at most BAR_SPAN of it) and each value is written right after its bar's end
  (a nested <svg> placed at that percentage), in the room the span leaves: no label or value
  overlaps a bar at any width.
- Heatmaps (groups side by side, conditions down) are drawn at their natural size in pixels and
  scroll sideways inside a focusable region when wider than the screen.
Colour never carries a figure alone: every bar and cell has its number written on it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from app.analytics.compare import Comparison

FONT = 13  # px, for every chart text
BAR_SPAN = 76.0  # percent of the chart's width the longest bar takes; the rest holds its value
LABEL_CHARS = 44  # a bar label wraps past this (the longest condition name is 48)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1
    text: str


def bar_chart(title: str, bars: list[Bar]) -> dict[str, Any]:
    rows, y = [], 0
    for bar in bars:
        lines = textwrap.wrap(bar.label, LABEL_CHARS) or [""]
        label_y = [y + FONT + i * (FONT + 3) for i in range(len(lines))]
        bar_y = label_y[-1] + 5
        rows.append(
            {
                "lines": list(zip(label_y, lines, strict=True)),
                "bar_y": bar_y,
                "w": round(max(bar.value, 0.004) * BAR_SPAN, 2),
                "text_y": bar_y + FONT - 1,
                "text": bar.text,
                "label": bar.label,
            }
        )
        y = bar_y + 16 + 10
    return {"title": title, "height": y, "rows": rows, "font": FONT}


# Five steps from light to dark, with the text colour each needs (contrast at least 4.5:1).
SHADES = (
    ("#eef3fa", "#1a1a1a"),
    ("#c9d9ef", "#1a1a1a"),
    ("#97b5de", "#1a1a1a"),
    ("#3f6fb0", "#ffffff"),
    ("#1d4f91", "#ffffff"),
)
LEGEND = ("0–19%", "20–39%", "40–59%", "60–79%", "80–100%")
COLUMN_WIDTH = {"state": 56, "role": 104, "month": 72}
LABEL_WIDTH, ROW_HEIGHT, LINE = 210, 40, FONT + 3


def shade(percent: float) -> tuple[str, str]:
    return SHADES[min(int(percent // 20), 4)]


def heatmap(title: str, comparison: Comparison) -> dict[str, Any]:
    """Conditions down, groups across; each cell the percentage at stage 2 or beyond."""
    width = COLUMN_WIDTH[comparison.by]
    per_line = max(4, (width - 8) // 7)
    # States by their codes (the table beside names them); roles and months by their labels.
    heads = [c.value or "none" if comparison.by == "state" else c.label for c in comparison.columns]
    headers = [textwrap.wrap(h, per_line, break_long_words=False)[:3] or [""] for h in heads]
    head_lines = max((len(h) for h in headers), default=1) + 1  # and a line for the size
    top = head_lines * LINE + 8
    columns = []
    for i, (column, header) in enumerate(zip(comparison.columns, headers, strict=True)):
        x = LABEL_WIDTH + i * width
        size = "too few" if column.suppressed else f"n={column.responses}"
        lines = [*header, size]
        cells = []
        for j, cell in enumerate(column.cells):
            y = top + j * ROW_HEIGHT
            if cell.at_stage_2_plus is None:
                cells.append({"y": y, "fill": None, "ink": "#1a1a1a", "text": "–"})
            else:
                fill, ink = shade(cell.at_stage_2_plus)
                text = f"{cell.at_stage_2_plus:.0f}%"
                cells.append({"y": y, "fill": fill, "ink": ink, "text": text})
        columns.append(
            {
                "x": x,
                "cx": x + width / 2,
                "lines": [(top - 8 - (len(lines) - 1 - k) * LINE, t) for k, t in enumerate(lines)],
                "cells": cells,
            }
        )
    rows = []
    for j, (_, name) in enumerate(comparison.conditions):
        lines = textwrap.wrap(name, 27)[:2]
        y = top + j * ROW_HEIGHT
        first = y + ROW_HEIGHT / 2 + FONT / 2 - 2 - (len(lines) - 1) * LINE / 2
        rows.append({"lines": [(first + k * LINE, t) for k, t in enumerate(lines)]})
    height = top + len(comparison.conditions) * ROW_HEIGHT
    return {
        "title": title,
        "width": LABEL_WIDTH + len(comparison.columns) * width + 4,
        "height": height + 4,
        "cell_w": width - 4,
        "cell_h": ROW_HEIGHT - 4,
        "columns": columns,
        "rows": rows,
        "font": FONT,
    }
