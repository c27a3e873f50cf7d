"""The embedded synthetic dataset: deterministic, valid, and showing every status."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from fjaaqa.inputs.sources import load_dataset
from fjaaqa.periods import make_period
from fjaaqa.quality.results import compute
from fjaaqa.quality.thresholds import load_thresholds
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
    # register, commitments, collection form, feedback, LARS, prior achievements, providers, reviews; four ILR
    # tables in each of seven returns, work placements in three (2021-22 R14, 2022-23 R06 and R14); SLC loans and
    # earnings in two; the made-up national rates file and its import
    assert len(files) == 8 + 7 * 4 + 3 + 2 * 2 + 2
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
