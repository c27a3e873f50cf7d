"""The FRM reports over 16 to 19 students and T Levels, as DuckDB SQL (one query per report).

Each function returns its report's SQL and the parameters it binds (see
:mod:`fjaaqa.frm.sql_rules` for the shape every query returns). The pandas
functions in :mod:`fjaaqa.frm.rules` are the reference: every query here
flags the same rows with the same reason, character for character.

Why the queries look as they do:

- Every number the guidance gives (six weeks, hours a week, band minimums,
  placement minimums, the EEP share) and every switch of the version in
  force (``rule.in_force.params``) is a bound parameter, never SQL text.
  A settings dict becomes two lists, keys and values
  (:func:`~fjaaqa.frm.sql_common.lookup`); the additional T Level hours
  by start year become each year's first and last day with its hours.
- Thresholds are compared in whole numbers as pandas does
  (``hours * 7 > limit * days``, ``100 * eep >= share * total``), so no
  rounding decides a flag.
- A figure printed in a reason is the pandas Float64 rounded to one place
  (:func:`~fjaaqa.frm.sql_common.round1_text`: numpy's half to even on
  ``x * 10``, printed as Python prints a float, ``35.0``, ``41.3``).
- Rows come in the prepared table's order (``_row`` or ``rowid``), as pandas returns
  them, so rows with the same query ID keep their order in the runner's
  stable sort; "the first core aim" is the first in that order too.
- pandas fills a missing comparison with False after Kleene logic; here
  each flag is ``COALESCE(..., false)`` over the same AND/OR expression.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ..errors import InputError
from ..periods import Period, parse_year
from .catalogue import Rule, Settings
from .sql_common import days, in_list, int_text, lookup, lookup_params, round1_text

# The uniform row (see fjaaqa.frm.sql_rules): learner-level reports have no aim fields.
LEARNER_ROW = """UKPRN, LearnRefNumber, CAST(NULL AS VARCHAR) AS AimSeqNumber, CAST(NULL AS VARCHAR) AS LearnAimRef,
    CAST(NULL AS DATE) AS LearnStartDate, CAST(NULL AS VARCHAR) AS SWSupAimId, ULN, stream, PartnerUKPRN,
    reason, CAST(NULL AS DOUBLE) AS slc_amount"""
AIM_ROW = """UKPRN, LearnRefNumber, AimSeqNumber, LearnAimRef, LearnStartDate, SWSupAimId, ULN, stream, PartnerUKPRN,
    reason, CAST(NULL AS DOUBLE) AS slc_amount"""

# The rule's students, each with planned learning plus EEP hours (a missing figure counts as 0, as in pandas).
# ``_row`` is the prepared table's order (pandas' row order).
STUDENTS = f"""st AS (
    SELECT rowid AS _row, *, COALESCE(PlanLearnHours_n, 0) + COALESCE(PlanEEPHours_n, 0) AS hours
    FROM frm_students WHERE {in_list('stream', 'streams')})"""
AIMS = f"""aims AS (SELECT _row AS _aim, * FROM frm_aims WHERE {in_list('stream', 'streams')})"""

# Continuing students (started before this year) who left within six weeks of the reference date, with hours:
# every aim ended on or after the year's start and before the reference date or by its day six_weeks_days.
CONTINUING_LEFT = f"""COALESCE(prog_start < $year_start AND leave >= $year_start AND all_ended AND hours > 0
        AND ({days('leave', '$continuing_ref')} + 1 BETWEEN 1 AND $six_weeks_days
             OR leave < $continuing_ref), false)"""


def _one_place(numerator: str, denominator: str) -> str:
    """SQL text of ``numerator / denominator`` printed as pandas prints a Float64 rounded to one place."""
    return round1_text(f"CAST({numerator} AS DOUBLE) / CAST({denominator} AS DOUBLE)")


def _continuing_params(s: Settings, period: Period) -> dict:
    """The year's start and the continuing students' reference date (6 September of the year) with six weeks."""
    month, day = (int(v) for v in s.continuing_reference.split("-"))
    return {"year_start": period.year.start, "continuing_ref": date(period.year.start.year, month, day),
            "six_weeks_days": s.six_weeks_days}


def frm28(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Started this year and left within six weeks of the start; up to R08 continuing students too (FRM71's)."""
    sql = f"""
    WITH {STUDENTS},
    marked AS (
        SELECT *, {days('leave', 'prog_start')} + 1 AS day,
            COALESCE(prog_start >= $year_start AND all_ended
                     AND {days('leave', 'prog_start')} + 1 BETWEEN 1 AND $six_weeks_days AND hours > 0,
                     false) AS new_left,
            {CONTINUING_LEFT} AS continuing_left
        FROM st),
    flagged AS (
        SELECT *, CASE WHEN new_left THEN 'started this year and left on day ' || {int_text('day')}
                                          || ' of the programme'
                       ELSE 'continuing student who left on ' || strftime(leave, '%Y-%m-%d') END AS reason
        FROM marked WHERE new_left OR ($continuing_students AND continuing_left))
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    params = {"streams": rule.streams, "continuing_students": bool(rule.in_force.params["continuing_students"]),
              **_continuing_params(s, period)}
    return sql, params


def frm71(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Continuing students who left within six weeks of 6 September, still with planned hours."""
    sql = f"""
    WITH {STUDENTS},
    flagged AS (
        SELECT *, 'continuing student who left on ' || strftime(leave, '%Y-%m-%d') AS reason
        FROM st WHERE {CONTINUING_LEFT})
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    return sql, {"streams": rule.streams, **_continuing_params(s, period)}


def frm30(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Planned hours a week over the limit: this year's hours over this year's days, a T Level's over its programme.

    A T Level student's hours and days are those of the T Level programme
    aims (most hours, first start, last planned end) whenever one has hours.
    """
    p = rule.in_force.params
    # This year's part of the programme: from the later of its start and the year's, to the earlier of ends.
    first = "CASE WHEN st.prog_start > $year_start THEN st.prog_start ELSE $year_start END"
    last = "CASE WHEN st.prog_plan_end < $year_end THEN st.prog_plan_end ELSE $year_end END"
    sql = f"""
    WITH {STUDENTS},
    t AS (
        SELECT UKPRN, LearnRefNumber, max(PHours_n) AS t_hours, min(LearnStartDate) AS t_start,
               max(LearnPlanEndDate) AS t_end
        FROM frm_aims WHERE stream = 't_level' AND LearnAimRef = $programme_aim
        GROUP BY UKPRN, LearnRefNumber),
    sized AS (
        SELECT st.*,
            CASE WHEN t.t_hours IS NOT NULL THEN t.t_hours ELSE st.hours END AS week_hours,
            CASE WHEN t.t_hours IS NOT NULL THEN {days('t.t_end', 't.t_start')} + 1
                 ELSE {days(last, first)} + 1 END AS days
        FROM st LEFT JOIN t ON t.UKPRN = st.UKPRN AND t.LearnRefNumber = st.LearnRefNumber),
    flagged AS (
        SELECT *, {_one_place("week_hours * 7", "days")} || ' planned hours a week' AS reason
        FROM sized
        WHERE COALESCE(days > 0 AND (week_hours * 7 > $hours_per_week * days
                                     OR ($flag_at_hours AND week_hours * 7 = $hours_per_week * days)), false))
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    params = {"streams": rule.streams, "programme_aim": s.tlevel.programme_aim, "year_start": period.year.start,
              "year_end": period.year.end, "hours_per_week": int(p["hours_per_week"]),
              "flag_at_hours": bool(p["flag_at_hours"])}
    return sql, params


def frm43(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """No planned learning hours: on a qualification (from R09), or with no support needs identified (to R08)."""
    p = rule.in_force.params
    reason = "planned learning hours of 0 or none"
    if p["qualification_needed"]:
        reason = "on a qualification with " + reason
    if p["support_needs_excluded"]:
        reason += "; no additional support needs identified"
    sql = f"""
    WITH {STUDENTS},
    flagged AS (
        SELECT *, $reason AS reason FROM st
        WHERE COALESCE(PlanLearnHours_n, 0) = 0 AND (NOT $qualification_needed OR has_qualification)
              AND (NOT $support_needs_excluded OR NOT als))
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    params = {"streams": rule.streams, "reason": reason, "qualification_needed": bool(p["qualification_needed"]),
              "support_needs_excluded": bool(p["support_needs_excluded"])}
    return sql, params


