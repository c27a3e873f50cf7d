"""The SQL loader equals the pandas loader (issue 23): every view's rows, the rejected rows, the reconciliation.

Each test opens one data directory both ways, ``register_dataset(con,
load_dataset(...))`` and ``open_dataset(con, ...)``, and compares every view
of the contract row for row (sorted, types as DuckDB reports them), the
rejected rows in order, the reconciliation, the file list, the notes and the
absent columns; or, for a file that cannot be used, the one-line error. The
hand-made dataset has a row failing each declared check once, so every
check's SQL is compared with its pandas twin.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import link_outside, repo_path

from fjaaqa.errors import InputError
from fjaaqa.inputs import kept_checks, schemas, sql_load
from fjaaqa.inputs.sources import load_dataset
from fjaaqa.inputs.sql_load import open_dataset
from fjaaqa.inputs.views import ILR_VIEWS, RETURN_VIEWS, SPECS, TOP_VIEWS, register_dataset
from fjaaqa.periods import make_period

FRM_DATA = repo_path("tests", "fixtures", "frm_data")
PACK_DATA = repo_path("tests", "fixtures", "pack_data")
BROKEN = repo_path("tests", "fixtures", "broken")
VIEWS = ILR_VIEWS + RETURN_VIEWS + TOP_VIEWS + ["dataset_returns", "dataset_given"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))  # ILR XML conversions stay in the test's folder


def _view(con, name: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    """A view's column names and types, and its rows sorted (an empty view's NULL-typed column reads as text)."""
    result = con.execute(f'SELECT * FROM "{name}"')
    types = [(d[0], "VARCHAR" if str(d[1]) == '"NULL"' else str(d[1])) for d in result.description]
    return types, sorted(result.fetchall(), key=lambda row: [(v is None, str(v)) for v in row])


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(object).where(df.notna(), None).reset_index(drop=True)


def assert_same(data: Path, up_to=None, top=None) -> pd.DataFrame:
    """Open ``data`` both ways and assert every outcome is the same; the rejected rows, for more checks.

    The SQL loader opens it twice, keeping each file's check outcome: the
    first time works every check out, the second reads the kept outcomes.
    """
    kept = kept_checks.default_folder()  # in the test's own cache folder
    try:
        ds = load_dataset(data, up_to, top=top)
    except InputError as exc:
        for _ in range(2):
            with pytest.raises(InputError) as got:
                open_dataset(duckdb.connect(), data, up_to, kept=kept, top=top)
            assert str(got.value) == str(exc)
        return pd.DataFrame()
    want = duckdb.connect()
    register_dataset(want, ds)
    for _ in range(2):
        got = duckdb.connect()
        opened = open_dataset(got, data, up_to, kept=kept, top=top)
        for name in VIEWS:
            assert _view(got, name) == _view(want, name), name
        pd.testing.assert_frame_equal(_plain(opened.rejected), _plain(ds.rejected), check_dtype=False)
        pd.testing.assert_frame_equal(_plain(opened.reconciliation), _plain(ds.reconciliation), check_dtype=False)
        pd.testing.assert_frame_equal(_plain(opened.files), _plain(ds.files), check_dtype=False)
        assert opened.notes == ds.notes and opened.absent == ds.absent
    return ds.rejected


# ------------------------------------------------------------------ the shipped fixtures


def test_the_frm_fixture_loads_the_same():
    assert_same(FRM_DATA)


def test_the_pack_fixture_loads_the_same():
    assert_same(PACK_DATA, make_period("2122", "R14"))  # its earlier returns: all its kinds of file, in less time


def test_a_national_copy_loads_the_same(tmp_path):
    from fjaaqa.synth.national import write_national

    write_national(tmp_path / "national", copies=2, base=FRM_DATA)
    assert_same(tmp_path / "national")


# ------------------------------------------------------------------ a dataset failing every check once


def _csv(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n", encoding="utf-8")


def _rows(path: Path, header: str, *rows: str) -> None:
    _csv(path, "\n".join([header, *rows]))


def every_check_dataset(root: Path) -> Path:
    """Every table, with a row failing each column kind, row rule and key, and the loader's own cases."""
    _rows(root / "register.csv", "agency_id,agency_name,registered_on,removed_on,approved_routes,approved_regions,ern",
          "A1,One,2020-01-01,,Digital,London,",
          "A2,Two,2021-05-01,2021-04-30,,,",        # removed_before_registered
          "../A3,Three,,,,,",                       # id_format
          "A4,,,,,,",                               # required_value, name_needed
          "A5,Five,2023-02-29,9999-01-01,,,",       # real_date, plausible_date
          "A6,Six,2023/01/01,20230101,,,",          # date_format (+ real_date where pandas cannot read it)
          "A7,Seven,0023-01-01,-2023-09-01,,,",     # implausible, and a date pandas reads BC
          "A1,Again,,,,,")                          # duplicate_key
    commitments = pd.DataFrame({
        "apprenticeship_id": ["C1", "C2", "C3", "C4", "C1", None, "C7"],
        "ULN": [1000000018, 1000000018, 123, None, 1000000018, 1000000018, 1000000018],  # integers, one missing
        "agency_id": ["A1", None, "A1", "A1", "A1", "A1", "A1"],
        "UKPRN": ["10000001"] * 7,
        "StdCode": [25.0, 25.0, 25.5, 25.0, 25.0, 25.0, None],  # a float column not all whole: written 25.0
        "delivery_model": ["FlexiJobAgency", "FlexiJobAgency", "Regular", "Portable", "Regular", "Regular", "Regular"],
        "start_date": pd.to_datetime(["2023-09-01"] * 6 + [None]).date,
        "planned_end_date": pd.to_datetime(["2025-03-01", "2022-01-01", None, None, None, None, None]),
        "status": ["Live", "Stopped", "Live", "Gone", "Live", "Live", "Live"],
        "stop_date": [None, "", None, None, None, None, None],  # an empty text in Parquet is not missing
        "host_employer": [" Acme ", "", None, None, None, None, None],
        "continuation_of_id": [None] * 7,
        "flag": [True, False, None, True, True, True, True],  # an undeclared column of another type
    })
    commitments.to_parquet(root / "commitments.parquet", index=False)
    _rows(root / "approvals.csv", "agency_id,kind,value,from,to",
          "A1,sector,Digital,2022-01-01,2021-01-01", "A1,colour,blue,,")
    _rows(root / "placements.csv", "apprenticeship_id,host_employer,postcode,from,to",
          "C1,Acme,LS1 4AP,2023-05-01,2023-04-01")
    _rows(root / "reviews.csv", "agency_id,review_date,intervention,scope,note",
          "A1,2024-01-01,no_intervention,,", "A1,2024-01-01,shout,,")
    _rows(root / "collection_form.csv", "agency_id,ULN,item,value,StdCode,date",
          "A1,1000000018,break_initiated_by,apprentice,25,", "A1,1000000018,break_initiated_by,nobody,25,",
          "A1,1000000018,colour,blue,25,")
    _rows(root / "feedback.csv", "agency_id,rating,responses,period",
          "A1,4.5,10,2324", "A1,6,10,", "A1,abc,x,", "A1,1_000,3,", "A1,+3,3,")
    _rows(root / "providers.csv", "UKPRN,provider_name", "10000001,Provider One", "10000002,=cmd()")
    pd.DataFrame({"UKPRN": ["10000001"], "provider_name": ["Other"]}).to_parquet(root / "providers.parquet")  # note
    _rows(root / "standards.csv", "StdCode,title,level,route",
          "25,Software developer,4,Digital", "26,Baker,2,Bakery")
    _rows(root / "postcodes.csv", "postcode,district,region", "LS1 4AP,Leeds,Yorkshire and The Humber",
          "XX1 1XX,Nowhere,Atlantis")
    _rows(root / "lars.csv", "LearnAimRef,title,level,aim_type,subject,regulated", "ZPROG001,Programme,X,other,,N",
          "60000001,Maths,9,gcse,maths,Y")
    _rows(root / "prior_achievements.csv", "ULN,LearnAimRef,AchDate,OutGrade", "1000000018,60000001,2019-06-30,4",
          "1000000018,60000001,,4")
    r14 = root / "ilr" / "2324" / "R14"
    _rows(r14 / "learners.csv", "UKPRN,LearnRefNumber,ULN,DateOfBirth,Ethnicity,Sex,PlanLearnHours,Notes",
          "10000001,L1,1000000018,2000-01-01,31,F,100,x",
          "10000001,L2,1000000018,1899-12-31,31,X,1.5,",     # plausible_date, allowed_code (Sex), int_format
          "1000000A,L3,12345,2000-01-01,31,M,,",            # ukprn_format, uln_format
          "10000001,TOOLONGREF123,1000000018,,,,,",         # learnref_format
          "10000001, L5 ,1000000018,2000-13-01,31,M,,",     # trimmed value; real_date
          "10000001,L1,1000000018,,,,,",                    # duplicate_key
          "10000001,L6,,,,,,")                              # required_value
    d = "UKPRN,LearnRefNumber,AimSeqNumber,LearnAimRef,AimType,FundModel,LearnStartDate,LearnPlanEndDate,CompStatus," \
        "ProgType,StdCode,OrigLearnStartDate,LearnActEndDate,Outcome,WithdrawReason,AchDate,FAM_RES,FAM_HHS"
    _rows(r14 / "deliveries.csv", d,
          "10000001,L1,1,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,25,,,,,,,1",
          "10000001,L1,2,ZPROG001,1,36,2023-09-01,2025-03-01,3,25,25,,2024-01-01,3,,,,",   # withdrawn_needs_reason
          "10000001,L1,3,ZPROG001,1,36,2023-09-01,2025-03-01,3,25,25,,2024-01-01,,40,,,",  # withdrawn_outcome_3
          "10000001,L1,4,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,25,,,,40,,,",            # reason_only_when_withdrawn
          "10000001,L1,5,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,25,,2024-01-01,,,,,",    # continuing_has_no_end
          "10000001,L1,6,ZPROG001,1,36,2023-09-01,2025-03-01,2,25,25,,,1,,,,",             # ended_needs_end_date
          "10000001,L1,7,ZPROG001,1,36,2023-09-01,2025-03-01,2,25,25,,2024-01-01,2,,2024-01-01,,",  # AchDate, Outcome 2
          "10000001,L1,8,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,25,2022-09-01,,,,,2,",   # orig_start_needs_res
          "10000001,L1,9,ZPROG001,1,36,2023-09-01,2023-08-01,1,25,25,,,,,,,",              # plan_end_before_start
          "10000001,L1,10,ZPROG001,1,36,2023-09-01,2025-03-01,2,25,25,,2023-08-01,1,,2023-08-01,,",  # end/ach before
          "10000001,L1,11,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,25,2023-10-01,,,,,1,",  # orig_start_after_start
          "10000001,L1,12,ZPROG001,1,36,2023-09-01,2025-03-01,1,25,,,,,,,,",               # programme_needs_standard
          "10000001,L1,13,ZPROG001,7,,2023-09-01,2025-03-01,1,,,,,,,,,",                   # allowed, required
          "10000001,L1,13,ZPROG001,1,36,2023-09-01,2025-03-01,1,,,,,,,,,",                 # duplicate_key
          "10000001,L9,1,ZPROG001,1,36,2023-09-01,2025-03-01,1,,,,,,,,,",                  # no_learner
          "10000001,L2,1,ZPROG001,1,36,2023-09-01,2025-03-01,1,,,,,,,,,",                  # its learner was rejected
          "10000001,L9,2,ZPROG001,1,36,2023-9-1,2025-03-01,1,,,,,,,,,",                    # orphan and date_format
          "10000001,L1,14,ZPROG001,1,36,2023-09-01,2025-03-01,1,,,,,,,,,")
    _rows(r14 / "employment.csv", "UKPRN,LearnRefNumber,EmpStat,DateEmpStatApp,EmpId,ESM_EII,ESM_LOU,ESM_ZZZ",
          "10000001,L1,10,2023-08-01,123,5,1,anything", "10000001,L1,10,2023-09-01,,9,,",  # esm_code
          "10000001,L1,10,2023-10-01,,,1;7,", "10000001,L1,99,2023-11-01,,,,")             # esm_code; allowed_code
    _rows(r14 / "fams.csv", "UKPRN,LearnRefNumber,AimSeqNumber,FAMType,FAMCode,DateFrom,DateTo",
          "10000001,L1,1,LDM,357,2023-10-01,", "10000001,L1,1,LDM,034,,", "10000001,L1,1,LDM,125,2023-09-01,",
          "10000001,L1,1,LDM,034,2023-12-01,", "10000001,L1,1,ACT,1,2023-09-01,2023-08-01",  # fam_dates_order
          "10000001,L1,1,SOF,105,,", "10000001,L1,,LSR,55,,", "10000001,L1,14,RES,1,,", "10000001,L1,1,XXX,1,,")
    _rows(r14 / "workplacements.csv", "UKPRN,LearnRefNumber,AimSeqNumber,WorkPlaceStartDate,WorkPlaceEndDate,"
          "WorkPlaceHours", "10000001,L1,1,2023-09-01,2023-08-01,100", "10000001,L1,1,2023-09-01,,1e3")
    _rows(root / "slc" / "2324" / "R14" / "loans.csv",
          "UKPRN,ULN,LearnAimRef,course_start_date,loan_status,liability_passed,LearnRefNumber,amount_paid",
          "10000001,1000000018,ZPROG001,2023-09-01,approved,Y,L1,100.50",
          "10000001,1000000018,ZPROG001,2023-09-01,lost,maybe,L1,1e2")
    (root / "funding" / "2324" / "R14").mkdir(parents=True)
    pd.DataFrame({"UKPRN": ["10000001", "10000001"], "LearnRefNumber": ["L1", "L1"], "amount": [100.0, 12.5],
                  "AimSeqNumber": pd.array([1, None], dtype="Int64")}).to_parquet(
        root / "funding" / "2324" / "R14" / "earnings.parquet")
    # An earlier return in Parquet, its optional columns absent (rules over them do not run; NULL reads as pandas' NA)
    r06 = root / "ilr" / "2324" / "R06"
    r06.mkdir(parents=True)
    pq.write_table(pa.table({"UKPRN": ["10000001", "10000001"], "LearnRefNumber": ["L1", "L2"],
                             "ULN": ["1000000018", ""]}), r06 / "learners.parquet")
    pq.write_table(pa.table({
        "UKPRN": ["10000001"] * 3, "LearnRefNumber": ["L1", "L1", "L2"], "AimSeqNumber": [1, 2, 1],
        "LearnAimRef": ["ZPROG001"] * 3, "AimType": ["1", "1", "1"], "FundModel": ["36", " 36", "36"],
        "LearnStartDate": ["2023-09-01", "2023-09-01", "2023-09-01"], "LearnPlanEndDate": ["2025-03-01"] * 3,
        "CompStatus": ["3", "2", "1"]}), r06 / "deliveries.parquet")
    return root


