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

import yaml

from ..models import Strict
from ..paths import params_yaml

ELEMENT_COLUMNS = ["Component", "Element ID", "Element", "What it covers", "Rating", "Strengths",
                   "Areas for improvement", "Owner", "Target date"]


EVIDENCE_COLUMNS = ["Element ID", "Evidence", "Held"]


PARTNERSHIP_COLUMNS = ["ID", "Statement", "Answer", "Owner", "Target date", "Notes"]


DETAILS = {"Agency ID": "agency_id", "Assessment date": "assessment_date"}


class Element(Strict):
    id: str
    title: str
    descriptor: str
    evidence: list[str]


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
    statements: list[Statement]


class Frameworks(Strict):
    qif: Qif
    partnership: Partnership


class SelfAssessParams(Strict):
    rating_scale: dict[int, str]
    weak_at_most: int
    strong_at_least: float
    partnership_action_for: list[str]
    default_action_days: int


@lru_cache(maxsize=1)
def frameworks() -> Frameworks:
    path = Path(__file__).parent / "data" / "self_assessment.yaml"
    return Frameworks.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def params() -> SelfAssessParams:
    return SelfAssessParams.model_validate(params_yaml("selfassessment.yaml"))


# ------------------------------------------------------------------ template
