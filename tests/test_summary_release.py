"""The quality summary as a statistics release (issue 22): tables that fit the page, breakdowns that add up,
like-for-like headlines, the release's own elements, one-agency cells, the workbook and the charts."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from builders import repo_path
from lxml import html as lxml_html
from pydantic import ValidationError

from fjaaqa.publication import disclosure, release, summary
from fjaaqa.quality.results import PackResults
from fjaaqa.quality.thresholds import load_thresholds

DATA = repo_path("tests", "fixtures", "pack_data")
COUNTS = ["apprentices", "withdrawn", "leavers", "achievers"]


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path_factory.getbasetemp() / "release-cache"))


@pytest.fixture(scope="module")
def fixture_summary(tmp_path_factory):
    """The fixture's 2023-24 R14 summary, compared with 2022-23 R14 and (in-year) 2023-24 R06."""
    import os

    os.environ["FJAAQA_CACHE"] = str(tmp_path_factory.getbasetemp() / "release-cache")
    from fjaaqa.reports import summary_sections

    return summary_sections.load(str(DATA), "2324", "R14")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``fjaaqa summary`` on the fixture, open data, workbook and report (HTML only: the PDF prints the same HTML)."""
    import os

    out = tmp_path_factory.mktemp("summary-out")
    env = {**os.environ, "FJAAQA_CACHE": str(tmp_path_factory.getbasetemp() / "release-cache")}
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "summary", "--data", str(DATA), "--year", "2324",
                        "--return", "R14", "--out", str(out), "--no-pdf"], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    return out / "2324" / "R14" / "summary"


# ---------------------------------------------------------------- disclosure (a): one agency beside a count

def status(agencies: list[int], apprentices: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"status": ["At risk", "Needs improvement", "On track", "Total"],
                         "agencies_x": agencies, "apprentices_x": apprentices})


@pytest.mark.parametrize("minimum,agencies,hidden", [
    (2, [0, 0, 30, 30], [False, False, False, False]),   # no agency: nothing to give away (the count is 0)
    (2, [1, 3, 26, 30], [True, False, False, False]),    # one agency: below the minimum of 2
    (2, [2, 3, 25, 30], [False, False, False, False]),   # exactly at the minimum: shown
    (3, [2, 3, 25, 30], [True, False, False, False]),    # one below the minimum of 3
    (3, [3, 3, 24, 30], [False, False, False, False]),   # at it
    (1, [1, 3, 26, 30], [False, False, False, False]),   # a minimum of 1 hides nothing
])
def test_a_count_beside_fewer_agencies_than_the_minimum_is_suppressed(minimum, agencies, hidden):
    df = status(agencies, [252, 300, 2030, 2582])
    mask = disclosure.few_contributors(df, {"apprentices_x": "agencies_x"}, minimum)
    assert list(mask["apprentices_x"]) == hidden
    assert not mask["agencies_x"].any()  # counts of agencies themselves are never hidden


def test_one_agency_cell_hides_its_apprentices_and_a_partner_so_it_cannot_be_worked_out():
    # "1 (252)" at risk: 252 is one agency's size. Hidden, it would be 2582 - 300 - 2030 = 252 from the total, so
    # the smallest other non-zero count of the column (300) is hidden too. 2030 and the total stay.
    df = status([1, 3, 26, 30], [252, 300, 2030, 2582])
    few = disclosure.few_contributors(df, {"apprentices_x": "agencies_x"}, 2)
    out, hide = disclosure.protect(df, ["apprentices_x"], [], 5, 1, None, "status", also=few)
    assert list(out["apprentices_x"]) == ["c", "c", "2030", "2582"]
    assert disclosure.recoverable(df, hide, ["apprentices_x"], None, "status") == []
    # without the rule nothing is hidden: every count is 5 or more
    plain, _ = disclosure.protect(df, ["apprentices_x"], [], 5, 1, None, "status")
    assert list(plain["apprentices_x"]) == ["252", "300", "2030", "2582"]


def test_two_single_agency_cells_protect_each_other():
    df = status([1, 1, 28, 30], [252, 84, 2246, 2582])  # the demo's past planned end date column
    few = disclosure.few_contributors(df, {"apprentices_x": "agencies_x"}, 2)
    out, _ = disclosure.protect(df, ["apprentices_x"], [], 5, 1, None, "status", also=few)
    assert list(out["apprentices_x"]) == ["c", "c", "2246", "2582"]


def test_the_status_table_never_shows_one_agency_beside_its_apprentices(fixture_summary):
    s = fixture_summary
    table, raw = s.tables["fjaa_agencies_by_status"], s.raw["agencies_by_status"]
    people = [c for c in raw.columns if c.startswith("apprentices_")]
    singles = 0
    for c in people:
        units = "agencies_" + c[len("apprentices_"):]
        for i in table.index:
            if table.at[i, units] == "1":
                singles += 1
                assert table.at[i, c] == "c", (table.at[i, "status"], c)
    assert singles >= 2  # the fixture has them (withdrawals and breaks: one agency needs improvement)
    assert disclosure.recoverable(raw, s.hidden["fjaa_agencies_by_status"], people, None, "status") == []


def test_min_agencies_per_cell_is_a_validated_parameter():
    d = summary.publication_params().disclosure
    assert d.min_agencies_per_cell == 3
    as_dict = d.model_dump()
    with pytest.raises(ValidationError):
        summary.Disclosure.model_validate({**as_dict, "min_agencies_per_cell": 0})
    with pytest.raises(ValidationError):
        summary.Disclosure.model_validate({k: v for k, v in as_dict.items() if k != "min_agencies_per_cell"})


# ---------------------------------------------------------------- totals reconcile

def hand_made() -> PackResults:
    """Six live apprentices and four leavers, worked out by hand.

    Apprentices: A1 London (withdrew), A2 London, A3 North East, A4 region Unknown (withdrew), A5 Wales, A6 none
    recorded; A9 London is not live (left before the year). Leavers: A1 (no), A2 (achieved), A3 (achieved), and A7,
    whose apprenticeship is not in this return (no workplace known).
    """
    app = pd.DataFrame({"agency_id": "X", "ULN": ["1", "2", "3", "4", "5", "6", "9"], "StdCode": "100",
                        "live": [True] * 6 + [False], "withdrawn_in_year": [True, False, False, True, False, False,
                                                                             True],
                        "region": ["London", "London", "North East", "Unknown", "Wales", None, "London"],
                        "route": "Digital"})
    aims = pd.DataFrame({"agency_id": "X", "ULN": ["1", "2", "3", "7", "5"], "StdCode": "100",
                         "leaver": [True, True, True, True, False], "achiever": [False, True, True, False, False],
                         "route": "Digital"})
    return PackResults(meta={"year": "2023-24", "return": "R14"}, tables={"apprentices": app, "aims": aims})


def test_a_breakdown_keeps_a_remainder_row_so_it_adds_up_to_its_total():
    t = summary.rates_by(hand_made(), "region", "Outside of England and unknown", ["North East", "London"])
    assert list(t["region"]) == ["North East", "London", "Outside of England and unknown", "Total"]
    by = t.set_index("region")
    assert by.loc["North East"].tolist() == [1, 0, 1, 1]
    assert by.loc["London"].tolist() == [2, 1, 2, 1]
    # A4 (Unknown), A5 (Wales: not an English region), A6 (none) and the leaver A7 with no apprenticeship row
    assert by.loc["Outside of England and unknown"].tolist() == [3, 1, 1, 0]
    assert by.loc["Total"].tolist() == [6, 2, 4, 2]
    for c in COUNTS:
        assert by.drop(index="Total")[c].sum() == by.loc["Total", c], c
    assert summary.leavers_without(hand_made(), "region") == 1


def test_the_remainder_row_appears_only_when_it_holds_anyone():
    t = summary.rates_by(hand_made(), "route", "Unknown")  # every apprentice and leaver has a route
    assert list(t["route"]) == ["Digital", "Total"]
    pr = hand_made()
    pr.tables["apprentices"].loc[0, "route"] = "Unknown"  # the reference data's word for a standard not known
    t = summary.rates_by(pr, "route", "Unknown").set_index("route")
    assert t.loc["Unknown"].tolist() == [1, 1, 0, 0] and t.loc["Total", "apprentices"] == 6


def _table(page: str, caption: str) -> list[list[str]]:
    """The body rows of the HTML table with ``caption``, each cell's text."""
    doc = lxml_html.fromstring(page)
    table = next(t for t in doc.iter("table") if t.find("caption") is not None
                 and t.find("caption").text_content().strip() == caption)
    return [[c.text_content().strip() for c in tr if c.tag in ("th", "td")] for tr in table.find("tbody")]