def test_a_dataset_failing_every_check_once_loads_the_same(tmp_path):
    rejected = assert_same(every_check_dataset(tmp_path / "data"))
    rules = set(rejected["rule"])
    declared = {r.name for spec in SPECS.values() for r in spec.rules}
    kinds = {f"{c.kind}_format" for spec in SPECS.values() for c in spec.columns} - {"text_format", "ees_period_format",
                                                                                     "ees_count_format",
                                                                                     "ees_rate_format"}
    others = {"real_date", "plausible_date", "allowed_code", "required_value", "duplicate_key", "no_learner"}
    assert declared | kinds | others <= rules, sorted(declared | kinds | others - rules)


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["every_column_row_by_row", "every_column_by_distinct_value"])
def test_every_check_is_the_same_row_by_row_or_by_distinct_value(tmp_path, monkeypatch, share):
    """Whichever columns the loader checks once per distinct value (a guess from the first rows), results agree."""
    monkeypatch.setattr(sql_load, "FEW_SHARE", share)
    monkeypatch.setattr(sql_load, "FEW_DISTINCT", share)
    monkeypatch.setattr(sql_load, "SETTLE_FROM_ROWS", 0)  # however small the table
    rejected = assert_same(every_check_dataset(tmp_path / "data"))
    assert {"real_date", "plausible_date", "allowed_code", "required_value", "date_format"} <= set(rejected["rule"])


