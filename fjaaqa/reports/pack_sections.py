"""Review pack sections: the brief, a page per indicator not on track, one for those on track, and the context.

A pack is a briefing for a 30-minute conversation. Page 1 (:func:`brief`)
leads with each indicator's value, status, distance to each threshold and
direction against the same return last year; then the diagnosis the figures
support, the questions to ask (naming the providers, host employers and
standards that carry the problem), the suggested interventions with the rule
that fired, and the previous review. Each indicator not on track then gets
a page with its chart and the one or two breakdowns that explain it; those
on track share one page. Learner-level case lists go to a restricted
workbook beside the DfE pack (:func:`case_tables`), and method and
provenance to one page per run (:func:`methodology`).

The agency's copy never lets it work out another agency's figures: every
comparison is with the other agencies only, and only where at least
``comparisons.min_other_agencies`` (params/review.yaml) contribute.

The notebook only calls these and displays what they return; tables come
from Jinja partials in ``templates/partials`` and every string from the data
is escaped there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from ..digests import digest
from ..errors import InputError
from ..inputs import reference
from ..models import Strict
from ..paths import params_yaml
from ..quality import benchmarks, context, review
from ..quality.indicators import BY_ID, DIMENSIONS, INDICATORS, ONE_OFF, STATUS_LABELS
from ..quality.results import PackResults
from ..render import charts
from ..render.templating import fmt_date, fmt_int, fmt_pct, render
from .registry import AUDIENCES

FAILING = {"at_risk", "needs_improvement", "for_discussion"}
BANDED = ("breaks_in_learning", "past_planned_end_date")
# Where a problem can sit, in the order questions name them.
CARRIERS = ["provider", "host_employer", "standard", "route"]
COUNT_LABELS = {
    "withdrawals": ("Withdrawn", "Apprentices"),
    "achievement_rate": ("Non-achievers", "Leavers"),
    "breaks_in_learning": ("On a long break", "Apprentices"),
    "past_planned_end_date": ("Past planned end", "Apprentices"),
    "outside_approved_areas": ("Outside", "Apprentices"),
}
DEFINITIONS = {
    "withdrawals": "Apprentices who withdrew in the year, from their apprenticeship or from the agency, "
                   "as a share of all the agency's apprentices in the year (new starts and existing).",
    "achievement_rate": "Leavers who achieved, as a share of all leavers whose hybrid end year is this year "
                        "(the national achievement rate method).",
    "breaks_in_learning": "Apprentices on a break in learning they have not yet returned from, by how long the "
                          "break has lasted, as a share of all the agency's apprentices in the year.",
    "past_planned_end_date": "Apprentices still in learning (or awaiting their assessment result) after their "
                             "planned end date, by how long past it, as a share of all apprentices in the year.",
    "outside_approved_areas": "Apprentices whose standard's route is not an approved sector, or whose workplace "
                              "is not in an approved region, as a share of all apprentices in the year.",
}


# ------------------------------------------------------------------ helpers

def _agency(pr: PackResults, agency_id: str) -> dict:
    a = pr.agencies[pr.agencies["agency_id"] == agency_id]
    if a.empty:
        raise KeyError(f"agency {agency_id} is not in the results for {pr.meta['year']} {pr.meta['return']}")
    return a.iloc[0].to_dict()


def _row(frame: pd.DataFrame, agency_id: str, indicator: str) -> dict | None:
    r = frame[(frame["agency_id"] == agency_id) & (frame["indicator"] == indicator)]
    return r.iloc[0].to_dict() if len(r) else None


def provisional(pr: PackResults) -> bool:
    """In-year figures (before the year closes at R13/R14) are provisional."""
    return pr.meta["return"] not in ("R13", "R14")


class Comparisons(Strict):
    min_other_agencies: int = Field(ge=1)
    standards_shown: int = Field(ge=0)  # standards set against their national rate on the achievement page
    standards_min_leavers: int = Field(ge=1)  # ... each with at least this many leavers


class Diagnosis(Strict):
    gap_pp: float = Field(ge=0)


class Brief(Strict):
    max_questions: int = Field(ge=1)
    watch_within_pp: float = Field(ge=0)
    evidence_to_bring: list[str]


class Contact(Strict):
    team: str
    email: str


class PackSettings(Strict):
    """What the packs take from ``params/review.yaml`` besides the review rules."""

    comparisons: Comparisons
    diagnosis: Diagnosis
    brief: Brief
    contact: Contact
    intervention_names: dict[str, str]
    intervention_codes: dict[str, str]
    other_interventions: list[str]  # the framework's other options, shown to DfE and never suggested


@lru_cache(maxsize=1)
def pack_params() -> dict:
    """The pack settings in ``params/review.yaml``, validated (an unknown or missing key stops the run)."""
    doc = params_yaml("review.yaml")
    try:
        return PackSettings.model_validate({k: doc.get(k) for k in PackSettings.model_fields}).model_dump()
    except ValidationError as exc:
        raise InputError(f"pack settings are not valid ({str(exc).splitlines()[0]}: "
                         f"{exc.errors()[0]['loc']})", file="params/review.yaml") from None


def provider_names(pr: PackResults) -> dict[str, str]:
    """UKPRN -> provider name, from the optional ``providers.csv``."""
    t = pr.tables.get("providers")
    if t is None or t.empty:
        return {}
    return dict(zip(t["UKPRN"].astype(str), t["provider_name"].astype(str)))


def group_label(pr: PackResults, dimension: str, group, short: bool = False) -> str:
    """A breakdown group as people name it: providers by name (and UKPRN in tables), everything else as it is."""
    if dimension == "provider":
        name = provider_names(pr).get(str(group))
        if name:
            return name if short else f"{name} (UKPRN {group})"
        return f"UKPRN {group}"
    return str(group)


def shown_value(r: dict | None, indicator_id: str) -> str:
    """The value as a reader should see it: both day bands for breaks and past planned end date."""
    if r is None or r["status"] == "no_data":
        return "–"
    if indicator_id in BANDED:
        return f"{fmt_pct(r['share_needs_improvement_band'])} · {fmt_pct(r['share_at_risk_band'])}"
    return fmt_pct(r["value"])


def threshold_rows(r: dict, indicator_id: str, t: dict) -> list[dict]:
    """Each cut-off with the distance to it, so a near miss is visible (positive = the failing side)."""
    if r["status"] == "no_data":
        return []
    v = r["value"]
    if indicator_id == "withdrawals":
        return [{"level": "needs_improvement", "label": "above", "threshold": t["needs_improvement_above"],
                 "distance": v - t["needs_improvement_above"], "band": ""},
                {"level": "at_risk", "label": "above", "threshold": t["at_risk_above"],
                 "distance": v - t["at_risk_above"], "band": ""}]
    if indicator_id == "achievement_rate":
        return [{"level": "needs_improvement", "label": "below", "threshold": t["needs_improvement_below"],
                 "distance": t["needs_improvement_below"] - v, "band": ""},
                {"level": "at_risk", "label": "below", "threshold": t["at_risk_below"],
                 "distance": t["at_risk_below"] - v, "band": ""}]
    if indicator_id in BANDED:
        lower, upper = band_labels(t)
        return [{"level": "needs_improvement", "label": "above", "threshold": t["needs_improvement_share_above"],
                 "distance": r["share_needs_improvement_band"] - t["needs_improvement_share_above"], "band": lower},
                {"level": "at_risk", "label": "above", "threshold": t["at_risk_share_above"],
                 "distance": r["share_at_risk_band"] - t["at_risk_share_above"], "band": upper}]
    return [{"level": "for_discussion", "label": "above", "threshold": t["for_discussion_share_above"],
             "distance": v - t["for_discussion_share_above"], "band": ""}]


def band_labels(t: dict) -> tuple[str, str]:
    lower = (f"{t['needs_improvement_days']}+ days" if t["banding"] == "cumulative"
             else f"{t['needs_improvement_days']}–{t['at_risk_days'] - 1} days")
    return lower, f"{t['at_risk_days']}+ days"


def _thresholds(pr: PackResults, indicator_id: str) -> dict:
    return pr.meta["thresholds"]["values"]["indicators"][indicator_id]


def last_year(pr: PackResults) -> str:
    """The same return a year earlier: the only like-for-like comparison for counts that grow through the year."""
    return f"{pr.period.year.previous().label} {pr.period.return_code}"


def direction(indicator_id: str, now, then) -> str:
    if now is None or then is None or pd.isna(now) or pd.isna(then):
        return ""
    diff = float(now) - float(then)
    if abs(diff) < 0.05:
        return "no change"
    better = diff > 0 if indicator_id == "achievement_rate" else diff < 0
    return "better" if better else "worse"


def _problem(d: pd.DataFrame, indicator_id: str) -> pd.Series:
    """The count that makes an indicator fail, per row of results or breakdowns."""
    if indicator_id == "achievement_rate":
        return d["denominator"] - d["numerator"]
    if indicator_id in BANDED:
        return d["n_at_risk_band"].fillna(0) + d["n_needs_improvement_band"].fillna(0)
    return d["numerator"]


# ------------------------------------------------------------------ comparisons the agency may see

def min_others() -> int:
    return int(pack_params()["comparisons"]["min_other_agencies"])


def standards_to_show(pr: PackResults, agency_id: str) -> list[dict]:
    """The agency's standards with the most leavers (enough of them for a rate to say something), nationally set."""
    c = pack_params()["comparisons"]
    rows = [r for r in national_comparison(pr, agency_id, "standard") if r["leavers"] >= c["standards_min_leavers"]]
    return rows[:c["standards_shown"]]


