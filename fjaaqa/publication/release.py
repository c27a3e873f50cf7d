"""The published release: open data (EES CSV + meta) and the same tables as an accessible Excel workbook.

The tables come from :class:`~fjaaqa.publication.summary.Summary`, already
disclosure-controlled. ``data/`` holds one ``<name>.csv`` and
``<name>.meta.csv`` per table; ``fjaa_quality_summary.xlsx`` holds the same
tables for spreadsheet users, laid out as the Analysis Function's guidance
on releasing statistics in spreadsheets asks (written with XlsxWriter, which
gives each cell its own format): a cover sheet, a contents sheet, a notes
sheet, then one table a sheet, each under a one-line title. Numbers are
stored as numbers with thousands separators and rates at their published
decimal places (65.0 shows as 65.0); shorthand symbols are in square
brackets ([c], [z], [x]), explained on the notes sheet, and right-aligned
like the numbers of their column; dates are stored as dates.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ..quality.indicators import INDICATORS
from .ees import Column, write_table
from .summary import Summary, period_label, release_of

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
WORKBOOK = "fjaa_quality_summary.xlsx"
COMPARED = "at_risk_compared"  # the workbook's sheet of the headline chart's figures


def shorthand(symbol: str) -> str:
    """A GSS symbol as the Analysis Function's spreadsheet guidance writes it: in square brackets (c -> [c])."""
    return f"[{symbol}]"



def write_open_data(s: Summary, folder: Path) -> list[Path]:
    """Every published table as ``<name>.csv`` and ``<name>.meta.csv``."""
    written = []
    for name, table in sorted(s.tables.items()):
        written += list(write_table(folder, name, table, COLUMNS[name]))
    return written


def notes(s: Summary) -> list[tuple[str, str]]:
    """The notes sheet: each shorthand symbol, then what a reader needs to use the tables (numbers from params)."""
    d, g = s.params.disclosure, s.params.geography
    return [
        ("note 1", f"{shorthand('c')} confidential: suppressed to protect the people (and agencies) behind it. Counts "
                   f"of apprentices from 1 to {d.suppress_below - 1}, a count of apprentices beside fewer than "
                   f"{d.min_agencies_per_cell} agencies, and further counts from which a suppressed one could be "
                   "worked out (from a total, another column or another table), with every rate worked out from "
                   "them."),
        ("note 2", f"{shorthand('z')} not applicable: a status an indicator cannot have, a rate with nothing to "
                   "divide by (no apprentices, no leavers), or a region code for a row that is not a region."),
        ("note 3", f"{shorthand('x')} not available: the figure is not in the data (for example a comparison with a "
                   "return that is not held)."),
        ("note 4", f"Rates are worked out from unrounded counts and rounded half up to {d.rate_dp} decimal "
                   f"place{'s' if d.rate_dp != 1 else ''}."),
        ("note 5", f"{g.unknown_region_name}: apprentices whose workplace is unknown or outside England, and leavers "
                   "whose apprenticeship is not in this return (it ended in an earlier year), so that no workplace is "
                   "known for them. With it the regions add up to England."),
        ("note 6", f"{s.params.unknown_category}: apprentices and leavers with no route recorded, so the routes add "
                   "up to the total (the row is shown only when it holds anyone)."),
    ]


# The workbook's table sheets, in the report's order; the notes each title refers to (the shorthand it can hold)
# and the notes of particular columns (rates: how they are rounded; the remainder rows of route and region).
ORDER = ["fjaa_agencies_by_status", "fjaa_rates_by_route", "fjaa_rates_by_region", "fjaa_rates_by_agency"]
TABLE_NOTES = {"fjaa_agencies_by_status": [1, 2], "fjaa_rates_by_route": [1, 2], "fjaa_rates_by_region": [1, 2],
               "fjaa_rates_by_agency": [1, 2], COMPARED: [3]}
COLUMN_NOTES = {"rate": [4], "Region": [5], "Occupational route": [6]}


def _refs(numbers: list[int]) -> str:
    return " ".join(f"[note {n}]" for n in numbers)


def _sheet_name(name: str) -> str:
    return name.removeprefix("fjaa_")[:31]


