"""Untrusted input, class by class: each test failed before the fix it names (issue 20).

Agencies, providers and analysts send files we must treat as hostile. Each
test below is one class of attack: the answer is always one line naming the
file (exit 2 from the command line), a quarantined row, or a bounded read;
never a traceback, a file outside ``--out``, or memory that grows with the
attack. ``docs/reliability.md`` lists every input tried.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from builders import link_outside, repo_path

from fjaaqa.errors import InputError
from fjaaqa.inputs import ilr

SA = repo_path("tests", "fixtures", "pack_data", "selfassessment", "FJAA0003.yaml")
PACK_DATA = repo_path("tests", "fixtures", "pack_data")


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-2000:]
    lines = [line for line in p.stderr.splitlines() if line.startswith("fjaaqa: error:")]
    assert len(lines) == 1, p.stderr[-2000:]
    return lines[0]


def self_assessment(tmp_path: Path, name: str = "FJAA0003.yaml", **changes) -> Path:
    doc = yaml.safe_load(SA.read_text())
    doc.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def files_outside(tmp_path: Path, allowed: set[str]) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name not in allowed)


# ------------------------------------------------------------------ high: identifiers never become paths

@pytest.mark.parametrize("agency_id", ["../../escaped", "{tmp}/abs-escape", "FJAA0003/../../x", "a\x00b", "FJAA0007"])
def test_a_self_assessment_id_that_is_a_path_or_another_agency_is_never_used(tmp_path, agency_id):
    agency_id = agency_id.format(tmp=tmp_path)  # an absolute path, inside this test's own folder
    path = self_assessment(tmp_path, agency_id=agency_id)
    p = cli("selfassess", "score", str(path), "--out", str(tmp_path / "out"), "--no-pdf")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "agency_id" in p.stderr and "nothing was scored" in p.stderr
    assert not (tmp_path / "out").exists() and files_outside(tmp_path, {"FJAA0003.yaml"}) == []


def test_a_self_assessment_in_data_counts_only_for_the_agency_it_is_named_for(tmp_path):
    from fjaaqa.store.results import self_assessment_table

    folder = tmp_path / "selfassessment"
    folder.mkdir()
    self_assessment(folder, "FJAA0003.yaml")
    self_assessment(folder, "FJAA0007.yaml")  # says FJAA0003 inside: it must not reach FJAA0003's pack
    table = self_assessment_table(tmp_path)
    scored = table[table["problems"] == 0]
    assert set(scored["file"]) == {"FJAA0003.yaml"}
    bad = table[table["file"] == "FJAA0007.yaml"].iloc[0]
    assert bad["agency_id"] == "FJAA0007" and "not the agency the file is named for" in bad["first_problem"]


def test_a_threshold_set_named_as_a_path_never_names_a_file(tmp_path):
    alt = tmp_path / "alt.yaml"
    alt.write_text("base: quality-framework-2023\nname: ../../../escaped\ntitle: hostile\n")
    p = cli("scenarios", "--data", str(PACK_DATA), "--year", "2324", "--return", "R14", "--alt", str(alt),
            "--out", str(tmp_path / "out"), "--no-pdf")
    assert "cannot be part of a file name" in one_line_error(p)
    assert files_outside(tmp_path, {"alt.yaml", "out"}) == []
    assert not list((tmp_path / "out").rglob("*escaped*")) if (tmp_path / "out").exists() else True


def test_a_symbolic_link_inside_out_is_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "selfassessment").symlink_to(elsewhere, target_is_directory=True)
    p = cli("selfassess", "score", str(self_assessment(tmp_path)), "--out", str(out), "--no-pdf")
    assert "selfassessment is a symbolic link" in one_line_error(p)
    assert list(elsewhere.iterdir()) == []
    # and below the command line, the last check before a report is written
    from fjaaqa.paths import inside
    from fjaaqa.reports.registry import kind

    with pytest.raises(InputError, match="outside the output folder"):
        kind("self_assessment").output(out, agency_id="FJAA0003")
    assert inside(out, out / "2324" / "x.html") == out / "2324" / "x.html"


@pytest.mark.parametrize("value", ["FJAA0001", "10005247", "quality-framework-2023", "alt_v2.1"])
def test_ordinary_ids_name_files(value):
    from fjaaqa.paths import file_name_part

    assert file_name_part(value, "id") == value


@pytest.mark.parametrize("value", ["..", "../x", "/abs", "a/b", "a\\b", "", ".hidden", "x" * 65, "١٢٣", "ａ"])
def test_ids_that_cannot_name_files(value):
    from fjaaqa.paths import file_name_part

    with pytest.raises(InputError, match="cannot be part of a file name"):
        file_name_part(value, "id")


# ------------------------------------------------------------------ high: workbooks within bounds

def filled_template(tmp_path: Path, agency_id: str = "FJAA0001") -> Path:
    from test_self_assessment import all_elements, all_statements, fill_workbook

    from fjaaqa.selfassess.template import template_bytes

    path = tmp_path / f"{agency_id}.xlsx"
    path.write_bytes(template_bytes(agency_id))
    fill_workbook(path, all_elements(3), all_statements("B"))
    return path


def test_a_far_cell_in_a_self_assessment_is_refused_not_walked(tmp_path):
    from openpyxl import load_workbook

    from fjaaqa.selfassess.reading import read_assessment

    path = filled_template(tmp_path)
    wb = load_workbook(path)
    wb["Elements"]["XFD1048576"] = "far away"
    wb.save(path)
    with pytest.raises(InputError, match=r"sheet 'Elements' reaches cell XFD1048576"):
        read_assessment(path)
    p = cli("selfassess", "score", str(path), "--out", str(tmp_path / "out"), "--no-pdf", timeout=60)
    assert "XFD1048576" in one_line_error(p)


def zip_bomb(path: Path, megabytes: int = 80) -> Path:
    """A valid-looking workbook whose one sheet unpacks to ``megabytes`` MB of empty rows."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"/>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            row = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(megabytes * 1_000_000 // len(row) + 1):
                f.write(row)
    path.write_bytes(buf.getvalue())
    return path


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_it_is_opened(tmp_path):
    from fjaaqa.selfassess.reading import read_assessment

    bomb = zip_bomb(tmp_path / "FJAA0001.xlsx")
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(InputError, match=r"unpacks to [0-9,]+ MB"):
        read_assessment(bomb)


def test_frm_notes_from_a_workbook_with_a_far_cell_or_a_bomb_stop_with_one_line(tmp_path):
    import openpyxl

    from fjaaqa.reports.frm_workbook import read_notes

    path = tmp_path / "notes.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Query ID", "Provider notes"])
    wb.active.append(["FRM37-1", "checked"])
    wb.active["XFD1048576"] = "x"
    wb.save(path)
    with pytest.raises(InputError, match="reaches cell XFD1048576"):
        read_notes([path])
    with pytest.raises(InputError, match="unpacks to"):
        read_notes([zip_bomb(tmp_path / "bomb.xlsx")])