def _as_csv(cell: str) -> str:
    """A page cell in the open data's spelling (2,582 -> 2582, [c] -> c, 65.0 stays 65.0)."""
    return cell.replace(",", "").strip("[]")


def test_every_breakdown_adds_up_and_is_the_same_in_csv_html_pdf_and_workbook(built):
    from pagefill import printed_pages

    page = (built / "quality_summary.html").read_text()
    book = openpyxl.load_workbook(built / release.WORKBOOK)
    printed = " ".join(p.text for p in printed_pages(built / "quality_summary.html"))
    for name, caption, label in (("fjaa_rates_by_route", "By occupational route", "route"),
                                 ("fjaa_rates_by_region", "By region of the workplace", "region_name")):
        csv = pd.read_csv(built / "data" / f"{name}.csv", dtype=str, keep_default_na=False)
        parts, total = csv.iloc[:-1], csv.iloc[-1]
        for c in COUNTS:  # a column with nothing suppressed adds up on its face
            if not (parts[c] == "c").any():
                assert parts[c].astype(int).sum() == int(total[c]), (name, c)
        # the page shows the same rows and figures, the remainder row included
        rows = _table(page, caption)
        assert len(rows) == len(csv)
        shown = ["apprentices", "withdrawn", "withdrawal_rate", "leavers", "achievers", "achievement_rate"]
        for row, (_, rec) in zip(rows, csv.iterrows()):
            assert [_as_csv(v) for v in row[1:7]] == [rec[c] for c in shown], row
        # the workbook too: numbers as numbers, symbols in brackets
        ws = book[name.removeprefix("fjaa_")]
        cells = [[c.value for c in r] for r in ws.iter_rows(min_row=5, max_row=4 + len(csv))]
        first = 2 if name == "fjaa_rates_by_region" else 1
        for cellrow, (_, rec) in zip(cells, csv.iterrows()):
            want = [rec[c] for c in COUNTS + ["withdrawal_rate", "achievement_rate"]]
            for got, text in zip(cellrow[first:first + 6], want):  # 65.0 is stored as the number 65 (shown 65.0)
                assert (float(got) == float(text)) if isinstance(got, (int, float)) else got == f"[{text}]", cellrow
        # and the printed page keeps every row (the PDF is printed from this very HTML)
        for rec_label in csv[label]:
            assert (rec_label or "England (all regions)") in printed, rec_label
    region = pd.read_csv(built / "data" / "fjaa_rates_by_region.csv", dtype=str, keep_default_na=False)
    assert list(region["region_code"])[-2:] == ["z", ""] and region["region_name"].iloc[-2] == \
        "Outside of England and unknown"


