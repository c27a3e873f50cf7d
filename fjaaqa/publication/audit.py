"""The disclosure audit: how closely can a reader work out each suppressed count from everything published?

Suppressing counts of 1 to 4 and then, per column, a partner for a lone
hidden cell stops simple subtraction, but a reader can do more: combine
rows with their total, columns of the same row (achievers are some of the
leavers, withdrawals some of the apprentices), and the same national count
appearing in several tables. Statistical offices audit a suppression
pattern by solving, for every suppressed cell, two linear programmes: the
smallest and the largest value the cell can take while every published
relation holds and every published number keeps its value. That range is
the cell's *feasibility interval*; a cell is protected when the interval is
at least ``disclosure.protection_width`` wide (upper minus lower bound: the
"minimum width" form of an interval requirement, as in the R packages
sdcTable's ``attack`` and GaussSuppression's ``rangeMin``). Bounds are
rounded inward to whole people, since a reader knows counts are whole.

What a reader is assumed to know (the relations):

* in each table and column, the categories add up to the ``Total`` row;
  where a table leaves some people out (e.g. apprentices whose region is
  unknown, with no row of their own), the reader is assumed to know how
  many: the cautious reading, as for secondary suppression;
* within a row, each ``(part, whole)`` pair of columns: the part is at
  most the whole (so the complement, e.g. leavers who did not achieve, is
  never negative);
* the same count in several tables (each table's ``Total`` for the same
  population) is one number, so a count hidden in one table but shown in
  another is known exactly (:func:`protect` then hides it everywhere);
* a suppressed count is at least 1, because zero is always shown; every
  count is at least 0.

When a cell fails, :func:`protect` suppresses one more cell and audits
again, until every cell passes: the narrowest failing cell first, and for
it the smallest published non-zero count that shares a relation with it
(ties in table, column, row order, so the pattern is the same every run).
Totals are never chosen: they are national figures the commentary states
in words, so hiding them would protect nothing. If a failing cell has no
such partner, :class:`AuditError` stops the run and names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ..errors import FjaaqaError
from .disclosure import SUPPRESSED, Rate

TOTAL = "Total"
EPS = 1e-6  # LP bounds are rounded inward to whole people within this tolerance


class AuditError(FjaaqaError):
    """A suppressed count that no further suppression can protect: the summary cannot be published as it is."""


@dataclass(frozen=True)
class Cell:
    """One published count: table, row position, column."""

    table: str
    row: int
    column: str


@dataclass
class AuditTable:
    """One published table as the audit sees it: the true counts, which of them are suppressed, and its shape.

    ``values`` holds the unrounded person counts (NaN where a cell is not
    applicable, published as ``z``); ``hidden`` is True where a count is
    published as ``c``; ``labels`` names each row (``Total`` for the total);
    ``subsets`` lists ``(part, whole)`` column pairs; ``links`` maps a
    column to the population its ``Total`` counts, so that totals with the
    same key in different tables are one number.
    """

    name: str
    values: pd.DataFrame
    hidden: pd.DataFrame
    labels: list[str]
    subsets: tuple[tuple[str, str], ...] = ()
    links: dict[str, str] = field(default_factory=dict)

    def cells(self) -> list[Cell]:
        """Every applicable count, in column then row order."""
        return [Cell(self.name, r, c) for c in self.values.columns for r in range(len(self.values))
                if pd.notna(self.values[c].iloc[r])]

    def label(self, cell: Cell) -> str:
        return f"{self.name}: {self.labels[cell.row]}, {cell.column}"


@dataclass(frozen=True)
class Relation:
    """``sum(coefficient × cell) + constant`` is 0 (``equal``) or at most 0 (otherwise)."""

    terms: tuple[tuple[Cell, int], ...]
    equal: bool
    constant: float = 0.0


@dataclass(frozen=True)
class Interval:
    """What a reader can work out about one suppressed count (and any counts linked to it)."""

    cells: tuple[Cell, ...]
    value: int
    lower: float
    upper: float  # inf when nothing published bounds the cell from above

    @property
    def width(self) -> float:
        return self.upper - self.lower

    @property
    def bounded(self) -> bool:
        return self.upper != float("inf")


@dataclass
class AuditResult:
    """The audit of a set of published tables: every suppressed count's interval, and the cells it added."""

    width: int                           # the protection width required
    intervals: list[Interval]
    added: list[Cell] = field(default_factory=list)
    names: dict[Cell, str] = field(default_factory=dict)  # readable "table, row, column" for each cell shown

    @property
    def suppressed(self) -> int:
        """Suppressed counts (cells), every table together."""
        return sum(len(i.cells) for i in self.intervals)

    @property
    def narrowest(self) -> Interval | None:
        return min(self.intervals, key=lambda i: i.width) if self.intervals else None

    @property
    def passed(self) -> bool:
        return all(i.width >= self.width for i in self.intervals)