def test_the_tables_frm_reads_alone_load_the_same(tmp_path):
    """FRM reads LARS and prior achievements: the rest are empty views, the register not needed nor checked."""
    data = every_check_dataset(tmp_path / "data")
    (data / "register.csv").unlink()
    rejected = assert_same(data, top=("lars", "prior_achievements"))
    assert set(rejected["file"].str.split("/").str[0]) == {"ilr", "slc", "lars.csv", "prior_achievements.csv"}


def test_an_earlier_return_alone_loads_the_same(tmp_path):
    assert_same(every_check_dataset(tmp_path / "data"), make_period("2324", "R06"))


@pytest.mark.parametrize("fams, left_out", [(("LDM", "RES"), {"FAM_SOF"}), ((), {"FAM_LDM", "FAM_SOF"})])
def test_an_opening_for_some_fam_types_puts_only_those_on_the_aims(tmp_path, fams, left_out):
    """Every FAM row is still checked; the aims carry the asked types' codes as a full opening has them.

    A ``FAM_<type>`` column of the deliveries file itself stays (here RES,
    ACT and HHS), without the codes of the FAMs file unless its type was
    asked for; a column only the FAMs file makes is left out.
    """
    data = every_check_dataset(tmp_path / "data")
    full, some = duckdb.connect(), duckdb.connect()
    everything = open_dataset(full, data)
    opened = open_dataset(some, data, fams=fams)
    cols = [c for c, _ in _view(full, "deliveries")[0]]
    kept = [c for c, _ in _view(some, "deliveries")[0]]
    assert kept == [c for c in cols if c not in left_out]
    listed = ", ".join(f'"{c}"' for c in kept if not c.startswith("FAM_") or c[4:] in fams)
    for con in (full, some):
        con.execute(f"CREATE TEMP VIEW asked AS SELECT {listed} FROM deliveries")
    assert _view(some, "asked") == _view(full, "asked")
    pd.testing.assert_frame_equal(_plain(opened.rejected), _plain(everything.rejected))
    assert "fams.csv" in " ".join(opened.rejected["file"])


