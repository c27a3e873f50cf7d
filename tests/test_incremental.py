"""Incremental rebuilds: an unchanged pack is not rebuilt; a changed one is, and matches a full rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from builders import repo_path

from fjaaqa.render import builds
from fjaaqa.render.pages import write_manifest
from fjaaqa.reports.pack import build_packs
from fjaaqa.reports.pack_sections import pack_digests
from fjaaqa.store.results import load_or_compute

DATA = repo_path("tests", "fixtures", "pack_data")
AGENCIES = ["FJAA0002", "FJAA0003"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))


def build(data: Path, out: Path, thresholds: str = "quality-framework-2023", force: bool = False):
    summary = build_packs(data, "2324", "R14", AGENCIES, ["dfe", "agency"], thresholds, out, pdf=False,
                          workers=1, force=force)
    assert not summary.failed, summary.failed
    return summary


def built(summary) -> set[tuple[str, str]]:
    return {(r["agency_id"], r["audience"]) for r in summary.built}


def pages(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "2324").rglob("*.html"))}


def changed(a: dict, b: dict) -> set:
    return {k for k in a if a[k] != b[k]}


def test_digests_follow_what_each_pack_shows(cache):
    pr = load_or_compute(DATA, "2324", "R14")
    ids = list(pr.agencies["agency_id"])

    def digests():
        return pack_digests(pr, ids, ["dfe", "agency"])

    before = digests()
    assert len(set(before.values())) == len(before) == 10  # five agencies, two versions
    # an agency's own register entry (its name): only its two packs
    pr.tables["agencies"] = pr.agencies.assign(agency_name=pr.agencies["agency_name"].where(
        pr.agencies["agency_id"] != "FJAA0002", "Capital Skills Group Ltd"))
    after = digests()
    assert changed(before, after) == {("FJAA0002", "dfe"), ("FJAA0002", "agency")}
    # an agency's own self-assessment scores: only its two packs
    sa = pr.tables["self_assessment"]
    assert set(sa["agency_id"]) == {"FJAA0003"}
    pr.tables["self_assessment"] = sa.assign(score=sa["score"].where(sa["component"] != sa["component"].iloc[0], 1.0))
    again = digests()
    assert changed(after, again) == {("FJAA0003", "dfe"), ("FJAA0003", "agency")}
    # an agency's own earlier review: only its two packs
    empty = pr.tables["reviews"]
    review = pd.DataFrame({"agency_id": ["FJAA0004"], "review_date": [pd.Timestamp("2023-10-01")],
                           "intervention": ["watching_brief"], "scope": [None], "note": ["Check-ins each return"]})
    pr.tables["reviews"] = review.astype(empty.dtypes.to_dict())  # the same columns and types as loaded
    reviewed = digests()
    assert changed(again, reviewed) == {("FJAA0004", "dfe"), ("FJAA0004", "agency")}
    # another agency's withdrawal rate: every pack, since every pack compares with it (the DfE version shows its
    # dot; each agency's copy, the other agencies' median)
    res = pr.results
    hit = (res["agency_id"] == "FJAA0001") & (res["indicator"] == "withdrawals")
    pr.tables["results"] = res.assign(value=res["value"].where(~hit, res.loc[hit, "value"] + 0.01))
    moved = digests()
    assert changed(reviewed, moved) == set(moved)
    # a threshold: every pack shows the thresholds, so every pack
    pr.meta["thresholds"]["values"]["indicators"]["withdrawals"]["at_risk_above"] = 21
    assert changed(moved, digests()) == set(moved)


def test_only_changed_packs_are_rebuilt_and_match_a_full_build(tmp_path, cache):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    out = tmp_path / "out"
    first = build(data, out)
    assert len(first.built) == 4 and not first.unchanged
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = build(data, out)
    assert not again.built and len(again.unchanged) == 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before  # nothing touched
    # an output cut short after the run no longer matches its recorded hash; one without a record: both rebuilt
    page = out / "2324" / "R14" / "packs" / "agency" / "FJAA0002.html"
    page.write_bytes(page.read_bytes()[:1000])
    builds.sidecar(out / "2324" / "R14" / "packs" / "dfe" / "FJAA0003.html").unlink()
    assert built(build(data, out)) == {("FJAA0002", "agency"), ("FJAA0003", "dfe")}
    # one agency's own data: only its packs, and the result is what a full build from scratch gives
    reg = (data / "register.csv").read_text()
    (data / "register.csv").write_text(reg.replace("Capital Skills Workforce Ltd", "Capital Skills Group Ltd"))
    assert built(build(data, out)) == {("FJAA0002", "dfe"), ("FJAA0002", "agency")}
    assert "Capital Skills Group Ltd" in (out / "2324/R14/packs/dfe/FJAA0002.html").read_text()
    full = tmp_path / "full"
    assert len(build(data, full, force=True).built) == 4
    assert pages(out) == pages(full)
    # the manifest lists every pack's key
    doc = json.loads(write_manifest(out, out, {}).read_text())
    assert len(doc["builds"]) == 4
    assert doc["builds"]["2324/R14/packs/dfe/FJAA0002.html"] == json.loads(
        builds.sidecar(out / "2324/R14/packs/dfe/FJAA0002.html").read_text())["key"]