# ------------------------------------------------------------------ the relations a reader knows

def additive(t: AuditTable) -> list[Relation]:
    """Each column's categories add up to its Total, with anyone the table leaves out taken as known (cautious)."""
    totals = [r for r, lab in enumerate(t.labels) if lab == TOTAL]
    if len(totals) != 1:
        return []
    total = totals[0]
    out = []
    for c in t.values.columns:
        v = t.values[c]
        if pd.isna(v.iloc[total]):
            continue
        parts = [r for r in range(len(v)) if r != total and pd.notna(v.iloc[r])]
        gap = v.iloc[total] - sum(v.iloc[r] for r in parts)
        if gap < 0:  # categories overlap: they do not add up to anything a reader can use
            continue
        terms = tuple((Cell(t.name, r, c), 1) for r in parts) + ((Cell(t.name, total, c), -1),)
        out.append(Relation(terms, equal=True, constant=float(gap)))
    return out


def within_rows(t: AuditTable) -> list[Relation]:
    """In every row, each part column is at most its whole (the complement is never negative)."""
    out = []
    for part, whole in t.subsets:
        for r in range(len(t.values)):
            if pd.notna(t.values[part].iloc[r]) and pd.notna(t.values[whole].iloc[r]):
                out.append(Relation(((Cell(t.name, r, part), 1), (Cell(t.name, r, whole), -1)), equal=False))
    return out


def linked(tables: list[AuditTable]) -> dict[Cell, Cell]:
    """Each cell's representative: totals of the same population in several tables are one number.

    A link is used only where the true numbers agree (a table built on a
    different population would differ, and is then left unlinked).
    """
    rep: dict[Cell, Cell] = {}
    first: dict[tuple[str, float], Cell] = {}
    for t in tables:
        for c, key in t.links.items():
            total = [r for r, lab in enumerate(t.labels) if lab == TOTAL]
            if c not in t.values.columns or len(total) != 1 or pd.isna(t.values[c].iloc[total[0]]):
                continue
            cell = Cell(t.name, total[0], c)
            k = (key, float(t.values[c].iloc[total[0]]))
            rep[cell] = first.setdefault(k, cell)
    return rep


# ------------------------------------------------------------------ the linear programmes

def _value(tables: dict[str, AuditTable], cell: Cell) -> float:
    return float(tables[cell.table].values[cell.column].iloc[cell.row])


def _hidden(tables: dict[str, AuditTable], cell: Cell) -> bool:
    return bool(tables[cell.table].hidden[cell.column].iloc[cell.row])


def _classes(tables: dict[str, AuditTable], rep: dict[Cell, Cell]) -> dict[Cell, list[Cell]]:
    """Linked cells grouped under their representative, in table, column, row order."""
    groups: dict[Cell, list[Cell]] = {}
    for t in tables.values():
        for cell in t.cells():
            groups.setdefault(rep.get(cell, cell), []).append(cell)
    return groups


