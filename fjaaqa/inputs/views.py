"""A dataset as DuckDB views: the one shape the SQL engine reads, whoever loaded the rows.

The SQL engine (FRM rules, indicators) reads a dataset through named views
in one DuckDB connection, never through files or pandas frames directly.
Two things can fill those views, and both give the same rows:

- :func:`register_dataset` takes a :class:`~fjaaqa.inputs.sources.Dataset`
  that the pandas loader has already read and quarantined (small data,
  tests, the reference path);
- the SQL loader reads the CSV or Parquet files in place and runs the same
  declared checks as SQL (national scale).

The contract, for every view:

- ILR tables (``learners``, ``deliveries``, ``employment``, ``fams``,
  ``workplacements``) hold every return's valid rows in one view, with
  ``year`` (``'2223'``) and ``return_code`` (``'R14'``) columns;
  ``deliveries`` carries each aim's FAMs as ``FAM_<type>`` columns and
  ``employment`` each status's monitoring as ``ESM_<type>`` columns (the
  FRM inputs read ``ESM_EII``), as the pandas loader puts them. Per-return
  tables outside ``ilr/`` (``loans``, ``earnings``) carry ``year`` and
  ``return_code`` too.
- Top-level tables (``register``, ``commitments``, ``lars``,
  ``prior_achievements`` ...) are views of their valid rows; a table not
  supplied is a view with its declared columns and no rows.
- Every column a table declares is there (an optional column a file lacked
  is NULL); date columns are ``DATE``, everything else ``VARCHAR``.
- ``deliveries`` also carries ``_idx``, each row's place in its return's
  file (0 for the first row), so SQL that must take "the first" aim as
  the pandas reference does (in file order) can, without numbering a view's
  rows, which DuckDB does in whatever order its threads finish.
- ``dataset_returns`` lists each return read: ``year``, ``return_code``,
  ``has_workplacements``, ``has_loans``, ``has_earnings``; ``dataset_given``
  lists the top-level tables whose file was read (``name``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import schemas
from .sources import DATE_COLUMNS, RETURN_TABLES, TOP_TABLES, Dataset

ILR_VIEWS = list(schemas.ILR_TABLES)
RETURN_VIEWS = list(RETURN_TABLES)
TOP_VIEWS = ["register", "commitments", *TOP_TABLES]
SPECS = {**schemas.ILR_TABLES, "register": schemas.REGISTER, "commitments": schemas.COMMITMENTS, **TOP_TABLES,
         **{name: spec for name, (_, spec) in RETURN_TABLES.items()}}
PERIOD_COLUMNS = ["year", "return_code"]
ORDERED = {"deliveries": ["_idx"]}  # views carrying each row's place in its file


def typed_select(columns: list[str], source: str) -> str:
    """SQL selecting ``columns`` from ``source`` in the contract's types: dates as DATE, the rest as text."""
    parts = []
    for c in columns:
        if c == "_idx":
            parts.append(f'CAST("{c}" AS BIGINT) AS "{c}"')
        elif c in DATE_COLUMNS:
            parts.append(f'CAST("{c}" AS DATE) AS "{c}"')
        else:
            parts.append(f'CAST("{c}" AS VARCHAR) AS "{c}"')
    return f"SELECT {', '.join(parts)} FROM {source}"


