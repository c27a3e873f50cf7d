"""A provider's FRM query workbook (Excel): summary, one sheet per rule, resolved queries, notes.

Written with XlsxWriter, which gives the same bytes for the same content
once the document's ``created`` date is fixed (we use the return's census
date). Built for screen readers and for work: a title in A1 of every sheet,
one table per sheet with a header row, no merged cells, frozen headers.
Every value is written as text or a number, never a formula, so a learner
reference or note beginning with ``=`` stays inert.

The provider's own notes live in the "Provider notes" column; pass last
return's workbook back (``fjaaqa frm --notes FILE``) and each note follows its
query ID into the new workbook.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..frm.catalogue import STREAM_LABELS
from ..frm.run import FrmResult
from ..inputs.workbooks import open_workbook, sheet_rows
from ..writers import atomic_write

NOTES_HEADER = "Provider notes"
QUERY_HEADER = "Query ID"
ROW_COLUMNS = [(QUERY_HEADER, "query_id", 18), ("Learner ref", "LearnRefNumber", 13), ("Aim seq", "AimSeqNumber", 8),
               ("Aim ref", "LearnAimRef", 11), ("Start date", "LearnStartDate", 11),
               ("Funding stream", "funding_stream", 24), ("Subcontractor", "PartnerUKPRN", 13),
               ("Funding impact (£)", "funding_impact", 14), ("Change", "change", 11),
               ("Why it is flagged", "reason", 48)]


def read_notes(paths: list[str | Path]) -> dict[str, str]:
    """Provider notes by query ID from earlier workbooks (later files win for the same ID)."""
    notes: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError("notes workbook not found", file=str(path))
        wb = open_workbook(path, formulas_as_text=True)
        found = False
        for name in wb.sheetnames:
            header, q, n = None, None, None
            for row in sheet_rows(wb, name, str(path)):
                cells = ["" if v is None else str(v) for v in row]
                if header is None:
                    if QUERY_HEADER in cells and NOTES_HEADER in cells:
                        header, q, n = cells, cells.index(QUERY_HEADER), cells.index(NOTES_HEADER)
                        found = True
                    continue
                if len(cells) > max(q, n) and cells[q] and cells[n].strip():
                    notes[cells[q]] = cells[n]
        wb.close()
        if not found:
            raise InputError(f"no sheet with '{QUERY_HEADER}' and '{NOTES_HEADER}' columns (is it an fjaaqa FRM "
                             "workbook?)", file=str(path))
    return notes


def workbook_bytes(res: FrmResult, ukprn: str, notes: dict[str, str] | None = None) -> bytes:
    """The workbook for one provider and return, as bytes (same content, same bytes)."""
    import xlsxwriter

    notes = notes or {}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    census = res.period.census
    wb.set_properties({"title": f"Funding rules monitoring queries, UKPRN {ukprn}, {res.period.label}",
                       "subject": "FRM query list (restricted: learner references)", "author": "fjaaqa",
                       "created": datetime(census.year, census.month, census.day), "language": "en-GB"})
    fmt = {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "text": wb.add_format({"text_wrap": True, "valign": "top"}),
        "money": wb.add_format({"num_format": "£#,##0.00", "valign": "top"}),
        "int": wb.add_format({"num_format": "0", "valign": "top"}),
        "note": wb.add_format({"text_wrap": True, "valign": "top", "bg_color": "#FFF7BF"}),
    }
    flags = res.flags[res.flags["UKPRN"] == str(ukprn)]
    resolved = res.resolved[res.resolved["UKPRN"] == str(ukprn)]
    status = res.status[res.status["UKPRN"] == str(ukprn)]
    _summary_sheet(wb, fmt, res, ukprn, status)
    for rule in res.catalogue.rules:
        mine = flags[flags["rule"] == rule.id]
        if not mine.empty:
            _rows_sheet(wb, fmt, rule.id, f"{rule.id}: {rule.title}", f"What you need to do: {rule.todo}", mine,
                        notes)
    _rows_sheet(wb, fmt, "Resolved", f"Queries in {res.compared_with.label if res.compared_with else 'the previous'}"
                f" return no longer raised in {res.period.label}", "Kept for your records; no action needed unless "
                "you expect the query to return.", resolved, notes, with_rule=True)
    _notes_sheet(wb, fmt, res)
    wb.close()
    return buf.getvalue()


def write_workbook(res: FrmResult, ukprn: str, path: Path, notes: dict[str, str] | None = None) -> Path:
    return atomic_write(path, workbook_bytes(res, ukprn, notes), private=True)


def _summary_sheet(wb, fmt, res: FrmResult, ukprn: str, status: pd.DataFrame) -> None:
    ws = wb.add_worksheet("Summary")
    ws.write_string(0, 0, f"Funding rules monitoring queries: UKPRN {ukprn}, {res.period.label}", fmt["title"])
    compared = res.compared_with.label if res.compared_with else "no earlier return (every query is new)"
    ws.write_string(1, 0, f"Rule catalogue {res.catalogue.year}; compared with {compared}. Restricted: the rule "
                          "sheets list learner references.")
    if res.note:
        ws.write_string(2, 0, f"Note: {res.note}.")
    headers = ["Rule", "Title", "Queries", "New", "Persisting", "Resolved", "Funding impact (£)", "Run"]
    data = []
    for rule in res.catalogue.rules:
        s = status[status["rule"] == rule.id]
        s = s.iloc[0].to_dict() if len(s) else {"flagged": 0, "new": 0, "persisting": 0, "resolved": 0,
                                                "funding_impact": None}
        impact = s["funding_impact"]
        data.append([rule.id, rule.title, int(s["flagged"]), int(s["new"]), int(s["persisting"]), int(s["resolved"]),
                     None if impact is None or pd.isna(impact) else float(impact),
                     "yes" if rule.id not in res.unavailable else f"not available: {res.unavailable[rule.id]}"])
    first = 4
    ws.add_table(first, 0, first + len(data), len(headers) - 1, {
        "name": "Summary", "style": "Table Style Light 1", "autofilter": False,
        "columns": [{"header": h} for h in headers]})
    for i, row in enumerate(data, start=first + 1):
        _write_row(ws, i, row, fmt, money_cols={6}, int_cols={2, 3, 4, 5})
    for col, width in enumerate([9, 70, 9, 7, 11, 10, 18, 40]):
        ws.set_column(col, col, width, fmt["text"] if col in (1, 7) else None)
    ws.freeze_panes(first + 1, 0)


def _rows_sheet(wb, fmt, name: str, title: str, subtitle: str, rows: pd.DataFrame, notes: dict[str, str],
                with_rule: bool = False) -> None:
    ws = wb.add_worksheet(name)
    ws.write_string(0, 0, title, fmt["title"])
    ws.write_string(1, 0, subtitle)
    columns = ([("Rule", "rule", 9)] if with_rule else []) + ROW_COLUMNS
    headers = [c[0] for c in columns] + [NOTES_HEADER]
    first = 3
    ordered = rows.sort_values(["change", "LearnRefNumber", "query_id"], kind="stable") if len(rows) else rows
    ws.add_table(first, 0, first + max(1, len(ordered)), len(headers) - 1, {
        "name": f"T_{name}", "style": "Table Style Light 1", "columns": [{"header": h} for h in headers]})
    money_col = [c[1] for c in columns].index("funding_impact")
    for i, rec in enumerate(ordered.to_dict("records"), start=first + 1):
        values = []
        for _, key, _ in columns:
            v = rec.get(key)
            if key == "funding_stream":
                v = STREAM_LABELS.get(v, v)
            values.append(v)
        values.append(notes.get(rec["query_id"], ""))
        _write_row(ws, i, values, fmt, money_cols={money_col}, note_col=len(headers) - 1)
    if ordered.empty:
        ws.write_string(first + 1, 0, "none")
    for col, (_, _, width) in enumerate(columns):
        ws.set_column(col, col, width, fmt["text"] if width > 20 else None)
    ws.set_column(len(headers) - 1, len(headers) - 1, 40, fmt["note"])
    ws.freeze_panes(first + 1, 1)


def _write_row(ws, r: int, values: list, fmt, money_cols=frozenset(), int_cols=frozenset(), note_col=None) -> None:
    """Numbers as numbers, everything else as plain text (never a formula)."""
    for c, v in enumerate(values):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            if c == note_col:
                ws.write_blank(r, c, None, fmt["note"])
            continue
        if c in money_cols:
            ws.write_number(r, c, float(v), fmt["money"])
        elif c in int_cols:
            ws.write_number(r, c, int(v), fmt["int"])
        else:
            ws.write_string(r, c, str(v), fmt["note"] if c == note_col else fmt["text"])


def _notes_sheet(wb, fmt, res: FrmResult) -> None:
    ws = wb.add_worksheet("Notes")
    ws.write_string(0, 0, "Notes: how to use this workbook", fmt["title"])
    lines = [
        ("Restricted", "The rule sheets list learner references so that you can find each record. Keep this "
                       "workbook within your data team."),
        ("Query ID", "Stays the same from return to return while the record is unchanged (built from the "
                     "supplier aim ID, or UKPRN, learner reference, aim reference and start date; never the aim "
                     "sequence number). Quote it in any enquiry."),
        ("Change", "new: not raised in the previous return; persisting: raised then too. Queries no longer "
                   "raised are on the Resolved sheet."),
        ("Funding impact", "Funding attached to the queried aim (16 to 19: the learner's funding; loans: SLC "
                           "payments) from the earnings supplied. Empty: no earnings supplied for that row."),
        (NOTES_HEADER, "Yours. Pass this workbook back with the next return (fjaaqa frm --notes FILE) and each "
                       "note follows its query ID into the new workbook."),
        ("Rule catalogue", f"{res.catalogue.year}: {res.catalogue.source}. The readings chosen where the "
                           "guidance leaves a number open are in the fjaaqa documentation (docs/assumptions.md, "
                           "section H)."),
    ]
    for rule_id, why in sorted(res.unavailable.items()):
        lines.append((f"{rule_id} not run", why))
    if res.note:
        lines.append(("Another year's rules", res.note))
    ws.add_table(2, 0, 2 + len(lines), 1, {"name": "Notes", "style": "Table Style Light 1", "autofilter": False,
                                           "columns": [{"header": "Item"}, {"header": "Explanation"}]})
    for i, (k, v) in enumerate(lines, start=3):
        ws.write_string(i, 0, k, fmt["text"])
        ws.write_string(i, 1, v, fmt["text"])
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 100, fmt["text"])
