"""Sections of the periodic quality summary (``notebooks/quality_summary.ipynb``), each an HTML fragment.

Everything shown is a published figure: counts of people under the
disclosure threshold are suppressed here exactly as in the open data, and
shown with the same shorthand as the workbook ([c], [z]). Every breakdown
keeps its remainder row, so it adds up to its total on the page too. The
report carries what a release needs: its designation, release and next
update dates, a named contact, the licence, links to its own open data and
workbook, and its methodology as a page of its own.
"""

from __future__ import annotations

import pandas as pd

from ..periods import make_period
from ..publication import summary
from ..publication.disclosure import NOT_APPLICABLE, SUPPRESSED
from ..publication.release import TITLES, WORKBOOK, shorthand
from ..quality import benchmarks
from ..quality.indicators import INDICATORS
from ..render.charts import AF_DUO, AF_FOCUS_GREY, figure, house_theme
from ..render.templating import render
from ..store.results import load_or_compute
from ..writers import round_half_up
from .pack_sections import DEFINITIONS, band_labels


def compared_periods(pr) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(the same return of the previous year, the latest earlier return of the same year), where in the data.

    The first is the like-for-like comparison; the second only in-year movement.
    """
    here = make_period(pr.meta["year"], pr.meta["return"])
    held = {make_period(y, r) for y, r in zip(pr.all_periods["year"], pr.all_periods["return"])}
    same = make_period(here.year.previous().code, here.return_code)
    earlier = [p for p in held if p.year == here.year and p < here]
    code = lambda p: (p.year.code, p.return_code)
    return (code(same) if same in held else None), (code(max(earlier)) if earlier else None)


def load(data_dir: str, year: str, return_code: str, thresholds: str = "quality-framework-2023",
         results_dir: str | None = None) -> summary.Summary:
    """The period's summary, compared with the same return of the previous year (and in-year, as such)."""
    pr = load_or_compute(data_dir, year, return_code, thresholds, results_dir)
    same, earlier = compared_periods(pr)
    prev = load_or_compute(data_dir, *same, thresholds, results_dir) if same else None
    in_year = load_or_compute(data_dir, *earlier, thresholds, results_dir) if earlier else None
    return summary.build(pr, prev, in_year=in_year)


def shown(value) -> str:
    """A published cell as the page shows it: counts with thousands separators, symbols in square brackets."""
    if value in (SUPPRESSED, NOT_APPLICABLE):
        return shorthand(value)
    text = str(value)
    return f"{int(text):,}" if text.isdigit() else text


def _shown(table: pd.DataFrame, columns: list[str]) -> list[dict]:
    return [{**r, **{c: shown(r[c]) for c in columns}} for r in table.to_dict("records")]


def cover(s: summary.Summary, run_date: str) -> str:
    return render("summary_cover.html.j2", s=s, meta=s.pr.meta, run_date=run_date, final=summary.final(s.pr),
                  title=s.params.publication.title, pub=s.params.publication,
                  release=summary.release_of(s.pr, s.params))


def headline(s: summary.Summary) -> str:
    return render("summary_headline.html.j2", s=s, lines=s.commentary, revisions=s.revisions, meta=s.pr.meta,
                  chart=compared_chart(s))


