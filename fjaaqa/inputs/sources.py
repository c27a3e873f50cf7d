"""Loaders for every input table, with quarantine and reconciliation.

File-level faults (missing or unreadable file, bad encoding, a required
column missing) stop the run with :class:`~fjaaqa.errors.InputError`.
Row-level faults never stop it: the row goes to the rejected table with the
file, row, field, value, rule and a message, and the rest is used. Every
row read is either used or rejected, and :class:`Dataset` keeps the count
per file so outputs can show the reconciliation.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..digests import sha256_file
from ..errors import InputError
from ..periods import Period, make_period
from . import schemas
from .schemas import TableSpec

REJECTED_COLUMNS = ["file", "row", "field", "value", "rule", "message"]
SOURCE = ["_file", "_line"]  # where a row read from ILR XML came from
RECONCILIATION_COLUMNS = ["table", "file", "rows_read", "rows_used", "rows_rejected"]

# Optional tables at the top of a data directory, and their specs.
TOP_TABLES: dict[str, TableSpec] = {
    "approvals": schemas.APPROVALS,
    "placements": schemas.PLACEMENTS,
    "standards": schemas.STANDARDS,
    "postcodes": schemas.POSTCODES,
    "reviews": schemas.REVIEWS,
    "collection_form": schemas.COLLECTION_FORM,
    "feedback": schemas.FEEDBACK,
    "providers": schemas.PROVIDERS,
    "lars": schemas.LARS,
    "prior_achievements": schemas.PRIOR_ACHIEVEMENTS,
}
# Optional tables kept per return outside ilr/: DATA/<tree>/<year>/<return>/<name>.csv
RETURN_TABLES: dict[str, tuple[str, TableSpec]] = {
    "loans": ("slc", schemas.LOANS),
    "earnings": ("funding", schemas.EARNINGS),
}
DATE_COLUMNS = {
    c.name for spec in [*schemas.ILR_TABLES.values(), *TOP_TABLES.values(), schemas.REGISTER, schemas.COMMITMENTS,
                        *(s for _, s in RETURN_TABLES.values())]
    for c in spec.columns if c.kind == "date"
}


@dataclass
class IlrReturn:
    """The canonical ILR tables for one year and return, and the return's optional tables.

    ``extra`` holds what was found for this return outside ``ilr/`` (SLC
    loans, earnings); a name missing from it means the file was not given.
    """

    period: Period
    learners: pd.DataFrame
    deliveries: pd.DataFrame
    employment: pd.DataFrame
    fams: pd.DataFrame
    workplacements: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    has_workplacements: bool = False


@dataclass
class Dataset:
    """Everything read from a data directory, after quarantine."""

    data_dir: Path
    register: pd.DataFrame
    commitments: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    returns: dict[Period, IlrReturn]
    rejected: pd.DataFrame
    reconciliation: pd.DataFrame
    files: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["file", "sha256", "bytes"]))
    absent: dict[str, set[str]] = field(default_factory=dict)  # file -> optional columns it did not have
    notes: list[str] = field(default_factory=list)  # what was decided about the files (which of two was read)

    def table(self, name: str) -> pd.DataFrame:
        """An optional top-level table; empty (no rows) when absent."""
        return self.tables.get(name, pd.DataFrame())

    def given(self, name: str) -> bool:
        """Whether the optional top-level table ``name`` was supplied (an empty file counts)."""
        return any(f in (f"{name}.csv", f"{name}.parquet") for f in self.files["file"])


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Make every column a string column, missing as NA, dates ISO, no ``44.0``."""
    out = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(s):
            whole = s.dropna()
            if (whole == whole.round()).all():
                s = s.astype("Int64")
        elif s.dtype == object:
            s = s.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
        s = s.astype("str")
        s = s.where(df[name].notna())
        out[str(name).strip()] = s
    return pd.DataFrame(out, index=df.index)