def test_every_row_rule_has_its_sql():
    missing = [f"{spec.name}.{r.name}" for spec in SPECS.values() for r in spec.rules if r.sql is None]
    assert missing == []


def test_a_rule_does_not_run_without_its_columns():
    rule = next(r for r in schemas.DELIVERIES.rules if r.name == "withdrawn_outcome_3")
    assert rule.sql_over(["CompStatus"]) is None
    assert rule.sql_over(["CompStatus", "Outcome"]) == "\"CompStatus\" = '3' AND \"Outcome\" IS DISTINCT FROM '3'"


# ------------------------------------------------------------------ dates read as pandas reads them


@pytest.mark.parametrize("text", ["2023-09-01", "2024-02-29", "2023-02-29", "0000-02-29", "2023-9-1", "2023-09- 1",
                                  "-2023-01-31", "-1-02-29", "-4-02-29", "٢٠٢٣-٠٩-٠١", "２０２３-09-01", "2023-١٢-01",
                                  "2023-09-01 ", "20230901", "2023/09/01", "02023-09-01", "9999-12-31", "nan", ""])
def test_fjaaqa_date_key_reads_text_as_pandas_does(text):
    con = duckdb.connect()
    for macro in schemas.sql_macros():
        con.execute(macro)
    got = con.execute("SELECT fjaaqa_date_key(?)", [text]).fetchone()[0]
    want = pd.to_datetime(pd.Series([text], dtype="str"), format="%Y-%m-%d", errors="coerce").iloc[0]
    assert got == (None if pd.isna(want) else want.year * 10000 + want.month * 100 + want.day)