def _bars(rows: list[dict], order: list[str], series: list[str], colours: list[str], title: str,
          context: list[dict] | None = None) -> dict:
    """Horizontal bars, one per series within each row, each labelled with its value in words.

    ``rows`` hold row, series, value and label; the series take the
    Analysis Function's two-colour pairing, and ``context`` (row, value,
    label) is drawn behind them in its grey. The labels name the series, so
    the chart never relies on colour alone.
    """
    y = {"field": "row", "type": "nominal", "sort": order, "title": None,
         "scale": {"paddingInner": 0.25}, "axis": {"labelLimit": 200}}
    top = max([r["value"] for r in rows] + [r["value"] for r in context or []] + [1])
    x = {"field": "value", "type": "quantitative", "title": "Agencies", "scale": {"domain": [0, top * 1.3]},
         "axis": {"tickMinStep": 1, "format": "d"}}
    layers = []
    if context:
        grey = {"data": {"values": context}, "encoding": {"y": y, "x": x}}
        layers += [{**grey, "mark": {"type": "bar", "color": AF_FOCUS_GREY}},
                   {**grey, "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 9, "dy": -6},
                    "encoding": {**grey["encoding"], "text": {"field": "label", "type": "nominal"}}}]
    enc = {"y": y, "x": x, "yOffset": {"field": "series", "type": "nominal", "sort": series},
           "color": {"field": "series", "type": "nominal", "legend": {"title": None, "orient": "top"},
                     "scale": {"domain": series, "range": colours[:len(series)]}}}
    layers += [{"data": {"values": rows}, "mark": {"type": "bar"}, "encoding": enc},
               {"data": {"values": rows}, "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 9},
                "encoding": {**enc, "text": {"field": "label", "type": "nominal"}, "color": {"value": "#0b0c0c"}}}]
    height = len(order) * (12 * len(series) + 6)
    return {"config": house_theme()["config"], "layer": layers, "title": title, "width": 560, "height": height}


def compared_chart(s: summary.Summary) -> str:
    """Agencies at risk on each indicator, this period against the same return a year earlier (like for like)."""
    c = s.raw["at_risk_compared"]
    now, then = summary.period_label(s.pr), (summary.period_label(s.previous) if s.previous is not None else "")
    series = [now] + ([then] if then else [])
    rows = [{"row": r["indicator"], "series": p, "value": int(r[k]), "label": f"{int(r[k])} in {p}"}
            for r in c.to_dict("records") for p, k in zip(series, ("this", "previous"))]
    order = list(c["indicator"])
    desc = "; ".join(f"{r['indicator']}: {int(r['this'])} in {now}"
                     + (f", {int(r['previous'])} in {then}" if then else "") for r in c.to_dict("records"))
    title = "Agencies at risk, by indicator" + (f": {now} against {then}" if then else f", {now}")
    return figure(_bars(rows, order, series, AF_DUO, ""), "summary-compared", title, desc + ".")


def status_chart(s: summary.Summary) -> str:
    """Agencies at risk and needing improvement on each scored indicator, against the agencies with data (grey)."""
    st = s.raw["agencies_by_status"].set_index("status")
    scored = [i for i in INDICATORS if i.id != "outside_approved_areas"]
    series = ["At risk", "Needs improvement"]
    words = {"At risk": "at risk", "Needs improvement": "need improvement"}
    rows, context = [], []
    for i in scored:
        col = st[f"agencies_{i.id}"]
        with_data = int(col["Total"] - col.get("No data", 0))
        context.append({"row": i.title, "value": with_data, "label": f"{with_data} with data"})
        rows += [{"row": i.title, "series": k, "value": int(col[k]), "label": f"{int(col[k])} {words[k]}"}
                 for k in series]
    desc = "; ".join(f"{c['row']}: {r1['label']}, {r2['label']}, of {c['value']} agencies with data"
                     for c, r1, r2 in zip(context, rows[0::2], rows[1::2]))
    return figure(_bars(rows, [i.title for i in scored], series, AF_DUO, "", context), "summary-status",
                  "Agencies at risk and needing improvement, by indicator (grey: agencies with data)", desc + ".")


def _pair(agencies, apprentices) -> str:
    """A status cell: agencies, their apprentices in brackets; a status the indicator cannot have, once."""
    if agencies == NOT_APPLICABLE:
        return shorthand(NOT_APPLICABLE)
    return f"{shown(agencies)} ({shown(apprentices)})"


