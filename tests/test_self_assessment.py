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
    assert N_ELEMENTS == 33 and all(e.evidence for _, e in fw.qif.elements())
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
    doc = fill_programmatically("X1", all_elements(3, **{"2.1": 2, "2.2": 3}), all_statements("C"), 1.0,
                                   "2024-01-31")
    a = reading._build("X1", pd.Timestamp("2024-01-31").date(),
                  [(i, {"id": e["id"], "rating": e["rating"], "strengths": None, "areas": None, "owner": None,
                        "target_date": None}) for i, e in enumerate(doc["elements"])],
                  [(i, {"element": e["element"], "evidence": e["evidence"], "held": e["held"]})
                   for i, e in enumerate(doc["evidence"])],
                  [(i, {"id": s["id"], "answer": s["answer"], "owner": None, "target_date": None, "notes": None})
                   for i, s in enumerate(doc["partnership"])], "X1.yaml", [], "X1.yaml: agency_id")
    items = list(action_plan(a)["item"].str.split().str[0])
    assert items == ["2.1"]  # 2 (developing) needs an action; 3 (established) does not; C needs none


@pytest.mark.parametrize("mutate,expected", [
    (lambda wb: wb["Elements"].cell(4, 5).__setattr__("value", None), "row 4, Rating: missing rating for element 1.1"),
    (lambda wb: wb["Elements"].cell(4, 5).__setattr__("value", 7),
     "row 4, Rating: '7' is not a whole number from 1 to 4"),
    (lambda wb: wb["Elements"].cell(4, 2).__setattr__("value", "9.9"), "Element ID: unknown element '9.9'"),
    (lambda wb: wb["Partnership"].cell(4, 3).__setattr__("value", "D"), "row 4, Answer: 'D' must be A, B, C or N/A"),
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
    # weak elements, then the A (not sure) statements, then the B (some progress) ones; P01 is C
    assert list(plan["item"].str.split().str[0]) == ["2.3", "3.5", "5.2", "P03", "P12", "P02", "P04", "P05", "P06",
                                                     "P07", "P08", "P09", "P10", "P11"]
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


# ------------------------------------------------------------------ fidelity to the seeds (issue 21, item 10)

# Evidence items per element, counted by hand in ../shared/seeds/iep-quality-improvement-framework.txt (the
# lines after each element's examples); component 5 has none there, so its three lists are ours.
SEED_EVIDENCE_COUNTS = {
    "1.1": 7, "1.2": 2, "1.3": 6, "1.4": 3, "1.5": 5,  # seed lines 61-73, 81-83, 89-99, 105-109, 125-133
    "2.1": 1, "2.2": 4, "2.3": 5, "2.4": 2, "2.5": 3, "2.6": 3,  # 155, 166-172, 181-189, 199-203, 209-213, 219-223
    "3.1": 5, "3.2": 3, "3.3": 2, "3.4": 2, "3.5": 5, "3.6": 3,  # 240-248, 257-261, 270-272, 278-280, 290-298, 306-310
    "4.1": 7, "4.2": 8, "4.3": 4, "4.4": 5, "4.5": 2, "4.6": 4, "4.7": 2, "4.8": 2,  # 327-339 ... 466-468
    "6.1": 3, "6.2": 4, "6.3": 2, "6.4": 6, "6.5": 3,  # 516-520, 531-537, 549-551, 562-572, 580-584
}


def test_every_evidence_list_has_the_seeds_number_of_items():
    """A comma inside a [a, b] YAML list once split one item into two (1.2, 2.6): counts catch that."""
    fw = frameworks()
    got = {e.id: len(e.evidence) for _, e in fw.qif.elements() if e.evidence_by == "framework"}
    assert got == SEED_EVIDENCE_COUNTS
    ours = {e.id: len(e.evidence) for _, e in fw.qif.elements() if e.evidence_by == "fjaaqa"}
    assert ours == {"5.1": 2, "5.2": 2, "5.3": 3}


def test_element_6_5_and_the_evidence_of_6_4_follow_the_seed():
    el = {e.id: e for _, e in frameworks().qif.elements()}
    assert [e.id for e in frameworks().qif.components[5].elements] == ["6.1", "6.2", "6.3", "6.4", "6.5"]
    assert el["6.5"].title == "Responding to local circumstances"
    assert el["6.5"].evidence == ["Examples of the service responding to change",
                                  "Service design that weighs outside factors", "Records of how risks are managed"]
    assert el["6.4"].evidence == ["Case reviews", "Participant feedback", "Staff feedback",
                                  "Examples of ethical considerations put into practice",
                                  "Changes made to policies, processes or the service",
                                  "Suitable development (CPD) for staff"]
    assert "Ethics policy" not in el["6.4"].evidence  # not in the seed


def test_component_5_evidence_is_shown_as_fjaaqas_suggestion_in_workbook_and_yaml(tmp_path):
    from fjaaqa.selfassess.template import template_yaml

    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(template_bytes("FJAA0001"))
    rows = list(load_workbook(path)["Evidence"].iter_rows(min_row=3, values_only=True))
    assert rows[0] == ("Element ID", "Evidence", "Held", "Listed by")
    by = {r[0]: r[3] for r in rows[1:]}
    assert by["5.1"] == by["5.3"] == "fjaaqa's suggestion (the framework lists none)"
    assert by["4.8"] == by["6.1"] == "the framework"
    doc = yaml.safe_load(template_yaml("FJAA0001"))
    assert {e["listed_by"] for e in doc["evidence"] if e["element"].startswith("5.")} == {
        "fjaaqa's suggestion (the framework lists none)"}
    assert [e["id"] for e in doc["elements"]][-1] == "6.5"


def filled_yaml(tmp_path, ratings: dict, answers: dict, held="Yes", name="FJAA0001.yaml", **changes):
    """A completed YAML self-assessment (every element rated, every statement answered), read back."""
    doc = fill_programmatically("FJAA0001", ratings, answers, 1.0, "2024-06-28")
    for ev in doc["evidence"]:
        ev["held"] = held(ev) if callable(held) else held
    doc.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return read_assessment(path)


def test_plan_lists_not_sure_then_some_progress_each_in_checklist_order(tmp_path):
    a = filled_yaml(tmp_path, all_elements(3), all_statements("C", P01="B", P02="A", P04="A", P05="B"))
    assert a.problems == []
    plan = action_plan(a)
    assert list(plan["item"].str.split().str[0]) == ["P02", "P04", "P01", "P05"]  # C (P03 and on) gets none
    assert list(plan["rating"]) == ["A Not sure", "A Not sure", "B Some progress", "B Some progress"]
    fw = frameworks()
    assert list(plan["action"]) == [fw.partnership.actions["A"]] * 2 + [fw.partnership.actions["B"]] * 2
    assert fw.partnership.actions["A"] != fw.partnership.actions["B"]


def test_weak_elements_come_before_every_statement(tmp_path):
    a = filled_yaml(tmp_path, all_elements(3, **{"6.5": 2, "1.1": 1}), all_statements("C", P12="B", P11="A"))
    assert list(action_plan(a)["item"].str.split().str[0]) == ["1.1", "6.5", "P11", "P12"]


@pytest.mark.parametrize("spelling", ["N/A", "n/a", "NA", "na", "Not applicable", "NOT APPLICABLE",
                                      "  not   applicable "])
def test_not_applicable_spellings_accepted_in_yaml(tmp_path, spelling):
    a = filled_yaml(tmp_path, all_elements(3, **{"5.1": spelling}), all_statements("C", P03=spelling))
    assert a.problems == []
    assert a.elements.set_index("id").loc["5.1", "not_applicable"]
    assert a.partnership.set_index("id").loc["P03", "answer"] == "N/A"


@pytest.mark.parametrize("spelling", ["N.A.", "None", "-", "not relevant", "NA/"])
def test_other_spellings_are_problems_naming_row_and_field(tmp_path, spelling):
    a = filled_yaml(tmp_path, all_elements(3, **{"5.1": spelling}), all_statements("C", P03=spelling))
    assert any(f"Rating: '{spelling.strip()}' is not a whole number from 1 to 4, or N/A" in p for p in a.problems)
    assert any(f"Answer: '{spelling.strip()}' must be A, B, C or N/A" in p for p in a.problems), a.problems
    assert len(a.problems) == 2


def test_not_applicable_in_the_workbook_and_its_drop_downs(tmp_path):
    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(template_bytes("FJAA0001"))
    wb = load_workbook(path)
    assert any("N/A" in str(dv.formula1) for dv in wb["Elements"].data_validations.dataValidation)
    assert any("A,B,C,N/A" in str(dv.formula1) for dv in wb["Partnership"].data_validations.dataValidation)
    fill_workbook(path, all_elements(3, **{"6.5": "n/a"}), all_statements("C", P04="Not applicable"))
    a = read_assessment(path)
    assert a.problems == []
    assert component_scores(a).set_index("component").loc["6", "not_applicable"] == 1
    assert list(a.partnership.loc[a.partnership["answer"] == "N/A", "id"]) == ["P04"]


def test_not_applicable_is_left_out_of_scores_denominators_and_the_plan(tmp_path):
    # component 1: 1.1 not applicable; 1.2 = 4, 1.3 = 2, 1.4 = 3, 1.5 = 3; 1.3's six evidence types not held
    a = filled_yaml(tmp_path, all_elements(3, **{"1.1": "N/A", "1.2": 4, "1.3": 2}),
                    all_statements("C", P01="A", P02="B", P03="N/A", P04="n/a", P05="Not applicable"),
                    held=lambda ev: "No" if ev["element"] == "1.3" else "Yes")
    assert a.problems == []
    c1 = component_scores(a).set_index("component").loc["1"]
    assert (c1["elements"], c1["rated"], c1["not_applicable"]) == (5, 4, 1)
    assert c1["score"] == 3.0 and c1["score_percent"] == 75.0  # (4+2+3+3)/4, not (…)/5 = 2.4
    # 1.1's seven types (held) are out: 1.2 two + 1.4 three + 1.5 five held, of 2 + 6 + 3 + 5 = 16
    assert (c1["evidence_held"], c1["evidence_types"], c1["evidence_coverage"]) == (10, 16, 62.5)
    assert partnership_profile(a) == {"A": 1, "B": 1, "C": 7}  # 9 statements apply
    assert list(action_plan(a)["item"].str.split().str[0]) == ["1.3", "P01", "P02"]
    from fjaaqa.selfassess.scoring import not_applicable

    na = not_applicable(a)
    assert [i.split()[0] for i in na["elements"]] == ["1.1"]
    assert [i.split()[0] for i in na["statements"]] == ["P03", "P04", "P05"]


def test_a_component_and_the_checklist_wholly_not_applicable_show_so_not_zero(tmp_path):
    from fjaaqa.reports import self_assessment as sr

    a = filled_yaml(tmp_path, all_elements(3, **{"5.1": "N/A", "5.2": "N/A", "5.3": "N/A"}),
                    all_statements("N/A"))
    assert a.problems == []
    c5 = component_scores(a).set_index("component").loc["5"]
    assert (c5["rated"], c5["not_applicable"], c5["evidence_types"]) == (0, 3, 0)
    assert pd.isna(c5["score"]) and pd.isna(c5["score_percent"]) and pd.isna(c5["evidence_coverage"])
    assert partnership_profile(a) == {"A": 0, "B": 0, "C": 0}
    assert action_plan(a).empty
    s = sr.score_files(str(tmp_path / "FJAA0001.yaml"))
    html = sr.scores(s)
    row = html[html.index("5. Working with Groups of Participants"):].split("</tr>")[0]
    assert "all 3 not applicable" in row and row.count('<td class="num">not applicable</td>') == 2
    assert "0.00" not in row and "0.0%" not in row and "nan" not in row and "(0%)" not in row
    assert "every statement of the checklist not applicable" in html
    # one below the boundary: two of component 5's three elements not applicable, 5.3 rated 2
    b = filled_yaml(tmp_path, all_elements(3, **{"5.1": "N/A", "5.2": "N/A", "5.3": 2}), all_statements("C"),
                    name="FJAA0001-b.yaml")
    c5 = component_scores(b).set_index("component").loc["5"]
    assert (c5["rated"], c5["score"], c5["evidence_types"], c5["evidence_coverage"]) == (1, 2.0, 3, 100.0)
    assert list(action_plan(b)["item"].str.split().str[0]) == ["5.3"]


def test_progress_when_a_component_was_rated_and_is_now_not_applicable(tmp_path):
    before = filled_yaml(tmp_path, all_elements(3), all_statements("C"), name="FJAA0001-2023.yaml")
    now = filled_yaml(tmp_path, all_elements(3, **{"5.1": "N/A", "5.2": "N/A", "5.3": "N/A", "6.5": 4}),
                      all_statements("C"), name="FJAA0001-2024.yaml")
    ch = progress(now, before).set_index("component")
    assert ch.loc["5", "score"] is None and ch.loc["5", "change"] is None and ch.loc["5", "score_previous"] == 3.0
    assert ch.loc["6", "change"] == 0.2  # (3*4+4)/5 - 3


def test_report_marks_component_5_evidence_and_lists_not_applicable_items(tmp_path):
    from fjaaqa.reports import self_assessment as sr

    filled_yaml(tmp_path, all_elements(3, **{"5.2": 2, "6.5": "N/A"}), all_statements("C", P05="NA"),
                held="No")
    s = sr.score_files(str(tmp_path / "FJAA0001.yaml"))
    html = sr.scores(s)
    assert "The framework lists no evidence for component 5 (Working with Groups of Participants)" in html
    assert "<li>6.5 Responding to local circumstances</li>" in html and "<li>P05 " in html
    assert "Of the 11 statements that apply" in html
    gaps = s.plan.set_index(s.plan["item"].str.split().str[0]).loc["5.2", "evidence_to_gather"]
    assert gaps == "fjaaqa's suggestions: Post-event evaluations; Follow-up of longer-term outcomes"
    assert 'answered "not sure" or "some progress" (in that order)' in html_text(sr.plan(s))


def html_text(html: str) -> str:
    import html as h

    return h.unescape(html)


def test_an_older_file_missing_6_5_or_with_the_old_6_4_evidence_is_a_problem(tmp_path):
    doc = yaml.safe_load(repo_path("tests", "fixtures", "pack_data", "selfassessment", "FJAA0003.yaml").read_text())
    doc["elements"] = [e for e in doc["elements"] if e["id"] != "6.5"]
    doc["evidence"] = [e for e in doc["evidence"] if e["element"] != "6.5"]
    doc["evidence"].append({"element": "6.4", "evidence": "Ethics policy", "held": "Yes"})
    doc["evidence"].append({"element": "6.3", "evidence": "  client FEEDBACK  ", "held": "Yes"})
    doc["evidence"].append({"element": "6.3", "evidence": "participant  feedback", "held": "Yes"})
    path = tmp_path / "FJAA0003.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    problems = [p.split(": ", 1)[1] for p in read_assessment(path).problems]
    n = len(doc["evidence"])
    assert problems == [
        "sheet Elements: element 6.5 is missing",
        f"sheet Evidence, row {n - 2}, Evidence: 'Ethics policy' is not on element 6.4's evidence list (the lists "
        "change between versions: start from a new template)",
        f"sheet Evidence, row {n - 1}, Evidence: 'client FEEDBACK' is not on element 6.3's evidence list (the lists "
        "change between versions: start from a new template)",
        f"sheet Evidence, row {n}, Evidence: 'Participant feedback' is listed twice for element 6.3"]


def test_blank_yaml_template_lists_every_missing_value_like_the_workbook(tmp_path):
    from fjaaqa.selfassess.template import template_yaml

    path = tmp_path / "FJAA0002.yaml"
    path.write_text(template_yaml("FJAA0002"), encoding="utf-8")
    assert template_yaml("FJAA0002").startswith("# Self-assessment for FJAA0002.")
    problems = read_assessment(path).problems
    assert len(problems) == N_ELEMENTS + 12 + 1  # every rating and answer missing, and the date
    assert sum("element 6.5" in p for p in problems) == 1


def test_pack_section_shows_a_wholly_not_applicable_component_as_such():
    from fjaaqa.reports import pack_sections as sections

    table = pd.DataFrame({"agency_id": ["A", "A"], "file": ["A.yaml"] * 2, "problems": [0, 0], "first_problem": "",
                          "assessment_date": "2024-06-28", "component": ["4", "5"],
                          "title": ["Participant-Practitioner Relationships", "Working with Groups of Participants"],
                          "score": [3.5, float("nan")], "evidence_coverage": [80.0, float("nan")]})
    results = pd.DataFrame({"agency_id": ["A"], "indicator": ["withdrawals"], "status": ["at_risk"]})
    sa = sections.self_assessment(PackResults(meta={}, tables={"self_assessment": table, "results": results}), "A")
    assert [r["score"] for r in sa["rows"]] == [3.5, None] and sa["rows"][1]["evidence_coverage"] is None
    assert len(sa["notes"]) == 1 and "Participant-Practitioner" in sa["notes"][0] and "Groups" not in sa["notes"][0]
