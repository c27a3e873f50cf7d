"""The SQL engine's indicators equal the pandas engine's, row for row (issue 23).

The pandas path (``quality.results.compute``) is the tested reference; the
DuckDB path (``quality.sql_indicators``) must give the same ``results``
table, with the same columns, values, statuses and notes. Data: the
hand-worked cases of test_indicators_known.py gathered into one dataset
(one agency per case), a few shapes of file the known cases do not reach,
and the small synthetic demo at every period it has.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from builders import CENSUS_2324, World, days_before

from fjaaqa.errors import InputError
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.views import register_dataset
from fjaaqa.periods import make_period
from fjaaqa.quality.results import compute
from fjaaqa.quality.sql_indicators import indicator_results_sql
from fjaaqa.quality.thresholds import load_thresholds

CONT = dict(start="2023-01-01", plan_end="2025-06-01")
WITHDRAWN = dict(start="2023-01-01", plan_end="2025-06-01", comp="3", end="2024-01-15", outcome="3", reason="97")
ACHIEVER = dict(start="2022-09-01", plan_end="2024-03-01", comp="2", end="2024-03-01", outcome="1", ach="2024-05-01")
NON_ACHIEVER = dict(start="2022-09-01", plan_end="2024-03-01", comp="3", end="2024-01-15", outcome="3", reason="44")
R14, R06, LAST_R14 = make_period("2324", "R14"), make_period("2324", "R06"), make_period("2223", "R14")
LAST_R06 = make_period("2223", "R06")

# Readings the shipped sets leave at their defaults, switched the other way.
OTHER_READINGS = """base: quality-framework-2023
name: other-readings
indicators:
  past_planned_end_date: {include_completed_late: true, banding: cumulative}
  outside_approved_areas: {consecutive_returns: 3, approvals_as_at: census}
readings:
  link: {use_ern_fallback: false}
  qar: {withdraw_reason_2: exclude_if_continues}
"""


def both(ds, period, t) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pandas results, SQL results) for one period, the SQL over the same dataset registered as views."""
    expected = compute(ds, period, t).results
    con = duckdb.connect()
    register_dataset(con, ds)
    got = indicator_results_sql(con, period, t, absent=ds.absent, data_dir=ds.data_dir)
    con.close()
    return expected, got


def assert_same(ds, period, t) -> pd.DataFrame:
    expected, got = both(ds, period, t)
    pd.testing.assert_frame_equal(got, expected)
    return got


def row(results: pd.DataFrame, agency: str, indicator: str) -> dict:
    r = results[(results["agency_id"] == agency) & (results["indicator"] == indicator)]
    assert len(r) == 1
    return r.iloc[0].to_dict()


def cohort(w: World, agency: str, total: int, *special: tuple[int, dict], **where) -> None:
    """``total`` apprentices of ``agency``: the special ones as given, the rest continuing."""
    w.agency(agency, **where)
    n = 0
    for count, aim in special:
        for _ in range(count):
            w.apprentice(agency, **aim)
        n += count
    for _ in range(total - n):
        w.apprentice(agency, **CONT)


def on_break(days: int) -> dict:
    return dict(start="2021-09-01", plan_end="2026-06-01", comp="6", end=days_before(CENSUS_2324, days))


def past_end(days: int) -> dict:
    return dict(start="2021-09-01", plan_end=days_before(CENSUS_2324, days))


