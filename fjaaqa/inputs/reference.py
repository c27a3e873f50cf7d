"""Reference data shipped with the package: routes, standards, regions, ILR codes.

The shipped tables live in ``fjaaqa/reference/data`` (sources in
``docs/reference-data.md``). A data directory may extend or override them:
``standards.csv`` (StdCode, title, level, route) and ``postcodes.csv``
(``postcode`` or ``district`` with ``region``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

DATA = Path(__file__).parent / "data"

UNKNOWN = "Unknown"
ENGLISH_REGIONS = [
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
]

OTHER_REGIONS = ["Wales", "Scotland", "Northern Ireland", "Outside UK"]

POSTCODE = re.compile(r"^([A-Z]{1,2})([0-9][0-9A-Z]?)\s*([0-9][A-Z]{2})$")
UNKNOWN_POSTCODES = {"ZZ999ZZ"}


@lru_cache(maxsize=1)
def routes() -> pd.DataFrame:
    """The 15 occupational routes (``route_id``, ``route``)."""
    return pd.read_csv(DATA / "routes.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def shipped_standards_file() -> pd.DataFrame:
    """The shipped ``standards.csv`` as it is (StdCode, IfATE reference, title, level, route), read once."""
    return pd.read_csv(DATA / "standards.csv", dtype=str, keep_default_na=False)


def shipped_standards() -> pd.DataFrame:
    """Shipped standards table, StdCode as a string key."""
    return shipped_standards_file()[["StdCode", "title", "level", "route"]]


@lru_cache(maxsize=1)
def ifate_refs() -> dict[str, str]:
    """StdCode -> IfATE reference (``ST0116``): how DfE's national tables name a standard."""
    df = shipped_standards_file()
    return {c: r for c, r in zip(df["StdCode"], df["ifate_ref"]) if r}


def standards(extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standards table, extended or overridden row by row by a user table."""
    base = shipped_standards()
    if extra is None or extra.empty:
        return base.copy()
    extra = extra[[c for c in ["StdCode", "title", "level", "route"] if c in extra]]
    merged = pd.concat([base[~base["StdCode"].isin(extra["StdCode"])], extra], ignore_index=True)
    return merged.sort_values("StdCode", key=lambda s: pd.to_numeric(s, errors="coerce")).reset_index(drop=True)


@lru_cache(maxsize=1)
def postcode_areas() -> pd.DataFrame:
    """Postcode area -> region (majority region) and the regions it straddles."""
    return pd.read_csv(DATA / "postcode_areas.csv", dtype=str, keep_default_na=False)


def parse_postcode(value) -> tuple[str, str] | None:
    """Return (area, district) of a UK postcode, or None when unusable.

    ``ZZ99 9ZZ`` is the ILR's "postcode not known" value and counts as unusable.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    s = re.sub(r"\s+", "", str(value).upper())
    if s in UNKNOWN_POSTCODES:
        return None
    m = POSTCODE.match(s)
    if not m:
        return None
    return m.group(1), m.group(1) + m.group(2)


def regions_for(postcodes: pd.Series, overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Region of each postcode, with how it was found.

    Returns columns ``region`` and ``region_basis`` (``postcode``,
    ``district``, ``area`` or ``unknown``). Area-level matching is approximate
    for areas that straddle a border; a user ``postcodes.csv`` overrides it.
    """
    areas = dict(zip(postcode_areas()["area"], postcode_areas()["region"]))
    by_postcode: dict[str, str] = {}
    by_district: dict[str, str] = {}
    if overrides is not None and not overrides.empty:
        if "postcode" in overrides:
            by_postcode = {
                re.sub(r"\s+", "", str(p).upper()): r
                for p, r in zip(overrides["postcode"], overrides["region"])
                if isinstance(p, str) and p
            }
        if "district" in overrides:
            by_district = {
                str(d).upper().strip(): r
                for d, r in zip(overrides["district"], overrides["region"])
                if isinstance(d, str) and d
            }
    cache: dict = {}
    regions, bases = [], []
    for value in postcodes.tolist():
        if value not in cache:
            cache[value] = _region_of(value, areas, by_postcode, by_district)
        region, basis = cache[value]
        regions.append(region)
        bases.append(basis)
    return pd.DataFrame({"region": regions, "region_basis": bases}, index=postcodes.index)


def _region_of(value, areas, by_postcode, by_district) -> tuple[str, str]:
    parsed = parse_postcode(value)
    if parsed is None:
        return UNKNOWN, "unknown"
    area, district = parsed
    key = re.sub(r"\s+", "", str(value).upper())
    if key in by_postcode:
        return by_postcode[key], "postcode"
    if district in by_district:
        return by_district[district], "district"
    if area in areas:
        return areas[area], "area"
    return UNKNOWN, "unknown"


@lru_cache(maxsize=1)
def ilr_codes() -> dict:
    """ILR code lists with labels (``fields`` and ``fams``)."""
    return yaml.safe_load((DATA / "ilr_codes.yaml").read_text(encoding="utf-8"))


def code_label(field: str, code) -> str:
    """Label of an ILR code, or the code itself when the list does not have it."""
    if code is None or (isinstance(code, float) and pd.isna(code)) or code == "":
        return "Not recorded"
    lists = ilr_codes()
    entry = lists.get("fields", {}).get(field) or lists.get("fams", {}).get(field) or {}
    return str(entry.get("codes", {}).get(str(code), str(code)))


def uln_check_digit(first_nine: str) -> int | None:
    """The check digit a ULN starting with these nine digits must end with (the ILR's published algorithm).

    Weights 10..2 on the nine digits; the sum mod 11 gives the check digit
    as 10 minus the remainder; a remainder of 0 makes no valid ULN (None).
    """
    remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1))) % 11
    return None if remainder == 0 else 10 - remainder


def uln_is_valid(uln) -> bool:
    """Whether a ULN has ten digits, no leading zero, and the right check digit."""
    s = str(uln or "")
    return bool(re.fullmatch(r"[1-9][0-9]{9}", s)) and uln_check_digit(s[:9]) == int(s[9])
