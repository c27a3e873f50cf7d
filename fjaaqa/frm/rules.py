"""The FRM rules: one function per report, each returning the rows it flags with a reason in words.

Every function takes the prepared inputs (:class:`~fjaaqa.frm.inputs.FrmInputs`),
the catalogue's settings and its own catalogue entry, and returns rows of
the aims table (aim-level reports) or the students table (learner-level
reports) with a ``reason`` column. :mod:`fjaaqa.frm.run` turns them into one
uniform shape. :data:`RULES` maps each catalogue id to its function.

A report that ESFA changed part-way through the year has versions in the
catalogue; its function reads the one in force (``rule.in_force.params``),
and :data:`VERSION_PARAMS` names the params each such function needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from ..periods import parse_year
from .catalogue import Rule, Settings
from .inputs import APPRENTICESHIP, FrmInputs, as_date, as_int, has_code, query_key

# ------------------------------------------------------------------ helpers the rules share

def _in_streams(x: FrmInputs, rule_streams: list[str]) -> pd.DataFrame:
    return x.aims[x.aims["stream"].isin(rule_streams)]


def _prior_join(aims: pd.DataFrame, prior: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Each aim paired with the learner's achievements that came before it started."""
    left = aims.reset_index().rename(columns={"index": "_aim"})
    pr = prior.rename(columns={c: f"p_{c}" for c in prior.columns if c not in on})
    m = left.merge(pr, on=on, how="inner")
    return m[m["p_AchDate"] < m["LearnStartDate"]]


def _grade_level(grade: pd.Series, s: Settings) -> pd.Series:
    """GCSE grade field (ILR MathGrade/EngGrade) as the level it shows.

    2 for grade 4 (C) or above, 1 for a lower grade.
    """
    g = grade.astype("string").str.strip().str.upper()
    passed = g.isin([x.upper() for x in s.gcse_pass_grades])
    lower = g.notna() & ~g.isin(["NONE", "U", "X", "Z", ""]) & ~passed
    return pd.Series(pd.NA, index=grade.index, dtype="Int64").mask(passed, 2).mask(lower, 1)


def _prior_attain_level(code: pd.Series, s: Settings) -> pd.Series:
    return code.astype("string").map(s.prior_attain_level).astype("Int64")


def _rows(df: pd.DataFrame, mask, reason) -> pd.DataFrame:
    out = df[mask].copy()
    out["reason"] = reason[mask] if isinstance(reason, pd.Series) else reason
    return out


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Whole days from ``earlier`` to ``later`` (NA where either is missing)."""
    return (as_date(later) - as_date(earlier)).dt.days.astype("Int64")


# ------------------------------------------------------------------ the rules (one function each)

def _std_code(df: pd.DataFrame) -> pd.Series:
    """The apprenticeship standard of each row as a number (NA where none), so ILR and CSV values compare."""
    return as_int(df["StdCode"]) if "StdCode" in df else pd.Series(pd.NA, index=df.index, dtype="Int64")


def frm01(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A learner repeating what they have already achieved: a regulated qualification, or an apprenticeship standard.

    Qualifications are matched on the aim reference, apprenticeship programme
    aims (AimType 1) on the standard code, since every programme aim is
    ZPROG001. A GCSE achieved below grade 4 may be retaken only in the streams
    the guidance gives that exception for (adult skills). An aim that
    lars.csv does not mark as regulated or not is still checked (it is not a
    ``Z`` aim, so most likely a qualification), and its reason says so.
    """
    aims = _in_streams(x, rule.streams)
    # In an apprenticeship English and maths are FRM13's: funded up to level 2 where the apprentice lacks it,
    # so a GCSE below grade 4 retaken there is not a repeat of skills attained.
    apprentice_english_maths = ((aims["stream"] == APPRENTICESHIP)
                                & aims["lars_subject"].isin(["english", "maths"]))
    quals = aims[aims["regulated"] & ~apprentice_english_maths]
    m = _prior_join(quals, x.prior, ["ULN", "LearnAimRef"])
    passed = m["p_OutGrade"].astype("string").str.upper().isin([g.upper() for g in s.gcse_pass_grades])
    retake = (m["lars_aim_type"] == "gcse") & m["stream"].isin(s.gcse_retake_streams) & ~passed
    m = m[~retake]
    first = m.sort_values("p_AchDate").groupby("_aim").first()
    status = first["lars_regulated"].astype("string").str.strip().str.upper()
    unknown = ~status.isin(["Y", "N"])
    reason = ("already achieved on " + first["p_AchDate"].dt.strftime("%Y-%m-%d")).astype("object")
    reason = reason.mask(unknown, reason + "; lars.csv does not say whether the aim is regulated")

    prog = aims[(aims["AimType"].astype("string") == "1") & _std_code(aims).notna()].assign(_std=_std_code)
    prior = x.prior[(x.prior["AimType"].astype("string") == "1") & _std_code(x.prior).notna()]
    p = _prior_join(prog, prior.assign(_std=_std_code(prior)), ["ULN", "_std"])
    std_first = p.sort_values("p_AchDate").groupby("_aim").first()
    std_reason = ("apprenticeship standard " + std_first["_std"].astype("string") + " already achieved on "
                  + std_first["p_AchDate"].dt.strftime("%Y-%m-%d")).astype("object")

    reasons = pd.concat([reason, std_reason])
    reasons = reasons[~reasons.index.duplicated()].reindex(aims.index)
    return _rows(aims, reasons.notna(), reasons)


