"""Which national rate an agency's figure is set against, and how the comparison is labelled.

Like is compared with like: a route with the national rate of that route, a
standard with that standard's, each for the latest year published that is
not after the review year (a later year did not exist when the agency's
apprentices were training). Where the file has no published rate for the
route or standard (none imported, or withheld), the comparison falls back to
the rate for all apprenticeships and says so. The all-apprenticeship rate
comes from the imported file when it has one, else from the cited figures
in ``params/benchmarks/national-achievement-rates.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..inputs.benchmarks import COUNTS, RATES, STORED, read_stored
from ..paths import params_yaml, resource

PARAMS = "benchmarks/national-achievement-rates.yaml"


def params_file() -> Path:
    return resource("params", *PARAMS.split("/"))


def national_table(data_dir: Path | None) -> tuple[pd.DataFrame, dict]:
    """The imported rates (if any) and the cited all-apprenticeship rates from params, in one table."""
    p = params_yaml(PARAMS)
    cited = {"year": str(p["year"]), "basis": "all", "key": "", "name": "All apprenticeships",
             **{c: p["overall"].get(c) for c in (*COUNTS, *RATES)}}
    rows = [pd.DataFrame([cited]).assign(source=p["source"])]
    meta = {"cited": p["source"]}
    stored = read_stored(data_dir) if data_dir is not None else None
    if stored is not None:
        table, imported = stored
        rows.insert(0, table.assign(source=f"imported from {imported.get('source', 'a file')}"))
        meta["imported"] = imported
    out = pd.concat(rows, ignore_index=True)
    # The imported figures win over the cited ones for the same year.
    out = out.drop_duplicates(["year", "basis", "key"], keep="first")
    return out[[*STORED, "source"]].reset_index(drop=True), meta


def _start(year: str) -> int:
    """``2021-22`` -> 2021."""
    return int(str(year)[:4])


def latest(table: pd.DataFrame, review_year: str, basis: str, key: str = "",
           measure: str = "achievement_rate") -> dict | None:
    """The latest published rate of ``basis``/``key`` for a year not after ``review_year``, or None."""
    t = table[(table["basis"] == basis) & (table["key"].fillna("") == key) & table[measure].notna()]
    t = t[t["year"].map(_start) <= _start(review_year)]
    if t.empty:
        return None
    return t.loc[t["year"].map(_start).idxmax()].to_dict()


def national_rate(table: pd.DataFrame, review_year: str, basis: str = "all", key: str = "",
                  measure: str = "achievement_rate") -> dict:
    """The rate to compare with: ``value``, ``year``, ``basis`` (what it is the rate of) and a ``label``.

    ``fallback`` is True when the route or standard has no published rate
    and the all-apprenticeship rate stands in for it.
    """
    row = latest(table, review_year, basis, key, measure) if basis != "all" else None
    fallback = basis != "all" and row is None
    if row is None:
        row = latest(table, review_year, "all", "", measure)
    if row is None:  # nothing for a year up to the review year: say so rather than borrow a later one
        return {"value": None, "year": "", "basis": basis, "label": "no national rate for this year or before",
                "fallback": True}
    what = {"route": "route", "standard": "standard", "all": "all apprenticeships"}[row["basis"]]
    label = f"{what}, {row['year']}" + (" (no published rate for this " + basis + ")" if fallback else "")
    return {"value": float(row[measure]), "year": row["year"], "basis": row["basis"], "label": label,
            "fallback": fallback}
