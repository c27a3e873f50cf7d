"""Check outcomes kept by file content: read back instead of worked out, never when anything deciding them changed.

tests/test_sql_load.py opens every hostile dataset twice with a folder for
kept outcomes, and compares both openings with the pandas loader; these
tests show the second opening really reads them, and when it must not.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd
import pytest
from builders import repo_path
from test_sql_load import every_check_dataset

from fjaaqa.inputs import kept_checks, sql_load
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.sql_load import open_dataset

FRM_DATA = repo_path("tests", "fixtures", "frm_data")


@pytest.fixture()
def calls(monkeypatch) -> dict:
    """How many outcomes each opening read back and wrote."""
    seen = {"read": 0, "written": 0}
    real_read, real_write = kept_checks.read, kept_checks.write

    def read(folder, key):
        got = real_read(folder, key)
        seen["read"] += got is not None
        return got

    def write(*args):
        seen["written"] += 1
        real_write(*args)

    monkeypatch.setattr(kept_checks, "read", read)
    monkeypatch.setattr(kept_checks, "write", write)
    return seen


def _open(data, kept, calls) -> tuple[pd.DataFrame, dict]:
    calls.update(read=0, written=0)
    rejected = open_dataset(duckdb.connect(), data, kept=kept).rejected
    return rejected, dict(calls)


def test_a_file_checked_once_is_read_back_not_checked_again(tmp_path, calls):
    data, kept = every_check_dataset(tmp_path / "data"), tmp_path / "kept"
    first, did = _open(data, kept, calls)
    assert did["read"] == 0 and did["written"] > 10
    again, did_again = _open(data, kept, calls)
    assert did_again == {"read": did["written"], "written": 0}  # every kept outcome read, none worked out again
    pd.testing.assert_frame_equal(again, first)
    assert len(first) > 40  # the outcomes hold rejected rows, not only clean files


def test_a_date_pandas_must_read_is_never_kept(tmp_path, calls):
    """'2023/01/01' or 'today' is read as pandas reads it, and 'today' is the clock's: such a file is checked again."""
    data, kept = every_check_dataset(tmp_path / "data"), tmp_path / "kept"
    _open(data, kept, calls)
    register = (data / "register.csv").read_text()
    assert "2023/01/01" in register  # the fixture's odd date
    keys = {p.stem for p in kept.glob("*.json")}
    (data / "register.csv").write_text(register.replace("2023/01/01", "today"))
    _, did = _open(data, kept, calls)
    assert did["written"] == 0  # the register is not kept either way; every other file is read back
    assert {p.stem for p in kept.glob("*.json")} == keys


def test_a_changed_file_is_checked_again_and_so_are_its_deliveries(tmp_path, calls):
    data, kept = every_check_dataset(tmp_path / "data"), tmp_path / "kept"
    _, first = _open(data, kept, calls)
    learners = data / "ilr" / "2324" / "R06" / "learners.parquet"
    df = pd.read_parquet(learners)
    df.loc[1, "ULN"] = "1000000018"  # L2 becomes valid: its delivery is no longer an orphan
    df.to_parquet(learners, index=False)
    rejected, did = _open(data, kept, calls)
    assert did == {"read": first["written"] - 2, "written": 2}  # R06's learners and deliveries, nothing else
    want = load_dataset(data).rejected
    plain = [x.astype(object).where(x.notna(), None).reset_index(drop=True) for x in (rejected, want)]
    pd.testing.assert_frame_equal(plain[0], plain[1])


def test_a_damaged_outcome_is_worked_out_again(tmp_path, calls):
    data, kept = every_check_dataset(tmp_path / "data"), tmp_path / "kept"
    first, did = _open(data, kept, calls)
    for p in kept.glob("*.parquet"):
        p.write_bytes(b"not parquet")
    again, did_again = _open(data, kept, calls)
    assert did_again == {"read": 0, "written": did["written"]}
    pd.testing.assert_frame_equal(again, first)


def test_the_key_holds_the_checks_so_changed_words_check_again(tmp_path, calls, monkeypatch):
    """A check's words (or its codes, from the parameters) are part of the key: an outcome never outlives them."""
    kept = tmp_path / "kept"
    _, first = _open(FRM_DATA, kept, calls)
    _, same = _open(FRM_DATA, kept, calls)
    assert same == {"read": first["written"], "written": 0}
    real = sql_load._Opener.checks

    def reworded(self, spec, columns, slow, settled=None, rules=True):
        steps, checks = real(self, spec, columns, slow, settled, rules)
        if spec.name == "learners":
            checks = [replace(c, message=c.message + " (reworded)") for c in checks]
        return steps, checks

    monkeypatch.setattr(sql_load._Opener, "checks", reworded)
    _, changed = _open(FRM_DATA, kept, calls)
    learner_files = len(list(FRM_DATA.glob("ilr/*/*/learners.*")))
    assert learner_files == 7
    assert changed == {"read": first["written"] - 2 * learner_files, "written": 2 * learner_files}  # and deliveries


def test_a_folder_that_cannot_be_written_keeps_nothing_and_the_run_goes_on(tmp_path, calls):
    data = every_check_dataset(tmp_path / "data")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    first, did = _open(data, blocked / "checks", calls)
    again, did_again = _open(data, blocked / "checks", calls)
    assert did["written"] > 0 and did_again["read"] == 0  # tried to keep, kept nothing, worked out again
    pd.testing.assert_frame_equal(again, first)
