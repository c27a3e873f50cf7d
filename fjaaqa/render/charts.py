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


def svg(chart: alt.TopLevelMixin, key: str) -> str:
    """Draw a chart to SVG with ids made unique and stable by ``key``."""
    _fonts_registered()
    # our specs are tested; skip jsonschema
    out = vlc.vegalite_to_svg(chart.to_dict(validate=False), allowed_base_urls=[])
    out = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', out)
    out = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", out)
    out = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{key}-{m.group(1)}"', out)
    return out


def figure(chart: alt.TopLevelMixin, key: str, title: str, description: str) -> str:
    """An accessible figure: the SVG as an image with a text alternative, and a caption."""
    body = svg(chart, key).replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return render("figure.html.j2", key=key, body=body, title=title, description=description)


def position_chart(values: pd.DataFrame, agency_id: str, title: str, thresholds: list[tuple[float, str, str]],
                   x_title: str) -> alt.LayerChart:
    """All agencies' values as dots on one line, this agency highlighted, thresholds as rules.

    ``values`` has columns agency_id and value (percent). ``thresholds`` are
    (value, label, colour, side of the rule for the label).
    """
    v = values.dropna(subset=["value"]).copy()
    v["who"] = v["agency_id"].map(lambda a: "This agency" if a == agency_id else "Other agencies")
    base = alt.Chart(v).encode(
        x=alt.X("value:Q", title=x_title, scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("who:N", title=None, sort=["This agency", "Other agencies"]),
    )
    dots = base.mark_circle(opacity=0.85).encode(
        color=alt.Color("who:N", scale=alt.Scale(domain=["This agency", "Other agencies"],
                                                 range=[AF_CATEGORICAL[0], GOVUK_GREY]), legend=None),
        size=alt.Size("who:N", scale=alt.Scale(domain=["This agency", "Other agencies"], range=[180, 60]),
                      legend=None),
    )
    rules_df = pd.DataFrame([{"value": t, "label": f"{lab} {t:g}%", "colour": c, "side": side}
                             for t, lab, c, side in thresholds])
    rules = alt.Chart(rules_df).mark_rule(strokeDash=[4, 3], strokeWidth=2).encode(
        x="value:Q", color=alt.Color("colour:N", scale=None))
    layers = [rules, dots]
    for side, align, dx, y in (("left", "left", 5, -8), ("right", "right", -5, -8), ("below", "left", 5, 82)):
        part = rules_df[rules_df["side"] == side]
        if len(part):
            layers.append(alt.Chart(part).mark_text(align=align, dx=dx, dy=y if y < 0 else 0, fontSize=11).encode(
                x="value:Q", y=alt.value(0 if y < 0 else y), text="label:N"))
    return alt.layer(*layers).properties(title=title, width=700, height=90)


def band_chart(shares: pd.DataFrame, title: str, threshold: float) -> alt.LayerChart:
    """This agency's and all agencies' shares in each day band, with the share threshold."""
    top = float(max(40.0, 5 * (int(float(shares["share"].max()) * 1.15 / 5) + 1)))
    bars = alt.Chart(shares).mark_bar().encode(
        y=alt.Y("band:N", title=None, sort=list(shares["band"].drop_duplicates())),
        yOffset=alt.YOffset("who:N", sort=["This agency", "All agencies"]),
        x=alt.X("share:Q", title="Share of total apprentices (%)", scale=alt.Scale(domain=[0, top]),
                axis=alt.Axis(values=list(range(0, int(top) + 1, 5)))),
        color=alt.Color("who:N", scale=alt.Scale(domain=["This agency", "All agencies"],
                                                 range=[AF_CATEGORICAL[0], AF_CATEGORICAL[1]]),
                        legend=alt.Legend(title=None)),
    )
    text = bars.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("share:Q", format=".1f"))
    rule = alt.Chart(pd.DataFrame({"share": [threshold]})).mark_rule(color=GOVUK_RED, strokeDash=[4, 3],
                                                                      strokeWidth=2).encode(x="share:Q")
    return alt.layer(bars, text, rule).properties(title=title, width=680, height=150)
