"""The FRM reports as DuckDB SQL: one query per report, the same rows and reasons as :mod:`fjaaqa.frm.rules`.

:data:`RULE_SQL` maps every catalogue id to a function ``(settings, rule,
period) -> (sql, params)``. The query reads the prepared-input tables
(``frm_aims``, ``frm_students``, ``frm_prior`` ...; see
:func:`fjaaqa.frm.sql_run.register_inputs`) and returns one row per flagged
aim or learner in the uniform shape the runner expects:

``UKPRN, LearnRefNumber, AimSeqNumber, LearnAimRef, LearnStartDate (DATE),
SWSupAimId, ULN, stream, PartnerUKPRN, reason, slc_amount (DOUBLE)``

ordered as the pandas rule returns them (the prepared table's row order), so
ties in the runner's sort fall the same way. Every number the catalogue
gives is bound as a parameter (``$name``), never written into the SQL; ILR
and LARS code values the pandas rules also spell out ('3', 'gcse', 'Y') are
written as they are. The aim-level reports are here; the student-level and
T Level ones are in :mod:`fjaaqa.frm.sql_student_rules`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..periods import Period
from .catalogue import Rule, Settings
from .inputs import APPRENTICESHIP
from .sql_common import (
    days,
    grade_level,
    grade_params,
    has_code,
    in_list,
    int_text,
    lookup,
    lookup_params,
    passed_grade,
    prior_join,
    round1_text,
    strip_upper,
    to_int,
    to_number,
)
from .sql_student_rules import STUDENT_RULE_SQL

RuleSql = Callable[[Settings, Rule, Period], tuple[str, dict]]

# Levels the pandas rules name in their own code (rules.py), bound as parameters like every other number.
ENTITLEMENT_MAX_LEVEL = 2      # EMLE: entry level to level 2 English and maths
HELD_LEVEL_AT_LEAST = 1        # FRM13: level 1 or above already held
TRAINEESHIP_CEILING_LEVEL = 4  # FRM19: level 4 or above already held
GCSE_PASS_LEVEL = 2            # grade_level's value for a pass


ROW_FIELDS = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "LearnStartDate", "SWSupAimId", "ULN", "stream",
              "PartnerUKPRN"]


def _aims(where: str = "", keep: list[str] | None = None) -> str:
    """CTE ``a``: the rule's aims (its funding streams), numbered in the prepared table's order as ``_aim``.

    Where the filter leaves few aims, ``keep`` names the columns the rule
    reads beyond the result row's: they are kept once (materialised) rather
    than each use scanning five million aims again. Otherwise the CTE is not
    materialised, so each use scans only the columns it reads (a copy of five
    million aims with every column costs more than scanning twice).
    """
    extra = f" AND {where}" if where else ""
    if keep is None:
        return (f"a AS NOT MATERIALIZED (SELECT _row AS _aim, * FROM frm_aims "
                f"WHERE {in_list('stream', 'streams')}{extra})")
    cols = ", ".join(dict.fromkeys(ROW_FIELDS + keep))
    return f"a AS MATERIALIZED (SELECT _row AS _aim, {cols} FROM frm_aims WHERE {in_list('stream', 'streams')}{extra})"


def _aim_row(a: str, reason: str) -> str:
    """The uniform result row of an aim-level report from aims alias ``a``."""
    return (f"{a}.UKPRN, {a}.LearnRefNumber, {a}.AimSeqNumber, {a}.LearnAimRef, {a}.LearnStartDate, "
            f"{a}.SWSupAimId, {a}.ULN, {a}.stream, {a}.PartnerUKPRN, {reason} AS reason, "
            f"CAST(NULL AS DOUBLE) AS slc_amount")


def _date_text(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def _prior_level_at_least(expr_param: str) -> str:
    """PriorAttain's level (settings map) at or above a bound level; unknown codes are not."""
    return f"coalesce({lookup('a.PriorAttain', 'prior_attain')} >= ${expr_param}, false)"


# ------------------------------------------------------------------ the rules (one function each)

