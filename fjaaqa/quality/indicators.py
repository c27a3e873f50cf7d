"""The five Quality Framework indicators: count, then classify.

Each indicator is data (:class:`Indicator`: id, title, what it counts) plus
two small functions: ``count`` turns measured units (apprentices, or aims for
the achievement rate) into 0/1 contributions, and ``classify`` turns summed
contributions into value, status, threshold and distance. Every indicator
returns the same row shape, whether for an agency or a breakdown group.

Statuses are judged on unrounded values with exact fractions, so exactly
35 % is 35 %, never 35.000000001 %.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import pandas as pd

from .thresholds import ThresholdSet

AT_RISK = "at_risk"
NEEDS_IMPROVEMENT = "needs_improvement"
ON_TRACK = "on_track"
FOR_DISCUSSION = "for_discussion"
NO_DATA = "no_data"
ONE_OFF = "a one-off to watch"  # outside approved areas above the share, in fewer returns than make it routine
STATUS_LABELS = {
    AT_RISK: "At risk",
    NEEDS_IMPROVEMENT: "Needs improvement",
    ON_TRACK: "On track",
    FOR_DISCUSSION: "For discussion",
    NO_DATA: "No data",
}
STATUSES = list(STATUS_LABELS)

DIMENSIONS = {
    "route": "Route",
    "standard": "Standard",
    "provider": "Training provider",
    "host_employer": "Host employer",
    "start_cohort": "Start cohort",
    "age_band": "Age at start",
    "epa_org": "End-point assessment organisation",
}

RESULT_COLUMNS = ["numerator", "denominator", "value", "status", "threshold", "distance", "measure"]


def share_above(n: int, d: int, threshold: float) -> bool:
    """Is n/d, as a percentage, strictly above the threshold? Exact arithmetic."""
    return Fraction(int(n) * 100, int(d)) > Fraction(str(threshold))


def share_below(n: int, d: int, threshold: float) -> bool:
    """Is n/d, as a percentage, strictly below the threshold? Exact arithmetic."""
    return Fraction(int(n) * 100, int(d)) < Fraction(str(threshold))


def pct(n, d) -> float:
    return float(n) * 100.0 / float(d) if d else float("nan")


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    unit: str  # what the denominator counts
    uses: str  # "apprentices" or "aims"
    count: Callable[[pd.DataFrame, ThresholdSet], pd.DataFrame]
    classify: Callable[[Mapping, ThresholdSet], dict]


# ---------------------------------------------------------------- withdrawals

def count_withdrawals(app: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Denominator: total apprentices (live in the year); numerator: withdrawn in the year."""
    live = app["live"].astype(bool)
    return pd.DataFrame({"denominator": live.astype(int),
                         "numerator": (live & app["withdrawn_in_year"].astype(bool)).astype(int)}, index=app.index)


def _two_thresholds(n: int, d: int, at_risk: float, needs_improvement: float, worse, measure: str) -> dict:
    """Status from an at-risk and a needs-improvement threshold; ``worse`` says which side fails.

    ``worse`` is :func:`share_above` (higher is worse) or :func:`share_below`
    (lower is worse); distance is signed so that positive is the failing side.
    """
    value = pct(n, d)
    if worse(n, d, at_risk):
        status, thr = AT_RISK, at_risk
    elif worse(n, d, needs_improvement):
        status, thr = NEEDS_IMPROVEMENT, needs_improvement
    else:
        status, thr = ON_TRACK, needs_improvement
    distance = value - thr if worse is share_above else thr - value
    return _result(n, d, value, status, thr, distance, measure)


def classify_withdrawals(c: Mapping, t: ThresholdSet) -> dict:
    th = t.indicators.withdrawals
    n, d = int(c["numerator"]), int(c["denominator"])
    if d == 0:
        return _no_data(th.needs_improvement_above, "no apprentices in the year")
    return _two_thresholds(n, d, th.at_risk_above, th.needs_improvement_above, share_above, "withdrawn in the year")


# ---------------------------------------------------------- achievement rate