def others_pooled(frame: pd.DataFrame, agency_id: str, num: str, den: str) -> dict | None:
    """The other agencies' pooled rate, or None when fewer than the minimum contribute.

    ``frame`` has one row per agency (for one indicator, or one breakdown
    group). The agency itself never counts, so subtracting its own figure
    from the comparison reveals nothing, and with at least three others no
    single agency's figures can be recovered from the pool.
    """
    o = frame[(frame["agency_id"] != agency_id) & (frame[den] > 0)]
    if len(o) < min_others():
        return None
    n, d = float(o[num].sum()), float(o[den].sum())
    return {"value": 100.0 * n / d if d else float("nan"), "numerator": n, "denominator": d, "agencies": len(o)}


def others_median(frame: pd.DataFrame, agency_id: str) -> dict | None:
    """The other agencies' median value, or None when fewer than the minimum have one."""
    o = frame[(frame["agency_id"] != agency_id)].dropna(subset=["value"])
    if len(o) < min_others():
        return None
    return {"value": float(np.median(o["value"])), "agencies": len(o)}


# ------------------------------------------------------------------ the brief (page 1)

def headline_rows(pr: PackResults, agency_id: str) -> list[dict]:
    """Per indicator: value, status, distance to each threshold, and the same return last year."""
    return pr.remember(("headline", agency_id), lambda: _headline_rows(pr, agency_id))


def _headline_rows(pr: PackResults, agency_id: str) -> list[dict]:
    then_label = last_year(pr)
    trend = pr.trend[(pr.trend["agency_id"] == agency_id) & (pr.trend["period"] == then_label)]
    then = trend.set_index("indicator")
    rows = []
    for ind in INDICATORS:
        r = _row(pr.results, agency_id, ind.id)
        prev = then.loc[ind.id].to_dict() if ind.id in then.index else None
        cuts = {c["level"]: c for c in threshold_rows(r, ind.id, _thresholds(pr, ind.id))}
        if not r["denominator"]:
            counts = ""
        elif ind.id in BANDED:
            counts = (f"{fmt_int(r['n_needs_improvement_band'])} · {fmt_int(r['n_at_risk_band'])} of "
                      f"{fmt_int(r['denominator'])}")
        else:
            counts = f"{fmt_int(r['numerator'])} of {fmt_int(r['denominator'])}"
        rows.append({"id": ind.id, "title": ind.title, "r": r, "value": shown_value(r, ind.id), "counts": counts,
                     "cuts": cuts, "prev": prev,
                     "prev_value": "–" if prev is None or prev["status"] == "no_data" else fmt_pct(prev["value"]),
                     "direction": direction(ind.id, r["value"], prev["value"] if prev else None)
                     if r["status"] != "no_data" else ""})
    return rows


def _mine(pr: PackResults, table: str, agency_id: str) -> pd.DataFrame:
    """One agency's rows of a table (worked out once per report)."""
    return pr.remember(("mine", table, agency_id), lambda: pr.tables[table][pr.tables[table]["agency_id"] == agency_id])


def facts(pr: PackResults, agency_id: str) -> list:
    """The agency's contextual facts (worked out once per report)."""
    return pr.remember(("facts", agency_id), lambda: context.facts_for(pr, agency_id, min_others()))


def carriers(pr: PackResults, agency_id: str, indicator_id: str, top: int = 2) -> dict[str, list[dict]]:
    """Per dimension, the groups that carry most of an indicator's problem (label, count, of how many)."""
    b = _mine(pr, "breakdowns", agency_id)
    b = b[(b["indicator"] == indicator_id) & (b["denominator"] > 0)].copy()
    b["_k"] = _problem(b, indicator_id)
    out = {}
    for dim in CARRIERS:
        d = b[(b["dimension"] == dim) & (b["_k"] > 0)].sort_values(["_k", "group"], ascending=[False, True])
        out[dim] = [{"label": group_label(pr, dim, g, short=True), "k": int(k), "n": int(n)}
                    for g, k, n in zip(d["group"].head(top), d["_k"].head(top), d["denominator"].head(top))]
    return out


def _named(items: list[dict], what: str) -> str:
    return " and ".join(f"{x['label']} ({x['k']} {what})" for x in items)


