"""Declared schemas for every input table, as data, checked with pandera.

Each table lists its columns with a kind (``date``, ``code``, ``int``, ``id``
…) and whether it is required. Row rules that tie fields together (the ILR's
coupling rules, date order, duplicate keys) are listed beside the columns,
each with the field it blames and a message in words. :func:`validate`
runs everything lazily, so every failure in a file is reported at once, and
returns the failing rows in the shape of ``rejected.csv``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

# Value patterns. Codes stay strings: "034" must not become 34.
PATTERNS = {
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "code": r"[0-9A-Za-z]{1,30}",
    "int": r"-?[0-9]+",
    "number": r"-?[0-9]+(\.[0-9]+)?",
    "ukprn": r"[1-9][0-9]{7}",
    "uln": r"[0-9]{10}",
    "learnref": r"[A-Za-z0-9 ]{1,12}",
    # safe identifiers: no path separators, no dot-dot, no control characters
    "id": r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}",
    "text": r"[^\x00]*",
    # a name that may be published (a standard's title): no control characters, and not starting like a
    # spreadsheet formula
    "label": r"[^=+\-@\x00-\x1f][^\x00-\x08\x0b\x0c\x0e-\x1f]{0,199}",
    # open data in the Explore Education Statistics layout: an academic year, counts and rates that may be withheld
    "ees_period": r"[0-9]{6}",
    "ees_count": r"[0-9]+|low|x|c|z",
    "ees_rate": r"[0-9]{1,3}(\.[0-9]+)?|low|x|c|z",
}


@dataclass(frozen=True)
class Col:
    """One column: its kind, whether the table needs it, allowed codes."""

    name: str
    kind: str = "text"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    nonempty: bool | None = None  # value needed on every row; defaults to ``required``
    codes: str | None = None  # name of the shipped ILR code list the value must be in

    @property
    def must_have_value(self) -> bool:
        return self.required if self.nonempty is None else self.nonempty


@dataclass(frozen=True)
class RowRule:
    """A rule over several fields; ``fails(df)`` is True on the rows that break it.

    ``sql`` is the same rule for the SQL loader: a boolean SQL expression over
    the columns (an absent column reads as NULL), or a function of the file's
    column names giving one (None: nothing to check). ``needs`` lists the
    columns without which the rule does not run, as ``_rule_if`` does for
    ``fails``. NULL is read as pandas reads NA: ``=`` and ``IN`` are false on
    it, ``!=`` is ``IS DISTINCT FROM``; a NULL result is a pass.
    """

    name: str
    field: str
    message: str
    fails: Callable[[pd.DataFrame], pd.Series]
    sql: str | Callable[[Sequence[str]], str | None] | None = None
    needs: tuple[str, ...] = ()

    def sql_over(self, columns: Sequence[str]) -> str | None:
        """The rule's SQL for a file with ``columns``; None when it does not run there."""
        if self.sql is None or any(c not in columns for c in self.needs):
            return None
        return self.sql(columns) if callable(self.sql) else self.sql


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _has(df: pd.DataFrame, *cols: str) -> bool:
    return all(c in df.columns for c in cols)


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("str") == "")


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")


# A date outside these years is a typing slip (9999-12-31, 0023-09-01), not a fact to compute with. Wider than
# the self-assessment's 1990-2100: a learner's date of birth is often before 1990.
PLAUSIBLE_YEARS = (1900, 2100)


def _plausible(s: pd.Series) -> pd.Series:
    """True where a value written as a date has a year in PLAUSIBLE_YEARS (other values are other checks' job)."""
    year = pd.to_numeric(s.astype("str").str.extract(r"^([0-9]{4})-", expand=False), errors="coerce")
    return year.isna() | year.between(*PLAUSIBLE_YEARS)