def test_self_assessments_in_data_cannot_stop_the_batch(tmp_path):
    import shutil

    from fjaaqa.store.results import self_assessment_table

    folder = tmp_path / "selfassessment"
    folder.mkdir()
    shutil.copy(filled_template(tmp_path, "FJAA0001"), folder / "FJAA0001.xlsx")
    zip_bomb(folder / "FJAA0002.xlsx")
    table = self_assessment_table(tmp_path)
    assert table.set_index("file").loc["FJAA0002.xlsx", "problems"] == 1
    assert (table.loc[table["file"] == "FJAA0001.xlsx", "problems"] == 0).all()


def test_thousands_of_problems_are_counted_not_all_printed(tmp_path):
    path = self_assessment(tmp_path, elements=[{"id": f"9.{i}", "rating": 3} for i in range(400)])
    p = cli("selfassess", "score", str(path), "--out", str(tmp_path / "out"), "--no-pdf")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) <= 52 and re.search(r"\.\.\. and [0-9,]+ more", p.stderr), lines[-3:]


# ------------------------------------------------------------------ low: self-assessment values

@pytest.mark.parametrize("changes,words", [
    ({"elements": "not a list"}, "elements: must be a list"),
    ({"elements": ["1.1", 3]}, "elements, entry 1: must be a mapping"),
    ({"elements": [{"id": "1.1", "rating": [1, 2]}]}, "rating: must be a single value"),
    ({"elements": [{"id": "1.1", "rating": float("inf")}]}, "Rating: 'inf' is not a whole number from 1 to 4"),
    ({"elements": [{"id": "1.1", "rating": 2.5}]}, "Rating: '2.5' is not a whole number"),
    ({"elements": [{"id": "1.1", "rating": "٣"}]}, "is not a whole number"),
    ({"assessment_date": "9999-12-31"}, "9999-12-31 is not a plausible date"),
    ({"assessment_date": "２０２４-06-28"}, "is not a date"),
])
def test_self_assessment_values_that_are_not_what_they_seem(tmp_path, changes, words):
    from fjaaqa.selfassess.reading import read_assessment

    problems = read_assessment(self_assessment(tmp_path, **changes)).problems
    assert any(words in p for p in problems), problems
    assert all("\n" not in p and len(p) < 400 for p in problems)


