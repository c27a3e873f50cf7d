"""National achievement rates: the import of DfE's open-data layout, and which rate each figure is set against.

The file below is made up, but its layout is the real one: the columns of
DfE's national achievement rates by route and standard, ``Total`` in a filter
for all of it, ``low`` in withheld counts and ``x`` in withheld rates.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fjaaqa.errors import InputError, ProblemsError
from fjaaqa.inputs.benchmarks import import_rates, write_rates
from fjaaqa.quality.benchmarks import national_rate, national_table

HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,std_fwk_flag,route,"
          "std_fwk_name_stcode,level,detailed_level,age_youth_adult,age_group,funding_type,leavers,completers,"
          "achievers,retention_rate,pass_rate,achievement_rate")
NAT = "Academic year,National,E92000001,England"
T4 = "Total,Total,Total,Total"  # level, detailed level, age group (youth/adult) and age: all of them
ROWS = [
    f"202122,{NAT},Total,Total,Total,Total,Total,Total,Total,Total,263550,144350,140800,54.8,97.5,53.4",
    f"202122,{NAT},Total,Digital,Total,Total,Total,Total,Total,Total,20000,12000,11000,60.0,91.7,55.0",
    f"202122,{NAT},Total,Care services,Total,Total,Total,Total,Total,Total,30000,15000,14000,50.0,93.3,46.7",
    f"202122,{NAT},Standard,Digital,Software Developer-ST0116,{T4},Total,3000,2000,1900,66.7,95.0,63.3",
    f"202122,{NAT},Standard,Digital,Network engineer-ST0127,Total,Total,Total,Total,Total,low,low,low,x,x,x",
    f"202122,{NAT},Total,Digital,Total,Total,Total,16-18,Total,Total,5000,3000,2800,60.0,93.3,56.0",
    f"202223,{NAT},Total,Total,Total,Total,Total,Total,Total,Total,250000,140000,136000,56.0,97.1,54.4",
    f"202223,{NAT},Total,DIGITAL,Total,Total,Total,Total,Total,Total,21000,13000,12000,61.9,92.3,57.1",
    f"202223,{NAT},Framework,Total,Business Administration-FW123,{T4},Total,100,50,40,50.0,80.0,40.0",
    f"202223,{NAT},Total,Underwater basket weaving,Total,Total,Total,Total,Total,Total,10,5,4,50.0,80.0,40.0",
    f"202223,Academic year,Regional,E12000007,London,Total,Total,Total,{T4},Total,10,5,4,50.0,80.0,40.0",
    f"202425,{NAT},Total,Digital,Total,Total,Total,Total,Total,Total,21000,13000,12900,61.9,99.2,61.4",
]


def rates_file(tmp_path: Path, rows=ROWS, name="rates.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_every_row_is_used_or_set_aside_with_its_reason(tmp_path):
    imp = import_rates(rates_file(tmp_path))
    s = imp.summary
    assert (s["rows_read"], s["rows_used"]) == (12, 8)
    assert s["used"] == {"all": 2, "route": 4, "standard": 1 + 1}
    assert s["set_aside"] == {"a breakdown by age or funding": 1, "a framework, or a name without a standard code": 1,
                              "a route that is not one of the 15 routes": 1, "not national": 1}
    assert s["rows_used"] + sum(s["set_aside"].values()) == s["rows_read"]
    t = imp.table.set_index(["year", "basis", "key"])
    assert t.loc[("2022-23", "route", "Digital"), "achievement_rate"] == 57.1  # DIGITAL matched to the route name
    assert t.loc[("2021-22", "standard", "ST0116"), "name"] == "Software Developer"
    withheld = t.loc[("2021-22", "standard", "ST0127")]
    assert pd.isna(withheld["achievement_rate"]) and pd.isna(withheld["leavers"])  # low / x: no number


def test_the_stored_rates_carry_the_source_files_hash(tmp_path):
    import hashlib

    path = rates_file(tmp_path)
    written = write_rates(import_rates(path), tmp_path / "data")
    meta = json.loads((written.parent / "national_rates.json").read_text())
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and meta["source"] == "rates.csv"
    table, imported = national_table(tmp_path / "data")
    assert imported["imported"]["sha256"] == meta["sha256"]
    # the cited all-apprenticeship figure for 2021-22 gives way to the imported one of the same year
    assert len(table[(table["year"] == "2021-22") & (table["basis"] == "all")]) == 1


@pytest.fixture()
def table(tmp_path):
    write_rates(import_rates(rates_file(tmp_path)), tmp_path / "data")
    return national_table(tmp_path / "data")[0]


@pytest.mark.parametrize("review_year,expected,year", [
    ("2023-24", 57.1, "2022-23"),   # the latest year up to the review year; 2024-25 is after it
    ("2022-23", 57.1, "2022-23"),   # the same year counts
    ("2021-22", 55.0, "2021-22"),
    ("2024-25", 61.4, "2024-25"),
])
def test_a_route_is_compared_with_its_own_rate_for_the_latest_year_not_after_the_review(table, review_year,
                                                                                          expected, year):
    r = national_rate(table, review_year, "route", "Digital")
    assert (r["value"], r["year"], r["fallback"]) == (expected, year, False)
    assert r["label"] == f"route, {year}"


def test_without_a_published_rate_the_fallback_is_all_apprenticeships_and_says_so(table):
    care = national_rate(table, "2023-24", "route", "Care services")  # only 2021-22 published: still its own
    assert (care["value"], care["year"], care["basis"]) == (46.7, "2021-22", "route")
    withheld = national_rate(table, "2023-24", "standard", "ST0127")  # x in every year
    assert (withheld["value"], withheld["basis"], withheld["fallback"]) == (54.4, "all", True)
    assert withheld["label"] == "all apprenticeships, 2022-23 (no published rate for this standard)"
    unknown = national_rate(table, "2023-24", "standard", "")  # a standard with no IfATE reference
    assert unknown["fallback"] and unknown["value"] == 54.4


def test_before_any_published_year_there_is_no_rate_rather_than_a_later_one(table):
    r = national_rate(table, "2020-21", "route", "Digital")
    assert r["value"] is None and r["fallback"]


def test_without_an_import_the_cited_rate_for_all_apprenticeships_is_used(tmp_path):
    t, meta = national_table(tmp_path)
    r = national_rate(t, "2023-24", "route", "Digital")
    assert (r["value"], r["year"], r["basis"], r["fallback"]) == (53.4, "2021-22", "all", True)
    assert "imported" not in meta


@pytest.mark.parametrize("row,words", [
    (ROWS[1].replace("20000,12000", "20000,22000"), "row 1 (line 2), completers: completers are more than leavers"),
    (ROWS[1].replace("Digital", '=HYPERLINK("x")'), "route: route is not a valid name"),
    (ROWS[1].replace("202122", "202123"), "time_period must be two consecutive years"),
    (ROWS[1].replace("91.7", "101"), "pass_rate is above 100"),
    (ROWS[1].replace("91.7", "n/a"), "pass_rate is not a valid rate"),
    (ROWS[1].replace(",20000,", ",20,000,"), "more fields than the header"),  # a thousands comma
    (ROWS[1].replace("Academic year", "Calendar year"), "time_identifier must be one of Academic year"),
])
def test_a_bad_cell_is_one_line_naming_row_and_field_and_nothing_is_stored(tmp_path, row, words):
    with pytest.raises((ProblemsError, InputError)) as exc:
        import_rates(rates_file(tmp_path, [row]))
    assert words in str(exc.value)


def test_two_rows_giving_one_rate_are_refused(tmp_path):
    with pytest.raises(ProblemsError, match="rows 2, 3 each give the national rate of route Digital in 2021-22"):
        import_rates(rates_file(tmp_path, [ROWS[0], ROWS[1], ROWS[1].replace("Digital", "digital")]))


def test_a_file_in_another_layout_is_one_line(tmp_path):
    path = tmp_path / "ssa.csv"
    path.write_text("time_period,ssa_t1_desc,leavers\n202122,Total,10\n")
    with pytest.raises(InputError, match="ssa.csv: not DfE's national achievement rates by route and standard"):
        import_rates(path)


def test_cli_imports_and_reports_every_problem(tmp_path):
    fj = [sys.executable, "-m", "fjaaqa.cli", "benchmarks", "import"]
    ok = subprocess.run(fj + [str(rates_file(tmp_path)), "--out", str(tmp_path / "data")], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr
    assert "12 rows read, 8 used" in ok.stderr and (tmp_path / "data" / "benchmarks" / "national_rates.csv").is_file()
    bad = [ROWS[1].replace("91.7", "101"), ROWS[2].replace("202122", "202123")]
    no = subprocess.run(fj + [str(rates_file(tmp_path, bad, "bad.csv")), "--out", str(tmp_path / "d2")],
                        capture_output=True, text=True)
    assert no.returncode == 2 and "Traceback" not in no.stderr
    assert no.stderr.splitlines()[-1] == "2 problem(s): nothing was imported."
    assert not (tmp_path / "d2").exists()


def test_the_pack_compares_each_route_and_standard_with_its_own_national_rate(tmp_path):
    from builders import World

    from fjaaqa.reports import pack_sections as sections
    from fjaaqa.store.results import load_or_compute

    w = World()
    w.agency("A1")
    w.agency("A2")
    achiever = dict(start="2022-09-01", plan_end="2024-03-01", comp="2", end="2024-03-01", outcome="1",
                    ach="2024-05-01")
    leaver = dict(start="2022-09-01", plan_end="2024-03-01", comp="3", end="2024-01-15", outcome="3", reason="44")
    for i in range(5):
        w.apprentice("A1", std="2", **(achiever if i == 0 else leaver))  # StdCode 2: Software Developer, ST0116
    for _ in range(4):
        w.apprentice("A2", std="2", **leaver)
    w.write(tmp_path / "d")
    write_rates(import_rates(rates_file(tmp_path)), tmp_path / "d")
    pr = load_or_compute(tmp_path / "d", "2324", "R14", results_dir=tmp_path / "c")
    (route,) = sections.national_comparison(pr, "A1", "route")
    assert (route["group"], route["agency"], route["national"], route["national_label"]) == (
        "Digital", 20.0, 57.1, "route, 2022-23")
    (std,) = sections.national_comparison(pr, "A1", "standard")
    assert (std["national"], std["national_label"]) == (63.3, "standard, 2021-22")
    # five leavers on a standard is enough for its rate to be shown against the national one; four is not
    assert len(sections.standards_to_show(pr, "A1")) == 1 and sections.standards_to_show(pr, "A2") == []
    page = sections.indicator(pr, "A1", "achievement_rate", "dfe")
    assert "route, 2022-23" in page and "standard, 2021-22" in page and "Achievement rate by standard" in page
    # the diagnosis reads retention against the same year's national rate
    assert sections.achievement_diagnosis(pr, sections._row(pr.results, "A1", "achievement_rate"))[
        "national_retention"] == 56.0