def _withdrawals_context(pr: PackResults, agency_id: str) -> dict:
    app = pr.apprentices
    w = app[(app["agency_id"] == agency_id) & app["live"].astype(bool) & app["withdrawn_in_year"].astype(bool)]
    readings = pr.meta["thresholds"]["values"]["readings"]["withdrawals"]
    early = readings["early_days"]
    days = w["withdrawal_days_in"]
    reasons = (w["WithdrawReason"].fillna("").map(
        lambda c: reference.code_label("WithdrawReason", c) if c else "Left the agency (apprenticeship continues)")
        .value_counts().sort_index().sort_values(ascending=False, kind="stable"))
    bins = [(f"Within {early} days", days < early), (f"{early} days to 6 months", (days >= early) & (days <= 182)),
            ("6 to 12 months", (days > 182) & (days <= 365)), ("More than 12 months", days > 365)]
    other = int(w["WithdrawReason"].isin(readings["other_or_unknown_reasons"]).sum())
    return {"n": len(w), "early": int((days < early).sum()), "early_days": early, "other": other,
            "left_agency": int((w["withdrawn_from"] == "agency").sum()), "reasons": list(reasons.items()),
            "timing": [(lab, int(m.sum())) for lab, m in bins],
            "other_codes": ", ".join(readings["other_or_unknown_reasons"])}


def achievement_diagnosis(pr: PackResults, r: dict) -> dict:
    """Retention or assessment: where an achievement rate below the thresholds comes from.

    Achievement = retention x pass. Each is set against the national rate
    (params/benchmarks); one more than ``diagnosis.gap_pp`` points below it is
    where the shortfall sits. A pass rate at the national level means those
    who finish pass, so end-point assessment is not the question to ask.
    """
    nat = {m: national(pr, measure=m)["value"] for m in ("retention_rate", "pass_rate")}
    gap = float(pack_params()["diagnosis"]["gap_pp"])
    ret, pas = r.get("retention_rate"), r.get("pass_rate")
    low_ret = ret is not None and pd.notna(ret) and nat["retention_rate"] is not None \
        and ret < nat["retention_rate"] - gap
    low_pass = pas is not None and pd.notna(pas) and nat["pass_rate"] is not None and pas < nat["pass_rate"] - gap
    no_pass = pas is None or pd.isna(pas)
    if low_ret and no_pass:
        verdict, where = ("That is a retention problem: no leaver stayed to the end, so end-point assessment has not "
                          "been tested"), "retention"
    elif low_ret and not low_pass:
        verdict, where = "That is a retention problem, not an assessment one: those who finish pass", "retention"
    elif low_pass and not low_ret:
        verdict, where = "That is an assessment problem: apprentices finish but do not all pass", "assessment"
    elif low_ret and low_pass:
        verdict, where = ("That is both: apprentices leave before they finish, and those who finish do not all "
                          "pass"), "both"
    else:
        verdict, where = ("Neither retention nor the pass rate is well below the national rate, so no single "
                          "cause stands out: who carries the non-achievers matters more"), "neither"
    return {"retention": ret, "pass": None if no_pass else pas, "national_retention": nat["retention_rate"],
            "national_label": national(pr, measure="retention_rate")["label"],
            "national_pass": nat["pass_rate"], "verdict": verdict, "where": where,
            "completers": r.get("completers")}


def diagnosis(pr: PackResults, agency_id: str) -> list[dict]:
    """In plain words, what the figures say about each indicator not on track (or without data)."""
    out = []
    for ind in INDICATORS:
        r = _row(pr.results, agency_id, ind.id)
        if r["status"] == "no_data":
            out.append({"title": ind.title, "status": r["status"], "text": no_data_reason(pr, agency_id, ind.id, r)})
            continue
        if r["status"] not in FAILING:
            continue
        where = ""  # who carries it is in the questions below, by name
        if ind.id == "withdrawals":
            w = _withdrawals_context(pr, agency_id)
            text = (f"{fmt_int(r['numerator'])} of {fmt_int(r['denominator'])} apprentices withdrew "
                    f"({fmt_pct(r['value'])}); {w['early']} within {w['early_days']} days of starting, "
                    f"{w['other']} recorded as other or not known"
                    + (f", {w['left_agency']} left the agency while the apprenticeship went on" if w["left_agency"]
                       else "") + where + ".")
        elif ind.id == "achievement_rate":
            a = achievement_diagnosis(pr, r)
            text = (f"{fmt_int(r['numerator'])} of {fmt_int(r['denominator'])} leavers achieved "
                    f"({fmt_pct(r['value'])}): retention {fmt_pct(a['retention'])} (national "
                    f"{fmt_pct(a['national_retention'])}), "
                    + (f"pass rate {fmt_pct(a['pass'])} of completers" if pd.notna(a["pass"]) else "no completers")
                    + f" (national pass rate {fmt_pct(a['national_pass'])}). {a['verdict']}{where}.")
        elif ind.id in BANDED:
            t = _thresholds(pr, ind.id)
            lower, upper = band_labels(t)
            what = "on a break they have not returned from" if ind.id == "breaks_in_learning" \
                else "still in learning past their planned end date"
            text = (f"{fmt_int(r['n_at_risk_band'])} apprentices ({fmt_pct(r['share_at_risk_band'])}) {what} by "
                    f"{upper}, and {fmt_int(r['n_needs_improvement_band'])} "
                    f"({fmt_pct(r['share_needs_improvement_band'])}) by {lower}{where}.")
            if ind.id == "breaks_in_learning":
                fact = next((f for f in facts(pr, agency_id) if f.id == "apprentice_breaks"), None)
                if fact is not None and fact.present is not None:
                    text += f" Who asked for the breaks: {fact.evidence}"
        else:
            app = pr.apprentices
            o = app[(app["agency_id"] == agency_id) & app["live"].astype(bool) & app["outside"].astype(bool)]
            why = o["outside_reason"].value_counts()
            text = (f"{fmt_int(r['numerator'])} of {fmt_int(r['denominator'])} apprentices ({fmt_pct(r['value'])}) "
                    "are outside the approvals: " + ", ".join(f"{k} by {v}" for v, k in why.items()) + where + ".")
        out.append({"title": ind.title, "status": r["status"], "text": text})
    return out


def _concentrated(items: list[dict], total: int) -> bool:
    """Does the largest group hold at least ``context.concentration_share`` per cent of the count?"""
    share = float(context.context_params().concentration_share)
    return bool(items) and total > 0 and 100.0 * items[0]["k"] / total >= share


