"""The self-assessment frameworks: the IEP Quality Improvement Framework and the LSIS partnership checklist.

The frameworks are data (``fjaaqa/selfassess/data/self_assessment.yaml``):
components, elements, their evidence lists and the checklist statements, in
our words. The rating scale and thresholds are parameters
(``params/selfassessment.yaml``). The agency's own plan made from them is
not a DfE quality improvement plan.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from ..errors import InputError
from ..models import Strict
from ..paths import params_yaml

ELEMENT_COLUMNS = ["Component", "Element ID", "Element", "What it covers", "Rating", "Strengths",
                   "Areas for improvement", "Owner", "Target date"]


EVIDENCE_COLUMNS = ["Element ID", "Evidence", "Held", "Listed by"]

# Who lists an evidence type, as the template shows it (the catalogue's ``evidence_by``).
LISTED_BY = {"framework": "the framework", "fjaaqa": "fjaaqa's suggestion (the framework lists none)"}


PARTNERSHIP_COLUMNS = ["ID", "Statement", "Answer", "Owner", "Target date", "Notes"]


DETAILS = {"Agency ID": "agency_id", "Assessment date": "assessment_date"}


class Element(Strict):
    id: str
    title: str
    descriptor: str
    evidence: list[str]
    # "fjaaqa" where the framework gives no evidence list and the one here is our suggestion (component 5)
    evidence_by: Literal["framework", "fjaaqa"] = "framework"


class Component(Strict):
    id: str
    title: str
    elements: list[Element]


class Qif(Strict):
    source: str
    version: str
    components: list[Component]

    def elements(self) -> list[tuple[Component, Element]]:
        return [(c, e) for c in self.components for e in c.elements]


class Statement(Strict):
    id: str
    text: str


class Partnership(Strict):
    source: str
    version: str
    choices: dict[str, str]
    actions: dict[str, str]  # the plan's default action for an answer that needs one
    statements: list[Statement]


class Frameworks(Strict):
    qif: Qif
    partnership: Partnership


class SelfAssessParams(Strict):
    rating_scale: dict[int, str]
    weak_at_most: int
    strong_at_least: float
    partnership_action_for: list[str]
    not_applicable: list[str]
    default_action_days: int

    def is_not_applicable(self, value) -> bool:
        """Is this rating or answer one of the spellings of "not applicable" (any case, spaces trimmed)?"""
        if not isinstance(value, str):
            return False
        return " ".join(value.split()).casefold() in {s.casefold() for s in self.not_applicable}

    @property
    def na(self) -> str:
        """How fjaaqa writes "not applicable" (the first spelling)."""
        return self.not_applicable[0]


@lru_cache(maxsize=1)
def frameworks() -> Frameworks:
    path = Path(__file__).parent / "data" / "self_assessment.yaml"
    return Frameworks.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def params() -> SelfAssessParams:
    """The settings, checked against the checklist: an answer that needs an action must have a default one."""
    p = SelfAssessParams.model_validate(params_yaml("selfassessment.yaml"))
    known = frameworks().partnership.actions
    wrong = [k for k in p.partnership_action_for if k not in known]
    if wrong:
        raise InputError(f"partnership_action_for: {', '.join(wrong)} has no default action in the checklist "
                         f"(answers with one: {', '.join(known)})", file="params/selfassessment.yaml")
    if not p.not_applicable:
        raise InputError("not_applicable: give at least one spelling", file="params/selfassessment.yaml")
    return p


# ------------------------------------------------------------------ template