def intervals(tables: list[AuditTable]) -> list[Interval]:
    """The feasibility interval of every suppressed count, all tables together (two LPs per count).

    A count linked to a published one is published; linked suppressed
    counts share one interval. Bounds are rounded inward to whole people.
    """
    by_name = {t.name: t for t in tables}
    rep = linked(tables)
    groups = _classes(by_name, rep)
    unknown = [k for k, cells in groups.items() if all(_hidden(by_name, c) for c in cells)]
    # suppressed here but published in another table: the reader has it exactly
    out = [Interval(tuple(c for c in cells if _hidden(by_name, c)), int(_value(by_name, k)), _value(by_name, k),
                    _value(by_name, k)) for k, cells in groups.items()
           if k not in unknown and any(_hidden(by_name, c) for c in cells)]
    if not unknown:
        return out
    column = {k: j for j, k in enumerate(unknown)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for t in tables:
        for rel in additive(t) + within_rows(t):
            row, rhs = np.zeros(len(unknown)), -rel.constant
            for cell, coef in rel.terms:
                k = rep.get(cell, cell)
                if k in column:
                    row[column[k]] += coef
                else:
                    rhs -= coef * _value(by_name, cell)
            if not row.any():
                continue
            (a_eq if rel.equal else a_ub).append(row)
            (b_eq if rel.equal else b_ub).append(rhs)
    truth = [_value(by_name, k) for k in unknown]
    bounds = [(min(1.0, v), None) for v in truth]  # a suppressed count is never 0 (zero is shown)
    lp = {"A_eq": np.array(a_eq) if a_eq else None, "b_eq": b_eq or None,
          "A_ub": np.array(a_ub) if a_ub else None, "b_ub": b_ub or None, "bounds": bounds, "method": "highs"}
    for k, j in column.items():
        objective = np.zeros(len(unknown))
        objective[j] = 1.0
        low, high = linprog(objective, **lp), linprog(-objective, **lp)
        if low.status != 0 or high.status not in (0, 3):
            raise RuntimeError(f"disclosure audit: the published relations do not hold for "
                               f"{by_name[k.table].label(k)} ({low.message})")
        upper = float("inf") if high.status == 3 else np.floor(-high.fun + EPS)
        out.append(Interval(tuple(groups[k]), int(truth[j]), float(np.ceil(low.fun - EPS)), float(upper)))
    return out


def audit(tables: list[AuditTable], width: int) -> AuditResult:
    """Every suppressed count's interval; passed when each is at least ``width`` wide."""
    found = intervals(tables)
    by_name = {t.name: t for t in tables}
    return AuditResult(width, found, names={c: by_name[c.table].label(c) for i in found for c in i.cells})


# ------------------------------------------------------------------ suppressing more until it passes

def _order(tables: list[AuditTable]) -> dict[Cell, int]:
    """Table, column, row order: how ties are broken."""
    return {cell: n for n, cell in enumerate(c for t in tables for c in t.cells())}


def partners(tables: list[AuditTable], cells: tuple[Cell, ...]) -> list[Cell]:
    """Published non-zero counts (not totals) that share a relation with any of ``cells``."""
    by_name = {t.name: t for t in tables}
    near: set[Cell] = set()
    for t in tables:
        for rel in additive(t) + within_rows(t):
            members = [cell for cell, _ in rel.terms]
            if any(cell in cells for cell in members):
                near.update(members)
    return [c for c in near if c not in cells and not _hidden(by_name, c) and _value(by_name, c) > 0
            and by_name[c.table].labels[c.row] != TOTAL]


def protect(tables: list[AuditTable], width: int) -> AuditResult:
    """Suppress more counts, one at a time, until every suppressed count's interval is at least ``width`` wide.

    Marks the added cells in the tables' ``hidden`` masks; returns the
    final audit with the added cells listed in the order they were chosen.
    """
    order = _order(tables)
    by_name = {t.name: t for t in tables}
    added: list[Cell] = []
    while True:
        result = audit(tables, width)
        failing = [i for i in result.intervals if i.width < width]
        if not failing:
            result.added = added
            result.names.update({c: by_name[c.table].label(c) for c in added})
            return result
        worst = min(failing, key=lambda i: (i.width, min(order[c] for c in i.cells)))
        rep = linked(tables)
        same = [c for c in order if rep.get(c, c) == rep.get(worst.cells[0], worst.cells[0])
                and not _hidden(by_name, c)]
        if same:  # published in another table: suppress it there too (it is the same number)
            for c in same:
                by_name[c.table].hidden.loc[by_name[c.table].hidden.index[c.row], c.column] = True
            added += same
            continue
        choice = partners(tables, worst.cells)
        if not choice:
            cell = worst.cells[0]
            raise AuditError(f"disclosure audit: {by_name[cell.table].label(cell)} is suppressed but can be worked "
                             f"out to lie between {worst.lower:.0f} and {worst.upper:.0f} (less than the protection "
                             f"width of {width}), and no other published count in its rows or columns can be "
                             "suppressed to protect it")
        pick = min(choice, key=lambda c: (_value(by_name, c), order[c]))
        by_name[pick.table].hidden.loc[by_name[pick.table].hidden.index[pick.row], pick.column] = True
        added.append(pick)


# ------------------------------------------------------------------ the quality summary's tables

COUNTS = ("apprentices", "withdrawn", "leavers", "achievers")
RATES = (Rate("withdrawal_rate", "withdrawn", "apprentices"), Rate("achievement_rate", "achievers", "leavers"))
SUBSETS = (("withdrawn", "apprentices"), ("achievers", "leavers"))


@dataclass(frozen=True)
class Layout:
    """Where a published table's true counts are (``Summary.raw``), and what the audit may assume of it."""

    raw: str                     # key in Summary.raw
    label: str                   # the raw column naming each row
    counts: tuple[str, ...] = COUNTS
    prefix: str = ""             # or: every raw column starting with this is a person count
    subsets: tuple[tuple[str, str], ...] = SUBSETS
    rates: tuple[Rate, ...] = RATES


LAYOUTS = {
    "fjaa_agencies_by_status": Layout("agencies_by_status", "status", (), "apprentices_", (), ()),
    "fjaa_rates_by_route": Layout("rates_by_route", "route"),
    "fjaa_rates_by_region": Layout("rates_by_region", "region"),
    "fjaa_rates_by_agency": Layout("agency_rates", "agency_name"),
}


def summary_tables(s) -> list[AuditTable]:
    """The summary's published tables as the audit sees them: true counts from ``raw``, ``c`` from the text.

    Every table's totals count all apprentices (or their leavers, ...) of
    the period, so they are linked by column; the status table's totals
    are apprentices too. A published count that disagrees with its true
    value means the two frames are not row for row the same table: that is
    a fault in the code, and stops the run.
    """
    out = []
    for name, lay in LAYOUTS.items():
        if name not in s.tables:
            continue
        raw, text = s.raw[lay.raw].reset_index(drop=True), s.tables[name].reset_index(drop=True)
        counts = [c for c in raw.columns if lay.prefix and c.startswith(lay.prefix)] or list(lay.counts)
        if len(raw) != len(text):
            raise RuntimeError(f"disclosure audit: {name} has {len(text)} rows but its figures {len(raw)}")
        values = raw[counts].apply(pd.to_numeric, errors="coerce").astype(float)
        hidden = pd.DataFrame({c: text[c] == SUPPRESSED for c in counts})
        for c in counts:
            shown = pd.to_numeric(text[c].where(~hidden[c]), errors="coerce")
            if (shown.notna() & (shown != values[c])).any():
                raise RuntimeError(f"disclosure audit: {name}.{c} does not match its figures row for row")
        links = {c: ("apprentices" if lay.prefix else c) for c in counts}
        out.append(AuditTable(name, values, hidden, [str(v) for v in raw[lay.label]], lay.subsets, links))
    return out


def audit_summary(s) -> AuditResult:
    """Audit the summary's tables together, suppress more where needed, and update its published tables.

    A count the audit adds is published as ``c``, and so is every rate
    worked out from it; ``Summary.hidden`` is updated to match.
    """
    tables = summary_tables(s)
    result = protect(tables, s.params.disclosure.protection_width)
    for cell in result.added:
        s.tables[cell.table].iloc[cell.row, s.tables[cell.table].columns.get_loc(cell.column)] = SUPPRESSED
        mask = s.hidden.get(cell.table)
        if mask is not None and cell.column in mask.columns:
            mask.iloc[cell.row, mask.columns.get_loc(cell.column)] = True
        for rate in LAYOUTS[cell.table].rates:
            if cell.column in (rate.numerator, rate.denominator) and rate.name in s.tables[cell.table].columns:
                table = s.tables[cell.table]
                table.iloc[cell.row, table.columns.get_loc(rate.name)] = SUPPRESSED
                if mask is not None and rate.name in mask.columns:
                    mask.iloc[cell.row, mask.columns.get_loc(rate.name)] = True
    return result
