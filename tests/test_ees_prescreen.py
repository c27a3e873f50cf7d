"""The open-data pre-screen's checks after DfE's screener: each fails on a bad file and passes on a good one."""

from __future__ import annotations

import pandas as pd
import pytest

from fjaaqa.publication import ees

NAME = "fjaa_rates_by_route"


def write_good(folder):
    """National rows by route and regional totals, one of them for apprentices whose region is unknown (code z)."""
    n = 4
    data = pd.DataFrame({"time_period": ["202324"] * n, "time_identifier": ["Academic year"] * n,
                         "geographic_level": ["National", "National", "Regional", "Regional"],
                         "country_code": ["E92000001"] * n, "country_name": ["England"] * n,
                         "region_code": ["", "", "E12000007", "z"],
                         "region_name": ["", "", "London", "Outside of England and unknown"],
                         "route": ["Digital", "Total", "Total", "Total"],
                         "apprentices": ["20", "31", "12", "19"], "withdrawal_rate": ["10.0", "9.7", "8.3", "10.5"]})
    cols = [ees.Column("route", "Filter", "Route", hint="Filter by route"),
            ees.Column("apprentices", "Indicator", "Apprentices", "", "0"),
            ees.Column("withdrawal_rate", "Indicator", "Withdrawal rate", "%", "1")]
    ees.write_table(folder, NAME, data, cols)


def read(folder, meta=False) -> pd.DataFrame:
    return pd.read_csv(folder / f"{NAME}{'.meta' if meta else ''}.csv", dtype=str, keep_default_na=False)


def edit(folder, data=None, meta=None):
    if data is not None:
        data(read(folder)).to_csv(folder / f"{NAME}.csv", index=False)
    if meta is not None:
        meta(read(folder, meta=True)).to_csv(folder / f"{NAME}.meta.csv", index=False)


def results(folder) -> dict[str, ees.Check]:
    return {c.name: c for c in ees.screen(folder)}


def failing(folder) -> list[str]:
    return [n for n, c in results(folder).items() if not c.passed]


def set_meta(col, field, value):
    def change(m):
        m.loc[m["col_name"] == col, field] = value
        return m
    return change


def test_the_good_file_passes_every_check(tmp_path):
    write_good(tmp_path)
    checks = ees.screen(tmp_path)
    assert len(checks) == 18 and all(c.passed for c in checks), ees.format_checks(checks)


@pytest.mark.parametrize("data,meta,check", [
    # a second row for the same time, place and route
    (lambda d: pd.concat([d, d.iloc[[0]]]), None, "duplicate rows"),
    # a route with a trailing space
    (lambda d: d.assign(route=["Digital ", "Total", "Total", "Total"]), None, "filter whitespace"),
    # London's code with another region's name
    (lambda d: d.assign(region_name=["", "", "North East", "Outside of England and unknown"]), None,
     "geography codes and names"),
    # England's code with Wales's name
    (lambda d: d.assign(country_name="Wales"), None, "geography codes and names"),
    # the code for no place with a name that is not one of EES's no-place names
    (lambda d: d.assign(region_name=["", "", "London", "Somewhere"]), None, "geography codes and names"),
    # a unit EES does not know, and a unit on a filter
    (None, set_meta("withdrawal_rate", "indicator_unit", "percent"), "indicator units"),
    (None, set_meta("route", "indicator_unit", "%"), "indicator units"),
    # decimal places on a filter, a hint on an indicator, decimal places that are not a whole number
    (None, set_meta("route", "indicator_dp", "0"), "meta fields"),
    (None, set_meta("apprentices", "filter_hint", "Filter by apprentices"), "meta fields"),
    (None, set_meta("apprentices", "indicator_dp", "one"), "meta fields"),
    # a column that is not a meta column; a required one missing
    (None, lambda m: m.assign(notes=""), "meta file columns"),
    (None, lambda m: m.drop(columns=["indicator_dp"]), "meta file columns"),
    # two columns with the same label
    (None, set_meta("withdrawal_rate", "label", "Apprentices"), "meta and data agree"),
    # a filter default that is not in the data; a filter group column that is not in the data
    (None, lambda m: m.assign(filter_default=["All routes", "", ""]), "filters have Total rows"),
    (None, set_meta("route", "filter_grouping_column", "route_group"), "filters have Total rows"),
])
def test_each_new_check_fails_on_its_bad_file(tmp_path, data, meta, check):
    write_good(tmp_path)
    edit(tmp_path, data, meta)
    assert failing(tmp_path) == [check], ees.format_checks(ees.screen(tmp_path))


