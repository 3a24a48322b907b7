"""Server-side SVG charts (pygal): no JavaScript, nothing fetched, escaped text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif",
    colors=(
        "#4c7c9b",
        "#b7282e",
        "#e0a526",
        "#5a9e6f",
        "#7d5ba6",
        "#c06c84",
        "#6c8ebf",
        "#9e9e5a",
        "#3d6b5c",
        "#a0522d",
    ),
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
)


def _config(chart: pygal.graph.graph.Graph) -> None:
    # pygal's tooltips would load a script from the web: none here.
    chart.config.js = []
    chart.config.disable_xml_declaration = True
    chart.config.explicit_size = False
    chart.config.legend_at_bottom = True
    chart.config.print_values = False


def _render(chart: pygal.graph.graph.Graph) -> Markup:
    return Markup(chart.render(is_unicode=True))


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | float | Decimal]],
    *,
    horizontal: bool = False,
) -> Markup:
    """One bar per label, stacked by series (depots × categories)."""
    kind = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    chart = kind(style=STYLE, width=720, height=360, title=str(title), x_label_rotation=0)
    _config(chart)
    chart.x_labels = [str(label) for label in labels]  # labels may be lazy translations
    for name, values in series.items():
        chart.add(str(name), [float(v) for v in values])
    return _render(chart)


def bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[int | float | Decimal]]
) -> Markup:
    """Grouped bars (expiries by month; money by county)."""
    chart = pygal.Bar(style=STYLE, width=720, height=340, title=str(title), x_label_rotation=30)
    _config(chart)
    chart.x_labels = [str(label) for label in labels]  # labels may be lazy translations
    for name, values in series.items():
        chart.add(str(name), [float(v) for v in values])
    return _render(chart)