def test_the_true_figures_of_every_breakdown_add_up(fixture_summary):
    s = fixture_summary
    for key, label in (("rates_by_route", "route"), ("rates_by_region", "region")):
        t = s.raw[key].set_index(label)
        for c in COUNTS:
            assert t.drop(index="Total")[c].sum() == t.loc["Total", c], (key, c)
    st = s.raw["agencies_by_status"].set_index("status")
    for c in st.columns:
        assert st.drop(index="Total")[c].fillna(0).sum() == st.loc["Total", c], c
    # the fixture's leavers whose apprenticeship ended in an earlier year have no region: all in the remainder
    region = s.raw["rates_by_region"].set_index("region")
    assert region.loc["Outside of England and unknown", "leavers"] >= summary.leavers_without(s.pr, "region") > 0


# ---------------------------------------------------------------- like for like

def periods(year: str, ret: str, held: list[tuple[str, str]]) -> PackResults:
    return PackResults(meta={"year": year, "return": ret},
                       tables={"all_periods": pd.DataFrame(held, columns=["year", "return"])})


HELD = [("2021-22", "R14"), ("2022-23", "R06"), ("2022-23", "R14"), ("2023-24", "R06"), ("2023-24", "R14")]


@pytest.mark.parametrize("year,ret,same,earlier", [
    ("2023-24", "R14", ("2223", "R14"), ("2324", "R06")),   # final: last year's final; in-year: R06
    ("2023-24", "R06", ("2223", "R06"), None),              # provisional: last year's R06; nothing earlier
    ("2022-23", "R06", None, None),                         # 2021-22 R06 is not held: no comparison
    ("2022-23", "R14", ("2122", "R14"), ("2223", "R06")),
])
def test_comparisons_are_the_same_return_a_year_earlier_and_in_year_only_as_such(year, ret, same, earlier):
    from fjaaqa.reports.summary_sections import compared_periods

    assert compared_periods(periods(year, ret, HELD)) == (same, earlier)


