"""FRM rules, each with a flagged case and a near miss worked out by hand from the 2022-23 guidance.

Every case is a learner whose LearnRefNumber says what it is (``HIT…`` must
be flagged, ``MISS…`` must not), so each test reads as a table of cases.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fjaaqa import frm
from fjaaqa.errors import InputError
from fjaaqa.frm.inputs import PRIOR_COLUMNS
from fjaaqa.periods import make_period

UKPRN = "10000001"
CAT, _ = frm.load_catalogue("2223")
S = CAT.settings
P2223 = make_period("2223", "R09")  # the reports as revised from R09; the R01-R08 versions are tested at R08
R08 = make_period("2223", "R08")

LEARNER_DEFAULTS = {"UKPRN": UKPRN, "DateOfBirth": "2005-01-01", "PriorAttain": None, "PlanLearnHours": None,
                    "PlanEEPHours": None, "LLDDHealthProb": "2", "MathGrade": None, "EngGrade": None}
AIM_DEFAULTS = {"UKPRN": UKPRN, "AimSeqNumber": "1", "AimType": "4", "FundModel": "25", "ProgType": None,
                "LearnStartDate": "2022-09-05", "LearnPlanEndDate": "2023-06-30", "LearnActEndDate": None,
                "CompStatus": "1", "Outcome": None, "AchDate": None, "PHours": None, "SWSupAimId": None,
                "OutGrade": None, "FAM_FFI": None, "FAM_SOF": None, "FAM_ADL": None, "FAM_LDM": None}
_ULN = iter(range(1000000000, 9999999999, 7))


class World:
    """A few learners and aims for one return, built in the canonical table shapes."""

    def __init__(self, period=P2223):
        self.period = period
        self.learners, self.aims, self.employment, self.fams = [], [], [], []
        self.uln = {}

    def learner(self, ref, **kw):
        self.uln[ref] = kw.pop("ULN", None) or str(next(_ULN))
        self.learners.append({**LEARNER_DEFAULTS, "LearnRefNumber": ref, "ULN": self.uln[ref], **kw})
        return self

    def aim(self, ref, aimref, **kw):
        seq = str(1 + sum(a["LearnRefNumber"] == ref for a in self.aims))
        self.aims.append({**AIM_DEFAULTS, "AimSeqNumber": seq, "LearnRefNumber": ref, "LearnAimRef": aimref, **kw})
        return self

    def inputs(self, lars=None, prior=None, previous=None, loans=None, earnings=None, workplacements=None):
        learners = pd.DataFrame(self.learners)
        deliveries = pd.DataFrame(self.aims)
        employment = pd.DataFrame(self.employment, columns=["UKPRN", "LearnRefNumber", "EmpStat", "DateEmpStatApp",
                                                            "ESM_EII"])
        fams = pd.DataFrame(self.fams, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode"])
        lars_df = pd.DataFrame(lars) if lars is not None else None
        aims = frm.prepare_aims(learners, deliveries, employment, lars_df, S)
        prior_df = None
        if prior is not None:
            # (ULN, LearnAimRef, AchDate, OutGrade, ProgType, AimType[, StdCode])
            prior_df = pd.DataFrame([(*p, *[None] * (len(PRIOR_COLUMNS) - len(p))) for p in prior],
                                    columns=PRIOR_COLUMNS)
            prior_df["AchDate"] = pd.to_datetime(prior_df["AchDate"])
            prior_df = frm.with_lars(prior_df, lars_df)
        return frm.FrmInputs(
            period=self.period, aims=aims, students=frm.prepare_students(aims, fams, S), fams=fams,
            workplacements=None if workplacements is None else pd.DataFrame(workplacements), lars=lars_df,
            prior=prior_df, previous_year=None if previous is None else pd.DataFrame(previous),
            loans=None if loans is None else pd.DataFrame(loans),
            earnings=None if earnings is None else pd.DataFrame(earnings),
            available={"lars": lars is not None, "prior_achievements": prior is not None,
                       "previous_year": previous is not None, "loans": loans is not None},
        )


def flagged(x, rule_id):
    flags, unavailable = frm.evaluate(x, CAT, rules=[rule_id])
    assert rule_id not in unavailable, unavailable
    return set(flags["LearnRefNumber"])


def check(x, rule_id):
    """Every HIT learner flagged, no MISS learner flagged."""
    got = flagged(x, rule_id)
    refs = {a["LearnRefNumber"] for a in (x.aims.to_dict("records"))} | set(x.students["LearnRefNumber"])
    hits = {r for r in refs if r.startswith("HIT")}
    assert hits, "a test needs at least one planted case"
    assert got == hits, f"{rule_id}: flagged {sorted(got)}, expected {sorted(hits)}"


LARS = [
    {"LearnAimRef": "60000001", "level": "2", "aim_type": "other", "regulated": "Y", "full_level_2": "Y",
     "full_level_3": "N", "glh": "360"},
    {"LearnAimRef": "60000003", "level": "3", "aim_type": "other", "regulated": "Y", "full_level_2": "N",
     "full_level_3": "Y", "glh": "540"},
    {"LearnAimRef": "60000004", "level": "4", "aim_type": "other", "regulated": "Y", "full_level_2": "N",
     "full_level_3": "N", "glh": "300"},
    {"LearnAimRef": "GCSEENG1", "level": "2", "aim_type": "gcse", "subject": "english", "regulated": "Y"},
    {"LearnAimRef": "GCSEMAT1", "level": "2", "aim_type": "gcse", "subject": "maths", "regulated": "Y"},
    {"LearnAimRef": "FSENGL1", "level": "1", "aim_type": "functional_skills", "subject": "english", "regulated": "Y"},
    {"LearnAimRef": "FSMATL1", "level": "1", "aim_type": "functional_skills", "subject": "maths", "regulated": "Y"},
    {"LearnAimRef": "FSMATL2", "level": "2", "aim_type": "functional_skills", "subject": "maths", "regulated": "Y"},
    {"LearnAimRef": "FSMATE", "level": "E", "aim_type": "functional_skills", "subject": "maths", "regulated": "Y"},
    {"LearnAimRef": "60000009", "level": "2", "aim_type": "other"},  # LARS leaves "regulated" blank
    {"LearnAimRef": "TQ000001", "level": "3", "aim_type": "tlevel_tq", "regulated": "Y", "tlevel_band": "7"},
    {"LearnAimRef": "TQEARLY1", "level": "3", "aim_type": "tlevel_tq", "regulated": "Y", "tlevel_band": "8",
     "early_years": "Y"},
]


# ---------------------------------------------------------------- catalogue

def test_catalogue_lists_every_rule_and_the_withdrawn_ones():
    ids = [line.split("\t")[0] for line in frm.list_rules(CAT)]
    assert ids == ["FRM01", "FRM13", "FRM16", "FRM17", "FRM19", "FRM20", "FRM21", "FRM27", "FRM28", "FRM29",
                   "FRM30", "FRM37", "EMLE", "FRM42", "FRM43", "FRM49", "FRM56", "FRM65", "FRM69", "FRM71",
                   "FRM02", "FRM03", "FRM50"]
    assert all("withdrawn" in line for line in frm.list_rules(CAT)[-3:])
    assert not any(w.id in frm.RULES for w in CAT.withdrawn)


def test_later_year_uses_2022_23_catalogue_and_says_so():
    _, note = frm.load_catalogue("2324")
    assert note and "2022-23" in note and "2023-24" in note
    assert frm.load_catalogue("2223")[1] is None


def test_rule_without_its_input_is_not_available():
    x = World().learner("L1").aim("L1", "60000001", FundModel="35").inputs()
    flags, unavailable = frm.evaluate(x, CAT)
    assert set(unavailable) == {"FRM01", "FRM13", "FRM16", "FRM17", "FRM19", "FRM20", "FRM21", "FRM27", "EMLE"}
    assert "lars.csv" in unavailable["FRM16"]


# ---------------------------------------------------------------- eligibility rules

def test_frm01_repeat_of_achieved_aim_versus_one_failed_last_year():
    w = World()
    for ref in ("HIT_repeat", "MISS_failed", "MISS_gcse_below4", "HIT_gcse_pass", "MISS_unregulated"):
        w.learner(ref, DateOfBirth="1990-01-01")
    w.aim("HIT_repeat", "60000001", FundModel="35")
    w.aim("MISS_failed", "60000001", FundModel="35")
    w.aim("MISS_gcse_below4", "GCSEMAT1", FundModel="35")
    w.aim("HIT_gcse_pass", "GCSEMAT1", FundModel="35")
    w.aim("MISS_unregulated", "ZWRKX001", FundModel="35")
    prior = [(w.uln["HIT_repeat"], "60000001", "2022-06-30", None, None, "4"),
             # the failed attempt is no achievement: it is not in the prior list at all
             (w.uln["MISS_gcse_below4"], "GCSEMAT1", "2022-06-30", "3", None, "4"),
             (w.uln["HIT_gcse_pass"], "GCSEMAT1", "2022-06-30", "4", None, "4"),
             (w.uln["MISS_unregulated"], "ZWRKX001", "2022-06-30", None, None, "4")]
    check(w.inputs(lars=LARS, prior=prior), "FRM01")


def test_frm01_achievement_after_the_start_is_not_prior():
    w = World().learner("MISS_later", DateOfBirth="1990-01-01").aim("MISS_later", "60000001", FundModel="35")
    w.learner("HIT_x", DateOfBirth="1990-01-01").aim("HIT_x", "60000001", FundModel="35")
    prior = [(w.uln["MISS_later"], "60000001", "2022-09-05", None, None, "4"),  # same day as the start: not before
             (w.uln["HIT_x"], "60000001", "2022-09-04", None, None, "4")]
    check(w.inputs(lars=LARS, prior=prior), "FRM01")


def test_frm01_repeated_apprenticeship_standard():
    w = World()
    appr = dict(FundModel="36", AimType="1", ProgType="25", LearnStartDate="2022-09-05")
    for ref, std in [("HIT_same_standard", "2"), ("MISS_other_standard", "3"), ("MISS_achieved_later", "2")]:
        w.learner(ref, DateOfBirth="1995-01-01").aim(ref, "ZPROG001", StdCode=std, **appr)
    # a component aim of the same standard is matched on its own aim reference, not on the standard
    w.learner("MISS_component", DateOfBirth="1995-01-01").aim("MISS_component", "60000001", StdCode="2",
                                                              **{**appr, "AimType": "3"})
    prior = [(w.uln["HIT_same_standard"], "ZPROG001", "2021-06-30", None, "25", "1", "2"),
             (w.uln["MISS_other_standard"], "ZPROG001", "2021-06-30", None, "25", "1", "2"),
             (w.uln["MISS_achieved_later"], "ZPROG001", "2022-09-05", None, "25", "1", "2"),
             (w.uln["MISS_component"], "ZPROG001", "2021-06-30", None, "25", "1", "2")]
    x = w.inputs(lars=LARS, prior=prior)
    check(x, "FRM01")
    flags, _ = frm.evaluate(x, CAT, rules=["FRM01"])
    assert flags["reason"].tolist() == ["apprenticeship standard 2 already achieved on 2021-06-30"]


def test_frm01_unknown_regulated_status_still_flagged_and_the_reason_says_so():
    w = World()
    for ref, aim in [("HIT_known", "60000001"), ("HIT_blank_in_lars", "60000009"), ("HIT_not_in_lars", "61234567")]:
        w.learner(ref, DateOfBirth="1990-01-01").aim(ref, aim, FundModel="35")
    prior = [(w.uln["HIT_known"], "60000001", "2022-06-30", None, None, "4"),
             (w.uln["HIT_blank_in_lars"], "60000009", "2022-06-30", None, None, "4"),
             (w.uln["HIT_not_in_lars"], "61234567", "2022-06-30", None, None, "4")]
    x = w.inputs(lars=LARS, prior=prior)
    check(x, "FRM01")
    flags, _ = frm.evaluate(x, CAT, rules=["FRM01"])
    why = dict(zip(flags["LearnRefNumber"], flags["reason"]))
    unknown = "already achieved on 2022-06-30; lars.csv does not say whether the aim is regulated"
    assert why == {"HIT_known": "already achieved on 2022-06-30", "HIT_blank_in_lars": unknown,
                   "HIT_not_in_lars": unknown}


def test_frm01_gcse_below_grade4_retake_only_in_adult_skills():
    w = World()
    streams = {"aeb": dict(FundModel="35"), "trainee1924": dict(FundModel="35", ProgType="24"),
               "apprentice": dict(FundModel="36", AimType="3", ProgType="25", StdCode="2")}
    # In an apprenticeship, English and maths are FRM13's (funded up to level 2 where it is lacking): FRM01 leaves
    # them out, whatever the grade; a GCSE retake in adult skills is excused below grade 4 only.
    cases = [("MISS_aeb_grade3", "aeb", "3"), ("MISS_trainee1924_grade3", "trainee1924", "3"),
             ("MISS_apprentice_grade3", "apprentice", "3"), ("HIT_aeb_grade4", "aeb", "4"),
             ("MISS_apprentice_grade4", "apprentice", "4")]
    prior = []
    for ref, stream, grade in cases:
        w.learner(ref, DateOfBirth="1990-01-01").aim(ref, "GCSEMAT1", **streams[stream])
        prior.append((w.uln[ref], "GCSEMAT1", "2022-06-30", grade, None, "4"))
    assert S.gcse_retake_streams == ["aeb_esfa", "aeb_devolved", "traineeship_19_24"]
    check(w.inputs(lars=LARS, prior=prior), "FRM01")


def test_frm13_english_level1_when_level1_held():
    w = World()
    w.learner("HIT_grade", EngGrade="D").aim("HIT_grade", "FSENGL1", FundModel="36", AimType="3")
    w.learner("MISS_nograde", EngGrade="NONE").aim("MISS_nograde", "FSENGL1", FundModel="36", AimType="3")
    w.learner("HIT_prior").aim("HIT_prior", "FSMATL1", FundModel="36", AimType="3")
    w.learner("MISS_other_subject").aim("MISS_other_subject", "FSMATL1", FundModel="36", AimType="3")
    w.learner("MISS_level2_aim", EngGrade="D").aim("MISS_level2_aim", "GCSEENG1", FundModel="36", AimType="3")
    w.learner("MISS_old", EngGrade="D").aim("MISS_old", "FSENGL1", FundModel="36", AimType="3",
                                            LearnStartDate="2017-04-30")
    prior = [(w.uln["HIT_prior"], "FSMATL1", "2021-06-30", None, None, "4"),
             (w.uln["MISS_other_subject"], "FSENGL1", "2021-06-30", None, None, "4")]
    check(w.inputs(lars=LARS, prior=prior), "FRM13")


def test_frm13_aim_at_or_below_the_level_held():
    w = World()
    a = dict(FundModel="36", AimType="3")
    # MathGrade 4 = level 2 held, D = level 1 held; FSMATL2 a level 2 aim, FSMATL1 level 1, FSMATE entry
    w.learner("HIT_held2_aim2", MathGrade="4").aim("HIT_held2_aim2", "FSMATL2", **a)
    w.learner("MISS_held1_aim2", MathGrade="D").aim("MISS_held1_aim2", "FSMATL2", **a)
    w.learner("HIT_held2_aim1", MathGrade="4").aim("HIT_held2_aim1", "FSMATL1", **a)
    w.learner("HIT_held1_aim1", MathGrade="D").aim("HIT_held1_aim1", "FSMATL1", **a)
    w.learner("HIT_held1_entry", MathGrade="3").aim("HIT_held1_entry", "FSMATE", **a)
    w.learner("MISS_none_held_aim2", MathGrade="NONE").aim("MISS_none_held_aim2", "FSMATL2", **a)
    w.learner("HIT_gcse_prior_aim2").aim("HIT_gcse_prior_aim2", "FSMATL2", **a)  # a GCSE maths achieved before
    w.learner("MISS_eng_held_maths_aim", EngGrade="4").aim("MISS_eng_held_maths_aim", "FSMATL2", **a)
    # a GCSE is level 2 in LARS whatever the grade: grade 3 shows level 1 held, so a level 2 aim is funded
    w.learner("MISS_gcse3_prior_aim2").aim("MISS_gcse3_prior_aim2", "FSMATL2", **a)
    w.learner("HIT_gcse3_prior_aim1").aim("HIT_gcse3_prior_aim1", "FSMATL1", **a)
    prior = [(w.uln["HIT_gcse_prior_aim2"], "GCSEMAT1", "2021-06-30", "5", None, "4"),
             (w.uln["MISS_gcse3_prior_aim2"], "GCSEMAT1", "2021-06-30", "3", None, "4"),
             (w.uln["HIT_gcse3_prior_aim1"], "GCSEMAT1", "2021-06-30", "3", None, "4")]
    x = w.inputs(lars=LARS, prior=prior)
    check(x, "FRM13")
    flags, _ = frm.evaluate(x, CAT, rules=["FRM13"])
    why = dict(zip(flags["LearnRefNumber"], flags["reason"]))
    assert why["HIT_held2_aim2"] == "already holds level 2 in maths; the aim is at level 2"
    assert why["HIT_held1_entry"] == "already holds level 1 in maths; the aim is at entry level"
    assert why["HIT_gcse3_prior_aim1"] == "already holds level 1 in maths; the aim is at level 1"


def test_frm16_full_level2_held_aged_19_to_23():
    w = World()
    kw = dict(FundModel="35", FAM_FFI="1", LearnStartDate="2022-09-05")
    w.learner("HIT_l2", DateOfBirth="2000-01-01", PriorAttain="2").aim("HIT_l2", "60000001", **kw)
    w.learner("HIT_age23", DateOfBirth="1998-09-06", PriorAttain="3").aim("HIT_age23", "60000001", **kw)
    w.learner("MISS_age24", DateOfBirth="1998-09-05", PriorAttain="2").aim("MISS_age24", "60000001", **kw)
    w.learner("MISS_l1", DateOfBirth="2000-01-01", PriorAttain="1").aim("MISS_l1", "60000001", **kw)
    w.learner("MISS_cofunded", DateOfBirth="2000-01-01", PriorAttain="2").aim(
        "MISS_cofunded", "60000001", **{**kw, "FAM_FFI": "2"})
    w.learner("MISS_unemployed", DateOfBirth="2000-01-01", PriorAttain="2").aim("MISS_unemployed", "60000001", **kw)
    w.employment.append({"UKPRN": UKPRN, "LearnRefNumber": "MISS_unemployed", "EmpStat": "11",
                         "DateEmpStatApp": "2022-09-01"})
    w.learner("MISS_lowwage", DateOfBirth="2000-01-01", PriorAttain="2").aim(
        "MISS_lowwage", "60000001", **{**kw, "FAM_LDM": "034;363"})
    check(w.inputs(lars=LARS), "FRM16")


def test_frm17_full_level3_held_any_funding():
    w = World()
    kw = dict(FundModel="35", FAM_FFI="2")
    w.learner("HIT_l3", DateOfBirth="2001-01-01", PriorAttain="3").aim("HIT_l3", "60000003", **kw)
    w.learner("HIT_l4", DateOfBirth="2001-01-01", PriorAttain="10").aim("HIT_l4", "60000003", **kw)
    w.learner("MISS_l2", DateOfBirth="2001-01-01", PriorAttain="2").aim("MISS_l2", "60000003", **kw)
    w.learner("HIT_prior", DateOfBirth="2001-01-01").aim("HIT_prior", "60000003", **kw)
    w.learner("MISS_age18", DateOfBirth="2004-01-01", PriorAttain="3").aim("MISS_age18", "60000003", **kw)
    prior = [(w.uln["HIT_prior"], "60000003", "2021-06-30", None, None, "4")]
    check(w.inputs(lars=LARS, prior=prior), "FRM17")


def test_frm19_traineeship_after_apprenticeship_or_level4():
    w = World()
    w.learner("HIT_appr").aim("HIT_appr", "ZPROG001", ProgType="24", AimType="1")
    w.learner("HIT_l4").aim("HIT_l4", "ZPROG001", ProgType="24", AimType="1")
    w.learner("MISS_l3").aim("MISS_l3", "ZPROG001", ProgType="24", AimType="1")
    w.learner("MISS_traineeship_before").aim("MISS_traineeship_before", "ZPROG001", ProgType="24", AimType="1")
    prior = [(w.uln["HIT_appr"], "ZPROG001", "2022-03-31", None, "25", "1"),
             (w.uln["HIT_l4"], "60000004", "2022-03-31", None, None, "4"),
             (w.uln["MISS_l3"], "60000003", "2022-03-31", None, None, "4"),
             (w.uln["MISS_traineeship_before"], "ZPROG001", "2022-03-31", None, "24", "1")]
    check(w.inputs(lars=LARS, prior=prior), "FRM19")


def test_emle_entitlement_when_grade4_already_held():
    w = World()
    kw = dict(FundModel="35", FAM_FFI="1", FAM_SOF="105")
    w.learner("HIT_grade_c", DateOfBirth="1990-01-01", MathGrade="C").aim("HIT_grade_c", "GCSEMAT1", **kw)
    w.learner("MISS_grade_3", DateOfBirth="1990-01-01", MathGrade="3").aim("MISS_grade_3", "GCSEMAT1", **kw)
    w.learner("HIT_fs", DateOfBirth="1990-01-01", EngGrade="4").aim("HIT_fs", "FSENGL1", **kw)
    w.learner("MISS_other_subject", DateOfBirth="1990-01-01", EngGrade="4").aim("MISS_other_subject", "GCSEMAT1", **kw)
    w.learner("MISS_age18", DateOfBirth="2004-01-01", MathGrade="C").aim("MISS_age18", "GCSEMAT1", **kw)
    w.learner("MISS_devolved", DateOfBirth="1990-01-01", MathGrade="C").aim(
        "MISS_devolved", "GCSEMAT1", **{**kw, "FAM_SOF": "110"})
    check(w.inputs(lars=LARS), "EMLE")


# ---------------------------------------------------------------- loans

def test_frm20_and_frm21_match_ilr_with_slc():
    w = World()
    kw = dict(FundModel="99", FAM_ADL="1", LearnStartDate="2022-10-03", DateOfBirth=None)
    kw.pop("DateOfBirth")
    w.learner("MISS_both").aim("MISS_both", "60000003", **kw)
    w.learner("HIT21_no_loan").aim("HIT21_no_loan", "60000003", **kw)
    w.learner("HIT21_not_liable").aim("HIT21_not_liable", "60000003", **kw)
    w.learner("MISS_not_loans").aim("MISS_not_loans", "60000003", FundModel="99")
    loans = [
        {"UKPRN": UKPRN, "ULN": w.uln["MISS_both"], "LearnAimRef": "60000003", "course_start_date": "2022-10-03",
         "loan_status": "approved", "liability_passed": "Y", "amount_paid": "1200"},
        {"UKPRN": UKPRN, "ULN": w.uln["HIT21_not_liable"], "LearnAimRef": "60000003",
         "course_start_date": "2022-10-03", "loan_status": "approved", "liability_passed": "N", "amount_paid": "0"},
        {"UKPRN": UKPRN, "ULN": "9999999999", "LearnRefNumber": "HIT20", "LearnAimRef": "60000003",
         "course_start_date": "2022-11-01", "loan_status": "approved", "liability_passed": "Y",
         "amount_paid": "850.50"},
        {"UKPRN": UKPRN, "ULN": "8888888888", "LearnRefNumber": "MISS20", "LearnAimRef": "60000003",
         "course_start_date": "2022-11-01", "loan_status": "cancelled", "liability_passed": "Y", "amount_paid": "0"},
    ]
    x = w.inputs(loans=loans)
    assert flagged(x, "FRM21") == {"HIT21_no_loan", "HIT21_not_liable"}
    flags, _ = frm.evaluate(x, CAT, rules=["FRM20"])
    assert list(flags["LearnRefNumber"]) == ["HIT20"]
    assert flags["funding_impact"].tolist() == [850.50]


# ---------------------------------------------------------------- late withdrawals

def test_frm27_withdrawal_back_dated_into_last_year():
    period = make_period("2324", "R06")
    w = World(period)
    kw = dict(FundModel="36", AimType="1", ProgType="25", LearnStartDate="2022-10-03", LearnPlanEndDate="2024-03-31")
    w.learner("HIT_was_continuing").aim("HIT_was_continuing", "ZPROG001", CompStatus="3",
                                        LearnActEndDate="2023-07-31", **kw)
    w.learner("MISS_this_year").aim("MISS_this_year", "ZPROG001", CompStatus="3", LearnActEndDate="2023-08-01", **kw)
    w.learner("MISS_already_withdrawn").aim("MISS_already_withdrawn", "ZPROG001", CompStatus="3",
                                            LearnActEndDate="2023-05-01", **kw)
    w.learner("HIT_sw").aim("HIT_sw", "ZPROG001", CompStatus="3", LearnActEndDate="2023-06-01",
                            SWSupAimId="abc-1", **{**kw, "LearnStartDate": "2022-11-01"})
    prev = [{**AIM_DEFAULTS, **kw, "LearnRefNumber": "HIT_was_continuing", "LearnAimRef": "ZPROG001",
             "CompStatus": "1"},
            {**AIM_DEFAULTS, **kw, "LearnRefNumber": "MISS_this_year", "LearnAimRef": "ZPROG001", "CompStatus": "1"},
            {**AIM_DEFAULTS, **kw, "LearnRefNumber": "MISS_already_withdrawn", "LearnAimRef": "ZPROG001",
             "CompStatus": "3"},
            # SWSupAimId matches even though the start date was corrected since
            {**AIM_DEFAULTS, **kw, "LearnRefNumber": "HIT_sw", "LearnAimRef": "ZPROG001", "CompStatus": "2",
             "SWSupAimId": "abc-1"}]
    for p in prev:
        p["LearnStartDate"] = pd.Timestamp(p["LearnStartDate"])
    check(w.inputs(previous=prev), "FRM27")


# ---------------------------------------------------------------- 16 to 19 hours and dates

def test_frm28_left_on_day_42_versus_43():
    w = World()
    hours = dict(PlanLearnHours="540", PlanEEPHours="40")
    # started 5 September 2022: day 42 is 16 October 2022, day 43 is 17 October
    w.learner("HIT_day42", **hours).aim("HIT_day42", "60000001", CompStatus="3", Outcome="3",
                                        LearnActEndDate="2022-10-16")
    w.learner("MISS_day43", **hours).aim("MISS_day43", "60000001", CompStatus="3", Outcome="3",
                                         LearnActEndDate="2022-10-17")
    w.learner("MISS_no_hours", PlanLearnHours="0", PlanEEPHours="0").aim(
        "MISS_no_hours", "60000001", CompStatus="3", Outcome="3", LearnActEndDate="2022-10-01")
    w.learner("MISS_one_aim_left", **hours).aim("MISS_one_aim_left", "60000001", CompStatus="3", Outcome="3",
                                                LearnActEndDate="2022-10-01").aim("MISS_one_aim_left", "60000003")
    w.learner("MISS_continuing", **hours).aim("MISS_continuing", "60000001", LearnStartDate="2021-09-06",
                                              CompStatus="3", Outcome="3", LearnActEndDate="2022-09-20")
    check(w.inputs(), "FRM28")


def test_frm71_continuing_student_left_within_six_weeks_of_6_september():
    w = World()
    hours = dict(PlanLearnHours="540", PlanEEPHours="40")
    kw = dict(LearnStartDate="2021-09-06", LearnPlanEndDate="2023-06-30", CompStatus="3", Outcome="3")
    w.learner("HIT_day42", **hours).aim("HIT_day42", "60000003", LearnActEndDate="2022-10-17", **kw)  # 6 Sep = day 1
    w.learner("MISS_day43", **hours).aim("MISS_day43", "60000003", LearnActEndDate="2022-10-18", **kw)
    w.learner("HIT_august", **hours).aim("HIT_august", "60000003", LearnActEndDate="2022-08-20", **kw)
    w.learner("MISS_last_year", **hours).aim("MISS_last_year", "60000003", LearnActEndDate="2022-07-20", **kw)
    w.learner("MISS_new_start", **hours).aim("MISS_new_start", "60000003", LearnActEndDate="2022-09-20",
                                             **{**kw, "LearnStartDate": "2022-09-01"})
    check(w.inputs(), "FRM71")


def test_frm29_ended_on_or_just_after_the_qualifying_period():
    w = World()
    kw = dict(LearnStartDate="2022-09-05", LearnPlanEndDate="2023-06-30", CompStatus="3", Outcome="3")
    # planned over 24 weeks: 42-day qualifying period; day 42 = 16 Oct, day 49 = 23 Oct
    w.learner("MISS_day41").aim("MISS_day41", "60000001", LearnActEndDate="2022-10-15", **kw)
    w.learner("HIT_day42").aim("HIT_day42", "60000001", LearnActEndDate="2022-10-16", **kw)
    w.learner("HIT_day49").aim("HIT_day49", "60000001", LearnActEndDate="2022-10-23", **kw)
    w.learner("MISS_day50").aim("MISS_day50", "60000001", LearnActEndDate="2022-10-24", **kw)
    # planned 20 days (14 days to under 24 weeks): qualifying period 14 days
    w.learner("HIT_short").aim("HIT_short", "ZWRKX002", LearnStartDate="2022-09-05", LearnPlanEndDate="2022-09-24",
                               CompStatus="2", Outcome="1", LearnActEndDate="2022-09-18")
    w.learner("MISS_apprentice").aim("MISS_apprentice", "60000001", FundModel="36", LearnActEndDate="2022-10-16",
                                     **dict(kw.items()))
    check(w.inputs(), "FRM29")


def test_frm30_40_versus_41_hours_a_week():
    w = World()
    # 5 Sep 2022 to 4 Jun 2023 inclusive = 273 days = 39 weeks
    kw = dict(LearnStartDate="2022-09-05", LearnPlanEndDate="2023-06-04")
    w.learner("MISS_40", PlanLearnHours="1400", PlanEEPHours="160").aim("MISS_40", "60000003", **kw)
    w.learner("HIT_41", PlanLearnHours="1439", PlanEEPHours="160").aim("HIT_41", "60000003", **kw)
    # a T Level counts its two-year hours over the two-year programme
    t = dict(FundModel="25", ProgType="31", LearnStartDate="2022-09-05", LearnPlanEndDate="2024-06-30")
    w.learner("MISS_tlevel", PlanLearnHours="600", PlanEEPHours="100").aim(
        "MISS_tlevel", "ZPROG001", AimType="1", PHours="1500", **t)
    check(w.inputs(), "FRM30")


def test_frm42_work_experience_over_300_hours():
    w = World()
    w.learner("HIT_301").aim("HIT_301", "ZWRKX001", AimType="3", PHours="301").aim("HIT_301", "60000001",
                                                                                  AimType="5", PHours="200")
    w.learner("MISS_300").aim("MISS_300", "ZWRKX001", AimType="3", PHours="300").aim("MISS_300", "60000001",
                                                                                    AimType="5", PHours="200")
    w.learner("MISS_bigger_qual").aim("MISS_bigger_qual", "ZWRKX001", AimType="3", PHours="320").aim(
        "MISS_bigger_qual", "60000003", AimType="5", PHours="540")
    w.learner("MISS_core").aim("MISS_core", "ZWRKX001", AimType="5", PHours="400")
    w.learner("HIT_trainee").aim("HIT_trainee", "ZWRKX001", AimType="3", PHours="320", ProgType="24").aim(
        "HIT_trainee", "60000003", AimType="5", PHours="540", ProgType="24")
    check(w.inputs(lars=LARS), "FRM42")


def test_frm43_and_frm56_planned_learning_hours_against_qualifications():
    w = World()
    w.learner("HIT43_zero", PlanLearnHours="0", PlanEEPHours="100").aim("HIT43_zero", "60000001")
    w.learner("HIT43_blank").aim("HIT43_blank", "60000001")
    w.learner("OK_hours", PlanLearnHours="450").aim("OK_hours", "60000001")
    w.learner("HIT56_no_qual", PlanLearnHours="200", PlanEEPHours="100").aim("HIT56_no_qual", "ZWRKX001")
    w.learner("OK_no_qual_zero", PlanLearnHours="0", PlanEEPHours="300").aim("OK_no_qual_zero", "ZWRKX001")
    x = w.inputs()
    assert flagged(x, "FRM43") == {"HIT43_zero", "HIT43_blank"}
    assert flagged(x, "FRM56") == {"HIT56_no_qual"}


def test_frm49_tlevel_band_minimum_plus_additional_hours():
    w = World()
    t = dict(FundModel="25", ProgType="31", LearnStartDate="2022-09-05", LearnPlanEndDate="2024-06-30")
    # band 7 (from LARS): 1,300 + 80 additional hours for a 2022-23 start = 1,380
    w.learner("HIT_1379").aim("HIT_1379", "ZPROG001", AimType="1", PHours="1379", **t).aim(
        "HIT_1379", "TQ000001", AimType="5", **t)
    w.learner("MISS_1380").aim("MISS_1380", "ZPROG001", AimType="1", PHours="1380", **t).aim(
        "MISS_1380", "TQ000001", AimType="5", **t)
    # band unknown: the smallest band 6 (1,100) + 40 for a 2021-22 start = 1,140
    t21 = {**t, "LearnStartDate": "2021-09-06"}
    w.learner("MISS_1140").aim("MISS_1140", "ZPROG001", AimType="1", PHours="1140", **t21)
    w.learner("HIT_1139").aim("HIT_1139", "ZPROG001", AimType="1", PHours="1139", **t21)
    w.learner("MISS_1381").aim("MISS_1381", "ZPROG001", AimType="1", PHours="1381", **t).aim(
        "MISS_1381", "TQ000001", AimType="5", **t)
    check(w.inputs(lars=LARS), "FRM49")


def test_frm49_a_band_table_that_counts_the_additional_hours_is_not_topped_up_again():
    tl = S.tlevel.model_copy(update={"band_minimums_include_additional_hours": True})
    cat = CAT.model_copy(update={"settings": S.model_copy(update={"tlevel": tl})})
    w = World()
    t = dict(FundModel="25", ProgType="31", LearnStartDate="2022-09-05", LearnPlanEndDate="2024-06-30")
    # band 7's 1,300 is then the whole minimum for a 2022-23 start: 1,299 queried, 1,300 and 1,301 not
    for ref, hours in [("HIT_1299", "1299"), ("MISS_1300", "1300"), ("MISS_1301", "1301")]:
        w.learner(ref).aim(ref, "ZPROG001", AimType="1", PHours=hours, **t).aim(ref, "TQ000001", AimType="5", **t)
    flags, _ = frm.evaluate(w.inputs(lars=LARS), cat, rules=["FRM49"])
    assert set(flags["LearnRefNumber"]) == {"HIT_1299"}
    assert flags["reason"].tolist() == ["planned 1299 hours; band 7 needs 1300"]


def test_frm65_recorded_planned_hours_315_or_750_and_no_415_for_them():
    w = World()
    # started September 2021: early years students of this start may complete fewer hours, but 750 must still
    # be planned and recorded, so 415 or 749 recorded is queried
    y2 = dict(FundModel="25", ProgType="31", LearnStartDate="2021-09-06", LearnPlanEndDate="2023-06-30")
    for ref, core, hours in [("HIT_314", "TQ000001", "314"), ("MISS_315", "TQ000001", "315"),
                             ("MISS_316", "TQ000001", "316"), ("HIT_early_749", "TQEARLY1", "749"),
                             ("MISS_early_750", "TQEARLY1", "750"), ("MISS_early_751", "TQEARLY1", "751"),
                             ("HIT_early_415", "TQEARLY1", "415")]:
        w.learner(ref).aim(ref, "ZPROG001", AimType="1", PHours="1500", **y2).aim(
            ref, "ZWRKX003", AimType="3", PHours=hours, **y2).aim(ref, core, AimType="5", **y2)
    # first-year T Levels are not checked yet
    w.learner("MISS_year1").aim("MISS_year1", "ZPROG001", AimType="1", PHours="1500",
                                **{**y2, "LearnStartDate": "2022-09-05"})
    x = w.inputs(lars=LARS)
    check(x, "FRM65")
    flags, _ = frm.evaluate(x, CAT, rules=["FRM65"])
    assert dict(zip(flags["LearnRefNumber"], flags["reason"]))["HIT_early_415"] == \
        "industry placement 415 hours; minimum 750"
    assert set(flags["LearnAimRef"]) == {"ZPROG001"}  # from R09 the rows are the programme aims


def test_frm65_early_years_without_exception_needs_750():
    w = World(make_period("2324", "R06"))  # 2022-23 starts are in year two in 2023-24; no exception for them
    y2 = dict(FundModel="25", ProgType="31", LearnStartDate="2022-09-05", LearnPlanEndDate="2024-06-30")
    for ref, hours in [("HIT_749", "749"), ("MISS_750", "750"), ("HIT_415", "415")]:
        w.learner(ref).aim(ref, "ZPROG001", AimType="1", PHours="1500", **y2).aim(
            ref, "ZWRKX003", AimType="3", PHours=hours, **y2).aim(ref, "TQEARLY1", AimType="5", **y2)
    check(w.inputs(lars=LARS), "FRM65")


def test_frm65_placement_aim_needs_a_work_placement_record():
    w = World()
    y2 = dict(FundModel="25", ProgType="31", LearnStartDate="2021-09-06", LearnPlanEndDate="2023-06-30")
    for ref in ("HIT_no_record", "MISS_recorded"):
        w.learner(ref).aim(ref, "ZPROG001", AimType="1", PHours="1500", **y2).aim(
            ref, "ZWRKX003", AimType="3", PHours="315", **y2)
    wp = [{"UKPRN": UKPRN, "LearnRefNumber": "MISS_recorded", "AimSeqNumber": "2", "WorkPlaceStartDate": "2022-10-01",
           "WorkPlaceHours": "315"}]
    check(w.inputs(workplacements=wp), "FRM65")


def test_frm69_exactly_half_eep_without_support_needs():
    w = World()
    w.learner("HIT_50", PlanLearnHours="300", PlanEEPHours="300").aim("HIT_50", "60000001")
    w.learner("MISS_49", PlanLearnHours="301", PlanEEPHours="299").aim("MISS_49", "60000001")
    w.learner("MISS_lldd", PlanLearnHours="100", PlanEEPHours="500", LLDDHealthProb="1").aim("MISS_lldd", "60000001")
    w.learner("MISS_ehc", PlanLearnHours="100", PlanEEPHours="500").aim("MISS_ehc", "60000001")
    w.fams.append({"UKPRN": UKPRN, "LearnRefNumber": "MISS_ehc", "AimSeqNumber": None, "FAMType": "EHC",
                   "FAMCode": "1"})
    w.learner("MISS_adult", PlanLearnHours="100", PlanEEPHours="500").aim("MISS_adult", "60000001", FundModel="35")
    check(w.inputs(), "FRM69")


# ---------------------------------------------------------------- reports changed from R09 2022-23

def changed_world(period):
    """The same learners at any return: each case behaves differently under the R01-R08 and the R09 versions."""
    w = World(period)
    # FRM30, 5 Sep 2022 to 4 Jun 2023 = 39 weeks: 1,365 hours = exactly 35 a week, 1,364 just under, 1,560 = 40
    kw = dict(LearnStartDate="2022-09-05", LearnPlanEndDate="2023-06-04")
    for ref, plh in [("H30_35", "1205"), ("H30_under35", "1204"), ("H30_40", "1400"), ("H30_41", "1439")]:
        w.learner(ref, PlanLearnHours=plh, PlanEEPHours="160").aim(ref, "60000003", **kw)
    # FRM28 / FRM71: a continuing student who left on day 42 from 6 September
    w.learner("H28_continuing", PlanLearnHours="540", PlanEEPHours="40").aim(
        "H28_continuing", "60000003", LearnStartDate="2021-09-06", CompStatus="3", Outcome="3",
        LearnActEndDate="2022-10-17")
    # FRM43: no planned learning hours, with or without a qualification or support needs
    w.learner("H43_no_qual", PlanLearnHours="0", PlanEEPHours="300").aim("H43_no_qual", "ZWRKX001")
    w.learner("H43_qual_support", PlanLearnHours="0", PlanEEPHours="100", LLDDHealthProb="1").aim(
        "H43_qual_support", "60000001")
    w.learner("H43_qual", PlanLearnHours="0", PlanEEPHours="100").aim("H43_qual", "60000001")
    # FRM65: a first-year T Level with a short placement aim, and a second-year one
    y1 = dict(FundModel="25", ProgType="31", LearnStartDate="2022-09-05", LearnPlanEndDate="2024-06-28")
    y2 = {**y1, "LearnStartDate": "2021-09-06", "LearnPlanEndDate": "2023-06-30"}
    for ref, dates in [("H65_year1", y1), ("H65_year2", y2)]:
        w.learner(ref, PlanLearnHours="600", PlanEEPHours="100").aim(
            ref, "ZPROG001", AimType="1", PHours="1500", **dates).aim(
            ref, "ZWRKX003", AimType="3", PHours="300", **dates).aim(ref, "TQ000001", AimType="5", **dates)
    return w.inputs(lars=LARS)


def test_reports_changed_at_r09_run_their_earlier_version_up_to_r08():
    before, after = frm.evaluate(changed_world(R08), CAT), frm.evaluate(changed_world(P2223), CAT)

    def got(result, rule):
        flags = result[0]
        return set(flags.loc[flags["rule"] == rule, "LearnRefNumber"])

    # FRM30: 35 and over up to R08, more than 40 from R09
    assert {r for r in got(before, "FRM30") if r.startswith("H30")} == {"H30_35", "H30_40", "H30_41"}
    assert {r for r in got(after, "FRM30") if r.startswith("H30")} == {"H30_41"}
    # FRM28 took continuing students up to R08; FRM71 (not yet published then) takes them from R09
    assert "H28_continuing" in got(before, "FRM28") and "H28_continuing" not in got(after, "FRM28")
    assert before[1]["FRM71"] == "first published at R09 of 2022-23" and "FRM71" not in after[1]
    assert got(after, "FRM71") == {"H28_continuing"}
    # FRM43: no support needs, qualification or not, up to R08; on a qualification, support needs or not, from R09
    h43 = {"H43_no_qual", "H43_qual_support", "H43_qual"}
    assert got(before, "FRM43") & h43 == {"H43_no_qual", "H43_qual"}
    assert got(after, "FRM43") & h43 == {"H43_qual_support", "H43_qual"}
    # FRM65: the placement aims (either year) up to R08; second-year programme aims from R09
    f65 = before[0][before[0]["rule"] == "FRM65"]
    assert set(zip(f65["LearnRefNumber"], f65["LearnAimRef"])) == {("H65_year1", "ZWRKX003"),
                                                                   ("H65_year2", "ZWRKX003")}
    assert f65["reason"].tolist() == ["placement aim planned for 300 hours; minimum 315"] * 2
    f65 = after[0][after[0]["rule"] == "FRM65"]
    assert set(zip(f65["LearnRefNumber"], f65["LearnAimRef"])) == {("H65_year2", "ZPROG001")}


def test_version_in_force_by_return_and_the_latest_for_a_borrowing_year():
    frm30, frm71 = CAT.rule("FRM30"), CAT.rule("FRM71")
    at = {r: frm30.version_at(make_period("2223", r), CAT.year).from_return for r in ("R01", "R08", "R09", "R14")}
    assert at == {"R01": "R01", "R08": "R01", "R09": "R09", "R14": "R09"}
    assert frm30.version_at(make_period("2324", "R06"), CAT.year).params == {"hours_per_week": 40,
                                                                            "flag_at_hours": False}
    assert frm71.version_at(R08, CAT.year) is None and frm71.published_at(make_period("2324", "R06"), CAT.year)
    assert "Up to R08" in frm30.guidance_at(R08, CAT.year) and frm30.guidance_at(P2223, CAT.year) == frm30.guidance
    assert CAT.rule("FRM16").version_at(R08, CAT.year) is None and CAT.rule("FRM16").published_at(R08, CAT.year)
    # the year before (the return an R01-R08 run compares with): the first version, or not yet published
    last_year = make_period("2122", "R14")
    assert frm30.version_at(last_year, CAT.year).from_return == "R01"
    assert frm71.version_at(last_year, CAT.year) is None and not frm71.published_at(last_year, CAT.year)


def test_catalogue_versions_checked_one_line_each():
    bad = CAT.rule("FRM30").versions[0].model_copy(update={"params": {"hours_per_wk": 35, "flag_at_hours": True}})
    rules = [r.model_copy(update={"versions": [bad, r.versions[1]]}) if r.id == "FRM30" else r for r in CAT.rules]
    with pytest.raises(InputError, match="FRM30 version from R01: params must be flag_at_hours, hours_per_week"):
        frm.run.check_versions(CAT.model_copy(update={"rules": rules}))
    rules = [r.model_copy(update={"versions": []}) if r.id == "FRM65" else r for r in CAT.rules]
    with pytest.raises(InputError, match="FRM65: its logic reads versions the catalogue does not give"):
        frm.run.check_versions(CAT.model_copy(update={"rules": rules}))
    with pytest.raises(ValueError, match="versions must be in return order"):
        frm.Rule.model_validate({**CAT.rule("FRM30").model_dump(), "versions": [{"from_return": "R09"},
                                                                                {"from_return": "R01"}]})


# ---------------------------------------------------------------- apprenticeships

def test_frm37_off_the_job_minimum_with_the_30_hour_cap():
    w = World()
    a = dict(FundModel="36", AimType="1", ProgType="25", LearnStartDate="2022-09-05",
             LearnPlanEndDate="2023-09-04")  # 364 days = 52 weeks
    # starts from 1 August 2022: 31+ hours a week is capped at 30 -> 20 % x 30 x 52 = 312
    for ref, hours in [("HIT_311", "311"), ("MISS_312", "312")]:
        w.learner(ref).aim(ref, "ZPROG001", PHours=hours, **a)
        w.employment.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "EmpStat": "10", "DateEmpStatApp": "2022-09-01",
                             "ESM_EII": "8"})
    # before August 2022 no cap: 20 % x 31 x 52 = 322.4
    old = {**a, "LearnStartDate": "2022-07-04", "LearnPlanEndDate": "2023-07-03"}
    for ref, hours in [("HIT_old_322", "322"), ("MISS_old_323", "323")]:
        w.learner(ref).aim(ref, "ZPROG001", PHours=hours, **old)
        w.employment.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "EmpStat": "10", "DateEmpStatApp": "2022-07-01",
                             "ESM_EII": "8"})
    # part-time (21 to 30 hours: at least 21): 20 % x 21 x 52 = 218.4
    for ref, hours in [("HIT_pt_218", "218"), ("MISS_pt_219", "219")]:
        w.learner(ref).aim(ref, "ZPROG001", PHours=hours, **a)
        w.employment.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "EmpStat": "10", "DateEmpStatApp": "2022-09-01",
                             "ESM_EII": "7"})
    # no working hours on record: read as full-time (30): 312
    w.learner("HIT_unknown_300").aim("HIT_unknown_300", "ZPROG001", PHours="300", **a)
    w.learner("MISS_component").aim("MISS_component", "60000001", **{**a, "AimType": "3"})
    check(w.inputs(), "FRM37")


# ---------------------------------------------------------------- query IDs and change

def test_query_id_from_swsupaimid_else_natural_key_never_aimseq():
    a = pd.DataFrame([{"UKPRN": UKPRN, "LearnRefNumber": "A1", "LearnAimRef": "60000001",
                       "LearnStartDate": pd.Timestamp("2022-09-05"), "SWSupAimId": None, "AimSeqNumber": "1"}])
    b = a.assign(AimSeqNumber="7")
    assert frm.query_id("FRM29", frm.query_key(a)).iloc[0] == frm.query_id("FRM29", frm.query_key(b)).iloc[0]
    c = a.assign(SWSupAimId="x-1")
    d = c.assign(LearnStartDate=pd.Timestamp("2022-09-12"))  # corrected start: the supplier ID keeps the query
    assert frm.query_id("FRM29", frm.query_key(c)).iloc[0] == frm.query_id("FRM29", frm.query_key(d)).iloc[0]
    assert frm.query_id("FRM29", frm.query_key(a)).iloc[0] != frm.query_id("FRM01", frm.query_key(a)).iloc[0]


def test_funding_impact_from_earnings():
    w = World()
    w.learner("HIT_50", PlanLearnHours="300", PlanEEPHours="300").aim("HIT_50", "60000001")
    earnings = [{"UKPRN": UKPRN, "LearnRefNumber": "HIT_50", "AimSeqNumber": None, "amount": "4000.25"},
                {"UKPRN": UKPRN, "LearnRefNumber": "HIT_50", "AimSeqNumber": None, "amount": "100"}]
    flags, _ = frm.evaluate(w.inputs(earnings=earnings), CAT, rules=["FRM69"])
    assert flags["funding_impact"].tolist() == [4100.25]
    flags, _ = frm.evaluate(w.inputs(), CAT, rules=["FRM69"])
    assert flags["funding_impact"].isna().all()


def test_a_row_gone_because_the_report_changed_says_so():
    # FRM30 flagged 36 hours a week at R08 (35 and over); from R09 only above 40: gone, but not put right.
    rows = pd.DataFrame({"UKPRN": ["10000001", "10000001"], "rule": ["FRM30", "FRM01"],
                         "reason": ["36.0 hours a week", "already achieved on 2021-06-01"], "change": "resolved"})
    from fjaaqa.frm.run import say_report_changed

    out = say_report_changed(rows, CAT, R08, P2223)
    assert out["reason"].tolist() == [
        "36.0 hours a week (no longer queried: the report changed at R09, not necessarily put right)",
        "already achieved on 2021-06-01"]
    assert (out["change"] == "resolved").all()
    # between two returns under the same version nothing is said
    same = say_report_changed(rows, CAT, make_period("2223", "R06"), R08)
    assert same["reason"].tolist() == rows["reason"].tolist()