def known_world(root):
    """test_indicators_known.py's cases, one agency each, in one dataset (2022-23 R06 and R14, 2023-24 R06 and R14).

    Besides them, a case at each boundary or reading the SQL could get wrong
    while the known answers stayed the same (found by changing the SQL and
    seeing which change no test caught).
    """
    w = World()
    # withdrawals at and around the boundaries: 35 % exactly, 40 %, 15 % exactly, 20 %
    for name, n in (("W35", 7), ("W40", 8), ("W15", 3), ("W20", 4)):
        cohort(w, name, 20, (n, WITHDRAWN))
    # breaks and past planned end at each day boundary, and the share boundaries
    for days in (179, 180, 364, 365, 366):
        cohort(w, f"B{days}", 10, (1, on_break(days)))
        cohort(w, f"P{days}", 10, (1, past_end(days)))
    cohort(w, "B15", 20, (3, on_break(400)), (3, on_break(200)))
    cohort(w, "B20", 20, (4, on_break(400)), (4, on_break(200)))
    cohort(w, "P20", 20, (4, past_end(500)), (3, past_end(250)))
    # achievement rate at 50 % and 60 %, and the exclusions
    cohort(w, "Q50", 10, (5, ACHIEVER), (5, NON_ACHIEVER))
    cohort(w, "Q60", 10, (6, ACHIEVER), (4, NON_ACHIEVER))
    w.agency("QX")
    for aim in (
        dict(start="2023-09-01", plan_end="2024-07-01", comp="3", end="2023-10-11", outcome="3", reason="97"),
        dict(start="2023-09-01", plan_end="2024-07-01", comp="3", end="2023-10-12", outcome="3", reason="97"),
        dict(NON_ACHIEVER, reason="7"), dict(NON_ACHIEVER, reason="41"), dict(NON_ACHIEVER, reason="2"),
        dict(start="2022-09-01", plan_end="2024-06-01", comp="6", end="2023-10-01"),
        dict(start="2021-09-01", plan_end="2023-06-01", comp="6", end="2022-10-01"),
        dict(start="2020-09-01", plan_end="2022-06-01", comp="6", end="2021-10-01"),
        dict(start="2020-09-01", plan_end="2024-08-01", comp="6", end="2021-10-01"),
        dict(start="2022-09-01", plan_end="2024-03-01", comp="2", end="2024-03-01", outcome="8"),
        dict(start="2023-09-01", plan_end="2025-03-01", comp="3", end="2024-02-01", outcome="3", reason="97"),
        dict(start="2022-09-01", plan_end="2024-06-01", comp="2", end="2024-06-20", outcome="1", ach="2024-09-10"),
        dict(start="2021-01-01", plan_end="2023-01-01", comp="2", end="2024-02-05", outcome="1", ach="2024-03-01"),
        dict(start="2021-06-01", plan_end=days_before(CENSUS_2324, 400), comp="2", end="2023-06-30", outcome="8"),
        dict(start="2022-01-01", plan_end="2024-01-01", comp="3", end="2023-05-01", outcome="3", reason="44"),
        ACHIEVER,
        # a restart (OrigLearnStartDate, no RES FAM) withdrawn within 42 days is a leaver, not "qualifying"
        dict(start="2023-09-01", plan_end="2024-07-01", comp="3", end="2023-10-01", outcome="3", reason="97",
             orig_start="2022-09-01"),
        # and so is a restart the FAMs file alone records (a RES FAM, no OrigLearnStartDate): the command's
        # opening puts only that FAM type on the aims (test_cli_engines_print_the_same reads it that way)
        dict(start="2023-09-01", plan_end="2024-07-01", comp="3", end="2023-10-01", outcome="3", reason="97",
             res=True),
        # planned for exactly 168 days (inclusive) and left within 42: qualifying; 167 days: a leaver
        dict(start="2023-09-01", plan_end="2024-02-15", comp="3", end="2023-09-20", outcome="3", reason="97"),
        dict(start="2023-09-01", plan_end="2024-02-14", comp="3", end="2023-09-20", outcome="3", reason="97"),
        # a break begun in 2020-21, first reported now: overdue since 2022-23, a leaver in the year reported
        dict(start="2019-09-01", plan_end="2021-06-01", comp="6", end="2020-10-01"),
        # completed without achieving (Outcome 3): a completer, not an achiever
        dict(start="2022-09-01", plan_end="2024-03-01", comp="2", end="2024-03-01", outcome="3"),
    ):
        w.apprentice("QX", **aim)
    # one apprenticeship over several aims: transfers (inside and outside the window), a break and its
    # restart, a withdrawal and a new start, reason 40 and reason 2 followed by a new aim
    w.agency("T")
    for gap, reason in ((90, "47"), (91, "47"), (5, "40"), (5, "2"), (0, "7")):
        uln = w.uln()
        w.commitment(uln, "T", "10000001", "2")
        w.commitment(uln, "T", "10000002", "2")
        end = date(2023, 10, 1)
        w.aim(uln, start="2023-01-01", plan_end="2025-01-01", comp="3", end=end.isoformat(), outcome="3",
              reason=reason, ukprn="10000001")
        w.aim(uln, start=(end + timedelta(days=gap)).isoformat(), plan_end="2025-01-01", ukprn="10000002", res=True)
    uln = w.uln()
    w.commitment(uln, "T", "10000001", "2")
    ref = w.aim(uln, start="2022-01-01", plan_end="2024-01-01", comp="6", end="2023-01-01", seq=1)
    w.aim(uln, start="2023-06-01", plan_end="2024-06-01", orig_start="2022-01-01", res=True, seq=3, learnref=ref)
    w.aim(uln, start="2023-06-01", plan_end="2024-06-01", seq=4, learnref=ref, aim_type="3")  # component aim
    uln = w.uln()
    w.commitment(uln, "T", "10000001", "2")
    ref = w.aim(uln, start="2023-01-01", plan_end="2025-01-01", comp="3", end="2023-09-10", outcome="3", reason="42")
    w.aim(uln, start="2024-05-01", plan_end="2025-09-01", seq=3, learnref=ref)
    # the achievement rate's reason 2 (another provider, then an achievement) and reason 40 (a new aim the same day)
    w.agency("R2")
    uln = w.uln()
    w.commitment(uln, "R2", "10000001", "2")
    w.commitment(uln, "R2", "10000002", "2")
    w.aim(uln, start="2022-09-01", plan_end="2024-03-01", comp="3", end="2023-11-01", outcome="3", reason="2",
          ukprn="10000001")
    w.aim(uln, start="2023-11-10", plan_end="2024-06-01", comp="2", end="2024-06-01", outcome="1", ach="2024-07-01",
          ukprn="10000002", res=True)
    uln = w.uln()
    w.commitment(uln, "R2", "10000001", "2")
    ref = w.aim(uln, start="2022-09-01", plan_end="2024-03-01", comp="3", end="2023-11-01", outcome="3", reason="40")
    w.aim(uln, start="2023-11-01", plan_end="2024-06-01", seq=2, learnref=ref)
    # leaving the agency: while the apprenticeship goes on (also on the census day), with it, after completing
    # (not a withdrawal), before the year began (not live)
    w.agency("S")
    for stop, aim in (("2024-02-01", CONT), ("2024-01-15", WITHDRAWN), ("2024-03-05", ACHIEVER),
                      ("2023-03-01", CONT), ("2024-07-31", CONT)):
        uln = w.uln()
        w.commitment(uln, "S", "10000001", "2", status="Stopped", stop_date=stop)
        w.aim(uln, **aim)
    # left the agency before the census, still past the planned end: not in the past-planned-end band (left)
    uln = w.uln()
    w.commitment(uln, "S", "10000001", "2", status="Stopped", stop_date="2024-02-01")
    w.aim(uln, **past_end(400))
    # two commitments for one apprenticeship: the later one (live) says where it stands
    uln = w.uln()
    w.commitment(uln, "S", "10000001", "2", status="Stopped", stop_date="2023-10-01")
    w.commitments[-1]["start_date"] = "2022-01-01"
    w.commitment(uln, "S", "10000001", "2")
    w.commitments[-1]["start_date"] = "2023-10-05"
    w.aim(uln, **CONT)
    def open_at_last_r14(learnref: str, **now) -> None:
        """An apprentice of L that 2022-23 R14 showed in learning, and this return shows as ``now``."""
        uln = w.uln()
        w.commitment(uln, "L", "10000001", "2")
        w.aim(uln, start="2022-01-01", plan_end="2024-06-01", year="2223", rcode="R14", learnref=learnref)
        w.aim(uln, start="2022-01-01", plan_end="2024-06-01", learnref=learnref, **now)

    # a withdrawal reported late (2022-23 R14 showed it continuing), and a leaver only the earlier R14 has
    w.agency("L")
    open_at_last_r14("LATE1", comp="3", end="2023-03-01", outcome="3", reason="98")
    uln = w.uln()
    w.commitment(uln, "L", "10000001", "2")
    w.aim(uln, start="2022-09-01", plan_end="2024-03-01", comp="3", end="2023-02-01", outcome="3", reason="44",
          year="2223", rcode="R14")
    # ... and one whose earlier R14 census was its very end date: shown open on that day, not after it, so not late
    open_at_last_r14("LATE2", comp="3", end="2023-07-31", outcome="3", reason="98")
    # ... and one first reported withdrawn in 2022-23 R14, after 2022-23 R06 showed it open: a 2022-23 withdrawal
    uln = w.uln()
    w.commitment(uln, "L", "10000001", "2")
    for year, rcode, aim in (("2223", "R06", {}), ("2223", "R14", dict(comp="3", end="2022-12-01", outcome="3",
                                                                          reason="98")),
                             ("2324", "R14", dict(comp="3", end="2022-12-01", outcome="3", reason="98"))):
        w.aim(uln, start="2022-01-01", plan_end="2024-06-01", year=year, rcode=rcode, learnref="LATE3", **aim)
    # ... a completion reported late is not live (only withdrawals move to the year first reported)
    open_at_last_r14("LATE4", comp="2", end="2023-03-01", outcome="1", ach="2023-04-01")
    w.apprentice("L", **CONT)
    # at 2023-24 R06: one not started by the census; a withdrawal the R14 return no longer has (not pooled)
    w.apprentice("L", **CONT, rcode="R06")
    w.apprentice("L", start="2024-03-01", plan_end="2025-06-01", rcode="R06")
    w.apprentice("L", rcode="R06", **NON_ACHIEVER)
    # scope: a component aim, an aim of no agency, an agency with nobody, one linked by employer reference
    w.agency("EMPTY")
    w.agency("E", ern="123456789")
    for ref in ("ERN01", "ERN02", "ERN03"):
        uln = w.uln()
        w.aim(uln, **CONT, learnref=ref)
    w.commitment(uln, None, "10000001", "2", model="Regular")  # ERN03 has a record: no fallback
    other = w.uln()
    w.commitment(other, None, "10000001", "2", model="Regular")
    w.aim(other, **WITHDRAWN)
    # outside approved areas: sector, region, unknown postcode, dated approvals, a placement, a district override;
    # the same share at R06 (a second return in a row) for one agency, none for the other
    for agency, earlier_std in (("O1", "3"), ("O2", "2")):
        w.agency(agency, routes="Digital", regions="London")
        for rcode in ("R06", "R14"):
            w.apprentice(agency, std=earlier_std if rcode == "R06" else "3", postcode="E1 6AN", rcode=rcode, **CONT)
            w.apprentice(agency, std="2", postcode="E1 6AN", rcode=rcode, **CONT)
    w.agency("O3", routes="Engineering and manufacturing;Digital", regions="London")  # approvals.csv replaces routes
    for std, postcode in (("2", "E1 6AN"), ("3", "E1 6AN"), ("2", "LS1 4AP"), ("2", "ZZ99 9ZZ"), ("2", "CH5 2AB"),
                          ("999", "E1 6AN")):
        w.apprentice("O3", std=std, postcode=postcode, **CONT)
    w.apprentice("O3", std="3", postcode="E1 6AN", start="2023-07-01", plan_end="2025-06-01")
    w.apprentice("O3", std="3", postcode="E1 6AN", start="2023-07-01", plan_end="2025-06-01", orig_start="2023-01-01")
    for placement in ("PLACED2",):
        uln = w.uln()
        w.commitment(uln, "O3", "10000001", "2")
        w.commitments[-1]["apprenticeship_id"] = placement
        w.aim(uln, std="2", postcode="LS1 4AP", **CONT)
    placed = w.uln()
    w.commitment(placed, "O3", "10000001", "2")
    w.commitments[-1]["apprenticeship_id"] = "PLACED1"
    w.aim(placed, std="2", postcode="E1 6AN", **CONT)
    # postcodes.csv moves CH5 to Wales and M1 1AA to London: inside for an agency approved there
    w.agency("O4", routes="*", regions="Wales;London")
    w.apprentice("O4", postcode="CH5 2AB", **CONT)
    w.apprentice("O4", postcode="m1 1aa", **CONT)
    w.apprentice("O4", postcode="M2 1AA", **CONT)
    w.agency("ALL", routes="*", regions="*")
    w.apprentice("ALL", std="3", postcode="LS1 4AP", **CONT)
    w.write(root)
    pd.DataFrame([("ERN01", "2022-12-31", "123456789"), ("ERN02", "2022-01-01", "999999999"),
                  ("ERN02", "2023-01-01", "123456789"), ("ERN03", "2022-12-31", "123456789")],
                 columns=["LearnRefNumber", "DateEmpStatApp", "EmpId"]).assign(UKPRN="10000001", EmpStat="10").to_csv(
        root / "ilr" / "2324" / "R14" / "employment.csv", index=False)
    pd.DataFrame([{"agency_id": "O3", "kind": "sector", "value": "digital", "from": "", "to": ""},
                  {"agency_id": "O3", "kind": "sector", "value": "Engineering and manufacturing",
                   "from": "2023-06-01", "to": ""}]).to_csv(root / "approvals.csv", index=False)
    pd.DataFrame([{"apprenticeship_id": "PLACED1", "host_employer": "Leeds Co", "postcode": "LS1 4AP",
                   "from": "2023-01-01", "to": ""},
                  {"apprenticeship_id": "PLACED1", "host_employer": "Old Co", "postcode": "E1 6AN",
                   "from": "2022-01-01", "to": "2022-12-31"},
                  {"apprenticeship_id": "PLACED2", "host_employer": "New Co", "postcode": "E1 6AN",
                   "from": "2023-03-01", "to": ""},  # both in force: the later one is where the work is
                  {"apprenticeship_id": "PLACED2", "host_employer": "Leeds Co", "postcode": "LS1 4AP",
                   "from": "2022-06-01", "to": ""}]).to_csv(root / "placements.csv", index=False)
    pd.DataFrame([{"postcode": "", "district": "CH5", "region": "Wales"},
                  {"postcode": "M1 1AA", "district": "", "region": "London"}]).to_csv(root / "postcodes.csv",
                                                                                       index=False)
    return root


