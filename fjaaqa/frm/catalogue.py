"""The FRM catalogue: each report as data, read from ``params/frm/<year>.yaml`` and validated.

A report's title, funding streams, guidance and actions (in our words), the
level it works at and the inputs it needs are data; its logic is one
function in :mod:`fjaaqa.frm.rules`. The catalogue's ``settings`` hold every
number the guidance gives, so no rule carries one in code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, model_validator

from ..errors import InputError
from ..models import Strict
from ..paths import resource
from ..periods import AcademicYear, Period, parse_year

STREAM_LABELS = {
    "study_programme": "16 to 19 study programmes", "traineeship_16_18": "16 to 18 traineeships",
    "t_level": "T Levels", "traineeship_19_24": "19 to 24 traineeships", "aeb_esfa": "ESFA adult education budget",
    "aeb_devolved": "Devolved adult education budget", "apprenticeship": "Apprenticeships",
    "advanced_learner_loans": "Advanced learner loans", "other": "Other",
}
INPUT_WORDS = {
    "lars": "lars.csv (learning aim reference data)",
    "prior_achievements": "prior achievements (an earlier year's ILR or prior_achievements.csv)",
    "previous_year": "the previous year's final return (R14)",
    "loans": "SLC loans records (slc/<year>/<return>/loans.csv)",
}


class TLevelSettings(Strict):
    progtype: str
    programme_aim: str
    placement_aim: str
    band_minimum_hours: dict[str, int]
    # Whether the band table above already counts the additional hours: if it does, adding them again would
    # count them twice, so FRM49 adds them only when this is false.
    band_minimums_include_additional_hours: bool
    default_band: str
    additional_hours_by_start_year: dict[str, int]
    placement_minimum_hours: int
    early_years_minimum_hours: int


class QualifyingPeriod(Strict):
    planned_days_at_least: int
    qualifying_days: int


class Settings(Strict):
    apprenticeship_rules_from: date
    adult_age_min: int
    young_adult_ages: tuple[int, int]
    unemployed_empstat: list[str]
    low_wage_ldm: list[str]
    gcse_pass_grades: list[str]
    gcse_retake_streams: list[str]
    prior_attain_level: dict[str, int]
    six_weeks_days: int
    continuing_reference: str
    qualifying_periods: list[QualifyingPeriod]
    just_after_days: int
    otj_share_percent: int
    otj_weekly_cap_hours: int
    otj_cap_from: date
    weekly_hours_when_unknown: int
    eii_weekly_hours: dict[str, int]
    work_experience_core_hours_above: int
    eep_share_percent_at_least: int
    als_learner_fams: dict[str, list[str]]
    tlevel: TLevelSettings
    devolved_sof: list[str]
    work_experience_aims: list[str]


class RuleVersion(Strict):
    """One version of a report within its year, in force from ``from_return`` until the next version.

    ESFA changes some reports part-way through a year (in 2022-23 from the
    R09 publication), so an earlier return is checked the way the dashboard
    checked it then. ``params`` are the numbers and switches that differ
    between the versions; ``guidance`` says what this version checks when
    that differs from the rule's own text.
    """

    from_return: str = Field(pattern=r"^R(0[1-9]|1[0-4])$")
    guidance: str | None = None
    params: dict[str, int | bool] = {}


class Rule(Strict):
    id: str
    title: str
    level: Literal["aim", "learner"]
    streams: list[str]
    needs: list[Literal["lars", "prior_achievements", "previous_year", "loans"]]
    guidance: str
    todo: str
    action: Literal["recover", "evidence", "review"]
    published_heading: bool = True
    versions: list[RuleVersion] = []
    _in_force: RuleVersion | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _versions_in_order(self) -> Rule:
        returns = [v.from_return for v in self.versions]
        if returns != sorted(set(returns)):
            raise ValueError(f"{self.id}: versions must be in return order, one per return")
        if len({frozenset(v.params) for v in self.versions}) > 1:
            raise ValueError(f"{self.id}: every version must set the same params")
        return self

    def version_at(self, period: Period, catalogue_year: str) -> RuleVersion | None:
        """The version in force at ``period``; None if the report is not yet published at that return.

        In the catalogue's own year a version applies from its return. A later
        year that borrows this catalogue takes the latest version: the changes
        stand from the return they were made. An earlier year (the previous
        return a run compares with, at R01–R08) takes the first version, or
        none when the report was first published part-way through the year.
        """
        if not self.versions:
            return None
        if period.year.label > catalogue_year:
            return self.versions[-1]
        if period.year.label < catalogue_year:
            first = self.versions[0]
            return first if first.from_return == "R01" else None
        due = [v for v in self.versions if v.from_return <= period.return_code]
        return due[-1] if due else None

    def at(self, period: Period, catalogue_year: str) -> Rule:
        """This rule as run at ``period``: :attr:`in_force` is the version the rule function reads."""
        rule = self.model_copy()
        rule._in_force = self.version_at(period, catalogue_year)
        return rule

    @property
    def in_force(self) -> RuleVersion | None:
        return self._in_force

    def published_at(self, period: Period, catalogue_year: str) -> bool:
        return not self.versions or self.version_at(period, catalogue_year) is not None

    def guidance_at(self, period: Period, catalogue_year: str) -> str:
        """What the rule checks at ``period``: the version's own words where it has them."""
        v = self.version_at(period, catalogue_year)
        return v.guidance if v is not None and v.guidance else self.guidance


class CalendarEntry(Strict):
    return_code: str = Field(alias="return")
    month: str
    use: str
    review: bool = False
    recovery: bool = False


class Withdrawn(Strict):
    id: str
    title: str


class Catalogue(Strict):
    year: str
    source: str
    calendar: list[CalendarEntry]
    actions: dict[str, str]
    rules: list[Rule]
    withdrawn: list[Withdrawn]
    settings: Settings

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def catalogue_files() -> dict[str, Path]:
    """Shipped catalogues by funding year label (``2022-23`` …)."""
    return {p.stem: p for p in sorted(resource("params", "frm").glob("*.yaml"))}


def read_catalogue(year: str | AcademicYear | None = None) -> tuple[Catalogue, str | None]:
    """The catalogue for ``year`` and a note when it is another year's.

    With no catalogue for the year itself, the latest earlier one is used and
    the note says so: the rules and numbers are then that year's, not this one's.
    """
    files = catalogue_files()
    if not files:
        raise InputError("no FRM catalogue in params/frm/")
    label = parse_year(year).label if year is not None else max(files)
    usable = [y for y in files if y <= label] or [min(files)]
    chosen = max(usable)
    try:
        cat = Catalogue.model_validate(yaml.safe_load(files[chosen].read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise InputError(f"the FRM catalogue is not valid ({str(exc).splitlines()[0]})",
                         file=f"params/frm/{chosen}.yaml") from None
    note = None if chosen == label else (f"the FRM catalogue for {chosen} is applied to {label}: its rules and "
                                         f"numbers are those of {chosen}")
    return cat, note