def _rule_if(cols: tuple[str, ...], fn: Callable[[pd.DataFrame], pd.Series]):
    """Apply a rule only when its columns are present (absent means empty)."""

    def fails(df: pd.DataFrame) -> pd.Series:
        if not _has(df, *cols):
            return pd.Series(False, index=df.index)
        return fn(df).fillna(False).astype(bool)

    return fails


def _before(later: str, earlier: str) -> Callable[[pd.DataFrame], pd.Series]:
    return _rule_if((later, earlier), lambda d: _dates(d[later]) < _dates(d[earlier]))


# ---- the SQL twins of the helpers above, for the SQL loader (fjaaqa/inputs/sql_load.py)

def sql_name(col: str) -> str:
    """A column name quoted for SQL."""
    return '"' + col.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    """A text literal for SQL."""
    return "'" + value.replace("'", "''") + "'"


def _sql_blank(col: str) -> str:
    return f"({sql_name(col)} IS NULL OR {sql_name(col)} = '')"


# Every character Python (and pandas' ``str.strip``) counts as white space.
WHITESPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())


@lru_cache(maxsize=1)
def sql_macros() -> tuple[str, ...]:
    """SQL functions the rules' SQL uses; ``fjaaqa_date_key(text)`` is ``_dates`` for SQL.

    It reads text as ``pd.to_datetime(format="%Y-%m-%d", errors="coerce")``
    does and gives the date as the number yyyymmdd (NULL where pandas gives
    NaT), so dates order as pandas orders them. pandas takes two roads: an
    ISO parser (a minus sign and a year of one to four digits, or a year of
    four digits; a month and a day of one or two digits; year 0 allowed)
    and, when that fails, Python's strptime pattern (a four-digit year in any
    script's digits, month 1-12 with or without its leading zero, day with a
    leading zero, none or a space; year 1 onwards); "today" and "now" are
    today. Whether a day exists is DuckDB's date cast of the day written out.
    """
    digits = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF and unicodedata.category(chr(i)) == "Nd"]
    ascii_digits = "".join(str(unicodedata.digit(c)) for c in digits)
    return (
        "CREATE OR REPLACE TEMP MACRO fjaaqa_ymd_key(p, sign, least) AS CASE WHEN TRY_CAST(p[1] AS INTEGER) >= least "
        "AND TRY_CAST(lpad(p[1], 4, '0') || '-' || lpad(trim(p[2]), 2, '0') || '-' || lpad(trim(p[3]), 2, '0') "
        "AS DATE) IS NOT NULL THEN sign * TRY_CAST(p[1] AS INTEGER) * 10000 + TRY_CAST(trim(p[2]) AS INTEGER) * 100 "
        "+ TRY_CAST(trim(p[3]) AS INTEGER) END",
        "CREATE OR REPLACE TEMP MACRO fjaaqa_date_key(v) AS CASE "
        "WHEN regexp_full_match(v, '[0-9]{4}-[0-9]{2}-[0-9]{2}') "
        "THEN CASE WHEN TRY_CAST(v AS DATE) IS NOT NULL THEN TRY_CAST(replace(v, '-', '') AS INTEGER) END "
        "WHEN v IN ('today', 'now') THEN TRY_CAST(strftime(current_date, '%Y%m%d') AS INTEGER) "
        "WHEN regexp_full_match(v, '-[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') "
        "THEN fjaaqa_ymd_key(string_split(ltrim(v, '-'), '-'), CASE WHEN starts_with(v, '-') THEN -1 ELSE 1 END, 0) "
        "WHEN regexp_full_match(v, '\\p{Nd}{4}-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\\p{Nd}|0[1-9]|[1-9]| [1-9])') "
        f"THEN fjaaqa_ymd_key(string_split(translate(v, '{''.join(digits)}', '{ascii_digits}'), '-'), 1, 1) END",
    )


def sql_date(col: str) -> str:
    """SQL for ``_dates`` of a column: the date as yyyymmdd, NULL where pandas would give NaT.

    The SQL loader works this out once per row for each date column and puts
    that column in place of this text.
    """
    return f"fjaaqa_date_key({sql_name(col)})"


