"""Sections of the periodic quality summary (``notebooks/quality_summary.ipynb``), each an HTML fragment.

Everything shown is a published figure: counts of people under the
disclosure threshold are suppressed here exactly as in the open data.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..periods import make_period
from ..publication import summary
from ..quality import benchmarks
from ..quality.indicators import INDICATORS
from ..render.charts import AF_CATEGORICAL, GOVUK_GREY, GOVUK_RED, figure
from ..render.templating import render
from ..store.results import load_or_compute
from ..writers import round_half_up

STATUS_COLOURS = {"At risk": GOVUK_RED, "Needs improvement": AF_CATEGORICAL[3], "On track": "#0f7a52",
                  "For discussion": AF_CATEGORICAL[0], "No data": GOVUK_GREY}


def previous_period(pr) -> tuple[str, str] | None:
    """The latest return before this one in the data (the previous published period)."""
    here = make_period(pr.meta["year"], pr.meta["return"])
    earlier = [make_period(y, r) for y, r in zip(pr.all_periods["year"], pr.all_periods["return"])]
    earlier = [p for p in earlier if p < here]
    return (max(earlier).year.code, max(earlier).return_code) if earlier else None


def load(data_dir: str, year: str, return_code: str, thresholds: str = "quality-framework-2023",
         results_dir: str | None = None) -> summary.Summary:
    """The period's summary, compared with the previous period in the data."""
    pr = load_or_compute(data_dir, year, return_code, thresholds, results_dir)
    prev = previous_period(pr)
    prev_pr = load_or_compute(data_dir, prev[0], prev[1], thresholds, results_dir) if prev else None
    return summary.build(pr, prev_pr)


def cover(s: summary.Summary, run_date: str) -> str:
    return render("summary_cover.html.j2", s=s, meta=s.pr.meta, run_date=run_date, final=summary.final(s.pr),
                  title=s.params.publication.title)


def headline(s: summary.Summary) -> str:
    return render("summary_headline.html.j2", s=s, lines=s.commentary, revisions=s.revisions, meta=s.pr.meta,
                  chart=status_chart(s))


def status_chart(s: summary.Summary) -> str:
    st = s.raw["agencies_by_status"]
    st = st[st["status"] != "Total"]
    rows = [{"indicator": i.title, "status": r["status"], "agencies": int(r[f"agencies_{i.id}"])}
            for i in INDICATORS for r in st.to_dict("records") if pd.notna(r[f"agencies_{i.id}"])]
    long = pd.DataFrame(rows)
    order = [i.title for i in INDICATORS]
    bars = alt.Chart(long).mark_bar().encode(
        y=alt.Y("indicator:N", sort=order, title=None),
        x=alt.X("agencies:Q", title="Agencies", stack="zero"),
        color=alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                        legend=alt.Legend(title=None, orient="top")),
        order=alt.Order("status:N"),
    ).properties(width=600, height=170)
    desc = "; ".join(f"{ind}: " + ", ".join(f"{r.agencies} {r.status.lower()}" for r in g.itertuples() if r.agencies)
                     for ind, g in long.groupby("indicator", sort=False))
    return figure(bars, "summary-status", "Agencies by status and indicator", desc + ".")


def indicators(s: summary.Summary) -> str:
    dist = s.raw["distribution"]
    table = s.tables["fjaa_agencies_by_status"]
    heads = [i.title for i in INDICATORS]
    rows = [{"status": r["status"], "cells": [(r[f"agencies_{i.id}"], r[f"apprentices_{i.id}"]) for i in INDICATORS]}
            for r in table.to_dict("records")]
    return render("summary_indicators.html.j2", dist=dist.to_dict("records"), heads=heads, status=rows, s=s)


def by_route_and_region(s: summary.Summary) -> str:
    """The rates by route (each beside the national rate of the same route, as the packs show it) and region."""
    route = s.tables["fjaa_rates_by_route"].copy()
    nat = [benchmarks.national_rate(s.pr.national, s.pr.meta["year"], *(("all", "") if r == "Total" else ("route", r)))
           for r in route["route"]]
    route["national"] = ["–" if n["value"] is None else f"{round_half_up(n['value'], 1)}" for n in nat]
    route["national_label"] = [n["label"] for n in nat]
    region = s.tables["fjaa_rates_by_region"].copy()
    region["name"] = [r if r else "England (all regions)" for r in region["region_name"]]
    return render("summary_rates.html.j2", route=route.to_dict("records"), region=region.to_dict("records"), s=s)


def about(s: summary.Summary) -> str:
    d = s.params.disclosure
    return render("summary_about.html.j2", s=s, d=d, meta=s.pr.meta, files=sorted(s.tables))
