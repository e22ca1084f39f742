"""The report's chart: met, missed and open per week or month as stacked bars, first response and
resolution side by side, drawn as inline SVG on the server (nothing loaded from anywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from connector.core.report import OUTCOMES, Bucket
from connector.reports import TEMPLATES

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 30, 44
COLOURS = {"met": "#2e7d32", "missed": "#c62828", "open": "#9e9e9e"}


@dataclass(frozen=True)
class Bar:
    """One coloured rectangle and its tooltip."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


def nice_top(value: int) -> int:
    """The y axis's top: four steps of 1, 2 or 5 times a power of ten, reaching `value`."""
    step = 1
    while step * 4 < value:
        for factor in (2, 2.5, 2):  # 1, 2, 5, 10, 20, 50, ...
            step = int(step * factor)
            if step * 4 >= value:
                break
    return step * 4


def svg_chart(buckets: Sequence[Bucket]) -> Markup:
    """The SVG element (escaped text, fixed geometry scaled by the viewBox)."""
    top = nice_top(
        max([sum(getattr(b, m).values()) for b in buckets for m in ("first_response", "resolution")], default=0)
    )
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / max(len(buckets), 1)
    bar_w = min(group * 0.36, 28)
    bars, labels = [], []
    every = max(1, round(len(buckets) / 14))  # keep the labels readable
    for i, bucket in enumerate(buckets):
        centre = LEFT + group * (i + 0.5)
        for side, (metric, title) in zip(
            (-1, 1), (("first_response", "first response"), ("resolution", "resolution")), strict=True
        ):
            x, base = centre + (side - 1) * bar_w / 2 + side * 1.5, TOP + plot_h
            for name in OUTCOMES:
                count = getattr(bucket, metric)[name]
                if not count:
                    continue
                height = plot_h * count / top
                base -= height
                bars.append(
                    Bar(
                        round(x, 1),
                        round(base, 1),
                        round(bar_w, 1),
                        round(height, 1),
                        COLOURS[name],
                        f"{bucket.label}: {title} {name} {count}",
                    )
                )
        if i % every == 0:
            labels.append((round(centre, 1), bucket.label))
    ticks = [(round(TOP + plot_h * (1 - k / 4), 1), top * k // 4) for k in range(5)]
    return Markup(
        TEMPLATES.get_template("chart.svg").render(
            width=WIDTH,
            height=HEIGHT,
            left=LEFT,
            right=WIDTH - RIGHT,
            bottom=TOP + plot_h,
            bars=bars,
            labels=labels,
            ticks=ticks,
            colours=COLOURS,
            label_y=TOP + plot_h + 16,
        )
    )
