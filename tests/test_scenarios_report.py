"""Threshold-scenario reports (issue 22): the nearest-threshold table, headlines, the overview, sweeps, one page.

Every expected value is worked out by hand from the framework's thresholds
(withdrawals: at risk above 35 %, needs improvement above 15 %; achievement:
at risk below 50 %, needs improvement below 60 %; breaks in learning: more
than 15 % on a break of 365 days or more is at risk, more than 15 % on one of
180 to 364 days needs improvement) and from the ATPAF set (withdrawals at
risk above 20 %).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest
from builders import repo_path

from fjaaqa.quality import scenarios
from fjaaqa.quality.results import PackResults
from fjaaqa.quality.thresholds import load_thresholds
from fjaaqa.reports.params import ScenarioOverviewParams, validate_parameters

DATA = repo_path("tests", "fixtures", "pack_data")
BASE = load_thresholds("quality-framework-2023")


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path_factory.getbasetemp() / "scenario-cache"))


def population(agencies: dict[str, dict]) -> PackResults:
    """Agencies made by hand: ``size`` apprentices, ``withdrawn`` of them withdrawn, ``long`` on a break of 400
    days (the at-risk band), ``mid`` on one of 200 days (the needs-improvement band), and ``leavers`` of whom
    ``achievers`` achieved."""
    rows, aims = [], []
    for agency, a in agencies.items():
        for i in range(a["size"]):
            days = 400 if i < a.get("long", 0) else 200 if i < a.get("long", 0) + a.get("mid", 0) else None
            rows.append({"agency_id": agency, "live": True, "withdrawn_in_year": i < a.get("withdrawn", 0),
                         "days_on_break": days, "days_past_planned_end": None, "completed_late_days": None,
                         "outside": False, "approvals_known": True, "region": "London", "route": "Digital"})
        for i in range(a.get("leavers", 0)):
            aims.append({"agency_id": agency, "leaver": True, "achiever": i < a["achievers"],
                         "completer": i < a["achievers"]})
    names = list(agencies)
    results = pd.DataFrame({"agency_id": names, "indicator": "outside_approved_areas", "numerator": 0,
                            "denominator": 1, "value": 0.0, "status": "on_track", "threshold": 5.0, "distance": -5.0})
    aims = pd.DataFrame(aims, columns=["agency_id", "leaver", "achiever", "completer"])
    return PackResults(meta={}, tables={"apprentices": pd.DataFrame(rows), "aims": aims,
                                        "agencies": pd.DataFrame({"agency_id": names}), "results": results,
                                        "previous": pd.DataFrame(), "reviews": pd.DataFrame()})


def nearest_rows(pr: PackResults, indicator: str) -> dict[str, dict]:
    res = scenarios.classify(pr, BASE, [indicator])
    near = scenarios.nearest(res, BASE, 20)
    return {r["agency_id"]: r for r in near.to_dict("records")}


# ---------------------------------------------------------------- the nearest-threshold table

def test_breaks_at_risk_agency_is_shown_against_the_at_risk_band_that_decided_it():
    """The FJAA0027 case: at risk through the 365-day band, its 180-364 band exactly at 15 % (gap 0).

    The old table chose the smaller gap of the two bands and showed "needs
    improvement 15 %" beside "At risk"; the at-risk band decided the status.
    """
    near = nearest_rows(population({"E": {"size": 100, "long": 16, "mid": 15}}), "breaks_in_learning")
    e = near["E"]
    assert e["status"] == "at_risk"
    assert (e["nearest"], e["nearest_threshold"], e["band_value"], e["gap"]) == ("at risk", 15.0, 16.0, 1.0)
    assert e["decided"] and e["becomes"] == "on_track"  # 15 % in the 180-364 band is not above 15 %
    assert "365 days or more" in e["threshold_words"]


@pytest.mark.parametrize("long, mid, status, nearest, value, gap, decided, becomes", [
    (16, 16, "at_risk", "at risk", 16.0, 1.0, True, "needs_improvement"),  # one above: 16 % > 15 %
    (15, 17, "needs_improvement", "at risk", 15.0, 0.0, False, "at_risk"),  # exactly at 15 %: not above
    (14, 16, "needs_improvement", "needs improvement", 16.0, 1.0, True, "on_track"),  # one below; a tie goes
    # to the threshold that decided the status (both gaps are 1 pp)
    (14, 10, "on_track", "at risk", 14.0, 1.0, False, "at_risk"),
    (10, 15, "on_track", "needs improvement", 15.0, 0.0, False, "needs_improvement"),
])
def test_breaks_rows_agree_with_the_status_at_each_boundary(long, mid, status, nearest, value, gap, decided, becomes):
    r = nearest_rows(population({"A": {"size": 100, "long": long, "mid": mid}}), "breaks_in_learning")["A"]
    assert r["status"] == status
    assert (r["nearest"], r["band_value"], round(r["gap"], 9), r["decided"], r["becomes"]) == (
        nearest, value, gap, decided, becomes)


@pytest.mark.parametrize("withdrawn, status, nearest, gap, decided, becomes", [
    (36, "at_risk", "at risk", 1.0, True, "needs_improvement"),  # one above 35
    (35, "needs_improvement", "at risk", 0.0, False, "at_risk"),  # exactly 35: not above
    (34, "needs_improvement", "at risk", 1.0, False, "at_risk"),  # one below: 1 pp from 35, 19 from 15
    (16, "needs_improvement", "needs improvement", 1.0, True, "on_track"),
    (15, "on_track", "needs improvement", 0.0, False, "needs_improvement"),
    (14, "on_track", "needs improvement", 1.0, False, "needs_improvement"),
])
def test_withdrawals_rows_at_each_boundary(withdrawn, status, nearest, gap, decided, becomes):
    r = nearest_rows(population({"A": {"size": 100, "withdrawn": withdrawn}}), "withdrawals")["A"]
    assert r["status"] == status
    assert (r["nearest"], r["band_value"], r["gap"], r["decided"], r["becomes"]) == (
        nearest, float(withdrawn), gap, decided, becomes)


@pytest.mark.parametrize("achievers, status, nearest, gap, decided, becomes", [
    (49, "at_risk", "at risk", 1.0, True, "needs_improvement"),  # below 50
    (50, "needs_improvement", "at risk", 0.0, False, "at_risk"),  # exactly 50: not below
    (59, "needs_improvement", "needs improvement", 1.0, True, "on_track"),  # 1 pp from 60, 9 from 50
    (60, "on_track", "needs improvement", 0.0, False, "needs_improvement"),  # exactly 60: not below
    (61, "on_track", "needs improvement", 1.0, False, "needs_improvement"),
])
def test_achievement_rows_at_each_boundary(achievers, status, nearest, gap, decided, becomes):
    pr = population({"A": {"size": 1, "leavers": 100, "achievers": achievers}})
    r = nearest_rows(pr, "achievement_rate")["A"]
    assert r["status"] == status
    assert (r["nearest"], r["gap"], r["decided"], r["becomes"]) == (nearest, gap, decided, becomes)


def test_an_agency_with_no_data_has_no_nearest_row():
    pr = population({"A": {"size": 100, "withdrawn": 20}, "Z": {"size": 0}})
    assert set(nearest_rows(pr, "withdrawals")) == {"A"}


# ---------------------------------------------------------------- headlines and the overview

def withdrawals_population() -> PackResults:
    """Six agencies around the two sets' withdrawal thresholds (35 and 15; ATPAF 20 and 15)."""
    return population({"W36": {"size": 100, "withdrawn": 36}, "W35": {"size": 200, "withdrawn": 70},
                       "W34": {"size": 100, "withdrawn": 34}, "W16": {"size": 100, "withdrawn": 16},
                       "W15": {"size": 200, "withdrawn": 30}, "W14": {"size": 100, "withdrawn": 14}})