# ------------------------------------------------------------------ files pandas reads differently, or refuses


DELIVERIES = ("UKPRN,LearnRefNumber,AimSeqNumber,LearnAimRef,AimType,FundModel,LearnStartDate,LearnPlanEndDate,"
              "CompStatus\n10000001,L1,1,ZPROG001,1,36,2023-09-01,2025-03-01,1\n")


def flat(root: Path, learners: str | bytes | list, deliveries: str | None = None) -> Path:
    """A data directory around learners files (one per return, R01 on, the last R14), as tests/test_inputs.py does."""
    _csv(root / "register.csv", "agency_id,agency_name\nA1,One")
    _csv(root / "commitments.csv", "ULN,agency_id,UKPRN,StdCode,delivery_model")
    files = learners if isinstance(learners, list) else [learners]
    for i, text in enumerate(files, start=1):
        folder = root / "ilr" / "2324" / ("R14" if i == len(files) else f"R{i:02d}")
        folder.mkdir(parents=True)
        (folder / "learners.csv").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        (folder / "deliveries.csv").write_text(deliveries or DELIVERIES)
    return root


ODD = [  # CSV files pandas reads: DuckDB reads them too, or leaves them to pandas, to the same rows
    'UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n\n10000001,"L\n2",1000000018\n10000001,L3\n',  # quoted break
    "UKPRN,LearnRefNumber,ULN\r\n10000001,L1,1000000018\r\n10000001,L2,1000000018\n",  # mixed line endings
    'UKPRN,LearnRefNumber,ULN\n10000001,  L1\u3000,1000000018\n10000001,"",1000000018\n10000001,L3,   \n',
    'UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n10000001,L"2,1000000018\n',  # a stray quote
    "UKPRN,LearnRefNumber,ULN\n",  # a header alone
    "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n  \t \n10000001,L2,1000000018\n",  # pandas skips the line
    'UKPRN,LearnRefNumber,ULN\n10000001, "L1" ,1000000018\n10000001,"L2" ,1000000018\n',  # quotes after spaces
    "UKPRN,LearnRefNumber,ULN\r10000001,L1,1000000018\r10000001,L2,1000000018\r",  # old Mac line ends
    "\ufeff\ufeffUKPRN,LearnRefNumber,ULN,\n10000001,L\x001,1000000018,\n,,,\n",  # two BOMs, NUL, no name, commas
    *[(BROKEN / "csv" / name).read_bytes() for name in ("learners_bom.csv", "learners_extra_columns.csv",
                                                         "learners_duplicate.csv")],
]