@pytest.mark.parametrize("meta", [
    lambda m: m.assign(filter_default="", parent_filter=""),  # the optional columns, empty
    lambda m: m.assign(filter_default=["Total", "", ""]),     # a filter default that is there
    lambda m: m[list(reversed(m.columns))],                   # the required columns in another order
])
def test_optional_meta_columns_are_accepted(tmp_path, meta):
    write_good(tmp_path)
    edit(tmp_path, meta=meta)
    assert failing(tmp_path) == []


def test_a_filter_default_stands_for_total(tmp_path):
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: d.assign(route=["Digital", "All", "All", "All"]))
    assert failing(tmp_path) == ["filters have Total rows"]
    edit(tmp_path, meta=lambda m: m.assign(filter_default=["All", "", ""]))
    assert failing(tmp_path) == []


def test_a_filter_group_needs_its_own_total(tmp_path):
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: d.assign(route_group=["Technical", "Technical", "Technical", "Technical"]),
         meta=lambda m: pd.concat([set_meta("route", "filter_grouping_column", "route_group")(m),
                                   pd.DataFrame([{"col_name": "route_group", "col_type": "Filter",
                                                  "label": "Route group"}])]).fillna(""))
    assert failing(tmp_path) == ["filters have Total rows"]
    edit(tmp_path, data=lambda d: d.assign(route_group=["Technical", "Total", "Total", "Total"]))
    assert failing(tmp_path) == []


def test_character_limits_are_the_ees_api_limits():
    lim = ees.screen_params().char_limits
    assert (lim.column_name, lim.label, lim.filter_item, lim.location_code) == (50, 100, 120, 30)


@pytest.mark.parametrize("over", [-1, 0, 1])
def test_label_length_boundary(tmp_path, over):
    write_good(tmp_path)
    edit(tmp_path, meta=set_meta("apprentices", "label", "A" * (100 + over)))
    assert failing(tmp_path) == (["label lengths"] if over > 0 else [])


@pytest.mark.parametrize("over", [-1, 0, 1])
def test_column_name_length_boundary(tmp_path, over):
    name = "apprentices_" + "x" * (50 + over - len("apprentices_"))
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: d.rename(columns={"apprentices": name}),
         meta=set_meta("apprentices", "col_name", name))
    assert failing(tmp_path) == (["label lengths"] if over > 0 else [])


@pytest.mark.parametrize("over", [-1, 0, 1])
def test_filter_item_length_boundary(tmp_path, over):
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: d.assign(route=["D" * (120 + over), "Total", "Total", "Total"]))
    assert failing(tmp_path) == (["label lengths"] if over > 0 else [])


def test_a_location_code_over_the_limit(tmp_path):
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: d.assign(region_code=["", "", "E12000007", "z" * 31]))
    assert "label lengths" in failing(tmp_path)  # (and the code is unknown, too)
    edit(tmp_path, data=lambda d: d.assign(region_code=["", "", "E12000007", "z"]))
    assert failing(tmp_path) == []


def test_every_line_says_pre_screen(tmp_path):
    write_good(tmp_path)
    edit(tmp_path, data=lambda d: pd.concat([d, d.iloc[[0]]]))
    text = ees.format_checks(ees.screen(tmp_path))
    lines = text.splitlines()
    assert "pre-screen" in lines[0] and "not acceptance for publication" in lines[0]
    assert all(line.startswith(("pre-screen PASS  ", "pre-screen FAIL  ")) for line in lines[1:])
    assert "pre-screen FAIL  duplicate rows: fjaa_rates_by_route.csv: row 6 repeats row 2" in lines
