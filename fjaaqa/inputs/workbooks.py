"""Excel workbooks sent to us (self-assessments, FRM notes), read within bounds.

A workbook is a zip of XML files, and both layers can be made to explode: a
small file that unpacks to gigabytes, or a single cell typed at ``XFD1048576``
that makes a naive reader walk seventeen billion empty cells. Everything that
reads a workbook we did not write goes through here:

- the zip is measured before anything is unpacked, and refused when it would
  unpack to more than :data:`MAX_UNPACKED` bytes;
- the workbook is opened read-only (rows stream; nothing is built for cells
  that are not there), values only;
- only the sheets asked for are read, and only :data:`MAX_ROWS` rows of
  :data:`MAX_COLUMNS` columns of each; a sheet that says or shows it is
  larger is refused with one line naming the sheet and the far cell.

The limits are far above any workbook of ours (a self-assessment is 4
sheets of under 60 rows and 10 columns, 30 KB; an FRM workbook a few
thousand rows of 11 columns), and far below what hurts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import InputError

MAX_UNPACKED = 50_000_000  # bytes, all parts of the zip together
MAX_ROWS = 100_000
MAX_COLUMNS = 50


def _column_letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def open_workbook(path: str | Path, kind: str = "Excel workbook (.xlsx)", formulas_as_text: bool = False):
    """An openpyxl workbook opened read-only, after the zip has been measured; one-line InputError otherwise.

    ``formulas_as_text``: a typed formula comes back as the text typed (for
    free-text notes), not as the value Excel last calculated.
    """
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise InputError("file not found", file=shown)
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"not an {kind} that can be read", file=shown) from None
    if unpacked > MAX_UNPACKED:
        raise InputError(f"unpacks to {unpacked / 1e6:,.0f} MB, more than the {MAX_UNPACKED / 1e6:,.0f} MB a "
                         "workbook of this kind can need: not read", file=shown)
    try:
        from openpyxl import load_workbook

        return load_workbook(path, read_only=True, data_only=not formulas_as_text)
    except Exception:  # openpyxl raises many types for a damaged part
        raise InputError(f"not an {kind} that can be read", file=shown) from None


def sheet_rows(wb, name: str, shown: str) -> list[tuple]:
    """The rows of one sheet as tuples of values, at most MAX_ROWS rows of MAX_COLUMNS columns."""
    ws = wb[name]
    rows_said, cols_said = ws.max_row or 0, ws.max_column or 0  # from the sheet's own dimension, when it has one
    if rows_said > MAX_ROWS or cols_said > MAX_COLUMNS:
        raise InputError(f"sheet '{name}' reaches cell {_column_letter(max(cols_said, 1))}{max(rows_said, 1)}: "
                         f"more than {MAX_ROWS:,} rows or {MAX_COLUMNS} columns, so it is not read", file=shown)
    out = []
    for i, row in enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if i > MAX_ROWS:  # the dimension understated the sheet: stop at the bound all the same
            raise InputError(f"sheet '{name}' has more than {MAX_ROWS:,} rows, so it is not read", file=shown)
        out.append(tuple(row))
    return out