def questions(pr: PackResults, agency_id: str) -> list[str]:
    """Three to five questions for the conversation, naming who and what carries each problem.

    Indicators at risk first, then those needing improvement or for
    discussion: for each, the training providers and host employers where
    the counts sit, then what the figures point at (retention or assessment,
    unexplained withdrawals, long breaks, a standard that holds most of it).
    The previous review's follow-up closes the list.
    """
    cap = int(pack_params()["brief"]["max_questions"])
    res = pr.results[pr.results["agency_id"] == agency_id]
    order = {"at_risk": 0, "needs_improvement": 1, "for_discussion": 2}
    failing = sorted((r for r in res.to_dict("records") if r["status"] in FAILING),
                     key=lambda r: (order[r["status"]], -float(r["distance"] or 0)))
    first: list[str] = []
    then: list[str] = []
    for r in failing:
        ind = r["indicator"]
        title = BY_ID[ind].title
        c = carriers(pr, agency_id, ind)
        total = int(_problem(pd.DataFrame([r]), ind).iloc[0] or 0)
        what = COUNT_LABELS[ind][0].lower()
        at = "; ".join(x for x in (
            " and ".join(f"{p['label']} ({p['k']})" for p in c["provider"]),
            " and ".join(f"host employer {h['label']} ({h['k']})" for h in c["host_employer"][:1])) if x)
        if at:
            first.append(f"{title} ({total} {what}): most at {at}. What is behind it there, and what has the "
                         "agency done about it?")
        if ind == "achievement_rate":
            a = achievement_diagnosis(pr, r)
            if a["where"] in ("retention", "both"):
                kept = (f"Only {fmt_pct(a['retention'])} of leavers are" if a["retention"] else
                        f"None of the {fmt_int(r['denominator'])} leavers was")
                then.append(f"{kept} retained to the end: why do apprentices leave before they finish, and what "
                            "support reaches them between placements?")
            if a["where"] in ("assessment", "both"):
                then.append(f"Those who finish do not all pass ({fmt_pct(a['pass'])}): is end-point assessment "
                            "booked in time, and are apprentices ready for it?")
        elif ind == "withdrawals":
            w = _withdrawals_context(pr, agency_id)
            if w["other"]:
                then.append(f"{w['other']} of {w['n']} withdrawals are recorded as other or not known: what were the "
                            "reasons, and what does the agency's own monitoring show?")
        elif ind == "breaks_in_learning":
            then.append("Who asked for the long breaks, and what contact does the agency keep with these "
                        "apprentices?")
        elif ind == "outside_approved_areas":
            then.append("Does the delivery outside the approvals still serve the agency's target group, or should "
                        "the approvals change?")
        if _concentrated(c["standard"], total):
            s = c["standard"][0]
            then.append(f"{s['k']} of the {total} {what} are on {s['label']}: is something about that standard, "
                        "or its sector, behind it?")
    prev = previous_review(pr, agency_id)
    follow = (f"Progress since the review of {prev['date']} ({prev['name'].lower()}): what has changed, and when "
              "will it show in the figures?" if prev and failing else None)
    asks = list(dict.fromkeys(first + then))[: cap - (1 if follow else 0)]
    return asks + ([follow] if follow else [])


def one_offs(pr: PackResults, agency_id: str) -> list[str]:
    """Delivery outside approved areas above its trigger in fewer returns than make it routine: one to watch."""
    r = _row(pr.results, agency_id, "outside_approved_areas")
    if r is None or ONE_OFF not in str(r.get("note") or ""):
        return []
    return [f"Delivery outside approved areas is {fmt_pct(r['value'])}, above the {fmt_pct(r['threshold'], 0)} "
            f"trigger, but not yet routinely: {str(r['note']).split(';')[0].removeprefix(ONE_OFF + ': ')}. "
            "No discussion is called for yet."]


def watch_points(pr: PackResults, agency_id: str) -> list[str]:
    """For an agency on track: indicators within ``brief.watch_within_pp`` of a threshold, and who carries them."""
    near = float(pack_params()["brief"]["watch_within_pp"])
    out = []
    for h in headline_rows(pr, agency_id):
        for cut in h["cuts"].values():
            if -near <= cut["distance"] < 0:
                c = carriers(pr, agency_id, h["id"], top=1)
                who = " and ".join(("host employer " if dim == "host_employer" else "") + x["label"]
                                   for dim in ("provider", "host_employer") for x in c[dim])
                out.append(f"{h['title']} is {fmt_pct(-cut['distance'])[:-1]} points from "
                           f"{STATUS_LABELS[cut['level']].lower()}" + (f"; most at {who}" if who else "") + ".")
                break
    return out


def suggestions(pr: PackResults, agency_id: str) -> list[dict]:
    """The suggested interventions, one line each, with the rule that fired (advisory: DfE only)."""
    names = pack_params()["intervention_names"]
    return [{"id": s.intervention, "name": names[s.intervention], "scope": s.scope,
             "scope_words": review.scope_words(s.scope), "because": s.because, "rule": s.rule}
            for s in review.suggest(review.situation(pr, agency_id, facts(pr, agency_id), pr.tables.get("reviews")))]


def previous_review(pr: PackResults, agency_id: str) -> dict | None:
    """The latest earlier review of this agency in ``reviews.csv``: date, intervention, note."""
    reviews = pr.tables.get("reviews")
    if reviews is None or reviews.empty:
        return None
    mine = reviews[reviews["agency_id"] == agency_id].sort_values("review_date")
    if mine.empty:
        return None
    last = mine.iloc[-1]
    names = pack_params()["intervention_names"]
    note = last.get("note")
    return {"date": fmt_date(last["review_date"]), "name": names.get(str(last["intervention"]),
                                                                     str(last["intervention"])),
            "scope_words": review.scope_words("" if pd.isna(last.get("scope")) else str(last.get("scope") or "")),
            "note": "" if note is None or pd.isna(note) else str(note), "count": len(mine)}


def starts_line(pr: PackResults, agency_id: str) -> str:
    """New starts this year against the same months last year: the basis of any cap on starts."""
    s = pr.starts[pr.starts["agency_id"] == agency_id]
    now, then = int((s["year"] == "this year").sum()), int((s["year"] == "last year").sum())
    return f"{now} new starts this year up to the census, against {then} in the same months last year."


def brief(pr: PackResults, agency_id: str, audience: str, run_date: str) -> str:
    """Page 1: status, diagnosis, questions, interventions and the previous review (DfE); what happens next (agency)."""
    a = _agency(pr, agency_id)
    rows = headline_rows(pr, agency_id)
    failing = [h for h in rows if h["r"]["status"] in FAILING]
    sugg = suggestions(pr, agency_id) if audience == "dfe" else []
    p = pack_params()
    return render("brief.html.j2", agency=a, meta=pr.meta, audience=AUDIENCES[audience], audience_id=audience,
                  run_date=fmt_date(run_date), census=fmt_date(pr.meta["census"]), provisional=provisional(pr),
                  rows=rows, last_year=last_year(pr), failing=failing, diagnosis=diagnosis(pr, agency_id),
                  questions=questions(pr, agency_id) if audience == "dfe" else [],
                  watch=one_offs(pr, agency_id) + (watch_points(pr, agency_id) if not failing else []),
                  suggestions=sugg, others=p["other_interventions"] if audience == "dfe" else [],
                  previous=previous_review(pr, agency_id) if audience == "dfe" else None,
                  starts=starts_line(pr, agency_id) if any(s["id"] == "restrict_starts" for s in sugg) else "",
                  mitigations=[f for f in facts(pr, agency_id) if f.mitigating],
                  contact=p["contact"], evidence=p["brief"]["evidence_to_bring"], min_others=min_others())