def results(statuses: dict[str, dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"agency_id": a, "indicator": i, "status": st} for a, by in statuses.items()
                         for i, st in by.items()])


def test_agencies_at_risk_are_counted_per_indicator_and_on_any():
    now = PackResults(meta={}, tables={"results": results({
        "A": {"withdrawals": "at_risk", "achievement_rate": "at_risk"},
        "B": {"withdrawals": "needs_improvement", "achievement_rate": "at_risk"},
        "C": {"withdrawals": "on_track", "achievement_rate": "on_track"}})})
    then = PackResults(meta={}, tables={"results": results({
        "A": {"withdrawals": "on_track", "achievement_rate": "on_track"},
        "B": {"withdrawals": "at_risk", "achievement_rate": "no_data"}})})
    c = summary.at_risk_compared(now, then).set_index("indicator")
    assert c.loc["Withdrawals"].tolist() == [1, 1]
    assert c.loc["Achievement rate"].tolist() == [2, 0]
    assert c.loc["Breaks in learning"].tolist() == [0, 0]
    assert c.loc["Any indicator"].tolist() == [2, 1]  # A and B (each once), against B
    assert "Delivery outside approved areas" not in c.index  # it has no at-risk status
    alone = summary.at_risk_compared(now, None)
    assert alone["previous"].isna().all() and list(alone["this"]) == [1, 2, 0, 0, 2]


def test_the_headline_compares_with_the_same_return_of_the_previous_year(fixture_summary):
    s = fixture_summary
    assert (s.previous.meta["year"], s.previous.meta["return"]) == ("2022-23", "R14")
    assert (s.in_year.meta["year"], s.in_year.meta["return"]) == ("2023-24", "R06")
    lead = s.commentary[1]
    assert "at R14 of 2023-24, against" in lead and "at R14 of 2022-23, the same point of the previous year" in lead
    assert not any("R06" in line for line in s.commentary)  # no part-year figure in the headline facts
    moved = [r for r in s.revisions if "R06" in r]
    assert len(moved) == 1 and moved[0].startswith("In-year movement, not a like-for-like comparison")
    assert "31 January 2024" in moved[0]  # the R06 census, in words