def _before_rule(name: str, later: str, earlier: str, message: str, field: str | None = None) -> RowRule:
    """``later`` must not be before ``earlier``, blaming ``field`` (``later`` unless said); run when both are there."""
    return RowRule(name, field or later, message, _before(later, earlier),
                   sql=f"{sql_date(later)} < {sql_date(earlier)}", needs=(later, earlier))


YN = ("0", "1")

LEARNERS = TableSpec(
    "learners",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("ULN", "uln", True),
        Col("DateOfBirth", "date"),
        Col("Ethnicity", "code", codes="Ethnicity"),
        Col("Sex", "code", codes="Sex"),
        Col("LLDDHealthProb", "code", codes="LLDDHealthProb"),
        Col("PriorAttain", "code"),
        Col("PlanLearnHours", "int"),
        Col("PlanEEPHours", "int"),
        Col("MathGrade", "text"),
        Col("EngGrade", "text"),
    ),
    key=("UKPRN", "LearnRefNumber"),
)


DELIVERIES = TableSpec(
    "deliveries",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("AimSeqNumber", "int", True),
        Col("LearnAimRef", "code", True),
        Col("AimType", "code", True, codes="AimType"),
        Col("FundModel", "code", True, codes="FundModel"),
        Col("LearnStartDate", "date", True),
        Col("LearnPlanEndDate", "date", True),
        Col("CompStatus", "code", True, codes="CompStatus"),
        Col("ProgType", "code", codes="ProgType"),
        Col("StdCode", "int"),
        Col("OrigLearnStartDate", "date"),
        Col("LearnActEndDate", "date"),
        Col("Outcome", "code", codes="Outcome"),
        Col("WithdrawReason", "code", codes="WithdrawReason"),
        Col("AchDate", "date"),
        Col("DelLocPostCode", "text"),
        Col("PartnerUKPRN", "ukprn"),
        Col("PHours", "int"),
        Col("OTJActHours", "int"),
        Col("EPAOrgID", "code"),
        Col("SWSupAimId", "text"),
        Col("FAM_RES", "text"),
        Col("FAM_ACT", "text"),
    ),
    key=("UKPRN", "LearnRefNumber", "AimSeqNumber"),
    rules=(
        RowRule(
            "withdrawn_needs_reason",
            "WithdrawReason",
            "a withdrawal (CompStatus 3) must give WithdrawReason",
            lambda d: (d["CompStatus"] == "3")
            & (_blank(d["WithdrawReason"]) if "WithdrawReason" in d else True),
            sql=f"\"CompStatus\" = '3' AND {_sql_blank('WithdrawReason')}",
        ),
        RowRule(
            "withdrawn_outcome_3",
            "Outcome",
            "a withdrawal (CompStatus 3) must have Outcome 3",
            _rule_if(("Outcome",), lambda d: (d["CompStatus"] == "3") & (d["Outcome"] != "3")),
            sql="\"CompStatus\" = '3' AND \"Outcome\" IS DISTINCT FROM '3'", needs=("Outcome",),
        ),
        RowRule(
            "reason_only_when_withdrawn",
            "WithdrawReason",
            "WithdrawReason is given but the aim is not withdrawn (CompStatus 3)",
            _rule_if(("WithdrawReason",), lambda d: (d["CompStatus"] != "3") & ~_blank(d["WithdrawReason"])),
            sql=f"\"CompStatus\" IS DISTINCT FROM '3' AND NOT {_sql_blank('WithdrawReason')}",
            needs=("WithdrawReason",),
        ),
        RowRule(
            "continuing_has_no_end",
            "LearnActEndDate",
            "a continuing aim (CompStatus 1) cannot have LearnActEndDate",
            _rule_if(("LearnActEndDate",), lambda d: (d["CompStatus"] == "1") & ~_blank(d["LearnActEndDate"])),
            sql=f"\"CompStatus\" = '1' AND NOT {_sql_blank('LearnActEndDate')}", needs=("LearnActEndDate",),
        ),
        RowRule(
            "ended_needs_end_date",
            "LearnActEndDate",
            "a completed, withdrawn or break aim (CompStatus 2, 3, 6) needs LearnActEndDate",
            lambda d: d["CompStatus"].isin(["2", "3", "6"])
            & (_blank(d["LearnActEndDate"]) if "LearnActEndDate" in d else True),
            sql=f"\"CompStatus\" IN ('2', '3', '6') AND {_sql_blank('LearnActEndDate')}",
        ),
        RowRule(
            "achdate_needs_outcome_1",
            "AchDate",
            "AchDate is given but Outcome is not 1 (achieved)",
            _rule_if(("AchDate",), lambda d: ~_blank(d["AchDate"]) & (d["Outcome"] != "1")
                     if "Outcome" in d else ~_blank(d["AchDate"])),
            sql=f"NOT {_sql_blank('AchDate')} AND \"Outcome\" IS DISTINCT FROM '1'", needs=("AchDate",),
        ),
        RowRule(
            "orig_start_needs_res",
            "OrigLearnStartDate",
            "OrigLearnStartDate is given but the aim has no restart FAM (RES 1)",
            _rule_if(("OrigLearnStartDate", "FAM_RES"),
                     lambda d: ~_blank(d["OrigLearnStartDate"]) & (d["FAM_RES"] != "1")),
            sql=f"NOT {_sql_blank('OrigLearnStartDate')} AND \"FAM_RES\" IS DISTINCT FROM '1'",
            needs=("OrigLearnStartDate", "FAM_RES"),
        ),
        _before_rule("plan_end_before_start", "LearnPlanEndDate", "LearnStartDate",
                     "LearnPlanEndDate is before LearnStartDate"),
        _before_rule("end_before_start", "LearnActEndDate", "LearnStartDate",
                     "LearnActEndDate is before LearnStartDate"),
        _before_rule("orig_start_after_start", "LearnStartDate", "OrigLearnStartDate",
                     "OrigLearnStartDate is after LearnStartDate", field="OrigLearnStartDate"),
        _before_rule("achdate_before_start", "AchDate", "LearnStartDate", "AchDate is before LearnStartDate"),
        RowRule(
            "programme_needs_standard",
            "StdCode",
            "an apprenticeship standard aim (ProgType 25) needs StdCode",
            _rule_if(("ProgType",),
                     lambda d: (d["ProgType"] == "25") & (_blank(d["StdCode"]) if "StdCode" in d else True)),
            sql=f"\"ProgType\" = '25' AND {_sql_blank('StdCode')}", needs=("ProgType",),
        ),
    ),
)