def test_a_yaml_alias_bomb_is_read_as_problems_in_bounded_time(tmp_path):
    from fjaaqa.selfassess.reading import read_assessment

    lol = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    path = tmp_path / "FJAA0003.yaml"
    path.write_text("\n".join(lol) + "\nagency_id: FJAA0003\nassessment_date: '2024-06-28'\nelements: *i\n"
                    "evidence: *i\npartnership: *i\n")
    problems = read_assessment(path).problems
    assert any("entries (at most" in p or "must be a mapping" in p for p in problems)
    assert len(problems) < 100


# ------------------------------------------------------------------ medium: digits are ASCII digits

@pytest.mark.parametrize("field,value,rule", [
    ("ULN", "١٢٣٤٥٦٧٨٩٠", "uln_format"),  # Arabic-Indic
    ("ULN", "１２３４５６７８９０", "uln_format"),  # full width
    ("UKPRN", "１0000001", "ukprn_format"),
])
def test_digits_from_other_scripts_are_quarantined(tmp_path, field, value, rule):
    from test_inputs import flat_dataset

    from fjaaqa.inputs.sources import load_dataset

    learners = tmp_path / "learners.csv"
    row = {"UKPRN": "10000001", "LearnRefNumber": "L1", "ULN": "1000000018"}
    row[field] = value
    pd.DataFrame([row]).to_csv(learners, index=False)
    ds = load_dataset(flat_dataset(tmp_path / "d", learners=learners))
    hits = ds.rejected[(ds.rejected["field"] == field)]
    assert rule in set(hits["rule"]), ds.rejected


def test_a_period_in_other_digits_is_not_a_period():
    from fjaaqa.periods import make_period

    with pytest.raises(InputError):
        make_period("٢٣٢٤", "R14")


# ------------------------------------------------------------------ medium: XML bounded, fields by allow list

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<Message xmlns="ESFA/ILR/2020-21">\n'
          "<Header><Source><UKPRN>10000001</UKPRN></Source></Header>\n"
          "<LearningProvider><UKPRN>10000001</UKPRN></LearningProvider>\n")
LEARNER = ("<Learner><LearnRefNumber>L1</LearnRefNumber><ULN>{uln}</ULN>{extra}"
           "<LearningDelivery><LearnAimRef>ZPROG001</LearnAimRef><AimType>1</AimType><AimSeqNumber>1</AimSeqNumber>"
           "<LearnStartDate>2023-09-01</LearnStartDate><LearnPlanEndDate>2025-03-01</LearnPlanEndDate>"
           "<FundModel>36</FundModel><CompStatus>1</CompStatus></LearningDelivery></Learner>\n")


def ilr_file(path: Path, learners: str = LEARNER.format(uln="1000000018", extra=""), doctype: str = "",
             tail: str = "") -> Path:
    path.write_text(HEADER.format(doctype=doctype) + learners + tail + "</Message>\n", encoding="utf-8")
    return path