# ------------------------------------------------------------------ a page per indicator not on track

def explaining_breakdowns(pr: PackResults, agency_id: str, indicator_id: str, limit: int = 5, count: int = 2,
                          skip: tuple[str, ...] = ()) -> list[dict]:
    """The ``count`` breakdowns that explain an indicator: the dimensions where its problem is most concentrated.

    ``skip`` names dimensions the page already shows another way (routes,
    for the achievement rate, in the comparison with the national rates).
    """
    b = _mine(pr, "breakdowns", agency_id)
    b = b[(b["indicator"] == indicator_id) & (b["denominator"] > 0)].copy()
    b["_key"] = _problem(b, indicator_id)
    total = float(_problem(pd.DataFrame([_row(pr.results, agency_id, indicator_id)]), indicator_id).iloc[0] or 0)
    ranked = []
    for i, dim in enumerate(x for x in CARRIERS if x not in skip):
        d = b[(b["dimension"] == dim) & (b["_key"] > 0)].sort_values(["_key", "denominator", "group"],
                                                                     ascending=[False, False, True])
        if len(d) < 2 or not total:  # one group holds everything: nothing to tell apart
            continue
        share = float(d["_key"].iloc[0]) / total
        rows = [dict(r, group=group_label(pr, dim, r["group"]), count=int(r["_key"]))
                for r in d.head(limit).to_dict("records")]
        rest = d.iloc[limit:]
        ranked.append((-share, i, {"dimension": dim, "label": DIMENSIONS[dim], "rows": rows, "more": len(rest),
                                   "more_key": int(rest["_key"].sum()), "groups": len(d), "top_share": 100 * share}))
    ranked.sort(key=lambda x: (x[0], x[1]))
    return [x[2] for x in ranked[:count]]


def _position(pr: PackResults, agency_id: str, indicator: str, audience: str) -> tuple[str, dict | None]:
    """This agency's value against the thresholds: among every agency (DfE), or the others' median (agency)."""
    ind = BY_ID[indicator]
    r = pr.results[pr.results["indicator"] == indicator][["agency_id", "value", "status"]]
    me = _row(pr.results, agency_id, indicator)
    t = _thresholds(pr, indicator)
    if indicator == "withdrawals":
        rules = [(t["needs_improvement_above"], "needs improvement above", charts.GOVUK_ORANGE, "right"),
                 (t["at_risk_above"], "at risk above", charts.GOVUK_RED, "left")]
        axis = "Withdrawn in the year (% of apprentices)"
    elif indicator == "achievement_rate":
        rules = [(t["at_risk_below"], "at risk below", charts.GOVUK_RED, "right"),
                 (t["needs_improvement_below"], "needs improvement below", charts.GOVUK_ORANGE, "left")]
        axis = "Achievement rate (% of leavers)"
    else:
        rules = [(t["for_discussion_share_above"], "for discussion above", charts.AF_CATEGORICAL[2], "left")]
        axis = "Outside approved areas (% of apprentices)"
    mine = me["value"] if me else float("nan")
    thresholds = "; ".join(f"{lab} {fmt_pct(v, 0)}" for v, lab, _, _ in rules)
    median = others_median(r, agency_id)
    if audience == "agency":  # other agencies' own values are not the agency's to see: their median only
        shown = r[r["agency_id"] == agency_id]
        if median is not None:
            rules = rules + [(round(median["value"], 1), f"median of {median['agencies']} other agencies",
                              charts.AF_CATEGORICAL[4], "below")]
        desc = f"This agency {fmt_pct(mine)}; " + (
            f"median of the {median['agencies']} other agencies {fmt_pct(median['value'])}; " if median else
            "no comparison: fewer than three other agencies have a value; ") + thresholds + "."
        title = f"{ind.title}: this agency and the thresholds"
    else:
        shown = r
        n = int(r["value"].notna().sum())
        desc = (f"This agency {fmt_pct(mine)}; {n} agencies with a value"
                + (f", median of the others {fmt_pct(median['value'])}" if median else "") + f"; {thresholds}.")
        title = f"{ind.title}: this agency among all agencies"
    chart = charts.position_chart(shown, agency_id, title, rules, axis)
    return charts.figure(chart, f"{indicator}-{agency_id}", f"{ind.title}, {pr.meta['year']} {pr.meta['return']}",
                         desc), median


def _bands(pr: PackResults, agency_id: str, indicator: str) -> str:
    """This agency's share in each day band against the other agencies' pooled share (when enough contribute)."""
    ind = BY_ID[indicator]
    me = _row(pr.results, agency_id, indicator)
    t = _thresholds(pr, indicator)
    r = pr.results[pr.results["indicator"] == indicator]
    lower, upper = band_labels(t)
    rows = [{"band": lower, "who": "This agency",
             "share": me["share_needs_improvement_band"] if me["denominator"] else 0.0},
            {"band": upper, "who": "This agency", "share": me["share_at_risk_band"] if me["denominator"] else 0.0}]
    for band, col in ((lower, "n_needs_improvement_band"), (upper, "n_at_risk_band")):
        o = others_pooled(r, agency_id, col, "denominator")
        if o is not None:
            rows.append({"band": band, "who": "Other agencies", "share": o["value"]})
    shares = pd.DataFrame(rows).fillna(0.0)
    thr = t["at_risk_share_above"]
    desc = "; ".join(f"{x.band}: {x.who.lower()} {fmt_pct(x.share)}" for x in shares.itertuples())
    if not (shares["who"] == "Other agencies").any():
        desc += "; no comparison: fewer than three other agencies have apprentices"
    desc += f"; a share above {fmt_pct(thr, 0)} in a band sets that band's status."
    what = "on a break" if indicator == "breaks_in_learning" else "past planned end date"
    chart = charts.band_chart(shares, f"{ind.title}: share {what}, by days", thr)
    return charts.figure(chart, f"{indicator}-{agency_id}", f"{ind.title}, {pr.meta['year']} {pr.meta['return']}",
                         desc)


def no_data_reason(pr: PackResults, agency_id: str, indicator_id: str, r: dict) -> str:
    """Why an indicator has no data, in words an account manager can repeat."""
    if indicator_id == "achievement_rate" and r["note"] == "no leavers in the year":
        aims = pr.aims[pr.aims["agency_id"] == agency_id]
        later = int((aims["aim_state"].isin(["withdrawn", "completed"]) & (aims["exclusion"] == "")
                     & ~aims["leaver"].astype(bool)).sum())
        excluded = int((aims["exclusion"] != "").sum())
        return (f"No apprentice's achievement-rate year (the later of the planned and actual end) is "
                f"{pr.meta['year']}: {later} ended aims count as leavers in a later year, when they were planned "
                f"to end; {excluded} aims are not leavers yet (still in learning, awaiting an assessment result, "
                f"on a break, or withdrawn inside the qualifying period).")
    return str(r.get("note") or "No apprentices in the year.")


