"""Open data in the Explore Education Statistics (EES) format, and a pre-screen for it.

A published table is a tidy UTF-8 CSV in snake_case with the time and
geography columns EES requires (``time_period, time_identifier,
geographic_level, country_code, country_name`` and, for regional rows,
``region_code, region_name``), filters and indicators, and beside it
``<name>.meta.csv`` describing every filter and indicator. :func:`screen`
runs the data-standard checks over a folder and returns one result per check;
``fjaaqa summary --check`` prints them as PASS/FAIL.

It is a *pre-screen*: fjaaqa's own checks, modelled on those of DfE's
screener for EES (which has more, and the final say), so a PASS means only
that these checks found nothing, never that the files are accepted for
publication; the printed lines say so. Reference values (character limits,
units, GSS code and name pairs) are in ``params/open_data.yaml``.

Each check is one small function over the folder's files, read once
(:class:`Release`), returning its problems in words; :data:`CHECKS` lists
them with what a pass says, in the order they are reported, the way DfE's
own screener writes one function per check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import Field

from ..models import Strict
from ..paths import resource
from ..writers import atomic_write, csv_text

TIME_GEO = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name"]
REQUIRED = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
META_COLUMNS = ["col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "indicator_dp",
                "filter_hint", "filter_grouping_column"]
GEOGRAPHIC_LEVELS = {"National", "Regional", "Local authority", "Provider", "Institution"}
TIME_IDENTIFIERS = {"Academic year", "Financial year", "Calendar year", "Reporting year"}
SYMBOLS = {"c", "x", "z", "low", "u", "k"}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


class CharLimits(Strict):
    column_name: int = Field(ge=1)
    label: int = Field(ge=1)
    filter_item: int = Field(ge=1)
    location_code: int = Field(ge=1)


class ScreenParams(Strict):
    """The pre-screen's reference values (``params/open_data.yaml``)."""

    char_limits: CharLimits
    indicator_units: list[str]
    optional_meta_columns: list[str]
    countries: dict[str, str]
    regions: dict[str, str]
    no_place_code: str
    no_place_names: list[str]


@lru_cache(maxsize=4)
def screen_params(path: str | None = None) -> ScreenParams:
    p = resource("params", "open_data.yaml") if path is None else path
    return ScreenParams.model_validate(yaml.safe_load(open(p, encoding="utf-8")))


@dataclass(frozen=True)
class Column:
    """A filter or indicator of a published table, with what the meta file says of it."""

    name: str
    kind: str  # "Filter" or "Indicator"
    label: str
    unit: str = ""
    dp: str = ""
    hint: str = ""
    grouping: str = ""


def write_table(folder: Path, name: str, data: pd.DataFrame, columns: list[Column]) -> tuple[Path, Path]:
    """Write ``<name>.csv`` and ``<name>.meta.csv`` (LF line ends, UTF-8, no index)."""
    geo = [c for c in TIME_GEO if c in data.columns]
    order = geo + [c.name for c in columns]
    meta = pd.DataFrame([{"col_name": c.name, "col_type": c.kind, "label": c.label, "indicator_grouping": c.grouping,
                          "indicator_unit": c.unit, "indicator_dp": c.dp, "filter_hint": c.hint,
                          "filter_grouping_column": ""} for c in columns], columns=META_COLUMNS)
    return (atomic_write(folder / f"{name}.csv", csv_text(data, order)),
            atomic_write(folder / f"{name}.meta.csv", csv_text(meta)))


@dataclass
class Check:
    """The uniform result of one check."""

    name: str
    passed: bool
    detail: str


@dataclass
class Release:
    """The open-data files of a folder, read once for every check."""

    folder: Path
    data_files: list[Path]
    meta_files: list[Path]
    data: dict[str, pd.DataFrame]   # by data file name
    meta: dict[str, pd.DataFrame]   # by data file name, for data files whose meta file exists

    @property
    def described(self) -> list[tuple[Path, pd.DataFrame, Path, pd.DataFrame]]:
        """(data file, data, meta file, meta) for every data file whose meta file has every required column."""
        return [(p, self.data[p.name], self.folder / f"{p.stem}.meta.csv", self.meta[p.name])
                for p in self.data_files if p.name in self.meta and set(META_COLUMNS) <= set(self.meta[p.name])]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def read_release(folder: str | Path) -> Release:
    folder = Path(folder)
    data_files = sorted(p for p in folder.glob("*.csv") if not p.name.endswith(".meta.csv"))
    meta_files = sorted(folder.glob("*.meta.csv"))
    data = {p.name: _read(p) for p in data_files}
    meta = {p.name: _read(folder / f"{p.stem}.meta.csv") for p in data_files
            if (folder / f"{p.stem}.meta.csv").is_file()}
    return Release(folder, data_files, meta_files, data, meta)