def _bad_esm(d: pd.DataFrame) -> pd.Series:
    """Employment monitoring (``ESM_<type>`` columns) with a code not in that type's shipped list.

    Types the list does not know are not checked (the column is simply unused).
    """
    from .reference import ilr_codes

    lists = ilr_codes().get("esm", {})
    bad = pd.Series(False, index=d.index)
    for col in [c for c in d.columns if c.startswith("ESM_")]:
        codes = set((lists.get(col[4:]) or {}).get("codes", {}))
        if codes:
            values = d[col].dropna().astype(str).str.split(";")
            bad |= values.map(lambda v: any(x not in codes for x in v)).reindex(d.index, fill_value=False)
    return bad


def _bad_esm_sql(columns: Sequence[str]) -> str | None:
    """``_bad_esm`` for SQL: over the ``ESM_<type>`` columns the file has."""
    from .reference import ilr_codes

    lists = ilr_codes().get("esm", {})
    parts = []
    for col in [c for c in columns if c.startswith("ESM_")]:
        codes = list((lists.get(col[4:]) or {}).get("codes", {}))
        if codes:
            parts.append(f"NOT list_has_all([{', '.join(sql_text(str(c)) for c in codes)}], "
                         f"string_split({sql_name(col)}, ';'))")
    return " OR ".join(parts) or None