def count_achievement(aims: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Denominator: leavers in the review year; numerator: achievers; completers kept for retention."""
    return pd.DataFrame({"denominator": aims["leaver"].astype(int), "numerator": aims["achiever"].astype(int),
                         "completers": aims["completer"].astype(int)}, index=aims.index)


def classify_achievement(c: Mapping, t: ThresholdSet) -> dict:
    th = t.indicators.achievement_rate
    n, d = int(c["numerator"]), int(c["denominator"])
    if d == 0:
        return _no_data(th.needs_improvement_below, "no leavers in the year")
    out = _two_thresholds(n, d, th.at_risk_below, th.needs_improvement_below, share_below, "achievers of leavers")
    comp = int(c.get("completers", 0))
    out["retention_rate"] = pct(comp, d)
    out["pass_rate"] = pct(n, comp) if comp else float("nan")
    return out


# ------------------------------------------- breaks and past planned end date

def _band_counts(days: pd.Series, live: pd.Series, th) -> pd.DataFrame:
    """0/1 per apprentice: in the at-risk band, in the needs-improvement band (per ``banding``)."""
    ar = days >= th.at_risk_days
    if th.banding == "cumulative":
        ni = days >= th.needs_improvement_days
    else:
        ni = (days >= th.needs_improvement_days) & (days < th.at_risk_days)
    live = live.astype(bool)
    return pd.DataFrame({"denominator": live.astype(int), "n_at_risk_band": (live & ar.fillna(False)).astype(int),
                         "n_needs_improvement_band": (live & ni.fillna(False)).astype(int)}, index=days.index)


def count_breaks(app: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Apprentices on a break not yet returned from, banded by days since the break began."""
    return _band_counts(app["days_on_break"], app["live"], t.indicators.breaks_in_learning)


def count_past_planned_end(app: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Apprentices still in learning past their planned end date, banded by days past.

    With ``include_completed_late`` those who completed late in the year
    count too, by how late they completed.
    """
    th = t.indicators.past_planned_end_date
    days = app["days_past_planned_end"]
    if th.include_completed_late:
        days = days.where(days.notna(), app["completed_late_days"])
    return _band_counts(days, app["live"], th)


def _band_label(days_from: int, days_to: int | None) -> str:
    return f"{days_from} days or more" if days_to is None else f"{days_from} to {days_to - 1} days"


def _classify_banded(c: Mapping, th, what: str) -> dict:
    d = int(c["denominator"])
    n_ar, n_ni = int(c["n_at_risk_band"]), int(c["n_needs_improvement_band"])
    ni_label = (_band_label(th.needs_improvement_days, None) if th.banding == "cumulative"
                else _band_label(th.needs_improvement_days, th.at_risk_days))
    ar_label = _band_label(th.at_risk_days, None)
    if d == 0:
        out = _no_data(th.at_risk_share_above, "no apprentices in the year")
    elif share_above(n_ar, d, th.at_risk_share_above):
        out = _result(n_ar, d, pct(n_ar, d), AT_RISK, th.at_risk_share_above,
                      pct(n_ar, d) - th.at_risk_share_above, f"{what} {ar_label}")
    elif share_above(n_ni, d, th.needs_improvement_share_above):
        out = _result(n_ni, d, pct(n_ni, d), NEEDS_IMPROVEMENT, th.needs_improvement_share_above,
                      pct(n_ni, d) - th.needs_improvement_share_above, f"{what} {ni_label}")
    else:
        # On track: report the band nearest its threshold (ties: the at-risk band).
        m_ar = pct(n_ar, d) - th.at_risk_share_above
        m_ni = pct(n_ni, d) - th.needs_improvement_share_above
        if m_ar >= m_ni:
            out = _result(n_ar, d, pct(n_ar, d), ON_TRACK, th.at_risk_share_above, m_ar, f"{what} {ar_label}")
        else:
            out = _result(n_ni, d, pct(n_ni, d), ON_TRACK, th.needs_improvement_share_above, m_ni,
                          f"{what} {ni_label}")
    out["n_at_risk_band"] = n_ar
    out["n_needs_improvement_band"] = n_ni
    out["share_at_risk_band"] = pct(n_ar, d)
    out["share_needs_improvement_band"] = pct(n_ni, d)
    return out


def classify_breaks(c: Mapping, t: ThresholdSet) -> dict:
    return _classify_banded(c, t.indicators.breaks_in_learning, "on a break of")


def classify_past_planned_end(c: Mapping, t: ThresholdSet) -> dict:
    return _classify_banded(c, t.indicators.past_planned_end_date, "past planned end by")


# ------------------------------------------------- outside approved areas

def count_outside(app: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Apprentices whose sector or workplace region is outside the approvals in force."""
    live = app["live"].astype(bool)
    return pd.DataFrame({
        "denominator": live.astype(int),
        "numerator": (live & app["outside"].astype(bool)).astype(int),
        "approvals_known": (live & app["approvals_known"].astype(bool)).astype(int),
        "region_unknown": (live & (app["region"] == "Unknown")).astype(int),
        "route_unknown": (live & (app["route"] == "Unknown")).astype(int),
    }, index=app.index)


def classify_outside(c: Mapping, t: ThresholdSet) -> dict:
    th = t.indicators.outside_approved_areas
    n, d = int(c["numerator"]), int(c["denominator"])
    if d == 0:
        return _no_data(th.for_discussion_share_above, "no apprentices in the year")
    if int(c.get("approvals_known", d)) == 0:
        return _no_data(th.for_discussion_share_above, "approved sectors and regions not available")
    value = pct(n, d)
    above = share_above(n, d, th.for_discussion_share_above)
    # Several returns in a row may be required ("routinely"); the engine
    # passes how many earlier consecutive returns were also above.
    run = int(c.get("earlier_returns_above", th.consecutive_returns - 1)) + 1 if above else 0
    status = FOR_DISCUSSION if above and run >= th.consecutive_returns else ON_TRACK
    out = _result(n, d, value, status, th.for_discussion_share_above, value - th.for_discussion_share_above,
                  "outside approved sectors or regions")
    notes = []
    if above and status == ON_TRACK:  # above, but not yet "routinely": a one-off to watch
        notes.append(f"{ONE_OFF}: above in {run} return{'s' if run > 1 else ''} in a row of the "
                     f"{th.consecutive_returns} that make it routine")
    if int(c.get("region_unknown", 0)):
        notes.append(f"{int(c['region_unknown'])} with workplace region unknown")
    if int(c.get("route_unknown", 0)):
        notes.append(f"{int(c['route_unknown'])} with standard not in the reference table")
    out["note"] = "; ".join(notes)
    return out


# ------------------------------------------------------------------ shared

def _result(n, d, value, status, threshold, distance, measure) -> dict:
    return {"numerator": int(n), "denominator": int(d), "value": float(value), "status": status,
            "threshold": float(threshold), "distance": float(distance), "measure": measure, "note": ""}


def _no_data(threshold, note) -> dict:
    return {"numerator": 0, "denominator": 0, "value": float("nan"), "status": NO_DATA,
            "threshold": float(threshold), "distance": float("nan"), "measure": "", "note": note}


INDICATORS: list[Indicator] = [
    Indicator("withdrawals", "Withdrawals", "apprentices", "apprentices", count_withdrawals, classify_withdrawals),
    Indicator("achievement_rate", "Achievement rate", "leavers", "aims", count_achievement, classify_achievement),
    Indicator("breaks_in_learning", "Breaks in learning", "apprentices", "apprentices", count_breaks,
              classify_breaks),
    Indicator("past_planned_end_date", "Past planned end date", "apprentices", "apprentices",
              count_past_planned_end, classify_past_planned_end),
    Indicator("outside_approved_areas", "Delivery outside approved areas", "apprentices", "apprentices",
              count_outside, classify_outside),
]
BY_ID = {i.id: i for i in INDICATORS}


def counts_by(units: pd.DataFrame, ind: Indicator, t: ThresholdSet, keys: list[str]) -> pd.DataFrame:
    """Sum an indicator's contributions over ``keys`` (e.g. agency, or agency and route)."""
    contrib = ind.count(units, t)
    for k in keys:
        contrib[k] = units[k].to_numpy()
    return contrib.groupby(keys, sort=True, dropna=False).sum(numeric_only=True).reset_index()


def classify_counts(counts: pd.DataFrame, ind: Indicator, t: ThresholdSet) -> pd.DataFrame:
    """Classify each row of summed counts; returns counts joined with the result columns."""
    rows = [ind.classify(r, t) for r in counts.to_dict("records")]  # plain dicts: iterrows is slow
    res = pd.DataFrame(rows, index=counts.index)
    keep = [c for c in counts.columns if c not in res.columns]
    out = pd.concat([counts[keep], res], axis=1)
    out.insert(0, "indicator", ind.id)
    return out
