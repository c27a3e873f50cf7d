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
    ON_TRACK,
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
ANY = "any"  # an agency's most serious status over the scored indicators, as one row of the overview
SERIOUS = [AT_RISK, NEEDS_IMPROVEMENT]  # the statuses a scenario overview counts
BAND_WORDS = {"breaks_in_learning": "on a break of", "past_planned_end_date": "past planned end by"}

# How a setting of a threshold set reads in a report (the key is the field's last part).
FIELD_WORDS = {
    "at_risk_above": "at risk above (%)",
    "needs_improvement_above": "needs improvement above (%)",
    "at_risk_below": "at risk below (%)",
    "needs_improvement_below": "needs improvement below (%)",
    "at_risk_share_above": "at risk: share above (%)",
    "needs_improvement_share_above": "needs improvement: share above (%)",
    "at_risk_days": "at-risk band from (days)",
    "needs_improvement_days": "needs-improvement band from (days)",
    "banding": "day bands (exclusive or cumulative)",
    "include_completed_late": "counts those who completed late",
    "for_discussion_share_above": "for discussion above (%)",
    "consecutive_returns": "returns in a row that make it routine",
    "approvals_as_at": "approvals in force at",
}


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


def differences(base: ThresholdSet, alt: ThresholdSet) -> list[dict]:
    """Every threshold or reading whose value differs between two sets: ``key``, ``words``, ``base``, ``alt``."""
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            key = f"{prefix}{k}"
            out.update(flat(v, key + ".") if isinstance(v, dict) else {key: v})
        return out

    a = flat(base.model_dump(mode="json", include={"indicators", "readings"}))
    b = flat(alt.model_dump(mode="json", include={"indicators", "readings"}))
    return [{"key": k, "words": setting_words(k), "base": a.get(k), "alt": b.get(k), "applied": applied(k)}
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def applied(key: str) -> bool:
    """Whether a scenario applies a setting: a threshold of a scored indicator, classified again from the store.

    Readings change what is measured, and delivery outside approved areas
    looks across returns; a scenario re-classifies stored measurements of
    one return, so for those it keeps the base's results and must say so
    rather than report that the setting moves nobody.
    """
    parts = key.split(".")
    return parts[0] == "indicators" and len(parts) == 3 and parts[1] in BY_ID and parts[1] != "outside_approved_areas"


def setting_words(key: str) -> str:
    """A setting's dotted key (``indicators.withdrawals.at_risk_above``) as a reader says it."""
    parts = key.split(".")
    if parts[0] == "indicators" and len(parts) == 3 and parts[1] in BY_ID:
        return f"{BY_ID[parts[1]].title}: {FIELD_WORDS.get(parts[2], parts[2].replace('_', ' '))}"
    return "Reading: " + " ".join(p.replace("_", " ") for p in parts[1:])


def swept_settings(base: ThresholdSet, alt: ThresholdSet) -> list[tuple[str, str]]:
    """The sweepable thresholds whose value differs between the sets, in :data:`SWEEPABLE` order.

    A sweep shows what moving one threshold does; one that both sets share
    says nothing about the alternative, so the report draws only these.
    """
    keys = {d["key"] for d in differences(base, alt)}
    return [(ind, field) for ind, field in SWEEPABLE if f"indicators.{ind}.{field}" in keys]


def sweep_values(field: str, base_value: float, alt_value: float) -> list[float]:
    """The values a sweep tries: every whole percentage, or about a hundred day counts up to twice the larger.

    Both sets' own values are always among them, so the chart's marks sit on its lines.
    """
    if field.endswith("_days"):  # whole days: a threshold set takes no fraction of one
        top = 2 * int(max(base_value, alt_value))
        return sorted(set(range(0, top + 1, max(1, top // 100))) | {top, int(base_value), int(alt_value)})
    return sorted({float(v) for v in range(0, 101)} | {float(base_value), float(alt_value)})


def most_serious(res: pd.DataFrame) -> pd.DataFrame:
    """One row per agency: its most serious status over the scored indicators, with its apprentices."""
    scored = res[res["indicator"].isin(SCORED)]
    rank = scored["status"].map({s: i for i, s in enumerate(SERIOUS)}).fillna(len(SERIOUS))
    worst = scored.assign(rank=rank).sort_values(["agency_id", "rank"], kind="stable").drop_duplicates("agency_id")
    return worst[["agency_id", "status", "apprentices"]].assign(indicator=ANY).reset_index(drop=True)


def status_counts(res: pd.DataFrame) -> pd.DataFrame:
    """Agencies, and their apprentices, at risk and needing improvement: on any indicator, then per indicator.

    "Any" counts each agency once, by its most serious status, so an agency
    at risk on one indicator and needing improvement on another is at risk.
    """
    rows = pd.concat([most_serious(res), res[res["indicator"].isin(SCORED)]], ignore_index=True)
    out = []
    for indicator in [ANY, *SCORED]:
        for status in SERIOUS:
            hit = rows[(rows["indicator"] == indicator) & (rows["status"] == status)]
            out.append({"indicator": indicator, "status": status, "agencies": len(hit),
                        "apprentices": int(hit["apprentices"].sum())})
    return pd.DataFrame(out)


def overview(base_name: str, base_res: pd.DataFrame, alts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Status counts under the base and each alternative (``set``), with each alternative's change from the base."""
    base = status_counts(base_res)
    frames = [base.assign(set=base_name, agencies_change=0, apprentices_change=0)]
    for name, res in alts.items():
        c = status_counts(res)
        frames.append(c.assign(set=name, agencies_change=c["agencies"] - base["agencies"],
                               apprentices_change=c["apprentices"] - base["apprentices"]))
    cols = ["set", "indicator", "status", "agencies", "apprentices", "agencies_change", "apprentices_change"]
    return pd.concat(frames, ignore_index=True)[cols]


@dataclass
class Headline:
    """How many agencies (and apprentices in them) hold a status, most serious first, under base and alternative."""

    status: str
    base_agencies: int
    alt_agencies: int
    base_apprentices: int
    alt_apprentices: int
    joined: int  # agencies with the status only under the alternative
    left: int  # agencies with the status only under the base
    moved: int  # agencies whose status changes on at least one indicator
    agencies: int  # all agencies of the period


def headline(base_res: pd.DataFrame, alt_res: pd.DataFrame, status: str = AT_RISK) -> Headline:
    """The headline of one alternative: who holds ``status`` as their most serious status, before and after."""
    b, a = most_serious(base_res), most_serious(alt_res)
    bs, as_ = b[b["status"] == status], a[a["status"] == status]
    joined = set(as_["agency_id"]) - set(bs["agency_id"])
    left = set(bs["agency_id"]) - set(as_["agency_id"])
    return Headline(status, len(bs), len(as_), int(bs["apprentices"].sum()), int(as_["apprentices"].sum()),
                    len(joined), len(left), moved(base_res, alt_res)["agency_id"].nunique(),
                    int(base_res["agency_id"].nunique()))


def _agencies(n: int) -> str:
    return f"{n:,} agenc{'y' if n == 1 else 'ies'}"


def headline_words(h: Headline) -> str:
    """The headline as a sentence: "At risk rises from 10 to 16 agencies; 556 more apprentices are in them"."""
    what = "At risk" if h.status == AT_RISK else "Needs improvement (as the most serious status)"
    where = "at-risk agencies" if h.status == AT_RISK else "agencies needing improvement"
    if h.alt_agencies != h.base_agencies:
        verb = "rises" if h.alt_agencies > h.base_agencies else "falls"
        count = f"{verb} from {h.base_agencies:,} to {_agencies(h.alt_agencies)}"
    else:
        count = f"stays at {_agencies(h.base_agencies)}"
        if h.joined:  # as many join as leave
            count += (f", though {h.joined:,} join{'s' if h.joined == 1 else ''} and {h.left:,} "
                      f"leave{'s' if h.left == 1 else ''}")
    d = h.alt_apprentices - h.base_apprentices
    if d:
        people = (f"{abs(d):,} {'more' if d > 0 else 'fewer'} apprentice{'' if abs(d) == 1 else 's'} "
                  f"{'is' if abs(d) == 1 else 'are'} in {where} ({h.base_apprentices:,} to {h.alt_apprentices:,})")
    else:
        people = f"the number of apprentices in {where} is unchanged ({h.base_apprentices:,})"
    return f"{what} {count}; {people}."


def moved_words(h: Headline) -> str:
    """How many agencies change status at all, the count a headline of one status can hide."""
    if not h.moved:
        return f"None of the {h.agencies:,} agencies changes status on any indicator."
    return (f"{_agencies(h.moved)} of {h.agencies:,} change{'s' if h.moved == 1 else ''} status on at least one "
            "indicator.")


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


def _crossings(r: dict, th, indicator: str) -> list[dict]:
    """The thresholds whose crossing would change this agency's status, the one that decided it first.

    The framework tests each status on its own measure (withdrawals and the
    achievement rate: one value against two thresholds; breaks and past
    planned end date: the share in each day band against that band's
    threshold). So an agency at risk can leave it only by crossing the
    at-risk threshold; one needing improvement by crossing either; one on
    track by crossing either (the at-risk one first on a tie, as the
    indicator's own on-track reading does). Each crossing says which status
    it leads to, judged the way the indicator judges it.
    """
    status = r["status"]
    if indicator in ("withdrawals", "achievement_rate"):
        above = indicator == "withdrawals"
        ar = (r["value"], th.at_risk_above if above else th.at_risk_below)
        ni = (r["value"], th.needs_improvement_above if above else th.needs_improvement_below)
        words = ("above", "above") if above else ("below", "below")
        ar_word, ni_word = f"at risk {words[0]}", f"needs improvement {words[1]}"
        # leaving at risk, the value sits at the at-risk threshold: still past needs improvement unless they coincide
        ar_down_ni = (th.at_risk_above > th.needs_improvement_above if above
                      else th.at_risk_below < th.needs_improvement_below)
    else:
        ar = (r.get("share_at_risk_band"), th.at_risk_share_above)
        ni = (r.get("share_needs_improvement_band"), th.needs_improvement_share_above)
        ni_band = (f"{th.needs_improvement_days} days or more" if th.banding == "cumulative"
                   else f"{th.needs_improvement_days} to {th.at_risk_days - 1} days")
        what = BAND_WORDS[indicator]
        ar_word = f"at risk: share {what} {th.at_risk_days} days or more above"
        ni_word = f"needs improvement: share {what} {ni_band} above"
        ar_down_ni = ni[0] is not None and pd.notna(ni[0]) and ni[0] > ni[1]  # the other band is unchanged
    at_risk = {"value": ar[0], "threshold": ar[1], "nearest": "at risk", "words": ar_word}
    needs = {"value": ni[0], "threshold": ni[1], "nearest": "needs improvement", "words": ni_word}
    if status == AT_RISK:
        out = [{**at_risk, "decided": True, "becomes": NEEDS_IMPROVEMENT if ar_down_ni else ON_TRACK}]
    elif status == NEEDS_IMPROVEMENT:
        out = [{**needs, "decided": True, "becomes": ON_TRACK}, {**at_risk, "decided": False, "becomes": AT_RISK}]
    elif status == ON_TRACK:
        out = [{**at_risk, "decided": False, "becomes": AT_RISK},
               {**needs, "decided": False, "becomes": NEEDS_IMPROVEMENT}]
    else:  # no data: nothing to cross
        out = []
    return [c for c in out if c["value"] is not None and pd.notna(c["value"])]


def nearest(res: pd.DataFrame, t: ThresholdSet, n: int = 5) -> pd.DataFrame:
    """The agencies closest to a status change on each indicator, each with the threshold that matters to it.

    Each row shows the threshold that decided the agency's status, or the
    one it could cross next when that is nearer (:func:`_crossings`), so the
    row always agrees with the status beside it: an agency at risk on breaks
    is shown against the at-risk band and threshold, never against the
    needs-improvement band's share. Adds ``gap`` (percentage points, never
    negative), ``nearest`` (at risk or needs improvement),
    ``nearest_threshold``, ``band_value`` (the measure compared with it),
    ``threshold_words``, ``decided`` (that threshold set the status) and
    ``becomes`` (the status on the other side of it).
    """
    rows = []
    for r in res[res["indicator"].isin(SCORED)].to_dict("records"):
        options = _crossings(r, getattr(t.indicators, r["indicator"]), r["indicator"])
        if not options:
            continue
        best = min(options, key=lambda c: abs(c["value"] - c["threshold"]))  # first wins a tie
        rows.append({**r, "gap": abs(best["value"] - best["threshold"]), "nearest": best["nearest"],
                     "nearest_threshold": best["threshold"], "band_value": best["value"],
                     "threshold_words": best["words"], "decided": best["decided"], "becomes": best["becomes"]})
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