EMPLOYMENT = TableSpec(
    "employment",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("EmpStat", "code", True, codes="EmpStat"),
        Col("DateEmpStatApp", "date", True),
        Col("EmpId", "int"),
    ),
    key=("UKPRN", "LearnRefNumber", "DateEmpStatApp"),
    rules=(RowRule("esm_code", "ESM", "an employment monitoring code is not in its type's ILR code list", _bad_esm,
                   sql=_bad_esm_sql),),
)

FAMS = TableSpec(
    "fams",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("AimSeqNumber", "int"),
        Col("FAMType", "code", True, codes="FAMType"),
        Col("FAMCode", "code", True),
        Col("DateFrom", "date"),
        Col("DateTo", "date"),
    ),
    rules=(_before_rule("fam_dates_order", "DateTo", "DateFrom", "DateTo is before DateFrom"),),
)

REGISTER = TableSpec(
    "register",
    (
        Col("agency_id", "id", True),
        Col("agency_name", "text", True),
        Col("registered_on", "date"),
        Col("removed_on", "date"),
        Col("approved_routes", "text"),
        Col("approved_regions", "text"),
        Col("ern", "text"),
    ),
    key=("agency_id",),
    rules=(
        RowRule("name_needed", "agency_name", "agency_name is empty", lambda d: _blank(d["agency_name"]),
                sql=_sql_blank("agency_name")),
        _before_rule("removed_before_registered", "removed_on", "registered_on", "removed_on is before registered_on"),
    ),
)

DELIVERY_MODELS = ("Regular", "PortableFlexiJob", "FlexiJobAgency")
COMMITMENT_STATUS = ("Live", "Paused", "Stopped", "Completed", "WaitingToStart")

COMMITMENTS = TableSpec(
    "commitments",
    (
        Col("apprenticeship_id", "id"),
        Col("ULN", "uln", True),
        Col("agency_id", "id", True, nonempty=False),
        Col("UKPRN", "ukprn", True),
        Col("StdCode", "int", True),
        Col("delivery_model", "code", True, allowed=DELIVERY_MODELS),
        Col("start_date", "date"),
        Col("planned_end_date", "date"),
        Col("status", "code", allowed=COMMITMENT_STATUS),
        Col("stop_date", "date"),
        Col("host_employer", "text"),
        Col("continuation_of_id", "id"),
    ),
    key=("apprenticeship_id",),
    rules=(
        RowRule("agency_needs_id", "agency_id", "a FlexiJobAgency commitment needs agency_id",
                lambda d: (d["delivery_model"] == "FlexiJobAgency") & _blank(d["agency_id"]),
                sql=f"\"delivery_model\" = 'FlexiJobAgency' AND {_sql_blank('agency_id')}"),
        RowRule("stopped_needs_date", "stop_date", "a Stopped commitment needs stop_date",
                _rule_if(("status",), lambda d: (d["status"] == "Stopped")
                         & (_blank(d["stop_date"]) if "stop_date" in d else True)),
                sql=f"\"status\" = 'Stopped' AND {_sql_blank('stop_date')}", needs=("status",)),
        _before_rule("planned_end_before_start", "planned_end_date", "start_date",
                     "planned_end_date is before start_date"),
    ),
)

APPROVALS = TableSpec(
    "approvals",
    (
        Col("agency_id", "id", True),
        Col("kind", "code", True, allowed=("sector", "region")),
        Col("value", "text", True),
        Col("from", "date"),
        Col("to", "date"),
    ),
    rules=(_before_rule("approval_dates_order", "to", "from", "'to' is before 'from'"),),
)

PLACEMENTS = TableSpec(
    "placements",
    (
        Col("apprenticeship_id", "id", True),
        Col("host_employer", "text"),
        Col("postcode", "text"),
        Col("from", "date"),
        Col("to", "date"),
    ),
    rules=(_before_rule("placement_dates_order", "to", "from", "'to' is before 'from'"),),
)

