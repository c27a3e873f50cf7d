"""Sections of the threshold-scenario reports, each an HTML fragment.

Two notebooks only display these: ``scenario_overview.ipynb`` (the base
against every alternative of a run, read first) and
``threshold_scenarios.ipynb`` (the base against one alternative, in
detail). Both classify the same stored measurements of one period; sets are
named by their human titles, and their file names appear only as ids.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import altair as alt
import pandas as pd

from ..quality import benchmarks, scenarios
from ..quality.indicators import BY_ID, INDICATORS, STATUS_LABELS
from ..quality.results import PackResults
from ..quality.thresholds import ThresholdSet, load_thresholds
from ..render.charts import AF_CATEGORICAL, GOVUK_RED, figure
from ..render.templating import render
from ..store.results import load_or_compute
from .registry import kind


@dataclass
class Comparison:
    """A base and an alternative set over one period's stored measurements."""

    pr: PackResults
    base: ThresholdSet
    alt: ThresholdSet
    base_res: pd.DataFrame
    alt_res: pd.DataFrame
    trans: pd.DataFrame

    @property
    def moves_anyone(self) -> bool:
        """Does any agency change status? If not, the report is its cover alone."""
        return bool(len(scenarios.moved(self.base_res, self.alt_res)))


@dataclass
class Overview:
    """A base and every alternative of a run over one period's stored measurements."""

    pr: PackResults
    base: ThresholdSet
    alts: list[ThresholdSet]
    base_res: pd.DataFrame
    alt_res: dict[str, pd.DataFrame]  # by the alternative's name


def compare(data_dir: str, year: str, return_code: str, base: str, alt: str,
            results_dir: str | None = None) -> Comparison:
    """Load the stored measurements once and classify them under both sets."""
    b, a = load_thresholds(base), load_thresholds(alt)
    pr = load_or_compute(data_dir, year, return_code, b, results_dir)
    br, ar = scenarios.classify(pr, b), scenarios.classify(pr, a)
    return Comparison(pr, b, a, br, ar, scenarios.transitions(br, ar))


def compare_all(data_dir: str, year: str, return_code: str, base: str, alts: list[str],
                results_dir: str | None = None) -> Overview:
    """Load the stored measurements once and classify them under the base and each alternative."""
    b = load_thresholds(base)
    sets = [load_thresholds(a) for a in alts]
    pr = load_or_compute(data_dir, year, return_code, b, results_dir)
    return Overview(pr, b, sets, scenarios.classify(pr, b), {a.name: scenarios.classify(pr, a) for a in sets})


def title(t: ThresholdSet) -> str:
    """A set as people know it: its title, or its name when the file gives none."""
    return t.title or t.name


def _href(from_kind: str, to_kind: str, **fields) -> str:
    """The relative link between two scenario outputs of one period, from the registry's paths."""
    period = {"year": "y", "return_code": "r"}
    here = kind(from_kind).path.format(**period, **fields)
    there = kind(to_kind).path.format(**period, **fields)
    return posixpath.relpath(there, posixpath.dirname(here))


def _headlines(base_res: pd.DataFrame, alt_res: pd.DataFrame) -> dict:
    """The sentences that open a comparison: at risk, needs improvement, and how many move at all."""
    ar = scenarios.headline(base_res, alt_res, scenarios.AT_RISK)
    ni = scenarios.headline(base_res, alt_res, scenarios.NEEDS_IMPROVEMENT)
    return {"at_risk": scenarios.headline_words(ar), "needs_improvement": scenarios.headline_words(ni),
            "moved": scenarios.moved_words(ar), "n_moved": ar.moved}


# ------------------------------------------------------------------ the overview

def _count_rows(o: Overview, what: str) -> list[dict]:
    """One row per indicator and status: the base's count, then each alternative's with its change."""
    base = scenarios.status_counts(o.base_res)
    alts = [scenarios.status_counts(o.alt_res[a.name]) for a in o.alts]
    return [{"indicator": ("Any indicator (most serious status)" if r.indicator == scenarios.ANY
                           else BY_ID[r.indicator].title),
             "first": r.status == scenarios.SERIOUS[0], "status": r.status, "base": int(getattr(r, what)),
             "alts": [{"value": int(a.loc[i, what]), "change": _signed(int(a.loc[i, what]) - int(getattr(r, what)))}
                      for a in alts]}
            for i, r in zip(base.index, base.itertuples())]


def _signed(n: int) -> str:
    """A change from the base as a statistics table writes it: +6, −2 (a minus sign), ±0."""
    return "±0" if n == 0 else f"{'+' if n > 0 else '−'}{abs(n):,}"