def workbook_bytes(s: Summary) -> bytes:
    """The tables as an accessible Excel workbook, byte-stable (created = the release date, else the census date)."""
    import xlsxwriter

    pub, period = s.params.publication, period_label(s.pr)
    release = release_of(s.pr, s.params)
    census = s.pr.period.census
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    made = release.release if release else census
    wb.set_properties({"title": f"{pub.title}, {period}", "author": pub.contact.team, "language": "en-GB",
                       "created": datetime(made.year, made.month, made.day)})
    f = _formats(wb, s.params.disclosure.rate_dp)
    tables = _tables(s)

    cover = wb.add_worksheet("Cover")
    lines: list[tuple] = [(f"{pub.title}, {period}", f["title"]),
                          ("This workbook holds the published tables of the quality summary, one table a worksheet, "
                           "with a contents worksheet and a notes worksheet.", None),
                          ("Designation", f["heading"]), (pub.designation, None), (pub.designation_note, None),
                          ("Release date", f["heading"]),
                          (release.release if release else "Not announced", f["date"] if release else None),
                          ("Next update", f["heading"]),
                          (release.next_update if release else "Not announced", f["date"] if release else None)]
    if release and release.next_update_covers:
        lines.append((f"The next update covers {release.next_update_covers}.", None))
    lines += [("Data as at", f["heading"]),
              (f"ILR return {s.pr.meta['return']} of {s.pr.meta['year']}, census date:", None), (census, f["date"]),
              ("About these figures", f["heading"]), *[(t, None) for t in s.commentary + s.revisions],
              ("Shorthand", f["heading"]),
              (f"Cells show {shorthand('c')}, {shorthand('z')} or {shorthand('x')} where a figure is suppressed, "
               "not applicable or not available: the Notes worksheet explains each.", None),
              ("Contact", f["heading"]), (pub.contact.team, None), ("mailto:" + pub.contact.email, "url"),
              ("Licence", f["heading"]), (pub.licence, None), (pub.licence_address, None),
              ("Source", f["heading"]), (pub.producer, None)]
    for row, (value, fmt) in enumerate(lines):
        if fmt == "url":
            cover.write_url(row, 0, value, f["link"], value.removeprefix("mailto:"))
        elif isinstance(value, date):
            cover.write_datetime(row, 0, datetime(value.year, value.month, value.day), fmt)
        else:
            cover.write_string(row, 0, str(value), fmt) if fmt else cover.write_string(row, 0, str(value), f["wrap"])
    cover.set_column(0, 0, 110)

    contents = wb.add_worksheet("Contents")
    contents.write_string(0, 0, "Contents", f["title"])
    contents.write_string(1, 0, "This worksheet contains one table. Each worksheet name links to the worksheet.")
    entries = [("Notes", "Notes and shorthand used in the tables")] + [(sheet, title) for sheet, title, *_ in tables]
    contents.add_table(2, 0, 2 + len(entries), 1, {
        "name": "contents", "style": "Table Style Light 1", "autofilter": False,
        "columns": [{"header": "Worksheet name", "header_format": f["header"]},
                    {"header": "Table title", "header_format": f["header"]}]})
    for row, (sheet, title) in enumerate(entries, start=3):
        contents.write_url(row, 0, f"internal:'{sheet}'!A1", f["link"], sheet)
        contents.write_string(row, 1, title)
    contents.set_column(0, 0, 26)
    contents.set_column(1, 1, 90)

    sheet_notes = wb.add_worksheet("Notes")
    sheet_notes.write_string(0, 0, "Notes", f["title"])
    sheet_notes.write_string(1, 0, "This worksheet contains one table. Tables refer to these notes as [note 1] and so "
                                   "on; notes 1 to 3 explain the shorthand symbols.")
    rows = notes(s)
    sheet_notes.add_table(2, 0, 2 + len(rows), 1, {
        "name": "notes", "style": "Table Style Light 1", "autofilter": False,
        "columns": [{"header": "Note number", "header_format": f["header"]},
                    {"header": "Note text", "header_format": f["header"]}]})
    for row, (number, text) in enumerate(rows, start=3):
        sheet_notes.write_string(row, 0, number)
        sheet_notes.write_string(row, 1, text, f["wrap"])
    sheet_notes.set_column(0, 0, 14)
    sheet_notes.set_column(1, 1, 110)

    for sheet, title, refs, headers, kinds, data in tables:
        _table_sheet(wb.add_worksheet(sheet), f, sheet, f"{title}, {period} {refs}", pub.producer, headers, kinds,
                     data)
    wb.close()
    return buf.getvalue()