def _intervention_ids() -> tuple[str, ...]:
    from ..paths import params_yaml

    return tuple(params_yaml("review.yaml")["interventions"])


REVIEWS = TableSpec(
    "reviews",
    (
        Col("agency_id", "id", True),
        Col("review_date", "date", True),
        Col("intervention", "id", True, allowed=_intervention_ids()),  # ids hold underscores: not a "code"
        Col("scope", "text"),
        Col("note", "text"),
    ),
)

COLLECTION_FORM = TableSpec(
    "collection_form",
    (
        Col("agency_id", "id", True),
        Col("ULN", "uln", True),
        Col("item", "text", True, allowed=("break_initiated_by",)),
        Col("value", "code", True),
        Col("StdCode", "int"),
        Col("date", "date"),
    ),
    rules=(RowRule("break_initiator", "value", "break_initiated_by must be apprentice, employer, provider or agency",
                   lambda d: (d["item"] == "break_initiated_by")
                   & ~d["value"].isin(["apprentice", "employer", "provider", "agency"]),
                   sql="\"item\" = 'break_initiated_by' AND (\"value\" IS NULL OR "
                       "\"value\" NOT IN ('apprentice', 'employer', 'provider', 'agency'))"),),
)

FEEDBACK = TableSpec(
    "feedback",
    (
        Col("agency_id", "id", True),
        Col("rating", "number", True),
        Col("responses", "int", True),
        Col("period", "text"),
    ),
    rules=(RowRule("rating_range", "rating", "rating must be between 1 and 5",
                   lambda d: ~pd.to_numeric(d["rating"], errors="coerce").between(1, 5),
                   # DuckDB reads 1_000 as a number; pandas does not
                   sql="NOT coalesce(TRY_CAST(CASE WHEN NOT contains(\"rating\", '_') THEN \"rating\" END AS DOUBLE) "
                       "BETWEEN 1 AND 5, false)"),),
)

PROVIDERS = TableSpec(
    "providers",
    (
        Col("UKPRN", "ukprn", True),
        Col("provider_name", "label", True),
    ),
    key=("UKPRN",),
)

def _route_names() -> tuple[str, ...]:
    """The occupational routes' names, as published (the shipped reference list)."""
    from .reference import routes

    return tuple(routes()["route"])


def _region_names() -> tuple[str, ...]:
    from .reference import ENGLISH_REGIONS, OTHER_REGIONS

    return tuple(ENGLISH_REGIONS + OTHER_REGIONS)


STANDARDS = TableSpec(
    "standards",
    (
        Col("StdCode", "int", True),
        Col("title", "label", True),
        Col("level", "int", True),
        Col("route", "text", True, allowed=_route_names()),  # published: one of the 15 routes, nothing else
    ),
    key=("StdCode",),
)

POSTCODES = TableSpec(
    "postcodes",
    (Col("postcode", "text"), Col("district", "label"), Col("region", "text", True, allowed=_region_names())),
)

WORKPLACEMENTS = TableSpec(
    "workplacements",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("AimSeqNumber", "int", True),
        Col("WorkPlaceStartDate", "date", True),
        Col("WorkPlaceEndDate", "date"),
        Col("WorkPlaceHours", "int"),
        Col("WorkPlaceMode", "code"),
        Col("WorkPlaceEmpId", "int"),
    ),
    rules=(_before_rule("workplace_dates_order", "WorkPlaceEndDate", "WorkPlaceStartDate",
                        "WorkPlaceEndDate is before WorkPlaceStartDate"),),
)

ILR_TABLES = {"learners": LEARNERS, "deliveries": DELIVERIES, "employment": EMPLOYMENT, "fams": FAMS,
              "workplacements": WORKPLACEMENTS}

YES_NO = ("Y", "N")

