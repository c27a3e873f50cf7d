"""Approved areas: is an apprentice's sector and workplace within the agency's approvals?

An agency is approved for some sectors (IfATE routes) and regions. The
register lists them (``approved_routes``, ``approved_regions``; ``*`` means
all); ``approvals.csv`` replaces a list with dated approvals for the
agencies (and kinds: sector, region) it names. The workplace is the host placement's postcode where
``placements.csv`` gives one, else the ILR delivery location. A postcode
whose region is unknown is a data-quality note, never "outside".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import reference

ALL = "*"


def route_names() -> dict[str, str]:
    r = reference.routes()
    names = {n.lower(): n for n in r["route"]}
    names.update({i.lower(): n for i, n in zip(r["route_id"], r["route"])})
    return names


def region_names() -> dict[str, str]:
    regions = reference.ENGLISH_REGIONS + reference.OTHER_REGIONS
    return {n.lower(): n for n in regions}


def normalise(kind: str, value: str) -> str:
    """Canonical route or region name for a register value (ids and any case accepted)."""
    v = str(value).strip()
    if v == ALL:
        return ALL
    names = route_names() if kind == "sector" else region_names()
    return names.get(v.lower(), v)


def approvals_table(register: pd.DataFrame, approvals: pd.DataFrame) -> pd.DataFrame:
    """One row per approval: ``agency_id, kind, value, from, to`` (dates may be empty)."""
    rows = []
    for kind, col in (("sector", "approved_routes"), ("region", "approved_regions")):
        if col not in register:
            continue
        dated = set(approvals.loc[approvals["kind"] == kind, "agency_id"]) if not approvals.empty else set()
        for agency_id, cell in zip(register["agency_id"], register[col]):
            if agency_id in dated or not isinstance(cell, str):
                continue
            for value in cell.split(";"):
                if value.strip():
                    rows.append({"agency_id": agency_id, "kind": kind, "value": normalise(kind, value),
                                 "from": pd.NaT, "to": pd.NaT})
    table = pd.DataFrame(rows, columns=["agency_id", "kind", "value", "from", "to"])
    if not approvals.empty:
        extra = approvals[["agency_id", "kind", "value", "from", "to"]].copy()
        extra["value"] = [normalise(k, v) for k, v in zip(extra["kind"], extra["value"])]
        table = pd.concat([table, extra], ignore_index=True)
    table["from"] = pd.to_datetime(table["from"]).astype("datetime64[s]")
    table["to"] = pd.to_datetime(table["to"]).astype("datetime64[s]")
    return table


def workplace_postcode(app: pd.DataFrame, placements: pd.DataFrame, census: pd.Timestamp) -> pd.DataFrame:
    """Workplace postcode per apprentice and where it came from (placement or delivery location)."""
    ilr = app["DelLocPostCode"] if "DelLocPostCode" in app else pd.Series(pd.NA, index=app.index, dtype="str")
    out = pd.DataFrame({"workplace_postcode": ilr, "workplace_source": np.where(ilr.notna(), "DelLocPostCode", "")},
                       index=app.index)
    if placements.empty or "postcode" not in placements or "apprenticeship_id" not in app:
        return out
    p = placements.dropna(subset=["postcode"]).copy()
    in_force = (p["from"].isna() | (p["from"] <= census)) & (p["to"].isna() | (p["to"] >= census))
    p["_in_force"] = in_force
    p = p.sort_values(["apprenticeship_id", "_in_force", "from"], na_position="first")
    latest = p.drop_duplicates("apprenticeship_id", keep="last").set_index("apprenticeship_id")["postcode"]
    placed = app["apprenticeship_id"].map(latest)
    out["workplace_postcode"] = placed.where(placed.notna(), out["workplace_postcode"])
    out["workplace_source"] = np.where(placed.notna(), "placement", out["workplace_source"])
    return out


def _approved(app: pd.DataFrame, table: pd.DataFrame, kind: str, field: str,
              as_at: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(has approvals of this kind, value approved at the date) per apprentice."""
    t = table[table["kind"] == kind]
    has = app["agency_id"].isin(t["agency_id"])
    left = pd.DataFrame({"_i": app.index, "agency_id": app["agency_id"].to_numpy(),
                         "_v": app[field].to_numpy(), "_d": as_at.to_numpy()})
    m = left.merge(t, on="agency_id", how="inner")
    ok = ((m["value"] == ALL) | (m["value"] == m["_v"])) & (m["from"].isna() | (m["from"] <= m["_d"])) & (
        m["to"].isna() | (m["to"] >= m["_d"]))
    approved = pd.Series(app.index.isin(m.loc[ok, "_i"]), index=app.index)
    return has, approved


def outside_areas(app: pd.DataFrame, approvals: pd.DataFrame, as_at: pd.Series) -> pd.DataFrame:
    """Per apprentice: route/region known, approval available, and outside (sector, region)."""
    route_known = app["route"].notna() & (app["route"] != reference.UNKNOWN)
    region_known = app["region"].notna() & (app["region"] != reference.UNKNOWN)
    has_sector, sector_ok = _approved(app, approvals, "sector", "route", as_at)
    has_region, region_ok = _approved(app, approvals, "region", "region", as_at)
    sector_out = has_sector & route_known & ~sector_ok
    region_out = has_region & region_known & ~region_ok
    reason = np.select([sector_out & region_out, sector_out, region_out], ["sector and region", "sector", "region"],
                       default="")
    return pd.DataFrame({
        "approvals_known": has_sector | has_region,
        "outside_sector": sector_out,
        "outside_region": region_out,
        "outside": sector_out | region_out,
        "outside_reason": reason,
    }, index=app.index)
