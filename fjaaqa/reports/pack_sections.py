"""Pack sections: functions that turn cached results into HTML.

The notebook only calls these and displays what they return; nothing else
draws. Tables come from Jinja2 partials in ``templates/partials`` with
captions and header cells; every string from the data is escaped.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..digests import digest
from ..inputs import reference
from ..paths import params_yaml
from ..quality.indicators import BY_ID, DIMENSIONS, INDICATORS
from ..quality.results import PackResults
from ..render import charts
from ..render.templating import fmt_date, fmt_int, fmt_pct, render

AUDIENCES = {"dfe": "DfE version", "agency": "Agency version"}
BREAKDOWN_DIMENSIONS = ["route", "standard", "provider", "host_employer"]
FAILING = {"at_risk", "needs_improvement", "for_discussion"}

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


# ------------------------------------------------------------------ sections

def cover(pr: PackResults, agency_id: str, audience: str, run_date: str) -> str:
    """Title block: agency, period, audience, threshold set, run date."""
    a = _agency(pr, agency_id)
    return render("cover.html.j2", agency=a, meta=pr.meta, audience=AUDIENCES[audience], audience_id=audience,
                  run_date=fmt_date(run_date), census=fmt_date(pr.meta["census"]),
                  provisional=provisional(pr), self_assessed=_self_assessed(pr, agency_id))


def _self_assessed(pr: PackResults, agency_id: str) -> bool:
    t = pr.tables.get("self_assessment")
    return t is not None and not t.empty and bool((t["agency_id"] == agency_id).any())


def headline(pr: PackResults, agency_id: str) -> str:
    """Status of every indicator for the current year and the previous year (R14)."""
    rows = []
    prev_in = (pr.meta["previous_available"]
               and agency_id in set(pr.previous["agency_id"]) if len(pr.previous) else False)
    for ind in INDICATORS:
        cur = _row(pr.results, agency_id, ind.id)
        prev = _row(pr.previous, agency_id, ind.id) if prev_in else None
        rows.append({"id": ind.id, "title": ind.title, "cur": cur, "prev": prev,
                     "cur_text": shown_value(cur, ind.id), "prev_text": shown_value(prev, ind.id) if prev else "–"})
    agency = _agency(pr, agency_id)
    reason = (f"the {pr.meta['previous_year']} R14 return is not in the data" if not pr.meta["previous_available"]
              else f"the agency was registered on {fmt_date(agency.get('registered_on'))}"
              if pd.notna(agency.get("registered_on")) else "the agency had no apprentices that year")
    return render("headline.html.j2", rows=rows, meta=pr.meta, prev_available=prev_in, prev_reason=reason)


def shown_value(r: dict | None, indicator_id: str) -> str:
    """The value as a reader should see it: both day bands for breaks and past planned end date."""
    if r is None or r["status"] == "no_data":
        return "–"
    if indicator_id in BANDED:
        return f"{fmt_pct(r['share_needs_improvement_band'])} · {fmt_pct(r['share_at_risk_band'])}"
    return fmt_pct(r["value"])


COUNT_LABELS = {
    "withdrawals": ("Withdrawn", "Apprentices"),
    "achievement_rate": ("Achievers", "Leavers"),
    "outside_approved_areas": ("Outside", "Apprentices"),
}
BANDED = ("breaks_in_learning", "past_planned_end_date")


def _breakdowns(pr: PackResults, agency_id: str, indicator: str, limit: int = 8) -> list[dict]:
    """Groups where the indicator's problem sits, largest first; groups with none are only counted.

    For the achievement rate the problem is non-achievement; for the banded
    indicators it is anyone in either band.
    """
    b = pr.breakdowns
    b = b[(b["agency_id"] == agency_id) & (b["indicator"] == indicator) & (b["denominator"] > 0)].copy()
    if indicator == "achievement_rate":
        b["_key"] = b["denominator"] - b["numerator"]
    elif indicator in BANDED:
        b["_key"] = b["n_at_risk_band"] + b["n_needs_improvement_band"]
    else:
        b["_key"] = b["numerator"]
    out = []
    dims = BREAKDOWN_DIMENSIONS + (["epa_org"] if indicator == "achievement_rate" else [])
    for dim in dims:
        d = b[b["dimension"] == dim]
        hit = d[d["_key"] > 0].sort_values(["_key", "denominator", "group"], ascending=[False, False, True])
        shown = hit.head(limit)
        rest = hit.iloc[len(shown):]
        clean = d[d["_key"] == 0]
        out.append({"dimension": dim, "label": DIMENSIONS[dim], "rows": shown.to_dict("records"),
                    "more": len(rest), "more_key": int(rest["_key"].sum()), "more_of": int(rest["denominator"].sum()),
                    "none": len(clean), "none_of": int(clean["denominator"].sum())})
    return out


def _position(pr: PackResults, agency_id: str, indicator: str, audience: str = "dfe") -> str:
    ind = BY_ID[indicator]
    r = pr.results[pr.results["indicator"] == indicator][["agency_id", "value", "status"]]
    me = _row(pr.results, agency_id, indicator)
    t = pr.meta["thresholds"]["values"]["indicators"][indicator]
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
    valid = r.dropna(subset=["value"])
    median = float(np.median(valid["value"])) if len(valid) else float("nan")
    mine = me["value"] if me else float("nan")
    desc = (f"This agency {fmt_pct(mine)}; median of {len(valid)} agencies with data {fmt_pct(median)}; "
            + "; ".join(f"{lab} {fmt_pct(v, 0)}" for v, lab, _, _ in rules) + ".")
    if audience == "agency":  # other agencies' own values are not the agency's to see: the median only
        r = r[r["agency_id"] == agency_id]
        rules = rules + [(round(median, 1), "median of agencies", charts.AF_CATEGORICAL[4], "below")] \
            if not np.isnan(median) else rules
    chart = charts.position_chart(r, agency_id, f"{ind.title}: this agency and the thresholds"
                                  if audience == "agency" else f"{ind.title}: this agency among all agencies",
                                  rules, axis)
    return charts.figure(chart, f"{indicator}-{agency_id}", f"{ind.title}, {pr.meta['year']} {pr.meta['return']}",
                         desc)


def _bands(pr: PackResults, agency_id: str, indicator: str) -> str:
    ind = BY_ID[indicator]
    me = _row(pr.results, agency_id, indicator)
    t = pr.meta["thresholds"]["values"]["indicators"][indicator]
    r = pr.results[pr.results["indicator"] == indicator]
    tot = r["denominator"].sum()
    ni_label = (f"{t['needs_improvement_days']}+ days" if t["banding"] == "cumulative"
                else f"{t['needs_improvement_days']}–{t['at_risk_days'] - 1} days")
    ar_label = f"{t['at_risk_days']}+ days"
    shares = pd.DataFrame([
        {"band": ni_label, "who": "This agency",
         "share": me["share_needs_improvement_band"] if me["denominator"] else 0.0},
        {"band": ni_label, "who": "All agencies",
         "share": 100.0 * r["n_needs_improvement_band"].sum() / tot if tot else 0.0},
        {"band": ar_label, "who": "This agency", "share": me["share_at_risk_band"] if me["denominator"] else 0.0},
        {"band": ar_label, "who": "All agencies", "share": 100.0 * r["n_at_risk_band"].sum() / tot if tot else 0.0},
    ]).fillna(0.0)
    thr = t["at_risk_share_above"]
    desc = "; ".join(f"{row.band}: this agency {fmt_pct(row.share)}" if row.who == "This agency"
                     else f"all agencies {fmt_pct(row.share)}" for row in shares.itertuples())
    desc += f"; a share above {fmt_pct(thr, 0)} in a band sets that band's status."
    what = "on a break" if indicator == "breaks_in_learning" else "past planned end date"
    chart = charts.band_chart(shares, f"{ind.title}: share {what}, by days", thr)
    return charts.figure(chart, f"{indicator}-{agency_id}", f"{ind.title}, {pr.meta['year']} {pr.meta['return']}",
                         desc)


def _withdrawal_context(pr: PackResults, agency_id: str) -> dict:
    app = pr.apprentices
    w = app[(app["agency_id"] == agency_id) & app["withdrawn_in_year"].astype(bool)]
    reasons = (w["WithdrawReason"].fillna("").map(
        lambda c: reference.code_label("WithdrawReason", c) if c else "Left the agency (apprenticeship continues)")
        .value_counts().sort_index().sort_values(ascending=False, kind="stable"))
    readings = pr.meta["thresholds"]["values"]["readings"]["withdrawals"]
    early = readings["early_days"]
    days = w["withdrawal_days_in"]
    bins = [(f"Within {early} days", days < early), (f"{early} days to 6 months", (days >= early) & (days <= 182)),
            ("6 to 12 months", (days > 182) & (days <= 365)), ("More than 12 months", days > 365)]
    other = w["WithdrawReason"].isin(readings["other_or_unknown_reasons"]).sum()
    return {"n": len(w), "reasons": list(reasons.items()), "timing": [(lab, int(m.sum())) for lab, m in bins],
            "other_share": 100.0 * other / len(w) if len(w) else float("nan"), "early": int((days < early).sum()),
            "early_days": early, "other_codes": ", ".join(readings["other_or_unknown_reasons"])}


def _threshold_rows(r: dict, indicator_id: str, t: dict) -> list[dict]:
    """Both cut-offs with the distance to each, so a near miss is visible (positive = failing side)."""
    if r["status"] == "no_data":
        return []
    v = r["value"]
    if indicator_id == "withdrawals":
        return [{"label": "Needs improvement above", "threshold": t["needs_improvement_above"],
                 "distance": v - t["needs_improvement_above"]},
                {"label": "At risk above", "threshold": t["at_risk_above"], "distance": v - t["at_risk_above"]}]
    if indicator_id == "achievement_rate":
        return [{"label": "Needs improvement below", "threshold": t["needs_improvement_below"],
                 "distance": t["needs_improvement_below"] - v},
                {"label": "At risk below", "threshold": t["at_risk_below"], "distance": t["at_risk_below"] - v}]
    if indicator_id in BANDED:
        return [{"label": "Needs improvement: share in the lower band above", "threshold":
                 t["needs_improvement_share_above"],
                 "distance": r["share_needs_improvement_band"] - t["needs_improvement_share_above"]},
                {"label": f"At risk: share in the {t['at_risk_days']}+ day band above",
                 "threshold": t["at_risk_share_above"],
                 "distance": r["share_at_risk_band"] - t["at_risk_share_above"]}]
    return [{"label": "Trigger for discussion (a local setting: the framework names no threshold) above",
             "threshold": t["for_discussion_share_above"], "distance": v - t["for_discussion_share_above"]}]


def _no_data_reason(pr: PackResults, agency_id: str, indicator_id: str, r: dict) -> str:
    """Why an indicator has no data, in words an account manager can repeat."""
    if indicator_id == "achievement_rate" and r["note"] == "no leavers in the year":
        aims = pr.aims[pr.aims["agency_id"] == agency_id]
        later = int((aims["aim_state"].isin(["withdrawn", "completed"]) & (aims["exclusion"] == "")
                     & ~aims["leaver"].astype(bool)).sum())
        excluded = int((aims["exclusion"] != "").sum())
        return (f"No apprentice's achievement-rate year (the later of the planned and actual end) is "
                f"{pr.meta['year']}. {later} ended aims count as leavers in a later year, when they were planned "
                f"to end; {excluded} aims are not leavers yet (still in learning, awaiting an assessment result, "
                f"on a break, or withdrawn inside the qualifying period).")
    return str(r.get("note") or "")


@lru_cache(maxsize=1)
def national_benchmarks() -> dict:
    """``params/benchmarks/national-achievement-rates.yaml`` (cited national rates)."""
    return params_yaml("benchmarks/national-achievement-rates.yaml")


def benchmarks(pr: PackResults, agency_id: str) -> list[dict]:
    """The agency's achievement rate by route against all agencies in the data and the national rate.

    The framework allows comparison with similar sectors; a national rate by
    route is used where the shipped table has one, else the national overall.
    """
    nat = national_benchmarks()
    b = pr.breakdowns[(pr.breakdowns["indicator"] == "achievement_rate") & (pr.breakdowns["dimension"] == "route")]
    everyone = b.groupby("group")[["numerator", "denominator"]].sum()
    rows = []
    for r in b[(b["agency_id"] == agency_id) & (b["denominator"] > 0)].sort_values("denominator",
                                                                                   ascending=False).itertuples():
        tot = everyone.loc[r.group]
        route_nat = (nat.get("by_route") or {}).get(r.group)
        rows.append({"route": r.group, "agency": r.value, "leavers": r.denominator,
                     "all": 100.0 * tot["numerator"] / tot["denominator"] if tot["denominator"] else float("nan"),
                     "all_leavers": int(tot["denominator"]),
                     "national": (route_nat or nat["overall"])["achievement_rate"],
                     "national_basis": "route" if route_nat else "all apprenticeships"})
    return rows


def indicator(pr: PackResults, agency_id: str, indicator_id: str, audience: str = "dfe") -> str:
    """One indicator: key figures, chart, context and breakdowns."""
    ind = BY_ID[indicator_id]
    r = _row(pr.results, agency_id, indicator_id)
    if indicator_id in ("breaks_in_learning", "past_planned_end_date"):
        chart = _bands(pr, agency_id, indicator_id)
    else:
        chart = _position(pr, agency_id, indicator_id, audience)
    t = pr.meta["thresholds"]["values"]["indicators"][indicator_id]
    ctx = {"ind": ind, "r": r, "definition": DEFINITIONS[indicator_id], "chart": chart,
           "banded": indicator_id in BANDED,
           "labels": COUNT_LABELS.get(indicator_id, ("", "Apprentices")),
           "breakdowns": _breakdowns(pr, agency_id, indicator_id), "meta": pr.meta,
           "provisional": provisional(pr) and indicator_id == "achievement_rate",
           "context": _withdrawal_context(pr, agency_id) if indicator_id == "withdrawals" else None,
           "t": t, "thresholds": _threshold_rows(r, indicator_id, t),
           "benchmarks": benchmarks(pr, agency_id) if indicator_id == "achievement_rate" else [],
           "national": national_benchmarks(),
           "no_data_reason": _no_data_reason(pr, agency_id, indicator_id, r) if r["status"] == "no_data" else ""}
    return render("indicator.html.j2", **ctx)


CASE_COLUMNS = ["LearnRefNumber", "ULN", "UKPRN", "standard"]


def _cases(pr: PackResults, agency_id: str, indicator_id: str, r: dict) -> tuple[list[str], list[list[str]]]:
    app = pr.apprentices
    app = app[(app["agency_id"] == agency_id) & app["live"].astype(bool)]
    t = pr.meta["thresholds"]["values"]["indicators"].get(indicator_id, {})
    if indicator_id == "withdrawals":
        rows = app[app["withdrawn_in_year"].astype(bool)]
        cols = ["Withdrew from", "Reason", "Days in learning"]
        extra = lambda x: [x["withdrawn_from"], reference.code_label("WithdrawReason", x["WithdrawReason"])
                           if pd.notna(x["WithdrawReason"]) else "–", fmt_int(x["withdrawal_days_in"])]
    elif indicator_id in ("breaks_in_learning", "past_planned_end_date"):
        col = "days_on_break" if indicator_id == "breaks_in_learning" else "days_past_planned_end"
        rows = app[app[col] >= t["needs_improvement_days"]].sort_values(col, ascending=False)
        cols = ["Days on a break" if indicator_id == "breaks_in_learning" else "Days past planned end"]
        extra = lambda x: [fmt_int(x[col])]
    elif indicator_id == "outside_approved_areas":
        rows = app[app["outside"].astype(bool)]
        cols = ["Outside by", "Route", "Workplace region"]
        extra = lambda x: [x["outside_reason"], x["route"], x["region"]]
    else:
        aims = pr.aims
        rows = aims[(aims["agency_id"] == agency_id) & aims["leaver"].astype(bool) & ~aims["achiever"].astype(bool)]
        cols = ["Aim", "Completion", "Reason"]
        extra = lambda x: [str(x["AimSeqNumber"]), reference.code_label("CompStatus", x["CompStatus"]),
                           reference.code_label("WithdrawReason", x["WithdrawReason"])
                           if pd.notna(x["WithdrawReason"]) else "–"]
    rows = rows.sort_values(["UKPRN", "LearnRefNumber"], kind="stable") if indicator_id != "breaks_in_learning" \
        and indicator_id != "past_planned_end_date" else rows
    body = [[str(x["LearnRefNumber"]), str(x["ULN"]), str(x["UKPRN"]), str(x["standard"])] + extra(x)
            for x in rows.to_dict("records")]
    return ["Learner reference", "ULN", "UKPRN", "Standard"] + cols, body


def case_list(pr: PackResults, agency_id: str) -> str:
    """DfE only: the apprentices behind each indicator that is not on track, and their FRM queries (restricted)."""
    lists = []
    for ind in INDICATORS:
        r = _row(pr.results, agency_id, ind.id)
        if r and r["status"] in FAILING:
            head, body = _cases(pr, agency_id, ind.id, r)
            lists.append({"ind": ind, "r": r, "head": head, "body": body})
    frm = _frm_rows(pr, agency_id)
    rows = [[r["rule"], r["query_id"], r["UKPRN"], r["LearnRefNumber"],
             "–" if _missing(r["LearnAimRef"]) else f"{r['LearnAimRef']} ({r['AimSeqNumber']}, {r['LearnStartDate']})",
             r["change"], r["reason"]] for r in frm.to_dict("records")]
    return render("cases.html.j2", lists=lists, frm_rows=rows)


def _missing(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v)) or v == ""


def _frm_rows(pr: PackResults, agency_id: str) -> pd.DataFrame:
    frm = pr.tables.get("frm")
    if frm is None:
        return pd.DataFrame(columns=["rule", "title", "query_id", "UKPRN", "LearnRefNumber", "change", "reason"])
    return frm[frm["agency_id"] == agency_id]


def self_assessment(pr: PackResults, agency_id: str) -> str:
    """The agency's own self-assessment beside its data, when DATA/selfassessment/ holds one (else nothing)."""
    from ..selfassess.frameworks import params as sa_params
    from ..selfassess.scoring import disagreements

    table = pr.tables.get("self_assessment")
    if table is None or table.empty:
        return ""
    mine = table[table["agency_id"] == agency_id]
    if mine.empty:
        return ""
    if int(mine["problems"].iloc[0]):
        return render("self_assessment_pack.html.j2", problem=mine.iloc[0].to_dict(), rows=[], notes=[],
                      statuses=[], p=sa_params())
    scores = mine[["component", "title", "score", "evidence_coverage"]]
    notes = disagreements(scores, pr.results, agency_id)
    statuses = [{"title": ind.title, "status": r["status"]} for ind in INDICATORS
                if (r := _row(pr.results, agency_id, ind.id))]
    return render("self_assessment_pack.html.j2", problem=None, rows=mine.to_dict("records"), notes=notes,
                  statuses=statuses, p=sa_params(), date=mine["assessment_date"].iloc[0])