@pytest.fixture(scope="module")
def known_root(tmp_path_factory):
    return known_world(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="module")
def known(known_root):
    return load_dataset(known_root)


@pytest.mark.parametrize("period", [R14, R06, LAST_R14, LAST_R06])
def test_known_cases_equal_at_each_period(known, period):
    assert_same(known, period, load_thresholds())


@pytest.mark.parametrize("name", ["cumulative-bands", "atpaf-2024-04", "stricter-achievement", "other"])
def test_known_cases_equal_under_other_threshold_sets(known, tmp_path, name):
    if name == "other":
        f = tmp_path / "other.yaml"
        f.write_text(OTHER_READINGS)
        name = str(f)
    assert_same(known, R14, load_thresholds(name))


def test_sql_results_match_the_hand_worked_answers(known):
    """The SQL engine's own answers at the boundaries, worked out by hand as in test_indicators_known.py."""
    _, got = both(known, R14, load_thresholds())
    # 7 of 20 withdrawn is exactly 35 %: needs improvement, not at risk; 8 of 20 is at risk; 3 of 20 on track
    assert (row(got, "W35", "withdrawals")["numerator"], row(got, "W35", "withdrawals")["status"]) == (
        7, "needs_improvement")
    assert row(got, "W40", "withdrawals")["status"] == "at_risk"
    assert row(got, "W15", "withdrawals")["status"] == "on_track"
    # a break or an overrun of exactly 365 days is in the at-risk band; 364 and 180 in the other; 179 in none
    for days, bands in ((179, (0, 0)), (180, (0, 1)), (364, (0, 1)), (365, (1, 0)), (366, (1, 0))):
        b = row(got, f"B{days}", "breaks_in_learning")
        assert (b["n_at_risk_band"], b["n_needs_improvement_band"]) == bands
        p = row(got, f"P{days}", "past_planned_end_date")
        assert (p["n_at_risk_band"], p["n_needs_improvement_band"]) == bands
    assert row(got, "B15", "breaks_in_learning")["status"] == "on_track"  # 15 % + 15 %, exclusive bands
    assert row(got, "B20", "breaks_in_learning")["status"] == "at_risk"
    assert row(got, "Q50", "achievement_rate")["status"] == "needs_improvement"  # exactly 50 %: not below
    assert row(got, "Q60", "achievement_rate")["status"] == "on_track"  # exactly 60 %
    # QX leavers: 42 days in, reason 2, the overdue breaks (two), completed late, withdrawn before the year,
    # the two restarts within 42 days (by OrigLearnStartDate, by a RES FAM), 167 planned days, completed
    # without achieving, the achiever; achievers: completed late, the achiever; completers: those and the one
    # completed without achieving (3 of 11 retained)
    qx = row(got, "QX", "achievement_rate")
    assert (qx["numerator"], qx["denominator"], qx["completers"]) == (2, 11, 3)
    r2 = row(got, "R2", "achievement_rate")  # reason 2 is a non-achiever; reason 40 with a new aim the same day is not
    assert (r2["numerator"], r2["denominator"]) == (1, 2)
    # a move to another provider within 90 days (reason 47, 2, or 7 the same day) is no withdrawal; 91 days is,
    # and so is reason 40 (not a transfer reason for withdrawals); the withdrawal before a new start counts: 3 of 7
    t = row(got, "T", "withdrawals")
    assert (t["numerator"], t["denominator"]) == (3, 7)
    # left the agency in the year (four times: once with the apprenticeship, once on the census day, once past
    # the planned end), completed then stopped (no), stopped before the year began (not live), stopped then a
    # later live commitment (no)
    s = row(got, "S", "withdrawals")
    assert (s["numerator"], s["denominator"]) == (4, 6)
    assert row(got, "S", "past_planned_end_date")["n_at_risk_band"] == 0
    # the late-reported withdrawal counts in this year; the one that ended on the earlier census day does not
    # (not live: ended before the year), nor the one first reported in 2022-23. All four withdrawals are leavers
    # of this year (planned to end in it; two first reported ended in it)
    assert (row(got, "L", "withdrawals")["numerator"], row(got, "L", "withdrawals")["denominator"]) == (1, 2)
    _, at_r06 = both(known, R06, load_thresholds())
    # at R06 the one not started by the census is not live: 1 of 2
    assert (row(at_r06, "L", "withdrawals")["numerator"], row(at_r06, "L", "withdrawals")["denominator"]) == (1, 2)
    # the late-reported completion planned to end in 2023-24 is a leaver and achiever of this year
    assert (row(got, "L", "achievement_rate")["numerator"], row(got, "L", "achievement_rate")["denominator"]) == (1, 5)
    # linked by employer reference: the employer recorded on the start day counts; not with any commitment
    assert row(got, "E", "withdrawals")["denominator"] == 2
    empty = got[got["agency_id"] == "EMPTY"]
    assert len(empty) == 5 and set(empty["status"]) == {"no_data"} and (empty["denominator"] == 0).all()
    # 1 of 2 outside at R06 and at R14: routinely, for discussion; outside at R14 only: a one-off to watch
    assert row(got, "O1", "outside_approved_areas")["status"] == "for_discussion"
    o2 = row(got, "O2", "outside_approved_areas")
    assert o2["status"] == "on_track" and o2["note"].startswith("a one-off to watch")
    # O3: Engineering before its approval (twice: once by the original start of a restart), Leeds, Wales (district
    # override), the placement in Leeds; not the later of two placements in force (London): 5 of 10;
    # one region unknown, one standard not in the reference
    o3 = row(got, "O3", "outside_approved_areas")
    assert (o3["numerator"], o3["denominator"]) == (5, 10)
    assert o3["note"].endswith("1 with workplace region unknown; 1 with standard not in the reference table")
    o4 = row(got, "O4", "outside_approved_areas")  # only M2 (Manchester, North West) is outside
    assert (o4["numerator"], o4["denominator"]) == (1, 3)