def _as_text(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A frame with exactly ``columns``: dates as datetime64, everything else as object text (None when missing)."""
    out = {}
    for c in columns:
        s = df[c] if c in df else pd.Series(pd.NA, index=df.index)
        if c in DATE_COLUMNS:
            out[c] = pd.to_datetime(s, errors="coerce").astype("datetime64[s]")
        else:
            out[c] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return pd.DataFrame(out, index=df.index)


def _put(con, name: str, df: pd.DataFrame, columns: list[str]) -> None:
    """Register ``df`` as a DuckDB view ``name`` with exactly ``columns`` in the contract's types."""
    frame = _as_text(df, columns)
    con.register(f"_frame_{name}", frame)
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {typed_select(columns, f"_frame_{name}")}')


def _prefixed_columns(ds: Dataset, table: str, prefix: str) -> list[str]:
    """Every ``<prefix><type>`` column any return's ``table`` carries (FAMs on deliveries, ESMs on employment)."""
    return sorted({c for ret in ds.returns.values() for c in getattr(ret, table).columns if c.startswith(prefix)})


def register_dataset(con, ds: Dataset) -> None:
    """Put a loaded :class:`Dataset` into ``con`` as the contract's views (see the module's docstring)."""
    extra_cols = {"deliveries": _prefixed_columns(ds, "deliveries", "FAM_"),
                  "employment": _prefixed_columns(ds, "employment", "ESM_")}
    for name in ILR_VIEWS:
        cols = schemas.ILR_TABLES[name].names
        cols = cols + [c for c in extra_cols.get(name, []) if c not in cols]
        frames = [getattr(ret, name).assign(year=p.year.code, return_code=p.return_code, _idx=getattr(ret, name).index)
                  for p, ret in sorted(ds.returns.items())]  # a loaded table's index is its row's place in the file
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
        _put(con, name, df, cols + PERIOD_COLUMNS + ORDERED.get(name, []))
    for name in RETURN_VIEWS:
        frames = [ret.extra[name].assign(year=p.year.code, return_code=p.return_code)
                  for p, ret in sorted(ds.returns.items()) if name in ret.extra]
        cols = SPECS[name].names
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
        _put(con, name, df, cols + PERIOD_COLUMNS)
    for name in TOP_VIEWS:
        df = ds.register if name == "register" else ds.commitments if name == "commitments" else ds.table(name)
        _put(con, name, df, SPECS[name].names)
    returns = pd.DataFrame(
        [{"year": p.year.code, "return_code": p.return_code, "has_workplacements": bool(ret.has_workplacements),
          "has_loans": "loans" in ret.extra, "has_earnings": "earnings" in ret.extra}
         for p, ret in sorted(ds.returns.items())],
        columns=["year", "return_code", "has_workplacements", "has_loans", "has_earnings"])
    con.register("_frame_dataset_returns", returns)
    con.execute("CREATE OR REPLACE TEMP VIEW dataset_returns AS SELECT * FROM _frame_dataset_returns")
    given = pd.DataFrame({"name": [n for n in TOP_VIEWS if ds.given(n)]})
    con.register("_frame_dataset_given", given)
    con.execute("CREATE OR REPLACE TEMP VIEW dataset_given AS SELECT * FROM _frame_dataset_given")


# ------------------------------------------------------------------ the engines

ENGINES = ("duckdb", "pandas")  # DuckDB SQL over the files (the default), or the pandas reference path
MEMORY_LIMIT = "1GB"  # DuckDB spills to disk beyond this, so a national run stays well under 2 GB
MEMORY_SETTING = "FJAAQA_DUCKDB_MEMORY"  # a bigger machine may give DuckDB more: fewer spills, the same results
MEMORY_FORM = r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)"


def check_engine(engine: str) -> str:
    """The engine's name, or one clear line naming the choices."""
    from ..errors import InputError

    if engine not in ENGINES:
        raise InputError(f"engine '{engine}' is not one of {', '.join(ENGINES)}")
    return engine


def run_memory() -> str:
    """DuckDB's memory for a run: ``FJAAQA_DUCKDB_MEMORY`` when set (a size such as 4GB), else 1 GB.

    Checked here, not by DuckDB, so that a mistyped value is one line that
    names the setting rather than a database error.
    """
    import os
    import re

    from ..errors import InputError

    value = os.environ.get(MEMORY_SETTING, "").strip()
    if not value:
        return MEMORY_LIMIT
    if not re.fullmatch(MEMORY_FORM, value, flags=re.IGNORECASE):
        raise InputError(f"{MEMORY_SETTING}='{value}' is not a size such as 512MB or 4GB")
    return value


def connect():
    """A DuckDB connection for one run: bounded memory, spilling to the system's temporary folder.

    An in-memory database would otherwise spill into ``.tmp`` under the
    current folder, and take up to 80 % of the machine's memory before it did.
    """
    import contextlib
    import tempfile

    import duckdb

    limit = run_memory()
    con = duckdb.connect()
    # The bar would write into the command's own output; in a notebook kernel DuckDB refuses the setting (it
    # wants ipywidgets to change it) and prints no bar there anyway.
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{Path(tempfile.gettempdir(), 'fjaaqa-duckdb').as_posix()}'")
    return con


def bound(sql: str, params: dict) -> dict:
    """Only the parameters ``sql`` names as ``$name`` (DuckDB refuses named parameters a statement does not use).

    Whole names are matched, so ``$year`` never binds ``year_start`` too.
    """
    import re

    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in used}
