"""The embedded synthetic dataset: deterministic, valid, and showing every status."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys

from pathlib import Path

import pandas as pd
import pytest

from fjaaqa.quality.thresholds import load_thresholds
from fjaaqa.periods import make_period
from fjaaqa.quality.results import compute
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.synth.demo import write_dataset


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("synth") / "data")


@pytest.fixture(scope="session")
def latest(synthetic):
    return compute(load_dataset(synthetic), make_period("2324", "R14"), load_thresholds())


def test_same_seed_same_bytes(synthetic, tmp_path):
    again = write_dataset(tmp_path / "again")
    cmp = filecmp.dircmp(synthetic, again)
    files = [p.relative_to(synthetic) for p in synthetic.rglob("*.csv")]
    # register, commitments, collection form, feedback, LARS, prior achievements; four ILR tables in each of
    # seven returns, work placements in three (2021-22 R14, 2022-23 R06 and R14); SLC loans and earnings in two
    assert len(files) == 6 + 7 * 4 + 3 + 2 * 2
    for rel in files:
        assert (synthetic / rel).read_bytes() == (again / rel).read_bytes(), rel
    del cmp


def test_different_seed_differs(synthetic, tmp_path):
    other = write_dataset(tmp_path / "other", seed=7)
    assert (other / "register.csv").read_bytes() != (synthetic / "register.csv").read_bytes()


def test_synthetic_data_pass_validation(synthetic):
    ds = load_dataset(synthetic)
    assert ds.rejected.empty, ds.rejected.head()
    assert (ds.reconciliation["rows_read"] == ds.reconciliation["rows_used"]).all()


def test_ilr_coupling_rules_hold(synthetic):
    d = pd.read_csv(synthetic / "ilr" / "2324" / "R14" / "deliveries.csv", dtype=str)
    w = d[d["CompStatus"] == "3"]
    assert w["WithdrawReason"].notna().all() and (w["Outcome"] == "3").all()
    assert d.loc[d["CompStatus"] == "1", "LearnActEndDate"].isna().all()
    assert (d.loc[d["AchDate"].notna(), "Outcome"] == "1").all()
    fams = pd.read_csv(synthetic / "ilr" / "2324" / "R14" / "fams.csv", dtype=str)
    res = fams[fams["FAMType"] == "RES"][["UKPRN", "LearnRefNumber", "AimSeqNumber"]]
    orig = d[d["OrigLearnStartDate"].notna()][["UKPRN", "LearnRefNumber", "AimSeqNumber"]]
    assert len(orig.merge(res)) == len(orig)  # OrigLearnStartDate => RES


def test_register_and_shape(synthetic, latest):
    reg = pd.read_csv(synthetic / "register.csv", dtype=str)
    assert len(reg) == 30 and reg["ern"].notna().all()
    com = pd.read_csv(synthetic / "commitments.csv", dtype=str)
    assert {"Regular", "FlexiJobAgency"} <= set(com["delivery_model"])
    sizes = latest.apprentices.groupby("agency_id").size()
    assert sizes.max() <= 320 and sizes.min() >= 10
    # transfers, restarts and ern-linked aims are recorded the ILR way
    assert (latest.apprentices["providers"] > 1).any()
    assert (latest.apprentices["n_aims"] > 1).any()
    assert (latest.apprentices["link_basis"] == "ern").any()
    assert len(latest.unlinked) > 0


def test_every_status_occurs(latest):
    seen = set(latest.results["status"])
    assert seen == {"at_risk", "needs_improvement", "on_track", "for_discussion", "no_data"}
    for ind in ("withdrawals", "achievement_rate", "breaks_in_learning", "past_planned_end_date"):
        statuses = set(latest.results.loc[latest.results["indicator"] == ind, "status"])
        assert {"at_risk", "needs_improvement", "on_track"} <= statuses, ind


def test_calibrated_to_national_rates(synthetic):
    # 2022-23 is a closed year: its rates should sit near the national 2021/22
    # figures (53.4 % achievement, 54.8 % retention, 97.5 % pass).
    res = compute(load_dataset(synthetic), make_period("2223", "R14"), load_thresholds())
    leavers = res.aims["leaver"].sum()
    ach = res.aims["achiever"].sum() / leavers
    comp = res.aims["completer"].sum()
    assert 0.45 <= ach <= 0.65
    assert 0.93 <= res.aims["achiever"].sum() / comp <= 1.0
    live = res.apprentices[res.apprentices["live"]]
    on_break = live["days_on_break"].notna().mean()
    assert 0.03 <= on_break <= 0.12


def test_demo_command(tmp_path):
    out, data = tmp_path / "out", tmp_path / "data"
    p = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "demo", "--out", str(out), "--data", str(data)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    recs = json.loads((out / "2324" / "R14" / "indicators" / "indicators.json").read_text())
    assert len(recs) == 30 * 5
    assert (out / "2223" / "R14" / "indicators" / "breakdowns.csv").exists()
    assert "Agencies by status" in p.stderr
    scan_for_personal_data(out, data)
    # a second run with nothing changed rebuilds nothing and touches no file
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in out.rglob("*") if f.is_file()}
    again = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "demo", "--out", str(out), "--data", str(data)],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    text = " ".join(again.stderr.split())
    assert "0 packs built, 60 unchanged" in text, text[-600:]
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in out.rglob("*") if f.is_file()} == before


# Outputs allowed to carry learner identifiers: the DfE packs' restricted case list and the FRM query lists.
RESTRICTED = re.compile(r"(^|/)packs/dfe/|(^|/)frm/")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


def _output_text(path: Path) -> str:
    if path.suffix == ".xlsx":  # every cell's text
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                         if c is not None)
    if path.suffix == ".pdf":  # WeasyPrint compresses text: check what can be read, the metadata
        return path.read_bytes().decode("latin-1")
    return path.read_text(encoding="utf-8")


def scan_for_personal_data(out: Path, data: Path) -> None:
    """Every output: no date-of-birth field, no postcode, no learner identifier outside the restricted lists;
    published counts of apprentices below the disclosure threshold are suppressed."""
    import glob

    learners = pd.concat([pd.read_csv(f, dtype=str) for f in glob.glob(str(data / "ilr" / "*" / "*" / "learners.csv"))])
    deliveries = pd.concat([pd.read_csv(f, dtype=str) for f in glob.glob(str(data / "ilr" / "*" / "*" / "deliveries.csv"))])
    ulns = set(learners["ULN"].dropna())
    refs = {r for r in learners["LearnRefNumber"].dropna() if len(r) >= 6}
    postcodes = set(deliveries["DelLocPostCode"].dropna()) - {"ZZ99 9ZZ"}
    checked = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.suffix not in (".html", ".csv", ".json", ".xlsx"):
            continue
        rel = path.relative_to(out).as_posix()
        text = _output_text(path)
        checked += 1
        assert "DateOfBirth" not in text and "DelLocPostCode" not in text, rel
        assert "date of birth" not in text.lower(), rel
        found = set(POSTCODE.findall(text)) - {"ZZ99 9ZZ"}
        assert not (found & postcodes), (rel, sorted(found & postcodes)[:3])
        if not RESTRICTED.search(rel):
            tokens = set(re.findall(r"\b\w+\b", text))
            assert not (tokens & ulns), (rel, sorted(tokens & ulns)[:3])
            assert not (tokens & refs), (rel, sorted(tokens & refs)[:3])
    assert checked > 100
    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) > 80
    from test_packs import _pdf_objects

    for pdf in pdfs:  # every PDF (packs, FRM, scenarios, summary, self-assessment) tagged, titled, in English
        raw = _pdf_objects(pdf.read_bytes())
        assert b"/StructTreeRoot" in raw and b"/Lang" in raw and b"en-GB" in raw and b"/Title" in raw, pdf
    for meta in (out / "2324" / "R14" / "summary" / "data").glob("*.meta.csv"):
        m = pd.read_csv(meta, dtype=str)
        counts = m[(m["col_type"] == "Indicator") & (m["indicator_dp"] == "0")
                   & ~m["col_name"].str.startswith("agencies_")]["col_name"]
        table = pd.read_csv(meta.with_name(meta.name.replace(".meta.csv", ".csv")), dtype=str)
        for col in counts:
            small = table[col][table[col].str.fullmatch(r"[1-4]", na=False)]
            assert small.empty, (meta.name, col, list(small))
