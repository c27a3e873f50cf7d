"""The FRM engine in DuckDB SQL equals the pandas reference: flags, reasons, query IDs, funding impact, changes.

Three kinds of case: the synthetic FRM providers (tests/fixtures/frm_data)
at 2022-23 R06 and R14; a national copy of them (Parquet, renumbered
providers, learners and ULNs); and hand-made aims at each aim-level
report's boundaries, whose flags and reasons are worked out by hand from
the catalogue's settings. The SQL side reads the pandas prepared inputs
(register_inputs), so any difference is the rules' or the runner's.
"""

from __future__ import annotations

import re
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest
from builders import repo_path

from fjaaqa import frm
from fjaaqa.errors import InputError
from fjaaqa.frm.inputs import PRIOR_COLUMNS, FrmInputs, build_inputs, with_lars
from fjaaqa.frm.sql_common import round1_text
from fjaaqa.frm.sql_rules import AIM_RULE_SQL, RULE_SQL
from fjaaqa.frm.sql_run import evaluate_sql, register_inputs, run_frm_sql
from fjaaqa.inputs import schemas
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.views import register_dataset
from fjaaqa.periods import make_period
from fjaaqa.synth.national import write_national

BASE = repo_path("tests", "fixtures", "frm_data")
CAT, _ = frm.load_catalogue("2223")
S = CAT.settings
R06, R14 = make_period("2223", "R06"), make_period("2223", "R14")


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Identical frames row for row (values compared as objects, every missing value as None)."""
    def plain(df):
        df = df.astype(object)
        return df.where(df.notna(), None).reset_index(drop=True)
    pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)


_CONNECTIONS: dict = {}


def connect(x: FrmInputs, ds=None):
    """A connection holding ``x`` as the prepared tables (and the dataset's views, which FRM65 reads).

    One per inputs object: registering is the slow part of a small case.
    """
    key = (id(x), id(x.earnings), id(ds))
    if key not in _CONNECTIONS:
        con = duckdb.connect()
        if ds is not None:
            register_dataset(con, ds)
        _CONNECTIONS[key] = (x, con, register_inputs(con, x))
    return _CONNECTIONS[key][1:]


def compare_rule(x: FrmInputs, rule_id: str, ds=None) -> pd.DataFrame:
    """One report in both engines over the same inputs: identical flags and unavailability; the pandas flags."""
    want, want_na = frm.evaluate(x, CAT, rules=[rule_id])
    con, available = connect(x, ds)
    got, got_na = evaluate_sql(con, CAT, x.period, available, rules=[rule_id])
    same(want, got)
    assert got_na == want_na
    return want


def compare_run(ds, period, **kw) -> frm.FrmResult:
    """run_frm_sql (prepared inputs from the pandas build_inputs) equals run_frm: flags, resolved, status, gaps."""
    want = frm.run_frm(ds, period, **kw)
    con = duckdb.connect()
    register_dataset(con, ds)
    got = run_frm_sql(con, period, prepare=lambda c, p, s: register_inputs(c, build_inputs(ds, p, s)), **kw)
    for part in ("flags", "resolved", "status"):
        same(getattr(want, part), getattr(got, part))
    assert (got.unavailable, got.compared_with, got.note) == (want.unavailable, want.compared_with, want.note)
    return want


# ---------------------------------------------------------------- the synthetic FRM providers

@pytest.fixture(scope="module")
def fixture_ds():
    return load_dataset(BASE)


@pytest.fixture(scope="module")
def fixture_inputs(fixture_ds):
    cache = {}

    def get(period):
        if period not in cache:
            cache[period] = build_inputs(fixture_ds, period, S)
        return cache[period]
    return get


def test_registry_covers_the_catalogue():
    assert set(RULE_SQL) == {r.id for r in CAT.rules}
    assert set(AIM_RULE_SQL) == {"FRM01", "FRM13", "FRM16", "FRM17", "FRM19", "FRM20", "FRM21", "FRM27", "FRM29",
                                 "FRM37", "EMLE", "FRM42"}


@pytest.mark.parametrize("period", [R06, R14], ids=["R06", "R14"])
def test_aim_rules_equal_pandas_on_fixture(fixture_inputs, period):
    x = fixture_inputs(period)
    counts = {rule_id: len(compare_rule(x, rule_id)) for rule_id in AIM_RULE_SQL}
    # Every aim-level report has a planted case in the fixture (FRM37's is put right by R14).
    assert all(n > 0 for r, n in counts.items() if not (r == "FRM37" and period == R14)), counts


@pytest.mark.parametrize("period", [R06, R14], ids=["R06", "R14"])
def test_whole_catalogue_equals_pandas_on_fixture(fixture_ds, fixture_inputs, period):
    x = fixture_inputs(period)
    want, want_na = frm.evaluate(x, CAT)
    con, available = connect(x, fixture_ds)
    got, got_na = evaluate_sql(con, CAT, period, available)
    same(want, got)
    assert got_na == want_na == ({"FRM71": "first published at R09 of 2022-23"} if period == R06 else {})
    assert want["funding_impact"].notna().all()  # every flagged aim of the fixture has earnings


def test_run_equals_pandas_on_fixture(fixture_ds):
    assert compare_run(fixture_ds, R06).compared_with == make_period("2122", "R14")
    r14 = compare_run(fixture_ds, R14)
    assert r14.compared_with == R06
    assert set(r14.flags["change"]) == {"new", "persisting"} and not r14.resolved.empty
    # A report that changed between the returns says so on its resolved rows.
    assert r14.resolved["reason"].str.contains("no longer queried").any()


def test_run_for_one_provider_without_comparing(fixture_ds):
    one = sorted(set(fixture_ds.returns[R14].deliveries["UKPRN"]))[0]
    run = compare_run(fixture_ds, R14, ukprns=[one], compare=False)
    assert set(run.status["UKPRN"]) == {one} and set(run.flags["UKPRN"]) == {one}
    assert run.compared_with is None and set(run.flags["change"]) == {"new"}


def test_run_of_a_return_not_in_the_data(fixture_ds):
    con = duckdb.connect()
    register_dataset(con, fixture_ds)
    with pytest.raises(InputError, match="no ILR return"):
        run_frm_sql(con, make_period("2223", "R10"), prepare=lambda *a: {})


def test_unavailable_inputs_say_why(fixture_inputs):
    """Without prior achievements, LARS, last year or loans, the reports needing them say so in both engines."""
    x = fixture_inputs(R14)
    bare = FrmInputs(period=R14, aims=x.aims, students=x.students, fams=x.fams,
                     available={"lars": False, "prior_achievements": False, "previous_year": False, "loans": False})
    for rule_id in AIM_RULE_SQL:
        compare_rule(bare, rule_id)
    _, gaps = frm.evaluate(bare, CAT, rules=list(AIM_RULE_SQL))
    assert set(gaps) == {"FRM01", "FRM13", "FRM16", "FRM17", "FRM19", "FRM20", "FRM21", "FRM27", "EMLE"}


def scrambled(x: FrmInputs, seed: int) -> FrmInputs:
    """``x`` with a fifth of its values missing or taken from other rows, and a few rows twice.

    Not data the loader would pass (dates out of order, codes where they do
    not belong): both engines must still agree on every row, which is how
    pandas behaviours such as a missing value in a mask were found.
    """
    rng = np.random.default_rng(seed)

    def scramble(df):
        if df is None or df.empty:
            return df
        df = df.copy()
        for c in df.columns.difference(["UKPRN", "regulated"]):
            rows = df.index[rng.random(len(df)) < 0.2]
            if "datetime" in str(df[c].dtype):
                df.loc[rows, c] = df[c].sample(len(rows), replace=True, random_state=seed).to_numpy() \
                    + pd.to_timedelta(rng.integers(-3, 4, len(rows)), unit="D")
            elif rng.random() < 0.5:
                df.loc[rows, c] = df[c].sample(len(rows), replace=True, random_state=seed).to_numpy()
            elif df[c].dtype != bool:
                df.loc[rows, c] = pd.NA
        return pd.concat([df, df.sample(3, replace=True, random_state=seed)], ignore_index=True)

    out = replace(x, aims=scramble(x.aims), prior=scramble(x.prior), previous_year=scramble(x.previous_year),
                  loans=scramble(x.loans), earnings=scramble(x.earnings))
    for col in ("EngGrade", "MathGrade"):
        rows = out.aims.index[rng.random(len(out.aims)) < 0.3]
        out.aims.loc[rows, col] = rng.choice([" 4", "c\t", "u", "NONE", "", "3 ", "9-8", "b"], len(rows))
    return out


@pytest.mark.parametrize("seed", [9, 12])
def test_aim_rules_equal_pandas_on_scrambled_fixture(fixture_inputs, seed):
    x = scrambled(fixture_inputs(R14 if seed % 2 == 0 else R06), seed)
    assert sum(len(compare_rule(x, rule_id)) for rule_id in AIM_RULE_SQL) > 0


# ---------------------------------------------------------------- a national copy

@pytest.fixture(scope="module")
def national_ds(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    write_national(out, copies=2, base=BASE)
    return load_dataset(out)


@pytest.mark.parametrize("period", [R06, R14], ids=["R06", "R14"])
def test_run_equals_pandas_on_national_copy(national_ds, period):
    run = compare_run(national_ds, period)
    assert run.flags["UKPRN"].nunique() > 3 and (run.flags["change"] == "persisting").any()


# ---------------------------------------------------------------- hand-made aims at each boundary

UKPRN = "10000001"
LARS = pd.DataFrame([
    {"LearnAimRef": "60000002", "level": "2", "aim_type": "other", "regulated": "Y", "full_level_2": "Y",
     "full_level_3": "N", "glh": "360"},
    {"LearnAimRef": "60000003", "level": "3", "aim_type": "other", "regulated": "Y", "full_level_2": "N",
     "full_level_3": "Y", "glh": "540"},
    {"LearnAimRef": "60000004", "level": "4", "aim_type": "other", "regulated": "Y"},
    {"LearnAimRef": "GCSEENG1", "level": "2", "aim_type": "gcse", "subject": "english", "regulated": "Y"},
    {"LearnAimRef": "FSENGE01", "level": "E", "aim_type": "functional_skills", "subject": "english",
     "regulated": "Y"},
    {"LearnAimRef": "FSENG101", "level": "1", "aim_type": "functional_skills", "subject": "english",
     "regulated": "Y"},
    {"LearnAimRef": "FSMAT201", "level": "2", "aim_type": "functional_skills", "subject": "maths",
     "regulated": "Y"},
    {"LearnAimRef": "60000009", "level": "2", "aim_type": "other", "regulated": None, "glh": "400"},
]).reindex(columns=["LearnAimRef", "level", "aim_type", "subject", "regulated", "full_level_2", "full_level_3",
                    "glh", "tlevel_band", "early_years"]).astype("str")
STREAM = {"aeb": {"FundModel": "35"}, "appr": {"FundModel": "36", "ProgType": "25", "StdCode": "17"},
          "sp": {"FundModel": "25"}, "t1618": {"FundModel": "25", "ProgType": "24"},
          "t1924": {"FundModel": "35", "ProgType": "24"}, "loans": {"FundModel": "99", "FAM_ADL": "1"}}


class Aims:
    """Learners with one aim each (unless told otherwise), named for what they test."""

    def __init__(self, period=R14):
        self.period = period
        self.learners, self.aims, self.employment, self.prior, self.loans, self.prev = [], [], [], [], [], []

    def learner(self, ref, dob="1990-01-01", uln=None, **fields):
        uln = uln if uln is not None else str(2000000000 + len(self.learners))
        self.learners.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "ULN": uln or None, "DateOfBirth": dob,
                              "PriorAttain": None, "PlanLearnHours": None, "PlanEEPHours": None,
                              "LLDDHealthProb": "2", "MathGrade": None, "EngGrade": None, **fields})
        return self

    def aim(self, ref, aimref, stream, start="2022-09-05", plan_end="2023-06-30", **fields):
        seq = str(1 + sum(a["LearnRefNumber"] == ref for a in self.aims))
        row = dict.fromkeys(schemas.ILR_TABLES["deliveries"].names)
        row.update({"UKPRN": UKPRN, "LearnRefNumber": ref, "AimSeqNumber": seq, "LearnAimRef": aimref,
                    "AimType": "4", "LearnStartDate": start, "LearnPlanEndDate": plan_end, "CompStatus": "1",
                    "FAM_FFI": "1", "FAM_LDM": None, "FAM_SOF": "105", "FAM_ADL": None, **STREAM[stream], **fields})
        self.aims.append(row)
        return self

    def one(self, ref, aimref, stream, learner=None, **fields):
        return self.learner(ref, **(learner or {})).aim(ref, aimref, stream, **fields)

    def uln(self, ref):
        return next(r["ULN"] for r in self.learners if r["LearnRefNumber"] == ref)

    def achieved(self, ref, aimref, when, grade=None, **fields):
        self.prior.append({"ULN": self.uln(ref), "LearnAimRef": aimref, "AchDate": when, "OutGrade": grade,
                           "ProgType": None, "AimType": "4", "StdCode": None, **fields})
        return self

    def inputs(self) -> FrmInputs:
        table = lambda rows, cols: pd.DataFrame(rows, columns=cols).astype("str")  # noqa: E731 - as the loader types
        learners = table(self.learners, list(self.learners[0]))
        deliveries = table(self.aims, list(self.aims[0]))
        employment = table(self.employment, ["UKPRN", "LearnRefNumber", "EmpStat", "DateEmpStatApp", "ESM_EII"])
        aims = frm.prepare_aims(learners, deliveries, employment, LARS, S)
        prior = table(self.prior, PRIOR_COLUMNS)
        prior["AchDate"] = pd.to_datetime(prior["AchDate"]).astype("datetime64[s]")
        loans = table(self.loans, schemas.LOANS.names)
        loans["course_start_date"] = pd.to_datetime(loans["course_start_date"]).astype("datetime64[s]")
        prev = table(self.prev, list(self.aims[0]))
        for c in ("LearnStartDate", "LearnActEndDate"):
            prev[c] = pd.to_datetime(prev[c]).astype("datetime64[s]")
        earnings = pd.DataFrame([{"UKPRN": UKPRN, "LearnRefNumber": r["LearnRefNumber"], "AimSeqNumber": "1",
                                  "amount": "100.005"} for r in self.learners]
                                + [{"UKPRN": UKPRN, "LearnRefNumber": r["LearnRefNumber"], "AimSeqNumber": None,
                                    "amount": "0.10"} for r in self.learners]).astype("str")
        return FrmInputs(period=self.period, aims=aims, students=frm.prepare_students(aims, None, S),
                         fams=pd.DataFrame(columns=schemas.ILR_TABLES["fams"].names), lars=LARS,
                         prior=with_lars(prior, LARS), previous_year=prev, loans=loans, earnings=earnings,
                         available={"lars": True, "prior_achievements": True, "previous_year": True, "loans": True})


def flagged(x: FrmInputs, rule_id: str) -> dict[str, str]:
    """Learner reference -> reason of each row the report flags, the same in both engines."""
    rows = compare_rule(x, rule_id)
    return dict(zip(rows["LearnRefNumber"], rows["reason"]))


def test_frm29_qualifying_period_boundaries():
    """42 days qualifying (planned 168 days or more), 14 below; flagged from the day it is reached to 7 after."""
    a = Aims()
    start = pd.Timestamp("2022-09-05")
    day = lambda n: (start + pd.Timedelta(days=n - 1)).strftime("%Y-%m-%d")  # noqa: E731 - day n, day 1 the start
    for n in (41, 42, 49, 50):
        a.one(f"L{n}", "60000002", "sp", plan_end=day(168), LearnActEndDate=day(n), CompStatus="3")
    a.one("P167", "60000002", "sp", plan_end=day(167), LearnActEndDate=day(42), CompStatus="3")
    a.one("P167Q14", "60000002", "sp", plan_end=day(167), LearnActEndDate=day(21), CompStatus="2")
    a.one("CONT", "60000002", "sp", plan_end=day(168), LearnActEndDate=day(42), CompStatus="1")
    # No planned end date (the loader requires one): pandas applies every step, so the longest period stands.
    a.one("NOPLAN", "60000002", "sp", plan_end=None, LearnActEndDate=day(45), CompStatus="3")
    assert flagged(a.inputs(), "FRM29") == {
        "NOPLAN": "in learning 45 days; qualifying period 42 days",
        "L42": "in learning 42 days; qualifying period 42 days",
        "L49": "in learning 49 days; qualifying period 42 days",
        "P167Q14": "in learning 21 days; qualifying period 14 days"}


def test_frm37_off_the_job_minimum_boundaries():
    """20 % of 30 hours (no EII; capped at 30 from August 2022) over 350 days is 300 hours: 299 flagged, 300 not."""
    a = Aims()
    for ref, hours in (("AT", "300"), ("BELOW", "299"), ("NONE", None)):
        a.one(ref, "ZPROG001", "appr", AimType="1", start="2022-09-01", plan_end="2023-08-17", PHours=hours)
    # Before the cap, EII band 8 reads as 31 hours: minimum 310.0.
    a.one("UNCAPPED", "ZPROG001", "appr", AimType="1", start="2022-07-01", plan_end="2023-06-16", PHours="309")
    a.employment.append({"UKPRN": UKPRN, "LearnRefNumber": "UNCAPPED", "EmpStat": "10",
                         "DateEmpStatApp": "2022-06-01", "ESM_EII": "8"})
    a.one("OLD", "ZPROG001", "appr", AimType="1", start="2017-04-30", plan_end="2018-04-15", PHours="1")
    got = flagged(a.inputs(), "FRM37")
    assert got == {"BELOW": "planned 299 off-the-job hours; minimum 300.0",
                   "NONE": "planned 0 off-the-job hours; minimum 300.0",
                   "UNCAPPED": "planned 309 off-the-job hours; minimum 310.0"}


def test_frm42_work_experience_boundaries():
    """Over 300 hours and bigger than every other aim (or any size in a 16 to 18 traineeship) is flagged."""
    a = Aims()
    a.one("W300", "ZWRKX001", "sp", AimType="3", PHours="300")
    a.one("W301", "ZWRKX001", "sp", AimType="3", PHours="301").aim("W301", "60000002", "sp", PHours="300")
    a.one("TIE", "ZWRKX001", "sp", AimType="3", PHours="301").aim("TIE", "60000002", "sp", PHours="301")
    a.one("GLH", "ZWRKX001", "sp", AimType="3", PHours="401").aim("GLH", "60000009", "sp")  # LARS glh 400
    a.one("CORE", "ZWRKX002", "sp", AimType="5", PHours="900")
    a.one("TRAINEE", "ZWRKX001", "t1618", AimType="3", PHours="301").aim("TRAINEE", "60000002", "t1618",
                                                                          PHours="999")
    assert flagged(a.inputs(), "FRM42") == {
        "W301": "work experience of 301 hours is not the core aim", "GLH": "work experience of 401 hours is not the "
        "core aim", "TRAINEE": "work experience of 301 hours is not the core aim"}


def test_frm16_frm17_ages_and_exceptions():
    """Aged 19 to 23 at the start (18 and 24 are not), holding the level already, unless unemployed or low-waged."""
    a = Aims()
    for ref, dob in (("AGE18", "2003-09-06"), ("AGE19", "2003-09-05"), ("AGE23", "1998-09-06"),
                     ("AGE24", "1998-09-05")):
        a.one(ref, "60000002", "aeb", learner={"dob": dob, "PriorAttain": "2"})
    a.one("UNEMP", "60000002", "aeb", learner={"dob": "2003-01-01", "PriorAttain": "3"})
    a.employment.append({"UKPRN": UKPRN, "LearnRefNumber": "UNEMP", "EmpStat": "11", "DateEmpStatApp": "2022-09-01",
                         "ESM_EII": None})
    a.one("LOWWAGE", "60000002", "aeb", learner={"dob": "2003-01-01", "PriorAttain": "2"}, FAM_LDM="034;363")
    a.one("PRIORL3", "60000002", "aeb", learner={"dob": "2003-01-01"}).achieved("PRIORL3", "60000003", "2021-07-01")
    a.one("LATER", "60000002", "aeb", learner={"dob": "2003-01-01"}).achieved("LATER", "60000002", "2022-09-05")
    a.one("CO", "60000003", "aeb", learner={"dob": "2003-01-01", "PriorAttain": "3"}, FAM_FFI="2")
    a.one("L4", "60000003", "aeb", learner={"dob": "2003-01-01"}, FAM_FFI="1").achieved("L4", "60000004", "2020-01-01")
    x = a.inputs()
    two = "aged 19 to 23, already holds a full level 2 or higher"
    assert flagged(x, "FRM16") == {"AGE19": two, "AGE23": two, "PRIORL3": two}
    three = "aged 19 to 23, already holds a full level 3 or higher"
    assert flagged(x, "FRM17") == {"CO": three, "L4": three}


def test_frm13_emle_levels_held_and_grades():
    """Level held from the grade fields (tabs and case ignored) and from earlier achievements; 18 is no adult."""
    a = Aims()
    a.one("G3L1", "FSENG101", "appr", learner={"EngGrade": "3"})          # grade 3 is level 1: level 1 aim queried
    a.one("G3L2", "GCSEENG1", "appr", learner={"EngGrade": "3"})          # working towards level 2: fine
    a.one("G4L2", "GCSEENG1", "appr", learner={"EngGrade": "\t c "})      # C is a pass: level 2 held
    a.one("ENTRY", "FSENGE01", "appr", learner={"EngGrade": "D"})          # level 1 held, entry level aim
    a.one("NONE", "FSENG101", "appr", learner={"EngGrade": "NONE"})
    a.one("PRIOR", "FSMAT201", "appr").achieved("PRIOR", "GCSEENG1", "2020-08-01", "9")  # English, not maths
    a.one("PMATH", "FSMAT201", "appr").achieved("PMATH", "FSMAT201", "2020-08-01")
    x = a.inputs()
    assert flagged(x, "FRM13") == {
        "G3L1": "already holds level 1 in english; the aim is at level 1",
        "G4L2": "already holds level 2 in english; the aim is at level 2",
        "ENTRY": "already holds level 1 in english; the aim is at entry level",
        "PMATH": "already holds level 2 in maths; the aim is at level 2"}
    b = Aims()
    b.one("ADULT", "FSENG101", "aeb", learner={"dob": "2003-09-05", "EngGrade": "B"})
    b.one("YOUNG", "FSENG101", "aeb", learner={"dob": "2003-09-06", "EngGrade": "B"})
    b.one("LOWER", "FSENG101", "aeb", learner={"dob": "1990-01-01", "EngGrade": "D"})
    b.one("PASSED", "GCSEENG1", "aeb").achieved("PASSED", "GCSEENG1", "2021-08-01", "c")
    b.one("CO", "GCSEENG1", "aeb", learner={"EngGrade": "A"}, FAM_FFI="2")
    assert flagged(b.inputs(), "EMLE") == {"ADULT": "already holds grade 4 (C) or above in english",
                                           "PASSED": "already holds grade 4 (C) or above in english"}


def test_frm01_frm19_prior_achievements():
    """Repeats of an achieved qualification or standard (GCSE retakes below grade 4 allowed in adult skills)."""
    a = Aims()
    a.one("REPEAT", "60000002", "aeb").achieved("REPEAT", "60000002", "2021-06-01") \
        .achieved("REPEAT", "60000002", "2020-06-01")                       # the earliest date is given
    a.one("SAMEDAY", "60000002", "aeb").achieved("SAMEDAY", "60000002", "2022-09-05")
    a.one("RETAKE", "GCSEENG1", "aeb").achieved("RETAKE", "GCSEENG1", "2021-06-01", "3")
    a.one("PASSED", "GCSEENG1", "aeb").achieved("PASSED", "GCSEENG1", "2021-06-01", "4")
    a.one("UNKNOWN", "60000009", "aeb").achieved("UNKNOWN", "60000009", "2021-06-01")
    a.one("STD", "ZPROG001", "appr", AimType="1").achieved("STD", "ZPROG001", "2021-06-01", AimType="1",
                                                           StdCode="17", ProgType="25")
    a.one("APPENG", "GCSEENG1", "appr").achieved("APPENG", "GCSEENG1", "2021-06-01", "4")  # FRM13's, not FRM01's
    # No ULN on either side: pandas joins missing to missing, and so does the SQL.
    a.one("NOULN", "60000003", "aeb", learner={"uln": ""})
    a.prior.append({"ULN": None, "LearnAimRef": "60000003", "AchDate": "2019-01-01", "OutGrade": None,
                    "ProgType": None, "AimType": "4", "StdCode": None})
    x = a.inputs()
    assert flagged(x, "FRM01") == {
        "REPEAT": "already achieved on 2020-06-01", "PASSED": "already achieved on 2021-06-01",
        "UNKNOWN": "already achieved on 2021-06-01; lars.csv does not say whether the aim is regulated",
        "STD": "apprenticeship standard 17 already achieved on 2021-06-01", "NOULN": "already achieved on 2019-01-01"}
    b = Aims()
    b.one("APPR", "60000002", "t1924").achieved("APPR", "ZPROG001", "2021-06-01", AimType="1", ProgType="25")
    b.one("TLEVEL", "60000002", "t1924").achieved("TLEVEL", "ZPROG001", "2021-06-01", AimType="1", ProgType="31")
    b.one("L4", "60000002", "t1618").achieved("L4", "60000004", "2021-06-01")
    b.one("PA4", "60000002", "t1924", learner={"PriorAttain": "10"})
    b.one("PA3", "60000002", "t1924", learner={"PriorAttain": "3"})
    assert flagged(b.inputs(), "FRM19") == {"APPR": "already achieved an apprenticeship",
                                            "L4": "already holds level 4 or above",
                                            "PA4": "already holds level 4 or above"}


def test_frm20_frm21_frm27_loans_and_last_year():
    a = Aims()
    a.one("MATCHED", "60000003", "loans").one("NOLOAN", "60000003", "loans").one("NOTPASSED", "60000003", "loans")
    a.one("NOEARN", "60000003", "loans")
    for ref, status, passed, paid in (("MATCHED", "approved", "Y", "10.50"), ("NOTPASSED", "approved", "N", "0"),
                                      ("SLCONLY", "approved", "Y", "1450.10"), ("NOULN", "approved", "Y", None)):
        uln = {"SLCONLY": "3000000001", "NOULN": None}[ref] if ref in ("SLCONLY", "NOULN") else a.uln(ref)
        a.loans.append({"UKPRN": UKPRN, "ULN": uln,
                        "LearnRefNumber": ref, "LearnAimRef": "60000003", "course_start_date": "2022-10-03",
                        "loan_status": status, "liability_passed": passed, "amount_paid": paid})
    # Withdrawn back on 31 July 2022 (last year's end) and 1 August 2022, after last year's R14 said continuing.
    for ref, end in (("JULY31", "2022-07-31"), ("AUG01", "2022-08-01"), ("TWICE", "2022-07-01")):
        a.one(ref, "60000003", "aeb", start="2021-09-06", LearnActEndDate=end, CompStatus="3")
        a.prev.append({**a.aims[-1], "LearnActEndDate": None, "CompStatus": "1"})
    a.prev.append({**a.aims[-1], "LearnActEndDate": "2022-06-01", "CompStatus": "2"})  # the later row counts
    x = a.inputs()
    no_loan = "loans indicator recorded; SLC shows no approved loan past the liability point"
    assert flagged(x, "FRM21") == dict.fromkeys(("NOLOAN", "NOTPASSED", "NOEARN"), no_loan)
    slc = compare_rule(x, "FRM20").set_index("LearnRefNumber")
    assert slc["funding_impact"].astype(object).where(slc["funding_impact"].notna(), None).to_dict() == {
        "SLCONLY": 1450.1, "NOULN": None}
    # A key with a part missing (the loader requires them all) is hashed as pandas prints it, "nan".
    assert slc.loc["NOULN", "query_id"] == frm.query_id("FRM20", pd.Series(["nan"])).iloc[0]
    assert flagged(x, "FRM27") == {"JULY31": "withdrawn 2022-07-31; last year's R14 showed it continuing",
                                   "TWICE": "withdrawn 2022-07-01; last year's R14 showed it completed"}
    # Funding impact: the aim's own earnings (100.005 is just below 100.005 as a double: 100.0), else the
    # learner's learner-level earnings (0.1 + 0.2 rounds to 0.3), else not known.
    x.earnings = pd.DataFrame([["NOLOAN", "1", "100.005"], ["NOLOAN", None, "7"], ["NOTPASSED", None, "0.1"],
                               ["NOTPASSED", None, "0.2"], ["NOTPASSED", "2", "5"]],
                              columns=["LearnRefNumber", "AimSeqNumber", "amount"]).assign(UKPRN=UKPRN).astype("str")
    impact = compare_rule(x, "FRM21").set_index("LearnRefNumber")["funding_impact"]
    assert impact.astype(object).where(impact.notna(), None).to_dict() == {"NOLOAN": 100.0, "NOTPASSED": 0.3,
                                                                          "NOEARN": None}


# ---------------------------------------------------------------- the shared SQL fragments

def test_round1_text_prints_as_pandas():
    """Half to even on the binary value (0.25 -> 0.2, 0.35 -> 0.4, 1.05 -> 1.0), printed as Python prints."""
    values = [0.25, 0.35, 1.05, 2.675, 42.0, 6.25, -0.25, -2.35, 1 / 3, 123456.65, 300.0, 0.0, 1e16]
    want = pd.Series(values, dtype="Float64").round(1).astype("string").tolist()
    con = duckdb.connect()
    got = [con.execute(f"SELECT {round1_text('$v')}", {"v": v}).fetchone()[0] for v in values]
    assert got == want
    assert want[:3] == ["0.2", "0.4", "1.0"]


def test_no_catalogue_number_in_the_sql_text():
    """Every threshold is a bound parameter: the only bare numbers are day-counting, scaling and grade levels."""
    for rule_id, make in AIM_RULE_SQL.items():
        rule = CAT.rule(rule_id).at(R14, CAT.year)
        sql, params = make(S, rule, R14)
        bare = re.sub(r"'[^']*'", "''", sql)                          # quoted code values are allowed
        bare = re.sub(r"\$\w+|[A-Za-z_][A-Za-z_0-9]*", "", bare)      # parameters and names
        numbers = set(re.findall(r"\d+(?:\.\d+)?", bare))
        assert numbers <= {"0", "0.5", "1", "2", "10", "700"}, (rule_id, numbers)


def test_cli_engines_print_the_same_flags(tmp_path, monkeypatch):
    """``fjaaqa frm --engine duckdb`` and ``--engine pandas`` print the same flags, byte for byte (each run afresh).

    The fixture's R14 return, compared with R06: 33 flagged rows, some new, some persisting.
    """
    import json

    from typer.testing import CliRunner

    from fjaaqa.cli import app

    outputs = {}
    for engine in ("duckdb", "pandas"):
        monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / engine))  # no run kept from the other engine
        r = CliRunner().invoke(app, ["frm", "--data", str(BASE), "--year", "2223", "--return", "R14",
                                     "--format", "json", "--engine", engine])
        assert r.exit_code == 0, r.output
        outputs[engine] = r.stdout
    assert outputs["duckdb"] == outputs["pandas"]
    flags = json.loads(outputs["duckdb"])
    assert len(flags) == 33
    assert {f["change"] for f in flags} == {"new", "persisting"}
    r = CliRunner().invoke(app, ["frm", "--data", str(BASE), "--year", "2223", "--return", "R14", "--engine", "spark"])
    assert r.exit_code == 2
