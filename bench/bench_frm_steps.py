"""Benchmark: where the SQL engine's FRM time goes, step by step, on one dataset (not a test).

Opens DATA with the SQL loader as an FRM run does (every row check; of the
top-level tables LARS and prior achievements; the FAM types the rules read),
then for the previous return and the run's own: the prepared inputs, then
every rule. Prints each step's seconds and the process's peak memory. Make a national dataset first
(``fjaaqa synth --scale national --copies 1000 --out DATA``).

Usage: ``python bench/bench_frm_steps.py DATA [YEAR RETURN]`` (default 2223 R14).
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    from fjaaqa.frm import sql_inputs, sql_run
    from fjaaqa.frm.inputs import FRM_TABLES
    from fjaaqa.frm.partitioned import peak_rss_mb
    from fjaaqa.frm.run import load_catalogue, previous_return
    from fjaaqa.frm.sql_common import FAM_TYPES
    from fjaaqa.inputs.sql_load import open_dataset
    from fjaaqa.inputs.views import connect
    from fjaaqa.periods import make_period

    data = sys.argv[1]
    period = make_period(*(sys.argv[2:4] or ["2223", "R14"]))
    con = connect()
    started = time.perf_counter()
    open_dataset(con, data, up_to=period, top=FRM_TABLES, fams=FAM_TYPES)  # what a run opens (frm.engines)
    print(f"open the files and run every row check   {time.perf_counter() - started:7.1f} s", flush=True)
    cat, _ = load_catalogue(period.year)
    previous = previous_return(sql_run.dataset_periods(con), period)
    for p in [q for q in (previous, period) if q is not None]:
        started = time.perf_counter()
        available = sql_inputs.prepare_inputs(con, p, cat.settings)
        prepared = time.perf_counter()
        flags, _ = sql_run.evaluate_sql(con, cat, p, available)
        print(f"{p.label}: prepare the inputs {prepared - started:7.1f} s, every rule "
              f"{time.perf_counter() - prepared:6.1f} s ({len(flags):,} flags)", flush=True)
    print(f"peak memory {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
