"""``load_or_run``: funding rules monitoring for one return, run once and cached for every provider.

The FRM report notebook, the batch and the agency packs all call it, so they
show the same rows. Like :func:`fjaaqa.store.results.load_or_compute`, results
are kept as Parquet under ``<cache>/frm/<key>`` (never under ``--out``),
keyed by the input files' hashes, the catalogue and the package's code.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..digests import code_hash
from ..errors import InputError
from ..frm.catalogue import catalogue_files
from ..frm.engines import plan, run_return
from ..frm.inputs import FRM_TABLES
from ..frm.run import FLAG_COLUMNS, STATUS_COLUMNS, FrmResult, load_catalogue
from ..periods import Period, make_period
from .results import default_results_dir, input_files, write_entry


def input_key(data_dir: Path, period: Period) -> tuple[str, list]:
    """The cache key of one return's FRM run: the files it reads, the catalogues and the code.

    The ILR returns are those the result depends on (:func:`~fjaaqa.frm.engines.plan`), so a change to a
    return the run does not read keeps the run, and the provider's report lists only what was read.
    """
    files = input_files(data_dir, period, plan(data_dir, period)[1], FRM_TABLES)
    catalogues = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in catalogue_files().items()}
    doc = json.dumps({"files": files, "catalogues": catalogues, "code": code_hash(), "period": str(period)},
                     sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:20], files


NUMERIC = ("funding_impact", "flagged", "new", "persisting", "resolved", "available")


def _write(folder: Path, result: FrmResult, meta: dict) -> None:
    """The three tables with their text columns as strings (missing kept as missing), written whole."""
    tables = {name: df.astype({c: "string" for c in df.columns if c not in NUMERIC})
              for name, df in (("flags", result.flags), ("status", result.status), ("resolved", result.resolved))}
    write_entry(folder, tables, meta)


def _read(folder: Path) -> FrmResult:
    meta = json.loads((folder / "meta.json").read_text())
    period = make_period(meta["year"], meta["return"])
    cat, note = load_catalogue(period.year)

    def table(name: str, cols: list[str]) -> pd.DataFrame:
        df = pd.read_parquet(folder / f"{name}.parquet")
        for c in df.columns:
            if str(df[c].dtype) == "string":
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        return df.reindex(columns=cols)

    flags = table("flags", FLAG_COLUMNS)
    flags["funding_impact"] = flags["funding_impact"].astype("Float64")
    status = table("status", STATUS_COLUMNS)
    status["funding_impact"] = status["funding_impact"].astype("float64")
    resolved = table("resolved", FLAG_COLUMNS)
    compared = make_period(*meta["compared_with"]) if meta["compared_with"] else None
    res = FrmResult(period, cat, flags, status, meta["unavailable"], compared, resolved, note)
    res.meta = meta
    return res


def _base(results_dir: str | Path | None) -> Path:
    return Path(results_dir) if results_dir else default_results_dir().parent / "frm"


def _folder(data_dir: Path, period: Period, results_dir: str | Path | None) -> tuple[Path, str, list]:
    key, files = input_key(data_dir, period)
    return _base(results_dir) / key, key, files


@lru_cache(maxsize=1)
def _read_kept(folder: Path) -> FrmResult:
    """A kept run, read once per process: a folder's content never changes (its name is its inputs' hash).

    Callers only read the result; a warm kernel rendering many providers'
    reports reads the return's run once instead of once a report.
    """
    if not (folder / "meta.json").is_file():
        raise InputError(f"no kept FRM run '{folder.name}' in {folder.parent}: run 'fjaaqa frm' again")
    return _read(folder)


def is_cached(data_dir: str | Path, period: Period, results_dir: str | Path | None = None) -> bool:
    """Whether this return's FRM run on these exact inputs is already kept."""
    folder, _, _ = _folder(Path(data_dir).resolve(), period, results_dir)
    return (folder / "meta.json").is_file()


def store(data_dir: str | Path, result: FrmResult, results_dir: str | Path | None = None) -> Path:
    """Keep a run's result as the cached run of ``data_dir``'s return (the national run joins its parts here).

    The reports, the listing and the packs then read it like any other run.
    """
    folder, key, files = _folder(Path(data_dir).resolve(), result.period, results_dir)
    _keep(folder, key, files, result)
    return folder


def _keep(folder: Path, key: str, files: list, result: FrmResult) -> None:
    period = result.period
    meta = {
        "year": period.year.code, "return": period.return_code, "census": period.census.isoformat(),
        "compared_with": [result.compared_with.year.code, result.compared_with.return_code]
        if result.compared_with else None,
        "unavailable": result.unavailable, "catalogue": result.catalogue.year, "note": result.note,
        "code_hash": code_hash(), "key": key,
        "inputs": [{"file": f, "sha256": h} for f, h in files if read_by_frm(f)],
    }
    _write(folder, result, meta)




def read_by_frm(file: str) -> bool:
    """Is this data file one the FRM rules read? Only those are listed in a provider's report.

    A provider's report says what it was built from; the register, the
    reviews or an agency's self-assessment are not, and listing them would
    tell every provider which agencies sent one.
    """
    first = file.split("/", 1)[0]
    return first in ("ilr", "slc", "funding") or Path(file).stem in FRM_TABLES and "/" not in file


def load_or_run(data_dir: str | Path, year: str, return_code: str, results_dir: str | Path | None = None,
                key: str = "", engine: str = "duckdb") -> FrmResult:
    """FRM for every provider in one return (compared with the previous return), from cache or run now.

    With ``key`` (a run a batch has just made or found), that run is read as
    it is, without hashing the inputs again: a report kernel does this for
    every provider, and the last run read stays in memory for the next one.
    """
    period = make_period(year, return_code)
    if key:
        res = _read_kept(_base(results_dir) / key)
        if res.period != period:
            raise InputError(f"kept FRM run '{key}' is of {res.period.label}, not {period.label}")
        return res
    data_dir = Path(data_dir).resolve()
    folder, key, files = _folder(data_dir, period, results_dir)  # inputs hashed once, not again to store
    if (folder / "meta.json").is_file():
        return _read(folder)
    _keep(folder, key, files, run_return(data_dir, period, engine, _kept_previous(data_dir, period, results_dir)))
    return _read(folder)


def _kept_previous(data_dir: Path, period: Period, results_dir: str | Path | None) -> pd.DataFrame | None:
    """The previous return's flags from its kept run on the same inputs and catalogue, if it was run.

    Providers run each return in turn, so at R14 the run of R06 is usually
    kept: its flags are the ones this run would work out again (the key holds
    the same files, catalogues and code). A run under another year's
    catalogue (last year's R14, compared with this year's first return) is
    not reused: this run reads that return through its own catalogue.
    """
    previous, _ = plan(data_dir, period)
    if previous is None:
        return None
    folder, _, _ = _folder(data_dir, previous.period, results_dir)
    if not (folder / "meta.json").is_file():
        return None
    kept = _read(folder)
    return kept.flags if kept.catalogue.year == load_catalogue(period.year)[0].year else None