def _value(v) -> str:
    """A setting's value in words: yes or no for a switch, 35 for 35.0, a list joined."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return "–" if v is None else str(v)


def _movers(o: Overview) -> list[dict]:
    """Agencies whose status changes under at least one alternative, with each change in words."""
    changes: dict[str, dict] = {}
    for a in o.alts:
        mv = scenarios.moved(o.base_res, o.alt_res[a.name]).sort_values(["agency_id", "indicator"])
        for r in mv.itertuples():
            row = changes.setdefault(r.agency_id, {"agency": r.agency_id, "apprentices": int(r.apprentices),
                                                   "cells": {x.name: [] for x in o.alts}})
            row["cells"][a.name].append(f"{BY_ID[r.indicator].title}: {STATUS_LABELS[r.status_base].lower()} → "
                                        f"{STATUS_LABELS[r.status_alt].lower()}")
    return [dict(row, cells=[row["cells"][a.name] for a in o.alts]) for _, row in sorted(changes.items())]


def _settings(o: Overview) -> list[dict]:
    """Every setting that differs from the base in at least one alternative, with each set's value."""
    by_key: dict[str, dict] = {}
    for i, a in enumerate(o.alts):
        for d in scenarios.differences(o.base, a):
            by_key.setdefault(d["key"], {"words": d["words"], "base": d["base"], "applied": d["applied"],
                                         "alts": [None] * len(o.alts)})
            by_key[d["key"]]["alts"][i] = d["alt"]
    return [dict(row, base=_value(row["base"]),
                 alts=[{"value": _value(row["base"] if v is None else v), "differs": v is not None}
                       for v in row["alts"]])
            for _, row in sorted(by_key.items())]


def overview(o: Overview, run_date: str) -> str:
    """The overview: a headline per alternative, then agencies and apprentices by status under every set."""
    alts = [{"set": a, "title": title(a), "href": _href("scenario_overview", "scenarios", base=o.base.name,
                                                          alt=a.name),
             **_headlines(o.base_res, o.alt_res[a.name])} for a in o.alts]
    return render("scenarios_overview.html.j2", o=o, meta=o.pr.meta, run_date=run_date, alts=alts,
                  base_title=title(o.base), agencies=len(o.pr.agencies), agency_rows=_count_rows(o, "agencies"),
                  apprentice_rows=_count_rows(o, "apprentices"), movers=_movers(o), settings=_settings(o),
                  status_labels=STATUS_LABELS)


# ------------------------------------------------------------------ one alternative

def cover(c: Comparison, run_date: str) -> str:
    """The detail report's first page; when nobody moves it is the whole report and says so."""
    return render("scenarios_cover.html.j2", c=c, meta=c.pr.meta, run_date=run_date,
                  diffs=[dict(d, base=_value(d["base"]), alt=_value(d["alt"]))
                         for d in scenarios.differences(c.base, c.alt)], agencies=len(c.pr.agencies),
                  base_title=title(c.base), alt_title=title(c.alt), head=_headlines(c.base_res, c.alt_res),
                  overview_href=_href("scenarios", "scenario_overview", base=c.base.name, alt=c.alt.name),
                  sweeps=bool(scenarios.swept_settings(c.base, c.alt)))


def transitions(c: Comparison) -> str:
    """Per indicator on which someone moves: status before and after, in agencies and apprentices; who moved."""
    if not c.moves_anyone:
        return ""
    blocks, still = [], []
    moved = scenarios.moved(c.base_res, c.alt_res)
    for ind in INDICATORS:
        if ind.id == "outside_approved_areas":
            continue
        rows = moved[moved["indicator"] == ind.id].sort_values(["status_base", "agency_id"])
        if not len(rows):
            still.append(ind.title)
            continue
        mats = {w: scenarios.matrix(c.trans, ind.id, w) for w in ("agencies", "apprentices")}
        blocks.append({"ind": ind, "labels": [STATUS_LABELS[s] for s in mats["agencies"].columns],
                       "agencies": mats["agencies"], "apprentices": mats["apprentices"],
                       "moved": [{"agency": r.agency_id, "value": r.value_base, "apprentices": r.apprentices,
                                  "base": STATUS_LABELS[r.status_base], "alt": STATUS_LABELS[r.status_alt]}
                                 for r in rows.itertuples()],
                       "n_moved": len(rows)})
    return render("scenarios_transitions.html.j2", blocks=blocks, still=still, c=c, base_title=title(c.base),
                  alt_title=title(c.alt), status_labels=STATUS_LABELS)


def interventions(c: Comparison) -> str:
    if not c.moves_anyone:
        return ""
    changes = scenarios.intervention_changes(c.pr, c.base_res, c.alt_res)
    return render("scenarios_interventions.html.j2", changes=changes, c=c, base_title=title(c.base),
                  alt_title=title(c.alt))


