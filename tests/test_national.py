"""National scale: renumbered copies, partitioning by ULN, FRM part by part, locally and on a Dask LocalCluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from builders import repo_path

from fjaaqa.errors import InputError
from fjaaqa.frm import partitioned as national
from fjaaqa.frm.run import run_frm
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.periods import make_period
from fjaaqa.render.executors import DaskExecutor, LocalExecutor, make_executor
from fjaaqa.synth.national import write_national

BASE = repo_path("tests", "fixtures", "frm_data")  # the FRM providers' planted cases, every funding stream
R14 = make_period("2223", "R14")
COPIES, PARTS = 3, 3


@pytest.fixture(scope="module")
def nat(tmp_path_factory):
    root = tmp_path_factory.mktemp("national")
    info = write_national(root / "data", copies=COPIES, base=BASE)
    counts = national.partition_dataset(root / "data", root / "parts", PARTS)
    return root, info, counts


@pytest.fixture(scope="module")
def base_flags():
    return run_frm(load_dataset(BASE, up_to=R14), R14)


def keyset(df: pd.DataFrame) -> set:
    return set(map(tuple, df[["rule", "query_id"]].values))


def test_copies_renumber_providers_learners_and_ulns(nat, base_flags):
    root, info, _ = nat
    base = pd.read_csv(BASE / "ilr" / "2223" / "R14" / "deliveries.csv", dtype=str)
    aims = pd.read_parquet(root / "data" / "ilr" / "2223" / "R14" / "deliveries.parquet")
    learners = pd.read_parquet(root / "data" / "ilr" / "2223" / "R14" / "learners.parquet")
    assert info["aims"] == len(aims) == COPIES * len(base)
    assert aims[["UKPRN", "LearnRefNumber", "AimSeqNumber"]].drop_duplicates().shape[0] == len(aims)
    assert learners["ULN"].str.fullmatch(r"\d{10}").all() and learners["ULN"].is_unique
    assert aims["LearnRefNumber"].str.len().max() <= 12 and aims["UKPRN"].str.fullmatch(r"1\d{7}").all()


def test_every_row_goes_to_exactly_one_part_with_all_of_its_learners_rows(nat):
    root, _, counts = nat
    parts = sorted((root / "parts").iterdir())
    assert [p.name for p in parts] == ["p000", "p001", "p002"]
    for name, total in counts.items():  # nothing lost, nothing doubled
        got = sum(len(pd.read_parquet(p / f"{name}.parquet")) for p in parts if (p / f"{name}.parquet").exists())
        assert got == total, name
    seen: dict[str, str] = {}
    for p in parts:  # a ULN is in one part only, with every aim of its learner
        learners = pd.read_parquet(p / "ilr" / "2223" / "R14" / "learners.parquet")
        aims = pd.read_parquet(p / "ilr" / "2223" / "R14" / "deliveries.parquet")
        assert (set(zip(aims["UKPRN"], aims["LearnRefNumber"]))
                <= set(zip(learners["UKPRN"], learners["LearnRefNumber"])))
        assert (learners["ULN"].astype("int64") % PARTS == int(p.name[1:])).all()
        for u in learners["ULN"]:
            assert seen.setdefault(u, p.name) == p.name
        prior = p / "prior_achievements.parquet"
        if prior.exists():
            assert (pd.read_parquet(prior)["ULN"].astype("int64") % PARTS == int(p.name[1:])).all()
        assert (p / "lars.csv").exists() and (p / "register.csv").exists()


def test_part_by_part_gives_the_whole_runs_flags(nat, base_flags):
    root, _, _ = nat
    flags, resolved, status, parts = national.run_partitioned(root / "parts", "2223", "R14", LocalExecutor(1))
    whole = run_frm(load_dataset(root / "data", up_to=R14), R14)
    assert keyset(flags) == keyset(whole.flags)
    assert keyset(resolved) == keyset(whole.resolved)
    # every copy's planted cases flagged again: per rule, exactly COPIES times the base
    assert flags.groupby("rule").size().to_dict() == {k: COPIES * v for k, v in
                                                       base_flags.flags.groupby("rule").size().to_dict().items()}
    # provider counts are sums over parts
    merged = status.merge(whole.status, on=["UKPRN", "rule"], suffixes=("", "_whole"))
    assert len(merged) == len(whole.status)
    for c in ("flagged", "new", "persisting", "resolved"):
        assert (merged[c] == merged[f"{c}_whole"]).all(), c
    assert sum(p.aims for p in parts) == COPIES * len(load_dataset(BASE, up_to=R14).returns[R14].deliveries)


def test_joined_run_is_kept_as_the_returns_frm_run(nat, tmp_path):
    """What the national path stores is read back by every report as that return's FRM run."""
    from fjaaqa.store.frm_runs import is_cached, load_or_run, store

    root, _, _ = nat
    _, _, _, parts = national.run_partitioned(root / "parts", "2223", "R14", LocalExecutor(1))
    joined = national.as_frm_result(parts, R14)
    assert not is_cached(root / "data", R14, tmp_path)
    store(root / "data", joined, tmp_path)
    assert is_cached(root / "data", R14, tmp_path)
    back = load_or_run(root / "data", "2223", "R14", tmp_path)  # read, not run: the kept entry
    whole = run_frm(load_dataset(root / "data", up_to=R14), R14)
    assert keyset(back.flags) == keyset(whole.flags) and keyset(back.resolved) == keyset(whole.resolved)
    assert back.compared_with == whole.compared_with and back.unavailable == whole.unavailable
    assert back.note == whole.note
    cols = ["UKPRN", "rule", "flagged", "new", "persisting", "resolved"]
    key = ["UKPRN", "rule"]
    assert back.status[cols].sort_values(key).reset_index(drop=True).equals(
        whole.status[cols].sort_values(key).reset_index(drop=True).astype(back.status[cols].dtypes.to_dict()))