def test_odd_csv_files_load_the_same(tmp_path):
    assert_same(flat(tmp_path / "data", ODD))


@pytest.mark.parametrize("text", [
    "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n10000001,L2,1000000018,extra\n",  # a field too many
    "UKPRN,LearnRefNumber,ULN\n" + "10000001,L1,1000000018\n" * 3 + "10000001,L2,caf\xe9\n",
    "UKPRN;LearnRefNumber;ULN\n10000001;L1;1000000018\n",  # semicolons
    "UKPRN,LearnRefNumber,ULN,ULN\n10000001,L1,1000000018,1000000018\n",  # a column twice
    "UKPRN,ULN\n10000001,1000000018\n",  # a required column missing
    "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018,x\n",  # the first row has a field too many
    "",  # empty
    (BROKEN / "csv" / "learners_semicolons.csv").read_bytes(),
    (BROKEN / "csv" / "learners_latin1.csv").read_bytes(),
])
def test_csv_files_pandas_refuses_stop_the_same(tmp_path, text):
    assert_same(flat(tmp_path / "data", text))


def test_a_file_not_in_utf8_stops_the_same(tmp_path):
    rows = b"".join(b"10000001,L%d,1000000018,x\n" % i for i in range(20000))
    bad = b"10000001,L,1000000018,caf\xe9\n"  # deep in the file, in a column no check reads
    assert_same(flat(tmp_path / "data", b"UKPRN,LearnRefNumber,ULN,Notes\n" + rows + bad))


