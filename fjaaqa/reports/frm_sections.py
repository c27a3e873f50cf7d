"""Sections of a provider's funding rules monitoring report, each an HTML fragment.

The report notebook (``notebooks/frm_report.ipynb``) only displays these;
everything here reads a :class:`~fjaaqa.frm.FrmResult` from
:func:`fjaaqa.store.frm_runs.load_or_run`. The report is restricted: its query
lists carry learner references, which the provider's data team needs to act.
"""

from __future__ import annotations

import pandas as pd

from ..frm.catalogue import STREAM_LABELS
from ..frm.run import FrmResult
from ..render.templating import render

RULE_ROW_COLUMNS = [("query_id", "Query ID"), ("LearnRefNumber", "Learner ref"), ("aim", "Aim (seq, start)"),
                    ("funding_stream", "Funding stream"), ("PartnerUKPRN", "Sub­contractor"),
                    ("funding_impact", "Impact"), ("change", "Change"), ("reason", "Why it is flagged")]
COLUMN_WIDTHS = ["15%", "9%", "15%", "12%", "10%", "9%", "9%", "21%"]
SIXTEEN_TO_NINETEEN = {"study_programme", "traineeship_16_18", "t_level"}


def money(v) -> str:
    """£ with thousands separators; an unknown amount as an en dash (never £0)."""
    if v is None or pd.isna(v):
        return "–"
    return f"£{float(v):,.2f}"


