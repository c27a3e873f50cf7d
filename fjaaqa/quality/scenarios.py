"""Threshold scenarios: who would move if the thresholds were different.

A scenario is a threshold set (``params/thresholds/*.yaml``, possibly a few
overrides on a base). Nothing is re-read or re-measured: each set only
re-counts and re-classifies the measurements already stored for every
agency (:func:`fjaaqa.store.results.load_or_compute`: one row per apprentice with its
day counts, one row per aim with leaver and achiever flags), so comparing
sets, or sweeping one threshold over a hundred values, takes a fraction of a
second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .indicators import (
    AT_RISK,
    BY_ID,
    INDICATORS,
    NEEDS_IMPROVEMENT,
    STATUS_LABELS,
    STATUSES,
    classify_counts,
    counts_by,
)
from .results import PackResults
from .thresholds import ThresholdSet

# The thresholds a sweep can move: (indicator, field) -> words for the chart.
SWEEPABLE = {
    ("withdrawals", "at_risk_above"): "Withdrawals: at risk above (%)",
    ("withdrawals", "needs_improvement_above"): "Withdrawals: needs improvement above (%)",
    ("achievement_rate", "at_risk_below"): "Achievement rate: at risk below (%)",
    ("achievement_rate", "needs_improvement_below"): "Achievement rate: needs improvement below (%)",
    ("breaks_in_learning", "at_risk_share_above"): "Breaks in learning: at risk share above (%)",
    ("breaks_in_learning", "needs_improvement_share_above"): "Breaks in learning: needs improvement share above (%)",
    ("breaks_in_learning", "at_risk_days"): "Breaks in learning: at-risk band from (days)",
    ("breaks_in_learning", "needs_improvement_days"): "Breaks in learning: needs-improvement band from (days)",
    ("past_planned_end_date", "at_risk_share_above"): "Past planned end: at risk share above (%)",
    ("past_planned_end_date", "needs_improvement_share_above"): "Past planned end: needs improvement share above (%)",
    ("past_planned_end_date", "at_risk_days"): "Past planned end: at-risk band from (days)",
    ("past_planned_end_date", "needs_improvement_days"): "Past planned end: needs-improvement band from (days)",
}
SCORED = [i.id for i in INDICATORS if i.id != "outside_approved_areas"]


def classify(pr: PackResults, t: ThresholdSet, indicators: list[str] | None = None) -> pd.DataFrame:
    """Every agency's status under threshold set ``t``, from the stored measurements.

    Returns ``agency_id, indicator, numerator, denominator, value, status,
    threshold, distance, apprentices`` (apprentices: the agency's total
    apprentices in the year, to count a transition in people as well as
    agencies). Outside approved areas keeps its stored status: its rule
    looks across returns and has no share thresholds to sweep here.
    """
    apprentices = pr.apprentices
    frames = []
    for ind in INDICATORS:
        if indicators and ind.id not in indicators:
            continue
        if ind.id == "outside_approved_areas":
            stored = pr.results[pr.results["indicator"] == ind.id]
            frames.append(stored[["agency_id", "indicator", "numerator", "denominator", "value", "status",
                                  "threshold", "distance"]])
            continue
        units = pr.aims if ind.uses == "aims" else apprentices
        counts = counts_by(units, ind, t, ["agency_id"])
        # agencies with no units still get a row (no data)
        counts = pr.agencies[["agency_id"]].merge(counts, on="agency_id", how="left").fillna(0)
        res = classify_counts(counts, ind, t)
        keep = ["agency_id", "indicator", "numerator", "denominator", "value", "status", "threshold", "distance"]
        keep += [c for c in ("share_at_risk_band", "share_needs_improvement_band") if c in res]
        frames.append(res[keep])
    out = pd.concat(frames, ignore_index=True)
    total = apprentices[apprentices["live"].astype(bool)].groupby("agency_id").size()
    out["apprentices"] = out["agency_id"].map(total).fillna(0).astype(int)
    return out.sort_values(["indicator", "agency_id"], kind="stable").reset_index(drop=True)


def transitions(base: pd.DataFrame, alt: pd.DataFrame) -> pd.DataFrame:
    """Per indicator, agencies and apprentices by status under the base (rows) and the alternative (columns)."""
    m = base[["agency_id", "indicator", "status", "apprentices"]].merge(
        alt[["agency_id", "indicator", "status"]], on=["agency_id", "indicator"], suffixes=("_base", "_alt"))
    g = m.groupby(["indicator", "status_base", "status_alt"], sort=False).agg(
        agencies=("agency_id", "size"), apprentices=("apprentices", "sum")).reset_index()
    order = {s: i for i, s in enumerate(STATUSES)}
    ind_order = {i.id: k for k, i in enumerate(INDICATORS)}
    g = g.sort_values(["indicator", "status_base", "status_alt"],
                      key=lambda s: s.map(ind_order) if s.name == "indicator" else s.map(order))
    return g.reset_index(drop=True)


def matrix(trans: pd.DataFrame, indicator: str, what: str = "agencies") -> pd.DataFrame:
    """One indicator's transition matrix (statuses that occur), base in rows, alternative in columns."""
    t = trans[trans["indicator"] == indicator]
    used = [s for s in STATUSES if s in set(t["status_base"]) | set(t["status_alt"])]
    mat = t.pivot_table(index="status_base", columns="status_alt", values=what, aggfunc="sum", fill_value=0)
    return mat.reindex(index=used, columns=used, fill_value=0).astype(int)


