"""Which ILR returns an FRM run reads, and the previous return's kept run reused: fewer files, the same bytes."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from builders import repo_path

from fjaaqa.errors import InputError
from fjaaqa.frm import engines
from fjaaqa.frm.run import Previous, returns_read, run_frm
from fjaaqa.inputs import sources, sql_load
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.periods import make_period as P
from fjaaqa.store import frm_runs
from fjaaqa.store.frm_runs import input_key, load_or_run

DATA = repo_path("tests", "fixtures", "frm_data")
R06, R14 = P("2223", "R06"), P("2223", "R14")
EARLIER = {P("1920", "R14"), P("2021", "R14"), P("2122", "R14")}  # the fixture's earlier years: one return each


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def opened(monkeypatch) -> list:
    """The ``only`` set each loader was asked for, both engines."""
    seen = []
    for module, name in ((sql_load, "open_dataset"), (sources, "load_dataset")):
        real = getattr(module, name)

        def spy(*args, real=real, **kwargs):
            seen.append(kwargs.get("only"))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return seen


def test_a_run_reads_its_return_each_earlier_years_last_and_last_years_r14():
    periods = [P("1920", "R14"), P("2021", "R13"), P("2122", "R10"), P("2122", "R14"),
               P("2223", "R01"), P("2223", "R06"), P("2223", "R08"), P("2223", "R14"), P("2324", "R01")]
    kept = pd.DataFrame()
    # R14: itself; the last return of 2019-20, 2020-21 (R13: it has no R14) and 2021-22 (prior achievements);
    # 2021-22's R14 (last year's deliveries). R08, the return it compares with, when its flags are worked out now.
    # R01, R06 and 2021-22's R10 are never read, nor 2023-24.
    own = {R14, P("2122", "R14"), P("2021", "R13"), P("1920", "R14")}
    assert returns_read(periods, R14, Previous(P("2223", "R08"))) == own | {P("2223", "R08")}
    assert returns_read(periods, R14, Previous(P("2223", "R08"), kept)) == own
    # The year's first return compares with last year's R14, which reads the years before it (all already in).
    first = {P("2223", "R01"), P("2122", "R14"), P("2021", "R13"), P("1920", "R14")}
    assert returns_read(periods, P("2223", "R01"), Previous(P("2122", "R14"))) == first
    # 2021-22 R14 compares with its R10: last year (2020-21) has no R14, so only its last return, R13, is read.
    assert returns_read(periods, P("2122", "R14"), Previous(P("2122", "R10"))) == \
        {P("2122", "R14"), P("2122", "R10"), P("2021", "R13"), P("1920", "R14")}
    # The first return in DATA compares with nothing and reads only itself.
    assert returns_read(periods, P("1920", "R14"), None) == {P("1920", "R14")}


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_kept_run_of_the_previous_return_is_reused_with_the_same_bytes(tmp_path, opened, engine):
    cold, warm = tmp_path / "cold", tmp_path / "warm"
    result = load_or_run(DATA, "2223", "R14", cold, engine=engine)
    assert opened[-1] == {R14, R06} | EARLIER
    assert result.compared_with == R06
    assert set(result.flags["change"]) == {"new", "persisting"} and len(result.resolved) > 0  # the test can tell

    load_or_run(DATA, "2223", "R06", warm, engine=engine)
    assert opened[-1] == {R06} | EARLIER
    load_or_run(DATA, "2223", "R14", warm, engine=engine)
    assert opened[-1] == {R14} | EARLIER  # R06's flags come from its kept run: R06 is not opened again

    key, _ = input_key(DATA, R14)
    files = sorted(f.name for f in (cold / key).iterdir())
    assert files == ["flags.parquet", "meta.json", "resolved.parquet", "status.parquet"]
    for name in files:
        assert (cold / key / name).read_bytes() == (warm / key / name).read_bytes(), name


def test_a_return_the_run_does_not_read_neither_stops_it_nor_changes_its_key(tmp_path, opened):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    broken = data / "ilr" / "2223" / "R03"
    broken.mkdir()
    (broken / "learners.csv").write_text("not,an,ilr,table\n1,2,3,4\n")
    (broken / "deliveries.csv").write_text("nothing\n")

    with pytest.raises(InputError, match="learners.csv"):
        load_or_run(data, "2223", "R06", tmp_path / "results")  # R06 compares with R03: it must read it
    run = load_or_run(data, "2223", "R14", tmp_path / "results")
    assert P("2223", "R03") not in opened[-1]
    assert input_key(data, R14) == input_key(DATA, R14)  # the same files read: the same cached run
    assert not any("R03" in f["file"] for f in run.meta["inputs"])


def test_a_kept_run_is_reused_only_under_the_same_catalogue(tmp_path, monkeypatch):
    kept = []
    real = frm_runs.run_return

    def spy(data_dir, period, engine="duckdb", kept_flags=None):
        kept.append(kept_flags is not None)
        return real(data_dir, period, engine, kept_flags)

    monkeypatch.setattr(frm_runs, "run_return", spy)
    load_or_run(DATA, "2223", "R14", tmp_path / "same", engine="pandas")
    # 2023-24 has no catalogue of its own and borrows 2022-23's, as its run of 2022-23 R14 did: reused.
    same = load_or_run(DATA, "2324", "R06", tmp_path / "same", engine="pandas")
    assert kept == [False, True]
    assert same.compared_with == R14

    load_or_run(DATA, "2223", "R14", tmp_path / "other", engine="pandas")
    real_catalogue = frm_runs.load_catalogue
    cat, note = real_catalogue("2223")
    other = cat.model_copy(update={"year": "2023-24"})  # as if 2023-24 had a catalogue of its own
    monkeypatch.setattr(frm_runs, "load_catalogue",
                        lambda year: (other, note) if year == P("2324", "R06").year else real_catalogue(year))
    load_or_run(DATA, "2324", "R06", tmp_path / "other", engine="pandas")
    assert kept[-1] is False  # another catalogue reads last year's R14 its own way: worked out again


def test_the_plan_names_the_folder_before_as_the_return_compared_with(tmp_path):
    previous, only = engines.plan(DATA, P("2324", "R06"))
    assert previous == Previous(R14)
    assert only == {P("2324", "R06"), R14} | EARLIER


def test_a_providers_own_data_runs_without_the_agencies_files(tmp_path):
    """FRM reads LARS and prior achievements of the top-level tables, nothing an agency sends.

    By the SQL engine; the pandas loader reads the same tables (tests/test_sql_load.py compares them with ``top``).
    """
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "register.csv").unlink()
    (data / "commitments.csv").write_text("not,commitments\n1,2\n")  # not read, so not checked either
    assert input_key(data, R14) == input_key(DATA, R14)  # the same files read: the same run
    own = load_or_run(data, "2223", "R14", tmp_path / "own")
    key, files = input_key(DATA, R14)
    assert {f for f, _ in files if "/" not in f} == {"lars.csv", "prior_achievements.csv"}
    load_or_run(DATA, "2223", "R14", tmp_path / "full")
    for name in ("flags.parquet", "resolved.parquet", "status.parquet", "meta.json"):
        assert (tmp_path / "own" / key / name).read_bytes() == (tmp_path / "full" / key / name).read_bytes(), name
    assert len(own.flags) > 0


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_reading_only_what_it_needs_gives_what_reading_everything_gives(tmp_path, opened, engine):
    """A year with more returns: the run at R14 opens R14, R10 (compared with) and earlier years' last, no more."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    for src, dst in (("2223/R06", "2223/R03"), ("2223/R06", "2223/R10"), ("2122/R14", "2122/R09")):
        shutil.copytree(data / "ilr" / src, data / "ilr" / dst)
    everything = run_frm(load_dataset(data, up_to=R14), R14)  # every return read, as before
    assert everything.compared_with == P("2223", "R10")
    run = engines.run_return(data, R14, engine)
    assert opened[-1] == {R14, P("2223", "R10")} | EARLIER
    pd.testing.assert_frame_equal(run.flags.astype(str), everything.flags.astype(str))
    pd.testing.assert_frame_equal(run.status.astype(str), everything.status.astype(str))
    pd.testing.assert_frame_equal(run.resolved.astype(str), everything.resolved.astype(str))
    assert run.compared_with == everything.compared_with and run.unavailable == everything.unavailable
