"""Made-up national achievement rates in DfE's open-data layout, for the demonstration.

DfE's national tables cannot be downloaded on a machine without internet,
so the demo writes a file in exactly their layout (columns, ``Total`` rows,
``low``/``x`` for withheld cells, breakdowns by age, a framework row) with
invented figures, and imports it the way a user imports the real one. The
file name and every page that uses it say the figures are synthetic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..inputs import reference
from ..inputs.benchmarks import FOLDER
from ..writers import atomic_write, csv_text

FILE = "synthetic-national-achievement-rates.csv"
COLUMNS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "std_fwk_flag",
           "route", "std_fwk_name_stcode", "level", "detailed_level", "age_youth_adult", "age_group",
           "funding_type", "leavers", "completers", "achievers", "retention_rate", "pass_rate", "achievement_rate"]
YEARS = ["202122", "202223", "202425"]  # no 2023-24: a 2023-24 review uses 2022-23, never the later year


def _row(period: str, route: str = "Total", standard: str = "Total", flag: str = "Total", age: str = "Total",
         leavers: int = 0, retention: float = 0.0, passed: float = 0.0, withheld: bool = False) -> dict:
    base = {"time_period": period, "time_identifier": "Academic year", "geographic_level": "National",
            "country_code": "E92000001", "country_name": "England", "std_fwk_flag": flag, "route": route,
            "std_fwk_name_stcode": standard, "level": "Total", "detailed_level": "Total",
            "age_youth_adult": age, "age_group": "Total", "funding_type": "Total"}
    if withheld:
        return {**base, "leavers": "low", "completers": "low", "achievers": "low", "retention_rate": "x",
                "pass_rate": "x", "achievement_rate": "x"}
    completers = round(leavers * retention)
    achievers = round(completers * passed)
    return {**base, "leavers": str(leavers), "completers": str(completers), "achievers": str(achievers),
            "retention_rate": f"{100 * completers / leavers:.1f}", "pass_rate": f"{100 * achievers / completers:.1f}",
            "achievement_rate": f"{100 * achievers / leavers:.1f}"}


def national_rates(seed: int = 20231001) -> pd.DataFrame:
    """Every year: all apprenticeships, each route, each shipped standard (one withheld), and rows we set aside."""
    rng = np.random.default_rng(seed)
    std = reference.shipped_standards_file()
    std = std[std["ifate_ref"] != ""].drop_duplicates("ifate_ref")
    rows = []
    for i, period in enumerate(YEARS):
        drift = 0.01 * i  # rates creep up a point a year
        rows.append(_row(period, leavers=260000 - 5000 * i, retention=0.55 + drift, passed=0.97))
        for route in reference.routes()["route"]:
            rows.append(_row(period, route, leavers=int(rng.integers(2000, 30000)),
                             retention=float(rng.uniform(0.45, 0.68)) + drift, passed=float(rng.uniform(0.9, 0.99))))
        for n, s in enumerate(std.itertuples()):
            rows.append(_row(period, s.route, f"{s.title}-{s.ifate_ref}", flag="Standard", withheld=n == 0,
                             leavers=int(rng.integers(200, 4000)), retention=float(rng.uniform(0.4, 0.75)) + drift,
                             passed=float(rng.uniform(0.85, 0.99))))
        rows.append(_row(period, "Digital", age="16-18", leavers=4000, retention=0.6, passed=0.95))
        rows.append(_row(period, "Total", "Business Administration-FW0001", flag="Framework", leavers=300,
                         retention=0.5, passed=0.9))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_national_rates(data: Path, seed: int = 20231001) -> Path:
    """The made-up file, in ``DATA/benchmarks/`` beside where its import is stored."""
    path = Path(data) / FOLDER / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, csv_text(national_rates(seed), COLUMNS))
    return path