def test_personal_fields_not_on_the_allow_list_never_become_columns(tmp_path):
    extra = ("<FamilyName>Smith</FamilyName><GivenNames>Jo</GivenNames><EmailAddress>jo@example.org</EmailAddress>"
             "<HomePhone>0113 000 0000</HomePhone><NINumber>QQ123456C</NINumber><Postcode>LS1 4AP</Postcode>"
             "<SomethingNew>x</SomethingNew>")
    frames = ilr.read_ilr(ilr_file(tmp_path / "a.xml", LEARNER.format(uln="1000000018", extra=extra))).frames()
    columns = set(frames["learners"].columns)
    assert not columns & {"FamilyName", "GivenNames", "EmailAddress", "HomePhone", "NINumber", "Postcode",
                          "SomethingNew"}
    assert frames["learners"]["ULN"].tolist() == ["1000000018"]
    assert set(columns) - {"_file", "_line"} <= set(ilr.LEARNER_ORDER)


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE Message [<!ENTITY u "1000000018">]>\n',
    '<!DOCTYPE Message SYSTEM "http://example.org/ilr.dtd">\n',
])
def test_a_document_with_a_dtd_or_entities_is_refused(tmp_path, doctype):
    path = ilr_file(tmp_path / "e.xml", LEARNER.format(uln="&u;" if "ENTITY" in doctype else "1000000018",
                                                        extra=""), doctype=doctype)
    with pytest.raises(InputError, match="declares a DTD") as e:
        ilr.read_ilr(path)
    assert "\n" not in str(e.value)


def test_an_undeclared_entity_is_an_error_not_an_empty_value(tmp_path):
    path = ilr_file(tmp_path / "u.xml", LEARNER.format(uln="&u;", extra=""))
    with pytest.raises(InputError, match="not well-formed"):
        ilr.read_ilr(path)


def test_a_learner_with_millions_of_children_is_refused_early(tmp_path):
    junk = "<Junk/>" * 300_000  # 2 MB: more than one read of the file, so seen while still open
    path = ilr_file(tmp_path / "big.xml", LEARNER.format(uln="1000000018", extra=junk))
    with pytest.raises(InputError, match=r"<Learner> at line [0-9]+ holds more than 20,000 elements"):
        ilr.read_ilr(path)
    with pytest.raises(InputError, match="holds more than"):
        ilr.validate_xsd(path, repo_path("tests", "fixtures", "ilr", "ILR-2018-19-v3.xsd"))


PEAK = r"""
import re, sys
from fjaaqa.inputs.ilr import read_ilr, validate_xsd
t = read_ilr(sys.argv[1]); t.frames()
if len(sys.argv) > 2:
    validate_xsd(sys.argv[1], sys.argv[2])
print(int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) // 1024)
"""