def national(pr: PackResults, basis: str = "all", key: str = "", measure: str = "achievement_rate") -> dict:
    """The national rate a figure of this review year is set against, with its year and what it is the rate of."""
    return pr.remember(("national", basis, key, measure),
                       lambda: benchmarks.national_rate(pr.national, pr.meta["year"], basis, key, measure))


def national_comparison(pr: PackResults, agency_id: str, dimension: str) -> list[dict]:
    """The agency's achievement rate by route or standard against the national rate of the same route or standard.

    By route, the other agencies' pooled rate is shown too, and withheld
    when fewer than the minimum of them have leavers in it (then one
    agency's result could be worked out from it). By standard only the
    national rate is shown: the other agencies rarely share a standard.
    """
    b = pr.breakdowns[(pr.breakdowns["indicator"] == "achievement_rate") & (pr.breakdowns["dimension"] == dimension)]
    refs = standard_refs(pr) if dimension == "standard" else {}
    rows = []
    for r in b[(b["agency_id"] == agency_id) & (b["denominator"] > 0)].sort_values(
            ["denominator", "group"], ascending=[False, True]).itertuples():
        nat = national(pr, dimension, refs.get(r.group, "") if dimension == "standard" else r.group)
        row = {"group": r.group, "agency": r.value, "leavers": r.denominator, "national": nat["value"],
               "national_label": nat["label"], "fallback": nat["fallback"]}
        if dimension == "route":
            in_route = b[b["group"] == r.group]
            o = others_pooled(in_route, agency_id, "numerator", "denominator")
            row["others"] = o["value"] if o else None
            row["others_agencies"] = int(((in_route["agency_id"] != agency_id) & (in_route["denominator"] > 0)).sum())
        rows.append(row)
    return rows


def standard_refs(pr: PackResults) -> dict[str, str]:
    """Each standard as the packs name it (``StdCode title``) -> its IfATE reference (``ST0888``), where known."""
    def make():
        refs = reference.ifate_refs()
        a = pr.aims[["StdCode", "standard"]].dropna().drop_duplicates()
        return {s: refs[c] for c, s in zip(a["StdCode"].astype(str), a["standard"]) if c in refs}
    return pr.remember(("standard_refs",), make)


def indicator(pr: PackResults, agency_id: str, indicator_id: str, audience: str = "dfe") -> str:
    """A page for an indicator not on track: key figures, the chart, and the breakdowns that explain it."""
    r = _row(pr.results, agency_id, indicator_id)
    if r["status"] not in FAILING:
        return ""
    ind = BY_ID[indicator_id]
    t = _thresholds(pr, indicator_id)
    median = None
    if indicator_id in BANDED:
        chart = _bands(pr, agency_id, indicator_id)
    else:
        chart, median = _position(pr, agency_id, indicator_id, audience)
    # Two breakdowns say who carries the problem; where the page has its own tables (withdrawals: when and why;
    # achievement: routes against the national rates), one.
    routes = national_comparison(pr, agency_id, "route") if indicator_id == "achievement_rate" else []
    stds = standards_to_show(pr, agency_id) if indicator_id == "achievement_rate" else []
    own_tables = indicator_id == "withdrawals" or bool(routes)
    breakdowns = explaining_breakdowns(pr, agency_id, indicator_id, count=1 if own_tables else 2,
                                       skip=("route", "standard") if routes else ())
    return render("indicator.html.j2", ind=ind, r=r, definition=DEFINITIONS[indicator_id], chart=chart,
                  banded=indicator_id in BANDED, labels=COUNT_LABELS[indicator_id], t=t,
                  bands=band_labels(t) if indicator_id in BANDED else None, meta=pr.meta,
                  thresholds=threshold_rows(r, indicator_id, t), median=median,
                  provisional=provisional(pr) and indicator_id == "achievement_rate",
                  breakdowns=breakdowns,
                  withdrawals=_withdrawals_context(pr, agency_id) if indicator_id == "withdrawals" else None,
                  achievement=achievement_diagnosis(pr, r) if indicator_id == "achievement_rate" else None,
                  routes=routes, standards=stds, audience=audience, min_others=min_others())


# ------------------------------------------------------------------ the indicators on track, on one page

def on_track(pr: PackResults, agency_id: str, audience: str = "dfe") -> str:
    """The indicators on track (or without data), together: what each counts and where its few cases sit.

    Their values and headroom are in the brief's table already; this adds
    what the brief does not say, without a page per indicator.
    """
    rows = [h for h in headline_rows(pr, agency_id) if h["r"]["status"] not in FAILING]
    if not rows:
        return ""
    for h in rows:
        h["what"] = COUNT_LABELS[h["id"]][0]
        h["no_data"] = no_data_reason(pr, agency_id, h["id"], h["r"]) if h["r"]["status"] == "no_data" else ""
        c = carriers(pr, agency_id, h["id"], top=2) if not h["no_data"] else {}
        h["where"] = "; ".join(x for x in (
            ", ".join(f"{p['label']} ({p['k']})" for p in c.get("provider", [])),
            ", ".join(f"host employer {e['label']} ({e['k']})" for e in c.get("host_employer", []))) if x)
    return render("on_track.html.j2", rows=rows, meta=pr.meta)


# ------------------------------------------------------------------ context: facts, self-assessment, data accuracy

def _frm_rows(pr: PackResults, agency_id: str) -> pd.DataFrame:
    frm = pr.tables.get("frm")
    if frm is None:
        return pd.DataFrame(columns=["rule", "title", "query_id", "UKPRN", "LearnRefNumber", "change", "reason"])
    return frm[frm["agency_id"] == agency_id]


def data_accuracy(pr: PackResults, agency_id: str, audience: str) -> dict:
    """FRM queries on the agency's own apprentices, counted per rule (the rows go to the restricted workbook)."""
    f = _frm_rows(pr, agency_id)
    rules = [{"rule": rule, "title": title, "queries": len(g), "new": int((g["change"] == "new").sum()),
              "learners": g[["UKPRN", "LearnRefNumber"]].drop_duplicates().shape[0]}
             for (rule, title), g in f.groupby(["rule", "title"], sort=True)]
    return {"rules": rules, "total": len(f), "learners": f[["UKPRN", "LearnRefNumber"]].drop_duplicates().shape[0],
            "providers": [group_label(pr, "provider", u) for u in sorted(f["UKPRN"].unique())],
            "compared_with": (pr.meta.get("frm") or {}).get("compared_with")}