# ------------------------------------------------------------------ the checks (one function each)

def file_names(r: Release) -> list[str]:
    problems = [p.name for p in r.data_files if not SNAKE.match(p.stem)]
    return problems + [p.name for p in r.meta_files if not SNAKE.match(p.name[:-len(".meta.csv")])]


def files_pair_up(r: Release) -> list[str]:
    problems = [f"{p.name} has no {p.stem}.meta.csv" for p in r.data_files if p.name not in r.meta]
    return problems + [f"{m.name} has no data file" for m in r.meta_files
                       if not (r.folder / (m.name[:-len(".meta.csv")] + ".csv")).is_file()]


def required_columns(r: Release) -> list[str]:
    return [f"{p.name}: no {c}" for p in r.data_files for c in REQUIRED if c not in r.data[p.name].columns]


def column_names(r: Release) -> list[str]:
    return [f"{p.name}: column '{c}' is not snake_case" for p in r.data_files for c in r.data[p.name].columns
            if not SNAKE.match(c)]


def meta_columns(r: Release) -> list[str]:
    """The eight required meta columns present (any order); the optional ones accepted; nothing else."""
    allowed = set(META_COLUMNS) | set(screen_params().optional_meta_columns)
    problems = []
    for p in r.data_files:
        if p.name not in r.meta:
            continue
        cols = list(r.meta[p.name].columns)
        problems += [f"{p.stem}.meta.csv: no {c} column" for c in META_COLUMNS if c not in cols]
        problems += [f"{p.stem}.meta.csv: '{c}' is not a meta column" for c in cols if c not in allowed]
    return problems


def meta_and_data_agree(r: Release) -> list[str]:
    problems = []
    for p, d, mp, m in r.described:
        described = set(m["col_name"])
        problems += [f"{p.name}: '{c}' not in the meta file" for c in d.columns
                     if c not in TIME_GEO and c not in described]
        problems += [f"{mp.name}: '{c}' not in the data" for c in m["col_name"] if c not in d.columns]
        problems += [f"{mp.name}: '{x.col_name}' has col_type '{x.col_type}'" for x in m.itertuples()
                     if x.col_type not in ("Filter", "Indicator")]
        problems += [f"{mp.name}: '{x.col_name}' has no label" for x in m.itertuples() if not x.label.strip()]
        labels = m["label"][m["label"].str.strip() != ""]
        problems += [f"{mp.name}: label '{v}' is used twice" for v in sorted(set(labels[labels.duplicated()]))]
    return problems


def time_columns(r: Release) -> list[str]:
    problems = []
    for p, d, _, _ in r.described:
        if "time_period" not in d or "time_identifier" not in d:
            continue
        for v in sorted(set(d["time_period"])):
            if not (re.fullmatch(r"[0-9]{6}", v) and int(v[4:]) == (int(v[2:4]) + 1) % 100):
                problems.append(f"{p.name}: time_period '{v}' is not an academic year like 202324")
        problems += [f"{p.name}: time_identifier '{v}'" for v in sorted(set(d["time_identifier"]))
                     if v not in TIME_IDENTIFIERS]
    return problems


def geography_columns(r: Release) -> list[str]:
    problems = []
    for p, d, _, _ in r.described:
        if "geographic_level" not in d:
            continue
        problems += [f"{p.name}: geographic_level '{v}'" for v in sorted(set(d["geographic_level"]))
                     if v not in GEOGRAPHIC_LEVELS]
        reg = d[d["geographic_level"] == "Regional"]
        if len(reg):
            if not {"region_code", "region_name"} <= set(d.columns):
                problems.append(f"{p.name}: regional rows need region_code and region_name")
            else:
                code = reg["region_code"]
                bad = reg[~(code.str.fullmatch(r"E1[23][0-9]{6}") | (code == screen_params().no_place_code))
                          | (reg["region_name"] == "")]
                problems += [f"{p.name}: row {i + 2} has region_code '{x.region_code}'" for i, x in bad.iterrows()]
        problems += [f"{p.name}: row {i + 2} country_code '{v}'" for i, v in d["country_code"].items()
                     if not re.fullmatch(r"[EKNSW][0-9]{8}", v)]
    return problems


def _columns(m: pd.DataFrame, kind: str) -> list[str]:
    return list(m.loc[m["col_type"] == kind, "col_name"])


def filters_have_totals(r: Release) -> list[str]:
    """Every filter (and filter group) has its default row: its ``filter_default`` where set, else ``Total``."""
    problems = []
    for p, d, _, m in r.described:
        for x in m[m["col_type"] == "Filter"].to_dict("records"):
            f, default = x["col_name"], (x.get("filter_default") or "").strip() or "Total"
            if f in d and default not in set(d[f]):
                problems.append(f"{p.name}: filter '{f}' has no {default} row")
            group = (x.get("filter_grouping_column") or "").strip()
            if group and group not in d:
                problems.append(f"{p.name}: filter '{f}' is grouped by '{group}', which is not in the data")
            elif group and "Total" not in set(d[group]):
                problems.append(f"{p.name}: filter group '{group}' has no Total row")
    return problems