def test_late_report_needs_an_open_return_before_the_first_withdrawn_one(tmp_path):
    """Shown open after the first return that showed it withdrawn does not make a withdrawal late; before it does.

    2023-24 at R06, R10 and R14. X: withdrawn at R06 (ending 1 June 2023), open at R10, withdrawn at R14: ended
    before the year, not live. Y: open at R06 (after the same end date), withdrawn at R10 and R14: reported
    late, so it counts from 1 August 2023 (live, withdrawn in the year).
    """
    w = World()
    w.agency("A1")
    wd = dict(comp="3", end="2023-06-01", outcome="3", reason="98")
    for ref, states in (("X", (wd, {}, wd)), ("Y", ({}, wd, wd))):
        uln = w.uln()
        w.commitment(uln, "A1", "10000001", "2")
        for rcode, aim in zip(("R06", "R10", "R14"), states):
            w.aim(uln, start="2022-01-01", plan_end="2024-06-01", rcode=rcode, learnref=ref, **aim)
    w.apprentice("A1", **CONT)
    got = assert_same(load_dataset(w.write(tmp_path)), R14, load_thresholds())
    r = row(got, "A1", "withdrawals")
    assert (r["numerator"], r["denominator"]) == (1, 2)


def test_aims_without_standard_or_end_date_columns(tmp_path):
    """A flat extract without StdCode links on ULN and UKPRN; without LearnActEndDate indicators say not available."""
    w = World()
    w.agency("A1")
    w.agency("A2")
    for agency in ("A1", "A1", "A2"):
        w.apprentice(agency, **CONT)
    w.apprentice("A1", start="2021-09-01", plan_end=days_before(CENSUS_2324, 400))
    uln = w.uln()
    w.commitment(uln, "A1", "10000001", "2")
    w.commitment(uln, "A1", "10000001", "3")  # two standards, one aim without a standard: linked twice
    w.aim(uln, **CONT)
    root = w.write(tmp_path)
    f = root / "ilr" / "2324" / "R14" / "deliveries.csv"
    pd.read_csv(f, dtype=str).drop(columns=["ProgType", "StdCode", "LearnActEndDate", "Outcome"]).to_csv(f, index=False)
    got = assert_same(load_dataset(root), R14, load_thresholds())
    assert set(got.loc[got["indicator"] == "withdrawals", "status"]) == {"no_data"}
    assert row(got, "A1", "past_planned_end_date")["status"] == "at_risk"


