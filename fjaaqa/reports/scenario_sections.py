"""Sections of the threshold-scenarios report (``notebooks/threshold_scenarios.ipynb``), each an HTML fragment.

The notebook only displays these. A report compares one base threshold set
with one alternative over the stored measurements of one period.
"""

from __future__ import annotations

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

# The sweeps the report draws: the share thresholds a policy team moves most.
SWEEPS = [("withdrawals", "at_risk_above", range(0, 101)), ("withdrawals", "needs_improvement_above", range(0, 101)),
          ("achievement_rate", "at_risk_below", range(0, 101)),
          ("achievement_rate", "needs_improvement_below", range(0, 101)),
          ("breaks_in_learning", "at_risk_share_above", range(0, 101)),
          ("past_planned_end_date", "at_risk_share_above", range(0, 101))]


@dataclass
class Comparison:
    """A base and an alternative set over one period's stored measurements."""

    pr: PackResults
    base: ThresholdSet
    alt: ThresholdSet
    base_res: pd.DataFrame
    alt_res: pd.DataFrame
    trans: pd.DataFrame


def compare(data_dir: str, year: str, return_code: str, base: str, alt: str,
            results_dir: str | None = None) -> Comparison:
    """Load the stored measurements once and classify them under both sets."""
    b, a = load_thresholds(base), load_thresholds(alt)
    pr = load_or_compute(data_dir, year, return_code, b, results_dir)
    br, ar = scenarios.classify(pr, b), scenarios.classify(pr, a)
    return Comparison(pr, b, a, br, ar, scenarios.transitions(br, ar))


def differences(base: ThresholdSet, alt: ThresholdSet) -> list[dict]:
    """Every threshold or reading whose value differs between the two sets."""
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            key = f"{prefix}{k}"
            out.update(flat(v, key + ".") if isinstance(v, dict) else {key: v})
        return out

    a = flat(base.model_dump(mode="json", include={"indicators", "readings"}))
    b = flat(alt.model_dump(mode="json", include={"indicators", "readings"}))
    return [{"key": k, "base": a.get(k), "alt": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def cover(c: Comparison, run_date: str) -> str:
    return render("scenarios_cover.html.j2", c=c, meta=c.pr.meta, run_date=run_date,
                  diffs=differences(c.base, c.alt), agencies=len(c.pr.agencies))


def transitions(c: Comparison) -> str:
    """Per indicator: status before and after, in agencies and in apprentices; who moved."""
    blocks = []
    moved = scenarios.moved(c.base_res, c.alt_res)
    for ind in INDICATORS:
        if ind.id == "outside_approved_areas":
            continue
        mats = {w: scenarios.matrix(c.trans, ind.id, w) for w in ("agencies", "apprentices")}
        rows = moved[moved["indicator"] == ind.id].sort_values(["status_base", "agency_id"])
        blocks.append({"ind": ind, "labels": [STATUS_LABELS[s] for s in mats["agencies"].columns],
                       "agencies": mats["agencies"], "apprentices": mats["apprentices"],
                       "moved": [{"agency": r.agency_id, "value": r.value_base,
                                  "base": STATUS_LABELS[r.status_base], "alt": STATUS_LABELS[r.status_alt]}
                                 for r in rows.itertuples()],
                       "n_moved": len(rows)})
    return render("scenarios_transitions.html.j2", blocks=blocks, c=c, status_labels=STATUS_LABELS)


def interventions(c: Comparison) -> str:
    changes = scenarios.intervention_changes(c.pr, c.base_res, c.alt_res)
    return render("scenarios_interventions.html.j2", changes=changes, c=c)


def nearest(c: Comparison, n: int = 5) -> str:
    near = scenarios.nearest(c.base_res, c.base, n)
    blocks = [{"title": BY_ID[i].title, "rows": near[near["indicator"] == i].to_dict("records")}
              for i in scenarios.SCORED]
    return render("scenarios_nearest.html.j2", blocks=blocks, c=c, status_labels=STATUS_LABELS)


def sweep_chart(data: pd.DataFrame, label: str, base_value: float, alt_value: float,
                national: dict | None = None) -> alt.LayerChart:
    """Share of agencies at risk and needing improvement as one threshold moves; base and alternative marked.

    ``national`` (achievement-rate thresholds) marks the national rate the
    packs compare with, so a threshold can be read against it.
    """
    long = data.melt(id_vars=["value"], value_vars=["at_risk", "needs_improvement"], var_name="status",
                     value_name="share")
    long["status"] = long["status"].map({"at_risk": "At risk", "needs_improvement": "Needs improvement"})
    lines = alt.Chart(long).mark_line(strokeWidth=2.5).encode(
        x=alt.X("value:Q", title=label, scale=alt.Scale(domain=[0, 100])),
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
    rules = alt.Chart(marks).mark_rule(color="#0b0c0c", strokeDash=[2, 2]).encode(x="value:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=4, dy=-4, fontSize=11).encode(
        x="value:Q", y=alt.value(10), text="label:N")
    return alt.layer(lines, rules, text).properties(width=640, height=220)


def sweeps(c: Comparison) -> str:
    """One chart per swept threshold, with a text summary for screen readers and print."""
    figs = []
    for indicator, field, values in SWEEPS:
        data = scenarios.sweep(c.pr, c.base, indicator, field, values)
        label = scenarios.SWEEPABLE[(indicator, field)]
        b = getattr(getattr(c.base.indicators, indicator), field)
        a = getattr(getattr(c.alt.indicators, indicator), field)
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
    return render("scenarios_sweeps.html.j2", figures=figs, c=c)


def _share(row: pd.DataFrame, col: str) -> str:
    return f"{row[col].iloc[0]:.0f}%" if len(row) else "not valid in this set"
