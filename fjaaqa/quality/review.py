"""Suggested interventions: advisory, never automatic.

The framework's interventions run from none, through a watching brief,
enhanced monitoring, a quality improvement plan and restrictions on starts,
to an external audit and removal from the register; several may apply at
once, and a restriction may be limited to one sector or standard. Which
ones to suggest is data (``params/review.yaml``: each rule names a
condition and an intervention); each condition is one small function below.
Every suggestion carries the rule that fired, in words, and the mitigating
facts to weigh. Only the DfE audience sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .context import Fact, review_params


@dataclass
class Situation:
    """What the rules look at for one agency."""

    current: dict[str, str]  # indicator -> status
    previous: dict[str, str] = field(default_factory=dict)
    earlier_interventions: list[str] = field(default_factory=list)  # from reviews.csv, oldest first
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class Suggestion:
    intervention: str
    text: str
    rule: str
    because: str
    scope: str = ""


def _titles(indicators) -> str:
    return ", ".join(i.replace("_", " ") for i in indicators)


# ------------------------------------------------------------------ conditions
# Each returns None (did not fire) or (because, scope).

def all_on_track(s: Situation, rule: dict):
    if all(v in ("on_track", "no_data") for v in s.current.values()):
        return "every indicator is on track (or has no data)", ""
    return None


def for_discussion(s: Situation, rule: dict):
    if s.current.get("outside_approved_areas") == "for_discussion":
        return "delivery outside the approved sectors or regions is above the trigger for discussion", ""
    return None


def any_needs_improvement(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "needs_improvement"]
    if hit and not any(v == "at_risk" for v in s.current.values()):
        return f"needs improvement on {_titles(hit)}", ""
    return None


def needs_improvement_on_at_least(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "needs_improvement"]
    if len(hit) >= int(rule.get("count", 2)) and not any(v == "at_risk" for v in s.current.values()):
        return f"needs improvement on {len(hit)} indicators ({_titles(hit)})", ""
    return None


def needs_improvement_again(s: Situation, rule: dict):
    # Needs improvement in both years is "no significant progress"; up from at risk is progress.
    hit = [k for k, v in s.current.items() if v == "needs_improvement" and s.previous.get(k) == "needs_improvement"]
    if hit and not any(v == "at_risk" for v in s.current.values()):
        return f"needs improvement on {_titles(hit)} in both this year and last: no significant progress", ""
    return None


def any_at_risk(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "at_risk"]
    if hit:
        return f"at risk on {_titles(hit)}", ""
    return None


def at_risk_concentrated(s: Situation, rule: dict):
    for f in s.facts:
        ind = f.id.removeprefix("concentration_")
        if f.id.startswith("concentration_") and f.present and s.current.get(ind) == "at_risk" \
                and f.scope.split(":")[0] in ("route", "standard"):
            return f"at risk on {ind.replace('_', ' ')}, and {f.evidence}", f.scope
    return None


def at_risk_again_with_plan(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "at_risk" and s.previous.get(k) == "at_risk"]
    if hit and "quality_improvement_plan" in s.earlier_interventions:
        return (f"at risk on {_titles(hit)} in both years although a quality improvement plan was agreed "
                "at an earlier review"), ""
    return None


def at_risk_after_audit(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "at_risk"]
    if hit and "external_audit" in s.earlier_interventions:
        return f"still at risk on {_titles(hit)} after an external audit at an earlier review", ""
    return None


CONDITIONS = {f.__name__: f for f in (all_on_track, for_discussion, any_needs_improvement,
                                      needs_improvement_on_at_least, needs_improvement_again, any_at_risk,
                                      at_risk_concentrated, at_risk_again_with_plan, at_risk_after_audit)}


def suggest(s: Situation, params: dict | None = None) -> list[Suggestion]:
    """Every rule that fires, mildest intervention first (duplicates kept once, with all reasons)."""
    params = params or review_params()
    texts = params["interventions"]
    order = list(texts)
    fired: dict[tuple[str, str], Suggestion] = {}
    for rule in params["rules"]:
        out = CONDITIONS[rule["when"]](s, rule)
        if out is None:
            continue
        because, scope = out
        key = (rule["suggest"], scope)
        text = texts[rule["suggest"]] + (f" (limited to the {scope})" if scope else "")
        if key in fired:
            old = fired[key]
            fired[key] = Suggestion(old.intervention, old.text, f"{old.rule}, {rule['id']}",
                                    f"{old.because}; {because}", scope)
        else:
            fired[key] = Suggestion(rule["suggest"], text, rule["id"], because, scope)
    return sorted(fired.values(), key=lambda x: (order.index(x.intervention), x.scope))


def situation(pr, agency_id: str, facts: list[Fact], reviews: pd.DataFrame | None = None) -> Situation:
    """The rules' inputs for one agency, from the cached results and earlier reviews."""
    cur = pr.results[pr.results["agency_id"] == agency_id].set_index("indicator")["status"].to_dict()
    prev_rows = pr.previous[pr.previous["agency_id"] == agency_id] if len(pr.previous) else pr.previous
    prev = prev_rows.set_index("indicator")["status"].to_dict() if len(prev_rows) else {}
    earlier = []
    if reviews is not None and len(reviews):
        r = reviews[reviews["agency_id"] == agency_id].sort_values("review_date")
        earlier = [str(x) for x in r["intervention"]]
    return Situation(cur, prev, earlier, facts)