def test_nobody_linked_to_any_agency(tmp_path):
    """Zero apprentices everywhere: every agency's indicators are no data, in both engines."""
    w = World()
    w.agency("A1")
    other = w.uln()
    w.commitment(other, None, "10000001", "2", model="Regular")
    w.aim(other, **CONT)
    got = assert_same(load_dataset(w.write(tmp_path)), R14, load_thresholds())
    assert set(got["status"]) == {"no_data"} and len(got) == 5


def test_a_period_without_data_is_one_line(tmp_path):
    w = World()
    w.agency("A1")
    w.apprentice("A1", **CONT)
    ds = load_dataset(w.write(tmp_path))
    con = duckdb.connect()
    register_dataset(con, ds)
    with pytest.raises(InputError, match="no ILR data for 2022-23 R14"):
        indicator_results_sql(con, LAST_R14, load_thresholds(), data_dir=ds.data_dir)


# ------------------------------------------------------------------ the synthetic demo, every period

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from fjaaqa.synth.demo import write_dataset

    return write_dataset(tmp_path_factory.mktemp("demo"), agencies=6)


def test_demo_equal_at_every_period(demo):
    from fjaaqa.synth.demo import PERIODS

    ds = load_dataset(demo)
    t = load_thresholds()
    con = duckdb.connect()
    register_dataset(con, ds)
    for period in PERIODS:
        expected = compute(ds, period, t).results
        got = indicator_results_sql(con, period, t, absent=ds.absent)
        pd.testing.assert_frame_equal(got, expected, obj=str(period))
        assert len(got) == 5 * len(expected["agency_id"].unique())


