"""National scale: a dataset split by learner, and FRM over the pieces.

A national return holds millions of learning aims from about 2,000
providers (:mod:`fjaaqa.synth.national` makes one). Two steps keep that on
one machine, and let it fan out to a cluster:

1. :func:`partition_dataset` splits a dataset into parts *by ULN*, with
   DuckDB over the Parquet files: every row of one learner (all providers,
   all returns, prior achievements, loans) lands in the same part, so rules
   that look across providers or years (repeated aims, prior achievements,
   back-dated withdrawals) see everything they need inside one part.
2. :func:`run_partitioned` runs the ordinary FRM code on each part, in
   turn or through an executor (a local process pool or a Dask cluster, see
   :mod:`fjaaqa.render.executors`), and joins the results; per-provider
   counts are sums over parts.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..paths import LOCK_NAME
from ..periods import Period, make_period

# Where each table of a dataset lives, and how its rows find their learner's ULN.
ILR_TABLES = ["learners", "deliveries", "fams", "employment", "workplacements"]
BY_ULN = ["prior_achievements", "commitments", "collection_form"]  # top-level tables carrying ULN
PER_RETURN = ("ilr", "slc", "funding")                # trees split by learner; other tables go whole to every part
EXTRA = {"slc": "loans", "funding": "earnings"}       # per-return trees keyed by UKPRN and learner


def clear_folder(folder: Path, ours) -> None:
    """Empty ``folder`` of what an earlier run wrote there; refuse to touch a folder holding anything else."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError("the output path exists and is not a folder", file=str(folder))
    children = [c for c in folder.iterdir() if c.name != LOCK_NAME]  # the lock this run holds stays
    strangers = [c.name for c in children if not ours(c)]
    if strangers:
        raise InputError(f"the output folder is not empty (it holds '{strangers[0]}'): choose a new or empty folder",
                         file=str(folder))
    for c in children:
        shutil.rmtree(c) if c.is_dir() else c.unlink()


def part_name(i: int) -> str:
    return f"p{i:03d}"


# ------------------------------------------------------------------ partitioning by ULN (DuckDB)

def _relation(name: str, path: Path, learners: Path | None) -> str:
    """SQL for a table's rows with the ULN of their learner (joined from the same return's learners)."""
    src = f"read_parquet('{path.as_posix()}')" if path.suffix == ".parquet" else \
        f"read_csv('{path.as_posix()}', all_varchar=true, header=true)"
    if name.endswith("/learners") or name in BY_ULN or name.endswith("/loans"):
        return f"SELECT *, CAST(ULN AS BIGINT) AS _uln FROM {src}"
    lsrc = f"read_parquet('{learners.as_posix()}')" if learners.suffix == ".parquet" else \
        f"read_csv('{learners.as_posix()}', all_varchar=true, header=true)"
    return (f"SELECT t.*, CAST(l.ULN AS BIGINT) AS _uln FROM {src} t LEFT JOIN "
            f"(SELECT DISTINCT UKPRN, LearnRefNumber, ULN FROM {lsrc}) l USING (UKPRN, LearnRefNumber)")


def _dataset_tables(src: Path) -> dict[str, Path]:
    found = {}
    for p in sorted(src.rglob("*")):
        if p.is_file() and p.suffix in (".csv", ".parquet"):
            found[p.relative_to(src).with_suffix("").as_posix()] = p
    return found


def partition_dataset(src: str | Path, dst: str | Path, parts: int, threads: int | None = None,
                      memory_limit: str = "1GB") -> dict:
    """Split a flat dataset into ``parts`` datasets by ULN (``ULN mod parts``), with DuckDB.

    Each part is a complete canonical dataset (``dst/p000`` ...): its
    learners' rows from every table, and the shared tables whole. A row whose
    learner is not in the return's learners table has no ULN; it goes to part
    0, where the loader reports it as it would in the whole dataset.
    """
    import duckdb
    import pyarrow.parquet as pq

    src, dst = Path(src), Path(dst)
    if parts < 1:
        raise InputError("--partitions must be 1 or more")
    tables = _dataset_tables(src)
    clear_folder(dst, lambda c: re.fullmatch(r"p[0-9]{3}|_staging|_spill", c.name) is not None)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")  # DuckDB spills to disk beyond it
    con.execute(f"SET temp_directory = '{(dst / '_spill').as_posix()}'")
    counts = {}
    for name, path in tables.items():
        top = name.split("/")[0]
        if top not in PER_RETURN and name not in BY_ULN:  # the register, reference tables, national rates ...
            for i in range(parts):
                target = dst / part_name(i) / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            continue
        learners = None
        if top in PER_RETURN:
            y, r = name.split("/")[1:3]
            learners = tables.get(f"ilr/{y}/{r}/learners")
        if learners is None and not (name in BY_ULN or name.endswith("/loans") or name.endswith("/learners")):
            raise InputError(f"{name}: no learners table in the same return to find each row's ULN", file=str(path))
        staging = dst / "_staging" / name
        staging.parent.mkdir(parents=True, exist_ok=True)
        sql = _relation(name, path, learners)
        con.execute(f"COPY (SELECT * EXCLUDE (_uln), CAST(COALESCE(_uln, 0) % {parts} AS INTEGER) AS _part "
                    f"FROM ({sql})) TO '{staging.as_posix()}' (FORMAT parquet, PARTITION_BY (_part), "
                    f"OVERWRITE_OR_IGNORE true)")
        for folder in sorted(staging.glob("_part=*")):
            i = int(folder.name.split("=")[1])
            target = dst / part_name(i) / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pieces = sorted(folder.glob("*.parquet"))
            if len(pieces) == 1:
                shutil.move(str(pieces[0]), target)
            else:
                con.execute(f"COPY (SELECT * FROM read_parquet({[p.as_posix() for p in pieces]})) "
                            f"TO '{target.as_posix()}' (FORMAT parquet)")
        for i in range(parts):  # a part none of its rows fell into still gets the table, empty (some are required)
            target = dst / part_name(i) / f"{name}.parquet"
            if name in BY_ULN and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                con.execute(f"COPY (SELECT * EXCLUDE (_uln) FROM ({sql}) LIMIT 0) TO '{target.as_posix()}' "
                            f"(FORMAT parquet)")
        counts[name] = sum(pq.ParquetFile(dst / part_name(i) / f"{name}.parquet").metadata.num_rows
                           for i in range(parts) if (dst / part_name(i) / f"{name}.parquet").exists())
    con.close()
    shutil.rmtree(dst / "_staging", ignore_errors=True)
    shutil.rmtree(dst / "_spill", ignore_errors=True)
    for i in range(parts):  # a part no learner fell into still gets the shared tables
        (dst / part_name(i)).mkdir(parents=True, exist_ok=True)
    return counts


