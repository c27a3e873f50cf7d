"""Threshold scenarios, the quality summary, disclosure control and the open-data screener."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
from builders import repo_path

from fjaaqa.publication import disclosure, ees
from fjaaqa.quality import scenarios
from fjaaqa.quality.results import PackResults
from fjaaqa.quality.thresholds import load_thresholds
from fjaaqa.writers import round_half_up

DATA = repo_path("tests", "fixtures", "pack_data")


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path_factory.getbasetemp() / "scenario-cache"))


# ---------------------------------------------------------------- threshold sets

def test_shipped_scenarios_override_only_some_values_and_have_their_own_hash():
    base = load_thresholds("quality-framework-2023")
    atpaf = load_thresholds("atpaf-2024-04")
    assert (atpaf.indicators.withdrawals.at_risk_above,
            atpaf.indicators.withdrawals.needs_improvement_above) == (20, 15)
    assert atpaf.indicators.breaks_in_learning.at_risk_share_above == 10
    assert atpaf.indicators.past_planned_end_date.include_completed_late is True
    assert atpaf.indicators.achievement_rate == base.indicators.achievement_rate  # inherited from the base
    cum = load_thresholds("cumulative-bands")
    assert cum.indicators.breaks_in_learning.banding == "cumulative"
    strict = load_thresholds("stricter-achievement")
    assert (strict.indicators.achievement_rate.at_risk_below,
            strict.indicators.achievement_rate.needs_improvement_below) == (55, 65)
    hashes = {t.hash for t in (base, atpaf, cum, strict)}
    assert len(hashes) == 4
    assert load_thresholds("atpaf-2024-04").hash == atpaf.hash  # stable


# ---------------------------------------------------------------- a hand-made population

def hand_made() -> PackResults:
    """Four agencies, withdrawals only: 7/20 (35 %), 5/20 (25 %), 4/20 (20 %), 1/20 (5 %)."""
    rows = []
    for agency, withdrawn in (("A", 7), ("B", 5), ("C", 4), ("D", 1)):
        for i in range(20):
            rows.append({"agency_id": agency, "live": True, "withdrawn_in_year": i < withdrawn,
                         "days_on_break": None, "days_past_planned_end": None, "completed_late_days": None,
                         "outside": False, "approvals_known": True, "region": "London", "route": "Digital"})
    apprentices = pd.DataFrame(rows)
    aims = pd.DataFrame({"agency_id": ["A"], "leaver": [False], "achiever": [False], "completer": [False]})
    agencies = pd.DataFrame({"agency_id": list("ABCD")})
    results = pd.DataFrame({"agency_id": list("ABCD"), "indicator": "outside_approved_areas", "numerator": 0,
                            "denominator": 20, "value": 0.0, "status": "on_track", "threshold": 5.0,
                            "distance": -5.0})
    return PackResults(meta={}, tables={"apprentices": apprentices, "aims": aims, "agencies": agencies,
                                        "results": results, "previous": pd.DataFrame(), "reviews": pd.DataFrame()})


def test_transition_matrix_in_agencies_and_apprentices():
    pr = hand_made()
    base = scenarios.classify(pr, load_thresholds("quality-framework-2023"), ["withdrawals"])
    alt = scenarios.classify(pr, load_thresholds("atpaf-2024-04"), ["withdrawals"])
    # baseline: A 35 % is not above 35 -> needs improvement; B 25, C 20 needs improvement; D on track
    assert dict(zip(base["agency_id"], base["status"])) == {"A": "needs_improvement", "B": "needs_improvement",
                                                            "C": "needs_improvement", "D": "on_track"}
    # ATPAF: above 20 at risk (A, B); C exactly 20 stays needs improvement
    assert dict(zip(alt["agency_id"], alt["status"])) == {"A": "at_risk", "B": "at_risk", "C": "needs_improvement",
                                                          "D": "on_track"}
    trans = scenarios.transitions(base, alt)
    agencies = scenarios.matrix(trans, "withdrawals", "agencies")
    assert agencies.loc["needs_improvement", "at_risk"] == 2
    assert agencies.loc["needs_improvement", "needs_improvement"] == 1
    assert agencies.loc["on_track", "on_track"] == 1
    people = scenarios.matrix(trans, "withdrawals", "apprentices")
    assert people.loc["needs_improvement", "at_risk"] == 40
    assert int(people.values.sum()) == 80


def test_sweep_counts_statuses_at_each_value_and_skips_invalid_sets():
    pr = hand_made()
    t = load_thresholds("quality-framework-2023")
    sw = scenarios.sweep(pr, t, "withdrawals", "at_risk_above", [10, 15, 19, 20, 25, 34, 35])
    assert list(sw["value"]) == [15, 19, 20, 25, 34, 35]  # 10 would be looser than needs improvement (15)
    at = dict(zip(sw["value"], sw["at_risk"]))
    assert at[15] == 75.0 and at[20] == 50.0 and at[25] == 25.0 and at[34] == 25.0 and at[35] == 0.0
    ni = dict(zip(sw["value"], sw["needs_improvement"]))
    assert ni[35] == 75.0


def test_nearest_agencies_are_those_closest_to_their_threshold():
    pr = hand_made()
    res = scenarios.classify(pr, load_thresholds("quality-framework-2023"), ["withdrawals"])
    near = scenarios.nearest(res, load_thresholds("quality-framework-2023"), 2)
    # A (35 %) is 0 pp from at risk (35); C (20 %) 5 pp from needs improvement (15); B (25 %) 10 pp from either
    assert list(near["agency_id"]) == ["A", "C"]
    assert list(near["nearest"]) == ["at risk", "needs improvement"] and list(near["gap"]) == [0.0, 5.0]


# ---------------------------------------------------------------- disclosure control

def table() -> pd.DataFrame:
    return pd.DataFrame({"route": ["R1", "R2", "R3", "R4", "Total"],
                         "apprentices": [40, 3, 12, 30, 85], "withdrawn": [6, 1, 0, 9, 16]})


def test_small_counts_are_suppressed_and_protected_from_subtraction():
    df = table()
    rates = [disclosure.Rate("withdrawal_rate", "withdrawn", "apprentices")]
    out, hide = disclosure.protect(df, ["apprentices", "withdrawn"], rates, 5, 1, None, "route")
    # R2's 3 apprentices are suppressed; alone they could be worked out from the total, so the next smallest (R3,
    # 12) is hidden too. R2's 1 withdrawal likewise needs a partner: R3's 0 is never hidden, so R1's 6 is.
    assert out.loc[1, "apprentices"] == "c" and out.loc[2, "apprentices"] == "c"
    assert out.loc[1, "withdrawn"] == "c" and out.loc[0, "withdrawn"] == "c"
    assert out.loc[3, "withdrawn"] == "9"
    # rates: from unrounded counts, half up; suppressed with their counts
    assert out.loc[3, "withdrawal_rate"] == "30.0" and out.loc[4, "withdrawal_rate"] == "18.8"  # 16/85 = 18.82
    assert out.loc[1, "withdrawal_rate"] == "c" and out.loc[0, "withdrawal_rate"] == "c"
    # nothing published under the threshold, nothing recoverable by subtraction
    for c in ("apprentices", "withdrawn"):
        shown = pd.to_numeric(out[c].where(out[c] != "c"), errors="coerce").dropna()
        assert not ((shown > 0) & (shown < 5)).any()
    assert disclosure.recoverable(df, hide, ["apprentices", "withdrawn"], None, "route") == []


def test_round_half_up_not_bankers():
    assert str(round_half_up(2.25, 1)) == "2.3"
    assert str(round_half_up(0.125, 2)) == "0.13"
    assert str(round_half_up(62.5, 0)) == "63"
    assert str(round_half_up(2.675, 2)) == "2.68"


def test_recoverable_finds_a_lone_suppressed_cell():
    df = table()
    hide = disclosure.primary(df, ["apprentices"], 5)  # primary only: R2 alone
    assert disclosure.recoverable(df, hide, ["apprentices"], None, "route") == [("all", "apprentices", 1)]


# ---------------------------------------------------------------- the screener

def good_files(folder):
    data = pd.DataFrame({"time_period": ["202324"] * 3, "time_identifier": ["Academic year"] * 3,
                         "geographic_level": ["National"] * 3, "country_code": ["E92000001"] * 3,
                         "country_name": ["England"] * 3, "route": ["Digital", "Care services", "Total"],
                         "apprentices": ["20", "c", "31"], "withdrawal_rate": ["10.0", "c", "9.7"]})
    cols = [ees.Column("route", "Filter", "Route"), ees.Column("apprentices", "Indicator", "Apprentices", "", "0"),
            ees.Column("withdrawal_rate", "Indicator", "Withdrawal rate", "%", "1")]
    ees.write_table(folder, "fjaa_rates_by_route", data, cols)


def test_screener_passes_good_files(tmp_path):
    good_files(tmp_path)
    checks = ees.screen(tmp_path)
    assert checks and all(c.passed for c in checks), ees.format_checks(checks)


@pytest.mark.parametrize("break_it,check", [
    (lambda d, m: d.rename(columns={"time_period": "year"}), "required columns"),
    (lambda d, m: d.assign(time_period="2023"), "time columns"),
    (lambda d, m: d.assign(route=["Digital", "Care services", "All"]), "filters have Total rows"),
    (lambda d, m: d.assign(apprentices=["20", "NA", "31"]), "no blanks or NA"),
    (lambda d, m: d.assign(apprentices=["20", "*", "31"]), "symbols"),
    (lambda d, m: d.assign(withdrawal_rate=["10.04", "c", "9.7"]), "decimal places"),
    (lambda d, m: d.assign(extra="1"), "meta and data agree"),
    (lambda d, m: d.assign(geographic_level="Country"), "geography columns"),
])
def test_screener_fails_each_broken_file(tmp_path, break_it, check):
    good_files(tmp_path)
    path = tmp_path / "fjaa_rates_by_route.csv"
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    break_it(d, None).to_csv(path, index=False)
    results = {c.name: c for c in ees.screen(tmp_path)}
    assert not results[check].passed, ees.format_checks(list(results.values()))
    others = [c for n, c in results.items() if n != check and not c.passed]
    assert len(others) <= 1  # the break is reported where it belongs


def test_screener_flags_bad_file_names_and_missing_meta(tmp_path):
    good_files(tmp_path)
    shutil.copy(tmp_path / "fjaa_rates_by_route.csv", tmp_path / "Rates By Route.csv")
    results = {c.name: c for c in ees.screen(tmp_path)}
    assert not results["file names"].passed and not results["data and meta files pair up"].passed


# ---------------------------------------------------------------- commands

def cli(*args):
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True, timeout=600)


def test_summary_command_writes_open_data_that_passes_the_screener(tmp_path):
    r = cli("summary", "--data", str(DATA), "--year", "2324", "--return", "R14", "--out", str(tmp_path), "--check",
            "--no-pdf")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("PASS") >= 10 and "FAIL" not in r.stdout
    folder = tmp_path / "2324" / "R14" / "summary"
    route = pd.read_csv(folder / "data" / "fjaa_rates_by_route.csv", dtype=str, keep_default_na=False)
    for c in ("apprentices", "withdrawn", "leavers", "achievers"):
        shown = pd.to_numeric(route[c].where(route[c] != "c"), errors="coerce").dropna()
        assert not ((shown > 0) & (shown < 5)).any(), c
    html = (folder / "quality_summary.html").read_text()
    assert "final figures for 2023-24" in html and "fjaa_rates_by_route.csv" in html
    assert "FJAA0" not in html  # no named agency without approval
    a = (folder / "fjaa_quality_summary.xlsx").read_bytes()
    cli("summary", "--data", str(DATA), "--year", "2324", "--return", "R14", "--out", str(tmp_path / "again"),
        "--no-pdf")
    assert (tmp_path / "again" / "2324" / "R14" / "summary" / "fjaa_quality_summary.xlsx").read_bytes() == a


def test_scenarios_command_compares_framework_and_accountability_thresholds(tmp_path):
    r = cli("scenarios", "--data", str(DATA), "--year", "2324", "--return", "R14", "--base",
            "quality-framework-2023", "--alt", "atpaf-2024-04", "--out", str(tmp_path), "--no-pdf")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "2324" / "R14" / "scenarios"
    trans = pd.read_csv(folder / "quality-framework-2023__atpaf-2024-04.transitions.csv")
    moved = trans[(trans["indicator"] == "withdrawals") & (trans["status_base"] != trans["status_alt"])]
    assert moved["agencies"].sum() >= 1  # FJAA0003 at 25 % moves to at risk under the 20 % threshold
    html = (folder / "quality-framework-2023__atpaf-2024-04.html").read_text()
    assert "Sensitivity sweeps" in html and "FJAA0003" in html and "<svg" in html


def test_bad_scenario_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: quality-framework-2023\nname: bad\nindicators:\n  withdrawals:\n    at_risk_above: 10\n")
    r = cli("scenarios", "--data", str(DATA), "--year", "2324", "--return", "R14", "--alt", str(bad), "--no-pdf",
            "--out", str(tmp_path))
    assert r.returncode == 2 and "looser" in r.stderr and "Traceback" not in r.stderr


def test_scenario_and_summary_pages_are_accessible(tmp_path):
    from a11y_check import axe_violations, require_browser, serious

    r1 = cli("scenarios", "--data", str(DATA), "--year", "2324", "--return", "R14", "--alt", "cumulative-bands",
             "--out", str(tmp_path), "--no-pdf")
    r2 = cli("summary", "--data", str(DATA), "--year", "2324", "--return", "R14", "--out", str(tmp_path), "--no-pdf")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    pages = [tmp_path / "2324/R14/scenarios/quality-framework-2023__cumulative-bands.html",
             tmp_path / "2324/R14/scenarios/overview/quality-framework-2023.html",
             tmp_path / "2324/R14/summary/quality_summary.html"]
    for p in pages:
        text = p.read_text()
        assert "<script src" not in text and "https://" not in text
    require_browser()
    assert serious(axe_violations(pages)) == []


def test_day_sweep_agrees_with_a_full_reclassification():
    from fjaaqa.store.results import load_or_compute

    t = load_thresholds("quality-framework-2023")
    pr = load_or_compute(DATA, "2324", "R14", t)
    sw = scenarios.sweep(pr, t, "breaks_in_learning", "needs_improvement_days", [60, 120, 300])
    for v in (60, 120, 300):
        full = scenarios.classify(pr, scenarios.with_value(t, "breaks_in_learning", "needs_improvement_days", v),
                                  ["breaks_in_learning"])
        share = 100.0 * (full["status"] == "needs_improvement").sum() / len(full)
        assert sw.loc[sw["value"] == v, "needs_improvement"].iloc[0] == share


def test_named_agency_table_only_when_publication_is_approved(tmp_path):
    from fjaaqa.publication import summary
    from fjaaqa.reports import summary as publish
    from fjaaqa.store.results import load_or_compute

    pr = load_or_compute(DATA, "2324", "R14")
    default = summary.build(pr)
    assert "fjaa_rates_by_agency" not in default.tables
    approved = summary.publication_params().model_copy(update={"named_agencies": True})
    s = summary.build(pr, params=approved)
    table = s.tables["fjaa_rates_by_agency"]
    assert list(table["agency_name"])[-1] == "Total" and len(table) == len(pr.agencies) + 1
    publish.write_open_data(s, tmp_path)
    checks = ees.screen(tmp_path)
    assert all(c.passed for c in checks), ees.format_checks(checks)
    hidden = s.hidden["fjaa_rates_by_agency"]
    assert disclosure.recoverable(s.raw["agency_rates"], hidden, ["apprentices", "withdrawn", "leavers", "achievers"],
                                  None, "agency_name") == []