# ---------------------------------------------------------------- release elements

def test_release_dates_are_parameters_and_never_the_census_date(fixture_summary):
    from fjaaqa.reports import summary_sections

    s = fixture_summary
    r = summary.release_of(s.pr, s.params)
    assert (r.release.isoformat(), r.next_update.isoformat()) == ("2024-12-12", "2025-03-27")
    assert r.release != s.pr.period.census
    cover = summary_sections.cover(s, "2024-12-12")
    assert "<dt>Released</dt><dd>12 December 2024</dd>" in cover and "27 March 2025" in cover
    assert "<dt>Released</dt><dd>31 July 2024" not in cover
    # a period with no pre-announced dates says so, never falls back to the census
    none = s.params.model_copy(update={"publication": s.params.publication.model_copy(update={"releases": {}})})
    assert summary.release_of(s.pr, none) is None
    s2 = summary.Summary(s.pr, s.previous, none, s.tables, s.hidden, s.raw, s.commentary, s.revisions)
    assert "<dt>Released</dt><dd>Not announced</dd>" in summary_sections.cover(s2, "")
    with pytest.raises(ValidationError):
        summary.Release.model_validate({"release": "soon", "next_update": "2025-03-27"})


def test_the_report_carries_licence_contact_designation_its_files_and_its_methodology(built):
    from linkcheck import broken_links

    page = (built / "quality_summary.html").read_text()
    pub = summary.publication_params().publication
    assert pub.designation in page and "not official statistics" in pub.designation
    assert "Open Government Licence v3.0" in page and pub.licence_address in page
    assert pub.contact.team in page and f'href="mailto:{pub.contact.email}"' in page
    for name in ("fjaa_rates_by_route", "fjaa_rates_by_region", "fjaa_agencies_by_status"):
        assert f'href="data/{name}.csv"' in page and f'href="data/{name}.meta.csv"' in page
    assert f'href="{release.WORKBOOK}"' in page
    assert broken_links(built) == []
    # the methodology is a section of the report, with the threshold set's own numbers; no repository path
    assert 'id="methodology"' in page and "docs/methodology.md" not in page
    w = load_thresholds("quality-framework-2023").indicators.withdrawals
    assert f"At risk above {w.at_risk_above:g}%; needs improvement above {w.needs_improvement_above:g}%" in page
    # the run date defaults to the release date; the page footer carries the designation
    assert f"on 2024-12-12. {pub.designation}." in page


# ---------------------------------------------------------------- the workbook

def small_summary(rate_dp: int = 1, previous: bool = False) -> summary.Summary:
    """A summary whose one route table is written by hand: 1,300 apprentices, a rate of exactly 65.0, c and z."""
    p = summary.publication_params()
    p = p.model_copy(update={"disclosure": p.disclosure.model_copy(update={"rate_dp": rate_dp})})
    geo = {"time_period": "202324", "time_identifier": "Academic year", "geographic_level": "National",
           "country_code": "E92000001", "country_name": "England", "region_code": "", "region_name": ""}
    route = pd.DataFrame([{**geo, "route": "Digital", "apprentices": "1300", "withdrawn": "130", "leavers": "20",
                           "achievers": "13", "withdrawal_rate": "10.0", "achievement_rate": "65.0"},
                          {**geo, "route": "Hair and beauty", "apprentices": "c", "withdrawn": "0", "leavers": "0",
                           "achievers": "0", "withdrawal_rate": "c", "achievement_rate": "z"},
                          {**geo, "route": "Total", "apprentices": "1303", "withdrawn": "130", "leavers": "20",
                           "achievers": "13", "withdrawal_rate": "10.0", "achievement_rate": "65.0"}])
    compared = pd.DataFrame({"indicator": ["Withdrawals", "Any indicator"], "this": [1, 2],
                             "previous": [3.0, 4.0] if previous else [float("nan")] * 2})
    pr = PackResults(meta={"year": "2023-24", "return": "R14"})
    return summary.Summary(pr, None, p, tables={"fjaa_rates_by_route": route},
                           raw={"at_risk_compared": compared}, commentary=["A line."], revisions=["Final."])


