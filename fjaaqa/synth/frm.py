"""Synthetic providers for funding rules monitoring: every funding stream, planted cases and near misses.

Three providers outside the agencies (a college, a training provider and its
subcontractor) carry 16 to 19 study programmes, T Levels with industry
placements, adult skills, traineeships, advanced learner loans with SLC
records and apprenticeships, in the 2021-22 R14 and 2022-23 R06 and R14
returns. Each learner is a case for one rule: ``H`` in its reference means
the rule must flag it, ``N`` that it is a near miss the rule must not flag
(e.g. ``F30H1`` 41 planned hours a week, ``F30N1`` exactly 40). Between R06
and R14 one query is corrected (resolved), the rest persist and one new case
appears, so the change since the previous return can be checked.

The names follow the reports as revised from R09. R06 is checked by the
earlier versions of FRM28, FRM30, FRM43 and FRM65 (and FRM71 is not yet
published), so a few cases expect something else at R06: each case's
``expect`` is per return, and ``also`` lists other reports a case is
expected in.

:func:`expected` lists every planted case; :func:`add_frm_cases` adds the
rows to the generator's snapshots and returns the extra tables (LARS subset,
prior achievements, SLC loans, earnings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..inputs import reference
from ..periods import Period, make_period

COLLEGE, TRAINING, SUBCONTRACTOR = "10090001", "10090002", "10090003"
PREV, R06, R14 = make_period("2122", "R14"), make_period("2223", "R06"), make_period("2223", "R14")
STD = "2"  # a shipped standard (Software Developer) for apprenticeship cases

# A LARS subset: made-up references and titles, real kinds of aim.
LARS_ROWS = [
    ("60110001", "Synthetic full level 2 diploma", "2", "other", None, "Y", "Y", "Y", "N", "360", None, None),
    ("60110003", "Synthetic full level 3 diploma", "3", "other", None, "Y", "Y", "N", "Y", "540", None, None),
    ("60110004", "Synthetic level 4 certificate", "4", "other", None, "Y", "N", "N", "N", "300", None, None),
    ("60110002", "Synthetic level 2 award (not full)", "2", "other", None, "Y", "Y", "N", "N", "120", None, None),
    ("50079100", "GCSE mathematics (synthetic)", "2", "gcse", "maths", "Y", "Y", "N", "N", "120", None, None),
    ("50079101", "GCSE English language (synthetic)", "2", "gcse", "english", "Y", "Y", "N", "N", "120", None, None),
    ("60300001", "Functional skills maths level 1 (synthetic)", "1", "functional_skills", "maths", "Y", "Y", "N",
     "N", "55", None, None),
    ("60300002", "Functional skills maths level 2 (synthetic)", "2", "functional_skills", "maths", "Y", "Y", "N",
     "N", "55", None, None),
    ("60370001", "T Level technical qualification, band 7 (synthetic)", "3", "tlevel_tq", None, "Y", "Y", "N", "Y",
     "1100", "7", "N"),
    ("60370002", "T Level technical qualification, early years educator (synthetic)", "3", "tlevel_tq", None, "Y",
     "Y", "N", "Y", "1200", "8", "Y"),
]
LARS_COLUMNS = ["LearnAimRef", "title", "level", "aim_type", "subject", "regulated", "approved_16_19",
                "full_level_2", "full_level_3", "glh", "tlevel_band", "early_years"]

AIM_DEFAULTS = {"AimType": "4", "FundModel": "25", "ProgType": None, "StdCode": None, "LearnStartDate": "2022-09-05",
                "LearnPlanEndDate": "2023-06-30", "LearnActEndDate": None, "CompStatus": "1", "Outcome": None,
                "WithdrawReason": None, "AchDate": None, "DelLocPostCode": "B1 1AA", "PartnerUKPRN": None,
                "PHours": None, "OTJActHours": None, "EPAOrgID": None, "SWSupAimId": None}
YOUNG, ADULT, TWENTIES = "2006-03-01", "1985-05-20", "2001-02-10"


def uln_with_check(rng: np.random.Generator) -> str:
    """A random ULN that passes the check-digit rule."""
    while True:
        body = "".join(str(d) for d in [int(rng.integers(1, 10))] + [int(x) for x in rng.integers(0, 10, 8)])
        check = reference.uln_check_digit(body)
        if check is not None:
            return body + str(check)


@dataclass
class Case:
    """One learner: which rule it tests, whether it must be flagged, and its rows per return."""

    rule: str
    ref: str
    ukprn: str
    learner: dict
    aims: dict  # period -> list of aim dicts (absent period: not in that return)
    expect: dict  # period -> True (flag) / False (near miss)
    employment: list = field(default_factory=list)
    fams: list = field(default_factory=list)  # (AimSeqNumber or None, type, code)
    placements: list = field(default_factory=list)  # (AimSeqNumber, hours)
    also: dict = field(default_factory=dict)  # another rule -> {period: flag}, e.g. the earlier version of a report


def _ended(end: str, withdrawn: bool = True) -> dict:
    if withdrawn:
        return {"CompStatus": "3", "Outcome": "3", "WithdrawReason": "98", "LearnActEndDate": end}
    return {"CompStatus": "2", "Outcome": "1", "LearnActEndDate": end, "AchDate": end}


def _both(aims: list[dict]) -> dict:
    return {R06: aims, R14: aims}


def _expect_both(flag: bool) -> dict:
    return {R06: flag, R14: flag}


def _apprentice(start="2022-10-03", end="2024-04-02", **kw) -> dict:
    return {"LearnAimRef": "ZPROG001", "AimType": "1", "ProgType": "25", "StdCode": STD, "FundModel": "36",
            "LearnStartDate": start, "LearnPlanEndDate": end, "PHours": "600", **kw}


def cases() -> list[Case]:
    """Every planted case, hand-made from the 2022-23 guidance (see tests/test_frm.py for the boundaries)."""
    c: list[Case] = []
    sp = {"PlanLearnHours": "540", "PlanEEPHours": "40"}
    # FRM01: repeat of an aim achieved last year (2021-22 R14) or earlier (prior_achievements.csv)
    adult = {"DateOfBirth": ADULT}
    retake = [{"LearnAimRef": "60110001", "FundModel": "35", "LearnStartDate": "2022-09-12"}]
    c.append(Case("FRM01", "F01H1", TRAINING, adult, {
        PREV: [{"LearnAimRef": "60110001", "FundModel": "35", "LearnStartDate": "2021-09-13",
                "LearnPlanEndDate": "2022-06-30", **_ended("2022-06-24", withdrawn=False)}], **_both(retake)},
        _expect_both(True), fams=[("1", "SOF", "105"), ("1", "FFI", "1")]))
    c.append(Case("FRM01", "F01N1", TRAINING, adult, {
        PREV: [{"LearnAimRef": "60110001", "FundModel": "35", "LearnStartDate": "2021-09-13",
                "LearnPlanEndDate": "2022-06-30", **_ended("2022-03-11")}], **_both(retake)},
        _expect_both(False), fams=[("1", "SOF", "105"), ("1", "FFI", "1")]))
    gcse = [{"LearnAimRef": "50079100", "FundModel": "35", "LearnStartDate": "2022-09-12"}]
    c.append(Case("FRM01", "F01H2", TRAINING, {**adult, "MathGrade": "5"}, _both(gcse), _expect_both(True),
                  fams=[("1", "SOF", "105"), ("1", "FFI", "2")]))
    c.append(Case("FRM01", "F01N2", TRAINING, {**adult, "MathGrade": "3"}, _both(gcse), _expect_both(False),
                  fams=[("1", "SOF", "105"), ("1", "FFI", "2")]))
    # FRM01: an apprentice starting again the standard achieved in 2021-22 (the programme aim is matched on StdCode)
    done = _apprentice(start="2020-10-05", end="2022-04-04", **_ended("2022-04-29", withdrawn=False))
    c.append(Case("FRM01", "F01H3", TRAINING, {"DateOfBirth": TWENTIES}, {PREV: [done], **_both([_apprentice()])},
                  _expect_both(True)))
    # FRM13: functional skills maths level 1 in an apprenticeship, level 1 already held
    # and level 2 already held (GCSE grade 4) on a level 2 aim
    for ref, aimref, grade, flag in [("F13H1", "60300001", "D", True), ("F13N1", "60300002", "D", False),
                                     ("F13N2", "60300001", "NONE", False), ("F13H2", "60300002", "4", True)]:
        aims = [_apprentice(PHours="700"), {**_apprentice(), "LearnAimRef": aimref, "AimType": "3", "PHours": None}]
        c.append(Case("FRM13", ref, TRAINING, {"DateOfBirth": TWENTIES, "MathGrade": grade}, _both(aims),
                      _expect_both(flag)))
    # FRM16 / FRM17: full level 2 / 3 already held, aged 19 to 23
    l2 = [{"LearnAimRef": "60110001", "FundModel": "35"}]
    c.append(Case("FRM16", "F16H1", COLLEGE, {"DateOfBirth": TWENTIES, "PriorAttain": "2"}, _both(l2),
                  _expect_both(True), fams=[("1", "SOF", "105"), ("1", "FFI", "1")]))
    c.append(Case("FRM16", "F16N1", COLLEGE, {"DateOfBirth": TWENTIES, "PriorAttain": "2"}, _both(l2),
                  _expect_both(False), fams=[("1", "SOF", "105"), ("1", "FFI", "1")],
                  employment=[{"EmpStat": "11", "DateEmpStatApp": "2022-08-15"}]))
    l3 = [{"LearnAimRef": "60110003", "FundModel": "35"}]
    c.append(Case("FRM17", "F17H1", COLLEGE, {"DateOfBirth": TWENTIES, "PriorAttain": "3"}, _both(l3),
                  _expect_both(True), fams=[("1", "SOF", "110"), ("1", "FFI", "2")]))
    c.append(Case("FRM17", "F17N1", COLLEGE, {"DateOfBirth": TWENTIES, "PriorAttain": "2"}, _both(l3),
                  _expect_both(False), fams=[("1", "SOF", "110"), ("1", "FFI", "2")]))
    # FRM19: traineeship after an apprenticeship (prior_achievements.csv) versus after a level 2
    tr = [{"LearnAimRef": "ZPROG001", "AimType": "1", "ProgType": "24", "FundModel": "35",
           "LearnPlanEndDate": "2023-01-27"}]
    for ref, flag in [("F19H1", True), ("F19N1", False)]:
        c.append(Case("FRM19", ref, TRAINING, {"DateOfBirth": "2002-04-04"}, _both(tr), _expect_both(flag)))
    # FRM20 / FRM21: loans learning matched with SLC records
    loan_aim = [{"LearnAimRef": "60110003", "FundModel": "99", "LearnStartDate": "2022-10-03",
                 "LearnPlanEndDate": "2023-07-14"}]
    for ref, flag in [("F21H1", True), ("F21N1", False)]:
        c.append(Case("FRM21", ref, COLLEGE, {"DateOfBirth": ADULT}, _both(loan_aim), _expect_both(flag),
                      fams=[("1", "ADL", "1")]))
    # FRM27: withdrawn back into last year, though last year's R14 showed the apprentice continuing
    prev_row = [_apprentice(start="2021-10-04", end="2023-04-03")]
    c.append(Case("FRM27", "F27H1", TRAINING, {"DateOfBirth": TWENTIES}, {
        PREV: prev_row, **_both([{**prev_row[0], **_ended("2022-07-15")}])}, _expect_both(True)))
    c.append(Case("FRM27", "F27N1", TRAINING, {"DateOfBirth": TWENTIES}, {
        PREV: prev_row, **_both([{**prev_row[0], **_ended("2022-08-15")}])}, _expect_both(False)))
    # FRM28: new start left on day 42 versus day 43
    for ref, end, flag in [("F28H1", "2022-10-16", True), ("F28N1", "2022-10-17", False)]:
        c.append(Case("FRM28", ref, COLLEGE, {"DateOfBirth": YOUNG, **sp},
                      _both([{"LearnAimRef": "60110003", **_ended(end)}]), _expect_both(flag)))
    # FRM71: continuing student left within six weeks of 6 September (day 42 = 17 October)
    # (FRM71 is published from R09: at R06 the earlier FRM28 took continuing students)
    for ref, end, flag in [("F71H1", "2022-10-17", True), ("F71N1", "2022-10-18", False)]:
        cont = {"LearnAimRef": "60110003", "LearnStartDate": "2021-09-06", "LearnPlanEndDate": "2023-06-30"}
        c.append(Case("FRM71", ref, COLLEGE, {"DateOfBirth": "2005-03-01", **sp},
                      {PREV: [cont], **_both([{**cont, **_ended(end)}])}, {R06: False, R14: flag},
                      also={"FRM28": {R06: flag, R14: False}}))
    # FRM29: qualifying period 42 days: day 41 does not qualify, day 42 is flagged; a new case appears at R14
    for ref, end, flag in [("F29H1", "2022-10-16", True), ("F29N1", "2022-10-15", False)]:
        c.append(Case("FRM29", ref, COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "0", "PlanEEPHours": "0"},
                      _both([{"LearnAimRef": "60110002", **_ended(end)}]), _expect_both(flag)))
    c.append(Case("FRM29", "F29H2", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "0", "PlanEEPHours": "0"},
                  {R06: [{"LearnAimRef": "60110002", "LearnStartDate": "2023-01-09"}],
                   R14: [{"LearnAimRef": "60110002", "LearnStartDate": "2023-01-09", **_ended("2023-02-24")}]},
                  {R06: False, R14: True}))
    # FRM30: 39 weeks (5 Sep 2022 to 4 Jun 2023 inclusive): 1,599 hours = 41 a week, 1,560 = exactly 40;
    # at R06 the earlier version queries 35 and over: 1,365 hours = exactly 35, 1,364 just under
    for ref, plh, r06, r14 in [("F30H1", "1439", True, True), ("F30N1", "1400", True, False),
                               ("F30H2", "1205", True, False), ("F30N2", "1204", False, False)]:
        c.append(Case("FRM30", ref, COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": plh, "PlanEEPHours": "160"},
                      _both([{"LearnAimRef": "60110003", "LearnPlanEndDate": "2023-06-04"}]), {R06: r06, R14: r14}))
    # FRM37: 52 weeks at 31+ hours (capped at 30): minimum 312; F37H1 is corrected to 320 by R14 (resolved)
    for ref, hours06, hours14 in [("F37H1", "311", "320"), ("F37N1", "312", "312")]:
        base = _apprentice(start="2022-09-05", end="2023-09-04")
        c.append(Case("FRM37", ref, SUBCONTRACTOR, {"DateOfBirth": TWENTIES},
                      {R06: [{**base, "PHours": hours06}], R14: [{**base, "PHours": hours14}]},
                      {R06: ref.startswith("F37H"), R14: False},
                      employment=[{"EmpStat": "10", "DateEmpStatApp": "2022-09-01", "ESM_EII": "8"}]))
    # EMLE: adult GCSE maths, grade C already held versus grade 3
    em = [{"LearnAimRef": "50079100", "FundModel": "35"}]
    for ref, grade, flag in [("EMH1", "C", True), ("EMN1", "3", False)]:
        c.append(Case("EMLE", ref, COLLEGE, {"DateOfBirth": ADULT, "MathGrade": grade}, _both(em), _expect_both(flag),
                      fams=[("1", "SOF", "105"), ("1", "FFI", "1")]))
    # FRM42: work experience of 301 versus 300 hours, not the core aim
    # (at R14 the provider's system renumbers F42H1's aims: the query ID must not change)
    for ref, hours, flag in [("F42H1", "301", True), ("F42N1", "300", False)]:
        aims = [{"LearnAimRef": "60110002", "AimType": "5", "PHours": "200"},
                {"LearnAimRef": "ZWRKX001", "AimType": "3", "PHours": hours}]
        c.append(Case("FRM42", ref, COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "200", "PlanEEPHours": "100"},
                      {R06: aims, R14: aims[::-1] if flag else aims}, _expect_both(flag)))
    # FRM43 / FRM56: planned learning hours against qualifications
    c.append(Case("FRM43", "F43H1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "0", "PlanEEPHours": "120"},
                  _both([{"LearnAimRef": "60110003", "AimType": "5"}]), _expect_both(True)))
    c.append(Case("FRM43", "F43N1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "450", "PlanEEPHours": "120"},
                  _both([{"LearnAimRef": "60110003", "AimType": "5"}]), _expect_both(False)))
    c.append(Case("FRM56", "F56H1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "200", "PlanEEPHours": "300"},
                  _both([{"LearnAimRef": "ZWRKX001", "AimType": "5", "PHours": "500"}]), _expect_both(True)))
    # (no qualification, no planned learning hours, no support needs: the earlier FRM43 took it at R06)
    c.append(Case("FRM56", "F56N1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "0", "PlanEEPHours": "500"},
                  _both([{"LearnAimRef": "ZWRKX001", "AimType": "5", "PHours": "500"}]), _expect_both(False),
                  also={"FRM43": {R06: True, R14: False}}))
    # FRM49: T Level band 7 needs 1,300 + 80 = 1,380 hours for a 2022-23 start
    t1 = {"FundModel": "25", "ProgType": "31", "LearnStartDate": "2022-09-05", "LearnPlanEndDate": "2024-06-28"}
    for ref, hours, flag in [("F49H1", "1379", True), ("F49N1", "1380", False)]:
        c.append(Case("FRM49", ref, COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "600", "PlanEEPHours": "100"},
                      _both([{"LearnAimRef": "ZPROG001", "AimType": "1", "PHours": hours, **t1},
                             {"LearnAimRef": "60370001", "AimType": "5", **t1}]), _expect_both(flag)))
    # FRM65: second-year T Levels: 314 versus 315 placement hours; early years 749 versus 750, and 415 queried:
    # their pandemic allowance lowers the hours completed, not the 750 to be recorded. (R06 queries the placement
    # aims, R14 the programme aims: the same learners.)
    t2 = {**t1, "LearnStartDate": "2021-09-06", "LearnPlanEndDate": "2023-06-30"}
    for ref, core, hours, flag in [("F65H1", "60370001", "314", True), ("F65N1", "60370001", "315", False),
                                   ("F65N2", "60370002", "750", False), ("F65H2", "60370002", "749", True),
                                   ("F65H3", "60370002", "415", True)]:
        aims = [{"LearnAimRef": "ZPROG001", "AimType": "1", "PHours": "1560", **t2},
                {"LearnAimRef": core, "AimType": "5", **t2},
                {"LearnAimRef": "ZWRKX003", "AimType": "3", "PHours": hours, **t2}]
        c.append(Case("FRM65", ref, COLLEGE, {"DateOfBirth": "2005-02-01", "PlanLearnHours": "600",
                                              "PlanEEPHours": "100"},
                      {PREV: aims, **_both(aims)}, _expect_both(flag), placements=[("3", hours)]))
    # FRM69: exactly half EEP without support needs versus 80 % with a declared difficulty
    c.append(Case("FRM69", "F69H1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "300", "PlanEEPHours": "300"},
                  _both([{"LearnAimRef": "60110002"}]), _expect_both(True)))
    c.append(Case("FRM69", "F69N1", COLLEGE, {"DateOfBirth": YOUNG, "PlanLearnHours": "120", "PlanEEPHours": "480",
                                             "LLDDHealthProb": "1"},
                  _both([{"LearnAimRef": "60110002"}]), _expect_both(False)))
    return c


def expected() -> pd.DataFrame:
    """Every planted case: ``period, rule, UKPRN, LearnRefNumber, flag`` (False = near miss)."""
    rows = [{"period": p, "rule": k.rule, "UKPRN": k.ukprn, "LearnRefNumber": k.ref, "flag": f}
            for k in cases() for p, f in k.expect.items()]
    rows += [{"period": p, "rule": rule, "UKPRN": k.ukprn, "LearnRefNumber": k.ref, "flag": f}
             for k in cases() for rule, by in k.also.items() for p, f in by.items()]
    for period in (R06, R14):  # the SLC-only cases have no ILR rows
        rows.append({"period": period, "rule": "FRM20", "UKPRN": COLLEGE, "LearnRefNumber": "F20H1", "flag": True})
        rows.append({"period": period, "rule": "FRM20", "UKPRN": COLLEGE, "LearnRefNumber": "F20N1", "flag": False})
    return pd.DataFrame(rows)


def add_frm_cases(snaps: dict[Period, dict[str, pd.DataFrame]], seed: int) -> dict[str, pd.DataFrame]:
    """Add the cases' rows to the snapshots; return the top-level and per-return extra tables.

    Keys of the result: ``lars``, ``prior_achievements`` and ``loans/<period>``, ``earnings/<period>``.
    """

    rng = np.random.default_rng(seed + 2)
    all_cases = cases()
    ulns = {k.ref: uln_with_check(rng) for k in all_cases}
    ulns.update({"F20H1": uln_with_check(rng), "F20N1": uln_with_check(rng)})
    for period, tables in snaps.items():
        rows = {"learners": [], "deliveries": [], "employment": [], "fams": [], "workplacements": []}
        for k in all_cases:
            aims = k.aims.get(period)
            if not aims:
                continue
            rows["learners"].append({"UKPRN": k.ukprn, "LearnRefNumber": k.ref, "ULN": ulns[k.ref],
                                     "LLDDHealthProb": "2", "Sex": "F", "Ethnicity": "31", **k.learner})
            for seq, aim in enumerate(aims, start=1):
                d = {"UKPRN": k.ukprn, "LearnRefNumber": k.ref, "AimSeqNumber": str(seq), **AIM_DEFAULTS, **aim}
                if k.ukprn == SUBCONTRACTOR:
                    d["PartnerUKPRN"] = None
                if k.ukprn == TRAINING and d["FundModel"] == "36":
                    d["PartnerUKPRN"] = SUBCONTRACTOR
                rows["deliveries"].append(d)
            for e in k.employment:
                rows["employment"].append({"UKPRN": k.ukprn, "LearnRefNumber": k.ref, "EmpId": None, **e})
            for seq, ftype, code in k.fams:
                rows["fams"].append({"UKPRN": k.ukprn, "LearnRefNumber": k.ref, "AimSeqNumber": seq,
                                     "FAMType": ftype, "FAMCode": code, "DateFrom": None, "DateTo": None})
            for seq, hours in k.placements:
                rows["workplacements"].append({"UKPRN": k.ukprn, "LearnRefNumber": k.ref, "AimSeqNumber": seq,
                                               "WorkPlaceStartDate": "2022-03-07", "WorkPlaceEndDate": None,
                                               "WorkPlaceHours": hours, "WorkPlaceMode": "1",
                                               "WorkPlaceEmpId": "154549452"})
        for name, new in rows.items():
            if not new:
                continue
            old = tables.get(name)
            frame = pd.DataFrame(new)
            tables[name] = frame if old is None or old.empty else pd.concat([old, frame], ignore_index=True)
    extra: dict[str, pd.DataFrame] = {"lars": pd.DataFrame(LARS_ROWS, columns=LARS_COLUMNS)}
    extra["prior_achievements"] = pd.DataFrame([
        {"ULN": ulns["F01H2"], "LearnAimRef": "50079100", "AchDate": "2019-08-22", "OutGrade": "5", "ProgType": None,
         "AimType": "4"},
        {"ULN": ulns["F01N2"], "LearnAimRef": "50079100", "AchDate": "2019-08-22", "OutGrade": "3", "ProgType": None,
         "AimType": "4"},
        {"ULN": ulns["F19H1"], "LearnAimRef": "ZPROG001", "AchDate": "2021-05-28", "OutGrade": None, "ProgType": "25",
         "AimType": "1"},
        {"ULN": ulns["F19N1"], "LearnAimRef": "60110001", "AchDate": "2021-05-28", "OutGrade": None, "ProgType": None,
         "AimType": "4"},
    ])
    for period in (R06, R14):
        loans = [
            {"UKPRN": COLLEGE, "ULN": ulns["F21N1"], "LearnRefNumber": "F21N1", "LearnAimRef": "60110003",
             "course_start_date": "2022-10-03", "loan_status": "approved", "liability_passed": "Y",
             "amount_paid": "1450.00"},
            {"UKPRN": COLLEGE, "ULN": ulns["F21H1"], "LearnRefNumber": "F21H1", "LearnAimRef": "60110003",
             "course_start_date": "2022-10-03", "loan_status": "approved", "liability_passed": "N",
             "amount_paid": "0.00"},
            {"UKPRN": COLLEGE, "ULN": ulns["F20H1"], "LearnRefNumber": "F20H1", "LearnAimRef": "60110003",
             "course_start_date": "2022-11-07", "loan_status": "approved", "liability_passed": "Y",
             "amount_paid": "980.00"},
            {"UKPRN": COLLEGE, "ULN": ulns["F20N1"], "LearnRefNumber": "F20N1", "LearnAimRef": "60110003",
             "course_start_date": "2022-11-07", "loan_status": "cancelled", "liability_passed": "Y",
             "amount_paid": "0.00"},
        ]
        extra[f"loans/{period.year.code}/{period.return_code}"] = pd.DataFrame(loans)
        extra[f"earnings/{period.year.code}/{period.return_code}"] = _earnings(snaps[period], period)
    return extra


def _earnings(tables: dict[str, pd.DataFrame], period: Period) -> pd.DataFrame:
    """Year-to-date funding for the FRM providers: per aim (adult, loans, apprenticeships) or per learner (16 to 19).

    Amounts are made up but fixed by the aim, so two runs agree; R14 is the
    full year, R06 half of it.
    """
    d = tables["deliveries"]
    d = d[d["UKPRN"].isin([COLLEGE, TRAINING, SUBCONTRACTOR])]
    share = 1.0 if period.return_code == "R14" else 0.5
    rows = []
    young = d[d["FundModel"] == "25"].drop_duplicates(["UKPRN", "LearnRefNumber"])
    for r in young.itertuples():
        rows.append({"UKPRN": r.UKPRN, "LearnRefNumber": r.LearnRefNumber, "AimSeqNumber": None,
                     "amount": f"{4800 * share:.2f}"})
    for r in d[d["FundModel"] != "25"].itertuples():
        base = {"35": 1350, "36": 3200, "99": 0}.get(r.FundModel, 0)
        base += sum(ord(ch) for ch in r.LearnRefNumber) % 400
        rows.append({"UKPRN": r.UKPRN, "LearnRefNumber": r.LearnRefNumber, "AimSeqNumber": str(r.AimSeqNumber),
                     "amount": f"{base * share:.2f}"})
    return pd.DataFrame(rows, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "amount"])