def _formats(wb, rate_dp: int) -> dict:
    """Cell formats: counts with thousands separators, rates at their decimal places, symbols right-aligned."""
    rate = "0" + ("." + "0" * rate_dp if rate_dp else "")
    return {"title": wb.add_format({"bold": True, "font_size": 14}),
            "heading": wb.add_format({"bold": True, "font_size": 12}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "date": wb.add_format({"num_format": "d mmmm yyyy", "align": "left"}),
            "link": wb.add_format({"font_color": "#1d70b8", "underline": 1}),
            "header": wb.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
            "header_num": wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "align": "right"}),
            "count": wb.add_format({"num_format": "#,##0", "align": "right"}),
            "rate": wb.add_format({"num_format": rate, "align": "right"}),
            "symbol": wb.add_format({"align": "right"}),
            "text": wb.add_format({"text_wrap": True, "valign": "top"})}


def _tables(s: Summary) -> list[tuple[str, str, str, list[str], list[str], list[list]]]:
    """(sheet, title, its note markers, headers, kind of each column, rows of published cells) for every table."""
    out = []
    for name in [n for n in ORDER if n in s.tables]:
        table, cols = s.tables[name], list(COLUMNS[name])
        headers = [c.label + (" (%)" if c.unit == "%" else "") for c in cols]
        kinds = ["text" if c.kind == "Filter" else "rate" if c.unit == "%" else "count" for c in cols]
        data = table[[c.name for c in cols]].values.tolist()
        if name == "fjaa_rates_by_region":
            headers = ["Region code", "Region"] + headers
            kinds = ["code", "text"] + kinds
            data = [[code or s.params.geography.country_code, region or s.params.geography.country_name, *row]
                    for code, region, row in zip(table["region_code"], table["region_name"], data)]
        headers = [h + "".join(" " + _refs([n]) for n in COLUMN_NOTES.get(k, []) + COLUMN_NOTES.get(h, []))
                   for h, k in zip(headers, kinds)]
        out.append((_sheet_name(name), TITLES[name], _refs(TABLE_NOTES[name]), headers, kinds, data))
    c = s.raw["at_risk_compared"]
    now = period_label(s.pr)
    then = period_label(s.previous) if s.previous is not None else f"{s.pr.period.year.previous().label} " \
                                                                    f"{s.pr.meta['return']}"
    data = [[r["indicator"], str(int(r["this"])), "x" if pd.isna(r["previous"]) else str(int(r["previous"]))]
            for r in c.to_dict("records")]
    out.append((COMPARED, "Agencies at risk on each indicator, against the same return a year earlier",
                _refs(TABLE_NOTES[COMPARED]), ["Indicator", f"Agencies at risk, {now}", f"Agencies at risk, {then}"],
                ["text", "count", "count"], data))
    return out


def _table_sheet(ws, f: dict, name: str, title: str, source: str, headers: list[str], kinds: list[str],
                 data: list[list]) -> None:
    """One table under its title: numbers as numbers, symbols in brackets right-aligned with them."""
    ws.write_string(0, 0, title, f["title"])
    ws.write_string(1, 0, "This worksheet contains one table. Some cells show shorthand symbols in square brackets, "
                          "explained on the Notes worksheet.")
    ws.write_string(2, 0, f"Source: {source}")
    first = 3
    numeric = [k in ("count", "rate") for k in kinds]
    ws.add_table(first, 0, first + max(1, len(data)), len(headers) - 1, {
        "name": re.sub(r"[^A-Za-z0-9_]", "_", name), "style": "Table Style Light 1", "autofilter": False,
        "columns": [{"header": h, "header_format": f["header_num"] if num else f["header"]}
                    for h, num in zip(headers, numeric)]})
    for r, row in enumerate(data, start=first + 1):
        for c, value in enumerate(row):
            _cell(ws, r, c, value, kinds[c], f)
    ws.set_column(0, 0, 42 if kinds[0] == "text" else 12)
    for c, kind in enumerate(kinds[1:], start=1):
        ws.set_column(c, c, 30 if kind == "text" else 16)
    ws.set_row(first, 48)


def _cell(ws, row: int, col: int, value, kind: str, f: dict) -> None:
    """A published cell: a number with its column's format, or a shorthand symbol right-aligned like one."""
    text = "" if value is None else str(value)
    if kind in ("count", "rate") and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):  # ASCII digits only
        ws.write_number(row, col, float(text) if "." in text else int(text), f[kind])
    elif text in ("c", "z", "x"):
        ws.write_string(row, col, shorthand(text), f["symbol"])
    elif kind == "code" and text == "":
        ws.write_string(row, col, shorthand("z"), f["symbol"])
    else:
        ws.write_string(row, col, text, f["text"])
