"""The FRM prepared inputs built in DuckDB SQL equal the pandas ones, table by table, row by row.

fjaaqa.frm.sql_inputs.prepare_inputs must make exactly what
fjaaqa.frm.inputs.build_inputs makes: the same rows, the same columns (the
SQL tables may carry extra FAM_<type> columns the views hold for other
returns, always empty for this one) and the same values, in the engine's
types and in the same row order (the SQL rules take pandas' "first" from a
table's ``_row`` column, or its rowid where it has none, so order is compared
too, which is stricter than comparing sorted rows). A few hand-made cases pin the parts where the two could drift: age
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
from fjaaqa.frm.sql_inputs import ROW, ROW_TABLES, TABLES, keeps, prepare_inputs
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
    """``df`` with every value normalised, in its own row order, index dropped."""
    return pd.DataFrame({c: [_value(v, k) for v in df[c].tolist()] for c, k in kinds.items()}, dtype=object)


def assert_same(con, table: str, frame: pd.DataFrame | None) -> None:
    """The SQL table equals the pandas frame: columns, engine types, every row and value."""
    sql_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    order = ROW if ROW in sql_types else "rowid"  # the pandas row order: a column of the wide tables
    got = con.execute(f"SELECT * EXCLUDE ({ROW}) FROM {table} ORDER BY {order}" if order == ROW
                      else f"SELECT * FROM {table} ORDER BY rowid").df()
    if frame is None:  # not supplied: the table is there with no rows
        assert got.empty, f"{table}: rows where pandas has none"
        return
    if table in ROW_TABLES:  # the fields no report reads are left out (UNREAD, unread FAM columns)
        frame = frame[[c for c in frame.columns if keeps(table, c)]]
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
    # Row for row in the same order: the SQL rules take pandas' "first" from it.
    pd.testing.assert_frame_equal(_normal(got, kinds), _normal(frame.reset_index(drop=True), kinds), obj=table)


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


def scrambled(con, views: list[str]) -> None:
    """Each view's rows numbered in their order (``_idx``), then given out in another order.

    As a loader's view may give them (one holding a join): prepare_inputs must take the order from ``_idx``.
    """
    for name in views:
        numbered = "_idx" in [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]  # deliveries carry it
        con.execute(f"ALTER VIEW {name} RENAME TO _plain_{name}")
        number = "" if numbered else ", row_number() OVER () AS _idx"
        con.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM (SELECT *{number} "
                    f"FROM _plain_{name}) ORDER BY hash(_idx{', year' if numbered else ''})")


def test_views_numbering_rows_in_file_order(fixture_ds, settings):
    con = duckdb.connect()
    register_dataset(con, fixture_ds)
    scrambled(con, ["learners", "deliveries", "employment", "fams", "workplacements", "loans", "earnings",
                    "prior_achievements"])
    assert con.execute("SELECT list(_idx) FROM (SELECT _idx FROM deliveries LIMIT 3)").fetchone()[0] != [1, 2, 3]
    for year, code in [("2223", "R06"), ("2223", "R14")]:
        period = make_period(year, code)
        prepare_inputs(con, period, settings)
        x = build_inputs(fixture_ds, period, settings)
        for table in TABLES:
            assert_same(con, table, getattr(x, FRAMES[table]))


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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    """One return written by hand; every expected value below is worked out from these rows."""
    from builders import valid_uln

    data = tmp_path_factory.mktemp("hand") / "data"
    data.mkdir()
    shutil.copyfile(FIXTURE / "register.csv", data / "register.csv")
    shutil.copyfile(FIXTURE / "commitments.csv", data / "commitments.csv")
    _write(data / "lars.csv", """
LearnAimRef,title,level,aim_type,subject,regulated,approved_16_19,full_level_2,full_level_3,glh,tlevel_band,early_years
60300001,Entry level,E,other,,Y,Y,N,N,100,,
60300002,Unknown level,X,other,,N,Y,N,N,100,,
""")
    u = [valid_uln(i) for i in range(6)]
    ilr = data / "ilr" / "2223" / "R14"
    _write(ilr / "learners.csv", f"""
UKPRN,LearnRefNumber,ULN,DateOfBirth,LLDDHealthProb,PlanLearnHours,PlanEEPHours
10090002,L1,{u[0]},2006-09-01,2,540,0
10090002,L2,{u[1]},2006-09-02,,,
10090002,L3,{u[2]},2006-08-31,1,,
10090002,L4,{u[3]},1990-01-01,2,,
10090002,L5,{u[4]},1990-01-01,2,,
10090002,L6,{u[5]},1990-01-01,2,,
""")
    # L1's aims are written 1, 3, 2: the first subcontracted aim in row order is aim 3, not aim 2.
    _write(ilr / "deliveries.csv", """
