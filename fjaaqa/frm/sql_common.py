"""SQL fragments the FRM rules share, each written to give exactly what its pandas helper gives.

The SQL rules (:mod:`fjaaqa.frm.sql_rules`, :mod:`fjaaqa.frm.sql_student_rules`)
must flag the same rows with the same reason text as the pandas rules
(:mod:`fjaaqa.frm.rules`), so the small things every rule does the pandas way
live here once: a FAM value holding a code, whole days between dates, the level
a GCSE grade shows, the join to achievements made before an aim started, and
numbers written as text the way pandas prints them. Each function returns a
piece of SQL; parameters are DuckDB ``$name`` bindings the caller supplies
(:func:`grade_params` gives the ones :func:`grade_level` reads).
"""

from __future__ import annotations

import sys

from .catalogue import Settings

# Every character Python's str.strip() removes (pandas .str.strip()); DuckDB's trim() alone removes only spaces.
PY_WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())

# FAM columns of frm_aims the rules read: a return whose deliveries never carry the FAM has no such column in
# pandas (the rule reads it as blank), so the runner adds it as NULL rather than have the SQL fail.
AIM_OPTIONAL_COLUMNS = ["FAM_ADL", "FAM_FFI", "FAM_LDM", "FAM_SOF"]
# Their FAM types: the only ones an opening for the SQL rules puts on the deliveries.
FAM_TYPES = tuple(c.removeprefix("FAM_") for c in AIM_OPTIONAL_COLUMNS)


def text_list(param: str) -> str:
    """A bound list as VARCHAR[] (an empty Python list would otherwise bind with no element type)."""
    return f"CAST(${param} AS VARCHAR[])"


def in_list(expr: str, param: str) -> str:
    """``expr`` is one of the bound list's values; NULL is not (pandas ``isin``)."""
    return f"coalesce(list_contains({text_list(param)}, {expr}), false)"


def has_code(expr: str, param: str) -> str:
    """A ``;``-separated FAM value holds any of the bound codes (pandas :func:`~fjaaqa.frm.inputs.has_code`).

    A missing value reads as blank, as in pandas.
    """
    return f"list_has_any(string_split(coalesce({expr}, ''), ';'), {text_list(param)})"


def days(later: str, earlier: str) -> str:
    """Whole days from ``earlier`` to ``later`` (DATEs); NULL where either is missing."""
    return f"({later} - {earlier})"


def to_int(expr: str) -> str:
    """A text column as a whole number, NULL where it is not one (pandas ``as_int``; the loader admits digits only)."""
    return f"TRY_CAST({expr} AS BIGINT)"


def to_number(expr: str) -> str:
    """A text column as a number, NULL where it is not one (``pd.to_numeric(errors="coerce")`` on checked input)."""
    return f"TRY_CAST({expr} AS DOUBLE)"


def strip_upper(expr: str) -> str:
    """``.str.strip().str.upper()``: Python's whitespace, then upper case (binds ``$py_space``)."""
    return f"upper(trim({expr}, $py_space))"


def grade_level(expr: str) -> str:
    """A GCSE grade (MathGrade, EngGrade, OutGrade) as the level it shows: 2 for a pass, 1 for a lower grade.

    NULL for no grade (missing, blank, NONE, U, X, Z), as pandas ``_grade_level``.
    Binds ``$pass_grades`` and ``$py_space`` (:func:`grade_params`).
    """
    g = strip_upper(expr)
    return (f"(CASE WHEN {expr} IS NULL THEN NULL WHEN list_contains({text_list('pass_grades')}, {g}) THEN 2 "
            f"WHEN {g} IN ('NONE', 'U', 'X', 'Z', '') THEN NULL ELSE 1 END)")


def passed_grade(expr: str) -> str:
    """An achieved grade is a pass (grade 4 / C or above): upper case only, no stripping, as the pandas rules do."""
    return in_list(f"upper({expr})", "pass_grades")


def grade_params(s: Settings) -> dict:
    """The parameters :func:`grade_level` and :func:`passed_grade` read."""
    return {"pass_grades": [g.upper() for g in s.gcse_pass_grades], "py_space": PY_WHITESPACE}


def prior_join(aim: str, prior: str, on: list[str]) -> str:
    """JOIN of the learner's achievements made before the aim started (pandas ``_prior_join``).

    pandas joins a missing key to a missing key, hence IS NOT DISTINCT FROM;
    an aim with no start date, or an achievement with no date, never joins.
    """
    keys = " AND ".join(f"{prior}.{c} IS NOT DISTINCT FROM {aim}.{c}" for c in on)
    return f"JOIN frm_prior {prior} ON {keys} AND {prior}.AchDate < {aim}.LearnStartDate"


def lookup(expr: str, param: str) -> str:
    """``expr`` mapped through a settings dict of whole numbers, bound as ``${param}_keys`` and ``${param}_values``.

    NULL where the dict has no such key (pandas ``.map(dict)``).
    """
    return f"list_extract(CAST(${param}_values AS BIGINT[]), list_position({text_list(param + '_keys')}, {expr}))"


def lookup_params(param: str, mapping: dict) -> dict:
    """The two lists :func:`lookup` reads for ``mapping``."""
    return {f"{param}_keys": [str(k) for k in mapping], f"{param}_values": list(mapping.values())}


def int_text(expr: str) -> str:
    """An integer as pandas prints an Int64 (``astype("string")``): plain digits; NULL stays NULL."""
    return f"CAST({expr} AS VARCHAR)"


def _half_even(y: str) -> str:
    """numpy's rint: the nearest whole number, halves to the even one (DuckDB's round takes halves away from 0)."""
    return f"(CASE WHEN {y} - floor({y}) = 0.5 THEN 2 * round({y} / 2) ELSE round({y}) END)"


def round1_text(expr: str) -> str:
    """A number rounded to one place and printed as pandas does ``Float64.round(1).astype("string")``.

    numpy rounds ``x * 10`` half to even and divides by 10; DuckDB then writes
    the double in its shortest form ("42.0", "6.3"), as Python's ``str`` does.
    """
    y = f"(CAST({expr} AS DOUBLE) * 10)"
    return f"CAST({_half_even(y)} / 10 AS VARCHAR)"


def query_key(t: str) -> str:
    """The stable key of an aim (pandas :func:`~fjaaqa.frm.inputs.query_key`): SWSupAimId, else the natural key."""
    natural = (f"{t}.UKPRN || '|' || coalesce({t}.LearnRefNumber, '') || '|' || coalesce({t}.LearnAimRef, '') "
               f"|| '|' || coalesce(CAST({t}.LearnStartDate AS VARCHAR), '')")
    return (f"(CASE WHEN {t}.SWSupAimId IS NOT NULL AND {t}.SWSupAimId <> '' THEN 'sw|' || {t}.SWSupAimId "
            f"ELSE {natural} END)")