def read_raw(path: Path, display: str, nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file as strings; file-level faults raise InputError.

    ``nrows`` reads only the header and that many rows of a CSV file: the SQL
    loader's check of the first lines, before DuckDB reads the rest.
    """
    try:
        if path.suffix.lower() == ".parquet":
            df = _as_strings(pd.read_parquet(path))
        else:
            _check_header(path, display)
            with warnings.catch_warnings():
                # More fields than the header on the first row would make pandas take the first column as an
                # index (every value shifted one column left); index_col=False warns instead, and we stop.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                    skipinitialspace=False, index_col=False, nrows=nrows,
                )
            df.columns = [str(c).strip() for c in df.columns]
            df = df.apply(lambda s: s.str.strip())
            df = df.where(df != "")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (save the file as UTF-8 CSV)", file=display) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=display) from None
    except pd.errors.ParserWarning:
        raise InputError("a row has more fields than the header (a comma in an unquoted value?)",
                         file=display) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV ({str(exc).splitlines()[0]})", file=display) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the file ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})", file=display) from None
    if len(df.columns) == 1 and ";" in str(df.columns[0]):
        raise InputError("separated by semicolons, not commas (save it as comma-separated CSV)", file=display)
    dupes = [c for c in df.columns if list(df.columns).count(c) > 1]
    if dupes:
        raise InputError(f"column '{dupes[0]}' appears more than once", file=display)
    df.index = pd.RangeIndex(len(df))
    return df


def _check_header(path: Path, display: str) -> None:
    """The header row as written: a column named twice is refused.

    pandas renames a second ``ULN`` to ``ULN.1`` before anything can see
    it, and which of the two holds the real values is anyone's guess, so the
    file is refused rather than read one way or the other.
    """
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name and name in seen:
            raise InputError(f"column '{name}' appears more than once (columns {seen[name]} and {i} of the header)",
                             file=display)
        seen[name] = i


class Quarantine:
    """Collects rejected rows and per-file counts while tables load.

    A table read from ILR XML carries ``_file`` and ``_line`` on each row:
    rejections then name the XML file and the line of the element, and the
    reconciliation counts per XML file.
    """

    def __init__(self):
        self.rejected: list[pd.DataFrame] = []
        self.counts: list[dict] = []
        self.files: list[dict] = []

    def check(self, df: pd.DataFrame, spec: TableSpec, display: str) -> pd.DataFrame:
        """Validate a raw table; keep the good rows, quarantine the rest."""
        missing = [c for c in spec.required if c not in df.columns]
        if missing:
            raise InputError(f"required column '{missing[0]}' is missing"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""), file=display)
        problems = schemas.validate(df.drop(columns=[c for c in SOURCE if c in df]), spec)
        self._record(df, problems, display)
        bad = df.index.isin(set(problems["index"].tolist()))
        for file, rows in self._by_file(df, display):
            self.counts.append({"table": spec.name, "file": file, "rows_read": int(rows.sum()),
                                "rows_used": int((~bad[rows]).sum()), "rows_rejected": int(bad[rows].sum())})
        return df[~bad]

    def reject_file(self, display: str, message: str) -> None:
        """A whole file that could not be read (a provider's broken ILR XML): listed, and the run goes on."""
        self.rejected.append(pd.DataFrame([{"file": display, "row": 0, "field": "(whole file)", "value": "",
                                            "rule": "unreadable_file", "message": message}], columns=REJECTED_COLUMNS))

    def reject_rows(self, df: pd.DataFrame, mask: pd.Series, display: str, field: str, rule: str, message: str,
                    table: str) -> pd.DataFrame:
        """Quarantine rows found bad after loading (e.g. an orphan delivery)."""
        if not mask.any():
            return df
        problems = pd.DataFrame({
            "index": df.index[mask].astype("int64"),
            "field": field,
            "value": df.loc[mask, field].astype(str).fillna("").to_numpy() if field in df else "",
            "rule": rule,
            "message": message,
        })
        self._record(df, problems, display)
        files = df.loc[mask, "_file"] if "_file" in df else pd.Series(display, index=df.index[mask])
        for file, n in files.value_counts().items():
            for c in self.counts:
                if c["file"] == file and c["table"] == table:
                    c["rows_used"] -= int(n)
                    c["rows_rejected"] += int(n)
        return df[~mask]

    @staticmethod
    def _by_file(df: pd.DataFrame, display: str):
        """(file, boolean positions) for each source file of a table."""
        if "_file" not in df or df.empty:
            return [(display, pd.Series(True, index=df.index).to_numpy())]
        files = df["_file"].to_numpy()
        return [(f, files == f) for f in dict.fromkeys(files)]

    def _record(self, df: pd.DataFrame, problems: pd.DataFrame, display: str) -> None:
        if problems.empty:
            return
        out = problems.copy()
        if "_file" in df:
            out["file"] = df.loc[out["index"], "_file"].to_numpy()
            out["row"] = pd.to_numeric(df.loc[out["index"], "_line"]).to_numpy()  # line of the XML element
        else:
            out["file"] = display
            out["row"] = out["index"] + 2  # line in the file: header is line 1
        self.rejected.append(out[REJECTED_COLUMNS])

    def rejected_frame(self) -> pd.DataFrame:
        if not self.rejected:
            return pd.DataFrame(columns=REJECTED_COLUMNS)
        out = pd.concat(self.rejected, ignore_index=True)
        return out.sort_values(["file", "row", "field", "rule"], kind="stable").reset_index(drop=True)

    def reconciliation_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.counts, columns=RECONCILIATION_COLUMNS)


def _find_table(folder: Path, name: str) -> Path | None:
    for suffix in (".csv", ".parquet"):
        p = folder / f"{name}{suffix}"
        if p.is_file():
            return p
    return None


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Turn validated date columns into datetime64; everything else stays text."""
    df = df.copy()
    for name in df.columns:
        if name in DATE_COLUMNS:
            df[name] = pd.to_datetime(df[name], format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    return df


class Loader:
    """Reads one data directory: the register, commitments, optional tables, ILR returns."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise InputError("data directory not found", file=str(data_dir))
        self.q = Quarantine()
        self.absent: dict[str, set[str]] = {}
        self.notes: list[str] = []
        self.root = self.data_dir.resolve()

    def display(self, path: Path) -> str:
        return path.relative_to(self.data_dir).as_posix()

    def inside(self, path: Path) -> Path:
        """A data file, once it is known not to be a link to somewhere outside the data folder."""
        real = path.resolve()
        if self.root not in real.parents:
            raise InputError("is a symbolic link to a file outside the data folder: copy the file in instead",
                             file=self.display(path))
        return path

    def find(self, folder: Path, name: str) -> Path | None:
        """``name.csv`` or ``name.parquet``; when both are there the CSV is read, and the run says so."""
        path = _find_table(folder, name)
        if path is not None and path.suffix == ".csv" and (folder / f"{name}.parquet").is_file():
            self.notes.append(f"{self.display(path)} and {self.display(folder / f'{name}.parquet')} both exist: "
                              f"the CSV is read and the Parquet file ignored")
        return path

    def load(self, spec: TableSpec, path: Path) -> pd.DataFrame:
        """Read, validate and quarantine one file; absent optional columns become empty ones."""
        self.inside(path)
        display = self.display(path)
        raw = read_raw(path, display)
        self.record_file(path)
        return self.check_frame(spec, raw, display)

    def record_file(self, path: Path) -> str:
        """List a file as read, with its hash (which it returns) and size."""
        sha = sha256_file(path)
        self.q.files.append({"file": self.display(path), "sha256": sha, "bytes": path.stat().st_size})
        return sha

    def check_frame(self, spec: TableSpec, raw: pd.DataFrame, display: str) -> pd.DataFrame:
        """Validate and quarantine a table already read; add absent optional columns as empty."""
        kept = self.q.check(raw, spec, display)
        missing = [c for c in spec.names if c not in kept.columns]
        self.absent[display] = set(missing)
        for c in missing:
            kept[c] = pd.Series(pd.NA, index=kept.index, dtype="str")
        return kept

    def required_table(self, folder: Path, name: str, spec: TableSpec) -> pd.DataFrame:
        path = self.find(folder, name)
        if path is None:
            shown = (folder / f"{name}.csv").relative_to(self.data_dir).as_posix()
            raise InputError("required file is missing (CSV or Parquet)", file=shown)
        return self.load(spec, path)

    def optional_table(self, folder: Path, name: str, spec: TableSpec) -> pd.DataFrame:
        path = self.find(folder, name)
        if path is None:
            return empty_table(spec)
        return self.load(spec, path)


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """A table with its declared columns and no rows: one not supplied, or not read."""
    return pd.DataFrame({c: pd.Series(dtype="str") for c in spec.names})


def ilr_folders(data_dir: Path) -> list[tuple[Period, Path]]:
    """Every ``ilr/<year>/<return>/`` folder, in period order."""
    found = []
    root = data_dir / "ilr"
    if not root.is_dir():
        return found
    for year_dir in sorted(root.iterdir()):
        if not (year_dir.is_dir() and re.fullmatch(r"[0-9]{4}", year_dir.name)):
            continue
        for ret_dir in sorted(year_dir.iterdir()):
            if ret_dir.is_dir() and re.fullmatch(r"R[0-9]{2}", ret_dir.name):
                try:
                    found.append((make_period(year_dir.name, ret_dir.name), ret_dir))
                except InputError:
                    continue
    return sorted(found)


def reads_return(period: Period, up_to: Period | None, only: set[Period] | None) -> bool:
    """Whether a loader reads this ILR return: none after ``up_to``, and only those in ``only`` when given.

    A command that reads a few returns (FRM reads the run's return, each
    earlier year's last and last year's R14) names them, so the year's other
    returns are neither read nor checked, and cannot stop it.
    """
    return (up_to is None or period <= up_to) and (only is None or period in only)


def reads_table(name: str, top: Collection[str] | None) -> bool:
    """Whether a loader reads the top-level table ``name``: every one, unless the command names those it reads.

    FRM reads LARS and prior achievements only: a provider's data team runs
    it on its own ILR without the agencies' register and commitments, which
    are required only where they are read.
    """
    return top is None or name in top


def load_dataset(data_dir: str | Path, up_to: Period | None = None, only: set[Period] | None = None,
                 top: Collection[str] | None = None) -> Dataset:
    """Load a data directory; ILR returns later than ``up_to``, or not in ``only`` when given, are not read.

    Nor are the top-level tables not in ``top``, when given: they are empty.
    """
    ld = Loader(data_dir)
    root = ld.data_dir
    register = empty_table(schemas.REGISTER)
    if reads_table("register", top):
        register = ld.required_table(root, "register", schemas.REGISTER)
        if register.empty:  # nothing can be computed for nobody: say so here, not with a traceback later
            shown = ld.display(ld.find(root, "register"))
            raise InputError("no agency on the register (the file has a header and no rows, or every row was "
                             "rejected: run `fjaaqa validate` for the reasons)", file=shown)
    commitments = (ld.required_table(root, "commitments", schemas.COMMITMENTS) if reads_table("commitments", top)
                   else empty_table(schemas.COMMITMENTS))
    tables = {name: ld.optional_table(root, name, spec) if reads_table(name, top) else empty_table(spec)
              for name, spec in TOP_TABLES.items()}

    returns: dict[Period, IlrReturn] = {}
    for period, folder in ilr_folders(root):
        if reads_return(period, up_to, only):
            returns[period] = _load_return(ld, period, folder)

    return Dataset(
        data_dir=root,
        register=_typed(register),
        commitments=_typed(commitments),
        tables={k: _typed(v) for k, v in tables.items()},
        returns=returns,
        rejected=ld.q.rejected_frame(),
        reconciliation=ld.q.reconciliation_frame(),
        files=pd.DataFrame(ld.q.files, columns=["file", "sha256", "bytes"]),
        absent=ld.absent,
        notes=ld.notes,
    )


def _xml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml")


def _load_return(ld: Loader, period: Period, folder: Path) -> IlrReturn:
    """The four ILR tables of one return, from flat tables or from ILR XML files."""
    frames = xml_return(ld, folder, ld.q.reject_file)
    if frames is not None:
        shown = {name: f"{ld.display(folder)}/*.xml ({name})" for name in schemas.ILR_TABLES}
        learners = ld.check_frame(schemas.LEARNERS, frames["learners"], shown["learners"])
        deliveries = ld.check_frame(schemas.DELIVERIES, frames["deliveries"], shown["deliveries"])
        employment = ld.check_frame(schemas.EMPLOYMENT, frames["employment"], shown["employment"])
        fams = ld.check_frame(schemas.FAMS, frames["fams"], shown["fams"])
        workplacements = ld.check_frame(schemas.WORKPLACEMENTS, frames["workplacements"], shown["workplacements"])
        has_wp = True  # an XML file states its placements (none is an answer)
        ddisplay = shown["deliveries"]
    else:
        learners = ld.required_table(folder, "learners", schemas.LEARNERS)
        deliveries = ld.required_table(folder, "deliveries", schemas.DELIVERIES)
        employment = ld.optional_table(folder, "employment", schemas.EMPLOYMENT)
        fams = ld.optional_table(folder, "fams", schemas.FAMS)
        has_wp = _find_table(folder, "workplacements") is not None
        workplacements = ld.optional_table(folder, "workplacements", schemas.WORKPLACEMENTS)
        ddisplay = ld.display(_find_table(folder, "deliveries"))

    # A delivery whose learner is missing (or was rejected) cannot be linked
    # to a ULN: quarantine it rather than drop it silently.
    known = pd.MultiIndex.from_frame(learners[["UKPRN", "LearnRefNumber"]])
    orphan = ~pd.MultiIndex.from_frame(deliveries[["UKPRN", "LearnRefNumber"]]).isin(known)
    deliveries = ld.q.reject_rows(
        deliveries, pd.Series(orphan, index=deliveries.index), ddisplay, "LearnRefNumber",
        "no_learner", "no valid learner record with this UKPRN and LearnRefNumber", "deliveries",
    )
    deliveries = _fams_onto_deliveries(deliveries, fams)
    tables = [learners, deliveries, employment, fams, workplacements]
    tables = [_typed(t.drop(columns=[c for c in SOURCE if c in t])) for t in tables]
    extra = {}
    for name, (tree, spec) in RETURN_TABLES.items():
        sub = ld.data_dir / tree / period.year.code / period.return_code
        if _find_table(sub, name) is not None:
            extra[name] = _typed(ld.optional_table(sub, name, spec))
    return IlrReturn(period, *tables, extra=extra, has_workplacements=has_wp)


def xml_return(ld: Loader, folder: Path, reject) -> dict[str, pd.DataFrame] | None:
    """A return's ILR XML files as canonical tables, or None when the folder has none; both loaders start here.

    A folder holds XML files or flat tables, never both. Each file is
    recorded; one that could not be read at all goes to ``reject(shown, why)``.
    """
    xml = [ld.inside(f) for f in _xml_files(folder)]
    if not xml:
        return None
    if _find_table(folder, "learners") or _find_table(folder, "deliveries"):
        raise InputError("holds both ILR XML files and learners/deliveries tables: keep one kind",
                         file=ld.display(folder))
    frames, failed = converted_xml(xml, ld.data_dir)
    for f in xml:
        ld.record_file(f)
    for shown, why in failed.items():
        reject(shown, why)
    return frames


def converted_xml(files: list[Path], data_dir: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """ILR XML files as canonical tables, and the files that could not be read, cached by the files' hashes.

    Re-runs skip parsing; a changed file (or a changed reader) converts afresh.
    """
    import json

    from ..paths import cache_dir
    from . import ilr

    h = hashlib.sha256(Path(ilr.__file__).read_bytes())
    for f in files:
        h.update(f.relative_to(data_dir).as_posix().encode())
        h.update(sha256_file(f).encode())
    cache = cache_dir("ilr", h.hexdigest()[:20])
    names = list(schemas.ILR_TABLES)
    if all((cache / f"{n}.parquet").is_file() for n in names) and (cache / "failed.json").is_file():
        return ({n: _as_strings(pd.read_parquet(cache / f"{n}.parquet")) for n in names},
                json.loads((cache / "failed.json").read_text()))
    frames, failed = ilr.read_folder(files, data_dir)
    tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for n in names:
        frames[n].to_parquet(tmp / f"{n}.parquet", index=False)
    (tmp / "failed.json").write_text(json.dumps(failed, sort_keys=True))
    try:
        os.replace(tmp, cache)
    except OSError:  # another process wrote it first
        shutil.rmtree(tmp, ignore_errors=True)
    return frames, failed


def _fams_onto_deliveries(deliveries: pd.DataFrame, fams: pd.DataFrame) -> pd.DataFrame:
    """Put each aim's FAM values on the delivery as ``FAM_<type>`` columns.

    A flat extract may already carry them; values from the long table win
    only where the flat column is empty. Repeated types join with ``;``.
    """
    if fams.empty:
        return deliveries
    aim_fams = fams[fams["AimSeqNumber"].notna()]
    if aim_fams.empty:
        return deliveries
    aim_fams = aim_fams.sort_values(["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "DateFrom", "FAMCode"],
                                    na_position="first")
    # Most aims have one code per type: take those as they are and join only the repeated ones
    # (a Python function per group was most of the load time of a national-size return).
    keys = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType"]
    distinct = aim_fams.drop_duplicates(keys + ["FAMCode"])  # first appearance kept, in sorted order
    repeated = distinct.duplicated(keys, keep=False)
    single = distinct[~repeated].set_index(keys)["FAMCode"]
    joined = distinct[repeated].groupby(keys, sort=True)["FAMCode"].agg(";".join)
    wide = pd.concat([single, joined]).sort_index().unstack("FAMType")
    wide.columns = [f"FAM_{c}" for c in wide.columns]
    wide = wide.reset_index()
    out = deliveries.merge(wide, on=["UKPRN", "LearnRefNumber", "AimSeqNumber"], how="left", suffixes=("", "__long"))
    out.index = deliveries.index
    for col in wide.columns:
        if col.startswith("FAM_") and f"{col}__long" in out:
            out[col] = out[col].where(out[col].notna(), out[f"{col}__long"])
            out = out.drop(columns=f"{col}__long")
    return out
