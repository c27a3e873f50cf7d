"""Which engine runs a return's FRM: DuckDB SQL over the files in place (the default), or pandas.

The pandas rules (:mod:`fjaaqa.frm.rules`) are the reference; the SQL
rules (:mod:`fjaaqa.frm.sql_rules`, :mod:`fjaaqa.frm.sql_student_rules`)
give the same flags, statuses and resolved rows, row for row
(tests/test_sql_rules.py), in a fraction of the time and memory at
national scale. So a cached run does not name the engine that made it.
"""

from __future__ import annotations

from pathlib import Path

from ..inputs.views import check_engine, connect
from ..periods import Period
from .run import FrmResult


def run_return(data_dir: str | Path, period: Period, engine: str = "duckdb") -> FrmResult:
    """One return's FRM run, compared with the previous return in the data, by ``engine``."""
    if check_engine(engine) == "pandas":
        from ..inputs.sources import load_dataset
        from .run import run_frm

        return run_frm(load_dataset(data_dir, up_to=period), period)
    from ..inputs.sql_load import open_dataset
    from .sql_run import run_frm_sql

    con = connect()
    try:
        open_dataset(con, data_dir, up_to=period)
        return run_frm_sql(con, period)
    finally:
        con.close()