def moved(base: pd.DataFrame, alt: pd.DataFrame) -> pd.DataFrame:
    """Agencies whose status changes on some indicator, with both values and statuses."""
    m = base.merge(alt, on=["agency_id", "indicator"], suffixes=("_base", "_alt"))
    m = m[m["status_base"] != m["status_alt"]]
    return m[["agency_id", "indicator", "value_base", "status_base", "threshold_base", "status_alt",
              "threshold_alt", "apprentices_base"]].rename(columns={"apprentices_base": "apprentices"})


def nearest(res: pd.DataFrame, t: ThresholdSet, n: int = 5) -> pd.DataFrame:
    """The agencies closest to a status change on each indicator: smallest gap to either threshold (pp).

    For the banded indicators the gap is the smaller of each band's share
    against its own threshold. Adds ``gap`` and ``nearest`` (which threshold).
    """
    rows = []
    for r in res[res["indicator"].isin(SCORED)].to_dict("records"):
        th = getattr(t.indicators, r["indicator"])
        if r["indicator"] == "withdrawals":
            pairs = [(r["value"], th.at_risk_above, "at risk"), (r["value"], th.needs_improvement_above,
                                                                 "needs improvement")]
        elif r["indicator"] == "achievement_rate":
            pairs = [(r["value"], th.at_risk_below, "at risk"), (r["value"], th.needs_improvement_below,
                                                                "needs improvement")]
        else:
            pairs = [(r.get("share_at_risk_band"), th.at_risk_share_above, "at risk"),
                     (r.get("share_needs_improvement_band"), th.needs_improvement_share_above, "needs improvement")]
        pairs = [(v, thr, lab) for v, thr, lab in pairs if v is not None and pd.notna(v)]
        if not pairs:
            continue
        v, thr, lab = min(pairs, key=lambda x: abs(x[0] - x[1]))
        rows.append({**r, "gap": abs(v - thr), "nearest": lab, "nearest_threshold": thr, "band_value": v})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["indicator", "gap", "agency_id"], kind="stable").groupby("indicator", sort=False).head(n)


@dataclass
class SuggestionChange:
    agency_id: str
    base: list[str]
    alt: list[str]
    why: str


