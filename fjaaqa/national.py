"""National scale: a national-size synthetic dataset, split by learner, and FRM over the pieces.

A national return holds millions of learning aims from about 2,000
providers. Three steps keep that on one machine (and let it fan out to a
cluster):

1. :func:`write_national` makes a national-size dataset in the canonical
   layout as Parquet, by copying the synthetic FRM return many times with
   fresh provider, learner and ULN numbers (so every copy's planted FRM
   cases are flagged again: the expected flags are known exactly).
2. :func:`partition_dataset` splits a dataset into parts *by ULN*, with
   DuckDB over the Parquet files: every row of one learner (all providers,
   all returns, prior achievements, loans) lands in the same part, so rules
   that look across providers or years (repeated aims, prior achievements,
   back-dated withdrawals) see everything they need inside one part.
3. :func:`run_partitioned` runs the ordinary FRM code on each part, in a
   local process pool or on a Dask cluster (:mod:`fjaaqa.executors`), and
   joins the results; per-provider counts are sums over parts.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError
from .periods import Period, make_period
from .sources import ilr_folders

# Where each table of a dataset lives, and how its rows find their learner's ULN.
ILR_TABLES = ["learners", "deliveries", "fams", "employment", "workplacements"]
BY_ULN = ["prior_achievements"]                      # top-level tables carrying ULN
SHARED = ["register", "commitments", "lars"]          # top-level tables every part needs whole
EXTRA = {"slc": "loans", "funding": "earnings"}       # per-return trees keyed by UKPRN and learner
PROVIDERS = 2000
STAMP = ".national"  # marks a folder this module wrote (so writing it again may replace it)


def _clear(folder: Path, ours) -> None:
    """Empty ``folder`` of what an earlier run wrote there; refuse to touch a folder holding anything else."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError("the output path exists and is not a folder", file=str(folder))
    children = list(folder.iterdir())
    strangers = [c.name for c in children if not ours(c)]
    if strangers:
        raise InputError(f"the output folder is not empty (it holds '{strangers[0]}'): choose a new or empty folder",
                         file=str(folder))
    for c in children:
        shutil.rmtree(c) if c.is_dir() else c.unlink()


def part_name(i: int) -> str:
    return f"p{i:03d}"


# ------------------------------------------------------------------ the national synthetic dataset

def _base(tmp: Path) -> Path:
    from .synth import write_dataset

    write_dataset(tmp, agencies=30)
    return tmp


def _tables(base: Path, period: Period) -> dict[str, Path]:
    """Every flat table the FRM run for ``period`` reads from the base dataset (relative name -> file)."""
    found = {}
    for p, folder in ilr_folders(base):
        if p <= period:
            for t in ILR_TABLES:
                f = folder / f"{t}.csv"
                if f.is_file():
                    found[f"ilr/{p.year.code}/{p.return_code}/{t}"] = f
            for tree, t in EXTRA.items():
                f = base / tree / p.year.code / p.return_code / f"{t}.csv"
                if f.is_file():
                    found[f"{tree}/{p.year.code}/{p.return_code}/{t}"] = f
    for t in BY_ULN + SHARED:
        if (base / f"{t}.csv").is_file():
            found[t] = base / f"{t}.csv"
    return found


def _renumber(df: pd.DataFrame, copy: int, uln_index: dict, ukprn_index: dict, groups: int) -> pd.DataFrame:
    """One copy of a table with its own providers, learner references, ULNs and SWSupAimIds."""
    df = df.copy()
    g = copy % groups
    for col in ("UKPRN", "PartnerUKPRN"):
        if col in df:
            m = df[col].notna()
            df.loc[m, col] = df.loc[m, col].map(lambda u: str(10_000_000 + g * 1_000 + ukprn_index[u]))
    if "LearnRefNumber" in df:  # up to 12 characters: a 4-character copy prefix before the base reference
        df["LearnRefNumber"] = f"C{copy:03X}" + df["LearnRefNumber"].str.slice(0, 8)
    if "ULN" in df:
        df["ULN"] = df["ULN"].map(lambda u: str(1_000_000_000 + copy * 10_000 + uln_index[u]))
    if "SWSupAimId" in df:
        m = df["SWSupAimId"].notna()
        df.loc[m, "SWSupAimId"] = df.loc[m, "SWSupAimId"].str.slice(0, 30) + f"-{copy:05d}"
    return df