# Learning aim reference data: the LARS fields the FRM rules read (docs/reference-data.md).
LARS = TableSpec(
    "lars",
    (
        Col("LearnAimRef", "code", True),
        Col("title", "text"),
        Col("level", "code", allowed=("E", "1", "2", "3", "4", "5", "6", "7", "8", "X")),
        Col("aim_type", "text", allowed=("gcse", "functional_skills", "stepping_stone", "work_experience",
                                         "tlevel_tq", "other")),
        Col("subject", "code", allowed=("english", "maths")),
        Col("regulated", "code", allowed=YES_NO),
        Col("approved_16_19", "code", allowed=YES_NO),
        Col("full_level_2", "code", allowed=YES_NO),
        Col("full_level_3", "code", allowed=YES_NO),
        Col("glh", "int"),
        Col("tlevel_band", "code"),
        Col("early_years", "code", allowed=YES_NO),
    ),
    key=("LearnAimRef",),
)

# Achievements from outside the data directory's ILR years (e.g. a learner
# record extract); earlier years' R14 in DATA are read as well.
PRIOR_ACHIEVEMENTS = TableSpec(
    "prior_achievements",
    (
        Col("ULN", "uln", True),
        Col("LearnAimRef", "code", True),
        Col("AchDate", "date", True),
        Col("OutGrade", "text"),
        Col("ProgType", "code"),
        Col("AimType", "code"),
        Col("StdCode", "int"),
    ),
)

# Student Loans Company records for one return (our schema: docs/reference-data.md).
LOANS = TableSpec(
    "loans",
    (
        Col("UKPRN", "ukprn", True),
        Col("ULN", "uln", True),
        Col("LearnAimRef", "code", True),
        Col("course_start_date", "date", True),
        Col("loan_status", "code", True, allowed=("approved", "cancelled", "withdrawn")),
        Col("liability_passed", "code", True, allowed=YES_NO),
        Col("LearnRefNumber", "learnref"),
        Col("amount_paid", "number"),
    ),
)

# Funding earned per aim (AimSeqNumber given) or per learner (empty), for funding impact.
EARNINGS = TableSpec(
    "earnings",
    (
        Col("UKPRN", "ukprn", True),
        Col("LearnRefNumber", "learnref", True),
        Col("amount", "number", True),
        Col("AimSeqNumber", "int"),
    ),
)


def check_message(col: Col, rule: str) -> str:
    """Words for a failed column check (pandera reports the check's name)."""
    if rule == "allowed_code" and col.codes:
        return f"{col.name} is not a code of the ILR {col.codes} list"
    if rule == "allowed_code" and col.allowed:
        return f"{col.name} must be one of {', '.join(col.allowed)}"
    if rule == "real_date":
        return f"{col.name} is not a real calendar date"
    if rule == "plausible_date":
        return f"{col.name} is not a plausible date (years {PLAUSIBLE_YEARS[0]} to {PLAUSIBLE_YEARS[1]})"
    if col.kind == "date":
        return f"{col.name} must be a date written YYYY-MM-DD"
    return f"{col.name} is not a valid {KIND_WORDS.get(col.kind, col.kind)}"


KIND_WORDS = {
    "code": "code (letters and digits)", "int": "whole number", "number": "number", "ukprn": "UKPRN (8 digits)",
    "uln": "ULN (10 digits)", "learnref": "LearnRefNumber (up to 12 letters, digits or spaces)",
    "id": "identifier (letters, digits, '.', '_' or '-'; no path characters)", "text": "text (no NUL characters)",
    "label": "name (no control characters; not starting with =, +, - or @)",
    "ees_period": "academic year of six digits (202122)", "ees_count": "count (a whole number, or low, x, c or z)",
    "ees_rate": "rate (a number, or low, x, c or z)",
}


def code_list(name: str) -> tuple[str, ...]:
    """Codes of a shipped ILR code list (``fjaaqa/reference/data/ilr_codes.yaml``)."""
    from .reference import ilr_codes

    lists = ilr_codes()
    entry = lists["fields"].get(name) or {}
    return tuple(entry.get("codes", {}))


