"""The published release: open data (EES CSV + meta) and the same tables as an accessible Excel workbook.

The tables come from :class:`~fjaaqa.publication.summary.Summary`, already
disclosure-controlled. ``data/`` holds one ``<name>.csv`` and
``<name>.meta.csv`` per table; ``fjaa_quality_summary.xlsx`` holds the same
tables for spreadsheet users (gptables: a cover, notes, one table a sheet).
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..quality.indicators import INDICATORS
from .ees import Column, write_table
from .summary import Summary

RATE_COLUMNS = [
    Column("apprentices", "Indicator", "Apprentices in learning in the year", "", "0", grouping="Apprentices"),
    Column("withdrawn", "Indicator", "Withdrawn in the year", "", "0", grouping="Withdrawals"),
    Column("leavers", "Indicator", "Leavers (achievement rate cohort)", "", "0", grouping="Achievement"),
    Column("achievers", "Indicator", "Achievers", "", "0", grouping="Achievement"),
    Column("withdrawal_rate", "Indicator", "Withdrawal rate", "%", "1", grouping="Withdrawals"),
    Column("achievement_rate", "Indicator", "Achievement rate", "%", "1", grouping="Achievement"),
]
COLUMNS = {
    "fjaa_agencies_by_status": [Column("status", "Filter", "Status", hint="Filter by status")]
    + [Column(f"agencies_{i.id}", "Indicator", f"{i.title}: agencies", "", "0", grouping=i.title) for i in INDICATORS]
    + [Column(f"apprentices_{i.id}", "Indicator", f"{i.title}: apprentices in those agencies", "", "0",
              grouping=i.title) for i in INDICATORS],
    "fjaa_rates_by_route": [Column("route", "Filter", "Occupational route", hint="Filter by route")] + RATE_COLUMNS,
    "fjaa_rates_by_region": RATE_COLUMNS,
    "fjaa_rates_by_agency": [Column("agency_name", "Filter", "Agency", hint="Filter by agency")] + RATE_COLUMNS,
}
TITLES = {
    "fjaa_agencies_by_status": "Agencies by status on each Quality Framework indicator",
    "fjaa_rates_by_route": "Withdrawals and achievement by occupational route",
    "fjaa_rates_by_region": "Withdrawals and achievement by region of the workplace",
    "fjaa_rates_by_agency": "Withdrawals and achievement by agency",
}


def write_open_data(s: Summary, folder: Path) -> list[Path]:
    """Every published table as ``<name>.csv`` and ``<name>.meta.csv``."""
    written = []
    for name, table in sorted(s.tables.items()):
        written += list(write_table(folder, name, table, COLUMNS[name]))
    return written


def workbook_bytes(s: Summary) -> bytes:
    """The same tables as an accessible Excel workbook (gptables), byte-stable (created = the census date)."""
    import gptables as gpt

    sheets = {}
    for name, table in sorted(s.tables.items()):
        cols = list(COLUMNS[name])
        shown = table[[c.name for c in cols]].copy()
        shown.columns = [c.label + (" (%)" if c.unit == "%" else "") for c in cols]
        shown = shown.apply(lambda col: col.map(_number))  # visible numbers as numbers; c and z stay text
        if name == "fjaa_rates_by_region":
            shown.insert(0, "Region", [r or "England (all regions)" for r in table["region_name"]])
        sheets[name[5:][:31]] = gpt.GPTable(
            table=shown, table_name=name,
            title=f"{TITLES[name]}, {s.pr.meta['year']} {s.pr.meta['return']} $$note1$$ $$note2$$ $$note3$$",
            source=s.params.publication.producer,
            instructions="This worksheet contains one table. c: suppressed (small count, or to stop a small count "
                         "being worked out); z: not applicable.",
            index_columns={2: 0})
    cover = gpt.Cover(
        title=f"{s.params.publication.title}, {s.pr.meta['year']} {s.pr.meta['return']}",
        intro=[("Final" if s.pr.meta["return"] in ("R13", "R14") else "Provisional") + " figures. "
               + " ".join(s.revisions)],
        about=s.commentary,
        contact=[s.params.publication.producer])
    census = s.pr.period.census
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "summary.xlsx"
        d = s.params.disclosure
        notes = pd.DataFrame({
            "Note number": ["note1", "note2", "note3"],
            "Note text": [f"c: suppressed. Counts of apprentices from 1 to {d.suppress_below - 1} are hidden, and "
                          "further cells where a hidden count could otherwise be worked out from a total.",
                          "z: not applicable (for example a rate with no leavers).",
                          f"Rates are computed from unrounded counts and rounded half up to {d.rate_dp} decimal "
                          "place(s)."]})
        wb = gpt.produce_workbook(filename=str(path), sheets=sheets, cover=cover, notes_table=notes,
                                  workbook_options={"strings_to_formulas": False, "strings_to_urls": False})
        wb.set_properties({"title": s.params.publication.title, "author": "fjaaqa", "language": "en-GB",
                           "created": datetime(census.year, census.month, census.day)})
        wb.close()
        return path.read_bytes()


def _number(v):
    """A published cell as a number when it is one (so spreadsheets can sum it); symbols stay as text."""
    if not isinstance(v, str):
        return v
    if re.fullmatch(r"-?[0-9]+", v):  # ASCII digits only: int() also takes other scripts' digits
        return int(v)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", v):
        return float(v)
    return v