def frm01(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """A repeat of a regulated qualification (on the aim reference) or an apprenticeship standard (on StdCode).

    The earliest earlier achievement gives the date; a qualification match
    wins over a standard match; a GCSE below grade 4 retaken in an adult skills
    stream and apprenticeship English and maths (FRM13's) are left out.
    """
    std = to_int("StdCode")
    sql = f"""
    WITH {_aims()},
    quals AS (
        SELECT * FROM a
        WHERE regulated AND NOT (stream = $apprenticeship AND coalesce(lars_subject IN ('english', 'maths'), false))),
    qual_hit AS (
        SELECT q._aim, min(p.AchDate) AS ach
        FROM quals q {prior_join('q', 'p', ['ULN', 'LearnAimRef'])}
        WHERE NOT (coalesce(q.lars_aim_type = 'gcse', false) AND {in_list('q.stream', 'retake_streams')}
                   AND NOT {passed_grade('p.OutGrade')})
        GROUP BY q._aim),
    prog AS (SELECT *, {std} AS _std FROM a WHERE AimType = '1' AND {std} IS NOT NULL),
    pstd AS (SELECT ULN, AchDate, {std} AS _std FROM frm_prior WHERE AimType = '1' AND {std} IS NOT NULL),
    std_hit AS (
        SELECT g._aim, any_value(g._std) AS std, min(p.AchDate) AS ach
        FROM prog g JOIN pstd p ON p.ULN IS NOT DISTINCT FROM g.ULN AND p._std = g._std
            AND p.AchDate < g.LearnStartDate
        GROUP BY g._aim)
    SELECT {_aim_row('a', f'''CASE WHEN qh._aim IS NOT NULL THEN
                'already achieved on ' || {_date_text('qh.ach')}
                || CASE WHEN {strip_upper('a.lars_regulated')} IN ('Y', 'N') THEN ''
                        ELSE '; lars.csv does not say whether the aim is regulated' END
            ELSE 'apprenticeship standard ' || {int_text('sh.std')} || ' already achieved on '
                || {_date_text('sh.ach')} END''')}
    FROM (SELECT _aim FROM qual_hit UNION SELECT _aim FROM std_hit) hit JOIN a USING (_aim)
    LEFT JOIN qual_hit qh USING (_aim) LEFT JOIN std_hit sh USING (_aim)
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams, "apprenticeship": APPRENTICESHIP, "retake_streams": s.gcse_retake_streams,
                 **grade_params(s)}


def frm13(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """English or maths in an apprenticeship at or below the level already held in the subject.

    The level held is the best of the learner's grade field for the subject
    and earlier achievements in it (a GCSE by its grade, others by LARS level).
    """
    own = f"CASE WHEN a.lars_subject = 'english' THEN {grade_level('a.EngGrade')} ELSE {grade_level('a.MathGrade')} END"
    prior_held = f"CASE WHEN coalesce(p.lars_aim_type = 'gcse', false) THEN {grade_level('p.OutGrade')} " \
                 f"ELSE p.lars_level_n END"
    sql = f"""
    WITH {_aims("LearnStartDate >= $rules_from AND lars_subject IN ('english', 'maths') "
                "AND lars_level_n IS NOT NULL", keep=["lars_subject", "lars_level_n", "EngGrade", "MathGrade"])},
    best AS (
        SELECT a._aim, max({prior_held}) AS held
        FROM a {prior_join('a', 'p', ['ULN'])}
        WHERE p.lars_subject = a.lars_subject AND {prior_held} >= $held_from
        GROUP BY a._aim),
    h AS (SELECT a.*, greatest({own}, best.held) AS _held FROM a LEFT JOIN best USING (_aim))
    SELECT {_aim_row('h', f''''already holds level ' || {int_text('h._held')} || ' in ' || h.lars_subject
            || '; the aim is at ' || CASE WHEN h.lars_level_n = 0 THEN 'entry level'
                                          ELSE 'level ' || {int_text('h.lars_level_n')} END''')}
    FROM h WHERE h._held >= $held_from AND h.lars_level_n <= h._held
    ORDER BY h._aim"""
    return sql, {"streams": rule.streams, "rules_from": s.apprenticeship_rules_from,
                 "held_from": HELD_LEVEL_AT_LEAST, **grade_params(s)}


def _further_level(s: Settings, rule: Rule, level: int, ffi: list[str]) -> tuple[str, dict]:
    """FRM16/17: a young adult's fully funded level ``level`` aim when a full level ``level`` or higher is held."""
    lo, hi = s.young_adult_ages
    full_two = " AND lars_full_level_2 = 'Y'" if level == 2 else ""
    sql = f"""
    WITH {_aims(f'''age_at_start BETWEEN $lo AND $hi AND lars_level_n = $level
                AND {has_code('FAM_FFI', 'ffi')}{full_two}
                AND NOT ({in_list('emp_at_start', 'unemployed')} OR {has_code('FAM_LDM', 'low_wage')})''',
                keep=["PriorAttain"])},
    held AS (
        SELECT DISTINCT a._aim FROM a {prior_join('a', 'p', ['ULN'])}
        WHERE p.lars_full_level_{level} = 'Y' OR p.lars_level_n > $level)
    SELECT {_aim_row('a', '$reason')}
    FROM a WHERE {_prior_level_at_least('level')} OR a._aim IN (SELECT _aim FROM held)
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams, "lo": lo, "hi": hi, "level": level, "ffi": ffi,
                 "unemployed": s.unemployed_empstat, "low_wage": s.low_wage_ldm,
                 **lookup_params("prior_attain", s.prior_attain_level),
                 "reason": f"aged {lo} to {hi}, already holds a full level {level} or higher"}


def frm16(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """A fully funded full level 2 for a learner aged 19 to 23 who already holds full level 2 or higher."""
    return _further_level(s, rule, 2, ["1"])


def frm17(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """A fully or co-funded level 3 for a learner aged 19 to 23 who already holds full level 3 or higher."""
    return _further_level(s, rule, 3, ["1", "2"])


def frm19(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """A traineeship for someone who has completed an apprenticeship or holds level 4 or above."""
    sql = f"""
    WITH {_aims(keep=["PriorAttain"])},
    m AS (
        SELECT a._aim,
               bool_or(p.AimType = '1' AND p.ProgType IS NOT NULL AND p.ProgType NOT IN ('24', '31')) AS appr,
               bool_or(p.lars_level_n >= $high) AS high
        FROM a {prior_join('a', 'p', ['ULN'])}
        GROUP BY a._aim)
    SELECT {_aim_row('a', 'CASE WHEN coalesce(m.appr, false) THEN $reason_appr ELSE $reason_high END')}
    FROM a LEFT JOIN m USING (_aim)
    WHERE coalesce(m.appr, false) OR coalesce(m.high, false) OR {_prior_level_at_least('high')}
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams, "high": TRAINEESHIP_CEILING_LEVEL,
                 **lookup_params("prior_attain", s.prior_attain_level),
                 "reason_appr": "already achieved an apprenticeship",
                 "reason_high": f"already holds level {TRAINEESHIP_CEILING_LEVEL} or above"}