def test_the_workbook_follows_the_spreadsheet_guidance(tmp_path):
    path = tmp_path / "book.xlsx"
    data = release.workbook_bytes(small_summary())
    path.write_bytes(data)
    assert release.workbook_bytes(small_summary()) == data  # byte-stable
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cover", "Contents", "Notes", "rates_by_route", "at_risk_compared"]
    ws = wb["rates_by_route"]
    assert ws["A1"].value == ("Withdrawals and achievement by occupational route, 2023-24 R14 [note 1] [note 2]")
    head = [c.value for c in ws[4]]
    assert head[0] == "Occupational route [note 6]" and head[6] == "Achievement rate (%) [note 4]"
    assert ws.cell(4, 2).alignment.horizontal == "right" and ws.cell(4, 1).alignment.horizontal != "right"
    digital, hair = ws[5], ws[6]
    assert digital[1].value == 1300 and digital[1].number_format == "#,##0"  # shows as 1,300
    assert digital[6].value == 65 and digital[6].number_format == "0.0"     # shows as 65.0, not 65
    assert digital[5].value == 10 and digital[5].number_format == "0.0"
    for cell, symbol in ((hair[1], "[c]"), (hair[5], "[c]"), (hair[6], "[z]")):
        assert cell.value == symbol and cell.alignment.horizontal == "right"  # right-aligned like the numbers
    assert all(c.alignment.horizontal == "right" for c in digital[1:])
    assert ws.tables["rates_by_route"].ref == "A4:G7"
    # the notes sheet explains every shorthand symbol in square brackets
    notes = {r[0].value: r[1].value for r in wb["Notes"].iter_rows(min_row=4) if r[0].value}
    assert notes["note 1"].startswith("[c]") and notes["note 2"].startswith("[z]")
    assert notes["note 3"].startswith("[x]") and "1 to 4" in notes["note 1"]
    # a comparison with a return not held is not available: [x], right-aligned
    compared = wb["at_risk_compared"]
    assert compared["C5"].value == "[x]" and compared["C5"].alignment.horizontal == "right"
    # dates are dates, and the release date is not the census date
    cover = [c.value for c in wb["Cover"]["A"]]
    released = cover[cover.index("Release date") + 1]
    assert isinstance(released, datetime) and released == datetime(2024, 12, 12)
    assert wb["Cover"].cell(cover.index("Release date") + 2, 1).number_format == "d mmmm yyyy"
    assert cover[cover.index("Next update") + 1] == datetime(2025, 3, 27)
    assert datetime(2024, 7, 31) in cover and cover.index(datetime(2024, 7, 31)) > cover.index("Data as at")
    assert "Management information, not official statistics" in cover
    assert any("Open Government Licence v3.0" in str(v) for v in cover)
    link = wb["Contents"]["A4"].hyperlink
    assert link is not None and link.location == "'Notes'!A1"


@pytest.mark.parametrize("dp,fmt", [(0, "0"), (1, "0.0"), (2, "0.00")])
def test_rates_are_formatted_at_the_published_decimal_places(tmp_path, dp, fmt):
    path = tmp_path / "book.xlsx"
    path.write_bytes(release.workbook_bytes(small_summary(rate_dp=dp, previous=True)))
    ws = openpyxl.load_workbook(path)["rates_by_route"]
    assert ws["G5"].number_format == fmt
    compared = openpyxl.load_workbook(path)["at_risk_compared"]
    assert compared["C5"].value == 3 and compared["C5"].number_format == "#,##0"


# ---------------------------------------------------------------- charts