def frm13(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """English or maths within an apprenticeship at or below the level the apprentice already holds in the subject.

    Apprenticeship funding pays for English and maths up to level 2 only where
    the apprentice lacks it: with level 1 held the aim must be level 2, and
    with level 2 held (for example GCSE grade 4) no aim in the subject is
    funded. So an aim is queried when the learner holds level 1 or above and
    the aim's level is no higher than the level held.
    """
    aims = _in_streams(x, rule.streams)
    aims = aims[(aims["LearnStartDate"] >= pd.Timestamp(s.apprenticeship_rules_from))
                & aims["lars_subject"].isin(["english", "maths"]) & aims["lars_level_n"].notna()]
    held = pd.Series(pd.NA, index=aims.index, dtype="Int64")
    for subj, col in (("english", "EngGrade"), ("maths", "MathGrade")):
        if col in aims:
            mine = aims["lars_subject"] == subj
            held = held.mask(mine, _grade_level(aims[col], s))
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        # A GCSE is level 2 in LARS whatever the grade: what it shows held is its grade (4 or above level 2,
        # lower grades level 1), as for EngGrade and MathGrade.
        level = m["p_lars_level_n"].astype("Int64")
        gcse = (m["p_lars_aim_type"] == "gcse").fillna(False)
        level = level.mask(gcse, _grade_level(m["p_OutGrade"], s))
        m = m.assign(_held=level)
        m = m[((m["p_lars_subject"] == m["lars_subject"]) & (m["_held"] >= 1)).fillna(False)]
        best = m.groupby("_aim")["_held"].max().reindex(aims.index)
        held = pd.concat([held, best.astype("Int64")], axis=1).max(axis=1).astype("Int64")
    hit = ((held >= 1) & (aims["lars_level_n"] <= held)).fillna(False)
    aim_level = ("level " + aims["lars_level_n"].astype("string")).replace("level 0", "entry level")
    reason = ("already holds level " + held.astype("string").fillna("") + " in " + aims["lars_subject"].astype(str)
              + "; the aim is at " + aim_level.fillna("an unknown level"))
    return _rows(aims, hit, reason)


def _holds_full_level(aims: pd.DataFrame, x: FrmInputs, s: Settings, level: int) -> pd.Series:
    """Whether the learner already holds a full level ``level`` or anything higher (PriorAttain or achievements)."""
    held = (_prior_attain_level(aims["PriorAttain"], s) >= level).fillna(False)
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        full = (m[f"p_lars_full_level_{level}"] == "Y") if f"p_lars_full_level_{level}" in m else False
        ok = full | (m["p_lars_level_n"] > level).fillna(False)
        held |= aims.index.isin(m.loc[ok, "_aim"])
    return held


def _adult_exception(aims: pd.DataFrame, s: Settings) -> pd.Series:
    """Unemployed at the start, or recorded on the low-wage offer: these learners may be funded."""
    ldm = aims["FAM_LDM"] if "FAM_LDM" in aims else pd.Series("", index=aims.index)
    return aims["emp_at_start"].isin(s.unemployed_empstat).fillna(False) | has_code(ldm, s.low_wage_ldm)


def _further_level(x: FrmInputs, s: Settings, rule: Rule, level: int, ffi: list[str]) -> pd.DataFrame:
    aims = _in_streams(x, rule.streams)
    lo, hi = s.young_adult_ages
    ffi_col = aims["FAM_FFI"] if "FAM_FFI" in aims else pd.Series("", index=aims.index)
    cand = ((aims["age_at_start"] >= lo) & (aims["age_at_start"] <= hi)).fillna(False) \
        & (aims["lars_level_n"] == level).fillna(False) & has_code(ffi_col, ffi)
    if level == 2:
        cand &= aims["lars_full_level_2"] == "Y"
    cand &= ~_adult_exception(aims, s)
    hit = cand & _holds_full_level(aims, x, s, level)
    return _rows(aims, hit, f"aged {lo} to {hi}, already holds a full level {level} or higher")


def frm16(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully funded full level 2 for a learner aged 19 to 23 who already holds full level 2 or higher."""
    return _further_level(x, s, rule, 2, ["1"])


def frm17(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully or co-funded level 3 for a learner aged 19 to 23 who already holds full level 3 or higher."""
    return _further_level(x, s, rule, 3, ["1", "2"])


def frm19(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A traineeship for someone who has completed an apprenticeship or holds level 4 or above."""
    aims = _in_streams(x, rule.streams)
    level4 = (_prior_attain_level(aims["PriorAttain"], s) >= 4).fillna(False)
    m = _prior_join(aims, x.prior, ["ULN"])
    appr = (m["p_AimType"].astype("string") == "1") & ~m["p_ProgType"].astype("string").isin(["24", "31"]) \
        & m["p_ProgType"].notna()
    high = (m["p_lars_level_n"] >= 4).fillna(False)
    had_appr = aims.index.isin(m.loc[appr, "_aim"])
    had_high = aims.index.isin(m.loc[high, "_aim"]) | level4
    reason = pd.Series("already holds level 4 or above", index=aims.index).mask(
        pd.Series(had_appr, index=aims.index), "already achieved an apprenticeship")
    return _rows(aims, had_appr | had_high, reason)


def _loan_ok(loans: pd.DataFrame) -> pd.DataFrame:
    return loans[(loans["loan_status"] == "approved") & (loans["liability_passed"] == "Y")]


def frm20(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """SLC loans past the first liability point with no matching loans-funded aim in the ILR."""
    ok = _loan_ok(x.loans)
    ilr = x.aims[x.aims["stream"] == "advanced_learner_loans"]
    known = set(zip(ilr["UKPRN"], ilr["ULN"], ilr["LearnAimRef"]))
    hit = pd.Series([k not in known for k in zip(ok["UKPRN"], ok["ULN"], ok["LearnAimRef"])], index=ok.index,
                    dtype=bool)
    out = ok[hit].copy()
    out["LearnStartDate"] = as_date(out["course_start_date"])
    out["AimSeqNumber"] = pd.NA
    out["stream"] = "advanced_learner_loans"
    out["slc_amount"] = pd.to_numeric(out.get("amount_paid"), errors="coerce")
    out["reason"] = "SLC has an approved loan past the liability point; no loans-funded aim in the ILR"
    return out


def frm21(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Loans-funded ILR aims with no approved SLC loan past the first liability point."""
    aims = _in_streams(x, rule.streams)
    ok = _loan_ok(x.loans)
    known = set(zip(ok["UKPRN"], ok["ULN"], ok["LearnAimRef"]))
    hit = pd.Series([k not in known for k in zip(aims["UKPRN"], aims["ULN"], aims["LearnAimRef"])],
                    index=aims.index, dtype=bool)
    return _rows(aims, hit, "loans indicator recorded; SLC shows no approved loan past the liability point")


def frm27(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Now withdrawn on or before last 31 July, though last year's R14 had the aim continuing or completed."""
    aims = _in_streams(x, rule.streams)
    last_end = pd.Timestamp(x.period.year.previous().end)
    cand = aims[(aims["CompStatus"].astype(str) == "3") & (aims["LearnActEndDate"] <= last_end)]
    prev = x.previous_year
    prev = prev[prev["CompStatus"].astype(str).isin(["1", "2"])]
    before = dict(zip(query_key(prev), prev["CompStatus"].astype(str)))
    keys = query_key(cand)
    was = keys.map(before)
    words = {"1": "continuing", "2": "completed"}
    reason = "withdrawn " + cand["LearnActEndDate"].dt.strftime("%Y-%m-%d") + "; last year's R14 showed it " \
        + was.map(words).fillna("")
    return _rows(cand, was.notna(), reason)


def _left_within(students: pd.DataFrame, start: pd.Series, s: Settings) -> pd.Series:
    """Left (every aim ended) on or before day ``six_weeks_days`` counting ``start`` as day 1, with hours planned."""
    day = _days(students["leave"], start) + 1
    hours = students["PlanLearnHours_n"].fillna(0) + students["PlanEEPHours_n"].fillna(0)
    return (students["all_ended"] & (day >= 1) & (day <= s.six_weeks_days) & (hours > 0)).fillna(False)


def _continuing_left(st: pd.DataFrame, x: FrmInputs, s: Settings) -> pd.Series:
    """Continuing students (started before this year) who left within six weeks of 6 September, with hours."""
    ystart = pd.Timestamp(x.period.year.start)
    month, day = (int(v) for v in s.continuing_reference.split("-"))
    ref = pd.Timestamp(date(x.period.year.start.year, month, day))
    continuing = st["prog_start"] < ystart
    left = (st["leave"] >= ystart).fillna(False) & _left_within(st, pd.Series(ref, index=st.index), s)
    left |= (st["all_ended"] & (st["leave"] >= ystart) & (st["leave"] < ref)).fillna(False) & (
        (st["PlanLearnHours_n"].fillna(0) + st["PlanEEPHours_n"].fillna(0)) > 0)
    return (continuing & left).fillna(False)


def frm28(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Students who started this year and left within their first six weeks, still with planned hours.

    Up to R08 2022-23 the report also took the continuing students that FRM71
    covers from R09 (the version's ``continuing_students``).
    """
    st = x.students[x.students["stream"].isin(rule.streams)]
    new = st["prog_start"] >= pd.Timestamp(x.period.year.start)
    hit = new & _left_within(st, st["prog_start"], s)
    day = (_days(st["leave"], st["prog_start"]) + 1).astype("string")
    reason = ("started this year and left on day " + day.fillna("") + " of the programme").astype("object")
    if rule.in_force.params["continuing_students"]:
        cont = _continuing_left(st, x, s) & ~hit
        reason = reason.mask(cont, "continuing student who left on " + st["leave"].dt.strftime("%Y-%m-%d"))
        hit = hit | cont
    return _rows(st, hit, reason)


def frm71(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Continuing students who left within six weeks of 6 September, still with planned hours (from R09 2022-23)."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    reason = "continuing student who left on " + st["leave"].dt.strftime("%Y-%m-%d").fillna("")
    return _rows(st, _continuing_left(st, x, s), reason)


def frm29(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Aims ended on the last day of the funding qualifying period or within a few days after it."""
    aims = _in_streams(x, rule.streams)
    aims = aims[aims["CompStatus"].astype(str).isin(["2", "3"]) & aims["LearnActEndDate"].notna()]
    planned = _days(aims["LearnPlanEndDate"], aims["LearnStartDate"]) + 1
    in_learning = _days(aims["LearnActEndDate"], aims["LearnStartDate"]) + 1
    qualifying = pd.Series(pd.NA, index=aims.index, dtype="Int64")
    for q in sorted(s.qualifying_periods, key=lambda q: q.planned_days_at_least):
        qualifying = qualifying.mask(planned >= q.planned_days_at_least, q.qualifying_days)
    hit = ((in_learning >= qualifying) & (in_learning <= qualifying + s.just_after_days)).fillna(False)
    reason = ("in learning " + in_learning.astype("string").fillna("") + " days; qualifying period "
              + qualifying.astype("string").fillna("") + " days")
    return _rows(aims, hit, reason)


def frm30(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Too many planned hours a week: year hours over the year's weeks, or T Level hours over the programme.

    From R09 2022-23 "too many" is more than the legal 40 a week; up to R08 it
    was 35 and over (the version's ``hours_per_week`` and ``flag_at_hours``).
    """
    p = rule.in_force.params
    st = x.students[x.students["stream"].isin(rule.streams)].copy()
    ystart, yend = pd.Timestamp(x.period.year.start), pd.Timestamp(x.period.year.end)
    first = st["prog_start"].where(st["prog_start"] > ystart, ystart)
    last = st["prog_plan_end"].where(st["prog_plan_end"] < yend, yend)
    days = _days(last, first) + 1
    hours = st["PlanLearnHours_n"].fillna(0) + st["PlanEEPHours_n"].fillna(0)
    t = x.aims[(x.aims["stream"] == "t_level") & (x.aims["LearnAimRef"] == s.tlevel.programme_aim)]
    if not t.empty:
        tl = t.groupby(["UKPRN", "LearnRefNumber"]).agg(t_hours=("PHours_n", "max"), t_start=("LearnStartDate", "min"),
                                                        t_end=("LearnPlanEndDate", "max")).reset_index()
        st = st.reset_index().merge(tl, on=["UKPRN", "LearnRefNumber"], how="left").set_index("index")
        is_t = st["t_hours"].notna()
        hours = hours.where(~is_t, st["t_hours"])
        days = days.where(~is_t, _days(st["t_end"], st["t_start"]) + 1)
    # hours / (days / 7) > limit  <=>  hours * 7 > limit * days  (exact, no rounding); "and over" adds equality
    over = hours * 7 > p["hours_per_week"] * days
    if p["flag_at_hours"]:
        over |= hours * 7 == p["hours_per_week"] * days
    hit = ((days > 0) & over).fillna(False)
    per_week = (hours * 7 / days).round(1).astype("string")
    return _rows(st, hit, per_week.fillna("") + " planned hours a week")


def frm37(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Planned off-the-job hours below 20 % of working hours (capped at 30 a week from August 2022) over the plan."""
    aims = _in_streams(x, rule.streams)
    aims = aims[(aims["AimType"].astype(str) == "1")
                & (aims["LearnStartDate"] >= pd.Timestamp(s.apprenticeship_rules_from))]
    weekly = aims["eii_at_start"].map(s.eii_weekly_hours).astype("Int64").fillna(s.weekly_hours_when_unknown)
    capped = aims["LearnStartDate"] >= pd.Timestamp(s.otj_cap_from)
    weekly = weekly.where(~capped, weekly.clip(upper=s.otj_weekly_cap_hours))
    days = _days(aims["LearnPlanEndDate"], aims["LearnStartDate"])
    planned = aims["PHours_n"].fillna(0)
    # minimum = share/100 * weekly * days/7; planned < minimum  <=>  planned*700 < share*weekly*days (exact)
    hit = (planned * 700 < s.otj_share_percent * weekly * days).fillna(False)
    minimum = (s.otj_share_percent * weekly * days / 700).round(1).astype("string")
    reason = "planned " + planned.astype("string") + " off-the-job hours; minimum " + minimum.fillna("")
    return _rows(aims, hit, reason)


def emle(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully funded English or maths entitlement aim for an adult who already holds grade 4 (C) in the subject."""
    aims = _in_streams(x, rule.streams)
    ffi = aims["FAM_FFI"] if "FAM_FFI" in aims else pd.Series("", index=aims.index)
    cand = (aims["age_at_start"] >= s.adult_age_min).fillna(False) & has_code(ffi, ["1"]) \
        & aims["lars_aim_type"].isin(["gcse", "functional_skills", "stepping_stone"]) \
        & aims["lars_subject"].isin(["english", "maths"]) & (aims["lars_level_n"] <= 2).fillna(False)
    held = pd.Series(False, index=aims.index)
    for subj, col in (("english", "EngGrade"), ("maths", "MathGrade")):
        if col in aims:
            held |= (aims["lars_subject"] == subj) & (_grade_level(aims[col], s) == 2).fillna(False)
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        passed = m["p_OutGrade"].astype("string").str.upper().isin([g.upper() for g in s.gcse_pass_grades])
        ok = (m["p_lars_aim_type"] == "gcse") & (m["p_lars_subject"] == m["lars_subject"]) & passed
        held |= aims.index.isin(m.loc[ok, "_aim"])
    return _rows(aims, cand & held, "already holds grade 4 (C) or above in " + aims["lars_subject"].astype(str))


def frm42(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Work experience over 300 planned hours that is not the core aim (always the core aim in a traineeship)."""
    aims = _in_streams(x, rule.streams)
    wex = aims[aims["LearnAimRef"].isin(s.work_experience_aims) & (aims["AimType"].astype(str) != "5")
               & (aims["PHours_n"] > s.work_experience_core_hours_above).fillna(False)]
    size = aims["PHours_n"].fillna(as_int(aims["lars_glh"])).fillna(0)
    others = aims.assign(size=size)[~aims["LearnAimRef"].isin(s.work_experience_aims)]
    biggest = others.groupby(["UKPRN", "LearnRefNumber"])["size"].max()
    bigger = pd.Series([biggest.get(k, 0) for k in zip(wex["UKPRN"], wex["LearnRefNumber"])], index=wex.index)
    trainee = wex["stream"] == "traineeship_16_18"
    hit = trainee | (bigger < wex["PHours_n"]).fillna(False)
    reason = pd.Series("work experience of " + wex["PHours_n"].astype("string") + " hours is not the core aim",
                       index=wex.index)
    return _rows(wex, hit, reason)


def frm43(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Study programme students with no planned learning hours: on a qualification (from R09 2022-23).

    Up to R08 the report took students with no additional support needs
    identified instead, whether or not they had a qualification aim.
    """
    p = rule.in_force.params
    st = x.students[x.students["stream"].isin(rule.streams)]
    hit = st["PlanLearnHours_n"].fillna(0) == 0
    reason = "planned learning hours of 0 or none"
    if p["qualification_needed"]:
        hit &= st["has_qualification"]
        reason = "on a qualification with " + reason
    if p["support_needs_excluded"]:
        hit &= ~st["als"]
        reason += "; no additional support needs identified"
    return _rows(st, hit, reason)


def frm49(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """T Level programme aims with fewer planned hours than their band's minimum plus the additional hours.

    The additional hours are added only when the band table does not count
    them already (``band_minimums_include_additional_hours``).
    """
    t = s.tlevel
    aims = _in_streams(x, rule.streams)
    prog = aims[aims["LearnAimRef"] == t.programme_aim]
    core = aims[(aims["AimType"].astype(str) == "5")].drop_duplicates(["UKPRN", "LearnRefNumber"])
    bands = dict(zip(zip(core["UKPRN"], core["LearnRefNumber"]), core["lars_tlevel_band"]))
    band = pd.Series([bands.get(k) for k in zip(prog["UKPRN"], prog["LearnRefNumber"])], index=prog.index,
                     dtype="object")
    band = band.where(band.isin(list(t.band_minimum_hours)), t.default_band)
    start_year = prog["LearnStartDate"].map(lambda d: parse_year(_year_code(d)).label if pd.notna(d) else "")
    extra = start_year.map(t.additional_hours_by_start_year).fillna(0).astype(int)
    if t.band_minimums_include_additional_hours:  # the band table counts them already: never twice
        extra = extra * 0
    required = band.map(t.band_minimum_hours) + extra
    planned = prog["PHours_n"].fillna(0)
    hit = (planned < required).fillna(False)
    reason = "planned " + planned.astype("string") + " hours; band " + band.astype(str) + " needs " \
        + required.astype("Int64").astype("string")
    return _rows(prog, hit, reason)


def _year_code(d) -> str:
    """The academic year code (``2223``) a date falls in."""
    y = d.year if d.month >= 8 else d.year - 1
    return f"{y % 100:02d}{(y + 1) % 100:02d}"


def frm56(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Study programme students with planned learning hours but no regulated qualification."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    hit = ~st["has_qualification"] & (st["PlanLearnHours_n"].fillna(0) > 0)
    return _rows(st, hit, st["PlanLearnHours_n"].astype("string").fillna("") + " planned learning hours; no regulated"
                 " qualification")


def frm65(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """T Level industry placements whose recorded planned hours are below the specialism's minimum.

    The minimum is 315 hours, 750 for the Early Years Educator specialism.
    The guidance lets some early years students who started in 2020 or 2021
    complete fewer hours, but 750 must still be planned and recorded, and the
    recorded planned hours are what is checked, so that allowance plays no
    part. From R09 2022-23 the rows are second-year programme aims with the
    learner's total placement hours; up to R08 they were the placement aims,
    in either year, each with its own hours (the version's ``placement_aims``).
    """
    t = s.tlevel
    aims = _in_streams(x, rule.streams)
    place = aims[aims["LearnAimRef"] == t.placement_aim]
    if rule.in_force.params["placement_aims"]:
        rows = place
        got = place["PHours_n"].fillna(0).astype("int64")
        words = "placement aim planned for "
    else:
        rows = aims[(aims["LearnAimRef"] == t.programme_aim)
                    & (aims["LearnStartDate"] < pd.Timestamp(x.period.year.start))]
        hours = place.groupby(["UKPRN", "LearnRefNumber"])["PHours_n"].sum()
        got = pd.Series([int(hours.get(k, 0)) for k in zip(rows["UKPRN"], rows["LearnRefNumber"])], index=rows.index,
                        dtype="int64")
        words = "industry placement "
    core = aims[(aims["AimType"].astype(str) == "5") & (aims["lars_early_years"] == "Y")]
    early = set(zip(core["UKPRN"], core["LearnRefNumber"]))
    keys = list(zip(rows["UKPRN"], rows["LearnRefNumber"]))
    is_early = pd.Series([k in early for k in keys], index=rows.index, dtype=bool)
    minimum = pd.Series(t.placement_minimum_hours, index=rows.index).mask(is_early, t.early_years_minimum_hours)
    short = got < minimum
    reason = words + got.astype(str) + " hours; minimum " + minimum.astype(str)
    if x.workplacements is not None:
        wp = set(zip(x.workplacements["UKPRN"], x.workplacements["LearnRefNumber"]))
        placed = set(zip(place["UKPRN"], place["LearnRefNumber"]))
        no_record = pd.Series([k in placed and k not in wp for k in keys], index=rows.index, dtype=bool)
        reason = reason.mask(no_record & ~short, "placement aim has no work placement record")
        short |= no_record
    return _rows(rows, short, reason)


def frm69(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Half or more of planned hours are employability, enrichment and pastoral.

    Only learners with no additional support identified are flagged.
    """
    st = x.students[x.students["stream"].isin(rule.streams)]
    plh, eep = st["PlanLearnHours_n"].fillna(0), st["PlanEEPHours_n"].fillna(0)
    total = plh + eep
    # eep / total >= p/100  <=>  100 * eep >= p * total (exact)
    hit = ~st["als"] & (total > 0) & (100 * eep >= s.eep_share_percent_at_least * total)
    share = (100 * eep / total.where(total > 0)).round(1).astype("string")
    return _rows(st, hit.fillna(False), "employability, enrichment and pastoral hours are " + share.fillna("") + " %")


# The params each versioned report's function reads from the version in force (checked when the catalogue loads).
VERSION_PARAMS: dict[str, set[str]] = {
    "FRM28": {"continuing_students"}, "FRM30": {"hours_per_week", "flag_at_hours"},
    "FRM43": {"support_needs_excluded", "qualification_needed"}, "FRM65": {"placement_aims"}, "FRM71": set(),
}

RULES: dict[str, Callable[[FrmInputs, Settings, Rule], pd.DataFrame]] = {
    "FRM01": frm01, "FRM13": frm13, "FRM16": frm16, "FRM17": frm17, "FRM19": frm19, "FRM20": frm20, "FRM21": frm21,
    "FRM27": frm27, "FRM28": frm28, "FRM29": frm29, "FRM30": frm30, "FRM37": frm37, "EMLE": emle, "FRM42": frm42,
    "FRM43": frm43, "FRM49": frm49, "FRM56": frm56, "FRM65": frm65, "FRM69": frm69, "FRM71": frm71,
}