def test_a_one_column_file_skips_blank_lines_as_pandas_does(tmp_path):
    root = flat(tmp_path / "data", "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n")
    _csv(root / "postcodes.csv", "region\nLondon\n\nAtlantis\n")
    rejected = assert_same(root)
    assert rejected[["row", "rule"]].values.tolist() == [[3, "allowed_code"]]  # pandas counts rows, not lines


@pytest.mark.parametrize("name", ["deliveries_bad_values.csv", "deliveries_missing_column.csv"])
def test_the_broken_deliveries_fixtures_load_or_stop_the_same(tmp_path, name):
    root = flat(tmp_path / "data", "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n",
                (BROKEN / "csv" / name).read_text())
    assert_same(root)


def test_a_link_outside_the_data_folder_stops_the_same(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FRM_DATA, data)
    link_outside(data)
    assert_same(data)


def test_a_register_with_no_valid_row_stops_the_same(tmp_path):
    root = flat(tmp_path / "data", "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n")
    _csv(root / "register.csv", "agency_id,agency_name\n../A1,One")
    assert_same(root)


# ------------------------------------------------------------------ ILR XML returns


def test_an_xml_return_with_a_broken_file_loads_the_same(tmp_path):
    from test_hostile import LEARNER, ilr_file

    root = tmp_path / "data"
    folder = root / "ilr" / "2324" / "R14"
    folder.mkdir(parents=True)
    _csv(root / "register.csv", "agency_id,agency_name\nA1,One")
    _csv(root / "commitments.csv", "ULN,agency_id,UKPRN,StdCode,delivery_model")
    learners = LEARNER.format(uln="1000000018", extra="") + LEARNER.format(uln="12", extra="<Sex>X</Sex>")
    ilr_file(folder / "ILR-10000001-2324-20240731-120000-01.xml", learners)
    ilr_file(folder / "ILR-10000003-2324-20240731-120000-01.xml", LEARNER.format(uln="1000000018", extra=""))
    (folder / "ILR-10000002-2324-20240731-120000-01.xml").write_text("<Message><Learner>")  # cut short
    rejected = assert_same(root)
    assert {"unreadable_file", "uln_format", "duplicate_key", "allowed_code"} <= set(rejected["rule"])


def test_parquet_values_read_as_pandas_writes_them(tmp_path):
    """Numbers, dates, booleans, decimals and empty text in a Parquet file become the text pandas makes of them."""
    from decimal import Decimal

    root = flat(tmp_path / "data", "UKPRN,LearnRefNumber,ULN\n10000001,L1,1000000018\n")
    folder = root / "ilr" / "2324" / "R14"
    (folder / "learners.csv").unlink()
    pq.write_table(pa.table({
        "UKPRN": pa.array([10000001, 10000001, 1234, None], pa.int64()),
        "LearnRefNumber": ["L1", " L2 ", "", "L4"],
        "ULN": pa.array([1000000018, 1000000018, 2 ** 40, 1000000018], pa.uint64()),
        "DateOfBirth": pa.array([pd.Timestamp("2000-01-31 13:00"), None, pd.Timestamp("1899-12-31"), None],
                                pa.timestamp("ms")),
        "Ethnicity": pa.array([31, 32, 99, None], pa.int8()),
        "Sex": pa.array(["F", "M", "X", None]).dictionary_encode(),
        "LLDDHealthProb": pa.array([True, False, None, True]),
        "PlanLearnHours": pa.array([1.0, 2.0, None, 3.0], pa.float32()),
        "PlanEEPHours": pa.array([0.1, 2.0, None, float("nan")], pa.float64()),
        "PriorAttain": pa.array([Decimal("1.50"), None, Decimal("2"), None], pa.decimal128(5, 2)),
        "MathGrade": pa.array([None] * 4, pa.null()),
    }), folder / "learners.parquet")
    rejected = assert_same(root)
    assert {"ukprn_format", "allowed_code", "int_format", "required_value", "plausible_date"} <= set(rejected["rule"])