def allowed_values(col: Col) -> tuple[str, ...] | None:
    return col.allowed or (code_list(col.codes) if col.codes else None)


def _column_checks(col: Col) -> list[pa.Check]:
    checks = [pa.Check.str_matches(rf"(?:{PATTERNS[col.kind]})\Z", name=f"{col.kind}_format")]
    if col.kind == "date":
        checks.append(pa.Check(lambda s: _dates(s).notna() | ~_plausible(s), name="real_date"))
        checks.append(pa.Check(_plausible, name="plausible_date"))
    allowed = allowed_values(col)
    if allowed:
        checks.append(pa.Check.isin(list(allowed), name="allowed_code"))
    return checks


def pandera_schema(spec: TableSpec, present: list[str]) -> pa.DataFrameSchema:
    """Build the pandera schema for the columns a file actually has."""
    columns = {
        c.name: pa.Column(str, checks=_column_checks(c), nullable=True, required=False)
        for c in spec.columns
        if c.name in present
    }
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


def validate(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Every failing cell of ``df`` as rows ``index, field, value, rule, message``.

    Column formats run through pandera (lazily: all failures at once); row
    rules, duplicate keys and required-but-empty cells are added after.
    ``df`` holds strings with missing values as NA.
    """
    problems: list[pd.DataFrame] = []
    schema = pandera_schema(spec, list(df.columns))
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna() & fc["column"].notna()]
        cols = {c.name: c for c in spec.columns}
        kinds = {c.name: c.kind for c in spec.columns}
        builtin = fc["check"].astype(str).str.replace(r"\(.*$", "", regex=True)
        # pandera reports built-in checks by their own names: use ours
        rule = pd.Series([{"str_matches": f"{kinds.get(c, 'text')}_format", "isin": "allowed_code"}.get(r, r)
                          for c, r in zip(fc["column"].astype(str), builtin)], index=fc.index)
        messages = {(c, r): check_message(cols[c], r) for c, r in zip(fc["column"].astype(str), rule) if c in cols}
        problems.append(
            pd.DataFrame(
                {
                    "index": fc["index"].astype("int64").to_numpy(),
                    "field": fc["column"].astype(str).to_numpy(),
                    "value": fc["failure_case"].astype(str).to_numpy(),
                    "rule": rule.to_numpy(),
                    "message": [
                        messages.get((c, r), "failed check " + r)
                        for c, r in zip(fc["column"].astype(str), rule)
                    ],
                }
            )
        )
    for col in spec.columns:
        if col.must_have_value and col.name in df:
            empty = _blank(df[col.name])
            if empty.any():
                problems.append(_rows(df, empty, col.name, "required_value", f"{col.name} is empty"))
    for rule in spec.rules:
        try:
            mask = rule.fails(df)
        except KeyError:
            continue
        if isinstance(mask, bool):
            continue
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.append(_rows(df, mask, rule.field, rule.name, rule.message))
    if spec.key and all(k in df for k in spec.key):
        keyed = df[list(spec.key)]
        dup = keyed.notna().all(axis=1) & keyed.duplicated(keep="first")
        if dup.any():
            problems.append(
                _rows(df, dup, spec.key[-1], "duplicate_key",
                      f"duplicate of an earlier row on ({', '.join(spec.key)})")
            )
    if not problems:
        return pd.DataFrame(columns=["index", "field", "value", "rule", "message"])
    return pd.concat(problems, ignore_index=True)


def _rows(df: pd.DataFrame, mask: pd.Series, field: str, rule: str, message: str) -> pd.DataFrame:
    values = df.loc[mask, field].astype(str) if field in df else pd.Series("", index=df.index[mask])
    return pd.DataFrame(
        {
            "index": df.index[mask].astype("int64"),
            "field": field,
            "value": values.fillna("").to_numpy(),
            "rule": rule,
            "message": message,
        }
    )