def nearest(c: Comparison | Overview, n: int = 5) -> str:
    """Under the base: the agencies closest to a status change, each against the threshold that matters to it."""
    near = scenarios.nearest(c.base_res, c.base, n)
    blocks = [{"title": BY_ID[i].title,
               "rows": near[near["indicator"] == i].to_dict("records") if len(near) else []}
              for i in scenarios.SCORED]
    return render("scenarios_nearest.html.j2", blocks=blocks, base_title=title(c.base), status_labels=STATUS_LABELS)


def sweep_chart(data: pd.DataFrame, label: str, base_value: float, alt_value: float,
                national: dict | None = None) -> alt.LayerChart:
    """Share of agencies at risk and needing improvement as one threshold moves; base and alternative marked.

    ``national`` (achievement-rate thresholds) marks the national rate the
    packs compare with, so a threshold can be read against it. The marks'
    labels sit on separate lines so that close values stay legible.
    """
    long = data.melt(id_vars=["value"], value_vars=["at_risk", "needs_improvement"], var_name="status",
                     value_name="share")
    long["status"] = long["status"].map({"at_risk": "At risk", "needs_improvement": "Needs improvement"})
    top = max(100.0, float(data["value"].max())) if len(data) else 100.0
    lines = alt.Chart(long).mark_line(strokeWidth=2.5).encode(
        x=alt.X("value:Q", title=label, scale=alt.Scale(domain=[0, top])),
        y=alt.Y("share:Q", title="Agencies (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("status:N", scale=alt.Scale(domain=["At risk", "Needs improvement"],
                                                    range=[GOVUK_RED, AF_CATEGORICAL[3]]),
                        legend=alt.Legend(title=None, orient="top")),
        strokeDash=alt.StrokeDash("status:N", scale=alt.Scale(domain=["At risk", "Needs improvement"],
                                                              range=[[1, 0], [6, 3]]), legend=None),
    )
    marks = pd.DataFrame([{"value": base_value, "label": f"base {base_value:g}"},
                          {"value": alt_value, "label": f"alternative {alt_value:g}"}]
                         + ([{"value": national["value"], "label": f"national {national['value']:.1f} "
                              f"({national['year']})"}] if national and national["value"] is not None else [])
                         ).drop_duplicates("value")
    marks["y"] = [10 + 14 * i for i in range(len(marks))]
    rules = alt.Chart(marks).mark_rule(color="#0b0c0c", strokeDash=[2, 2]).encode(x="value:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=4, fontSize=11).encode(
        x="value:Q", y=alt.Y("y:Q", scale=None), text="label:N")
    return alt.layer(lines, rules, text).properties(width=640, height=220)


def sweeps(c: Comparison) -> str:
    """One chart per threshold the two sets set differently, with a text summary for screen readers and print."""
    if not c.moves_anyone:
        return ""
    figs = []
    swept = scenarios.swept_settings(c.base, c.alt)
    unswept = [d["words"] for d in scenarios.differences(c.base, c.alt)
               if tuple(d["key"].split(".")[1:]) not in swept]
    for indicator, field in swept:
        b = getattr(getattr(c.base.indicators, indicator), field)
        a = getattr(getattr(c.alt.indicators, indicator), field)
        data = scenarios.sweep(c.pr, c.base, indicator, field, scenarios.sweep_values(field, b, a))
        label = scenarios.SWEEPABLE[(indicator, field)]
        at_b = data.loc[data["value"] == float(b)]
        at_a = data.loc[data["value"] == float(a)]
        desc = (f"Share of {len(c.pr.agencies)} agencies at risk and needing improvement as the threshold moves "
                f"from {data['value'].min():g} to {data['value'].max():g}. At the base value {b:g}: "
                f"{_share(at_b, 'at_risk')} at risk, {_share(at_b, 'needs_improvement')} needing improvement; at the "
                f"alternative {a:g}: {_share(at_a, 'at_risk')} at risk, {_share(at_a, 'needs_improvement')} "
                "needing improvement.")
        nat = None
        if indicator == "achievement_rate":
            nat = benchmarks.national_rate(c.pr.national, c.pr.meta["year"])
            if nat["value"] is not None:
                desc += f" The national achievement rate ({nat['label']}) is {nat['value']:.1f}%."
        figs.append(figure(sweep_chart(data, label, float(b), float(a), nat), f"sweep-{indicator}-{field}",
                           label, desc))
    return render("scenarios_sweeps.html.j2", figures=figs, unswept=unswept, c=c, base_title=title(c.base))


def _share(row: pd.DataFrame, col: str) -> str:
    return f"{row[col].iloc[0]:.0f}%" if len(row) else "not valid with the base's other thresholds"
