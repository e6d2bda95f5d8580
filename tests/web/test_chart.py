"""The weights chart: positions of bars, bands and target marks computed by hand."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from poise.service.web._chart import LABEL_WIDTH, VALUE_WIDTH, WIDTH, weights_chart
from poise.service.web._views import WeightRow

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_bars_bands_and_targets_on_one_scale() -> None:
    rows = [WeightRow("AAA", 0.10, 0.18, 0.05), WeightRow("BBB", 0.20, 0.19, 0.05)]
    svg = _parse(str(weights_chart(rows)))
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    # the axis ends at the largest value (upper band 0.25) rounded up to a 5% tick: 0.25 → 0.3
    # (×1.02 margin), ticks every 0.1 above 0.25
    top = 0.3
    bars = svg.findall(".//svg:rect[@class='bar out']", NS) + svg.findall(
        ".//svg:rect[@class='bar']", NS
    )
    widths = sorted(float(b.get("width", "0")) for b in bars)
    assert widths == [round(plot * 0.18 / top, 2), round(plot * 0.19 / top, 2)]
    bands = svg.findall(".//svg:rect[@class='band']", NS)
    assert [float(b.get("x", "0")) for b in bands] == [
        round(LABEL_WIDTH + plot * 0.05 / top, 2),
        round(LABEL_WIDTH + plot * 0.15 / top, 2),
    ]
    targets = svg.findall(".//svg:line[@class='target']", NS)
    assert [float(t.get("x1", "0")) for t in targets] == [
        round(LABEL_WIDTH + plot * 0.10 / top, 2),
        round(LABEL_WIDTH + plot * 0.20 / top, 2),
    ]
    ticks = [t.text for t in svg.findall(".//svg:text[@class='tick']", NS)]
    assert ticks == ["0%", "10%", "20%", "30%"]


def test_breach_is_marked_by_colour_class_and_arrow_and_title() -> None:
    rows = [WeightRow("AAA", 0.10, 0.18, 0.05), WeightRow("BBB", 0.20, 0.19, 0.05)]
    svg = _parse(str(weights_chart(rows)))
    groups = svg.findall("svg:g", NS)
    assert [g.get("class") for g in groups] == ["row above", "row inside"]
    titles = [g.find("svg:title", NS).text for g in groups]  # type: ignore[union-attr]
    assert titles[0] == "AAA: 18.0% now, target 10.0%, band 5.00% to 15.00% (above)"
    values = [
        t.text for t in svg.findall(".//svg:text", NS) if (t.get("class") or "").startswith("value")
    ]
    assert values == ["18.0% ▲", "19.0%"]


def test_no_band_draws_no_box_and_symbols_are_escaped() -> None:
    markup = str(weights_chart([WeightRow("<b>&", 0.5, 0.4, None)]))
    assert "<b>" not in markup
    svg = _parse(markup)
    assert svg.findall(".//svg:rect[@class='band']", NS) == []
    assert not re.search(r"style=", markup)  # the CSP forbids inline styles
