"""FRM over the synthetic data: every planted case flagged, no near miss flagged, stable query IDs across returns."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fjaaqa import frm
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.synth import demo as synth
from fjaaqa.synth import frm as synth_frm


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("frmdata")
    synth.write_dataset(out, agencies=4, seed=11)
    return out


@pytest.fixture(scope="module")
def results(data):
    ds = load_dataset(data)
    assert ds.rejected.empty, ds.rejected.head().to_string()
    return {p: frm.run_frm(ds, p) for p in (synth_frm.R06, synth_frm.R14)}


def test_every_planted_case_flagged_and_no_near_miss(results):
    exp = synth_frm.expected()
    assert set(exp["rule"]) == {r.id for r in frm.load_catalogue("2223")[0].rules}  # a case for every rule
    for period, res in results.items():
        got = set(zip(res.flags["rule"], res.flags["UKPRN"], res.flags["LearnRefNumber"]))
        mine = exp[exp["period"] == period]
        for row in mine.itertuples():
            key = (row.rule, row.UKPRN, row.LearnRefNumber)
            assert (key in got) == row.flag, f"{period.label} {key}: expected {'flag' if row.flag else 'no flag'}"
        # FRM71 is published from R09: at R06 its continuing students are FRM28's (the report as it was then)
        assert res.unavailable == ({"FRM71": "first published at R09 of 2022-23"} if period == synth_frm.R06 else {})


def test_change_since_previous_return_and_stable_query_ids(results):
    r06, r14 = results[synth_frm.R06], results[synth_frm.R14]
    assert r14.compared_with == synth_frm.R06
    st = r14.status.set_index(["UKPRN", "rule"])
    # FRM29 at the college: F28H1, F28N1 and F29H1 persist; F29H2 starts in January and leaves on day 47
    assert st.loc[(synth_frm.COLLEGE, "FRM29"), ["flagged", "new", "persisting", "resolved"]].tolist() == [4, 1, 3, 0]
    # FRM37 at the subcontractor: F37H1's planned hours corrected from 311 to 320 by R14
    assert st.loc[(synth_frm.SUBCONTRACTOR, "FRM37"), ["flagged", "resolved"]].tolist() == [0, 1]
    assert list(r14.resolved.loc[r14.resolved["rule"] == "FRM37", "LearnRefNumber"]) == ["F37H1"]
    # F42H1's aims were renumbered at R14: same query ID, still persisting
    a = r06.flags[(r06.flags["rule"] == "FRM42")].iloc[0]
    b = r14.flags[(r14.flags["rule"] == "FRM42")].iloc[0]
    assert a["AimSeqNumber"] != b["AimSeqNumber"]
    assert a["query_id"] == b["query_id"] and b["change"] == "persisting"
    key = ["UKPRN", "rule", "LearnRefNumber", "LearnAimRef", "LearnStartDate"]
    both = r06.flags.fillna({"LearnAimRef": "", "LearnStartDate": ""}).merge(
        r14.flags.fillna({"LearnAimRef": "", "LearnStartDate": ""}), on=key, suffixes=("_06", "_14"))
    assert len(both) > 20
    assert (both["query_id_06"] == both["query_id_14"]).all()
    assert (both["change_14"] == "persisting").all()
    assert r14.flags["query_id"].is_unique
    # FRM65 changed at R09: R06 queried the placement aims, R14 the second-year programme aims (new IDs)
    assert set(r06.flags.loc[r06.flags["rule"] == "FRM65", "LearnAimRef"]) == {"ZWRKX003"}
    f65 = r14.flags[r14.flags["rule"] == "FRM65"]
    assert set(f65["LearnAimRef"]) == {"ZPROG001"} and (f65["change"] == "new").all()
    assert sorted(f65["LearnRefNumber"]) == ["F65H1", "F65H2", "F65H3"]


def test_funding_impact_from_synthetic_earnings(results):
    flags = results[synth_frm.R14].flags
    f20 = flags[flags["rule"] == "FRM20"].iloc[0]
    assert f20["funding_impact"] == 980.0  # the SLC payment
    f69 = flags[(flags["rule"] == "FRM69") & (flags["LearnRefNumber"] == "F69H1")].iloc[0]
    assert f69["funding_impact"] == 4800.0  # learner-level 16 to 19 funding for the full year


def cli(*args):
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_list_rules_and_json(data, tmp_path):
    r = cli("frm", "--list-rules")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 23 and lines[0].startswith("FRM01\t") and "withdrawn" in lines[-1]
    r = cli("frm", "--data", str(data), "--year", "2223", "--return", "R14", "--format", "json",
            "--ukprn", synth_frm.TRAINING, "--out", str(tmp_path), "--no-pdf")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {row["rule"] for row in rows} == {"FRM01", "FRM13", "FRM19", "FRM27"}
    assert set(rows[0]) >= {"UKPRN", "rule", "query_id", "LearnRefNumber", "AimSeqNumber", "LearnAimRef",
                            "funding_stream", "funding_impact", "change"}
    assert (tmp_path / "2223" / "R14" / "frm" / "frm_flags.csv").is_file()
    run = json.loads((tmp_path / "2223" / "R14" / "frm" / "frm_run.json").read_text())
    assert run["catalogue"] == "2022-23" and run["note"] is None and run["compared_with"] == "2022-23 R06"
    r = cli("frm", "--data", str(data), "--year", "2324", "--return", "R06", "--format", "json")
    assert r.returncode == 0 and "2022-23 is applied to 2023-24" in r.stderr
    r = cli("frm", "--data", str(data), "--year", "2223", "--return", "R14", "--ukprn", "99999999")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_xml_and_flat_give_the_same_flags(tmp_path):
    flat, xml = tmp_path / "flat", tmp_path / "xml"
    synth.write_dataset(flat, agencies=2, seed=5)
    synth.write_dataset(xml, agencies=2, seed=5, fmt="xml")
    a = frm.run_frm(load_dataset(flat), synth_frm.R14).flags
    b = frm.run_frm(load_dataset(xml), synth_frm.R14).flags
    assert len(a) >= 30
    assert a.astype(str).equals(b.astype(str))