def _filters(m: pd.DataFrame, d: pd.DataFrame) -> list[str]:
    """The filter columns of a data file, with any filter group columns."""
    groups = [g.strip() for g in m.loc[m["col_type"] == "Filter", "filter_grouping_column"] if g.strip()]
    return [c for c in dict.fromkeys(_columns(m, "Filter") + groups) if c in d]


def duplicate_rows(r: Release) -> list[str]:
    """No two rows for the same time, place and filter values (EES would not know which to show)."""
    problems = []
    for p, d, _, m in r.described:
        keys = [c for c in TIME_GEO if c in d] + _filters(m, d)
        first = {}
        for i, k in enumerate(d[keys].itertuples(index=False, name=None)):
            if k in first:
                problems.append(f"{p.name}: row {i + 2} repeats row {first[k] + 2}")
            first.setdefault(k, i)
    return problems


def filter_whitespace(r: Release) -> list[str]:
    """No filter item or place name starts or ends with a space (it would show as a separate item)."""
    problems = []
    for p, d, _, m in r.described:
        for c in _filters(m, d) + [c for c in ("country_name", "region_name") if c in d]:
            problems += [f"{p.name}: {c} '{v}' has spaces at either end" for v in sorted(set(d[c])) if v != v.strip()]
    return problems


def geography_pairs(r: Release) -> list[str]:
    """Each country and region code goes with its own GSS name (a row for no place: the code z, a no-place name)."""
    sp = screen_params()
    problems = []
    for p, d, _, _ in r.described:
        for code, name, known in (("country_code", "country_name", sp.countries),
                                  ("region_code", "region_name", sp.regions)):
            if code not in d or name not in d:
                continue
            for c, n in sorted(set(zip(d[code], d[name]))):
                if c == "" and n == "":
                    continue
                ok = known.get(c) == n or (c == sp.no_place_code and n in sp.no_place_names)
                if not ok:
                    problems.append(f"{p.name}: {code} '{c}' does not go with {name} '{n}'"
                                    + (f" (it is {known[c]})" if c in known else ""))
    return problems


def indicator_units(r: Release) -> list[str]:
    """Indicators: a blank unit (a count) or one EES knows; filters: no unit at all."""
    units = screen_params().indicator_units
    problems = []
    for _, _, mp, m in r.described:
        for x in m.itertuples():
            unit = x.indicator_unit.strip()
            if x.col_type == "Indicator" and unit and unit not in units:
                problems.append(f"{mp.name}: '{x.col_name}' has indicator_unit '{unit}' (allowed: blank, "
                                + ", ".join(units) + ")")
            if x.col_type == "Filter" and unit:
                problems.append(f"{mp.name}: filter '{x.col_name}' has an indicator_unit")
    return problems


def meta_fields(r: Release) -> list[str]:
    """Each meta row fills only the fields of its kind; decimal places are blank or a whole number from 0."""
    indicator_only = ("indicator_grouping", "indicator_dp")
    filter_only = ("filter_hint", "filter_grouping_column", "filter_default")
    problems = []
    for _, _, mp, m in r.described:
        for x in m.to_dict("records"):
            wrong = indicator_only if x["col_type"] == "Filter" else filter_only
            problems += [f"{mp.name}: {x['col_type'].lower()} '{x['col_name']}' has a {f}" for f in wrong
                         if (x.get(f) or "").strip()]
            dp = x["indicator_dp"].strip()
            if x["col_type"] == "Indicator" and dp and not _whole(dp):
                problems.append(f"{mp.name}: '{x['col_name']}' has indicator_dp '{dp}'")
    return problems


def label_lengths(r: Release) -> list[str]:
    """Column names, labels, filter items, place names and codes within EES's character limits."""
    lim = screen_params().char_limits
    problems = []

    def over(what: str, values, limit: int, where: str) -> None:
        problems.extend(f"{where}: {what} '{v}' is {len(v)} characters (at most {limit})"
                        for v in sorted(set(values)) if len(v) > limit)

    for p, d, mp, m in r.described:
        over("column name", d.columns, lim.column_name, p.name)
        over("label", m["label"], lim.label, mp.name)
        for c in _filters(m, d) + [c for c in ("country_name", "region_name") if c in d]:
            over(c, d[c], lim.filter_item, p.name)
        for c in ("country_code", "region_code"):
            if c in d:
                over(c, d[c], lim.location_code, p.name)
    return problems


