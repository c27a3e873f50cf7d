"""Parameters of the notebooks (review pack, FRM report), validated before anything runs.

papermill only warns about a parameter the notebook does not declare; this
model forbids them, so a typo stops the notebook with a clear message
instead of silently using a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from ..errors import InputError
from ..models import Strict
from ..paths import source_root
from ..periods import make_period


def as_text(v):
    """papermill's ``-p`` parses values (``-p year 2324`` arrives as the number 2324): ids are text here."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


def resolve(path: str) -> str:
    """A relative path is taken from the current folder if it exists there, else from the repository checkout."""
    p = Path(path)
    root = source_root()
    if p.is_absolute() or p.exists() or root is None:
        return str(p.resolve())
    return str(root / path)


class Parameters(Strict):
    """A notebook's parameters: strict, and ids given as numbers (papermill's ``-p``) taken as text."""

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, v):
        return as_text(v)


class NotebookParams(Parameters):
    """What every notebook of a period takes: the period, the data, the run date and an optional results folder."""

    year: str
    return_code: str
    data_dir: str
    run_date: str = ""
    results_dir: str = ""

    @field_validator("year", "return_code")
    @classmethod
    def _period(cls, v, info):
        try:
            make_period(v, "R14") if info.field_name == "year" else make_period("2324", v)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("data_dir")
    @classmethod
    def _data(cls, v):
        path = resolve(v)
        if not Path(path).is_dir():
            raise ValueError(f"data_dir '{v}' is not a folder")
        return path

    @field_validator("run_date")
    @classmethod
    def _date(cls, v):
        if v:
            from datetime import date

            date.fromisoformat(v)
        return v


class PackParams(NotebookParams):
    """``review_pack.ipynb``."""

    agency_id: str
    thresholds: str = "quality-framework-2023"
    audience: Literal["dfe", "agency"] = "agency"


class FrmReportParams(NotebookParams):
    """``frm_report.ipynb``: one provider's funding rules monitoring report."""

    ukprn: str = Field(pattern=r"^[1-9][0-9]{7}$")
    # The batch's run of the return, by its cache key: every report of a batch then shows the same run,
    # and no kernel hashes the return's files again (185 MB for a national return).
    run_key: str = Field(default="", pattern=r"^([0-9a-f]{20})?$")


def validate_parameters(given: dict, model: type[Parameters] = PackParams) -> Parameters:
    """Validate a notebook's parameters; one readable line on failure."""
    try:
        return model(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'parameters'}: "
            + ("unknown parameter" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        )
        raise ValueError(f"invalid notebook parameters: {problems}") from None


class ScenarioParams(NotebookParams):
    """``threshold_scenarios.ipynb``: a base threshold set against one alternative."""

    base: str = "quality-framework-2023"
    alt: str


class ScenarioOverviewParams(NotebookParams):
    """``scenario_overview.ipynb``: a base threshold set against every alternative of a run."""

    base: str = "quality-framework-2023"
    alts: list[str] = Field(min_length=1)

    @field_validator("alts", mode="before")
    @classmethod
    def _list(cls, v):
        """papermill's ``-p alts a,b`` arrives as one string: the sets are its comma-separated parts."""
        return [part.strip() for part in v.split(",") if part.strip()] if isinstance(v, str) else v


class SummaryParams(NotebookParams):
    """``quality_summary.ipynb``: the periodic quality summary of one period."""

    thresholds: str = "quality-framework-2023"


class SelfAssessmentParams(Parameters):
    """``self_assessment.ipynb``: a completed self-assessment (and optionally the previous one)."""

    assessment: str
    previous: str = ""
    run_date: str = ""

    @field_validator("assessment", "previous")
    @classmethod
    def _file(cls, v):
        if not v:
            return v
        path = resolve(v)
        if not Path(path).is_file():
            raise ValueError(f"'{v}' is not a file")
        return path
