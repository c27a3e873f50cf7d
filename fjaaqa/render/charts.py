"""Charts for the packs: Altair specs drawn to inline SVG by vl-convert.

A house theme gives every chart the Analysis Function palette, Arial with
Liberation Sans named as its metric-compatible fallback, and GOV.UK text
colour. Each chart comes back as an accessible HTML figure: the SVG is
marked as an image with a text alternative written from the numbers, and
its internal ids are prefixed with a chart key, so a pack's bytes never
depend on which chart a process drew before (vl-convert numbers clip ids
per process).
"""

from __future__ import annotations

import re
from functools import lru_cache

import altair as alt
import pandas as pd
import vl_convert as vlc

from .templating import render

AF_CATEGORICAL = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
# The Analysis Function's two-colour pairing (dark blue, orange) for two series, and its grey for context
# (the "focus" palette: one highlighted series in dark blue, everything else in this grey).
AF_DUO = ["#12436D", "#F46A25"]
AF_FOCUS_GREY = "#BFBFBF"
GOVUK_TEXT = "#0b0c0c"
GOVUK_GREY = "#b1b4b6"
GOVUK_RED = "#ca3535"
GOVUK_ORANGE = "#f47738"
FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"


@alt.theme.register("fjaaqa", enable=True)
def house_theme() -> alt.theme.ThemeConfig:
    """Analysis Function palette, GOV.UK type and colours."""
    return {
        "config": {
            "font": FONT,
            "background": "#ffffff",
            "view": {"stroke": None},
            "range": {"category": AF_CATEGORICAL},
            "title": {"font": FONT, "fontSize": 15, "fontWeight": "bold", "color": GOVUK_TEXT, "anchor": "start",
                      "offset": 10},
            "axis": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12, "titleFontSize": 12,
                     "labelColor": GOVUK_TEXT, "titleColor": GOVUK_TEXT, "gridColor": "#e5e5e5",
                     "domainColor": GOVUK_TEXT, "tickColor": GOVUK_TEXT},
            "legend": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12, "titleFontSize": 12,
                       "labelColor": GOVUK_TEXT, "titleColor": GOVUK_TEXT, "orient": "bottom"},
            "text": {"font": FONT, "color": GOVUK_TEXT},
            # The figure's own text alternative (rounded, in words) describes the chart; Vega's per-mark
            # descriptions read out raw values such as 12.8205128205 and are left out of the SVG.
            "aria": False,
        }
    }


@lru_cache(maxsize=1)
def _fonts_registered() -> bool:
    """Let vl-convert measure text with the fonts the page will use, where installed."""
    for folder in ("/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/liberation2"):
        try:
            vlc.register_font_directory(folder)
        except Exception:  # missing folder: vl-convert falls back to its bundled fonts
            continue
    return True


def svg(chart: alt.TopLevelMixin | dict, key: str) -> str:
    """Draw a chart (an Altair chart or a Vega-Lite spec) to SVG with ids made unique and stable by ``key``."""
    _fonts_registered()
    # our specs are tested; skip jsonschema
    spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
    out = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    out = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', out)
    out = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", out)
    out = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{key}-{m.group(1)}"', out)
    return out


def figure(chart: alt.TopLevelMixin | dict, key: str, title: str, description: str) -> str:
    """An accessible figure: the SVG as an image with a text alternative, and a caption."""
    body = svg(chart, key).replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return render("figure.html.j2", key=key, body=body, title=title, description=description)


# The two charts every review pack draws are written as Vega-Lite specs directly: building them through
# Altair's schema objects cost more than drawing them (about 0.05 s a chart, measured), and a pack batch draws
# one or two per pack.

def _spec(layers: list[dict], title: str, width: int, height: int) -> dict:
    return {"config": house_theme()["config"], "layer": layers, "title": title, "width": width, "height": height}


def _values(df: pd.DataFrame) -> dict:
    return {"values": df.to_dict("records")}


def position_chart(values: pd.DataFrame, agency_id: str, title: str, thresholds: list[tuple[float, str, str]],
                   x_title: str) -> dict:
    """All agencies' values as dots on one line, this agency highlighted, thresholds as rules.

    ``values`` has columns agency_id and value (percent). ``thresholds`` are
    (value, label, colour, side of the rule for the label).
    """
    v = values.dropna(subset=["value"])[["agency_id", "value"]].copy()
    v["who"] = v["agency_id"].map(lambda a: "This agency" if a == agency_id else "Other agencies")
    who = ["This agency", "Other agencies"]
    rules = pd.DataFrame([{"value": float(t), "label": f"{lab} {t:g}%", "colour": c, "side": side}
                          for t, lab, c, side in thresholds])
    layers = [
        {"data": _values(rules), "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2},
         "encoding": {"x": {"field": "value", "type": "quantitative"},
                      "color": {"field": "colour", "type": "nominal", "scale": None}}},
        {"data": _values(v[["value", "who"]]), "mark": {"type": "circle", "opacity": 0.85},
         "encoding": {
             "x": {"field": "value", "type": "quantitative", "title": x_title, "scale": {"domain": [0, 100]}},
             "y": {"field": "who", "type": "nominal", "title": None, "sort": who},
             "color": {"field": "who", "type": "nominal", "legend": None,
                       "scale": {"domain": who, "range": [AF_CATEGORICAL[0], GOVUK_GREY]}},
             "size": {"field": "who", "type": "nominal", "legend": None,
                      "scale": {"domain": who, "range": [180, 60]}}}},
    ]
    for side, align, dx, y in (("left", "left", 5, -8), ("right", "right", -5, -8), ("below", "left", 5, 82)):
        part = rules[rules["side"] == side]
        if len(part):
            layers.append({"data": _values(part[["value", "label"]]),
                           "mark": {"type": "text", "align": align, "dx": dx, "dy": y if y < 0 else 0, "fontSize": 11},
                           "encoding": {"x": {"field": "value", "type": "quantitative"},
                                        "y": {"value": 0 if y < 0 else y},
                                        "text": {"field": "label", "type": "nominal"}}})
    return _spec(layers, title, 700, 90)


def band_chart(shares: pd.DataFrame, title: str, threshold: float) -> dict:
    """This agency's (and the other agencies') shares in each day band, with the share threshold."""
    top = float(max(40.0, 5 * (int(float(shares["share"].max()) * 1.15 / 5) + 1)))
    who = list(dict.fromkeys(["This agency", *shares["who"]]))
    bars = {"data": _values(shares[["band", "who", "share"]]), "mark": {"type": "bar"},
            "encoding": {
                "y": {"field": "band", "type": "nominal", "title": None,
                      "sort": list(shares["band"].drop_duplicates())},
                "yOffset": {"field": "who", "type": "nominal", "sort": who},
                "x": {"field": "share", "type": "quantitative", "title": "Share of total apprentices (%)",
                      "scale": {"domain": [0, top]}, "axis": {"values": list(range(0, int(top) + 1, 5))}},
                "color": {"field": "who", "type": "nominal", "legend": {"title": None},
                          "scale": {"domain": who, "range": [AF_CATEGORICAL[0], AF_CATEGORICAL[1]][:len(who)]}}}}
    text = {**bars, "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 11},
            "encoding": {**bars["encoding"], "text": {"field": "share", "type": "quantitative", "format": ".1f"}}}
    rule = {"data": {"values": [{"share": float(threshold)}]},
            "mark": {"type": "rule", "color": GOVUK_RED, "strokeDash": [4, 3], "strokeWidth": 2},
            "encoding": {"x": {"field": "share", "type": "quantitative"}}}
    return _spec([bars, text, rule], title, 680, 150)
