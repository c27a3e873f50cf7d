"""A data directory opened in place as the SQL engine's views, every declared check done in SQL.

The national path: :func:`open_dataset` reads each CSV or Parquet file where
it lies (DuckDB ``read_csv`` with every value as text, ``read_parquet``),
runs the checks :mod:`fjaaqa.inputs.schemas` declares as one SQL pass per
file, and leaves the connection holding the views of
:mod:`fjaaqa.inputs.views` over the rows that passed. Nothing is copied
into pandas but the rejected rows. The result is the pandas loader's
(:func:`fjaaqa.inputs.sources.load_dataset`) row for row: the same rows in
every view, the same rejected rows (file, row, field, value, rule, message),
the same reconciliation, file list, notes and absent columns, and the same
one-line :class:`~fjaaqa.errors.InputError` for a file that cannot be used.

How it stays equal to pandas:

- File-level faults are found by the pandas code itself where that is cheap:
  the header and first row of a CSV file (:func:`~fjaaqa.inputs.sources.read_raw`
  with ``nrows``), the symbolic-link and file-finding rules of
  :class:`~fjaaqa.inputs.sources.Loader`. When DuckDB cannot read a file that
  pandas might (mixed line endings, a stray quote, a line over 2 MB, a
  one-column file whose blank lines pandas skips, a Parquet column of an
  unusual type), the file is read by pandas after all: pandas then stops
  with its own message, or its rows are checked in SQL like any other.
- Values are what pandas makes of them: CSV values trimmed of the white space
  Python strips, empty as NULL; Parquet values as ``_as_strings`` writes them
  (whole floats without ``.0``, dates ISO, empty text kept).
- Column checks are built from each :class:`~fjaaqa.inputs.schemas.Col`
  (pattern, real and plausible date, allowed codes, required value), row
  rules from each rule's ``sql``, duplicate keys keep the first row in file
  order; messages come from the same functions.
- ILR XML returns are read by the pandas reader (its Parquet cache) and
  checked here like the flat files, with each row's file and line.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ..errors import InputError
from ..periods import Period
from . import kept_checks, schemas
from .schemas import TableSpec, check_message, sql_name, sql_text
from .sources import (
    DATE_COLUMNS,
    RECONCILIATION_COLUMNS,
    REJECTED_COLUMNS,
    RETURN_TABLES,
    SOURCE,
    TOP_TABLES,
    Loader,
    ilr_folders,
    read_raw,
    reads_return,
    reads_table,
    xml_return,
)
from .views import ILR_VIEWS, ORDERED, PERIOD_COLUMNS, RETURN_VIEWS, SPECS, TOP_VIEWS

# Columns an ILR table may carry beyond its declared ones, which its view carries too: an aim's FAMs as flat
# columns, employment monitoring (the esm_code rule reads them as well).
EXTRA_PREFIX = {"deliveries": "FAM_", "employment": "ESM_"}
EXTRA_PREFIXES = tuple(EXTRA_PREFIX.values())
# DuckDB types a Parquet column may have, by how pandas (``_as_strings``) writes them as text.
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE"}
TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
WHOLE_LIMIT = 2 ** 53  # a whole float past this is not written as pandas writes it: pandas reads that file
# DuckDB errors that are a fault in this module's SQL, never in a file: raised, not read around with pandas.
OUR_FAULT = (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)
# A column's checks are settled once per distinct value (see ``_Opener.settle``) when, in the first SAMPLE_ROWS
# rows, it holds at most this share of distinct values; past FEW_FAILING failing values it is checked per row.
SAMPLE_ROWS = 20_000
FEW_DISTINCT = 0.25
FEW_FAILING = 1_000
GROWTH = 1.25
FEW_SHARE = 0.02
# A table with fewer rows is checked row by row: settling its columns takes four statements, which cost more than
# they save on a small file (the demo's 34 tables opened in 2.6 s with them; see docs/performance.md).
SETTLE_FROM_ROWS = 50_000


@dataclass
class SqlDataset:
    """What opening a data directory found besides its rows (which are in the connection's views)."""

    rejected: pd.DataFrame
    reconciliation: pd.DataFrame
    files: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    absent: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class _Raw:
    """One table as read: a view of its rows, every value as text, with ``_file``, ``_row`` and ``_idx``.

    ``_row`` is the row a rejection names (the CSV line, the XML element's
    line), ``_idx`` the row's place in the table (file order).
    """

    view: str
    columns: list[str]  # the table's own columns (names stripped), as pandas would see them
    display: str
    per_file: bool = False  # rows from several ILR XML files: counted per file
    count: str = ""  # SQL counting the rows; for CSV it reads every column, so DuckDB checks all the text is UTF-8
    how: str = ""  # how one file was read (its check outcome can be kept, see kept_checks); "" for ILR XML rows


@dataclass
class _Table:
    """One checked table: the view of its valid rows and the columns it has."""

    view: str
    columns: list[str]
    spec: TableSpec
    key: str = ""  # the key its check outcome is kept under ("" when not kept): deliveries' outcome depends on it


@dataclass
class _Check:
    """One failure test: where the check query puts it (a bit of a flag column), the field it blames, the rule."""

    flag: str
    bit: int
    field: str
    rule: str
    message: str


# Where DuckDB and pandas read the same CSV bytes differently, without an error: a line of spaces or tabs only
# (pandas skips it, DuckDB reads an empty row) and spaces before a quote that opens a field (pandas keeps both
# as text, DuckDB takes the value inside the quotes).
READ_APART = re.compile(rb'(?:^|[\r\n])[ \t]+(?:[\r\n]|\Z)|(?:^|[,\r\n])[ \t]+"')


def _read_apart(path: Path) -> bool:
    """Whether a CSV file holds a line DuckDB reads otherwise than pandas (a scan of its bytes, not a parse)."""
    import mmap

    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return READ_APART.search(data) is not None


def _ints(flags: pd.Series):
    """A flag column as integers, NULL (a check that passed on a missing value) as 0."""
    return flags.astype("Int64").fillna(0).to_numpy("int64")


def open_dataset(con: duckdb.DuckDBPyConnection, data_dir: str | Path, up_to: Period | None = None,
                 only: set[Period] | None = None, kept: Path | None = None,
                 top: Collection[str] | None = None, fams: Collection[str] | None = None) -> SqlDataset:
    """Open ``data_dir`` in ``con`` as the views of :mod:`fjaaqa.inputs.views`; ILR returns after ``up_to`` unread.

    With ``only``, the ILR returns not in it are not read either; with
    ``top``, nor the top-level tables not in it (their views are empty).
    Equal to ``register_dataset(con, load_dataset(data_dir, up_to, only, top))``, with
    the rejected rows and the reconciliation of that Dataset. With ``kept``
    (a folder), each file's check outcome is kept there and read back when
    the same file is opened again (:mod:`fjaaqa.inputs.kept_checks`). With
    ``fams`` (FAM types, such as ``RES``), the deliveries view carries only
    those types' ``FAM_<type>`` columns from the FAMs file: every FAM row is
    still checked, but only the aims' FAMs a command reads are put on them.
    """
    return _Opener(con, data_dir, kept, fams).run(up_to, only, top)


class _Opener:
    """The state of one opening: the connection, the pandas loader's file rules, what was rejected."""

    def __init__(self, con, data_dir, kept: Path | None = None, fams: Collection[str] | None = None):
        self.con = con
        self.kept = kept  # where check outcomes are kept (kept_checks), or None to work every one out
        self.fams = None if fams is None else sorted(set(fams))  # the FAM types put on the aims, or None for all
        self.ld = Loader(data_dir)  # file finding, symbolic links, notes, the file list: the pandas loader's own
        self.names = itertools.count()
        self.rejected: list[pd.DataFrame] = []
        self.counts: list[dict] = []
        self.order = itertools.count()  # the order pandas records rejections in (ties in its stable sort)
        # A CSV row's number is its place in DuckDB's reading, which keeps file order only with this setting on.
        if not con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]:
            con.execute("SET preserve_insertion_order = true")
        for macro in schemas.sql_macros():
            con.execute(macro)

    def name(self, what: str) -> str:
        return f"_fjaaqa_{what}_{next(self.names)}"

    # ------------------------------------------------------------------ the data directory

    def run(self, up_to: Period | None, only: set[Period] | None, read: Collection[str] | None) -> SqlDataset:
        ld, root = self.ld, self.ld.data_dir
        top: dict[str, _Table | None] = {"register": None, "commitments": None}
        if reads_table("register", read):
            top["register"] = self.required(root, "register", schemas.REGISTER)
            if self.used(top["register"]) == 0:
                shown = ld.display(ld.find(root, "register"))
                raise InputError("no agency on the register (the file has a header and no rows, or every row was "
                                 "rejected: run `fjaaqa validate` for the reasons)", file=shown)
        if reads_table("commitments", read):
            top["commitments"] = self.required(root, "commitments", schemas.COMMITMENTS)
        for name, spec in TOP_TABLES.items():
            top[name] = self.optional(root, name, spec) if reads_table(name, read) else None
        returns = {}
        for period, folder in ilr_folders(root):
            if reads_return(period, up_to, only):
                returns[period] = self.ilr_return(period, folder)
        self.views(top, returns)
        files = pd.DataFrame(ld.q.files, columns=["file", "sha256", "bytes"])
        con = self.con
        given = pd.DataFrame({"name": [n for n in TOP_VIEWS
                                       if any(f in (f"{n}.csv", f"{n}.parquet") for f in files["file"])]})
        con.register("_frame_dataset_given", given)
        con.execute("CREATE OR REPLACE TEMP VIEW dataset_given AS SELECT * FROM _frame_dataset_given")
        return SqlDataset(self.rejected_frame(), pd.DataFrame(self.counts, columns=RECONCILIATION_COLUMNS), files,
                          ld.notes, ld.absent)

    def required(self, folder: Path, name: str, spec: TableSpec, learners: _Table | None = None) -> _Table:
        path = self.ld.find(folder, name)
        if path is None:
            shown = (folder / f"{name}.csv").relative_to(self.ld.data_dir).as_posix()
            raise InputError("required file is missing (CSV or Parquet)", file=shown)
        return self.load(spec, path, learners)

    def optional(self, folder: Path, name: str, spec: TableSpec) -> _Table | None:
        path = self.ld.find(folder, name)
        return None if path is None else self.load(spec, path)

    def load(self, spec: TableSpec, path: Path, learners: _Table | None = None) -> _Table:
        """Open one file, check it and keep its valid rows (``Loader.load``).

        If DuckDB cannot read the file through, pandas reads it (and may stop
        with its own words).
        """
        self.ld.inside(path)
        display = self.ld.display(path)
        parquet = path.suffix.lower() == ".parquet"
        raw = self.parquet(path, display) if parquet else self.csv(path, display)
        content = self.ld.record_file(path)
        try:
            return self.check(spec, raw, learners, content)
        except OUR_FAULT:
            raise
        except duckdb.Error:
            pass
        if not parquet:  # quoted line breaks with short rows: DuckDB reads those in one thread only
            try:
                return self.check(spec, self.csv(path, display, parallel=False), learners, content)
            except OUR_FAULT:
                raise
            except duckdb.Error:
                pass
        return self.check(spec, self.frame(read_raw(path, display), display), learners, content)

    # ------------------------------------------------------------------ one ILR return

    def ilr_return(self, period: Period, folder: Path) -> dict:
        """The tables of one return, checked, orphan deliveries rejected (``_load_return``)."""
        ld = self.ld
        frames = xml_return(ld, folder, self.reject_file)
        if frames is not None:
            tables = {}
            for name, spec in schemas.ILR_TABLES.items():
                shown = f"{ld.display(folder)}/*.xml ({name})"
                learners = tables.get("learners")
                tables[name] = self.check(spec, self.frame(frames[name], shown, xml=True),
                                          learners if name == "deliveries" else None)
            has_wp = True
        else:
            tables = {"learners": self.required(folder, "learners", schemas.LEARNERS)}
            tables["deliveries"] = self.required(folder, "deliveries", schemas.DELIVERIES, tables["learners"])
            for name in ("employment", "fams", "workplacements"):
                tables[name] = self.optional(folder, name, schemas.ILR_TABLES[name])
            has_wp = tables["workplacements"] is not None
        extra = {}
        for name, (tree, spec) in RETURN_TABLES.items():
            sub = ld.data_dir / tree / period.year.code / period.return_code
            table = self.optional(sub, name, spec)
            if table is not None:
                extra[name] = table
        return {"tables": tables, "extra": extra, "has_workplacements": has_wp}

    # ------------------------------------------------------------------ reading files as text

    def csv(self, path: Path, display: str, parallel: bool = True) -> _Raw:
        """A CSV file through DuckDB, every value as pandas reads it (trimmed, empty as NULL).

        pandas reads the header and first row first (its file-level faults,
        in its words). A one-column file, and a file :func:`_read_apart`
        finds lines in that DuckDB reads differently, are left to pandas.
        """
        header = list(read_raw(path, display, nrows=1).columns)
        if len(header) == 1 or _read_apart(path):
            return self.frame(read_raw(path, display), display)
        typed = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        source = (f"read_csv({sql_text(path.as_posix())}, header = true, all_varchar = true, auto_detect = false, "
                  f"delim = ',', quote = '\"', escape = '\"', null_padding = true, columns = {{{typed}}}"
                  + ("" if parallel else ", parallel = false") + ")")
        wanted = self.wanted(header)
        spaces = sql_text(schemas.WHITESPACE)
        cols = [f"NULLIF(trim(c{i}, {spaces}), '') AS {sql_name(name)}" for i, name in enumerate(header)
                if name in wanted]
        view = self.name("raw")
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(cols + [''])}{sql_text(display)} AS _file, "
            f"row_number() OVER () + 1 AS _row, row_number() OVER () - 1 AS _idx FROM {source}")
        every = ", ".join(f"count(c{i})" for i in range(len(header)))
        return _Raw(view, header, display, count=f"SELECT count(*), {every} FROM {source}",
                    how="csv" if parallel else "csv in one thread")

    def parquet(self, path: Path, display: str) -> _Raw:
        """A Parquet file through DuckDB, each value as ``_as_strings`` writes it; pandas reads odd files."""
        source = f"read_parquet({sql_text(path.as_posix())}, file_row_number = true)"
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error:
            return self.frame(read_raw(path, display), display)
        physical = {}
        for name, kind, *_ in described:
            if name != "file_row_number":
                physical[str(name).strip()] = (name, kind)  # pandas keeps the last of two names equal once stripped
        if len(physical) == 1 and ";" in next(iter(physical)):
            raise InputError("separated by semicolons, not commas (save it as comma-separated CSV)", file=display)
        wanted = self.wanted(list(physical))
        floats = [n for n, (_, kind) in physical.items() if kind in FLOAT_TYPES and n in wanted]
        whole = self.whole_floats(source, {n: physical[n][0] for n in floats})
        if whole is None or any(not self.as_text_sql(kind, "x", False) for n, (_, kind) in physical.items()
                                if n in wanted):
            return self.frame(read_raw(path, display), display)
        cols = [f"{self.as_text_sql(kind, sql_name(col), whole.get(name, False))} AS {sql_name(name)}"
                for name, (col, kind) in physical.items() if name in wanted]
        view = self.name("raw")
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(cols + [''])}{sql_text(display)} AS _file, "
            f"file_row_number + 2 AS _row, file_row_number AS _idx FROM {source}")
        return _Raw(view, list(physical), display, how="parquet")

    def whole_floats(self, source: str, floats: dict[str, str]) -> dict[str, bool] | None:
        """For each float column, whether every value is whole (pandas then writes it as an integer).

        None when a value is infinite or too large to be written as pandas
        writes it: such a file is left to pandas.
        """
        if not floats:
            return {}
        parts = []
        for col in floats.values():
            c = sql_name(col)
            parts += [f"coalesce(bool_and({c} = round({c})) FILTER (WHERE NOT isnan({c})), true)",
                      f"coalesce(bool_or(NOT isnan({c}) AND (isinf({c}) OR abs({c}) >= {WHOLE_LIMIT})), false)"]
        found = self.con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchall()[0]
        if any(found[1::2]):
            return None
        return dict(zip(floats, found[0::2]))

    @staticmethod
    def as_text_sql(kind: str, col: str, whole: bool) -> str:
        """SQL writing a Parquet value of DuckDB type ``kind`` as pandas' ``_as_strings`` does ('' if unknown)."""
        if kind == "VARCHAR":
            return col
        if kind == '"NULL"':  # a column with no value at all
            return "CAST(NULL AS VARCHAR)"
        if kind in INTEGER_TYPES or kind.startswith("DECIMAL"):
            return f"CAST({col} AS VARCHAR)"
        if kind in FLOAT_TYPES:
            number = f"CAST(CAST({col} AS BIGINT) AS VARCHAR)" if whole else f"CAST({col} AS VARCHAR)"
            return f"CASE WHEN NOT isnan({col}) THEN {number} END"
        if kind == "BOOLEAN":
            return f"CASE WHEN {col} THEN 'True' WHEN NOT {col} THEN 'False' END"
        if kind == "DATE":
            return f"CAST({col} AS VARCHAR)"
        if kind in TIMESTAMP_TYPES:
            return f"CAST(CAST({col} AS DATE) AS VARCHAR)"
        return ""

    def frame(self, df: pd.DataFrame, display: str, xml: bool = False) -> _Raw:
        """A table pandas read (ILR XML, or a file DuckDB could not read) as a raw view.

        Rows read from ILR XML name their own file and line (``_file``, ``_line``).
        """
        columns = [c for c in df.columns if c not in SOURCE]
        wanted = self.wanted(columns)
        keep = df[[c for c in columns if c in wanted]].copy()
        keep["_idx"] = range(len(df))
        if xml:
            keep["_file"] = df["_file"].to_numpy() if "_file" in df else display
            keep["_row"] = pd.to_numeric(df["_line"]).to_numpy() if "_line" in df else 0
        else:
            keep["_file"] = display
            keep["_row"] = keep["_idx"] + 2
        frame, view = self.name("frame"), self.name("raw")
        self.con.register(frame, keep)
        cols = [f"CAST({sql_name(c)} AS VARCHAR) AS {sql_name(c)}" for c in columns if c in wanted]
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(cols + [''])}"
                         f"CAST(_file AS VARCHAR) AS _file, CAST(_row AS BIGINT) AS _row, "
                         f"CAST(_idx AS BIGINT) AS _idx FROM {frame}")
        return _Raw(view, columns, display, per_file=xml and "_file" in df and len(df) > 0, how="" if xml else "pandas")

    def wanted(self, columns: list[str]) -> set[str]:
        """The columns worth reading: every declared one, and the FAM and ESM columns a file may add."""
        declared = {c for spec in SPECS.values() for c in spec.names}
        return {c for c in columns if c in declared or c.startswith(EXTRA_PREFIXES)}

    # ------------------------------------------------------------------ checks

    @staticmethod
    def helper(what: str, col: str) -> str:
        """A column worked out once per row for the checks (``strict``, ``date``, ``known`` of column ``col``)."""
        return sql_name(f"__{what}_{col}")

    def checks(self, spec: TableSpec, columns: list[str], slow: bool, settled: dict[str, str] | None = None,
               rules: bool = True) -> tuple[list[list[str]], list[_Check]]:
        """Every column check, required value and row rule of ``spec`` for a file with ``columns``, in pandas' order.

        Returned as the steps of SQL that work them out (each a list of
        ``expression AS name``, each step reading the one before) and the
        checks, each naming its flag. A column's checks share one flag
        column, a bit each (``__mask_<col>``); first come the tests they
        build on: whether a date column is written YYYY-MM-DD (``strict``)
        and whether a coded column holds an allowed code (``known``), then
        each date read as pandas reads it (``date``, yyyymmdd, which takes
        the place of ``fjaaqa_date_key`` in the rules). A value's pattern is
        matched only where these do not already settle it.

        Dates not written YYYY-MM-DD are rare, and always rejected: unless
        ``slow``, they are read as no date at all (NULL), and the rows
        holding one are checked again with ``slow`` (pandas' reading, a long
        SQL expression).

        ``settled`` (from :meth:`settle`) names columns whose failing values
        are known already, each with the SQL condition picking them out: the
        tests run only on the rows that meet it; other rows pass, their dates
        read straight. ``rules`` False leaves the row rules out.
        """
        settled = settled or {}
        first, second, flags, out, required = [], [], [], [], []
        lo, hi = (int(y) for y in schemas.PLAUSIBLE_YEARS)
        for col in [c for c in spec.columns if c.name in columns]:
            v, name = sql_name(col.name), col.name
            pattern = schemas.PATTERNS[col.kind]
            mask = self.helper("mask", name)
            bits = {"format": 1, "real_date": 2, "plausible_date": 4, "allowed_code": 8, "required_value": 16}
            empty = f" + CASE WHEN {v} = '' THEN {bits['required_value']} ELSE 0 END" if col.must_have_value else ""
            on_null = bits["required_value"] if col.must_have_value else 0
            allowed = schemas.allowed_values(col)
            known = self.helper("known", name)
            not_allowed = f" + CASE WHEN {known} THEN 0 ELSE {bits['allowed_code']} END" if allowed else ""
            if allowed:
                first.append(f"{v} IN ({', '.join(sql_text(a) for a in allowed)}) AS {known}")
            rule = f"{col.kind}_format"
            out.append(_Check(mask, bits["format"], name, rule, check_message(col, rule)))
            if col.kind == "date":
                strict, date = self.helper("strict", name), self.helper("date", name)
                first.append(f"regexp_full_match({v}, {sql_text(pattern)}) AS {strict}")
                second.append(f"CASE WHEN {strict} THEN CASE WHEN TRY_CAST({v} AS DATE) IS NOT NULL THEN "
                              f"TRY_CAST(replace({v}, '-', '') AS INTEGER) END "
                              + (f"ELSE fjaaqa_date_key({v}) " if slow else "") + f"END AS {date}")
                year = f"TRY_CAST(left({v}, 4) AS INTEGER)"
                plausible = f"BETWEEN {lo} AND {hi}"
                rare = (f"CASE WHEN coalesce(regexp_matches({v}, '^[0-9]{{4}}-') AND NOT {year} {plausible}, false) "
                        f"THEN {bits['plausible_date']} WHEN {date} IS NULL THEN {bits['real_date']} ELSE 0 END"
                        if slow else "0")
                sql = (f"CASE WHEN {strict} THEN CASE WHEN {date} // 10000 {plausible} THEN 0 WHEN {date} IS NOT NULL "
                       f"OR NOT {year} {plausible} THEN {bits['plausible_date']} ELSE {bits['real_date']} END"
                       f"{not_allowed} WHEN {v} IS NULL THEN {on_null} "
                       f"ELSE {bits['format']} + {rare}{not_allowed}{empty} END")
                out.append(_Check(mask, bits["real_date"], name, "real_date", check_message(col, "real_date")))
                out.append(_Check(mask, bits["plausible_date"], name, "plausible_date",
                                  check_message(col, "plausible_date")))
            elif allowed and all(a and re.fullmatch(pattern, a) for a in allowed):  # an allowed code is well formed
                sql = (f"CASE WHEN {known} THEN 0 WHEN {v} IS NULL THEN {on_null} ELSE CASE WHEN "
                       f"regexp_full_match({v}, {sql_text(pattern)}) THEN 0 ELSE {bits['format']} END"
                       f"{not_allowed}{empty} END")
            else:
                well_formed = (f"NOT contains({v}, chr(0))" if pattern == r"[^\x00]*"  # the same test, much faster
                               else f"regexp_full_match({v}, {sql_text(pattern)})")
                if not allowed and not col.must_have_value:  # NULL (no value) passes, as a 0 would
                    sql = f"CAST(NOT {well_formed} AS INTEGER)"
                elif not allowed and not re.fullmatch(pattern, ""):  # an empty value fails the pattern too
                    sql = (f"CASE WHEN {well_formed} THEN 0 WHEN {v} IS NULL THEN {on_null} "
                           f"ELSE {bits['format']}{empty} END")
                else:
                    sql = (f"CASE WHEN {v} IS NULL THEN {on_null} ELSE CASE WHEN {well_formed} THEN 0 "
                           f"ELSE {bits['format']} END{not_allowed}{empty} END")
            if name in settled:
                self.settled(name, settled[name], first, second, col.kind == "date")
                sql = "0" if settled[name] == "false" else f"CASE WHEN {settled[name]} THEN {sql} ELSE 0 END"
            flags.append(f"{sql} AS {mask}")
            if allowed:
                out.append(_Check(mask, bits["allowed_code"], name, "allowed_code",
                                  check_message(col, "allowed_code")))
            if col.must_have_value:
                required.append(_Check(mask, bits["required_value"], name, "required_value", f"{name} is empty"))
        out += required
        for i, rule in enumerate(spec.rules if rules else []):
            sql = rule.sql_over(columns)
            if sql is not None:
                for col in spec.columns:
                    if col.kind == "date":
                        date = self.helper("date", col.name) if col.name in columns else "CAST(NULL AS INTEGER)"
                        sql = sql.replace(schemas.sql_date(col.name), date)
                flag = self.helper("rule", str(i))
                flags.append(f"({sql}) AS {flag}")  # NULL passes, as pandas' NA does
                out.append(_Check(flag, 1, rule.field, rule.name, rule.message))
        return [first, second, flags], out

    def settled(self, name: str, cond: str, first: list[str], second: list[str], date: bool) -> None:
        """Rewrite column ``name``'s helpers (the last ones added) to work only where ``cond`` holds.

        Elsewhere every check passed on the value, so a date there is
        written YYYY-MM-DD and real: read straight as yyyymmdd.
        """
        v = sql_name(name)
        ours = [self.helper(w, name) for w in ("known", "strict")]
        for i, expr in enumerate(first):
            for h in ours:
                if expr.endswith(f" AS {h}"):
                    first[i] = (f"CAST(NULL AS BOOLEAN) AS {h}" if cond == "false"
                                else f"CASE WHEN {cond} THEN {expr[:-len(f' AS {h}')]} END AS {h}")
        if date:
            h = self.helper("date", name)
            straight = f"TRY_CAST(replace({v}, '-', '') AS INTEGER)"
            assert second[-1].endswith(f" AS {h}")
            orig = second[-1][:-len(f" AS {h}")]
            second[-1] = (f"{straight} AS {h}" if cond == "false"
                          else f"CASE WHEN {cond} THEN {orig} ELSE {straight} END AS {h}")

    def settle(self, spec: TableSpec, raw: _Raw) -> dict[str, str]:
        """The columns with few distinct values, each with SQL picking out the rows whose value fails a check.

        A column's checks (pattern, real and plausible date, allowed code,
        required value) read its value only, so they are run once per
        distinct value, over a small table of those values, with the very
        SQL the row pass uses. The row pass then tests only the rows whose
        value failed ("false" when none did). Which columns have few values
        is guessed from the first rows; a column with many (learner
        references, ULNs) is cheaper to test row by row.
        """
        con = self.con
        cols = [c.name for c in spec.columns if c.name in raw.columns]
        if not cols:
            return {}
        names = ", ".join(sql_name(c) for c in cols)
        half = SAMPLE_ROWS // 2
        sample = ", ".join(f"approx_count_distinct({sql_name(c)}), approx_count_distinct({sql_name(c)}) "
                           f"FILTER (WHERE _n <= {half})" for c in cols)
        n, *found = con.execute(f"SELECT count(*), {sample} FROM (SELECT {names}, row_number() OVER () AS _n "
                                f"FROM (SELECT {names} FROM {raw.view} LIMIT {SAMPLE_ROWS}))").fetchall()[0]
        # few: a very small share of the rows, or a small share hardly more in all the sample than in its first
        # half (a code list, not a reference that keeps growing with the rows)
        few = [c for c, d, d_half in zip(cols, found[0::2], found[1::2])
               if d <= FEW_SHARE * n or (d <= FEW_DISTINCT * n and (n <= half or d <= GROWTH * d_half))]
        if not few:
            return {}
        lists = ", ".join(f"list(DISTINCT {sql_name(c)}) AS {sql_name(c)}" for c in few)
        values = self.name("values")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {values} AS SELECT {lists} FROM {raw.view}")
        rows = " UNION ALL BY NAME ".join([f"SELECT {i} AS _src, unnest({sql_name(c)}) AS {sql_name(c)} FROM {values}"
                                           for i, c in enumerate(few)] + ["SELECT -1 AS _src"])
        flat = self.name("distinct")  # one value a row; a table, as the checks over the union itself are slow
        con.execute(f"CREATE OR REPLACE TEMP TABLE {flat} AS {rows}")
        flagged = f"SELECT * FROM {flat} r"
        steps, _ = self.checks(spec, few, slow=False, rules=False)
        for step in steps:
            if step:
                flagged = f"SELECT {', '.join(['r.*'] + step)} FROM ({flagged}) r"
        parts = []
        for i, c in enumerate(few):
            mask = self.helper("mask", c)
            parts += [f"list({sql_name(c)}) FILTER (WHERE _src = {i} AND {sql_name(c)} IS NOT NULL AND {mask} <> 0)",
                      f"coalesce(bool_or({mask} <> 0) FILTER (WHERE _src = -1), false)"]
        found = con.execute(f"SELECT {', '.join(parts)} FROM ({flagged})").fetchall()[0]
        con.execute(f"DROP TABLE {values}")
        con.execute(f"DROP TABLE {flat}")
        out = {}
        for i, c in enumerate(few):
            failing, null_fails = found[2 * i] or [], found[2 * i + 1]
            if len(failing) > FEW_FAILING:
                continue
            v = sql_name(c)
            conds = ([f"{v} IN ({', '.join(sql_text(x) for x in failing)})"] if failing else []) + \
                    ([f"{v} IS NULL"] if null_fails else [])
            out[c] = f"({' OR '.join(conds)})" if conds else "false"
        return out

    def check(self, spec: TableSpec, raw: _Raw, learners: _Table | None = None, content: str = "") -> _Table:
        """Run every check of ``spec`` over ``raw`` in one pass; record rejections and counts; keep the rest.

        ``learners`` (for deliveries): rows without a valid learner are
        rejected too, after the other checks, as ``no_learner``. ``content``
        (the file's hash) lets the outcome be kept and read back
        (:mod:`~fjaaqa.inputs.kept_checks`): then no check runs at all.
        """
        con, display = self.con, raw.display
        missing = [c for c in spec.required if c not in raw.columns]
        if missing:
            raise InputError(f"required column '{missing[0]}' is missing"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""), file=display)
        absent = [c for c in spec.names if c not in raw.columns]
        files = self.tally(raw)  # first: for CSV this reads every value, and may find the file is not UTF-8
        filled = ", ".join(["r.*"] + [f"NULL::VARCHAR AS {sql_name(c)}" for c in absent])
        key = self.outcome_key(spec, raw, learners, content)
        hit = kept_checks.read(self.kept, key) if key else None
        if hit is not None:
            bad, checks = hit[0], [_Check(**c) for c in hit[1]]
        else:
            bad, checks, clock = self.failures(spec, raw, learners, files, filled)
            if key and not clock:
                kept_checks.write(self.kept, key, bad, [asdict(c) for c in checks])
        self.record(bad, checks, next(self.order))
        self.count(spec.name, files, bad, raw.per_file)
        self.ld.absent[display] = set(absent)
        view = self.name("ok")
        if len(bad):
            gone = self.name("bad")
            con.register(gone + "_frame", bad[["_idx"]].astype("int64"))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {gone} AS SELECT _idx FROM {gone}_frame")
            con.unregister(gone + "_frame")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {filled} FROM {raw.view} r "
                        f"WHERE _idx NOT IN (SELECT _idx FROM {gone})")
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {filled} FROM {raw.view} r")
        return _Table(view, raw.columns, spec, key)

    def outcome_key(self, spec: TableSpec, raw: _Raw, learners: _Table | None, content: str) -> str:
        """The key ``raw``'s check outcome is kept under, or "" when it is not kept (no folder, ILR XML rows).

        It holds what decides the outcome: the file's bytes, its place in
        DATA, how it was read, its columns, the checks as SQL (which carry
        the allowed codes from the parameters) and, for deliveries, the
        learners' own outcome (a delivery without a valid learner is rejected).
        """
        if self.kept is None or not (raw.how and content) or (learners is not None and not learners.key):
            return ""
        steps, checks = self.checks(spec, raw.columns, slow=False)
        return kept_checks.outcome_key(spec.name, spec.key, raw.display, raw.how, content, raw.columns,
                                       learners.key if learners is not None else "", steps, [asdict(c) for c in checks])

    def failures(self, spec: TableSpec, raw: _Raw, learners: _Table | None, files: list[tuple[str, int]],
                 filled: str) -> tuple[pd.DataFrame, list[_Check], bool]:
        """The rows failing a check, with every flag; the checks; whether a date was read as pandas reads it.

        Those dates may be 'today' (the clock decides them), so such an outcome is never kept.
        """
        con = self.con
        joins, more, extra = "", [], []
        key = list(spec.key)
        if key and all(k in raw.columns for k in key):
            keys = ", ".join(sql_name(k) for k in key)
            whole = " AND ".join(f"{sql_name(k)} IS NOT NULL" for k in key)
            # Grouping on one hash of the key is cheaper than on its texts; keys whose hashes all differ differ.
            repeated = con.execute(f"SELECT 1 FROM (SELECT hash({keys}) AS h FROM {raw.view} WHERE {whole}) "
                                   "GROUP BY h HAVING count(*) > 1 LIMIT 1").fetchall()
            first = con.execute(f"SELECT {keys}, min(_idx) AS _first FROM {raw.view} WHERE {whole} "
                                f"GROUP BY {keys} HAVING count(*) > 1").df() if repeated else []
            if len(first):  # rare: the keys repeated, each with the first row holding it
                dup = self.name("dup")
                con.register(dup + "_frame", first)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {dup} AS SELECT * FROM {dup}_frame")
                con.unregister(dup + "_frame")
                joins += f" LEFT JOIN {dup} d ON " + " AND ".join(f"f.{sql_name(k)} = d.{sql_name(k)}" for k in key)
                more.append("coalesce(f._idx > d._first, false) AS __duplicate")
                extra.append(_Check("__duplicate", 1, key[-1], "duplicate_key",
                                    f"duplicate of an earlier row on ({', '.join(spec.key)})"))
        if learners is not None:
            # Found apart, over the key alone (cheaper than carrying every column through the join); usually none.
            orphans = con.execute(f"SELECT _idx FROM (SELECT {filled} FROM {raw.view} r) f WHERE NOT EXISTS "
                                  f"(SELECT 1 FROM {learners.view} k WHERE k.UKPRN = f.UKPRN "
                                  "AND k.LearnRefNumber = f.LearnRefNumber)").df()
            if len(orphans):
                orphan = self.name("orphan")
                con.register(orphan + "_frame", orphans.astype("int64"))
                con.execute(f"CREATE OR REPLACE TEMP TABLE {orphan} AS SELECT _idx FROM {orphan}_frame")
                con.unregister(orphan + "_frame")
                more.append(f"f._idx IN (SELECT _idx FROM {orphan}) AS __orphan")
            else:
                more.append("false AS __orphan")
            extra.append(_Check("__orphan", 1, "LearnRefNumber", "no_learner",
                                "no valid learner record with this UKPRN and LearnRefNumber"))

        settled = self.settle(spec, raw) if sum(n for _, n in files) >= SETTLE_FROM_ROWS else {}

        def failing(slow: bool, only: str = "") -> tuple[pd.DataFrame, list[_Check]]:
            """The rows failing a check (of those in table ``only``, if named), with every flag."""
            steps, checks = self.checks(spec, raw.columns, slow, None if slow else settled)
            checks += extra
            flagged = f"SELECT {filled} FROM {raw.view} r"
            if only:
                flagged += f" WHERE _idx IN (SELECT _idx FROM {only})"
            for step in steps:
                if step:
                    flagged = f"SELECT {', '.join(['r.*'] + step)} FROM ({flagged}) r"
            flags = list(dict.fromkeys(c.flag for c in checks))
            fields = sorted({c.field for c in checks if c.field in raw.columns})
            if not checks:
                return pd.DataFrame(columns=["_file", "_row", "_idx"]), checks
            where = " OR ".join(f"{f} <> 0" if f.startswith('"__mask_') else f for f in flags)
            return con.execute(f"SELECT {', '.join(['_file', '_row', '_idx'] + [sql_name(f) for f in fields] + flags)} "
                               f"FROM (SELECT {', '.join(['f.*'] + more)} FROM ({flagged}) f{joins}) "
                               f"WHERE {where}").df(), checks

        bad, checks = failing(slow=False)
        odd = [c.flag for c in checks if c.rule == "date_format"]
        clock = False
        if len(bad) and odd:  # rows with a date not written YYYY-MM-DD: checked again, reading it as pandas does
            again = pd.Series(sum(_ints(bad[f.strip('"')]) & 1 for f in odd) > 0, index=bad.index)
            if again.any():
                clock = True
                slow = self.name("slow")
                con.register(slow + "_frame", bad.loc[again, ["_idx"]].astype("int64"))
                con.execute(f"CREATE OR REPLACE TEMP TABLE {slow} AS SELECT _idx FROM {slow}_frame")
                con.unregister(slow + "_frame")
                bad = pd.concat([bad[~again], failing(slow=True, only=slow)[0]], ignore_index=True)
        return bad, checks, clock

    def record(self, bad: pd.DataFrame, checks: list[_Check], table_order: int) -> None:
        """The failing rows as rejected rows, one per failed check, in the order pandas records them.

        A delivery without a learner is rejected as such only when nothing
        else was wrong with it (pandas looks for learners among the rows
        that passed).
        """
        hits = [(_ints(bad[c.flag.strip('"')]) & c.bit) != 0 for c in checks]
        if checks and checks[-1].rule == "no_learner" and len(checks) > 1:
            hits[-1] = hits[-1] & ~pd.DataFrame(hits[:-1]).T.any(axis=1).to_numpy()
        parts = []
        for i, (c, hit) in enumerate(zip(checks, hits)):
            rows = bad[hit]
            if rows.empty:
                continue
            value = rows[c.field].astype(object).where(rows[c.field].notna(), "").to_numpy() if c.field in rows else ""
            order = table_order if c.rule != "no_learner" else next(self.order)  # orphans come after the table
            parts.append(pd.DataFrame({"file": rows["_file"].to_numpy(), "row": rows["_row"].astype("int64").to_numpy(),
                                       "field": c.field, "value": value, "rule": c.rule, "message": c.message,
                                       "_order": order, "_check": i, "_idx": rows["_idx"].to_numpy()}))
        if parts:
            self.rejected.append(pd.concat(parts, ignore_index=True))

    def reject_file(self, shown: str, why: str) -> None:
        """A provider's ILR XML file that could not be read at all (``Quarantine.reject_file``)."""
        self.rejected.append(pd.DataFrame([{"file": shown, "row": 0, "field": "(whole file)", "value": "",
                                            "rule": "unreadable_file", "message": why, "_order": next(self.order),
                                            "_check": 0, "_idx": 0}]))

    def tally(self, raw: _Raw) -> list[tuple[str, int]]:
        """Rows read per file (per XML file when the rows came from several)."""
        if raw.per_file:
            return self.con.execute(f"SELECT _file, count(*) FROM {raw.view} GROUP BY _file "
                                    "ORDER BY min(_idx)").fetchall()
        return [(raw.display, self.con.execute(raw.count or f"SELECT count(*) FROM {raw.view}").fetchall()[0][0])]

    def count(self, table: str, files: list[tuple[str, int]], bad: pd.DataFrame, per_file: bool) -> None:
        """Rows read, used and rejected per file.

        ``bad`` holds orphan deliveries too: pandas moves those from used to
        rejected after the fact, to the same totals.
        """
        for file, n in files:
            rejected = int((bad["_file"] == file).sum()) if per_file else len(bad)
            self.counts.append({"table": table, "file": file, "rows_read": int(n), "rows_used": int(n - rejected),
                                "rows_rejected": rejected})

    def used(self, table: _Table) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table.view}").fetchall()[0][0]

    def rejected_frame(self) -> pd.DataFrame:
        """Every rejected row, sorted as ``Quarantine.rejected_frame`` sorts them."""
        if not self.rejected:
            return pd.DataFrame(columns=REJECTED_COLUMNS)
        out = pd.concat(self.rejected, ignore_index=True)
        out = out.sort_values(["_order", "_check", "_idx"], kind="stable")
        out = out.sort_values(["file", "row", "field", "rule"], kind="stable")
        return out[REJECTED_COLUMNS].reset_index(drop=True)

    # ------------------------------------------------------------------ the views

    def views(self, top: dict, returns: dict) -> None:
        """The contract's views (see :mod:`fjaaqa.inputs.views`) over the valid rows."""
        con = self.con
        ordered = sorted(returns.items())
        fams = {p: self.fam_wide(r["tables"]) for p, r in ordered}
        for name in ILR_VIEWS:
            cols = schemas.ILR_TABLES[name].names
            if name in EXTRA_PREFIX:
                extra = sorted({c for p, r in ordered if r["tables"][name] is not None
                                for c in self.prefixed(r["tables"][name], fams[p] if name == "deliveries" else None)})
                cols = cols + [c for c in extra if c not in cols]
            parts = [self.select(r["tables"][name], cols + ORDERED.get(name, []), p,
                                 fams[p] if name == "deliveries" else None)
                     for p, r in ordered if r["tables"][name] is not None]
            self.union(name, parts, cols + PERIOD_COLUMNS + ORDERED.get(name, []))
        for name in RETURN_VIEWS:
            cols = SPECS[name].names
            parts = [self.select(r["extra"][name], cols, p) for p, r in ordered if name in r["extra"]]
            self.union(name, parts, cols + PERIOD_COLUMNS)
        for name in TOP_VIEWS:
            table = top.get(name)
            self.union(name, [self.select(table, SPECS[name].names)] if table is not None else [], SPECS[name].names)
        frame = pd.DataFrame(
            [{"year": p.year.code, "return_code": p.return_code, "has_workplacements": bool(r["has_workplacements"]),
              "has_loans": "loans" in r["extra"], "has_earnings": "earnings" in r["extra"]} for p, r in ordered],
            columns=["year", "return_code", "has_workplacements", "has_loans", "has_earnings"])
        con.register("_frame_dataset_returns", frame)
        con.execute("CREATE OR REPLACE TEMP VIEW dataset_returns AS SELECT * FROM _frame_dataset_returns")

    @staticmethod
    def typed(col: str, expr: str) -> str:
        kind = "DATE" if col in DATE_COLUMNS else "BIGINT" if col == "_idx" else "VARCHAR"
        return f"CAST({expr} AS {kind}) AS {sql_name(col)}"

    def select(self, table: _Table | None, cols: list[str], period: Period | None = None,
               fams: tuple[str, list[str]] | None = None) -> str:
        """SQL for one table's valid rows in the contract's columns and types (absent columns NULL)."""
        have = set(table.spec.names) | {c for c in table.columns if c.startswith(EXTRA_PREFIXES)}
        wide, wide_cols = fams if fams else (None, [])
        parts = []
        for c in cols:
            if c in ("year", "return_code", "_idx"):
                continue
            mine = f"t.{sql_name(c)}" if c in have else "NULL"
            if c in wide_cols:
                mine = f"coalesce({mine}, w.{sql_name(c)})" if c in have else f"w.{sql_name(c)}"
            parts.append(self.typed(c, mine))
        if period is not None:
            parts += [f"{sql_text(period.year.code)} AS year", f"{sql_text(period.return_code)} AS return_code"]
        if "_idx" in cols:
            parts.append("CAST(t._idx AS BIGINT) AS _idx")
        source = f"{table.view} t"
        if wide:
            source += (f" LEFT JOIN {wide} w ON t.UKPRN = w.UKPRN AND t.LearnRefNumber = w.LearnRefNumber "
                       "AND t.AimSeqNumber = w.AimSeqNumber")
        return f"SELECT {', '.join(parts)} FROM {source}"

    def union(self, name: str, parts: list[str], cols: list[str]) -> None:
        if not parts:
            empty = ", ".join(self.typed(c, "NULL") for c in cols)
            parts = [f"SELECT {empty} WHERE false"]
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {sql_name(name)} AS " + " UNION ALL ".join(parts))

    def fam_wide(self, tables: dict) -> tuple[str, list[str]] | None:
        """Each aim's FAMs as ``FAM_<type>`` columns (``_fams_onto_deliveries``): a temporary table, and its columns.

        Most aims have one code of a type: the type's smallest code, found
        with whether its largest differs, in one grouping. Only aims with
        several codes of a type have them joined with ``;`` afterwards, in
        the order of each code's first ``DateFrom`` (none first: '' sorts
        before any date), then code. Only the types the opening was asked
        for (all by default): the indicators read one type, and grouping every
        FAM of seven national returns took 3.3 s where that one takes 0.3 s.
        """
        fams = tables.get("fams")
        if fams is None or self.fams == []:
            return None
        con = self.con
        keys = ["UKPRN", "LearnRefNumber", "AimSeqNumber"]
        aim = f"SELECT * FROM {fams.view} WHERE AimSeqNumber IS NOT NULL"
        if self.fams is not None:
            aim += f" AND FAMType IN ({', '.join(sql_text(t) for t in self.fams)})"
        types = [t for (t,) in con.execute(f"SELECT DISTINCT FAMType FROM ({aim}) ORDER BY FAMType").fetchall()]
        if not types:
            return None
        cols = {t: sql_name(f"FAM_{t}") for t in types}
        of = {t: f"FILTER (WHERE FAMType = {sql_text(t)})" for t in types}
        several = " OR ".join(f"coalesce(min(FAMCode) {of[t]} <> max(FAMCode) {of[t]}, false)" for t in types)
        wide = self.name("famwide")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {wide} AS SELECT {', '.join(keys)}, "
                    + ", ".join(f"min(FAMCode) {of[t]} AS {cols[t]}" for t in types)
                    + f", {several} AS __several FROM ({aim}) GROUP BY {', '.join(keys)}")
        if con.execute(f"SELECT count(*) FROM {wide} WHERE __several").fetchall()[0][0]:
            on = " AND ".join(f"f.{k} = w.{k}" for k in keys)
            first = (f"SELECT {', '.join('f.' + k for k in keys)}, FAMType, FAMCode, min(coalesce(DateFrom, '')) "
                     f"AS first FROM ({aim}) f JOIN {wide} w ON {on} AND w.__several GROUP BY ALL")
            joined = ", ".join(f"array_to_string(list_transform(list_sort(list({{'first': first, 'code': FAMCode}}) "
                               f"{of[t]}), lambda x: x.code), ';') AS {cols[t]}" for t in types)
            con.execute(f"UPDATE {wide} w SET {', '.join(f'{cols[t]} = f.{cols[t]}' for t in types)} "
                        f"FROM (SELECT {', '.join(keys)}, {joined} FROM ({first}) GROUP BY {', '.join(keys)}) f "
                        f"WHERE {on}")
        return wide, [f"FAM_{t}" for t in types]

    @staticmethod
    def prefixed(table: _Table, wide: tuple[str, list[str]] | None) -> list[str]:
        """The FAM (ESM) columns a return's deliveries (employment) carry: declared, the file's own, from the FAMs."""
        prefix = EXTRA_PREFIX[table.spec.name]
        cols = [c for c in table.spec.names + table.columns if c.startswith(prefix)]
        return cols + (wide[1] if wide else [])
