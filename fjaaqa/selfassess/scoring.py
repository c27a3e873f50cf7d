"""Scoring a self-assessment: component means, evidence coverage, the partnership profile, progress.

Scores are plain means of the element ratings on the framework's scale;
where the agency's own view disagrees with its indicator statuses, the
pack says so. An element or statement the agency marks not applicable is
left out of every score, share and denominator; a component whose elements
are all not applicable has no score (None), never 0.
"""

from __future__ import annotations

import pandas as pd

from .frameworks import frameworks, params
from .reading import Assessment


def component_scores(a: Assessment) -> pd.DataFrame:
    """Per component: mean rating, as a share of the top of the scale, and evidence coverage (applicable only)."""
    fw, p = frameworks(), params()
    top = max(p.rating_scale)
    na = _not_applicable_ids(a)
    rows = []
    for c in fw.qif.components:
        applicable = [e for e in c.elements if e.id not in na]
        ids = [e.id for e in applicable]
        r = a.elements[a.elements["id"].isin(ids)]["rating"].dropna().astype(float)
        ev = a.evidence[a.evidence["element"].isin(ids)]
        total = sum(len(e.evidence) for e in applicable)
        rows.append({"component": c.id, "title": c.title, "elements": len(c.elements), "rated": len(r),
                     "not_applicable": len(c.elements) - len(applicable),
                     "score": round(float(r.mean()), 2) if len(r) else None,
                     "score_percent": round(100.0 * float(r.mean()) / top, 1) if len(r) else None,
                     "evidence_held": int(ev["held"].sum()), "evidence_types": total,
                     "evidence_coverage": round(100.0 * int(ev["held"].sum()) / total, 1) if total else None})
    return pd.DataFrame(rows)


def _not_applicable_ids(a: Assessment) -> set[str]:
    if "not_applicable" not in a.elements:
        return set()
    return set(a.elements.loc[a.elements["not_applicable"].fillna(False).astype(bool), "id"])


def partnership_profile(a: Assessment) -> dict[str, int]:
    """Statements per answer; not-applicable ones are in none, so the counts add up to the statements that apply."""
    return {k: int((a.partnership["answer"] == k).sum()) for k in frameworks().partnership.choices}


def not_applicable(a: Assessment) -> dict[str, list[str]]:
    """The elements and statements the agency marked not applicable, as "id title", in the frameworks' order."""
    fw, na = frameworks(), _not_applicable_ids(a)
    marked = set(a.partnership.loc[a.partnership["answer"] == params().na, "id"])
    return {"elements": [f"{e.id} {e.title}" for _, e in fw.qif.elements() if e.id in na],
            "statements": [f"{s.id} {s.text}" for s in fw.partnership.statements if s.id in marked]}


def progress(a: Assessment, previous: Assessment) -> pd.DataFrame:
    """Component scores now and at the previous assessment."""
    now, before = component_scores(a), component_scores(previous)
    m = now[["component", "title", "score"]].merge(before[["component", "score"]], on="component",
                                                   suffixes=("", "_previous"))
    # the change comes from unrounded means, not from the rounded scores shown
    m["change"] = (m["component"].map(_means(a)) - m["component"].map(_means(previous))).round(2)
    return m.astype(object).where(m.notna(), None)  # a component not applicable then or now has no change


def _means(a: Assessment) -> dict[str, float]:
    out = {}
    for c in frameworks().qif.components:
        r = a.elements[a.elements["id"].isin([e.id for e in c.elements])]["rating"].dropna().astype(float)
        out[c.id] = float(r.mean()) if len(r) else float("nan")
    return out


def disagreements(scores: pd.DataFrame, results: pd.DataFrame, agency_id: str) -> list[str]:
    """Where the agency rates itself strong but its data show it at risk: one sentence for all such components."""
    p = params()
    at_risk = results[(results["agency_id"] == agency_id) & (results["status"] == "at_risk")]
    if at_risk.empty:
        return []
    from ..quality.indicators import BY_ID

    names = [BY_ID[i].title.lower() for i in at_risk["indicator"]]
    risky = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    strong = scores[scores["score"].fillna(0) >= p.strong_at_least]
    if strong.empty:
        return []
    top = max(p.rating_scale)
    if len(strong) == 1:
        r = strong.iloc[0]
        return [f"Self-rated strong on '{r['title']}' ({r['score']:.1f} of {top}) while the data show the agency at "
                f"risk on {risky}."]
    listed = ", ".join(f"{r.component} ({r.score:.1f})" for r in strong.itertuples())
    return [f"Self-rated strong on {len(strong)} of {len(scores)} components (components {listed}, of {top}) while "
            f"the data show the agency at risk on {risky}."]