def self_assessment(pr: PackResults, agency_id: str) -> dict | None:
    """The agency's own self-assessment beside its data, when DATA/selfassessment/ holds one."""
    from ..selfassess.frameworks import params as sa_params
    from ..selfassess.scoring import disagreements

    table = pr.tables.get("self_assessment")
    if table is None or table.empty:
        return None
    mine = table[table["agency_id"] == agency_id]
    if mine.empty:
        return None
    if int(mine["problems"].iloc[0]):
        return {"problem": mine.iloc[0].to_dict()}
    scores = mine[["component", "title", "score", "evidence_coverage"]]
    # a component the agency marked wholly not applicable has no score: None (shown so), never NaN or 0
    rows = mine.astype(object).where(mine.notna(), None).to_dict("records")
    return {"problem": None, "rows": rows, "scale": max(sa_params().rating_scale),
            "notes": disagreements(scores, pr.results, agency_id), "date": fmt_date(mine["assessment_date"].iloc[0])}


def context_page(pr: PackResults, agency_id: str, audience: str) -> str:
    """The context to weigh: contextual factors, the agency's self-assessment, data accuracy; and for the agency,
    what happens next."""
    cases = case_counts(pr, agency_id) if audience == "dfe" else None
    return render("context.html.j2", facts=context_facts(pr, agency_id), audience=audience,
                  sa=self_assessment(pr, agency_id),
                  frm=data_accuracy(pr, agency_id, audience), quality=data_quality_notes(pr, agency_id),
                  cases=cases, agency_id=agency_id, contact=pack_params()["contact"], meta=pr.meta)


# Facts the withdrawals page already shows as its two tables (by time in learning, by recorded reason).
ON_WITHDRAWALS_PAGE = ("withdrawal_reasons", "withdrawal_timing")


def context_facts(pr: PackResults, agency_id: str) -> list:
    """The contextual factors that apply, less those an indicator page of this pack already shows."""
    shown = _row(pr.results, agency_id, "withdrawals")
    repeated = ON_WITHDRAWALS_PAGE if shown is not None and shown["status"] in FAILING else ()
    return [f for f in facts(pr, agency_id) if f.present and f.id not in repeated]


def data_quality_notes(pr: PackResults, agency_id: str) -> list[str]:
    """Data timeliness and accuracy observations about this agency's own records."""
    app = pr.apprentices[(pr.apprentices["agency_id"] == agency_id) & pr.apprentices["live"].astype(bool)]
    notes = []
    late = int(app["late_reported_from"].notna().sum()) if "late_reported_from" in app else 0
    if late:
        notes.append(f"{late} withdrawal(s) were reported late: an earlier return still showed them in learning.")
    unknown_region = int((app["region"] == "Unknown").sum())
    if unknown_region:
        notes.append(f"{unknown_region} apprentice(s) have no usable workplace postcode (region unknown).")
    ern = int((app["link_basis"] == "ern").sum())
    if ern:
        notes.append(f"{ern} apprentice(s) have no Apprenticeship Service record; they were linked by the "
                     "agency's employer reference in the ILR.")
    return notes


# ------------------------------------------------------------------ the restricted case workbook (DfE only)

def case_tables(pr: PackResults, agency_id: str) -> list[tuple[str, pd.DataFrame]]:
    """(sheet title, rows) for each indicator not on track, and the FRM queries: learner references and ULNs.

    These are the apprentices behind the figures, for the account manager to
    act on; they go to a restricted workbook beside the DfE pack, never into
    the pack itself.
    """
    base = ["LearnRefNumber", "ULN", "UKPRN", "provider", "standard"]
    out = []
    for ind in INDICATORS:
        r = _row(pr.results, agency_id, ind.id)
        if r is None or r["status"] not in FAILING:  # an agency with no apprentices in the year has no rows
            continue
        app = pr.apprentices[(pr.apprentices["agency_id"] == agency_id) & pr.apprentices["live"].astype(bool)]
        t = _thresholds(pr, ind.id)
        if ind.id == "withdrawals":
            rows = app[app["withdrawn_in_year"].astype(bool)].assign(
                reason=lambda d: d["WithdrawReason"].map(
                    lambda c: reference.code_label("WithdrawReason", c) if pd.notna(c) else "–"))
            cols = {"withdrawn_from": "Withdrew from", "reason": "Reason", "withdrawal_days_in": "Days in learning"}
        elif ind.id in BANDED:
            col = "days_on_break" if ind.id == "breaks_in_learning" else "days_past_planned_end"
            rows = app[app[col] >= t["needs_improvement_days"]].sort_values(col, ascending=False)
            cols = {col: "Days on a break" if ind.id == "breaks_in_learning" else "Days past planned end"}
        elif ind.id == "outside_approved_areas":
            rows = app[app["outside"].astype(bool)]
            cols = {"outside_reason": "Outside by", "route": "Route", "region": "Workplace region"}
        else:
            aims = pr.aims
            rows = aims[(aims["agency_id"] == agency_id) & aims["leaver"].astype(bool)
                        & ~aims["achiever"].astype(bool)].assign(
                completion=lambda d: d["CompStatus"].map(lambda c: reference.code_label("CompStatus", c)),
                reason=lambda d: d["WithdrawReason"].map(
                    lambda c: reference.code_label("WithdrawReason", c) if pd.notna(c) else "–"))
            cols = {"AimSeqNumber": "Aim", "completion": "Completion", "reason": "Reason"}
        if ind.id not in BANDED:
            rows = rows.sort_values(["UKPRN", "LearnRefNumber"], kind="stable")
        rows = rows.assign(provider=rows["UKPRN"].map(lambda u: group_label(pr, "provider", u)))
        shown = rows[base + list(cols)].rename(columns={
            "LearnRefNumber": "Learner reference", "ULN": "ULN", "UKPRN": "UKPRN", "provider": "Training provider",
            "standard": "Standard", **cols})
        out.append((ind.title, shown.reset_index(drop=True)))
    frm = _frm_rows(pr, agency_id)
    if len(frm):
        out.append(("FRM queries", frm[["rule", "title", "query_id", "UKPRN", "LearnRefNumber", "LearnAimRef",
                                        "AimSeqNumber", "LearnStartDate", "change", "reason"]].rename(columns={
            "rule": "Rule", "title": "Report", "query_id": "Query ID", "LearnRefNumber": "Learner reference",
            "LearnAimRef": "Aim reference", "AimSeqNumber": "Aim", "LearnStartDate": "Start date",
            "change": "Change", "reason": "Why it is flagged"}).reset_index(drop=True)))
    return out


def case_counts(pr: PackResults, agency_id: str) -> list[dict]:
    """How many rows each sheet of the restricted workbook holds (the pack gives counts, not names)."""
    return [{"title": title, "rows": len(df)} for title, df in case_tables(pr, agency_id)]


# ------------------------------------------------------------------ the whole pack

