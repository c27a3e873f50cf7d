"""Disclosure control for published tables: suppress small counts, protect them from subtraction, round.

Three steps, in this order, on a table of unrounded numbers:

1. **Primary suppression**: a count of people from 1 to ``suppress_below - 1``
   is hidden (``c``). Zero is shown. So is a count of people shown beside a
   count of agencies when too few agencies make it up
   (:func:`few_contributors`): one agency's apprentices give away which
   agency it is, and so its status.
2. **Secondary suppression**: a table's rows fall into groups whose
   categories add up to a ``Total`` row (each route adds up to all routes).
   If a group has exactly one hidden cell in a column, it could be found by
   subtracting the others from the total, so the smallest other non-zero
   cell of that group is hidden as well; repeated until no group has exactly
   one hidden cell.
3. **Rates** are computed from the unrounded counts, rounded half up to
   ``rate_dp`` places, and hidden when their numerator or denominator is.

The result is text ready for a CSV: numbers, ``c`` (suppressed) or ``z``
(not applicable: a rate with no denominator). No blanks, no ``NA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..writers import round_half_up

SUPPRESSED = "c"
NOT_APPLICABLE = "z"


@dataclass(frozen=True)
class Rate:
    """A rate column computed as 100 × numerator / denominator."""

    name: str
    numerator: str
    denominator: str


def primary(df: pd.DataFrame, counts: list[str], below: int) -> pd.DataFrame:
    """True where a count of people is small enough to identify someone (1 to below-1)."""
    hide = pd.DataFrame(False, index=df.index, columns=df.columns)
    for c in counts:
        v = pd.to_numeric(df[c], errors="coerce")
        hide[c] = (v >= 1) & (v < below)
    return hide


def few_contributors(df: pd.DataFrame, pairs: dict[str, str], min_units: int) -> pd.DataFrame:
    """True where a count of people comes from fewer than ``min_units`` agencies (but at least one).

    ``pairs`` maps each count column to the column counting the agencies
    behind it (``apprentices_withdrawals`` -> ``agencies_withdrawals``).
    Such a count is one agency's size, whatever the number: "1 agency
    (252 apprentices)" names the agency to anyone who knows the sector.
    """
    hide = pd.DataFrame(False, index=df.index, columns=df.columns)
    for count, units in pairs.items():
        n = pd.to_numeric(df[units], errors="coerce")
        hide[count] = (n >= 1) & (n < min_units)
    return hide


def secondary(df: pd.DataFrame, hide: pd.DataFrame, counts: list[str], group: str | None, total_col: str,
              total_value: str = "Total") -> pd.DataFrame:
    """Hide more cells until no group (categories + their Total row) has exactly one hidden category cell.

    ``group`` names the column that splits the table into independent
    groups (e.g. ``indicator``); ``total_col`` is the filter whose
    ``Total`` row is the sum of the group's other rows.
    """
    hide = hide.copy()
    keys = df[group] if group else pd.Series("all", index=df.index)
    for c in counts:
        v = pd.to_numeric(df[c], errors="coerce")
        changed = True
        while changed:
            changed = False
            for _, idx in df.groupby(keys, sort=True).groups.items():
                parts = [i for i in idx if df.at[i, total_col] != total_value]
                if not parts:
                    continue
                hidden = [i for i in parts if hide.at[i, c]]
                if len(hidden) != 1:
                    continue
                candidates = sorted((i for i in parts if not hide.at[i, c] and pd.notna(v[i]) and v[i] > 0),
                                    key=lambda i: (v[i], str(df.at[i, total_col])))
                if candidates:
                    hide.at[candidates[0], c] = True
                else:  # nothing else to hide: hide the total instead
                    for i in idx:
                        if df.at[i, total_col] == total_value:
                            hide.at[i, c] = True
                changed = True
    return hide


def protect(df: pd.DataFrame, counts: list[str], rates: list[Rate], below: int, dp: int, group: str | None,
            total_col: str, also: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published text table and the mask of hidden cells (counts and rates).

    ``also`` marks further cells to hide before secondary suppression (e.g.
    :func:`few_contributors`), so they are protected from subtraction too.
    """
    hide = primary(df, counts, below)
    if also is not None:
        hide = hide | also.reindex(index=hide.index, columns=hide.columns, fill_value=False).astype(bool)
    hide = secondary(df, hide, counts, group, total_col)
    out = df.copy().astype(object)
    for c in counts:
        out[c] = [SUPPRESSED if hide.at[i, c] else NOT_APPLICABLE if pd.isna(df.at[i, c]) else str(int(df.at[i, c]))
                  for i in df.index]
    for r in rates:
        hide[r.name] = False
        vals = []
        for i in df.index:
            n, d = df.at[i, r.numerator], df.at[i, r.denominator]
            if hide.at[i, r.numerator] or hide.at[i, r.denominator]:
                vals.append(SUPPRESSED)
                hide.at[i, r.name] = True
            elif not d:
                vals.append(NOT_APPLICABLE)
            else:
                vals.append(str(round_half_up(100.0 * float(n) / float(d), dp)))
        out[r.name] = vals
    return out, hide


def recoverable(df: pd.DataFrame, hide: pd.DataFrame, counts: list[str], group: str | None, total_col: str,
                total_value: str = "Total") -> list[tuple]:
    """Cells that could be worked out by subtraction from a visible total: (group, column, row) for each."""
    keys = df[group] if group else pd.Series("all", index=df.index)
    found = []
    for c in counts:
        for g, idx in df.groupby(keys, sort=True).groups.items():
            totals = [i for i in idx if df.at[i, total_col] == total_value]
            parts = [i for i in idx if df.at[i, total_col] != total_value]
            if totals and not hide.at[totals[0], c]:
                hidden = [i for i in parts if hide.at[i, c]]
                if len(hidden) == 1:
                    found.append((g, c, hidden[0]))
    return found
