"""Periods, census dates, threshold sets."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fjaaqa.errors import InputError
from fjaaqa.periods import census_date, make_period, parse_year
from fjaaqa.quality.indicators import share_above, share_below
from fjaaqa.quality.thresholds import deep_merge, load_thresholds


@pytest.mark.parametrize("text", ["2324", "2023-24", "2023/24", "2023-2024"])
def test_year_forms(text):
    y = parse_year(text)
    assert (y.code, y.label, y.start, y.end) == ("2324", "2023-24", date(2023, 8, 1), date(2024, 7, 31))


@pytest.mark.parametrize("bad", ["2325", "23", "2023", "abcd", "2023-26"])
def test_bad_years(bad):
    with pytest.raises(InputError):
        parse_year(bad)


@pytest.mark.parametrize("ret,expected", [
    ("R01", date(2023, 8, 31)), ("R02", date(2023, 9, 30)), ("R05", date(2023, 12, 31)),
    ("R06", date(2024, 1, 31)), ("R07", date(2024, 2, 29)), ("R11", date(2024, 6, 30)),
    ("R12", date(2024, 7, 31)), ("R13", date(2024, 7, 31)), ("R14", date(2024, 7, 31)), ("r6", date(2024, 1, 31)),
])
def test_census_dates(ret, expected):
    assert census_date(parse_year("2324"), ret) == expected


def test_period_order():
    assert make_period("2223", "R14") < make_period("2324", "R01") < make_period("2324", "R14")


def test_baseline_thresholds_are_the_framework():
    t = load_thresholds()
    i = t.indicators
    assert (i.withdrawals.at_risk_above, i.withdrawals.needs_improvement_above) == (35, 15)
    assert (i.achievement_rate.at_risk_below, i.achievement_rate.needs_improvement_below) == (50, 60)
    for b in (i.breaks_in_learning, i.past_planned_end_date):
        assert (b.at_risk_days, b.needs_improvement_days, b.at_risk_share_above, b.banding) == (365, 180, 15,
                                                                                              "exclusive")
    assert len(t.hash) == 16 and t.hash == load_thresholds("quality-framework-2023").hash


def test_scenario_merges_over_base_and_changes_hash(tmp_path):
    f = tmp_path / "alt.yaml"
    f.write_text("base: quality-framework-2023\nname: alt\nindicators:\n  withdrawals:\n    at_risk_above: 20\n")
    t = load_thresholds(str(f))
    assert t.indicators.withdrawals.at_risk_above == 20
    assert t.indicators.withdrawals.needs_improvement_above == 15
    assert t.hash != load_thresholds().hash


@pytest.mark.parametrize("body,words", [
    ("indicators:\n  withdrawls:\n    at_risk_above: 20\n", "unknown key"),
    ("indicators:\n  withdrawals:\n    at_risk_above: 10\n", "looser"),
    ("indicators:\n  withdrawals:\n    at_risk_above: 140\n", "less than or equal to 100"),
])
def test_invalid_threshold_files_stop_with_one_line(tmp_path, body, words):
    f = tmp_path / "bad.yaml"
    f.write_text("base: quality-framework-2023\nname: bad\n" + body)
    with pytest.raises(InputError) as e:
        load_thresholds(str(f))
    assert words in str(e.value) and "\n" not in str(e.value)


def test_unknown_threshold_set_name():
    with pytest.raises(InputError, match="not found"):
        load_thresholds("no-such-set")


def test_deep_merge():
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 5}}) == {"a": {"b": 5, "c": 2}, "d": 1}


@given(st.integers(0, 500), st.integers(1, 500), st.integers(0, 100))
def test_exact_share_comparisons(n, d, thr):
    n = min(n, d)
    assert share_above(n, d, thr) == (n * 100 > thr * d)
    assert share_below(n, d, thr) == (n * 100 < thr * d)