def data_accuracy(pr: PackResults, agency_id: str, audience: str) -> str:
    """FRM queries on the agency's own apprentices: counts per rule (both audiences); rows in the DfE annex."""
    f = _frm_rows(pr, agency_id)
    info = pr.meta.get("frm") or {}
    rules = []
    for (rule, title), g in f.groupby(["rule", "title"], sort=True):
        rules.append({"rule": rule, "title": title, "queries": len(g),
                      "learners": g[["UKPRN", "LearnRefNumber"]].drop_duplicates().shape[0],
                      "new": int((g["change"] == "new").sum())})
    return render("data_accuracy.html.j2", rules=rules, info=info, audience=audience, meta=pr.meta,
                  total=len(f), learners=f[["UKPRN", "LearnRefNumber"]].drop_duplicates().shape[0],
                  providers=f["UKPRN"].nunique())


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


def annex(pr: PackResults, agency_id: str, audience: str = "dfe") -> str:
    """Data and methodology: sources and hashes, thresholds, readings, reconciliation."""
    th = pr.meta["thresholds"]
    readings = [{"key": k, "label": lab, "value": _lookup(th["values"], k)} for k, lab in READINGS_TEXT]
    thresholds = []
    for ind in INDICATORS:
        vals = th["values"]["indicators"][ind.id]
        thresholds.append({"title": ind.title,
                           "text": "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in vals.items())})
    rec = pr.reconciliation
    totals = {c: int(rec[c].sum()) for c in ("rows_read", "rows_used", "rows_rejected")}
    current = f"ilr/{pr.period.year.code}/{pr.period.return_code}/"
    absent = {k: ", ".join(v) for k, v in pr.meta.get("absent_columns", {}).items()
              if v and (k.startswith(current) or not k.startswith("ilr/"))}
    periods = [f"{y} {r}" for y, r in zip(pr.all_periods["year"], pr.all_periods["return"])]
    return render("annex.html.j2", meta=pr.meta, readings=readings, thresholds=thresholds, audience=audience,
                  rec=rec.to_dict("records"), totals=totals,
                  rejected=pr.rejected_summary.to_dict("records"), links=pr.link_summary.to_dict("records"),
                  absent=absent, periods=periods)


def pack(pr: PackResults, agency_id: str, audience: str, run_date: str) -> list[str]:
    """Every section of a pack, in order (the notebook shows them one per cell)."""
    parts = [cover(pr, agency_id, audience, run_date), headline(pr, agency_id), trend(pr, agency_id),
             context_and_review(pr, agency_id, audience)]
    parts += [indicator(pr, agency_id, ind.id, audience) for ind in INDICATORS]
    parts.append(data_accuracy(pr, agency_id, audience))
    parts.append(self_assessment(pr, agency_id))
    if audience == "dfe":
        parts.append(case_list(pr, agency_id))
    parts.append(annex(pr, agency_id, audience))
    return parts


# Tables the annex shows whole (facts about the run, not about one agency).
RUN_TABLES = ["reconciliation", "rejected_summary", "link_summary", "all_periods"]
# Metadata a pack never shows: the results key and input hashes change with any agency's data.
UNSHOWN_META = {"key", "inputs", "code_hash"}


def pack_digests(pr: PackResults, agency_ids: list[str], audiences: list[str]) -> dict[tuple[str, str], str]:
    """A digest of exactly the data each pack reads, so an unchanged pack is not rebuilt.

    That is: the agency's own rows of every table with an ``agency_id``; the
    figures a pack shows about all agencies (every agency's value and status
    in the DfE version's position charts, the median in the agency version,
    all-agency band shares, route achievement, the cohort profile and the
    national rates); the run tables of the annex; the period's metadata and
    thresholds. A change to one agency's data therefore rebuilds other
    agencies' packs only when it moves a figure those packs show about all
    agencies. Computed for every pack at once: one pass over each table.
    """
    from ..quality import context

    res = pr.results
    live = pr.apprentices[pr.apprentices["live"].astype(bool)]
    routes = pr.breakdowns[(pr.breakdowns["indicator"] == "achievement_rate")
                           & (pr.breakdowns["dimension"] == "route")]
    shared = [{k: v for k, v in pr.meta.items() if k not in UNSHOWN_META}, national_benchmarks(),
              *[pr.tables[k] for k in RUN_TABLES if k in pr.tables],
              context.cohort_profile(live.iloc[0:0], live),
              routes.groupby("group")[["numerator", "denominator"]].sum().reset_index()]
    cross = {"agency": [], "dfe": []}
    for ind in INDICATORS:
        r = res[res["indicator"] == ind.id]
        valid = r["value"].dropna()
        summary = {"median": float(np.median(valid)) if len(valid) else None, "n": len(valid),
                   "bands": [float(r[c].sum()) for c in ("n_needs_improvement_band", "n_at_risk_band", "denominator")
                             if c in r.columns]}
        cross["agency"].append(summary)
        cross["dfe"] += [summary, r[["agency_id", "value", "status"]]]
    common = {aud: digest(*shared, *cross[aud]) for aud in audiences}
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


def context_and_review(pr: PackResults, agency_id: str, audience: str) -> str:
    """Contextual facts for both audiences; suggested interventions for DfE only."""
    from ..quality import context, review

    facts = context.facts_for(pr, agency_id)
    suggestions = []
    if audience == "dfe":
        reviews = pr.tables.get("reviews")
        suggestions = review.suggest(review.situation(pr, agency_id, facts, reviews))
    app = pr.apprentices[pr.apprentices["live"].astype(bool)]
    profile = context.cohort_profile(app[app["agency_id"] == agency_id], app)
    talk = conversation(pr, agency_id) if audience == "dfe" else []
    quality = data_quality_notes(pr, agency_id) if audience == "dfe" else []
    return render("context.html.j2", facts=facts, suggestions=suggestions, audience=audience,
                  profile=profile.to_dict("records"), mitigations=[f for f in facts if f.mitigating],
                  talk=talk, quality=quality)


def changes(pr: PackResults, agency_id: str) -> list[dict]:
    """Indicators whose status differs from the previous return in the data (what changed since then)."""
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


def trend(pr: PackResults, agency_id: str) -> str:
    """Each indicator across the returns in the data, with the direction of travel."""
    t = pr.trend[pr.trend["agency_id"] == agency_id].sort_values("period_order")
    periods = list(dict.fromkeys(t["period"]))[-6:]  # the latest six returns keep the table readable in print
    current = str(pr.period)
    same_last_year = f"{pr.period.year.previous().label} {pr.period.return_code}"
    rows = []
    for ind in INDICATORS:
        d = t[t["indicator"] == ind.id].set_index("period")
        cells = [d.loc[p].to_dict() if p in d.index else None for p in periods]
        # Like with like: this return against the same return a year earlier (in-year counts accumulate).
        now_v = d.loc[current, "value"] if current in d.index else float("nan")
        then_v = d.loc[same_last_year, "value"] if same_last_year in d.index else float("nan")
        direction = "–"
        if pd.notna(now_v) and pd.notna(then_v):
            diff = now_v - then_v
            better = diff < 0 if ind.id != "achievement_rate" else diff > 0
            direction = "no change" if abs(diff) < 0.05 else ("improving" if better else "worsening")
        rows.append({"title": ind.title, "cells": cells, "direction": direction})
    return render("trend.html.j2", periods=periods, rows=rows, changes=changes(pr, agency_id), meta=pr.meta,
                  compared=same_last_year, starts=starts(pr, agency_id))


def starts(pr: PackResults, agency_id: str) -> list[dict]:
    """New starts this year against last year up to the same date, by month, route, region and provider."""
    s = pr.starts[pr.starts["agency_id"] == agency_id]
    out = []
    for dim, label in (("month", "Month"), ("route", "Route"), ("region", "Workplace region"),
                       ("provider", "Training provider")):
        t = s.groupby([dim, "year"]).size().unstack("year", fill_value=0)
        for col in ("this year", "last year"):
            if col not in t:
                t[col] = 0
        if dim == "month":
            # academic-year order: August first
            t = t.reindex(sorted(t.index, key=lambda m: (int(m[:2]) - 8) % 12))
        else:
            t = t.sort_values(["this year", "last year"], ascending=False)
        rows = [{"group": g[3:] if dim == "month" else g, "now": int(r["this year"]), "then": int(r["last year"])}
                for g, r in t.iterrows()]
        out.append({"label": label, "rows": rows, "now": int(t["this year"].sum()), "then": int(t["last year"].sum())})
    return out


def conversation(pr: PackResults, agency_id: str) -> list[dict]:
    """DfE only: for each indicator not on track, what to ask about and who is involved.

    The topics follow the framework's list for the management conversation
    (host employer and provider behaviour, a particular standard, the
    sector, end-point assessment, progress on earlier plans), filled in with
    where the counts sit in this agency's data.
    """
    res = pr.results[pr.results["agency_id"] == agency_id]
    b = pr.breakdowns[pr.breakdowns["agency_id"] == agency_id]
    reviews = pr.tables.get("reviews")
    earlier = reviews[reviews["agency_id"] == agency_id] if reviews is not None and len(reviews) else None
    out = []
    for r in res.itertuples():
        if r.status not in FAILING:
            continue
        d = b[b["indicator"] == r.indicator].copy()
        if r.indicator == "achievement_rate":
            d["_k"] = d["denominator"] - d["numerator"]
        elif r.indicator in BANDED:
            d["_k"] = d["n_at_risk_band"] + d["n_needs_improvement_band"]
        else:
            d["_k"] = d["numerator"]

        def top(dim: str) -> str:
            x = d[(d["dimension"] == dim) & (d["_k"] > 0)].sort_values(["_k", "group"], ascending=[False, True])
            return ", ".join(f"{g} ({int(k)})" for g, k in zip(x["group"].head(2), x["_k"].head(2))) or "none"

        asks = [f"Training providers with the most: {top('provider')}; host employers: {top('host_employer')}. "
                "Ask for evidence on how these partners have behaved and what the agency has done with them.",
                f"Standards with the most: {top('standard')}. Ask whether something about these standards, or the "
                "sector, explains it."]
        if r.indicator == "achievement_rate":
            asks.append("Ask whether end-point assessment (availability, the assessment organisation) played a part.")
        if r.indicator == "withdrawals":
            asks.append("Ask for the reasons behind withdrawals recorded as other or not known, and for the "
                        "agency's own withdrawal monitoring.")
        if r.indicator == "breaks_in_learning":
            asks.append("Ask who initiated the long breaks and what contact the agency keeps with those apprentices.")
        if r.indicator == "outside_approved_areas":
            asks.append("Ask whether the delivery outside the approvals still serves the target group in the "
                        "agency's application to the register.")
        if earlier is not None and len(earlier):
            last = earlier.sort_values("review_date").iloc[-1]
            asks.append(f"Progress since the review of {fmt_date(last['review_date'])} "
                        f"({str(last['intervention']).replace('_', ' ')}): what has changed, and when will it show?")
        else:
            asks.append("No earlier review is in the data: agree realistic improvement targets and checkpoints.")
        out.append({"title": BY_ID[r.indicator].title, "status": r.status, "asks": asks})
    return out


def data_quality_notes(pr: PackResults, agency_id: str) -> list[str]:
    """Data timeliness and accuracy observations for the conversation."""
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
    rejected = int(pr.rejected_summary["rows"].sum()) if len(pr.rejected_summary) else 0
    if rejected:
        notes.append(f"{rejected} input row(s) were quarantined across all agencies (see the annex).")
    return notes