def test_dask_local_cluster_gives_the_same_flags_and_packs(nat, tmp_path):
    from distributed import Client, LocalCluster

    root, _, _ = nat
    local, _, _, _ = national.run_partitioned(root / "parts", "2223", "R14", LocalExecutor(1))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        ex = DaskExecutor(client)
        flags, _, _, parts = national.run_partitioned(root / "parts", "2223", "R14", ex)
        assert keyset(flags) == keyset(local) and len(parts) == PARTS

        from fjaaqa.reports.pack import build_packs

        data = repo_path("tests", "fixtures", "pack_data")
        on_dask = build_packs(data, "2324", "R14", ["FJAA0002", "FJAA0003"], ["agency"], "quality-framework-2023",
                              tmp_path / "dask", pdf=False, workers=2, executor=ex)
    here = build_packs(data, "2324", "R14", ["FJAA0002", "FJAA0003"], ["agency"], "quality-framework-2023",
                       tmp_path / "local", pdf=False, workers=1)
    assert len(on_dask.built) == len(here.built) == 2 and not on_dask.failed
    for a in ("FJAA0002", "FJAA0003"):
        rel = Path("2324") / "R14" / "packs" / "agency" / f"{a}.html"
        assert (tmp_path / "dask" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()


def test_executor_spec_errors_are_one_line():
    with pytest.raises(InputError, match="must be 'local' or 'dask://HOST:PORT'"):
        make_executor("spark://x")
    r = subprocess.run([sys.executable, "-m", "fjaaqa.cli", "frm", "--data", str(BASE), "--year", "2223",
                        "--return", "R14", "--partitions", "2", "--executor", "yarn"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--executor must be" in r.stderr


def test_cli_national_synth_partition_and_frm(tmp_path):
    fj = [sys.executable, "-m", "fjaaqa.cli"]
    r = subprocess.run(fj + ["partition", "--data", str(BASE), "--out", str(tmp_path / "parts"), "--partitions", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "parts").iterdir() if p.name != ".fjaaqa.lock") == ["p000", "p001"]
    env = dict(os.environ, FJAAQA_CACHE=str(tmp_path / "cache"))  # a cold cache: the parts really run
    frm = fj + ["frm", "--data", str(BASE), "--year", "2223", "--return", "R14", "--partitions", "2", "--workers", "1",
                "--out", str(tmp_path / "out"), "--no-pdf"]
    r = subprocess.run(frm, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "out" / "2223" / "R14" / "frm"
    flags = pd.read_csv(folder / "frm_flags.csv", dtype=str)
    whole = run_frm(load_dataset(BASE, up_to=R14), R14)
    assert keyset(flags) == keyset(whole.flags)
    assert "flagged rows" in r.stderr
    # the reports are built from the joined run: one per provider with a query, listed on the index page
    reported = sorted(set(whole.flags["UKPRN"]) | set(whole.resolved["UKPRN"]))
    assert sorted(p.stem for p in folder.glob("*.html") if p.stem != "index") == reported
    assert sorted(p.stem for p in folder.glob("*.xlsx")) == reported
    assert all(f"{u}.html" in (folder / "index.html").read_text() for u in reported)
    # a second run finds the joined run kept and rebuilds nothing
    r = subprocess.run(frm, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "already run on these inputs" in r.stderr and f"0 report(s) built, {len(reported)} unchanged" in r.stderr
    r = subprocess.run(fj + ["synth", "--scale", "national", "--copies", "2", "--out", str(tmp_path / "nat")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    aims = pd.read_parquet(tmp_path / "nat" / "ilr" / "2223" / "R14" / "deliveries.parquet")
    assert len(aims) == 2 * 5009 and "10,018 learning aims" in " ".join(r.stderr.split())
    # it never empties a folder holding anything it did not write
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = subprocess.run(fj + ["synth", "--scale", "national", "--copies", "1", "--out", str(tmp_path / "mine")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not empty" in r.stderr and (tmp_path / "mine" / "notes.txt").exists()