def test_cli_engines_print_the_same(known_root):
    """``fjaaqa indicators --engine duckdb`` and ``--engine pandas`` print the same documents, byte for byte."""
    from typer.testing import CliRunner

    from fjaaqa.cli import app

    outputs = {}
    for engine in ("duckdb", "pandas"):  # CSV: every field the JSON and the table print, and more
        r = CliRunner().invoke(app, ["indicators", "--data", str(known_root), "--year", "2324", "--return", "R14",
                                     "--format", "csv", "--engine", engine])
        assert r.exit_code == 0, r.output
        outputs[engine] = (r.stdout, r.stderr)
    assert outputs["duckdb"] == outputs["pandas"]
    recs = list(csv.DictReader(outputs["duckdb"][0].splitlines()))
    assert len(recs) == 5 * len({r["agency_id"] for r in recs})
    w35 = next(r for r in recs if r["agency_id"] == "W35" and r["indicator"] == "withdrawals")
    assert (w35["numerator"], w35["denominator"], w35["status"]) == ("7", "20", "needs_improvement")
    r = CliRunner().invoke(app, ["indicators", "--data", str(known_root), "--year", "2324", "--return", "R14",
                                 "--engine", "spark"])
    assert r.exit_code == 2


def test_pool_keeps_the_latest_version_of_each_aim():
    """The achievement pool's one grouping picks what pandas' descending sort (missing last) puts first.

    Each aim below has versions differing in one field of the order: the return, the link basis, the
    learner reference, the aim number, the commitment start (a missing one loses), the apprenticeship id
    (a missing one loses). A later return outside the pool never wins, but its ending still dates the
    year the aim was reported. Only aims with two pooled rows in one return go through the whole order, and
    those whose pooled returns are 64 apart (the quick pass cannot tell those apart); they end the same.
    """
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE qf_periods (prank BIGINT, in_pool BOOLEAN, start_year BIGINT)")
    con.execute("INSERT INTO qf_periods VALUES (0, true, 2021), (1, true, 2022), (2, false, 2023), (3, true, 2023)")
    con.execute("INSERT INTO qf_periods SELECT r, r = 64, 2024 FROM range(4, 65) t(r)")
    con.execute("""CREATE TEMP TABLE qf_linked (aim VARCHAR, prank BIGINT, link_basis VARCHAR,
        LearnRefNumber VARCHAR, AimSeqNumber BIGINT, commitment_start DATE, apprenticeship_id VARCHAR,
        CompStatus VARCHAR, agency_id VARCHAR, UKPRN VARCHAR, ULN VARCHAR, std_key VARCHAR, LearnStartDate DATE,
        want BOOLEAN)""")
    rows = [  # aim, return rank, basis, learner ref, aim no, commitment start, id, CompStatus, the one kept
        ("return", 0, "commitment", "L", 1, "2021-09-01", "A", "1", False),
        ("return", 1, "commitment", "L", 1, "2021-09-01", "A", "3", True),
        ("return", 2, "commitment", "L", 1, "2021-09-01", "A", "2", False),  # not in the pool
        ("basis", 1, "commitment", "L", 1, "2021-09-01", "A", "1", False),
        ("basis", 1, "ern", "L", 1, None, None, "1", True),
        ("ref", 1, "commitment", "L1", 1, "2021-09-01", "A", "1", False),
        ("ref", 1, "commitment", "L2", 1, "2021-09-01", "A", "1", True),
        ("seq", 1, "commitment", "L", 2, "2021-09-01", "A", "1", True),
        ("seq", 1, "commitment", "L", 1, "2021-09-01", "A", "1", False),
        ("start", 1, "commitment", "L", 1, None, "A", "1", False),
        ("start", 1, "commitment", "L", 1, "2021-01-01", "A", "1", True),
        ("id", 1, "commitment", "L", 1, "2021-09-01", None, "1", False),
        ("id", 1, "commitment", "L", 1, "2021-09-01", "B", "1", True),
        ("id", 1, "commitment", "L", 1, "2021-09-01", "A", "1", False),
        ("far", 0, "commitment", "L", 1, "2021-09-01", "B", "1", False),
        ("far", 64, "commitment", "L", 1, "2021-09-01", "A", "1", True),
    ]
    con.executemany("INSERT INTO qf_linked VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'FJAA', '1', ?, 'S', '2021-09-01', ?)",
                    [(a, r, b, ref, seq, start, i, comp, a, want) for a, r, b, ref, seq, start, i, comp, want in rows])
    from fjaaqa.quality.sql_indicators import POOL, POOL_BEST, POOL_TIES
    con.execute(POOL_BEST)
    tied = {aim for (aim,) in con.execute("SELECT ULN FROM qf_pool_best WHERE tied").fetchall()}
    assert tied == {"basis", "ref", "seq", "start", "id", "far"}
    con.execute(POOL_TIES)
    con.execute(POOL)
    kept = dict(con.execute("SELECT aim, bool_and(want) AND count(*) = 1 FROM qf_pool GROUP BY aim").fetchall())
    assert kept == dict.fromkeys(["return", "basis", "ref", "seq", "start", "id", "far"], True)
    reported = dict(con.execute("SELECT aim, year_reported FROM qf_pool").fetchall())
    assert reported == {"return": 2022, "basis": None, "ref": None, "seq": None, "start": None, "id": None,
                        "far": None}
