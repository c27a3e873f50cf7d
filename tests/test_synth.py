"""The embedded synthetic dataset: deterministic, valid, and showing every status."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys

import pandas as pd
import pytest

from fjaaqa.params import load_thresholds
from fjaaqa.periods import make_period
from fjaaqa.results import compute
from fjaaqa.sources import load_dataset
from fjaaqa.synth import write_dataset


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
