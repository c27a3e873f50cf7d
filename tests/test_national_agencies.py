"""National scale for the Quality Framework: every copy's agencies are the base's agencies again, under new ids."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fjaaqa.inputs.link import link_reconciliation
from fjaaqa.inputs.schemas import PATTERNS
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.periods import make_period
from fjaaqa.quality.results import compute
from fjaaqa.quality.thresholds import load_thresholds
from fjaaqa.synth.demo import write_dataset
from fjaaqa.synth.national import agency_apprentices, write_national

COPIES = 2
REVIEW = make_period("2324", "R14")  # the demo's latest return: every agency on the register has apprentices


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("national_agencies")
    base = write_dataset(root / "base", agencies=4)  # a small demo: fast, and still every indicator counted
    info = write_national(root / "data", copies=COPIES, base=base)
    t = load_thresholds()
    return base, root / "data", info, t


@pytest.fixture(scope="module")
def results(made):
    base, data, _, t = made
    ds_base, ds_nat = load_dataset(base, up_to=REVIEW), load_dataset(data, up_to=REVIEW)
    return ds_base, ds_nat, compute(ds_base, REVIEW, t), compute(ds_nat, REVIEW, t)


def _copy_of(df: pd.DataFrame, copy: int) -> pd.DataFrame:
    """The rows of one copy's agencies, with the base's agency ids back."""
    suffix = f"-{copy:04d}"
    rows = df[df["agency_id"].str.endswith(suffix)].copy()
    rows["agency_id"] = rows["agency_id"].str.removesuffix(suffix)
    return rows


def test_each_copys_agencies_have_their_originals_results(results):
    _, _, base, nat = results
    key = ["agency_id", "indicator"]
    cols = [c for c in base.results.columns if c != "agency_name"]
    want = base.results[cols].sort_values(key).reset_index(drop=True)
    assert len(nat.results) == COPIES * len(base.results) and want["denominator"].sum() > 0
    for copy in range(COPIES):
        got = _copy_of(nat.results, copy)
        names = dict(zip(base.results["agency_id"], base.results["agency_name"]))
        assert (got["agency_name"] == got["agency_id"].map(names) + f" (copy {copy})").all()
        pd.testing.assert_frame_equal(got[cols].sort_values(key).reset_index(drop=True), want)


def test_each_copys_breakdowns_are_its_originals(results):
    """Breakdowns by everything but the provider (a provider's UKPRN is renumbered) match row for row."""
    _, _, base, nat = results
    key = ["indicator", "agency_id", "dimension", "group"]
    want = base.breakdowns[base.breakdowns["dimension"] != "provider"]
    want = want.sort_values(key).reset_index(drop=True)
    for copy in range(COPIES):
        got = _copy_of(nat.breakdowns, copy)
        got = got[got["dimension"] != "provider"].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


def test_agency_keys_renumbered_the_same_way_in_every_table(made, results):
    base, data, info, _ = made
    ds_base, ds_nat, _, _ = results
    assert ds_nat.rejected.empty  # every renumbered id, ULN, UKPRN and employer id passes the loader's checks
    reg = ds_nat.register.set_index("agency_id")
    assert len(reg) == COPIES * len(ds_base.register)
    assert reg.index.str.fullmatch(PATTERNS["id"]).all()
    # FJAA0001's employer reference 120007919 (120,000,000 + 7,919 x 1) in copy 1: (1 + 1) x 10^9 + 120,007,919
    assert ds_base.register.set_index("agency_id").loc["FJAA0001", "ern"] == "120007919"
    assert reg.loc["FJAA0001-0001", "ern"] == "2120007919"
    emp = ds_nat.returns[REVIEW].employment["EmpId"]
    assert (emp == "2120007919").sum() == (ds_base.returns[REVIEW].employment["EmpId"] == "120007919").sum() > 0
    # every agency commitment points at its own copy's agency and its own copy's ULNs
    c = ds_nat.commitments.dropna(subset=["agency_id"])
    copy_of_uln = (c["ULN"].astype("int64") - 1_000_000_000) // 10_000
    assert (c["agency_id"].str[-4:].astype(int) == copy_of_uln).all()
    # the link: each copy linked as the base was (by commitment, and by employer reference without one)
    t = load_thresholds()
    one = link_reconciliation(ds_base, REVIEW, t.readings.link).set_index("item")["count"]
    both = link_reconciliation(ds_nat, REVIEW, t.readings.link).set_index("item")["count"]
    for item in one.index[:5]:
        assert both[item] == COPIES * one[item], item


def test_apprentices_counted_and_periods_recorded(made, results):
    base, data, info, _ = made
    _, _, base_res, nat_res = results
    per_copy = agency_apprentices(base, REVIEW)
    apprentices = base_res.apprentices.drop_duplicates(["agency_id", "ULN", "StdCode"])
    assert per_copy == len(apprentices) > 0
    assert info["apprentices_per_copy"] == per_copy and info["apprentices"] == COPIES * per_copy
    assert len(nat_res.apprentices) == COPIES * len(base_res.apprentices)
    stamp = json.loads((data / ".national").read_text())
    assert stamp["review_period"] == {"year": "2324", "return": "R14", "label": "2023-24 R14"}
    assert stamp["frm_period"] == {"year": "2223", "return": "R14", "label": "2022-23 R14"}
    assert stamp["copies"] == COPIES
    # every return the indicators read for the review period is there (history, achievement-rate pool)
    assert sorted(p.name for p in (data / "ilr").iterdir()) == ["1920", "2021", "2122", "2223", "2324"]
    assert (data / "ilr" / "2324" / "R14" / "deliveries.parquet").is_file()
    assert (data / "benchmarks").is_dir() and (data / "lars.csv").is_file()
