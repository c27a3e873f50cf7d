"""The agency's improvement action plan, made from its self-assessment.

An action for each weak element, then for each partnership statement
whose answer needs one (params ``partnership_action_for``: "A: not sure",
then "B: some progress"; the checklist asks for a plan from the answers,
and "some progress" is not yet "considerable"), carrying the owner and date
the agency gave (or a default date), with progress against a previous
assessment when given. Elements and statements marked not applicable never
make an action.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from .frameworks import frameworks, params
from .reading import Assessment, cell_value


def action_plan(a: Assessment, previous: Assessment | None = None) -> pd.DataFrame:
    """Actions for weak elements and statements needing one, with owners and dates (carried from before if blank).

    Order: elements in the framework's order; then statements answer by
    answer in the order of ``partnership_action_for`` (all A, then all B),
    each in the checklist's order.
    """
    fw, p = frameworks(), params()
    when = a.assessment_date or date(2000, 1, 1)
    default_date = when + timedelta(days=p.default_action_days)
    prev_el = previous.elements.set_index("id") if previous is not None else pd.DataFrame()
    prev_pa = previous.partnership.set_index("id") if previous is not None else pd.DataFrame()
    held = a.evidence.groupby("element")
    rows = []
    for c, e in fw.qif.elements():
        r = a.elements[a.elements["id"] == e.id]
        if r.empty or pd.isna(r.iloc[0]["rating"]) or int(r.iloc[0]["rating"]) > p.weak_at_most:
            continue
        r = r.iloc[0]
        gaps = []
        if e.id in held.groups:
            g = held.get_group(e.id)
            gaps = list(g.loc[~g["held"], "evidence"])
        if gaps and e.evidence_by == "fjaaqa":  # the framework lists none: say whose list it is
            gaps[0] = f"fjaaqa's suggestions: {gaps[0]}"
        before = prev_el.loc[e.id] if e.id in prev_el.index else None
        owner = _first(r["owner"], before["owner"] if before is not None else None)
        target = _first(r["target_date"], before["target_date"] if before is not None else None) or default_date
        progress = "" if before is None or pd.isna(before["rating"]) else _progress(before["rating"], r["rating"])
        rows.append({"source": "Quality Improvement Framework", "item": f"{e.id} {e.title}", "component": c.title,
                     "rating": f"{int(r['rating'])} {p.rating_scale[int(r['rating'])]}",
                     "action": _first(r["areas"]) or f"Strengthen: {e.descriptor}",
                     "evidence_to_gather": "; ".join(gaps), "owner": owner or "to be agreed",
                     "target_date": _iso(target), "progress": progress})
    answers = dict(a.partnership.drop_duplicates("id")[["id", "answer"]].itertuples(index=False))
    wanted = [(code, s) for code in p.partnership_action_for for s in fw.partnership.statements
              if answers.get(s.id) == code]
    for code, s in wanted:
        r = a.partnership[a.partnership["id"] == s.id].iloc[0]
        before = prev_pa.loc[s.id] if s.id in prev_pa.index else None
        owner = _first(r["owner"], before["owner"] if before is not None else None)
        target = _first(r["target_date"], before["target_date"] if before is not None else None) or default_date
        progress = "" if before is None or _first(before["answer"]) is None else \
            f"{before['answer']} then, {r['answer']} now"
        rows.append({"source": "Partnership checklist", "item": f"{s.id} {s.text}", "component": "Partnership working",
                     "rating": f"{r['answer']} {fw.partnership.choices[r['answer']]}",
                     "action": _first(r["notes"]) or fw.partnership.actions[code],
                     "evidence_to_gather": "", "owner": owner or "to be agreed", "target_date": _iso(target),
                     "progress": progress})
    return pd.DataFrame(rows, columns=["source", "item", "component", "rating", "action", "evidence_to_gather",
                                       "owner", "target_date", "progress"])


def _first(*values):
    """The first value that is given (not None, NaN or empty)."""
    for v in values:
        if cell_value(v) is not None and not (not isinstance(v, (str, date)) and pd.isna(v)):
            return v
    return None


def _progress(before, now) -> str:
    if now is None or pd.isna(now):
        return ""
    d = int(now) - int(before)
    return f"up from {int(before)}" if d > 0 else f"down from {int(before)}" if d < 0 else f"unchanged at {int(now)}"


def _iso(d) -> str:
    if d is None or (not isinstance(d, (date, str)) and pd.isna(d)):
        return ""
    return d.isoformat() if isinstance(d, date) else str(d)[:10]
