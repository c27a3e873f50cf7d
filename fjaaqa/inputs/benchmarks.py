"""National achievement rates by route and by standard, from DfE's open data.

The framework lets DfE compare an agency's achievement rate with similar
sectors. DfE publishes the national rates as open data in the Explore
Education Statistics layout (one row per combination of filters, ``Total``
in a filter for all of it, ``low`` for a suppressed count and ``x`` for a
suppressed rate). ``fjaaqa benchmarks import`` reads the data set by route
and standard, checks every cell at once, and keeps only the national rows
fjaaqa uses: all apprenticeships, each route, and each standard by its
IfATE reference (``ST0888``). Every other row is set aside with its reason,
so the import summary accounts for each row of the file.

The stored table lives in DATA (``benchmarks/national_rates.csv`` with
``national_rates.json`` saying where it came from), so its hash is part of
every run's inputs like any other file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..digests import sha256_file
from ..errors import InputError, ProblemsError
from ..writers import atomic_write, csv_text
from . import reference
from .schemas import Col, RowRule, TableSpec, validate
from .sources import read_raw

TOTAL = "Total"
SUPPRESSED = ("low", "x", "c", "z")  # EES symbols: a count or rate withheld or not applicable
COUNTS = ("leavers", "completers", "achievers")
RATES = ("retention_rate", "pass_rate", "achievement_rate")
# Filters that describe a group of apprentices; a row with any of these not "Total" is a breakdown we do not use.
BREAKDOWNS = ("age_youth_adult", "age_group", "funding_type")
# Filters that describe the apprenticeship itself; "Total" on a route's row, anything on a standard's.
PROGRAMME = ("std_fwk_flag", "level", "detailed_level")
STANDARD_CODE = re.compile(r"-\s*(ST[0-9]{4})\s*\Z")
FOLDER = "benchmarks"
TABLE = "national_rates.csv"
META = "national_rates.json"
STORED = ["year", "basis", "key", "name", *COUNTS, *RATES]


def _number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.where(~s.isin(SUPPRESSED)), errors="coerce")


def _more_than(part: str, whole: str):
    return lambda d: _number(d[part]) > _number(d[whole])


def _academic_year_broken(d: pd.DataFrame) -> pd.Series:
    p = d["time_period"].astype("string")
    ok = p.str.fullmatch(r"[0-9]{6}").fillna(False)
    first = pd.to_numeric(p.str[2:4], errors="coerce")
    second = pd.to_numeric(p.str[4:6], errors="coerce")
    return ok & (second != (first + 1) % 100)


SPEC = TableSpec(
    "national achievement rates",
    (
        Col("time_period", "ees_period", True),
        Col("time_identifier", "text", True, allowed=("Academic year",)),
        Col("geographic_level", "label", True),
        Col("country_code", "text"),
        Col("country_name", "label"),
        *(Col(c, "label", True) for c in ("std_fwk_flag", "route", "std_fwk_name_stcode", *PROGRAMME[1:],
                                           *BREAKDOWNS)),
        *(Col(c, "ees_count", True) for c in COUNTS),
        *(Col(c, "ees_rate", True) for c in RATES),
    ),
    key=("time_period", "geographic_level", "country_code", "std_fwk_flag", "route", "std_fwk_name_stcode",
         *PROGRAMME[1:], *BREAKDOWNS),
    rules=(
        RowRule("academic_year", "time_period", "time_period must be two consecutive years (202122)",
                _academic_year_broken),
        RowRule("achievers_above_leavers", "achievers", "achievers are more than leavers",
                _more_than("achievers", "leavers")),
        RowRule("completers_above_leavers", "completers", "completers are more than leavers",
                _more_than("completers", "leavers")),
        *(RowRule("rate_above_100", r, f"{r} is above 100", (lambda c: lambda d: _number(d[c]) > 100)(r))
          for r in RATES),
    ),
)


@dataclass
class Imported:
    """The rows kept (``STORED`` columns) and how every row of the file was used."""

    table: pd.DataFrame
    summary: dict


def import_rates(path: Path) -> Imported:
    """Read and check DfE's national achievement rates by route and standard; every problem at once."""
    path = Path(path)
    display = path.name
    df = read_raw(path, display)
    missing = [c for c in SPEC.required if c not in df.columns]
    if missing:
        raise InputError(f"not DfE's national achievement rates by route and standard: no column "
                         f"{', '.join(missing)}", file=display)
    if df.empty:
        raise InputError("the file has a header but no rows", file=display)
    problems = validate(df, SPEC)
    if len(problems):
        raise ProblemsError([f"{display}: row {int(p.index) + 1} (line {int(p.index) + 2}), {p.field}: {p.message} "
                             f"('{str(p.value)[:40]}')" for p in problems.sort_values(["index", "field"]).itertuples()])
    kept, set_aside = _classify(df)
    dupes = kept[kept.duplicated(["year", "basis", "key"], keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        rows = ", ".join(str(int(i) + 1) for i in dupes[(dupes["year"] == first["year"])
                                                         & (dupes["key"] == first["key"])]["row"])
        raise ProblemsError([f"{display}: rows {rows} each give the national rate of "
                             f"{first['basis']} {first['key'] or 'all apprenticeships'} in {first['year']}"])
    summary = {
        "source": display, "sha256": sha256_file(path), "rows_read": len(df), "rows_used": len(kept),
        "used": {b: int((kept["basis"] == b).sum()) for b in ("all", "route", "standard")},
        "set_aside": dict(sorted(set_aside.value_counts().astype(int).to_dict().items())),
        "years": sorted(kept["year"].unique().tolist()),
    }
    return Imported(kept[STORED].sort_values(["year", "basis", "key"]).reset_index(drop=True), summary)


def _classify(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Which national rate each row gives (all, a route, a standard), or why it is set aside."""
    routes = {r.casefold(): r for r in reference.routes()["route"]}
    is_total = df.eq(TOTAL)
    national = df["geographic_level"].str.casefold() == "national"
    breakdown = ~is_total[list(BREAKDOWNS)].all(axis=1)
    programme_total = is_total[list(PROGRAMME)].all(axis=1)
    std_total = is_total["std_fwk_name_stcode"]
    route_total = is_total["route"]
    code = df["std_fwk_name_stcode"].str.extract(STANDARD_CODE, expand=False)
    route_known = df["route"].str.casefold().map(routes)

    why = pd.Series("", index=df.index, dtype="object")
    basis = pd.Series("", index=df.index, dtype="object")
    why[~national] = "not national"
    why[(why == "") & breakdown] = "a breakdown by age or funding"
    basis[(why == "") & std_total & route_total & programme_total] = "all"
    is_route = (why == "") & std_total & ~route_total & programme_total
    basis[is_route & route_known.notna()] = "route"
    why[is_route & route_known.isna()] = "a route that is not one of the 15 routes"
    is_std = (why == "") & ~std_total
    basis[is_std & code.notna()] = "standard"
    why[is_std & code.isna()] = "a framework, or a name without a standard code"
    why[(why == "") & (basis == "")] = "a breakdown by level or type"

    used = df[basis != ""]
    b = basis[used.index]
    key = pd.Series("", index=used.index, dtype="object")
    key[b == "route"] = route_known.reindex(used.index)[b == "route"]
    key[b == "standard"] = code.reindex(used.index)[b == "standard"]
    name = pd.Series("All apprenticeships", index=used.index, dtype="object")
    name[b == "route"] = key[b == "route"]
    name[b == "standard"] = used.loc[b == "standard", "std_fwk_name_stcode"].str.replace(STANDARD_CODE, "",
                                                                                         regex=True).str.strip()
    year = used["time_period"].map(lambda p: f"{p[:4]}-{p[4:6]}")
    kept = pd.DataFrame({"row": used.index, "year": year, "basis": b, "key": key, "name": name})
    for c in COUNTS:
        kept[c] = _number(used[c]).astype("Int64")
    for c in RATES:
        kept[c] = _number(used[c])
    return kept, why[basis == ""]


def write_rates(imported: Imported, data_dir: Path) -> Path:
    """``DATA/benchmarks/national_rates.csv`` and its ``.json`` (source, hash, how each row was used)."""
    folder = Path(data_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / TABLE, csv_text(imported.table, STORED))
    atomic_write(folder / META, json.dumps(imported.summary, indent=2, sort_keys=True) + "\n")
    return folder / TABLE


def read_stored(data_dir: Path) -> tuple[pd.DataFrame, dict] | None:
    """The imported national rates in DATA, or None when none were imported."""
    folder = Path(data_dir) / FOLDER
    if not (folder / TABLE).is_file():
        return None
    table = pd.read_csv(folder / TABLE, dtype={"year": str, "basis": str, "key": str, "name": str},
                        keep_default_na=False, na_values={c: [""] for c in (*COUNTS, *RATES)})
    if list(table.columns) != STORED:
        raise InputError(f"not a national rates table written by 'fjaaqa benchmarks import' (columns "
                         f"{', '.join(table.columns)})", file=f"{FOLDER}/{TABLE}")
    meta = json.loads((folder / META).read_text()) if (folder / META).is_file() else {}
    return table, meta
