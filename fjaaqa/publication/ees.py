"""Open data in the Explore Education Statistics (EES) format, and a screener for it.

A published table is a tidy UTF-8 CSV in snake_case with the time and
geography columns EES requires (``time_period, time_identifier,
geographic_level, country_code, country_name`` and, for regional rows,
``region_code, region_name``), filters and indicators, and beside it
``<name>.meta.csv`` describing every filter and indicator. :func:`screen`
runs the data-standard checks over a folder and returns one result per check;
``fjaaqa summary --check`` prints them as PASS/FAIL.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..writers import atomic_write

TIME_GEO = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name"]
REQUIRED = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
META_COLUMNS = ["col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "indicator_dp",
                "filter_hint", "filter_grouping_column"]
GEOGRAPHIC_LEVELS = {"National", "Regional", "Local authority", "Provider", "Institution"}
TIME_IDENTIFIERS = {"Academic year", "Financial year", "Calendar year", "Reporting year"}
SYMBOLS = {"c", "x", "z", "low", "u", "k"}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


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
    buf = io.StringIO()
    data[order].to_csv(buf, index=False, lineterminator="\n")
    meta = pd.DataFrame([{"col_name": c.name, "col_type": c.kind, "label": c.label, "indicator_grouping": c.grouping,
                          "indicator_unit": c.unit, "indicator_dp": c.dp, "filter_hint": c.hint,
                          "filter_grouping_column": ""} for c in columns], columns=META_COLUMNS)
    mbuf = io.StringIO()
    meta.to_csv(mbuf, index=False, lineterminator="\n")
    return (atomic_write(folder / f"{name}.csv", buf.getvalue()),
            atomic_write(folder / f"{name}.meta.csv", mbuf.getvalue()))


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def screen(folder: str | Path) -> list[Check]:
    """Every data-standard check over the data files of a folder (``*.csv`` that are not ``*.meta.csv``)."""
    folder = Path(folder)
    data_files = sorted(p for p in folder.glob("*.csv") if not p.name.endswith(".meta.csv"))
    meta_files = sorted(folder.glob("*.meta.csv"))
    checks: list[Check] = []

    def add(name: str, problems: list[str], ok_text: str) -> None:
        checks.append(Check(name, not problems, "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)"
                                                                          if len(problems) > 5 else "")
                            if problems else ok_text))

    if not data_files:
        return [Check("data files present", False, f"no data CSV in {folder}")]
    problems = [p.name for p in data_files if not SNAKE.match(p.stem)]
    problems += [p.name for p in meta_files if not SNAKE.match(p.name[:-len(".meta.csv")])]
    add("file names", problems, f"{len(data_files)} data files, snake_case")
    problems = [f"{p.name} has no {p.stem}.meta.csv" for p in data_files
                if not (folder / f"{p.stem}.meta.csv").is_file()]
    problems += [f"{m.name} has no data file" for m in meta_files
                 if not (folder / (m.name[:-len(".meta.csv")] + ".csv")).is_file()]
    add("data and meta files pair up", problems, "every data file has its meta file")

    req, metacols, agree, time, geo, totals, symbols, blanks, dps, names = ([] for _ in range(10))
    for p in data_files:
        d = _read(p)
        missing = [c for c in REQUIRED if c not in d.columns]
        req += [f"{p.name}: no {c}" for c in missing]
        names += [f"{p.name}: column '{c}' is not snake_case" for c in d.columns if not SNAKE.match(c)]
        mp = folder / f"{p.stem}.meta.csv"
        if not mp.is_file():
            continue
        m = _read(mp)
        if list(m.columns) != META_COLUMNS:
            metacols.append(f"{mp.name}: columns should be {', '.join(META_COLUMNS)}")
            continue
        described = set(m["col_name"])
        data_cols = [c for c in d.columns if c not in TIME_GEO]
        agree += [f"{p.name}: '{c}' not in the meta file" for c in data_cols if c not in described]
        agree += [f"{mp.name}: '{c}' not in the data" for c in m["col_name"] if c not in d.columns]
        agree += [f"{mp.name}: '{r.col_name}' has col_type '{r.col_type}'" for r in m.itertuples()
                  if r.col_type not in ("Filter", "Indicator")]
        agree += [f"{mp.name}: '{r.col_name}' has no label" for r in m.itertuples() if not r.label.strip()]
        if "time_period" in d and "time_identifier" in d:
            for v in sorted(set(d["time_period"])):
                ok = re.fullmatch(r"\d{6}", v) and int(v[4:]) == (int(v[2:4]) + 1) % 100
                if not ok:
                    time.append(f"{p.name}: time_period '{v}' is not an academic year like 202324")
            time += [f"{p.name}: time_identifier '{v}'" for v in sorted(set(d["time_identifier"]))
                     if v not in TIME_IDENTIFIERS]
        if "geographic_level" in d:
            geo += [f"{p.name}: geographic_level '{v}'" for v in sorted(set(d["geographic_level"]))
                    if v not in GEOGRAPHIC_LEVELS]
            reg = d[d["geographic_level"] == "Regional"]
            if len(reg):
                if not {"region_code", "region_name"} <= set(d.columns):
                    geo.append(f"{p.name}: regional rows need region_code and region_name")
                else:
                    bad = reg[~reg["region_code"].str.fullmatch(r"E12\d{6}") | (reg["region_name"] == "")]
                    geo += [f"{p.name}: row {i + 2} has region_code '{r.region_code}'" for i, r in bad.iterrows()]
            geo += [f"{p.name}: row {i + 2} country_code '{v}'" for i, v in d["country_code"].items()
                    if not re.fullmatch(r"[EKNSW]\d{8}", v)]
        filters = list(m.loc[m["col_type"] == "Filter", "col_name"])
        indicators = list(m.loc[m["col_type"] == "Indicator", "col_name"])
        totals += [f"{p.name}: filter '{f}' has no Total row" for f in filters
                   if f in d and "Total" not in set(d[f])]
        for ind in indicators:
            if ind not in d:
                continue
            dp_meta = m.loc[m["col_name"] == ind, "indicator_dp"].iloc[0]
            for i, v in d[ind].items():
                if v in SYMBOLS:
                    continue
                if v.strip() == "" or v.upper() in ("NA", "NAN", "NULL", "N/A"):
                    blanks.append(f"{p.name}: row {i + 2} '{ind}' is blank or NA")
                    continue
                try:
                    float(v)
                except ValueError:
                    symbols.append(f"{p.name}: row {i + 2} '{ind}' = '{v}' is neither a number nor a symbol")
                    continue
                places = len(v.split(".")[1]) if "." in v else 0
                if dp_meta != "" and places > int(float(dp_meta)):
                    dps.append(f"{p.name}: row {i + 2} '{ind}' = {v} has more than {dp_meta} decimal places")
        for f in filters:
            if f in d:
                blanks += [f"{p.name}: row {i + 2} filter '{f}' is blank or NA" for i, v in d[f].items()
                           if v.strip() == "" or v.upper() in ("NA", "NAN")]
    add("required columns", req, "time and geography columns present")
    add("column names", names, "snake_case")
    add("meta file columns", metacols, "the eight meta columns, in order")
    add("meta and data agree", agree, "every filter and indicator described, labelled and typed")
    add("time columns", time, "academic years, valid time identifiers")
    add("geography columns", geo, "valid levels and codes")
    add("filters have Total rows", totals, "every filter has a Total")
    add("symbols", symbols, "numbers or GSS symbols only")
    add("no blanks or NA", blanks, "no empty cells in filters or indicators")
    add("decimal places", dps, "indicators within their meta decimal places")
    return checks


def format_checks(checks: list[Check]) -> str:
    """One line per check: PASS or FAIL, its name, and what was found."""
    return "\n".join(f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}" for c in checks)