def test_memory_stays_flat_whatever_elements_a_file_holds(tmp_path):
    """100 MB of elements the reader never asks for: held, they took 1.5 GB; dropped as read, a few MB."""
    path = tmp_path / "junk.xml"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER.format(doctype=""))
        f.write(LEARNER.format(uln="1000000018", extra=""))
        block = "<Other><A>1</A><B>2</B></Other>\n" * 10_000
        for _ in range(100_000_000 // len(block)):
            f.write(block)
        f.write("</Message>\n")
    p = subprocess.run([sys.executable, "-c", PEAK, str(path), str(repo_path("tests", "fixtures", "ilr",
                                                                             "ILR-2018-19-v3.xsd"))],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert int(p.stdout.strip()) < 400, p.stdout  # megabytes, interpreter and imports included (about 120)


# ------------------------------------------------------------------ medium: duplicate column headers

def test_a_column_named_twice_is_refused_not_renamed(tmp_path):
    from test_inputs import flat_dataset

    from fjaaqa.inputs.sources import load_dataset

    learners = tmp_path / "learners.csv"
    learners.write_text("UKPRN,LearnRefNumber,ULN,ULN\n10000001,L1,9999999999,1000000018\n")
    with pytest.raises(InputError, match=r"column 'ULN' appears more than once \(columns 3 and 4"):
        load_dataset(flat_dataset(tmp_path / "d", learners=learners))


# ------------------------------------------------------------------ medium: formulas never reach a CSV

def test_every_csv_writer_goes_through_the_protected_one():
    """``writers.csv_text`` makes formula-like text inert; nothing else in the package writes CSV."""
    package = repo_path("fjaaqa")
    offenders = [f"{p.relative_to(package)}:{i}" for p in package.rglob("*.py") if p.name != "writers.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if ".to_csv(" in line or "csv.writer" in line]
    assert offenders == []


def test_open_data_cells_that_look_like_formulas_are_made_inert(tmp_path):
    from fjaaqa.publication.ees import Column, write_table

    data = pd.DataFrame({"time_period": ["202324"], "time_identifier": ["Academic year"],
                         "geographic_level": ["National"], "country_code": ["E92000001"], "country_name": ["England"],
                         "route": ['=HYPERLINK("http://evil","x")'], "agencies": ["-5"]})
    path, _ = write_table(tmp_path, "t", data, [Column("route", "Filter", "Route"),
                                                 Column("agencies", "Indicator", "Agencies")])
    text = path.read_text()
    assert "'=HYPERLINK" in text and ",-5\n" in text


@pytest.mark.parametrize("row,field", [
    ({"StdCode": "999", "title": "Hostile", "level": "3", "route": '=HYPERLINK("http://evil","x")'}, "route"),
    ({"StdCode": "999", "title": "Hostile", "level": "3", "route": "Total"}, "route"),
    ({"StdCode": "999", "title": "=1+1", "level": "3", "route": "Digital"}, "title"),
])
def test_reference_values_that_feed_published_tables_are_checked(tmp_path, row, field):
    from test_inputs import flat_dataset

    from fjaaqa.inputs.sources import load_dataset

    root = flat_dataset(tmp_path / "d")
    pd.DataFrame([row]).to_csv(root / "standards.csv", index=False)
    ds = load_dataset(root)
    assert ds.table("standards").empty
    assert field in set(ds.rejected.loc[ds.rejected["file"] == "standards.csv", "field"])


def test_ilr_convert_writes_formula_like_text_inert(tmp_path):
    learner = LEARNER.format(uln="1000000018", extra="").replace("<LearnRefNumber>L1", "<LearnRefNumber>=1+1")
    src = ilr_file(tmp_path / "ILR-10000001-2324-20240731-120000-01.xml", learner)
    p = cli("ilr", "convert", str(src), "--out", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert "'=1+1" in (tmp_path / "o" / "learners.csv").read_text()


# ------------------------------------------------------------------ low: the rest of the list

def test_a_date_in_year_9999_is_quarantined_as_implausible(tmp_path):
    from test_inputs import flat_dataset

    from fjaaqa.inputs.sources import load_dataset

    deliveries = tmp_path / "deliveries.csv"
    deliveries.write_text("UKPRN,LearnRefNumber,AimSeqNumber,LearnAimRef,AimType,FundModel,LearnStartDate,"
                          "LearnPlanEndDate,CompStatus\n10000001,L1,1,ZPROG001,1,36,2023-09-01,9999-12-31,1\n")
    ds = load_dataset(flat_dataset(tmp_path / "d", deliveries=deliveries))
    hit = ds.rejected[ds.rejected["field"] == "LearnPlanEndDate"]
    assert hit["rule"].tolist() == ["plausible_date"]
    assert "not a plausible date (years 1900 to 2100)" in hit["message"].iloc[0]


def test_out_that_is_a_file_stops_with_one_line(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    p = cli("packs", "--data", str(PACK_DATA), "--year", "2324", "--return", "R14", "--out", str(f), "--no-pdf")
    assert "--out names a file, not a folder" in one_line_error(p)
    assert f.read_text() == "x"


def test_a_header_only_register_stops_with_one_line(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(PACK_DATA, data)
    (data / "register.csv").write_text((PACK_DATA / "register.csv").read_text().splitlines()[0] + "\n")
    for command in (["indicators"], ["packs", "--out", str(tmp_path / "out"), "--no-pdf"]):
        p = cli(*command, "--data", str(data), "--year", "2324", "--return", "R14")
        assert "register" in one_line_error(p)


def test_outputs_with_learner_identifiers_are_owner_only(tmp_path, monkeypatch):
    from fjaaqa.reports.pack import build_packs

    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    summary = build_packs(PACK_DATA, "2324", "R14", ["FJAA0003"], ["dfe", "agency"], "quality-framework-2023", out,
                          pdf=True, workers=1, run_date="2024-07-31")
    assert not summary.failed
    packs = out / "2324" / "R14" / "packs"

    def mode(p):
        return p.stat().st_mode & 0o777

    for private in ("dfe/FJAA0003.html", "dfe/FJAA0003.pdf", "dfe/FJAA0003-cases-restricted.xlsx",
                    "dfe/FJAA0003-cases-restricted.csv"):
        assert mode(packs / private) == 0o600, private
    assert mode(packs / "agency" / "FJAA0003.html") & 0o044  # the agency's copy is an ordinary file


def test_data_files_linking_outside_data_are_refused(tmp_path):
    import shutil

    from fjaaqa.inputs.sources import load_dataset

    data = tmp_path / "data"
    shutil.copytree(PACK_DATA, data)
    link_outside(data)
    with pytest.raises(InputError, match="symbolic link to a file outside the data folder"):
        load_dataset(data)


def test_a_table_given_as_both_csv_and_parquet_says_which_is_read(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(PACK_DATA, data)
    pd.read_csv(data / "register.csv", dtype=str).to_parquet(data / "register.parquet")
    p = cli("validate", "--data", str(data), "--out", str(tmp_path / "v"))
    assert "register.csv and register.parquet both exist: the CSV is read" in p.stderr


def test_one_broken_provider_file_is_quarantined_and_the_others_read(tmp_path):
    from fjaaqa.inputs.sources import load_dataset

    root = tmp_path / "data"
    folder = root / "ilr" / "2324" / "R14"
    folder.mkdir(parents=True)
    (root / "register.csv").write_text("agency_id,agency_name\nA1,One\n")
    (root / "commitments.csv").write_text("ULN,agency_id,UKPRN,StdCode,delivery_model\n")
    ilr_file(folder / "ILR-10000001-2324-20240731-120000-01.xml")
    (folder / "ILR-10000002-2324-20240731-120000-01.xml").write_text("<Message><Learner>")  # cut short
    ds = load_dataset(root)
    learners = next(iter(ds.returns.values())).learners
    assert learners["LearnRefNumber"].tolist() == ["L1"]
    bad = ds.rejected[ds.rejected["rule"] == "unreadable_file"]
    assert bad["file"].tolist() == ["ilr/2324/R14/ILR-10000002-2324-20240731-120000-01.xml"]
    assert "not well-formed XML" in bad["message"].iloc[0]


def test_two_runs_into_one_folder_do_not_interleave(tmp_path):
    from fjaaqa.paths import output_lock

    out = tmp_path / "out"
    with output_lock(out):
        p = cli("selfassess", "score", str(self_assessment(tmp_path)), "--out", str(out), "--no-pdf")
        assert "another fjaaqa run is writing to this folder" in one_line_error(p)
    p = cli("selfassess", "score", str(self_assessment(tmp_path)), "--out", str(out), "--no-pdf")
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("value", [".inf", '"35"', "-1", "1e999"])
def test_thresholds_must_be_finite_numbers(tmp_path, value):
    from fjaaqa.quality.thresholds import load_thresholds

    f = tmp_path / "t.yaml"
    f.write_text(f"base: quality-framework-2023\nname: t\nindicators:\n  withdrawals:\n    at_risk_above: {value}\n")
    with pytest.raises(InputError) as e:
        load_thresholds(f)
    assert "\n" not in str(e.value)


def test_a_providers_frm_report_lists_only_the_inputs_it_was_built_from():
    from fjaaqa.store.frm_runs import read_by_frm

    built_from = ["ilr/2223/R14/learners.csv", "ilr/2223/R14/ILR-10005247-2223-20230731-120000-01.xml",
                  "slc/2223/R14/loans.csv", "funding/2223/R14/earnings.csv", "lars.csv", "prior_achievements.parquet"]
    not_from = ["register.csv", "commitments.csv", "reviews.csv", "feedback.csv", "providers.csv",
                "selfassessment/FJAA0003.yaml", "selfassessment/lars.yaml"]
    assert [f for f in built_from if not read_by_frm(f)] == []
    assert [f for f in not_from if read_by_frm(f)] == []


def test_a_yaml_alias_bomb_in_a_threshold_file_is_one_line(tmp_path):
    from fjaaqa.quality.thresholds import load_thresholds

    lol = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    f = tmp_path / "t.yaml"
    f.write_text("\n".join(lol) + "\nbase: quality-framework-2023\nname: t\nindicators:\n  withdrawals:\n"
                 "    at_risk_above: *i\n")
    with pytest.raises(InputError) as e:
        load_thresholds(f)
    assert "\n" not in str(e.value) and len(str(e.value)) < 300


def test_a_first_row_with_a_field_more_than_the_header_is_refused_not_shifted(tmp_path):
    # pandas would take the first column as an index and shift every value one column left.
    from fjaaqa.inputs.sources import read_raw

    path = tmp_path / "register.csv"
    path.write_text("agency_id,agency_name\nFJAA0001,Agency, One Ltd\nFJAA0002,Two\n")
    with pytest.raises(InputError, match="register.csv: a row has more fields than the header"):
        read_raw(path, "register.csv")
