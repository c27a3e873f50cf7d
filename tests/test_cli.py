"""The command line, as a user runs it: exit codes, stdout documents, one-line errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from builders import valid_uln

JSON_FIELDS = {"agency_id", "year", "return", "indicator", "numerator", "denominator", "value", "status",
               "threshold_set"}
INDICATORS = {"withdrawals", "achievement_rate", "breaks_in_learning", "past_planned_end_date",
              "outside_approved_areas"}


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env={**os.environ, **env} if env else None)


def minimal_dataset(root: Path) -> Path:
    """Only the required columns of DESIGN, two agencies, six apprentices."""
    (root / "ilr" / "2324" / "R14").mkdir(parents=True)
    pd.DataFrame({"agency_id": ["A1", "A2"], "agency_name": ["One", "Two"]}).to_csv(root / "register.csv",
                                                                                   index=False)
    ulns = [valid_uln(i) for i in range(6)]
    pd.DataFrame({"ULN": ulns, "agency_id": ["A1"] * 4 + ["A2"] * 2, "UKPRN": "10000001", "StdCode": "2",
                  "delivery_model": "FlexiJobAgency"}).to_csv(root / "commitments.csv", index=False)
    pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": [f"L{i}" for i in range(6)], "ULN": ulns}).to_csv(
        root / "ilr" / "2324" / "R14" / "learners.csv", index=False)
    pd.DataFrame({
        "UKPRN": "10000001", "LearnRefNumber": [f"L{i}" for i in range(6)], "AimSeqNumber": "1",
        "LearnAimRef": "ZPROG001", "AimType": "1", "FundModel": "36", "LearnStartDate": "2023-01-01",
        "LearnPlanEndDate": ["2025-01-01"] * 3 + ["2023-06-01"] + ["2025-01-01"] * 2, "CompStatus": "1",
    }).to_csv(root / "ilr" / "2324" / "R14" / "deliveries.csv", index=False)
    return root


def test_indicators_json_contract(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "json")
    assert p.returncode == 0, p.stderr
    recs = json.loads(p.stdout)  # stdout holds only the document
    assert len(recs) == 2 * 5
    assert all(set(r) == JSON_FIELDS for r in recs)
    assert {(r["agency_id"], r["indicator"]) for r in recs} == {(a, i) for a in ("A1", "A2") for i in INDICATORS}
    ppe = next(r for r in recs if r["agency_id"] == "A1" and r["indicator"] == "past_planned_end_date")
    # one of four past planned end by 426 days: 25 % > 15 % -> at risk
    assert (ppe["numerator"], ppe["denominator"], ppe["status"]) == (1, 4, "at_risk")
    assert ppe["year"] == "2023-24" and ppe["return"] == "R14"
    outside = next(r for r in recs if r["agency_id"] == "A1" and r["indicator"] == "outside_approved_areas")
    assert outside["status"] == "no_data"  # no approvals given: not available, never a silent pass
    # without LearnActEndDate no aim can show an ending: withdrawals, breaks and achievement are not available
    for ind in ("withdrawals", "breaks_in_learning", "achievement_rate"):
        assert all(r["status"] == "no_data" for r in recs if r["indicator"] == ind)


def test_duckdb_memory_setting_changes_the_time_not_the_answer(tmp_path, monkeypatch):
    from fjaaqa.inputs.views import connect

    monkeypatch.setenv("FJAAQA_DUCKDB_MEMORY", "3GB")
    assert connect().execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "2.7 GiB"  # 3e9 bytes
    monkeypatch.delenv("FJAAQA_DUCKDB_MEMORY")
    assert connect().execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "953.6 MiB"  # 1e9

    data = minimal_dataset(tmp_path / "d")
    args = ("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "csv")
    default, small = run(*args), run(*args, env={"FJAAQA_DUCKDB_MEMORY": "64 MB"})
    assert default.returncode == small.returncode == 0 and small.stdout == default.stdout
    bad = run(*args, env={"FJAAQA_DUCKDB_MEMORY": "lots"})
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "fjaaqa: error: FJAAQA_DUCKDB_MEMORY='lots' is not a size such as 512MB or 4GB"]


def test_year_forms_give_the_same_answer(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    a = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "csv")
    b = run("indicators", "--data", str(data), "--year", "2023-24", "--return", "R14", "--format", "csv")
    assert a.returncode == 0 and a.stdout == b.stdout
    rows = list(csv.DictReader(a.stdout.splitlines()))
    assert len(rows) == 10 and "distance" in rows[0]


def test_table_format_and_agency_filter(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--agency", "A2")
    assert p.returncode == 0 and "A2" in p.stdout and "A1" not in p.stdout
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--agency", "NOPE")
    assert p.returncode == 2 and "NOPE" in p.stderr


def test_missing_required_column_stops_with_one_line(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    f = data / "ilr" / "2324" / "R14" / "deliveries.csv"
    pd.read_csv(f, dtype=str).drop(columns=["CompStatus"]).to_csv(f, index=False)
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "json")
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "ilr/2324/R14/deliveries.csv" in lines[0] and "CompStatus" in lines[0]
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("setup,words", [
    (lambda d: (d / "register.csv").unlink(), "register.csv"),
    (lambda d: (d / "commitments.csv").write_bytes(b"\xff\xfe\x00bad"), "commitments.csv"),
    (lambda d: (d / "ilr" / "2324" / "R14" / "learners.csv").unlink(), "learners.csv"),
])
def test_file_level_faults(tmp_path, setup, words):
    data = minimal_dataset(tmp_path / "d")
    setup(data)
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14")
    assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_missing_period_and_bad_options(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    p = run("indicators", "--data", str(data), "--year", "2223", "--return", "R14")
    assert p.returncode == 2 and "no ILR data for 2022-23 R14" in p.stderr
    p = run("indicators", "--data", str(data), "--year", "2399", "--return", "R14")
    assert p.returncode == 2 and "not an academic year" in p.stderr
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R15")
    assert p.returncode == 2
    p = run("indicators", "--data", str(tmp_path / "nowhere"), "--year", "2324", "--return", "R14")
    assert p.returncode == 2 and "not found" in p.stderr
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--thresholds", "nope")
    assert p.returncode == 2 and "threshold set not found" in p.stderr


def test_bad_rows_are_quarantined_and_the_rest_computed(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    f = data / "ilr" / "2324" / "R14" / "deliveries.csv"
    d = pd.read_csv(f, dtype=str)
    d.loc[0, "LearnStartDate"] = "2023-02-30"  # impossible date
    d.loc[1, "CompStatus"] = "9"  # not a code
    d.loc[2, "LearnPlanEndDate"] = "2022-01-01"  # before the start
    d.to_csv(f, index=False)
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "json")
    assert p.returncode == 0
    assert "3 row problem(s) quarantined" in p.stderr
    recs = json.loads(p.stdout)
    w = next(r for r in recs if r["agency_id"] == "A1" and r["indicator"] == "past_planned_end_date")
    assert w["denominator"] == 1  # four A1 apprentices, three rejected

    out = tmp_path / "val"
    v = run("validate", "--data", str(data), "--out", str(out))
    assert v.returncode == 1
    rej = pd.read_csv(out / "rejected.csv", dtype=str)
    assert list(rej.columns) == ["file", "row", "field", "value", "rule", "message"]
    got = set(zip(rej["row"], rej["field"], rej["value"]))
    assert got == {("2", "LearnStartDate", "2023-02-30"), ("3", "CompStatus", "9"),
                   ("4", "LearnPlanEndDate", "2022-01-01")}
    rec = pd.read_csv(out / "reconciliation.csv")
    row = rec[rec["file"] == "ilr/2324/R14/deliveries.csv"].iloc[0]
    assert (row["rows_read"], row["rows_used"], row["rows_rejected"]) == (6, 3, 3)
    assert (rec["rows_read"] == rec["rows_used"] + rec["rows_rejected"]).all()


def test_validate_clean_data_exits_zero(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    v = run("validate", "--data", str(data), "--out", str(tmp_path / "v"))
    assert v.returncode == 0, v.stderr
    assert (tmp_path / "v" / "rejected.csv").read_text().strip() == "file,row,field,value,rule,message"


def test_cli_works_from_any_folder(tmp_path):
    data = minimal_dataset(tmp_path / "d")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = run("indicators", "--data", str(data), "--year", "2324", "--return", "R14", "--format", "json",
            cwd=elsewhere)
    assert p.returncode == 0 and json.loads(p.stdout)[0]["threshold_set"] == "quality-framework-2023"


# ------------------------------------------------------------------ usage errors behave like a command line's

@pytest.mark.parametrize("args,words", [
    (["indicators", "--bogus"], "No such option: --bogus"),
    (["indicators", "--year", "2324", "--return", "R14"], "Missing option '--data'"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["indicators", "--data", ".", "--year", "2324", "--return", "R14", "--format", "xml"],
     "Invalid value for '--format': 'xml' is not one of 'json', 'csv', 'table'"),
    (["packs", "--data", ".", "--year", "2324", "--return", "R14", "--audience", "everyone"],
     "Invalid value for '--audience'"),
    (["synth", "--out", "x", "--agencies", "zero"], "Invalid value for '--agencies'"),
    (["selfassess", "score"], "Missing argument 'file'"),
    (["ilr", "convert", "--out", "x"], "Missing argument 'files'"),
])
def test_usage_errors_are_one_line_a_usage_hint_and_exit_2(args, words):
    p = run(*args)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(lines) == 2, p.stderr
    assert lines[0] == f"fjaaqa: error: {words}" or lines[0].startswith(f"fjaaqa: error: {words}"), lines[0]
    assert lines[1].startswith("Usage: ") and "--help" in lines[1], lines[1]
    assert p.stdout == ""


def test_help_with_h_lists_the_choices():
    p = run("-h")
    assert p.returncode == 0 and "Usage:" in p.stdout and "indicators" in p.stdout
    for command, choices in (("indicators", ["json|csv|table", "quality-framework-2023", "atpaf-2024-04",
                                             "cumulative-bands", "stricter-achievement"]),
                             ("packs", ["dfe|agency"]), ("frm", ["json|table"]), ("synth", ["csv|parquet|xml"])):
        p = run(command, "-h")
        text = " ".join(p.stdout.split())
        assert p.returncode == 0, p.stderr
        for choice in choices:
            assert choice in text, (command, choice)


def test_version_and_no_arguments():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("fjaaqa ")
    p = run()
    assert "Usage:" in p.stdout + p.stderr and "Traceback" not in p.stderr


def test_papermill_p_values_that_look_like_numbers_are_taken_as_text(tmp_path):
    """``-p year 2324`` arrives in the notebook as the number 2324 (papermill parses -p values)."""
    from builders import repo_path

    p = subprocess.run([sys.executable, "-m", "papermill", str(repo_path("notebooks", "review_pack.ipynb")),
                        str(tmp_path / "out.ipynb"), "-p", "agency_id", "FJAA0003", "-p", "year", "2324",
                        "-p", "return_code", "R14", "-p", "results_dir", str(tmp_path / "cache")],
                       capture_output=True, text=True, timeout=300, cwd=repo_path())
    assert p.returncode == 0, p.stderr[-2000:]
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    shown = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "FJAA0003" in shown and "2023-24" in shown
