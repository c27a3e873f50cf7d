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
from pydantic import Field, ValidationError

from ..errors import InputError
from ..models import Strict
from .context import Fact, review_params

# The scope of a suggestion that covers every route and standard of the agency.
AGENCY_WIDE = "agency"


@dataclass
class Situation:
    """What the rules look at for one agency."""

    current: dict[str, str]  # indicator -> status
    previous: dict[str, str] = field(default_factory=dict)
    earlier_interventions: list[str] = field(default_factory=list)  # from reviews.csv, oldest first
    facts: list[Fact] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # indicator -> why it has no data (or another note)


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
    # "No data" is not "on track": the framework leaves alone only an agency on track on every indicator.
    if s.current and all(v == "on_track" for v in s.current.values()):
        return "every indicator is on track", ""
    return None


def any_no_data(s: Situation, rule: dict):
    hit = [k for k, v in s.current.items() if v == "no_data"]
    if not hit and s.current:
        return None
    if not s.current:
        return "no indicator could be computed for this agency", ""
    lacks = "; ".join(f"{k.replace('_', ' ')}: {s.notes.get(k) or 'no data'}" for k in hit)
    return f"no judgement is possible on {_titles(hit)} ({lacks})", ""


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
    if hit and len(hit) >= rule["count"] and not any(v == "at_risk" for v in s.current.values()):
        return f"needs improvement on {_titles(hit)} (the rule asks for {rule['count']} or more)", ""
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


def at_risk_on_at_least(s: Situation, rule: dict):
    # At risk on several indicators is not one sector's problem, so a restriction would cover the whole agency.
    hit = [k for k, v in s.current.items() if v == "at_risk"]
    if hit and len(hit) >= rule["count"]:
        return f"at risk on {len(hit)} indicators, not one sector's problem", AGENCY_WIDE
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


CONDITIONS = {f.__name__: f for f in (all_on_track, any_no_data, for_discussion, any_needs_improvement,
                                      needs_improvement_on_at_least, needs_improvement_again, any_at_risk,
                                      at_risk_concentrated, at_risk_on_at_least, at_risk_again_with_plan,
                                      at_risk_after_audit)}


class ReviewRule(Strict):
    """One rule of ``params/review.yaml``: a condition above and the intervention it suggests."""

    id: str
    when: str
    suggest: str
    count: int | None = Field(default=None, ge=1)


def review_rules(params: dict) -> list[dict]:
    """The rules, checked: every condition exists, every intervention is named, counts are whole and positive."""
    try:
        rules = [ReviewRule.model_validate(r) for r in params["rules"]]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"params/review.yaml: rules: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    for r in rules:
        if r.when not in CONDITIONS:
            raise InputError(f"params/review.yaml: rule {r.id}: unknown condition '{r.when}'")
        if r.suggest not in params["interventions"]:
            raise InputError(f"params/review.yaml: rule {r.id}: unknown intervention '{r.suggest}'")
        if r.when.endswith("_at_least") and r.count is None:
            raise InputError(f"params/review.yaml: rule {r.id}: '{r.when}' needs a count")
    return [r.model_dump() for r in rules]


def scope_words(scope: str) -> str:
    """How a restriction's scope reads after the intervention's name."""
    if scope == AGENCY_WIDE:
        return "across the whole agency"
    return f"limited to the {scope}" if scope else ""


def suggest(s: Situation, params: dict | None = None) -> list[Suggestion]:
    """Every rule that fires, mildest intervention first (duplicates kept once, with all reasons)."""
    params = params or review_params()
    texts = params["interventions"]
    order = list(texts)
    fired: dict[tuple[str, str], Suggestion] = {}
    for rule in review_rules(params):
        out = CONDITIONS[rule["when"]](s, rule)
        if out is None:
            continue
        because, scope = out
        key = (rule["suggest"], scope)
        text = texts[rule["suggest"]] + (f" ({scope_words(scope)})" if scope else "")
        if key in fired:
            old = fired[key]
            fired[key] = Suggestion(old.intervention, old.text, f"{old.rule}, {rule['id']}",
                                    f"{old.because}; {because}", scope)
        else:
            fired[key] = Suggestion(rule["suggest"], text, rule["id"], because, scope)
    return sorted(_fold_into_agency_wide(fired).values(), key=lambda x: (order.index(x.intervention), x.scope))


def _fold_into_agency_wide(fired: dict[tuple[str, str], Suggestion]) -> dict[tuple[str, str], Suggestion]:
    """An intervention suggested across the whole agency covers the same one limited to a route or standard.

    Both are kept as one line: the agency-wide one, with the narrower
    rule's reason (where the problem is sharpest) beside its own.
    """
    out = dict(fired)
    for (intervention, scope), s in fired.items():
        wide = out.get((intervention, AGENCY_WIDE))
        if scope and scope != AGENCY_WIDE and wide is not None:
            out[(intervention, AGENCY_WIDE)] = Suggestion(intervention, wide.text, f"{wide.rule}, {s.rule}",
                                                          f"{wide.because}; sharpest in the {scope}", AGENCY_WIDE)
            del out[(intervention, scope)]
    return out


def situation(pr, agency_id: str, facts: list[Fact], reviews: pd.DataFrame | None = None) -> Situation:
    """The rules' inputs for one agency, from the cached results and earlier reviews."""
    mine = pr.results[pr.results["agency_id"] == agency_id].set_index("indicator")
    cur = mine["status"].to_dict()
    notes = {k: str(v) for k, v in mine["note"].items() if isinstance(v, str) and v} if "note" in mine else {}
    prev_rows = pr.previous[pr.previous["agency_id"] == agency_id] if len(pr.previous) else pr.previous
    prev = prev_rows.set_index("indicator")["status"].to_dict() if len(prev_rows) else {}
    earlier = []
    if reviews is not None and len(reviews):
        r = reviews[reviews["agency_id"] == agency_id].sort_values("review_date")
        earlier = [str(x) for x in r["intervention"]]
    return Situation(cur, prev, earlier, facts, notes)