def test_headline_in_agencies_and_apprentices():
    pr = withdrawals_population()
    base = scenarios.classify(pr, BASE, ["withdrawals"])
    alt = scenarios.classify(pr, load_thresholds("atpaf-2024-04"), ["withdrawals"])
    # base: only W36 (36 %) is above 35; ATPAF: W36, W35 (35 %) and W34 (34 %) are above 20
    h = scenarios.headline(base, alt)
    assert (h.base_agencies, h.alt_agencies, h.base_apprentices, h.alt_apprentices) == (1, 3, 100, 400)
    assert scenarios.headline_words(h) == ("At risk rises from 1 to 3 agencies; 300 more apprentices are in "
                                           "at-risk agencies (100 to 400).")
    # needing improvement: W35, W34, W16 under the base; only W16 under ATPAF (W15 at exactly 15 % is on track)
    ni = scenarios.headline(base, alt, "needs_improvement")
    assert scenarios.headline_words(ni) == ("Needs improvement (as the most serious status) falls from 3 to "
                                            "1 agency; 300 fewer apprentices are in agencies needing improvement "
                                            "(400 to 100).")
    assert scenarios.moved_words(h) == "2 agencies of 6 change status on at least one indicator."
    same = scenarios.headline(base, base)
    assert scenarios.headline_words(same) == ("At risk stays at 1 agency; the number of apprentices in at-risk "
                                              "agencies is unchanged (100).")
    assert scenarios.moved_words(same) == "None of the 6 agencies changes status on any indicator."


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Classified rows by hand: (agency, indicator, status, apprentices)."""
    df = pd.DataFrame(rows, columns=["agency_id", "indicator", "status", "apprentices"])
    return df.assign(value=0.0, threshold=0.0)


def test_headline_when_as_many_join_as_leave():
    base = frame([("X", "withdrawals", "at_risk", 10), ("Y", "withdrawals", "on_track", 1)])
    alt = frame([("X", "withdrawals", "on_track", 10), ("Y", "withdrawals", "at_risk", 1)])
    h = scenarios.headline(base, alt)
    assert scenarios.headline_words(h) == ("At risk stays at 1 agency, though 1 joins and 1 leaves; 9 fewer "
                                           "apprentices are in at-risk agencies (10 to 1).")


def test_any_indicator_counts_each_agency_once_by_its_most_serious_status():
    res = frame([("P", "withdrawals", "at_risk", 10), ("P", "breaks_in_learning", "needs_improvement", 10),
                 ("Q", "withdrawals", "needs_improvement", 7), ("Q", "achievement_rate", "needs_improvement", 7),
                 ("R", "withdrawals", "on_track", 5), ("R", "outside_approved_areas", "for_discussion", 5)])
    c = scenarios.status_counts(res).set_index(["indicator", "status"])
    assert (c.loc[("any", "at_risk"), "agencies"], c.loc[("any", "at_risk"), "apprentices"]) == (1, 10)
    assert (c.loc[("any", "needs_improvement"), "agencies"], c.loc[("any", "needs_improvement"), "apprentices"]) == (
        1, 7)
    assert c.loc[("withdrawals", "needs_improvement"), "agencies"] == 1
    assert c.loc[("breaks_in_learning", "needs_improvement"), "apprentices"] == 10
    assert len(c) == 2 * 5  # any and the four scored indicators, at risk and needs improvement


def test_overview_has_the_base_and_each_alternative_with_changes():
    pr = withdrawals_population()
    base = scenarios.classify(pr, BASE, ["withdrawals"])
    alts = {"atpaf-2024-04": scenarios.classify(pr, load_thresholds("atpaf-2024-04"), ["withdrawals"]),
            "same": base}
    ov = scenarios.overview("quality-framework-2023", base, alts)
    assert list(ov["set"].unique()) == ["quality-framework-2023", "atpaf-2024-04", "same"]
    row = ov[(ov["set"] == "atpaf-2024-04") & (ov["indicator"] == "withdrawals") & (ov["status"] == "at_risk")].iloc[0]
    assert (row["agencies"], row["apprentices"], row["agencies_change"], row["apprentices_change"]) == (3, 400, 2, 300)
    assert (ov[ov["set"] == "same"][["agencies_change", "apprentices_change"]] == 0).all().all()


# ---------------------------------------------------------------- sweeps and settings

def test_sweeps_only_for_thresholds_the_sets_set_differently():
    assert scenarios.swept_settings(BASE, load_thresholds("atpaf-2024-04")) == [
        ("withdrawals", "at_risk_above"), ("breaks_in_learning", "at_risk_share_above")]  # needs improvement 15 both
    assert scenarios.swept_settings(BASE, load_thresholds("stricter-achievement")) == [
        ("achievement_rate", "at_risk_below"), ("achievement_rate", "needs_improvement_below")]
    assert scenarios.swept_settings(BASE, load_thresholds("cumulative-bands")) == []  # a reading, not a threshold
    assert scenarios.swept_settings(BASE, BASE) == []


def test_sweep_values_include_both_sets_values():
    pct = scenarios.sweep_values("at_risk_above", 35, 20.5)
    assert pct[0] == 0 and pct[-1] == 100 and 20.5 in pct and 35 in pct and len(pct) == 102
    days = scenarios.sweep_values("at_risk_days", 365, 300)
    assert days[0] == 0 and days[-1] == 730 and 365 in days and 300 in days
    assert all(isinstance(d, int) for d in days)  # a day threshold is a whole number of days


def test_settings_read_as_words():
    diffs = scenarios.differences(BASE, load_thresholds("atpaf-2024-04"))
    words = {d["words"]: (d["base"], d["alt"]) for d in diffs}
    assert words == {"Withdrawals: at risk above (%)": (35.0, 20.0),
                     "Breaks in learning: at risk: share above (%)": (15.0, 10.0),
                     "Past planned end date: counts those who completed late": (False, True)}
    assert scenarios.setting_words("readings.qar.break_overdue_years") == "Reading: qar break overdue years"


def test_overview_notebook_takes_a_list_or_comma_separated_sets():
    common = {"year": "2324", "return_code": "R14", "data_dir": str(DATA)}
    assert validate_parameters({**common, "alts": "atpaf-2024-04, cumulative-bands"},
                               ScenarioOverviewParams).alts == ["atpaf-2024-04", "cumulative-bands"]
    with pytest.raises(ValueError, match="alts"):
        validate_parameters({**common, "alts": []}, ScenarioOverviewParams)


# ---------------------------------------------------------------- the reports

def cli(*args):
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True, timeout=600)


def test_overview_first_then_one_report_per_alternative_and_one_page_when_nobody_moves(tmp_path):
    from pagefill import printed_pages

    quiet = tmp_path / "quiet.yaml"  # the fixture's highest withdrawal share is 25 %: at risk above 40 moves nobody
    quiet.write_text("base: quality-framework-2023\nname: quiet-withdrawals\ntitle: Withdrawals at risk above 40 "
                     "per cent (test)\nindicators:\n  withdrawals:\n    at_risk_above: 40\n")
    out = tmp_path / "out"
    r = cli("scenarios", "--data", str(DATA), "--year", "2324", "--return", "R14", "--alt", "atpaf-2024-04",
            "--alt", str(quiet), "--out", str(out), "--no-pdf")
    assert r.returncode == 0, r.stderr
    # the console leads with each alternative's headline (FJAA0003: 22 of 87 withdrawn, 25.3 % > 20 %)
    assert "At risk rises from 0 to 1 agency; 87 more apprentices are in at-risk agencies (0 to 87)." in " ".join(
        r.stderr.split())
    folder = out / "2324" / "R14" / "scenarios"
    overview = (folder / "overview" / "quality-framework-2023.html").read_text()
    for words in ("Apprenticeship training provider accountability framework (April 2024 update)",
                  "Withdrawals at risk above 40 per cent (test)", "DfE Quality Framework for FJAAs",
                  'href="../quality-framework-2023__atpaf-2024-04.html"',
                  'href="../quality-framework-2023__quiet-withdrawals.html"', "Agencies nearest each threshold"):
        assert words in overview, words
    assert "None of the 5 agencies changes status on any indicator." in overview
    counts = pd.read_csv(folder / "overview" / "quality-framework-2023.csv")
    assert list(counts["set"].unique()) == ["quality-framework-2023", "atpaf-2024-04", "quiet-withdrawals"]

    detail = (folder / "quality-framework-2023__atpaf-2024-04.html").read_text()
    title = re.search(r"<title>(.*?)</title>", detail).group(1)
    assert title == ("Threshold scenarios: Apprenticeship training provider accountability framework (April 2024 "
                     "update) against DfE Quality Framework for FJAAs (October 2023, version 1), 2023-24 R14")
    assert 'href="overview/quality-framework-2023.html"' in detail
    assert detail.count('class="chart"') == 2  # withdrawals and breaks at-risk thresholds differ; nothing else

    quiet_page = folder / "quality-framework-2023__quiet-withdrawals.html"
    text = quiet_page.read_text()
    assert 'id="nobody-moves"' in text and 'id="transitions"' not in text and "<svg" not in text
    assert len(printed_pages(quiet_page)) == 1

    index = (out / "index.html").read_text()
    assert index.index("scenarios/overview/quality-framework-2023.html") < index.index(
        "scenarios/quality-framework-2023__atpaf-2024-04.html")  # the overview is listed first
    assert ("Threshold scenario: Apprenticeship training provider accountability framework (April 2024 update) "
            "against DfE Quality Framework for FJAAs (October 2023, version 1)") in index
    assert "Threshold scenario: quiet-withdrawals against DfE" in index  # not a shipped set: its own name


def test_settings_a_scenario_does_not_re_measure_are_marked_not_said_to_move_nobody():
    from fjaaqa.quality import scenarios
    from fjaaqa.quality.thresholds import load_thresholds

    assert scenarios.applied("indicators.withdrawals.at_risk_above")
    assert not scenarios.applied("indicators.outside_approved_areas.consecutive_returns")
    assert not scenarios.applied("readings.qar.break_overdue_years")
    base = load_thresholds()
    d = base.model_dump()
    d["indicators"]["outside_approved_areas"]["consecutive_returns"] = 1
    only_outside = type(base).model_validate(d)
    (diff,) = scenarios.differences(base, only_outside)
    assert diff["key"] == "indicators.outside_approved_areas.consecutive_returns" and not diff["applied"]