def _mine(res: FrmResult, ukprn: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    f = res.flags[res.flags["UKPRN"] == str(ukprn)]
    st = res.status[res.status["UKPRN"] == str(ukprn)]
    rv = res.resolved[res.resolved["UKPRN"] == str(ukprn)]
    return f, st, rv


def impact_total(f: pd.DataFrame):
    """Funding at risk over some rows, each learner's (16 to 19) or aim's funding counted once.

    One learner can be queried by several rules; adding their funding per row
    would count it several times.
    """
    if f.empty or f["funding_impact"].isna().all():
        return None
    per_learner = f["funding_stream"].isin(SIXTEEN_TO_NINETEEN)
    def text(col: str) -> pd.Series:
        return f[col].astype(object).where(f[col].notna(), "").astype(str)  # pandas 3 keeps NA through astype(str)

    key = (text("UKPRN") + "|" + text("LearnRefNumber") + "|" + text("AimSeqNumber").where(~per_learner, "") + "|"
           + text("LearnAimRef").where(~per_learner, ""))
    v = pd.to_numeric(f["funding_impact"], errors="coerce")
    return float(v.groupby(key, dropna=False).max().sum())


def cover(res: FrmResult, ukprn: str, run_date: str) -> str:
    f, _, rv = _mine(res, ukprn)
    rules = [r for r in res.catalogue.rules if (f["rule"] == r.id).any() or (rv["rule"] == r.id).any()]
    return render("frm_cover.html.j2", res=res, ukprn=ukprn, run_date=run_date, rules=rules,
                  period=res.period, compared=res.compared_with, flagged=len(f), providers=1)


def summary(res: FrmResult, ukprn: str) -> str:
    """Landing page: rows and funding at risk per rule, against the previous return."""
    f, st, rv = _mine(res, ukprn)
    rows, clear, not_run = [], [], []
    for rule in res.catalogue.rules:
        mine, gone = f[f["rule"] == rule.id], rv[rv["rule"] == rule.id]
        if rule.id in res.unavailable:
            not_run.append({"id": rule.id, "why": res.unavailable[rule.id]})
        elif mine.empty and gone.empty:
            clear.append(rule.id)
        else:
            rows.append({"id": rule.id, "title": rule.title, "flagged": len(mine),
                         "new": int((mine["change"] == "new").sum()),
                         "persisting": int((mine["change"] == "persisting").sum()), "resolved": len(gone),
                         "impact": money(impact_total(mine)), "recover": rule.action == "recover"})
    recover = [r.id for r in res.catalogue.rules if r.action == "recover"]
    totals = {"flagged": len(f), "new": int((f["change"] == "new").sum()),
              "persisting": int((f["change"] == "persisting").sum()), "resolved": len(rv),
              "impact": money(impact_total(f)), "recover": money(impact_total(f[f["rule"].isin(recover)]))}
    return render("frm_summary.html.j2", rows=rows, clear=clear, not_run=not_run, totals=totals, res=res,
                  period=res.period, compared=res.compared_with, streams=by_stream(f), partners=by_subcontractor(f),
                  withdrawn=res.catalogue.withdrawn)


def by_stream(f: pd.DataFrame) -> list[dict]:
    """Rows and funding impact by funding stream, most rows first."""
    out = []
    for stream, g in f.groupby("funding_stream", sort=True):
        out.append({"label": STREAM_LABELS.get(stream, stream), "rows": len(g), "rules": g["rule"].nunique(),
                    "impact": money(impact_total(g))})
    return sorted(out, key=lambda r: (-r["rows"], r["label"]))


def by_subcontractor(f: pd.DataFrame) -> list[dict]:
    """Rows and funding impact by subcontractor (PartnerUKPRN); direct delivery as its own line."""
    partner = f["PartnerUKPRN"].fillna("").astype(str)
    out = []
    for p, g in f.groupby(partner, sort=True):
        out.append({"label": p or "Delivered directly (no subcontractor)", "rows": len(g),
                    "rules": g["rule"].nunique(), "impact": money(impact_total(g))})
    return sorted(out, key=lambda r: (-r["rows"], r["label"]))


def calendar(res: FrmResult) -> str:
    """The return calendar with review points, and where this return sits."""
    entries = [{"ret": e.return_code, "month": e.month, "use": e.use, "review": e.review, "recovery": e.recovery,
                "here": e.return_code == res.period.return_code} for e in res.catalogue.calendar]
    here = next((e for e in entries if e["here"]), None)
    after = [e for e in entries if e["ret"] > res.period.return_code and e["review"]]
    return render("frm_calendar.html.j2", entries=entries, here=here, next_review=after[0] if after else None,
                  period=res.period)


def rule_pages(res: FrmResult, ukprn: str) -> str:
    """One page per rule with rows (or rows resolved since the previous return): what, what to do, what happens."""
    f, _, rv = _mine(res, ukprn)
    pages = []
    for rule in res.catalogue.rules:
        mine, gone = f[f["rule"] == rule.id], rv[rv["rule"] == rule.id]
        if mine.empty and gone.empty:
            continue
        pages.append({
            "rule": rule, "streams": [STREAM_LABELS.get(s, s) for s in rule.streams],
            "guidance": rule.guidance_at(res.period, res.catalogue.year),  # the version in force at this return
            "action": res.catalogue.actions[rule.action], "rows": _rows(mine), "resolved": _rows(gone),
            "impact": money(impact_total(mine)), "new": int((mine["change"] == "new").sum()),
        })
    return render("frm_rules.html.j2", pages=pages, columns=[c for _, c in RULE_ROW_COLUMNS], widths=COLUMN_WIDTHS,
                  period=res.period)


def _rows(df: pd.DataFrame) -> list[list[str]]:
    out = []
    for rec in df.sort_values(["change", "LearnRefNumber", "query_id"], kind="stable").to_dict("records"):
        row = []
        for key, _ in RULE_ROW_COLUMNS:
            v = rec.get(key)
            if key == "aim":
                ref, seq, start = (rec.get(k) for k in ("LearnAimRef", "AimSeqNumber", "LearnStartDate"))
                v = "–" if _blank(ref) else f"{ref} ({'–' if _blank(seq) else seq}, {'–' if _blank(start) else start})"
                row.append(v)
            elif key == "funding_impact":
                row.append(money(v))
            elif key == "funding_stream":
                row.append(STREAM_LABELS.get(v, v or "–"))
            else:
                row.append("–" if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "" else str(v))
        out.append(row)
    return out


def _blank(v) -> bool:
    return v is None or v == "" or (not isinstance(v, str) and pd.isna(v))


def annex(res: FrmResult) -> str:
    """How the report was made: catalogue, readings, inputs and their hashes."""
    return render("frm_annex.html.j2", res=res, meta=res.meta, period=res.period,
                  unavailable=sorted(res.unavailable.items()))


def report(res: FrmResult, ukprn: str, run_date: str) -> list[str]:
    """Every section in order (the notebook displays the same list)."""
    return [cover(res, ukprn, run_date), summary(res, ukprn), calendar(res), rule_pages(res, ukprn), annex(res)]
