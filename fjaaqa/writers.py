"""Writing files: atomic writes, the one protected CSV writer, and the one round-half-up.

Writes are atomic (a temporary name in the same folder, then a rename), so
an interrupted run never leaves a half-written file that looks complete.
Every CSV goes through :func:`csv_text`, which makes formula-like text inert
before a spreadsheet can run it. Floats are written unrounded in JSON and
CSV; missing values are empty. Numbers shown to people are rounded half up
by :func:`round_half_up`, never by Python's banker's ``round``.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd


def atomic_write(path: str | Path, data: bytes | str, private: bool = False) -> Path:
    """Write a file whole or not at all; a file that already holds exactly these bytes is left alone.

    Leaving identical files untouched keeps their modification times, so a
    re-run with nothing changed changes nothing on disk. ``private`` files
    (anything holding learner identifiers: restricted packs, case lists,
    FRM queries, rejected rows) are readable by their owner only (0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    mode = 0o600 if private else 0o666 & ~_umask()
    try:
        if path.stat().st_size == len(raw) and path.read_bytes() == raw:
            if (path.stat().st_mode & 0o777) != mode:
                os.chmod(path, mode)
            return path
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, mode)  # mkstemp makes 0600; other outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def sweep_temporary(folder: str | Path) -> int:
    """Remove temporary files an interrupted run left under ``folder`` (``.NAME.xxxx.tmp``); how many."""
    n = 0
    for p in Path(folder).rglob(".*.tmp"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def records(df: pd.DataFrame, fields: list[str]) -> list[dict]:
    """Rows as plain dicts with NaN as None (JSON null)."""
    return [{f: _clean(r[f]) for f in fields} for r in df[fields].to_dict("records")]


# A spreadsheet reads a cell starting with one of these as a formula ("CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")  # left alone: ASCII digits only, no "-inf", no "+1e9"


def inert(value):
    """Text a spreadsheet will show, never run: a leading ``'`` before a formula-like start.

    Numbers (``-5``, ``+3.2``) are left alone; only text is neutralised.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return value if NUMBER.fullmatch(value) else "'" + value
    return value


def csv_text(df: pd.DataFrame, fields: list[str] | None = None) -> str:
    """CSV with a fixed column order, ``\\n`` line ends, unrounded floats and formula-like text made inert."""
    out = df[fields] if fields else df
    text = [c for c in out.columns if out[c].dtype == object or pd.api.types.is_string_dtype(out[c])]
    if text:
        out = out.assign(**{c: out[c].map(inert) for c in text})
    return out.to_csv(index=False, lineterminator="\n", float_format=None)


def round_half_up(value: float, dp: int) -> Decimal:
    """``value`` rounded half up to ``dp`` decimal places (2.45 -> 2.5, 0.125 -> 0.13 at 2 dp).

    The decimal representation Python prints for a float is what is rounded,
    so 2.675 becomes 2.68 as a reader expects, not 2.67 as binary floating
    point would give.
    """
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)


def write_sheet_table(ws, df: pd.DataFrame, headers: list[str], name: str, text_format=None) -> None:
    """``df`` as an Excel table under a title row of an XlsxWriter worksheet, with the headings frozen.

    Numbers are written as numbers (so they sum and sort) and missing values
    as empty cells, not "nan"; text is written as text, never as a formula.
    The restricted case workbook and the self-assessment workbook share it.
    """
    ws.add_table(2, 0, 2 + max(1, len(df)), len(headers) - 1, {
        "name": name, "style": "Table Style Light 1", "columns": [{"header": h} for h in headers]})
    for r, rec in enumerate(df.itertuples(index=False), start=3):
        for c, v in enumerate(rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, float(v))
            else:
                ws.write_string(r, c, str(v), text_format)
    ws.freeze_panes(3, 0)