def pack(pr: PackResults, agency_id: str, audience: str, run_date: str) -> list[str]:
    """Every section of a pack, in order (the notebook shows them one per cell); empty sections are left out."""
    parts = [brief(pr, agency_id, audience, run_date)]
    parts += [indicator(pr, agency_id, ind.id, audience) for ind in INDICATORS]
    parts += [on_track(pr, agency_id, audience), context_page(pr, agency_id, audience)]
    return [p for p in parts if p]


# ------------------------------------------------------------------ the run's methodology and provenance page

READINGS_TEXT = [
    ("indicators.breaks_in_learning.banding", "Breaks: how the 180 and 365 day bands combine"),
    ("indicators.past_planned_end_date.banding", "Past planned end: how the day bands combine"),
    ("indicators.past_planned_end_date.include_completed_late", "Past planned end: count those who completed late"),
    ("indicators.outside_approved_areas.for_discussion_share_above",
     "Outside approved areas: share that means 'routinely' (%)"),
    ("indicators.outside_approved_areas.consecutive_returns", "Outside approved areas: returns in a row above it"),
    ("indicators.outside_approved_areas.approvals_as_at", "Outside approved areas: approvals in force at"),
    ("readings.link.delivery_models", "Delivery models that make an agency apprentice"),
    ("readings.link.use_ern_fallback", "Link by the agency's employer reference when no commitment matches"),
    ("readings.identity.transfer_window_days", "Days within which a new aim continues a transfer"),
    ("readings.identity.transfer_withdraw_reasons", "Withdrawal reasons that can be a provider transfer"),
    ("readings.withdrawals.early_days", "Early withdrawal: within this many days"),
    ("readings.qar.qualifying_planned_days", "Achievement: planned length that sets a qualifying period (days)"),
    ("readings.qar.qualifying_in_learning_days", "Achievement: qualifying period (days in learning)"),
    ("readings.qar.transfer_reasons", "Achievement: withdrawal reasons excluded as transfers"),
    ("readings.qar.reason_40_window_days", "Achievement: days within which reason 40 needs a new aim"),
    ("readings.qar.withdraw_reason_2", "Achievement: withdrawal reason 2"),
    ("readings.qar.break_overdue_years", "Achievement: years after which an unreturned break is a withdrawal"),
]


def _lookup(doc: dict, path: str):
    for part in path.split("."):
        doc = doc[part]
    return ", ".join(map(str, doc)) if isinstance(doc, list) else doc


def national_sources(pr: PackResults) -> dict:
    """Where the national rates come from: the cited figures, and the imported file with its hash and row counts."""
    meta = pr.meta.get("national") or {}
    return {"cited": meta.get("cited", ""), "imported": meta.get("imported")}


def methodology(pr: PackResults) -> dict:
    """What the run's methodology and provenance page shows: definitions, thresholds, readings, data, inputs."""
    th = pr.meta["thresholds"]
    rec = pr.reconciliation
    frm = pr.meta.get("frm") or {}
    return {
        "meta": pr.meta, "definitions": [{"title": i.title, "text": DEFINITIONS[i.id]} for i in INDICATORS],
        "thresholds": [{"title": i.title, "text": "; ".join(f"{k.replace('_', ' ')}: {v}"
                                                              for k, v in th["values"]["indicators"][i.id].items())}
                       for i in INDICATORS],
        "readings": [{"key": k, "label": lab, "value": _lookup(th["values"], k)} for k, lab in READINGS_TEXT],
        "rec": rec.to_dict("records"),
        "totals": {c: int(rec[c].sum()) for c in ("rows_read", "rows_used", "rows_rejected")},
        "rejected": pr.rejected_summary.to_dict("records"), "links": pr.link_summary.to_dict("records"),
        "absent": {k: ", ".join(v) for k, v in pr.meta.get("absent_columns", {}).items() if v},
        "periods": [f"{y} {r}" for y, r in zip(pr.all_periods["year"], pr.all_periods["return"])],
        "inputs": pr.meta.get("inputs", []), "frm": frm, "national": national_sources(pr),
        "comparisons": min_others(),
    }


# ------------------------------------------------------------------ what each pack reads (incremental builds)

# Metadata a pack never shows: the results key and input hashes change with any agency's data.
UNSHOWN_META = {"key", "inputs", "code_hash"}


def pack_digests(pr: PackResults, agency_ids: list[str], audiences: list[str]) -> dict[tuple[str, str], str]:
    """A digest of exactly the data each pack reads, so an unchanged pack is not rebuilt.

    That is: the agency's own rows of every table with an ``agency_id``; the
    figures a pack compares it with (every agency's value, band counts and
    route achievement, which feed the DfE version's charts and the other
    agencies' pools and medians in both versions), the provider names and
    national rates; the period's metadata and thresholds. A change to one
    agency's figures therefore rebuilds the other agencies' packs too (they
    compare with it); a change to one agency's own context (its name, its
    self-assessment, its reviews) rebuilds only its own.
    """
    res = pr.results
    routes = pr.breakdowns[(pr.breakdowns["indicator"] == "achievement_rate")
                           & (pr.breakdowns["dimension"] == "route")]
    compared = res[["agency_id", "indicator", "value", "status", "denominator",
                    *[c for c in ("n_needs_improvement_band", "n_at_risk_band") if c in res.columns]]]
    shared = [{k: v for k, v in pr.meta.items() if k not in UNSHOWN_META}, pr.national,
              pr.tables.get("providers", pd.DataFrame()), compared,
              routes[["agency_id", "group", "numerator", "denominator"]]]
    feedback = pr.tables.get("feedback")
    if feedback is not None and len(feedback):
        shared.append(feedback)
    common = {aud: digest(aud, *shared) for aud in audiences}
    own: dict[str, list] = {a: [] for a in agency_ids}
    for name in sorted(pr.tables):
        t = pr.tables[name]
        if "agency_id" not in t.columns:
            continue
        groups = dict(tuple(t.groupby("agency_id", sort=False)))
        for a in agency_ids:
            own[a].append(groups.get(a, t.iloc[0:0]))
    mine = {a: digest(*own[a]) for a in agency_ids}
    return {(a, aud): digest(common[aud], mine[a]) for a in agency_ids for aud in audiences}


def changes(pr: PackResults, agency_id: str) -> list[dict]:
    """Indicators whose status differs from the previous return in the data (in-year: counts still growing)."""
    t = pr.trend[pr.trend["agency_id"] == agency_id]
    if t["period_order"].nunique() < 2:
        return []
    last, before = sorted(t["period_order"].unique())[-1], sorted(t["period_order"].unique())[-2]
    now = t[t["period_order"] == last].set_index("indicator")
    then = t[t["period_order"] == before].set_index("indicator")
    out = []
    for ind in INDICATORS:
        if ind.id in now.index and ind.id in then.index and now.loc[ind.id, "status"] != then.loc[ind.id, "status"]:
            out.append({"title": ind.title, "from": then.loc[ind.id, "status"], "to": now.loc[ind.id, "status"],
                        "since": then.loc[ind.id, "period"]})
    return out
