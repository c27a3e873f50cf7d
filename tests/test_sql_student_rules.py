"""The student-level and T Level FRM reports in DuckDB SQL equal the pandas reference, row for row and word for word.

Two kinds of case: the synthetic FRM providers (tests/fixtures/frm_data) at
2022-23 R06 (the R01-R08 versions in force) and R14 (the R09 versions), and
hand-made students at each threshold's boundary, whose flags and reasons
are worked out by hand from the 2022-23 guidance and the catalogue.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import pandas as pd
import pytest
from builders import repo_path

from fjaaqa import frm
from fjaaqa.frm.catalogue import RuleVersion
from fjaaqa.frm.inputs import FrmInputs, build_inputs
from fjaaqa.frm.rules import RULES
from fjaaqa.frm.sql_inputs import prepare_inputs
from fjaaqa.frm.sql_run import evaluate_sql, register_inputs
from fjaaqa.frm.sql_student_rules import STUDENT_RULE_SQL
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.views import register_dataset
from fjaaqa.periods import make_period

BASE = repo_path("tests", "fixtures", "frm_data")
CAT, _ = frm.load_catalogue("2223")
S = CAT.settings
R06, R08, R09, R14 = (make_period("2223", r) for r in ("R06", "R08", "R09", "R14"))
UNIFORM = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "LearnStartDate", "SWSupAimId", "ULN",
           "stream", "PartnerUKPRN", "reason"]


# ---------------------------------------------------------------- both engines over one FrmInputs

_CONNECTIONS: dict[int, tuple[FrmInputs, duckdb.DuckDBPyConnection]] = {}


def _connect(x: FrmInputs):
    """The prepared tables of ``x`` (R1's reference path), and the return's row of ``dataset_returns`` (FRM65).

    Made once per inputs (registering is most of a small test's time); ``x`` is kept so its id stays its own.
    """
    if id(x) not in _CONNECTIONS:
        con = duckdb.connect()
        register_inputs(con, x)
        con.execute("CREATE OR REPLACE TEMP TABLE dataset_returns AS SELECT ? AS year, ? AS return_code, "
                    "? AS has_workplacements", [x.period.year.code, x.period.return_code,
                                                x.workplacements is not None])
        _CONNECTIONS[id(x)] = x, con
    return _CONNECTIONS[id(x)][1]


def _uniform(df: pd.DataFrame, blank_aim_fields: bool = False) -> pd.DataFrame:
    """Rows as comparable text, dates as ISO, missing as None; a learner-level pandas row has no aim fields."""
    out = pd.DataFrame(index=df.index)
    for c in UNIFORM:
        if blank_aim_fields and c in ("AimSeqNumber", "LearnAimRef", "LearnStartDate", "SWSupAimId"):
            out[c] = None
            continue
        s = df[c] if c in df else pd.Series(None, index=df.index, dtype=object)
        if c == "LearnStartDate":
            s = pd.to_datetime(s).dt.strftime("%Y-%m-%d")
        out[c] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return out.sort_values(UNIFORM[:4], na_position="first").reset_index(drop=True)


def both(x: FrmInputs, rule_id: str, rule=None, settings=None) -> pd.DataFrame:
    """Run a report in pandas and in SQL over the same inputs, check they agree, and return the rows."""
    s = settings or S
    rule = rule or CAT.rule(rule_id).at(x.period, CAT.year)
    want = _uniform(RULES[rule_id](x, s, rule), blank_aim_fields=rule.level == "learner")
    con = _connect(x)
    sql, params = STUDENT_RULE_SQL[rule_id](s, rule, x.period)
    result = con.execute(sql, params)
    got_raw = result.df()
    assert list(got_raw.columns) == [*UNIFORM, "slc_amount"]
    assert got_raw["slc_amount"].isna().all()
    got = _uniform(got_raw)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    return got


def flags(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["LearnRefNumber"], rows["reason"]))


# ---------------------------------------------------------------- the synthetic FRM providers

@pytest.fixture(scope="module")
def fixture_data():
    """The fixture's dataset up to a return and its pandas inputs, read once per return."""
    cache = {}

    def get(period):
        if period not in cache:
            ds = load_dataset(BASE, up_to=period)
            cache[period] = ds, build_inputs(ds, period, S)
        return cache[period]
    return get


@pytest.fixture(scope="module")
def fixture_inputs(fixture_data):
    return lambda period: fixture_data(period)[1]


@pytest.mark.parametrize("period", [R06, R14], ids=["R06", "R14"])
@pytest.mark.parametrize("rule_id", sorted(STUDENT_RULE_SQL))
def test_fixture_providers_equal_pandas(fixture_inputs, period, rule_id):
    rule = CAT.rule(rule_id).at(period, CAT.year)
    if not rule.published_at(period, CAT.year):
        assert rule_id == "FRM71" and period == R06  # FRM71 is first published at R09
        return
    rows = both(fixture_inputs(period), rule_id, rule)
    assert not rows.empty, "each report has a planted case in the fixture"


def test_fixture_reasons_worked_out_by_hand(fixture_inputs):
    """The planted cases' reasons, as the guidance gives them (the versions in force at R06 and at R14)."""
    r06, r14 = fixture_inputs(R06), fixture_inputs(R14)
    assert {r for _, r in flags(both(r06, "FRM30"))} == {"35.0 planned hours a week", "40.0 planned hours a week",
                                                         "41.0 planned hours a week"}
    assert {r for _, r in flags(both(r14, "FRM30"))} == {"41.0 planned hours a week"}
    assert {r for _, r in flags(both(r14, "FRM49"))} == {"planned 1379 hours; band 7 needs 1380"}
    assert {r for _, r in flags(both(r06, "FRM65"))} == {
        "placement aim planned for 314 hours; minimum 315", "placement aim planned for 415 hours; minimum 750",
        "placement aim planned for 749 hours; minimum 750"}
    assert {r for _, r in flags(both(r14, "FRM65"))} == {
        "industry placement 314 hours; minimum 315", "industry placement 415 hours; minimum 750",
        "industry placement 749 hours; minimum 750"}
    assert {r for _, r in flags(both(r14, "FRM71"))} == {"continuing student who left on 2022-10-17"}


def _runner_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """The runner's flags as comparable text (query IDs, funding impact, reasons), in the runner's order."""
    out = flags.astype(object).where(flags.notna(), None).reset_index(drop=True)
    out["funding_impact"] = [None if v is None else round(float(v), 2) for v in out["funding_impact"]]
    return out


def runner_equal(x: FrmInputs, con) -> pd.DataFrame:
    """These reports through both runners: the same flags, query IDs, funding impact and order."""
    ids = sorted(STUDENT_RULE_SQL)
    want, want_unavailable = frm.evaluate(x, CAT, rules=ids)
    got, got_unavailable = evaluate_sql(con, CAT, x.period, x.available, rules=ids)
    assert got_unavailable == want_unavailable
    pd.testing.assert_frame_equal(_runner_flags(got), _runner_flags(want), check_dtype=False)
    return got


@pytest.mark.parametrize("period", [R06, R14], ids=["R06", "R14"])
def test_fixture_through_both_runners(fixture_data, period):
    """Over R1's reference tables and over P's tables built in SQL from the dataset's views, as in pandas."""
    ds, x = fixture_data(period)
    flags = runner_equal(x, _connect(x))
    assert flags["funding_impact"].notna().any()
    con = duckdb.connect()
    register_dataset(con, ds)
    assert prepare_inputs(con, period, S) == x.available
    runner_equal(x, con)


# ---------------------------------------------------------------- hand-made students at each boundary

UKPRN = "10000001"
LARS = pd.DataFrame([
    {"LearnAimRef": "60000001", "level": "2", "aim_type": "other", "regulated": "Y"},
    {"LearnAimRef": "TQ000001", "level": "3", "aim_type": "tlevel_tq", "regulated": "Y", "tlevel_band": "7"},
    {"LearnAimRef": "TQNOBAND", "level": "3", "aim_type": "tlevel_tq", "regulated": "Y"},
    {"LearnAimRef": "TQEARLY1", "level": "3", "aim_type": "tlevel_tq", "regulated": "Y", "tlevel_band": "8",
     "early_years": "Y"},
]).reindex(columns=["LearnAimRef", "level", "aim_type", "subject", "regulated", "full_level_2", "full_level_3",
                    "glh", "tlevel_band", "early_years"])


class Students:
    """16 to 19 students and their aims for one return, each learner named for what it tests."""

    def __init__(self, period):
        self.period = period
        self.learners, self.aims, self.fams, self.placements = [], [], [], []

    def learner(self, ref, plh=None, eep=None, lldd="2"):
        self.learners.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "ULN": str(1000000000 + len(self.learners)),
                              "DateOfBirth": "2006-01-01", "PriorAttain": None, "PlanLearnHours": plh,
                              "PlanEEPHours": eep, "LLDDHealthProb": lldd, "MathGrade": None, "EngGrade": None})
        return self

    def aim(self, ref, aimref, start="2022-09-05", plan_end="2023-06-30", end=None, aim_type="4", prog=None,
            hours=None):
        seq = str(1 + sum(a["LearnRefNumber"] == ref for a in self.aims))
        self.aims.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "AimSeqNumber": seq, "LearnAimRef": aimref,
                          "AimType": aim_type, "FundModel": "25", "ProgType": prog, "LearnStartDate": start,
                          "LearnPlanEndDate": plan_end, "LearnActEndDate": end, "CompStatus": "1" if end is None
                          else "3", "Outcome": None, "AchDate": None, "PHours": hours, "SWSupAimId": None,
                          "PartnerUKPRN": None, "FAM_SOF": None, "FAM_ADL": None})
        return self

    def tlevel(self, ref, core="TQ000001", start="2022-09-05", plan_end="2024-06-30", hours=None, placements=(),
               record=True):
        """A T Level student: programme aim, core aim, and placement aims with the given planned hours."""
        self.learner(ref).aim(ref, "ZPROG001", start=start, plan_end=plan_end, aim_type="1", prog="31", hours=hours)
        self.aim(ref, core, start=start, plan_end=plan_end, aim_type="5", prog="31")
        for h in placements:
            self.aim(ref, "ZWRKX003", start=start, plan_end=plan_end, aim_type="3", prog="31", hours=h)
        if record:
            self.placements.append({"UKPRN": UKPRN, "LearnRefNumber": ref, "AimSeqNumber": "3"})
        return self

    def inputs(self, workplacements=True) -> FrmInputs:
        learners = pd.DataFrame(self.learners)
        deliveries = pd.DataFrame(self.aims)
        employment = pd.DataFrame(columns=["UKPRN", "LearnRefNumber", "EmpStat", "DateEmpStatApp", "ESM_EII"])
        fams = pd.DataFrame(self.fams, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode"])
        aims = frm.prepare_aims(learners, deliveries, employment, LARS, S)
        wp = pd.DataFrame(self.placements, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber"])
        return FrmInputs(period=self.period, aims=aims, students=frm.prepare_students(aims, fams, S), fams=fams,
                         workplacements=wp if workplacements else None, lars=LARS,
                         available={"lars": True, "prior_achievements": False, "previous_year": False,
                                    "loans": False})


def version(rule_id: str, period, **params):
    """The report as run at ``period`` with a hand-made version in force (to test a switch either way)."""
    rule = CAT.rule(rule_id).at(period, CAT.year)
    rule._in_force = RuleVersion(from_return="R01", params=params)
    return rule


def study(period, *cases):
    """One study programme student per (ref, plh, eep, start, plan_end): a regulated aim with those dates."""
    w = Students(period)
    for ref, plh, eep, start, plan_end in cases:
        w.learner(ref, plh=plh, eep=eep).aim(ref, "60000001", start=start, plan_end=plan_end)
    return w


def test_frm30_exactly_the_limit_flagged_only_when_the_version_says_so():
    # 28 days (1 to 28 September): hours * 7 / 28 = hours / 4 a week.
    w = study(R09, ("AT40", 100, 60, "2022-09-01", "2022-09-28"),       # 160 / 4 = 40.0
              ("OVER40", 100, 61, "2022-09-01", "2022-09-28"),          # 40.25, printed 40.2 (half to even)
              ("UNDER40", 100, 59, "2022-09-01", "2022-09-28"),         # 39.75
              ("AT35", 140, None, "2022-09-01", "2022-09-28"))          # 35.0
    # T Level: the programme aim's 2800 hours over 490 days (70 weeks) is exactly 40 a week.
    w.tlevel("TAT40", start="2022-09-01", plan_end="2024-01-03", hours="2800")
    x = w.inputs()
    at = both(x, "FRM30", version("FRM30", R09, hours_per_week=40, flag_at_hours=True))
    assert flags(at) == {("AT40", "40.0 planned hours a week"), ("OVER40", "40.2 planned hours a week"),
                         ("TAT40", "40.0 planned hours a week")}
    over = both(x, "FRM30", version("FRM30", R09, hours_per_week=40, flag_at_hours=False))
    assert flags(over) == {("OVER40", "40.2 planned hours a week")}
    # The catalogue's versions: 35 and over up to R08, over 40 from R09.
    assert {r for r, _ in flags(both(replace(x, period=R08), "FRM30"))} == {
        "AT40", "OVER40", "UNDER40", "AT35", "TAT40"}
    assert flags(both(x, "FRM30")) == flags(over)


def test_frm30_counts_only_this_years_days_for_a_study_programme():
    # Started before the year and planned past it: 1 August 2022 to 31 July 2023 is 365 days.
    # 2086 hours * 7 / 365 = 40.005... (flagged); 2085 * 7 / 365 = 39.986... (not).
    w = study(R09, ("LONG_HIT", 2086, None, "2021-09-01", "2024-06-30"),
              ("LONG_MISS", 2085, None, "2021-09-01", "2024-06-30"))
    assert flags(both(w.inputs(), "FRM30")) == {("LONG_HIT", "40.0 planned hours a week")}


def test_frm69_exactly_the_share():
    w = study(R14, ("HALF", 50, 50, "2022-09-05", "2023-06-30"),          # 50 % exactly: flagged
              ("BELOW", 51, 49, "2022-09-05", "2023-06-30"),             # 49 %
              ("ABOVE", 49, 51, "2022-09-05", "2023-06-30"),             # 51 %
              ("TIE", 7, 9, "2022-09-05", "2023-06-30"),                 # 56.25 %, printed 56.2 (half to even)
              ("NONE", None, None, "2022-09-05", "2023-06-30"))          # no hours at all
    w.learner("SUPPORTED", plh=0, eep=100, lldd="1").aim("SUPPORTED", "60000001")   # additional support
    w.learner("EHC", plh=0, eep=100).aim("EHC", "60000001")
    w.fams.append({"UKPRN": UKPRN, "LearnRefNumber": "EHC", "AimSeqNumber": None, "FAMType": "EHC", "FAMCode": "1"})
    pre = "employability, enrichment and pastoral hours are "
    assert flags(both(w.inputs(), "FRM69")) == {("HALF", pre + "50.0 %"), ("ABOVE", pre + "51.0 %"),
                                                ("TIE", pre + "56.2 %")}


def test_frm49_band_minimum_plus_additional_hours():
    w = Students(R14)
    w.tlevel("B7_1379", hours="1379").tlevel("B7_1380", hours="1380").tlevel("B7_1381", hours="1381")
    w.tlevel("B7_2122_1339", start="2021-09-06", hours="1339")       # 1300 + 40 for a 2021-22 start
    w.tlevel("B7_2122_1340", start="2021-09-06", hours="1340")
    w.tlevel("B7_2021_1299", start="2020-09-07", hours="1299")       # no additional hours for 2020-21
    w.tlevel("NOBAND_1179", core="TQNOBAND", hours="1179")           # default band 6: 1100 + 80
    w.tlevel("NOHOURS")                                              # blank hours: 0 planned
    # Two core aims: the first (band 7, 1380) decides, not the later band 8 one (1500 + 80).
    w.tlevel("TWO_CORES_1500", hours="1500").aim("TWO_CORES_1500", "TQEARLY1", aim_type="5", prog="31")
    # The same, the file out of sequence order: still the first in the file (band 7), not the lowest AimSeqNumber.
    w.tlevel("TWO_CORES_OUT_OF_ORDER", hours="1500").aim("TWO_CORES_OUT_OF_ORDER", "TQEARLY1", aim_type="5",
                                                         prog="31")
    w.aims[-2]["AimSeqNumber"] = "9"                                   # its first core aim (band 7)
    x = w.inputs()
    assert flags(both(x, "FRM49")) == {
        ("B7_1379", "planned 1379 hours; band 7 needs 1380"), ("B7_2122_1339", "planned 1339 hours; band 7 needs 1340"),
        ("B7_2021_1299", "planned 1299 hours; band 7 needs 1300"),
        ("NOBAND_1179", "planned 1179 hours; band 6 needs 1180"), ("NOHOURS", "planned 0 hours; band 7 needs 1380")}
    # A band table that already counts the additional hours: they are not added again.
    counted = S.model_copy(update={"tlevel": S.tlevel.model_copy(update={"band_minimums_include_additional_hours":
                                                                         True})})
    assert flags(both(x, "FRM49", settings=counted)) == {
        ("B7_2021_1299", "planned 1299 hours; band 7 needs 1300"), ("NOHOURS", "planned 0 hours; band 7 needs 1300")}
    # No additional hours, or a year not written as a year label ("2223"): pandas finds none, nor does SQL.
    for extra in ({}, {"2223": 80}):
        other = S.model_copy(update={"tlevel": S.tlevel.model_copy(update={"additional_hours_by_start_year": extra})})
        assert flags(both(x, "FRM49", settings=other)) == flags(both(x, "FRM49", settings=counted))


def test_frm65_minimum_hours_by_version_and_records():
    w = Students(R08)
    w.tlevel("EY_749", core="TQEARLY1", start="2021-09-06", placements=["749"])
    w.tlevel("EY_750", core="TQEARLY1", start="2021-09-06", placements=["750"])
    w.tlevel("EY_SPLIT_749", core="TQEARLY1", start="2021-09-06", placements=["400", "349"])
    w.tlevel("STD_314", start="2021-09-06", placements=["314"])
    w.tlevel("STD_315", start="2021-09-06", placements=["315"])
    w.tlevel("NEW_314", placements=["314"])                          # first year: only the R01-R08 version flags
    w.tlevel("NO_RECORD", start="2021-09-06", placements=["315"], record=False)
    w.tlevel("NO_PLACEMENT", start="2021-09-06")                      # second year with no placement aim
    x = w.inputs()
    assert flags(both(x, "FRM65")) == {
        ("EY_749", "placement aim planned for 749 hours; minimum 750"),
        ("EY_SPLIT_749", "placement aim planned for 400 hours; minimum 750"),
        ("EY_SPLIT_749", "placement aim planned for 349 hours; minimum 750"),
        ("STD_314", "placement aim planned for 314 hours; minimum 315"),
        ("NEW_314", "placement aim planned for 314 hours; minimum 315"),
        ("NO_RECORD", "placement aim has no work placement record")}
    # The two placement aims of EY_SPLIT_749 share a query ID: the runner keeps them in the file's order.
    runner_equal(x, _connect(x))
    later = replace(x, period=R09)
    assert flags(both(later, "FRM65")) == {
        ("EY_749", "industry placement 749 hours; minimum 750"),
        ("EY_SPLIT_749", "industry placement 749 hours; minimum 750"),
        ("STD_314", "industry placement 314 hours; minimum 315"),
        ("NO_RECORD", "placement aim has no work placement record"),
        ("NO_PLACEMENT", "industry placement 0 hours; minimum 315")}
    # No work placement file in the return: a missing record is not a query.
    assert ("NO_RECORD", "placement aim has no work placement record") not in flags(
        both(w.inputs(workplacements=False), "FRM65"))


def test_frm28_and_frm71_six_weeks_either_side():
    w = Students(R08)
    # Started this year on 5 September: day 42 is 16 October.
    w.learner("NEW_D42", plh=400).aim("NEW_D42", "60000001", end="2022-10-16")
    w.learner("NEW_D43", plh=400).aim("NEW_D43", "60000001", end="2022-10-17")
    w.learner("NEW_NOHOURS").aim("NEW_NOHOURS", "60000001", end="2022-10-01")
    w.learner("NEW_ONE_OPEN", plh=400).aim("NEW_ONE_OPEN", "60000001", end="2022-10-01").aim("NEW_ONE_OPEN",
                                                                                             "60000001")
    # Continuing (started last year): six weeks from 6 September ends on 17 October.
    w.learner("CONT_D42", plh=400).aim("CONT_D42", "60000001", start="2021-09-06", end="2022-10-17")
    w.learner("CONT_D43", plh=400).aim("CONT_D43", "60000001", start="2021-09-06", end="2022-10-18")
    w.learner("CONT_AUG", eep=40).aim("CONT_AUG", "60000001", start="2021-09-06", end="2022-08-15")
    w.learner("CONT_LASTYEAR", plh=400).aim("CONT_LASTYEAR", "60000001", start="2021-09-06", end="2022-07-31")
    w.learner("CONT_1AUG", plh=400).aim("CONT_1AUG", "60000001", start="2021-09-06", end="2022-08-01")
    # The year starts on 1 August: a start that day is new, the day before continuing.
    w.learner("NEW_1AUG", plh=400).aim("NEW_1AUG", "60000001", start="2022-08-01", end="2022-08-20")
    w.learner("CONT_31JUL", plh=400).aim("CONT_31JUL", "60000001", start="2022-07-31", end="2022-08-20")
    x = w.inputs()
    new = {("NEW_D42", "started this year and left on day 42 of the programme"),
           ("NEW_1AUG", "started this year and left on day 20 of the programme")}
    continuing = {("CONT_D42", "continuing student who left on 2022-10-17"),
                  ("CONT_AUG", "continuing student who left on 2022-08-15"),
                  ("CONT_1AUG", "continuing student who left on 2022-08-01"),
                  ("CONT_31JUL", "continuing student who left on 2022-08-20")}
    assert flags(both(x, "FRM28")) == new | continuing                        # up to R08: both kinds
    later = replace(x, period=R09)
    assert flags(both(later, "FRM28")) == new                                 # from R09: FRM71 has the others
    assert flags(both(later, "FRM71")) == continuing


def test_frm43_and_frm56_planned_learning_hours():
    w = study(R08, ("ZERO", 0, 100, "2022-09-05", "2023-06-30"), ("BLANK", None, None, "2022-09-05", "2023-06-30"),
              ("HOURS", 200, None, "2022-09-05", "2023-06-30"))
    w.learner("ZERO_SUPPORT", plh=0, lldd="1").aim("ZERO_SUPPORT", "60000001")
    w.learner("ZERO_NOQUAL", plh=0).aim("ZERO_NOQUAL", "ZWRKX001")
    w.learner("HOURS_NOQUAL", plh=120).aim("HOURS_NOQUAL", "ZWRKX001")
    x = w.inputs()
    to_r08 = "planned learning hours of 0 or none; no additional support needs identified"
    assert flags(both(x, "FRM43")) == {("ZERO", to_r08), ("BLANK", to_r08), ("ZERO_NOQUAL", to_r08)}
    later = replace(x, period=R09)
    from_r09 = "on a qualification with planned learning hours of 0 or none"
    assert flags(both(later, "FRM43")) == {("ZERO", from_r09), ("BLANK", from_r09), ("ZERO_SUPPORT", from_r09)}
    assert flags(both(x, "FRM56")) == {("HOURS_NOQUAL", "120 planned learning hours; no regulated qualification")}


def test_every_number_is_a_parameter():
    """No threshold from the catalogue is written into a query: each comes in as a bound parameter."""
    for rule_id, make in STUDENT_RULE_SQL.items():
        rule = CAT.rule(rule_id).at(R14, CAT.year)
        sql, params = make(S, rule, R14)
        for number in ("42", "35", "40", "50", "315", "750", "1100", "1300", "1500", "1650", "80"):
            assert number not in sql, f"{rule_id} writes {number} into its SQL"
        assert all(f"${name}" in sql for name in params), f"{rule_id} binds a parameter it does not use"
    assert date(2022, 9, 6) == STUDENT_RULE_SQL["FRM71"](S, CAT.rule("FRM71").at(R14, CAT.year), R14)[1][
        "continuing_ref"]


def test_printed_figures_over_a_grid_of_hours():
    """Every per-week figure and EEP share on a grid prints as pandas prints it (halves go to the even digit)."""
    rows = []
    for days in range(1, 60):                    # FRM30: study programmes of 1 to 59 days this year
        for hours in range(0, 400, 7):
            rows.append(("W", days, hours, None))
    for plh in range(0, 41):                     # FRM69: every split of up to 40 + 40 hours
        for eep in range(0, 41):
            rows.append(("E", 300, plh, eep))
    start = pd.Timestamp("2022-09-01")
    students = pd.DataFrame({
        "UKPRN": UKPRN, "LearnRefNumber": [f"{k}{i}" for i, (k, *_) in enumerate(rows)],
        "ULN": [str(1000000000 + i) for i in range(len(rows))], "stream": "study_programme",
        "prog_start": start, "prog_plan_end": [start + pd.Timedelta(days=d - 1) for _, d, _, _ in rows],
        "leave": pd.NaT, "all_ended": False,
        "PlanLearnHours_n": pd.array([h for *_, h, _ in rows], dtype="Int64"),
        "PlanEEPHours_n": pd.array([e for *_, e in rows], dtype="Int64"),
        "has_qualification": True, "als": False, "PartnerUKPRN": None})
    students["prog_start"] = students["prog_start"].astype("datetime64[s]")
    students["prog_plan_end"] = students["prog_plan_end"].astype("datetime64[s]")
    students["leave"] = students["leave"].astype("datetime64[s]")
    base = Students(R14).learner("T").aim("T", "60000001").inputs()
    x = replace(base, aims=base.aims.iloc[0:0], students=students)
    week, share = (dict(zip(r["LearnRefNumber"], r["reason"])) for r in (both(x, "FRM30"), both(x, "FRM69")))
    ref = {row: students["LearnRefNumber"][i] for i, row in enumerate(rows)}
    # 35 hours over 4 days: 61.25 a week, printed 61.2; 49 hours: 85.75, printed 85.8 (halves to the even digit).
    assert week[ref["W", 4, 35, None]] == "61.2 planned hours a week"
    assert week[ref["W", 4, 49, None]] == "85.8 planned hours a week"
    assert ref["W", 49, 280, None] not in week                                    # 280 over 49 days: 40 exactly
    assert week[ref["W", 49, 287, None]] == "41.0 planned hours a week"
    assert share[ref["E", 300, 7, 9]] == "employability, enrichment and pastoral hours are 56.2 %"
    assert ref["E", 300, 9, 7] not in share                                       # 43.75 %: below half
    assert len(week) > 100 and len(share) > 100