# ------------------------------------------------------------------ FRM over the parts

@dataclass
class PartResult:
    part: str
    flags: pd.DataFrame
    resolved: pd.DataFrame
    status: pd.DataFrame
    unavailable: dict
    rejected: int
    aims: int
    seconds: float
    peak_rss_mb: float
    compared_with: tuple[str, str] | None = None  # the earlier return the part was compared with
    note: str | None = None


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it starts afresh in a spawned worker)."""
    import re

    try:
        return int(re.search(r"VmHWM:\s+([0-9]+)", Path("/proc/self/status").read_text()).group(1)) / 1024
    except (OSError, AttributeError):  # not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_part(folder: str, year: str, return_code: str, engine: str = "pandas") -> PartResult:
    """FRM for one part (runs in a worker process or on a Dask worker), by either engine."""
    import time

    from ..inputs.views import check_engine

    started = time.perf_counter()
    period = make_period(year, return_code)
    if check_engine(engine) == "pandas":
        from .engines import load_pandas
        from .run import run_frm

        ds, previous = load_pandas(folder, period)
        aims = len(ds.returns[period].deliveries) if period in ds.returns else 0
        res, rejected = run_frm(ds, period, previous=previous), len(ds.rejected)
    else:
        from ..inputs.views import connect
        from .engines import open_sql
        from .sql_run import run_frm_sql

        con = connect()
        try:
            opened, previous = open_sql(con, folder, period)
            rejected = len(opened.rejected)
            res = run_frm_sql(con, period, previous=previous)
            aims = con.execute("SELECT count(*) FROM frm_aims").fetchone()[0]
        finally:
            con.close()
    peak = peak_rss_mb()
    compared = (res.compared_with.year.code, res.compared_with.return_code) if res.compared_with else None
    return PartResult(Path(folder).name, res.flags, res.resolved, res.status, res.unavailable, rejected,
                      aims, time.perf_counter() - started, peak, compared, res.note)


def combine(parts: list[PartResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Flags and resolved rows of every part; per-provider status summed over parts."""
    flags = pd.concat([p.flags for p in parts], ignore_index=True)
    resolved = pd.concat([p.resolved for p in parts], ignore_index=True)
    flags = flags.sort_values(["UKPRN", "rule", "query_id"], kind="stable").reset_index(drop=True)
    st = pd.concat([p.status for p in parts], ignore_index=True)
    counts = ["flagged", "new", "persisting", "resolved"]
    status = st.groupby(["UKPRN", "rule"], sort=True).agg(
        available=("available", "all"), **{c: (c, "sum") for c in counts},
        funding_impact=("funding_impact", lambda s: None if s.isna().all() else round(float(s.sum()), 2)))
    return flags, resolved, status.reset_index()


def as_frm_result(parts: list[PartResult], period: Period):
    """The parts joined into one :class:`~fjaaqa.frm.run.FrmResult`, as a whole run would have returned it.

    Every part holds the same returns (the split is by learner), so they were
    compared with the same earlier return; a rule unavailable in any part is
    unavailable for the whole return.
    """
    from .run import FLAG_COLUMNS, STATUS_COLUMNS, FrmResult, load_catalogue

    flags, resolved, status = combine(parts)
    compared = next((p.compared_with for p in parts if p.compared_with), None)
    unavailable = {k: v for p in parts for k, v in p.unavailable.items()}
    note = next((p.note for p in parts if p.note), None)
    cat, _ = load_catalogue(period.year)
    return FrmResult(period, cat, flags.reindex(columns=FLAG_COLUMNS), status.reindex(columns=STATUS_COLUMNS),
                     dict(sorted(unavailable.items())), make_period(*compared) if compared else None,
                     resolved.reindex(columns=FLAG_COLUMNS), note)


def run_partitioned(parts_dir: str | Path, year: str, return_code: str, executor=None, progress=None,
                    engine: str = "pandas"):
    """FRM over every part of a partitioned dataset; returns (flags, resolved, status, part results).

    ``executor`` is anything with ``map(fn, *iterables, progress=None)``
    (:mod:`fjaaqa.render.executors`); without one the parts run in turn here.
    """
    folders = sorted(str(p) for p in Path(parts_dir).iterdir() if p.is_dir() and p.name.startswith("p"))
    if not folders:
        raise InputError("no parts (p000, p001, ...) in the folder: run the partition step first",
                         file=str(parts_dir))
    if executor is None:
        results = []
        for folder in folders:
            results.append(run_part(folder, year, return_code, engine))
            if progress:
                progress(results[-1])
    else:
        results = executor.map(run_part, folders, [year] * len(folders), [return_code] * len(folders),
                               [engine] * len(folders), progress=progress)
    flags, resolved, status = combine(results)
    return flags, resolved, status, results
