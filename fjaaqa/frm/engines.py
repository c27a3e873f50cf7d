"""Which engine runs a return's FRM: DuckDB SQL over the files in place (the default), or pandas.

The pandas rules (:mod:`fjaaqa.frm.rules`) are the reference; the SQL
rules (:mod:`fjaaqa.frm.sql_rules`, :mod:`fjaaqa.frm.sql_student_rules`)
give the same flags, statuses and resolved rows, row for row
(tests/test_sql_rules.py), in a fraction of the time and memory at
national scale. So a cached run does not name the engine that made it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..inputs import kept_checks
from ..inputs.sources import ilr_folders
from ..inputs.views import check_engine, connect
from ..periods import Period
from .inputs import FRM_TABLES
from .run import FrmResult, Previous, previous_return, returns_read
from .sql_common import FAM_TYPES


def plan(data_dir: str | Path, period: Period,
         kept_flags: pd.DataFrame | None = None) -> tuple[Previous | None, set[Period]]:
    """What a run at ``period`` compares with, and the ILR returns it reads (the rest of DATA stays unread).

    ``kept_flags`` are the previous return's flags from a kept run of it: that
    return is then not read again. Without it, the returns are all those the
    result depends on, so they make the cached run's key.
    """
    periods = [p for p, _ in ilr_folders(Path(data_dir))]
    before = previous_return(periods, period)
    previous = Previous(before, kept_flags) if before is not None else None
    return previous, returns_read(periods, period, previous)


def load_pandas(data_dir: str | Path, period: Period, kept_flags: pd.DataFrame | None = None):
    """The dataset a pandas run at ``period`` reads (:func:`plan`'s returns, FRM's tables); what it compares with."""
    from ..inputs.sources import load_dataset

    previous, only = plan(data_dir, period, kept_flags)
    return load_dataset(data_dir, up_to=period, only=only, top=FRM_TABLES), previous


def open_sql(con, data_dir: str | Path, period: Period, kept_flags: pd.DataFrame | None = None):
    """Open in ``con`` what a SQL run at ``period`` reads, keeping check outcomes; the opening, the previous return."""
    from ..inputs.sql_load import open_dataset

    previous, only = plan(data_dir, period, kept_flags)
    opened = open_dataset(con, data_dir, up_to=period, only=only, kept=kept_checks.default_folder(), top=FRM_TABLES,
                          fams=FAM_TYPES)
    return opened, previous


def run_return(data_dir: str | Path, period: Period, engine: str = "duckdb",
               kept_flags: pd.DataFrame | None = None) -> FrmResult:
    """One return's FRM run, compared with the previous return in the data, by ``engine``.

    Only the returns the run reads are opened (:func:`plan`), and of the
    top-level tables only LARS and prior achievements; with
    ``kept_flags``, the previous return's flags from a kept run, that return
    is neither read nor run again. Each file's check outcome is kept
    (:mod:`~fjaaqa.inputs.kept_checks`), so a file an earlier run checked is
    not checked again.
    """
    if check_engine(engine) == "pandas":
        from .run import run_frm

        ds, previous = load_pandas(data_dir, period, kept_flags)
        return run_frm(ds, period, previous=previous)
    from .sql_run import run_frm_sql

    con = connect()
    try:
        _, previous = open_sql(con, data_dir, period, kept_flags)
        return run_frm_sql(con, period, previous=previous)
    finally:
        con.close()