def _indicator_values(r: Release, described=None):
    """(file, indicator, row index, value, its meta decimal places) for every indicator cell that is not a symbol."""
    for p, d, _, m in described if described is not None else r.described:
        for ind in _columns(m, "Indicator"):
            if ind not in d:
                continue
            dp = m.loc[m["col_name"] == ind, "indicator_dp"].iloc[0]
            for i, v in d[ind].items():
                if v not in SYMBOLS:
                    yield p, ind, i, v, dp


def _whole(v: str) -> bool:
    """A whole number of decimal places, 0 or more (``1`` or ``1.0``)."""
    return re.fullmatch(r"[0-9]+(\.0*)?", v.strip()) is not None


def _blank(v: str) -> bool:
    return v.strip() == "" or v.upper() in ("NA", "NAN", "NULL", "N/A")


def _number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def symbols(r: Release) -> list[str]:
    return [f"{p.name}: row {i + 2} '{ind}' = '{v}' is neither a number nor a symbol"
            for p, ind, i, v, _ in _indicator_values(r) if not _blank(v) and not _number(v)]


def no_blanks(r: Release) -> list[str]:
    problems = []
    for entry in r.described:
        p, d, _, m = entry
        problems += [f"{p.name}: row {i + 2} '{ind}' is blank or NA"
                     for p, ind, i, v, _ in _indicator_values(r, [entry]) if _blank(v)]
        for f in _columns(m, "Filter"):
            if f in d:
                problems += [f"{p.name}: row {i + 2} filter '{f}' is blank or NA" for i, v in d[f].items()
                             if v.strip() == "" or v.upper() in ("NA", "NAN")]
    return problems


def decimal_places(r: Release) -> list[str]:
    problems = []
    for p, ind, i, v, dp in _indicator_values(r):
        if _blank(v) or not _number(v) or not (dp == "" or _whole(dp)):  # a bad dp: "meta fields" reports it
            continue
        places = len(v.split(".")[1]) if "." in v else 0
        if dp != "" and places > int(float(dp)):
            problems.append(f"{p.name}: row {i + 2} '{ind}' = {v} has more than {dp} decimal places")
    return problems


# (name, check, what a pass says), in the order they are reported.
CHECKS = [
    ("file names", file_names, "{n} data files, snake_case"),
    ("data and meta files pair up", files_pair_up, "every data file has its meta file"),
    ("required columns", required_columns, "time and geography columns present"),
    ("column names", column_names, "snake_case"),
    ("meta file columns", meta_columns, "the eight required meta columns; optional ones accepted"),
    ("meta and data agree", meta_and_data_agree, "every filter and indicator described, labelled once and typed"),
    ("meta fields", meta_fields, "filters and indicators fill only their own meta fields"),
    ("indicator units", indicator_units, "blank or a unit EES knows; none on filters"),
    ("label lengths", label_lengths, "names, labels, filter items and codes within EES's limits"),
    ("time columns", time_columns, "academic years, valid time identifiers"),
    ("geography columns", geography_columns, "valid levels and codes"),
    ("geography codes and names", geography_pairs, "every code with its own GSS name"),
    ("duplicate rows", duplicate_rows, "one row per time, place and filter values"),
    ("filter whitespace", filter_whitespace, "no filter item or place name with spaces at either end"),
    ("filters have Total rows", filters_have_totals, "every filter has a Total (or its filter_default)"),
    ("symbols", symbols, "numbers or GSS symbols only"),
    ("no blanks or NA", no_blanks, "no empty cells in filters or indicators"),
    ("decimal places", decimal_places, "indicators within their meta decimal places"),
]


def result(name: str, problems: list[str], ok_text: str) -> Check:
    """The uniform result: passed when there are no problems; the first five problems named."""
    if not problems:
        return Check(name, True, ok_text)
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return Check(name, False, "; ".join(problems[:5]) + more)


def screen(folder: str | Path) -> list[Check]:
    """Every data-standard check over the data files of a folder (``*.csv`` that are not ``*.meta.csv``)."""
    r = read_release(folder)
    if not r.data_files:
        return [Check("data files present", False, f"no data CSV in {r.folder}")]
    return [result(name, check(r), ok.format(n=len(r.data_files))) for name, check, ok in CHECKS]


NOTE = ("Open-data pre-screen: fjaaqa's own checks, modelled on DfE's screener for Explore Education Statistics. "
        "A pre-screen PASS means only that the check found nothing; it is not DfE's screener and not acceptance "
        "for publication.")


def format_checks(checks: list[Check]) -> str:
    """What the pre-screen is (first line), then one line per check: pre-screen PASS or FAIL, its name, what was found.

    Every line says "pre-screen" so that no PASS, copied on its own, reads
    as the files having been accepted for publication.
    """
    return "\n".join([NOTE] + [f"pre-screen {'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}" for c in checks])