def write_national(out: str | Path, copies: int = 1000, period: Period | None = None, progress=None,
                   base: str | Path | None = None) -> dict:
    """A national-size dataset (Parquet, canonical layout): ``copies`` renumbered copies of the base return.

    One copy of the synthetic FRM return has 5,001 aims; the default 1,000
    copies make 5 million in the return, from about 2,000 providers (the
    base's providers in ``ceil(2000 / providers)`` groups). Returns counts.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    period = period or make_period("2223", "R14")
    out = Path(out)
    _clear(out, lambda c: c.name in ("ilr", "slc", "funding", STAMP) or c.suffix in (".csv", ".parquet"))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(base) if base else _base(Path(tmp) / "base")
        files = _tables(base, period)
        frames = {name: pd.read_csv(f, dtype=str) for name, f in files.items()}
        ulns = sorted({u for df in frames.values() if "ULN" in df for u in df["ULN"].dropna()})
        if len(ulns) >= 10_000:
            raise InputError("the base dataset has 10,000 or more ULNs: too many to renumber per copy")
        ukprns = sorted({u for df in frames.values() for c in ("UKPRN", "PartnerUKPRN") if c in df
                         for u in df[c].dropna()})
        uln_index = {u: i for i, u in enumerate(ulns)}
        ukprn_index = {u: i for i, u in enumerate(ukprns)}
        groups = max(1, math.ceil(PROVIDERS / len(ukprns)))
        for name in SHARED:
            if name in frames:
                target = out / f"{name}.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(files[name], target)
        writers: dict[str, pq.ParquetWriter] = {}
        rows = {name: 0 for name in frames if name not in SHARED}
        batch = 50
        try:
            for start in range(0, copies, batch):
                for name in rows:
                    df = pd.concat([_renumber(frames[name], c, uln_index, ukprn_index, groups)
                                    for c in range(start, min(copies, start + batch))], ignore_index=True)
                    table = pa.Table.from_pandas(df, preserve_index=False,
                                                 schema=pa.schema([(c, pa.string()) for c in df.columns]))
                    if name not in writers:
                        target = out / f"{name}.parquet"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        writers[name] = pq.ParquetWriter(target, table.schema, compression="zstd")
                    writers[name].write_table(table)
                    rows[name] += len(df)
                if progress:
                    progress(min(copies, start + batch))
        finally:
            for w in writers.values():
                w.close()
    aims = rows.get(f"ilr/{period.year.code}/{period.return_code}/deliveries", 0)
    (out / STAMP).write_text(f"{copies}\n")
    return {"copies": copies, "aims": aims, "providers": min(groups * len(ukprns), copies * len(ukprns)),
            "rows": rows}


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
    _clear(dst, lambda c: re.fullmatch(r"p\d{3}|_staging|_spill", c.name) is not None)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")  # DuckDB spills to disk beyond it
    con.execute(f"SET temp_directory = '{(dst / '_spill').as_posix()}'")
    counts = {}
    for name, path in tables.items():
        top = name.split("/")[0]
        if name in SHARED:
            for i in range(parts):
                target = dst / part_name(i) / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            continue
        learners = None
        if top in ("ilr", "slc", "funding"):
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
        return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024
    except (OSError, AttributeError):  # not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_part(folder: str, year: str, return_code: str) -> PartResult:
    """FRM for one part (runs in a worker process or on a Dask worker)."""
    import time

    from .frm import run_frm
    from .sources import load_dataset

    started = time.perf_counter()
    period = make_period(year, return_code)
    ds = load_dataset(folder, up_to=period)
    aims = len(ds.returns[period].deliveries) if period in ds.returns else 0
    res = run_frm(ds, period)
    peak = peak_rss_mb()
    compared = (res.compared_with.year.code, res.compared_with.return_code) if res.compared_with else None
    return PartResult(Path(folder).name, res.flags, res.resolved, res.status, res.unavailable, len(ds.rejected),
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
    """The parts joined into one :class:`~fjaaqa.frm.FrmResult`, as a whole run would have returned it.

    Every part holds the same returns (the split is by learner), so they were
    compared with the same earlier return; a rule unavailable in any part is
    unavailable for the whole return.
    """
    from .frm import FLAG_COLUMNS, STATUS_COLUMNS, FrmResult, load_catalogue

    flags, resolved, status = combine(parts)
    compared = next((p.compared_with for p in parts if p.compared_with), None)
    unavailable = {k: v for p in parts for k, v in p.unavailable.items()}
    note = next((p.note for p in parts if p.note), None)
    cat, _ = load_catalogue(period.year)
    return FrmResult(period, cat, flags.reindex(columns=FLAG_COLUMNS), status.reindex(columns=STATUS_COLUMNS),
                     dict(sorted(unavailable.items())), make_period(*compared) if compared else None,
                     resolved.reindex(columns=FLAG_COLUMNS), note)


def run_partitioned(parts_dir: str | Path, year: str, return_code: str, executor=None, progress=None):
    """FRM over every part of a partitioned dataset; returns (flags, resolved, status, part results)."""
    from .executors import LocalExecutor

    folders = sorted(str(p) for p in Path(parts_dir).iterdir() if p.is_dir() and p.name.startswith("p"))
    if not folders:
        raise InputError("no parts (p000, p001, ...) in the folder: run the partition step first",
                         file=str(parts_dir))
    executor = executor or LocalExecutor()
    results = executor.map(run_part, folders, [year] * len(folders), [return_code] * len(folders),
                           progress=progress)
    flags, resolved, status = combine(results)
    return flags, resolved, status, results