def intervention_changes(pr: PackResults, base_res: pd.DataFrame, alt_res: pd.DataFrame) -> list[SuggestionChange]:
    """Agencies whose suggested interventions differ between two sets, with the status changes behind it.

    The previous year's statuses and earlier reviews are the stored ones for
    both sets (the question is what this year's thresholds change).
    """
    from .review import Situation, suggest

    reviews = pr.reviews if "reviews" in pr.tables else pd.DataFrame()
    out = []
    for agency in pr.agencies["agency_id"]:
        def sit(res):
            cur = res[res["agency_id"] == agency].set_index("indicator")["status"].to_dict()
            prev_rows = pr.previous[pr.previous["agency_id"] == agency] if len(pr.previous) else pr.previous
            prev = prev_rows.set_index("indicator")["status"].to_dict() if len(prev_rows) else {}
            earlier = []
            if len(reviews) and "agency_id" in reviews:
                r = reviews[reviews["agency_id"] == agency].sort_values("review_date")
                earlier = [str(x) for x in r["intervention"]]
            return Situation(cur, prev, earlier, [])

        a = [s.text for s in suggest(sit(base_res))]
        b = [s.text for s in suggest(sit(alt_res))]
        if a != b:
            mv = moved(base_res[base_res["agency_id"] == agency], alt_res[alt_res["agency_id"] == agency])
            why = "; ".join(f"{BY_ID[r.indicator].title} {STATUS_LABELS[r.status_base].lower()} → "
                            f"{STATUS_LABELS[r.status_alt].lower()} ({r.value_base:.1f} %)" for r in mv.itertuples())
            out.append(SuggestionChange(agency, a, b, why))
    return out


def with_value(t: ThresholdSet, indicator: str, field: str, value) -> ThresholdSet | None:
    """``t`` with one threshold changed, or None when that would be invalid (at risk looser than needs improvement)."""
    from pydantic import ValidationError

    doc = t.model_dump(mode="json")
    doc["indicators"][indicator][field] = value
    try:
        return ThresholdSet.model_validate(doc)
    except ValidationError:
        return None


def sweep(pr: PackResults, t: ThresholdSet, indicator: str, field: str, values) -> pd.DataFrame:
    """Share of agencies at risk and needing improvement as one threshold takes each value.

    Only the classification is redone per value (share thresholds), or the
    day banding from stored day counts (day thresholds); values that would
    make the set invalid are skipped.
    """
    if (indicator, field) not in SWEEPABLE:
        raise KeyError(f"{indicator}.{field} cannot be swept")
    ind = BY_ID[indicator]
    units = pr.aims if ind.uses == "aims" else pr.apprentices
    agencies = pr.agencies[["agency_id"]]
    day_field = field.endswith("_days")
    counts = None if day_field else agencies.merge(counts_by(units, ind, t, ["agency_id"]), on="agency_id",
                                                    how="left").fillna(0)
    codes = pd.Categorical(units["agency_id"], categories=list(agencies["agency_id"])).codes
    rows = []
    for v in values:
        tv = with_value(t, indicator, field, v)
        if tv is None:
            continue
        if counts is not None:
            records = counts.to_dict("records")
        else:  # day bands move: re-count per agency with a bincount (no group-by per value)
            contrib = ind.count(units, tv)
            summed = {col: np.bincount(codes[codes >= 0], weights=contrib[col].to_numpy()[codes >= 0],
                                       minlength=len(agencies)) for col in contrib.columns}
            records = [{col: summed[col][i] for col in summed} for i in range(len(agencies))]
        status = [ind.classify(r, tv)["status"] for r in records]
        n = len(status)
        rows.append({"value": float(v), "at_risk": 100.0 * status.count(AT_RISK) / n if n else 0.0,
                     "needs_improvement": 100.0 * status.count(NEEDS_IMPROVEMENT) / n if n else 0.0,
                     "agencies": n})
    return pd.DataFrame(rows, columns=["value", "at_risk", "needs_improvement", "agencies"])