def test_charts_use_the_analysis_function_pairing_label_their_values_and_never_rely_on_colour(fixture_summary):
    from fjaaqa.render.charts import AF_DUO, AF_FOCUS_GREY
    from fjaaqa.reports import summary_sections

    s = fixture_summary
    compared = summary_sections.compared_chart(s).upper()
    assert AF_DUO[0] in compared and AF_DUO[1] in compared
    assert "#CA3535" not in compared and "#0F7A52" not in compared  # no red/green traffic lights
    text = summary_sections.compared_chart(s)
    assert "0 in 2023-24 R14" in text and "2 in 2022-23 R14" in text  # each bar names its series in its label
    status = summary_sections.status_chart(s)
    assert AF_FOCUS_GREY in status.upper() and AF_DUO[0] in status.upper() and AF_DUO[1] in status.upper()
    assert "1 need improvement" in status and "5 with data" in status and "0 at risk" in status


# ---------------------------------------------------------------- tables fit the page

def test_the_page_checker_finds_a_table_wider_than_its_page(tmp_path):
    from pagefit import main, wide_tables, wide_tables_in

    cells = "".join(f"<td style='white-space:nowrap'>a long unbreakable heading number {i}</td>" for i in range(8))
    wide = tmp_path / "wide.html"
    wide.write_text(f"<html><body><table><caption>Too wide</caption><tr>{cells}</tr></table></body></html>")
    narrow = tmp_path / "narrow.html"
    narrow.write_text("<html><body><table><caption>Fits</caption><tr><td>1</td><td>2</td></tr></table></body></html>")
    found = wide_tables(wide)
    assert len(found) == 1 and found[0].page == 1 and found[0].label == "Too wide" and found[0].overhang_mm > 10
    assert wide_tables(narrow) == []
    (tmp_path / "wide.pdf").write_bytes(b"%PDF")  # only pages printed to PDF are checked
    assert list(wide_tables_in(tmp_path)) == ["wide.html"]
    assert main([str(tmp_path)]) == 1 and main([str(tmp_path / "nothing")]) == 2


def test_the_summary_tables_fit_their_pages(built):
    from pagefit import wide_tables

    assert wide_tables(built / "quality_summary.html") == []


def test_links_in_a_pdf_stay_relative_to_the_pdf(tmp_path):
    """The report's links to its CSVs and workbook open the files beside the PDF; no machine's path is printed."""
    from privacy import pdf_objects

    from fjaaqa.render.export import write_pdf

    page = ('<!DOCTYPE html><html lang="en-GB"><head><title>Links</title></head><body><p><a href="data/t.csv">'
            'data</a> <a href="../../methodology.html">method</a></p></body></html>')
    raw = pdf_objects(write_pdf(page, tmp_path / "links.pdf", "2024-12-12").read_bytes())
    assert b"(data/t.csv)" in raw and b"(../../methodology.html)" in raw
    assert b"file:" not in raw


@pytest.mark.parametrize("remainder,placeless,shown", [
    ("164", 161, None),   # the rest (3) would be a small count by difference
    ("164", 159, 159),    # 159 and 5: both at least the threshold
    ("164", 164, 164),    # the rest is 0
    ("c", 3, None),       # the remainder's leavers are suppressed: a number would narrow them
    ("20", 2, None),      # the part itself is small
])
def test_the_note_on_leavers_without_a_workplace_never_undoes_suppression(monkeypatch, remainder, placeless, shown):
    from types import SimpleNamespace

    p = summary.publication_params()
    assert p.disclosure.suppress_below == 5
    monkeypatch.setattr(summary, "leavers_without", lambda pr, dim: placeless)
    region = pd.DataFrame({"region_name": ["North East", p.geography.unknown_region_name],
                           "leavers": ["10", remainder]})
    assert summary.placeless_shown(SimpleNamespace(pr=None, params=p), region) == shown