def indicators(s: summary.Summary) -> str:
    dist = s.raw["distribution"]
    table = s.tables["fjaa_agencies_by_status"]
    heads = [i.title for i in INDICATORS]
    rows = [{"status": r["status"],
             "cells": [_pair(r[f"agencies_{i.id}"], r[f"apprentices_{i.id}"]) for i in INDICATORS]}
            for r in table.to_dict("records")]
    return render("summary_indicators.html.j2", dist=dist.to_dict("records"), heads=heads, status=rows, s=s,
                  chart=status_chart(s), min_agencies=s.params.disclosure.min_agencies_per_cell)


COUNTS = ["apprentices", "withdrawn", "leavers", "achievers", "withdrawal_rate", "achievement_rate"]


def by_route_and_region(s: summary.Summary) -> str:
    """The rates by route (each beside the national rate of the same route, as the packs show it) and region.

    Both keep their remainder row (no route recorded; workplace outside
    England or unknown), so each adds up to the all-agencies total.
    """
    route = s.tables["fjaa_rates_by_route"].copy()
    nat = [benchmarks.national_rate(s.pr.national, s.pr.meta["year"], *(("all", "") if r == "Total" else ("route", r)))
           for r in route["route"]]
    route["national"] = ["[x]" if n["value"] is None else f"{round_half_up(n['value'], 1)}" for n in nat]
    route["national_label"] = [n["label"] for n in nat]
    region = s.tables["fjaa_rates_by_region"].copy()
    region["name"] = [r if r else "England (all regions)" for r in region["region_name"]]
    p = s.params
    return render("summary_rates.html.j2", route=_shown(route, COUNTS), region=_shown(region, COUNTS), s=s,
                  unknown_route=p.unknown_category, unknown_region=p.geography.unknown_region_name,
                  placeless=summary.placeless_shown(s, region),
                  placeless_any=summary.leavers_without(s.pr, "region") > 0,
                  has_unknown_route=p.unknown_category in set(route["route"]))


def threshold_text(indicator_id: str, t: dict) -> str:
    """An indicator's thresholds in words, from the threshold set (no number written here)."""
    if indicator_id == "withdrawals":
        return (f"At risk above {t['at_risk_above']:g}%; needs improvement above {t['needs_improvement_above']:g}% "
                f"up to {t['at_risk_above']:g}%.")
    if indicator_id == "achievement_rate":
        return (f"At risk below {t['at_risk_below']:g}%; needs improvement from {t['at_risk_below']:g}% to below "
                f"{t['needs_improvement_below']:g}%.")
    if "at_risk_days" in t:
        lower, upper = band_labels(t)
        return (f"At risk when more than {t['at_risk_share_above']:g}% of apprentices are in the {upper} band; "
                f"needs improvement when more than {t['needs_improvement_share_above']:g}% are in the {lower} band.")
    return (f"No threshold in the framework: for discussion when more than {t['for_discussion_share_above']:g}% "
            f"of apprentices, {t['consecutive_returns']} returns in a row.")


def methodology(s: summary.Summary) -> str:
    """How the figures are made, as a page of the report (not a path into the code)."""
    th = s.pr.meta["thresholds"]
    rows = [{"title": i.title, "definition": DEFINITIONS[i.id],
             "thresholds": threshold_text(i.id, th["values"]["indicators"][i.id])} for i in INDICATORS]
    return render("summary_methodology.html.j2", s=s, meta=s.pr.meta, rows=rows, th=th,
                  same=summary.period_label(s.previous) if s.previous is not None else "",
                  unknown_region=s.params.geography.unknown_region_name, d=s.params.disclosure)


def about(s: summary.Summary) -> str:
    d = s.params.disclosure
    files = [{"name": name, "title": TITLES[name], "rows": len(table)} for name, table in sorted(s.tables.items())]
    return render("summary_about.html.j2", s=s, d=d, meta=s.pr.meta, files=files, workbook=WORKBOOK,
                  pub=s.params.publication, release=summary.release_of(s.pr, s.params))