UKPRN,LearnRefNumber,AimSeqNumber,LearnAimRef,AimType,ProgType,FundModel,LearnStartDate,LearnPlanEndDate,CompStatus,PartnerUKPRN,PHours
10090002,L1,1,ZWRKX001,4,,25,2022-09-01,2023-07-01,1,,0540
10090002,L1,3,60300002,4,,25,2022-09-05,2023-07-01,1,10090004,
10090002,L1,2,60300001,4,,25,2022-09-01,2023-07-01,1,10090003,
10090002,L2,1,60300001,4,,25,2022-09-01,2023-07-01,1,,
10090002,L3,1,60300001,4,31,25,2022-09-01,2023-07-01,1,,
10090002,L4,1,60300001,4,,35,2022-09-01,2023-07-01,1,,
10090002,L5,1,60300001,4,24,35,2022-09-01,2023-07-01,1,,
10090002,L6,1,60399999,4,,99,2022-09-01,2023-07-01,1,,
""")
    # L1: a status from the start day itself applies to aims starting that day; the next one not yet.
    _write(ilr / "employment.csv", """
UKPRN,LearnRefNumber,EmpStat,DateEmpStatApp,ESM_EII
10090002,L1,10,2022-08-01,2
10090002,L1,11,2022-09-01,
10090002,L1,12,2022-09-06,8
""")
    # L4's SOF codes 105 and 110 (110 devolved); L5 the same but a traineeship; L6 ADL 1.
    # L2 has no support FAM and no LLDDHealthProb; L1's HNS code 2 is not a support code, its EHC 1 is.
    _write(ilr / "fams.csv", """
UKPRN,LearnRefNumber,AimSeqNumber,FAMType,FAMCode,DateFrom,DateTo
10090002,L4,1,SOF,105,,
10090002,L4,1,SOF,110,,
10090002,L5,1,SOF,110,,
10090002,L6,1,ADL,1,,
10090002,L1,,HNS,2,,
10090002,L1,,EHC,1,,
""")
    ds = load_dataset(data)
    assert ds.rejected.empty, ds.rejected.to_string()
    return ds


def test_hand_made_values(hand_made, settings):
    con = duckdb.connect()
    register_dataset(con, hand_made)
    prepare_inputs(con, make_period("2223", "R14"), settings)
    aims = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT LearnRefNumber, AimSeqNumber, age_at_start, stream, PHours_n, lars_level_n, regulated, "
        "emp_at_start, eii_at_start FROM frm_aims").fetchall()}
    assert aims == {
        ("L1", "1"): (16, "study_programme", 540, None, False, "11", None),  # 16th birthday on the start day
        ("L1", "3"): (16, "study_programme", None, None, False, "11", None),  # level X unknown; LARS says not
        ("L1", "2"): (16, "study_programme", None, 0, True, "11", None),     # entry level is 0
        ("L2", "1"): (15, "study_programme", None, 0, True, None, None),     # birthday the day after the start
        ("L3", "1"): (16, "t_level", None, 0, True, None, None),             # ProgType 31
        ("L4", "1"): (32, "aeb_devolved", None, 0, True, None, None),        # SOF 105;110 holds 110
        ("L5", "1"): (32, "traineeship_19_24", None, 0, True, None, None),   # ProgType 24 over devolved
        ("L6", "1"): (32, "advanced_learner_loans", None, None, True, None, None),  # not in LARS: regulated
    }
    in_order = con.execute(f"SELECT LearnRefNumber || '/' || AimSeqNumber FROM frm_aims ORDER BY {ROW}").fetchall()
    assert [r[0] for r in in_order] == ["L1/1", "L1/3", "L1/2", "L2/1", "L3/1", "L4/1", "L5/1", "L6/1"]  # file order
    students = {r[0]: r[1:] for r in con.execute(
        "SELECT LearnRefNumber, stream, prog_start, PartnerUKPRN, has_qualification, als, PlanLearnHours_n "
        "FROM frm_students").fetchall()}
    from datetime import date
    assert students == {
        "L1": ("study_programme", date(2022, 9, 1), "10090004", True, True, 540),
        "L2": ("study_programme", date(2022, 9, 1), None, True, None, None),  # unknown LLDD, no FAM: unknown
        "L3": ("t_level", date(2022, 9, 1), None, True, True, None),          # LLDDHealthProb 1
    }
    con.close()
    check_returns(hand_made, [("2223", "R14")], settings)
