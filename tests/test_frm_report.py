"""The provider's FRM report and workbook: sections on a hand-made provider, notes carried over, byte-stable Excel,
accessibility, and FRM queries in the agency packs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from a11y_check import axe_violations, require_browser, serious
from builders import repo_path
from openpyxl import load_workbook

from fjaaqa import frm
from fjaaqa.periods import make_period
from fjaaqa.reports import frm_sections
from fjaaqa.reports.frm import build_frm_reports
from fjaaqa.reports.frm_workbook import NOTES_HEADER, QUERY_HEADER, read_notes, workbook_bytes, write_workbook
from fjaaqa.store.frm_runs import load_or_run
from fjaaqa.synth.frm import COLLEGE, SUBCONTRACTOR

DATA = repo_path("tests", "fixtures", "frm_data")
UK = "10000009"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))


def hand_made() -> frm.FrmResult:
    """One provider, three queries: one learner on two 16 to 19 rules (£4,800 once), one adult aim (£1,200)."""
    cat, _ = frm.load_catalogue("2223")
    row = dict(UKPRN=UK, AimSeqNumber=None, LearnAimRef=None, LearnStartDate=None, PartnerUKPRN=None)
    flags = pd.DataFrame([
        {**row, "rule": "FRM43", "query_id": "FRM43-aaaa", "LearnRefNumber": "S1", "funding_stream": "study_programme",
         "funding_impact": 4800.0, "change": "persisting", "reason": "no planned learning hours"},
        {**row, "rule": "FRM69", "query_id": "FRM69-bbbb", "LearnRefNumber": "S1", "funding_stream": "study_programme",
         "funding_impact": 4800.0, "change": "new", "reason": "EEP hours are 100.0 %"},
        {**row, "rule": "FRM16", "query_id": "FRM16-cccc", "LearnRefNumber": "A1", "AimSeqNumber": "1",
         "LearnAimRef": "60110001", "LearnStartDate": "2022-09-05", "funding_stream": "aeb_esfa",
         "PartnerUKPRN": "10000010", "funding_impact": 1200.0, "change": "new", "reason": "already holds level 2"},
    ], columns=frm.FLAG_COLUMNS)
    flags["funding_impact"] = flags["funding_impact"].astype("Float64")
    resolved = pd.DataFrame([{**row, "rule": "FRM30", "query_id": "FRM30-dddd", "LearnRefNumber": "S2",
                              "funding_stream": "study_programme", "funding_impact": None, "change": "resolved",
                              "reason": "41.0 planned hours a week"}], columns=frm.FLAG_COLUMNS)
    unavailable = {"FRM20": "needs SLC loans records", "FRM21": "needs SLC loans records"}
    status = frm.rule_status(cat, flags, resolved, unavailable, [UK])
    return frm.FrmResult(make_period("2223", "R08"), cat, flags, status, unavailable, make_period("2223", "R06"),
                         resolved)


def test_summary_counts_each_learner_once_and_lists_what_did_not_run():
    res = hand_made()
    html = frm_sections.summary(res, UK)
    assert "3 queries in this return: 2 new, 1 also in 2022-23 R06, and 1 resolved since" in html
    assert "£6,000.00" in html  # 4,800 once for S1 + 1,200; not 10,800
    assert "£1,200.00 on rules where ESFA recovers" in html  # FRM16 is a recovery rule
    assert ("Not run</strong> (an input missing, or not yet published at this return): FRM20 (needs SLC loans "
            "records); FRM21") in html
    assert "No queries on FRM01, FRM13, FRM17" in html
    assert "10000010" in html and "Delivered directly (no subcontractor)" in html  # by subcontractor
    assert "ESFA adult education budget" in html and "16 to 19 study programmes" in html  # by stream


def test_calendar_marks_this_return_and_the_next_review_point():
    html = frm_sections.calendar(hand_made())
    assert "This report is for return <strong>R08</strong> (April: review point; providers contacted)" in html
    assert "The next review point is R09 (May)" in html
    assert html.count("this return") == 1


def test_rule_pages_show_guidance_actions_rows_and_resolved():
    html = frm_sections.rule_pages(hand_made(), UK)
    assert html.count('<section id="FRM') == 4  # FRM16, FRM43, FRM69 with rows; FRM30 with a resolved row
    assert "What happens at R14" in html and "recovery of the overclaimed funding" in html
    assert "FRM16-cccc" in html and "60110001 (1, 2022-09-05)" in html
    assert "queries in the previous return that are no longer raised" in html and "FRM30-dddd" in html
    # "What it checks" is the version in force at the return: at R08, FRM30 as it was before R09
    assert "Up to R08 this report queried students planned for 35 hours a week or more." in html
    later = hand_made()
    later.period = make_period("2223", "R09")
    assert "35 hours" not in frm_sections.rule_pages(later, UK)


def test_workbook_is_byte_stable_and_has_one_sheet_per_rule():
    res = hand_made()
    a, b = workbook_bytes(res, UK), workbook_bytes(res, UK)
    assert a == b
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "w.xlsx"
    path.write_bytes(a)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "FRM16", "FRM43", "FRM69", "Resolved", "Notes"]
    ws = wb["FRM16"]
    assert ws["A1"].value.startswith("FRM16: ")
    header = [c.value for c in ws[4]]
    assert header[0] == QUERY_HEADER and header[-1] == NOTES_HEADER
    assert ws["A5"].value == "FRM16-cccc" and ws["H5"].value == 1200
    assert not ws.merged_cells.ranges


def test_notes_carry_over_by_query_id_and_stay_inert(tmp_path):
    r06 = load_or_run(DATA, "2223", "R06")
    first = write_workbook(r06, COLLEGE, tmp_path / "r06.xlsx")
    wb = load_workbook(first)
    ws = wb["FRM69"]
    header = [c.value for c in ws[4]]
    qcol, ncol = header.index(QUERY_HEADER) + 1, header.index(NOTES_HEADER) + 1
    noted = {}
    for r in range(5, ws.max_row + 1):
        q = ws.cell(r, qcol).value
        note = "=HYPERLINK(\"http://x\")" if not noted else f"Checked timetable for {q}"
        ws.cell(r, ncol).value = note
        noted[q] = note
    wb.save(first)
    assert read_notes([first]) == noted

    r14 = load_or_run(DATA, "2223", "R14")
    second = write_workbook(r14, COLLEGE, tmp_path / "r14.xlsx", read_notes([first]))
    ws = load_workbook(second)["FRM69"]
    header = [c.value for c in ws[4]]
    carried = {ws.cell(r, 1).value: ws.cell(r, header.index(NOTES_HEADER) + 1) for r in range(5, ws.max_row + 1)}
    assert {q: c.value for q, c in carried.items() if c.value} == noted  # same query IDs in R14: every note carried
    assert all(c.data_type == "s" for c in carried.values() if c.value)  # the "=" note is text, not a formula

    # A query resolved by R14 keeps its note on the Resolved sheet.
    sub06 = write_workbook(r06, SUBCONTRACTOR, tmp_path / "sub06.xlsx")
    wb = load_workbook(sub06)
    ws = wb["FRM37"]
    ws.cell(5, 11).value = "Hours corrected in the MIS on 3 March"
    wb.save(sub06)
    sub14 = write_workbook(r14, SUBCONTRACTOR, tmp_path / "sub14.xlsx", read_notes([sub06]))
    res_ws = load_workbook(sub14)["Resolved"]
    values = [c.value for row in res_ws.iter_rows() for c in row]
    assert "Hours corrected in the MIS on 3 March" in values and "F37H1" in values


def test_notes_from_a_file_that_is_not_a_workbook_is_one_clear_line(tmp_path):
    bad = tmp_path / "notes.xlsx"
    bad.write_text("not a workbook")
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "frm", "--data", str(DATA), "--year", "2223",
                        "--return", "R14", "--out", str(tmp_path / "out"), "--notes", str(bad), "--no-pdf"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "notes.xlsx" in r.stderr and "not an Excel workbook" in r.stderr


def test_build_reports_index_and_accessibility(tmp_path):
    out = tmp_path / "out"
    res, summary = build_frm_reports(DATA, "2223", "R14", None, out, pdf=False)
    assert not summary.failed
    folder = out / "2223" / "R14" / "frm"
    built = sorted(r["ukprn"] for r in summary.built)
    assert built == sorted(set(res.flags["UKPRN"]) | set(res.resolved["UKPRN"]))
    for u in built:
        assert (folder / f"{u}.html").is_file() and (folder / f"{u}.xlsx").is_file()
    page = (folder / f"{COLLEGE}.html").read_text()
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script src" not in page
    listing = (folder / "index.html").read_text()
    assert all(f'href="{u}.html"' in listing for u in built)
    manifest = (folder / "manifest.json").read_text()
    assert f"2223/R14/frm/{COLLEGE}.xlsx" in manifest
    # a second build gives the same workbook bytes
    again = tmp_path / "again"
    build_frm_reports(DATA, "2223", "R14", [COLLEGE], again, pdf=False)
    assert (again / "2223/R14/frm" / f"{COLLEGE}.xlsx").read_bytes() == (folder / f"{COLLEGE}.xlsx").read_bytes()
    assert (again / "2223/R14/frm" / f"{COLLEGE}.html").read_bytes() == (folder / f"{COLLEGE}.html").read_bytes()
    require_browser()
    assert serious(axe_violations([folder / f"{COLLEGE}.html", folder / "index.html"])) == []


def test_agency_pack_shows_frm_counts_and_the_dfe_annex_the_rows():
    from fjaaqa.quality.results import PackResults
    from fjaaqa.reports import pack_sections as sections
    from fjaaqa.store.results import FRM_COLUMNS

    frm_rows = pd.DataFrame([
        ["FJAA0001", "FRM37", "Apprenticeship off-the-job training hours below the minimum", "FRM37-1111", "10000001",
         "L1", "1", "ZPROG001", "2023-09-04", "new", "planned 300 off-the-job hours; minimum 312.0"],
        ["FJAA0001", "FRM37", "Apprenticeship off-the-job training hours below the minimum", "FRM37-2222", "10000001",
         "L2", "1", "ZPROG001", "2023-10-02", "persisting", "planned 280 off-the-job hours; minimum 312.0"],
        ["FJAA0002", "FRM37", "Apprenticeship off-the-job training hours below the minimum", "FRM37-3333", "10000002",
         "L9", "1", "ZPROG001", "2023-10-02", "new", "planned 100 off-the-job hours; minimum 312.0"],
    ], columns=FRM_COLUMNS)
    meta = {"year": "2023-24", "return": "R14", "frm": {"catalogue": "2022-23", "compared_with": "2023-24 R06",
            "note": "the FRM catalogue for 2022-23 is applied to 2023-24: its rules and numbers are those of 2022-23",
                                                       "unavailable": {"FRM20": "needs SLC loans records"}}}
    results = pd.DataFrame({"agency_id": "FJAA0001", "status": "on_track",
                            "indicator": ["withdrawals", "achievement_rate", "breaks_in_learning",
                                          "past_planned_end_date", "outside_approved_areas"]})
    pr = PackResults(meta=meta, tables={"frm": frm_rows, "results": results})
    counts = sections.data_accuracy(pr, "FJAA0001", "agency")
    assert counts["total"] == 2 and counts["learners"] == 2 and counts["providers"] == ["UKPRN 10000001"]
    assert [(r["rule"], r["queries"], r["new"]) for r in counts["rules"]] == [("FRM37", 2, 1)]
    assert counts["compared_with"] == "2023-24 R06"
    # the rows themselves, with learner references, go only to the DfE version's restricted workbook
    tables = dict(sections.case_tables(pr, "FJAA0001"))
    assert list(tables) == ["FRM queries"]
    assert list(tables["FRM queries"]["Query ID"]) == ["FRM37-1111", "FRM37-2222"]  # only its own
    assert sections.data_accuracy(pr, "FJAA0003", "agency")["total"] == 0 and not sections.case_tables(pr, "FJAA0003")


def test_listing_and_report_agree_on_funding_at_risk(tmp_path):
    out = tmp_path / "out"
    res, _ = build_frm_reports(DATA, "2223", "R14", [COLLEGE], out, pdf=False)
    listing = (out / "2223/R14/frm/index.html").read_text()
    report = (out / "2223/R14/frm" / f"{COLLEGE}.html").read_text()
    total = frm_sections.money(frm_sections.impact_total(res.flags[res.flags["UKPRN"] == COLLEGE]))
    assert total in listing and f"Funding at risk if not corrected: {total}" in report
    naive = frm_sections.money(float(res.flags.loc[res.flags["UKPRN"] == COLLEGE, "funding_impact"].sum()))
    assert naive != total and naive not in listing  # one learner on several rules counts once


def test_a_report_kernel_reads_the_batchs_run_by_key_without_hashing_the_inputs(monkeypatch):
    """Reports of one batch show the run the batch made, and no kernel hashes the return again.

    At national scale each report kernel spent 0.2 s hashing the return's 185 MB
    and 0.5 s reading the run. The key names the run; its folder never changes.
    """
    from fjaaqa.errors import InputError
    from fjaaqa.store import frm_runs as frm_cache

    run = load_or_run(DATA, "2223", "R14")
    key = run.meta["key"]

    def no_hashing(*_a, **_k):
        raise AssertionError("inputs hashed again")

    reads = []
    real_read = frm_cache._read
    monkeypatch.setattr(frm_cache, "input_key", no_hashing)
    monkeypatch.setattr(frm_cache, "_read", lambda folder: reads.append(folder) or real_read(folder))
    frm_cache._read_kept.cache_clear()
    first = load_or_run(DATA, "2223", "R14", key=key)
    again = load_or_run(DATA, "2223", "R14", key=key)
    assert again is first and len(reads) == 1  # one read per kernel, not one per report
    pd.testing.assert_frame_equal(first.flags, run.flags)
    pd.testing.assert_frame_equal(first.status, run.status)
    with pytest.raises(InputError, match="is of 2022-23 R14, not 2022-23 R06"):
        load_or_run(DATA, "2223", "R06", key=key)
    with pytest.raises(InputError, match="no kept FRM run '0123456789abcdef0123'"):
        load_or_run(DATA, "2223", "R14", key="0123456789abcdef0123")