_LOAN_OK = "SELECT rowid AS _row, * FROM frm_loans WHERE loan_status = 'approved' AND liability_passed = 'Y'"


def _same_loan(x: str, y: str) -> str:
    return " AND ".join(f"{x}.{c} IS NOT DISTINCT FROM {y}.{c}" for c in ("UKPRN", "ULN", "LearnAimRef"))


def frm20(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """SLC loans past the first liability point with no matching loans-funded aim in the ILR."""
    sql = f"""
    WITH ok AS ({_LOAN_OK}),
    ilr AS (SELECT DISTINCT UKPRN, ULN, LearnAimRef FROM frm_aims WHERE stream = 'advanced_learner_loans')
    SELECT ok.UKPRN, ok.LearnRefNumber, CAST(NULL AS VARCHAR) AS AimSeqNumber, ok.LearnAimRef,
           ok.course_start_date AS LearnStartDate, CAST(NULL AS VARCHAR) AS SWSupAimId, ok.ULN,
           'advanced_learner_loans' AS stream, CAST(NULL AS VARCHAR) AS PartnerUKPRN, $reason AS reason,
           {to_number('ok.amount_paid')} AS slc_amount
    FROM ok WHERE NOT EXISTS (SELECT 1 FROM ilr WHERE {_same_loan('ilr', 'ok')})
    ORDER BY ok._row"""
    return sql, {"reason": "SLC has an approved loan past the liability point; no loans-funded aim in the ILR"}


def frm21(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Loans-funded ILR aims with no approved SLC loan past the first liability point."""
    sql = f"""
    WITH {_aims()}, ok AS ({_LOAN_OK})
    SELECT {_aim_row('a', '$reason')}
    FROM a WHERE NOT EXISTS (SELECT 1 FROM ok WHERE {_same_loan('ok', 'a')})
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams,
                 "reason": "loans indicator recorded; SLC shows no approved loan past the liability point"}


def frm27(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Withdrawn on or before last 31 July, though last year's R14 had the aim continuing or completed.

    Aims match across the years on their query key; where last year's return
    has the key twice, its later row counts (as a pandas dict keeps the last).
    Two keys are equal when both are SWSupAimIds and these are equal, or both
    are natural keys with equal parts: the loader admits no '|' in a UKPRN,
    learner or aim reference, so equal parts and equal texts are the same
    thing, and joining on the parts spares building a text key for every aim
    of last year.
    """
    reason = (f"'withdrawn ' || {_date_text('a.LearnActEndDate')} || $showed "
              "|| CASE was.was WHEN '1' THEN 'continuing' WHEN '2' THEN 'completed' ELSE '' END")
    has_sw = "({t}.SWSupAimId IS NOT NULL AND {t}.SWSupAimId <> '')"
    same_parts = " AND ".join([
        "p.UKPRN = a.UKPRN", "coalesce(p.LearnRefNumber, '') = coalesce(a.LearnRefNumber, '')",
        "coalesce(p.LearnAimRef, '') = coalesce(a.LearnAimRef, '')",
        "p.LearnStartDate IS NOT DISTINCT FROM a.LearnStartDate"])
    sql = f"""
    WITH {_aims("CompStatus = '3' AND LearnActEndDate <= $last_end", keep=["LearnActEndDate"])},
    prev AS NOT MATERIALIZED (
        SELECT _row, CompStatus, UKPRN, LearnRefNumber, LearnAimRef, LearnStartDate, SWSupAimId
        FROM frm_prev_year WHERE CompStatus IN ('1', '2')),
    same AS (
        SELECT a._aim, p._row, p.CompStatus FROM a JOIN prev p ON p.SWSupAimId = a.SWSupAimId
        WHERE {has_sw.format(t='a')}
        UNION ALL
        SELECT a._aim, p._row, p.CompStatus FROM a JOIN prev p ON {same_parts}
        WHERE NOT {has_sw.format(t='a')} AND NOT {has_sw.format(t='p')}),
    was AS (SELECT _aim, arg_max(CompStatus, _row) AS was FROM same GROUP BY _aim)
    SELECT {_aim_row('a', reason)}
    FROM a JOIN was USING (_aim)
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams, "last_end": period.year.previous().end,
                 "showed": "; last year's R14 showed it "}


def frm29(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Aims ended on the last day of the funding qualifying period or within a few days after it.

    The qualifying period is that of the longest planned length the aim
    reaches; day 1 is the start day.
    """
    steps = sorted(s.qualifying_periods, key=lambda q: q.planned_days_at_least)[::-1]
    params = {"streams": rule.streams, "just_after": s.just_after_days}
    whens = []
    for i, q in enumerate(steps):
        # pandas masks step by step and a mask replaces where its condition is missing: with no planned end
        # date every step applies and the longest period stands (never so in loaded data: the date is required).
        unknown = "_planned IS NULL OR " if i == 0 else ""
        whens.append(f"WHEN {unknown}_planned >= $at_least_{i} THEN $qualifying_{i}")
        params[f"at_least_{i}"], params[f"qualifying_{i}"] = q.planned_days_at_least, q.qualifying_days
    qualifying = f"CASE {' '.join(whens)} END" if whens else "CAST(NULL AS BIGINT)"
    sql = f"""
    WITH {_aims("CompStatus IN ('2', '3') AND LearnActEndDate IS NOT NULL")},
    d AS (SELECT *, {days('LearnPlanEndDate', 'LearnStartDate')} + 1 AS _planned,
                    {days('LearnActEndDate', 'LearnStartDate')} + 1 AS _in FROM a),
    q AS (SELECT *, {qualifying} AS _q FROM d)
    SELECT {_aim_row('q', f"'in learning ' || {int_text('q._in')} || ' days; qualifying period ' || "
                          f"{int_text('q._q')} || ' days'")}
    FROM q WHERE q._in >= q._q AND q._in <= q._q + $just_after
    ORDER BY q._aim"""
    return sql, params


def frm37(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Planned off-the-job hours below the share of working hours (capped weekly for later starts) over the plan.

    ``planned < share/100 * weekly * days/7`` is tested as
    ``planned * 700 < share * weekly * days`` (exact in whole numbers), as in pandas.
    """
    weekly = f"coalesce({lookup('eii_at_start', 'eii')}, $when_unknown)"
    sql = f"""
    WITH {_aims("AimType = '1' AND LearnStartDate >= $rules_from")},
    w AS (SELECT *, CASE WHEN LearnStartDate >= $cap_from THEN least({weekly}, $cap) ELSE {weekly} END AS _weekly,
                    {days('LearnPlanEndDate', 'LearnStartDate')} AS _days, coalesce(PHours_n, 0) AS _planned FROM a)
    SELECT {_aim_row('w', f"'planned ' || {int_text('w._planned')} || ' off-the-job hours; minimum ' || "
                          f"coalesce({round1_text('$share * w._weekly * w._days / 700')}, '')")}
    FROM w WHERE w._planned * 700 < $share * w._weekly * w._days
    ORDER BY w._aim"""
    return sql, {"streams": rule.streams, "rules_from": s.apprenticeship_rules_from, "cap_from": s.otj_cap_from,
                 "cap": s.otj_weekly_cap_hours, "when_unknown": s.weekly_hours_when_unknown,
                 "share": s.otj_share_percent, **lookup_params("eii", s.eii_weekly_hours)}


def emle(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """A fully funded English or maths entitlement aim for an adult who already holds grade 4 (C) in the subject."""
    own = f"CASE WHEN a.lars_subject = 'english' THEN {grade_level('a.EngGrade')} " \
          f"WHEN a.lars_subject = 'maths' THEN {grade_level('a.MathGrade')} END"
    sql = f"""
    WITH {_aims(f'''age_at_start >= $adult AND {has_code('FAM_FFI', 'ffi')}
                AND lars_aim_type IN ('gcse', 'functional_skills', 'stepping_stone')
                AND lars_subject IN ('english', 'maths') AND lars_level_n <= $max_level''',
                keep=["lars_subject", "EngGrade", "MathGrade"])},
    held AS (
        SELECT DISTINCT a._aim FROM a {prior_join('a', 'p', ['ULN'])}
        WHERE p.lars_aim_type = 'gcse' AND p.lars_subject = a.lars_subject AND {passed_grade('p.OutGrade')})
    SELECT {_aim_row('a', "$reason || a.lars_subject")}
    FROM a WHERE coalesce({own} = $pass_level, false) OR a._aim IN (SELECT _aim FROM held)
    ORDER BY a._aim"""
    return sql, {"streams": rule.streams, "adult": s.adult_age_min, "ffi": ["1"], "max_level": ENTITLEMENT_MAX_LEVEL,
                 "pass_level": GCSE_PASS_LEVEL, "reason": "already holds grade 4 (C) or above in ", **grade_params(s)}


def frm42(s: Settings, rule: Rule, period: Period) -> tuple[str, dict]:
    """Work experience over 300 planned hours that is not the core aim (always the core aim in a traineeship).

    It should be the core aim when no other aim of the learner is as big
    (planned hours, else LARS guided hours).
    """
    sql = f"""
    WITH {_aims()},
    wex AS (SELECT * FROM a WHERE {in_list('LearnAimRef', 'wex_aims')} AND AimType IS DISTINCT FROM '5'
                              AND PHours_n > $above),
    biggest AS (
        SELECT UKPRN, LearnRefNumber, max(coalesce(PHours_n, {to_int('lars_glh')}, 0)) AS size FROM a
        WHERE NOT {in_list('LearnAimRef', 'wex_aims')} GROUP BY UKPRN, LearnRefNumber)
    SELECT {_aim_row('wex', f"'work experience of ' || {int_text('wex.PHours_n')} || ' hours is not the core aim'")}
    FROM wex LEFT JOIN biggest b ON b.UKPRN = wex.UKPRN AND b.LearnRefNumber = wex.LearnRefNumber
    WHERE wex.stream = 'traineeship_16_18' OR coalesce(b.size, 0) < wex.PHours_n
    ORDER BY wex._aim"""
    return sql, {"streams": rule.streams, "wex_aims": s.work_experience_aims,
                 "above": s.work_experience_core_hours_above}


AIM_RULE_SQL: dict[str, RuleSql] = {
    "FRM01": frm01, "FRM13": frm13, "FRM16": frm16, "FRM17": frm17, "FRM19": frm19, "FRM20": frm20, "FRM21": frm21,
    "FRM27": frm27, "FRM29": frm29, "FRM37": frm37, "EMLE": emle, "FRM42": frm42,
}

RULE_SQL: dict[str, RuleSql] = {**AIM_RULE_SQL, **STUDENT_RULE_SQL}