def frm56(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Planned learning hours but no regulated qualification."""
    sql = f"""
    WITH {STUDENTS},
    flagged AS (
        SELECT *, {int_text('PlanLearnHours_n')} || ' planned learning hours; no regulated qualification'
                  AS reason
        FROM st WHERE NOT has_qualification AND COALESCE(PlanLearnHours_n, 0) > 0)
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    return sql, {"streams": rule.streams}


def frm69(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """EEP hours are the set share or more of all planned hours, with no additional support identified."""
    sql = f"""
    WITH {STUDENTS},
    flagged AS (
        SELECT *, 'employability, enrichment and pastoral hours are '
                  || {_one_place("100 * COALESCE(PlanEEPHours_n, 0)", "hours")} || ' %' AS reason
        FROM st
        WHERE NOT als AND hours > 0 AND 100 * COALESCE(PlanEEPHours_n, 0) >= $share_percent * hours)
    SELECT {LEARNER_ROW} FROM flagged ORDER BY _row"""
    return sql, {"streams": rule.streams, "share_percent": s.eep_share_percent_at_least}


def _additional_hours_years(s: Settings) -> tuple[list[date], list[date], list[int]]:
    """Each year of ``additional_hours_by_start_year`` as its first and last day with its hours.

    pandas looks the start date's year label (``2022-23``) up in the dict, so
    a key that is not a year label in that form never matches: it is left
    out here too.
    """
    starts, ends, hours = [], [], []
    for key, extra in s.tlevel.additional_hours_by_start_year.items():
        try:
            year = parse_year(key)
        except InputError:
            continue
        if year.label == key:
            starts.append(year.start)
            ends.append(year.end)
            hours.append(int(extra))
    return starts, ends, hours


def frm49(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """T Level programme aims planned below their band's minimum plus the start year's additional hours.

    The band is the learner's first core aim's (in the prepared table's
    order, as pandas keeps the first), else the default band; a band the
    table does not list is the default band too.
    """
    t = s.tlevel
    starts, ends, hours = _additional_hours_years(s)
    sql = f"""
    WITH {AIMS},
    core AS (
        SELECT UKPRN, LearnRefNumber, lars_tlevel_band AS core_band FROM aims WHERE AimType = '5'
        QUALIFY row_number() OVER (PARTITION BY UKPRN, LearnRefNumber ORDER BY _aim) = 1),
    extra AS (
        SELECT unnest(CAST($extra_from AS DATE[])) AS d_from, unnest(CAST($extra_to AS DATE[])) AS d_to,
               unnest(CAST($extra_hours AS BIGINT[])) AS hours),
    banded AS (
        SELECT a.*, COALESCE(a.PHours_n, 0) AS planned,
            CASE WHEN {in_list('c.core_band', 'band_keys')} THEN c.core_band ELSE $default_band END AS band,
            CASE WHEN $minimums_include_additional THEN 0 ELSE COALESCE(e.hours, 0) END AS added
        FROM aims a
        LEFT JOIN core c ON c.UKPRN = a.UKPRN AND c.LearnRefNumber = a.LearnRefNumber
        LEFT JOIN extra e ON a.LearnStartDate BETWEEN e.d_from AND e.d_to
        WHERE a.LearnAimRef = $programme_aim),
    required AS (SELECT *, {lookup('band', 'band')} + added AS needed FROM banded),
    flagged AS (
        SELECT *, 'planned ' || {int_text('planned')} || ' hours; band ' || band || ' needs ' || {int_text('needed')}
                  AS reason
        FROM required WHERE COALESCE(planned < needed, false))
    SELECT {AIM_ROW} FROM flagged ORDER BY _aim"""
    params = {"streams": rule.streams, "programme_aim": t.programme_aim, **lookup_params("band", t.band_minimum_hours),
              "default_band": t.default_band, "extra_from": starts, "extra_to": ends, "extra_hours": hours,
              "minimums_include_additional": bool(t.band_minimums_include_additional_hours)}
    return sql, params


def frm65(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """T Level placements planned below the minimum (the early years one for an early years core aim).

    Up to R08 the rows are the placement aims, each with its own hours; from
    R09 the second-year programme aims with the learner's total placement
    hours. Where the return has a work placement file (``has_workplacements``
    in ``dataset_returns``; pandas: ``workplacements`` is given), a learner
    with a placement aim and no work placement record is flagged too. The
    file's presence is read there because an absent file and a file with no
    valid rows both leave ``frm_workplacements`` empty, and pandas tells them
    apart.
    """
    t = s.tlevel
    placement_aims = bool(rule.in_force.params["placement_aims"])
    sql = f"""
    WITH {AIMS},
    placed AS (
        SELECT UKPRN, LearnRefNumber, sum(PHours_n) AS placed_hours FROM aims WHERE LearnAimRef = $placement_aim
        GROUP BY UKPRN, LearnRefNumber),
    early AS (
        SELECT DISTINCT UKPRN, LearnRefNumber FROM aims WHERE AimType = '5' AND lars_early_years = 'Y'),
    recorded AS (SELECT DISTINCT UKPRN, LearnRefNumber FROM frm_workplacements),
    given AS (
        SELECT COALESCE(bool_or(CAST(has_workplacements AS BOOLEAN)), false) AS has_records FROM dataset_returns
        WHERE year = $year AND return_code = $return_code),
    measured AS (
        SELECT a.*,
            CASE WHEN $placement_aims THEN COALESCE(a.PHours_n, 0) ELSE COALESCE(p.placed_hours, 0) END AS got,
            CASE WHEN e.UKPRN IS NOT NULL THEN $early_years_minimum ELSE $placement_minimum END AS minimum,
            p.UKPRN IS NOT NULL AND r.UKPRN IS NULL AND (SELECT has_records FROM given) AS no_record
        FROM aims a
        LEFT JOIN placed p ON p.UKPRN = a.UKPRN AND p.LearnRefNumber = a.LearnRefNumber
        LEFT JOIN early e ON e.UKPRN = a.UKPRN AND e.LearnRefNumber = a.LearnRefNumber
        LEFT JOIN recorded r ON r.UKPRN = a.UKPRN AND r.LearnRefNumber = a.LearnRefNumber
        WHERE CASE WHEN $placement_aims THEN a.LearnAimRef = $placement_aim
                   ELSE a.LearnAimRef = $programme_aim AND a.LearnStartDate < $year_start END),
    flagged AS (
        SELECT *, CASE WHEN got < minimum
                       THEN $words || {int_text('got')} || ' hours; minimum ' || {int_text('minimum')}
                       ELSE 'placement aim has no work placement record' END AS reason
        FROM measured WHERE got < minimum OR no_record)
    SELECT {AIM_ROW} FROM flagged ORDER BY _aim"""
    params = {"streams": rule.streams, "placement_aim": t.placement_aim, "programme_aim": t.programme_aim,
              "placement_aims": placement_aims, "year_start": period.year.start, "year": period.year.code,
              "return_code": period.return_code, "placement_minimum": t.placement_minimum_hours,
              "early_years_minimum": t.early_years_minimum_hours,
              "words": "placement aim planned for " if placement_aims else "industry placement "}
    return sql, params


STUDENT_RULE_SQL: dict[str, Callable[[Settings, Rule, Period], tuple[str, dict]]] = {
    "FRM28": frm28, "FRM30": frm30, "FRM43": frm43, "FRM49": frm49, "FRM56": frm56, "FRM65": frm65,
    "FRM69": frm69, "FRM71": frm71,
}
