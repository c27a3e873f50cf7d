"""Self-assessment: template round trip, every validation error, the action plan, progress, the disagreement flag."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import yaml
from builders import repo_path
from openpyxl import load_workbook

from fjaaqa.quality.results import PackResults
from fjaaqa.selfassess import reading
from fjaaqa.selfassess.frameworks import frameworks
from fjaaqa.selfassess.plan import action_plan
from fjaaqa.selfassess.reading import read_assessment
from fjaaqa.selfassess.scoring import component_scores, disagreements, partnership_profile, progress
from fjaaqa.selfassess.template import fill_programmatically, template_bytes

N_ELEMENTS = sum(len(c.elements) for c in frameworks().qif.components)


def test_frameworks_as_data():
    fw = frameworks()
    assert [c.title for c in fw.qif.components] == [
        "Commitment to Quality", "Capacity for Improvement",
        "Engaging the Local Labour Market & Supporting People Into 'Good' Jobs",
        "Participant-Practitioner Relationships", "Working with Groups of Participants",
        "Managing Influences External to the Service"]
    assert N_ELEMENTS == 32 and all(e.evidence for _, e in fw.qif.elements())
    assert len(fw.partnership.statements) == 12 and list(fw.partnership.choices) == ["A", "B", "C"]


def fill_workbook(path, ratings: dict, answers: dict, owners: dict | None = None, date="2024-06-28", held="Yes"):
    """Fill a template the way a person would in Excel (openpyxl)."""
    wb = load_workbook(path)
    ws = wb["Details"]
    for row in ws.iter_rows(min_row=4):
        if row[0].value == "Assessment date":
            row[1].value = date
    ws = wb["Elements"]
    for row in ws.iter_rows(min_row=4):
        eid = row[1].value
        if eid in ratings:
            row[4].value = ratings[eid]
        if owners and eid in owners:
            row[7].value = owners[eid]
    for row in wb["Evidence"].iter_rows(min_row=4):
        row[2].value = held
    for row in wb["Partnership"].iter_rows(min_row=4):
        if row[0].value in answers:
            row[2].value = answers[row[0].value]
    wb.save(path)


def all_elements(rating=3, **overrides):
    ids = [e.id for _, e in frameworks().qif.elements()]
    return {**dict.fromkeys(ids, rating), **overrides}


def all_statements(answer="B", **overrides):
    return {**{s.id: answer for s in frameworks().partnership.statements}, **overrides}


def test_template_is_accessible_and_byte_stable(tmp_path):
    a, b = template_bytes("FJAA0001"), template_bytes("FJAA0001")
    assert a == b
    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(a)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Instructions", "Details", "Elements", "Evidence", "Partnership"]
    ws = wb["Elements"]
    assert ws["A1"].value.startswith("IEP Quality Improvement Framework") and not ws.merged_cells.ranges
    assert any("1,2,3,4" in str(dv.formula1) or '"1,2,3,4"' in str(dv.formula1)
               for dv in ws.data_validations.dataValidation)
    assert any("A,B,C" in str(dv.formula1) for dv in wb["Partnership"].data_validations.dataValidation)


def test_template_filled_programmatically_scores(tmp_path):
    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(template_bytes("FJAA0001"))
    fill_workbook(path, all_elements(3, **{"1.1": 4, "1.2": 4, "1.3": 2, "1.4": 1, "1.5": 4}),
                  all_statements("C", P03="A"), owners={"1.4": "Partnerships lead"})
    a = read_assessment(path)
    assert a.problems == [] and a.agency_id == "FJAA0001" and a.assessment_date.isoformat() == "2024-06-28"
    scores = component_scores(a).set_index("component")
    assert scores.loc["1", "score"] == 3.0  # (4+4+2+1+4)/5
    assert scores.loc["1", "score_percent"] == 75.0
    assert scores.loc["2", "score"] == 3.0 and scores.loc["1", "evidence_coverage"] == 100.0
    assert partnership_profile(a) == {"A": 1, "B": 0, "C": 11}
    plan = action_plan(a)
    assert list(plan["item"].str.split().str[0]) == ["1.3", "1.4", "P03"]  # rated 2 or 1, and "not sure"
    assert plan.loc[plan["item"].str.startswith("1.4"), "owner"].iloc[0] == "Partnerships lead"
    assert plan.loc[plan["item"].str.startswith("1.3"), "owner"].iloc[0] == "to be agreed"
    assert set(plan["target_date"]) == {"2024-09-26"}  # 90 days after the assessment when no date is given


def test_boundary_of_a_weak_element():
    doc = fill_programmatically("X1", all_elements(3, **{"2.1": 2, "2.2": 3}), all_statements("B"), 1.0,
                                   "2024-01-31")
    a = reading._build("X1", pd.Timestamp("2024-01-31").date(),
                  [(i, {"id": e["id"], "rating": e["rating"], "strengths": None, "areas": None, "owner": None,
                        "target_date": None}) for i, e in enumerate(doc["elements"])],
                  [(i, {"element": e["element"], "evidence": e["evidence"], "held": e["held"]})
                   for i, e in enumerate(doc["evidence"])],
                  [(i, {"id": s["id"], "answer": s["answer"], "owner": None, "target_date": None, "notes": None})
                   for i, s in enumerate(doc["partnership"])], "X1.yaml", [], "X1.yaml: agency_id")
    items = list(action_plan(a)["item"].str.split().str[0])
    assert items == ["2.1"]  # 2 (developing) needs an action; 3 (established) does not; B needs none


@pytest.mark.parametrize("mutate,expected", [
    (lambda wb: wb["Elements"].cell(4, 5).__setattr__("value", None), "row 4, Rating: missing rating for element 1.1"),
    (lambda wb: wb["Elements"].cell(4, 5).__setattr__("value", 7),
     "row 4, Rating: '7' is not a whole number from 1 to 4"),
    (lambda wb: wb["Elements"].cell(4, 2).__setattr__("value", "9.9"), "Element ID: unknown element '9.9'"),
    (lambda wb: wb["Partnership"].cell(4, 3).__setattr__("value", "D"), "row 4, Answer: 'D' must be A, B or C"),
    (lambda wb: wb["Evidence"].cell(4, 3).__setattr__("value", "Maybe"), "row 4, Held: 'Maybe' must be Yes or No"),
    (lambda wb: wb["Elements"].cell(5, 9).__setattr__("value", "next week"),
     "row 5, Target date: 'next week' is not a date"),
])
def test_every_validation_error_is_one_clear_line(tmp_path, mutate, expected):
    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(template_bytes("FJAA0001"))
    fill_workbook(path, all_elements(3), all_statements("B"))
    wb = load_workbook(path)
    mutate(wb)
    wb.save(path)
    problems = read_assessment(path).problems
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p and "sheet" in p for p in problems)


def test_cli_lists_every_problem_and_exits_non_zero(tmp_path):
    path = tmp_path / "FJAA0002.xlsx"
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "selfassess", "template", "--agency", "FJAA0002",
                        "--out", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "selfassess", "score", str(path), "--out",
                        str(tmp_path / "out"), "--no-pdf"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if "FJAA0002.xlsx" in line]
    assert len(lines) == N_ELEMENTS + 12 + 1  # every rating and answer missing, and the date
    assert "nothing was scored" in r.stderr and not (tmp_path / "out").exists()


def test_progress_against_a_previous_assessment_and_owners_carried(tmp_path):
    before, now = tmp_path / "FJAA0001-2023.xlsx", tmp_path / "FJAA0001-2024.xlsx"
    before.write_bytes(template_bytes("FJAA0001"))
    fill_workbook(before, all_elements(3, **{"3.5": 1, "5.2": 2}), all_statements("B", P12="A"),
                  owners={"3.5": "Employer team lead"}, date="2023-06-30")
    wb = load_workbook(before)
    for row in wb["Partnership"].iter_rows(min_row=4):
        if row[0].value == "P12":
            row[3].value = "Operations director"
            row[4].value = "2023-12-31"
    wb.save(before)
    now.write_bytes(template_bytes("FJAA0001"))
    fill_workbook(now, all_elements(3, **{"3.5": 2, "5.2": 2, "1.1": 4}), all_statements("B", P12="A"))
    a, b = read_assessment(now), read_assessment(before)
    plan = action_plan(a, b).set_index(_plan_key := "item")
    row = plan.loc[[i for i in plan.index if i.startswith("3.5")][0]]
    assert row["owner"] == "Employer team lead" and row["progress"] == "up from 1"
    assert plan.loc[[i for i in plan.index if i.startswith("5.2")][0], "progress"] == "unchanged at 2"
    p12 = plan.loc[[i for i in plan.index if i.startswith("P12")][0]]
    assert p12["owner"] == "Operations director" and p12["target_date"] == "2023-12-31"
    assert p12["progress"] == "A then, A now"
    ch = progress(a, b).set_index("component")
    assert ch.loc["3", "change"] == round((3 * 5 + 2) / 6 - (3 * 5 + 1) / 6, 2)
    assert ch.loc["1", "change"] == 0.2


def test_disagreement_flag_when_strong_self_rating_meets_data_at_risk():
    scores = pd.DataFrame({"component": ["1", "2"], "title": ["Commitment to Quality", "Capacity for Improvement"],
                           "score": [3.0, 2.99], "evidence_coverage": [80.0, 50.0]})
    results = pd.DataFrame({"agency_id": ["A", "A", "B"], "indicator": ["withdrawals", "achievement_rate",
                                                                         "withdrawals"],
                            "status": ["at_risk", "on_track", "on_track"]})
    notes = disagreements(scores, results, "A")
    assert notes == ["Self-rated strong on 'Commitment to Quality' (3.0 of 4) while the data show the agency at "
                     "risk on withdrawals."]  # exactly 3.0 is strong; 2.99 is not
    assert disagreements(scores, results, "B") == []


def test_pack_section_only_for_agencies_with_a_self_assessment():
    from fjaaqa.reports import pack_sections as sections

    table = pd.DataFrame({"agency_id": ["A", "A"], "file": ["A.yaml"] * 2, "problems": [0, 0], "first_problem": "",
                          "assessment_date": "2024-06-28", "component": ["1", "2"],
                          "title": ["Commitment to Quality", "Capacity for Improvement"], "score": [3.6, 2.0],
                          "evidence_coverage": [100.0, 40.0]})
    results = pd.DataFrame({"agency_id": ["A"], "indicator": ["withdrawals"], "status": ["at_risk"]})
    pr = PackResults(meta={}, tables={"self_assessment": table, "results": results})
    sa = sections.self_assessment(pr, "A")
    assert [r["score"] for r in sa["rows"]] == [3.6, 2.0]
    assert sa["notes"] == ["Self-rated strong on 'Commitment to Quality' (3.6 of 4) while the data show the agency "
                           "at risk on withdrawals."]
    assert sections.self_assessment(pr, "B") is None


def test_score_command_writes_plan_and_report(tmp_path):
    src = repo_path("tests", "fixtures", "pack_data", "selfassessment", "FJAA0003.yaml")
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "selfassess", "score", str(src), "--out", str(tmp_path),
                        "--no-pdf"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "selfassessment" / "FJAA0003"
    plan = pd.read_csv(folder / "action_plan.csv")
    assert list(plan["item"].str.split().str[0]) == ["2.3", "3.5", "5.2", "P03", "P12"]
    html = (folder / "self_assessment.html").read_text()
    assert "not a DfE quality improvement plan" in html
    from a11y_check import axe_violations, require_browser, serious

    require_browser()
    assert serious(axe_violations([folder / "self_assessment.html"])) == []
    a = (folder / "action_plan.xlsx").read_bytes()
    subprocess.run([sys.executable, "-m", "fjaaqa.cli", "selfassess", "score", str(src), "--out",
                    str(tmp_path / "again"), "--no-pdf"], capture_output=True, text=True, timeout=300)
    assert (tmp_path / "again" / "selfassessment" / "FJAA0003" / "action_plan.xlsx").read_bytes() == a
    doc = yaml.safe_load(src.read_text())
    assert doc["agency_id"] == "FJAA0003"
