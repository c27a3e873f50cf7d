"""The FRM prepared inputs built in DuckDB SQL equal the pandas ones, table by table, row by row.

fjaaqa.frm.sql_inputs.prepare_inputs must make exactly what
fjaaqa.frm.inputs.build_inputs makes: the same rows, the same columns (the
SQL tables may carry extra FAM_<type> columns the views hold for other
returns, always empty for this one) and the same values, in the engine's
types. A few hand-made cases pin the parts where the two could drift: age
on the birthday, the employment status in force on the start day, the first
subcontracted aim in row order, the funding stream, LARS levels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fjaaqa.frm.inputs import build_inputs
from fjaaqa.frm.run import load_catalogue
from fjaaqa.frm.sql_inputs import TABLES, prepare_inputs
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.views import register_dataset
from fjaaqa.periods import make_period

FIXTURE = Path(__file__).parent / "fixtures" / "frm_data"
# Each SQL table and the FrmInputs frame it mirrors.
FRAMES = {"frm_aims": "aims", "frm_students": "students", "frm_prior": "prior", "frm_prev_year": "previous_year",
          "frm_loans": "loans", "frm_earnings": "earnings", "frm_workplacements": "workplacements",
          "frm_fams": "fams"}
SQL_TYPE = {"date": "DATE", "int": "BIGINT", "bool": "BOOLEAN", "text": "VARCHAR"}


@pytest.fixture(scope="module")
def settings():
    return load_catalogue("2223")[0].settings


@pytest.fixture(scope="module")
def fixture_ds():
    return load_dataset(FIXTURE)


def _kind(s: pd.Series) -> str:
    """The engine type a pandas column becomes: dates DATE, Int64 BIGINT, bool BOOLEAN, the rest text."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    return "text"


def _value(v, kind: str):
    """One value in a form both engines share: None for missing, dates as ISO text, ints as int."""
    if v is None or v is pd.NaT or (not isinstance(v, (list, str)) and pd.isna(v)):
        return None
    if kind == "date":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if kind == "int":
        return int(v)
    if kind == "bool":
        return bool(v)
    return str(v)


def _normal(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """``df`` with every value normalised and rows in one order (by every column), index dropped."""
    out = pd.DataFrame({c: [_value(v, k) for v in df[c].tolist()] for c, k in kinds.items()}, dtype=object)
    key = out.apply(lambda r: repr(tuple(r)), axis=1) if len(out) else pd.Series(dtype=object)
    return out.assign(_key=key).sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)


def assert_same(con, table: str, frame: pd.DataFrame | None) -> None:
    """The SQL table equals the pandas frame: columns, engine types, every row and value."""
    got = con.execute(f"SELECT * FROM {table}").df()
    sql_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    if frame is None:  # not supplied: the table is there with no rows
        assert got.empty, f"{table}: rows where pandas has none"
        return
    missing = [c for c in frame.columns if c not in got.columns]
    assert not missing, f"{table}: columns missing in SQL: {missing}"
    extra = [c for c in got.columns if c not in frame.columns]
    for c in extra:  # a FAM column another return has: empty here, as pandas reads a missing FAM column
        assert c.startswith("FAM_") and got[c].isna().all(), f"{table}: unexpected column {c}"
    kinds = {c: _kind(frame[c]) for c in frame.columns}
    wrong = {c: (sql_types[c], SQL_TYPE[k]) for c, k in kinds.items()
             if sql_types[c] != SQL_TYPE[k] and not (k == "text" and frame[c].isna().all())}
    assert not wrong, f"{table}: types (SQL, wanted) {wrong}"
    assert len(got) == len(frame), f"{table}: {len(got)} rows in SQL, {len(frame)} in pandas"
    pd.testing.assert_frame_equal(_normal(got, kinds), _normal(frame, kinds), obj=table)


def check_returns(ds, returns: list[tuple[str, str]], settings) -> None:
    """Prepare each return in turn on one connection (tables replaced) and compare every table with pandas."""
    con = duckdb.connect()
    register_dataset(con, ds)
    for year, code in returns:
        period = make_period(year, code)
        available = prepare_inputs(con, period, settings)
        x = build_inputs(ds, period, settings)
        assert available == x.available
        for table in TABLES:
            assert_same(con, table, getattr(x, FRAMES[table]))
    con.close()


def test_fixture_returns_equal_pandas(fixture_ds, settings):
    # R06 then R14 as the runner does (previous return first), then a year back, then forward again.
    check_returns(fixture_ds, [("2223", "R06"), ("2223", "R14"), ("2122", "R14"), ("2223", "R06")], settings)


def test_returns_without_prior_lars_or_loans(tmp_path, settings):
    # No prior_achievements.csv and no lars.csv: the first year has no prior input at all, no previous year,
    # no loans; later years have LARS fields all empty and `regulated` from the Z prefix alone.
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    (data / "prior_achievements.csv").unlink()
    (data / "lars.csv").unlink()
    ds = load_dataset(data)
    con = duckdb.connect()
    register_dataset(con, ds)
    first = prepare_inputs(con, make_period("1920", "R14"), settings)
    assert first == {"lars": False, "prior_achievements": False, "previous_year": False, "loans": False}
    con.close()
    check_returns(ds, [("1920", "R14"), ("2223", "R06"), ("2021", "R14")], settings)


def test_national_copy_equal_pandas(tmp_path, settings):
    from fjaaqa.synth.national import write_national

    write_national(tmp_path / "nat", copies=2, base=FIXTURE)
    check_returns(load_dataset(tmp_path / "nat"), [("2223", "R06"), ("2223", "R14")], settings)


def test_unknown_return_is_one_line(fixture_ds, settings):
    from fjaaqa.errors import InputError

    con = duckdb.connect()
    register_dataset(con, fixture_ds)
    with pytest.raises(InputError, match="no ILR return for"):
        prepare_inputs(con, make_period("2425", "R14"), settings)
