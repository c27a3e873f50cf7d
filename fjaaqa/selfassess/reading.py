"""Reading a completed self-assessment (workbook or YAML) and checking it, every problem at once.

Each problem is one line naming the sheet (or YAML key), the row and the
field, so an agency can fix them all in one pass; a file with problems is
listed, never scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import yaml

from ..errors import InputError
from .frameworks import frameworks, params


@dataclass
class Assessment:
    agency_id: str
    assessment_date: date | None
    elements: pd.DataFrame     # id, rating, strengths, areas, owner, target_date
    evidence: pd.DataFrame     # element, evidence, held
    partnership: pd.DataFrame  # id, answer, owner, target_date, notes
    source: str = ""
    problems: list[str] = field(default_factory=list)


def cell_value(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _as_date(v):
    v = cell_value(v)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        raise ValueError(str(v)) from None


def _date_field(value, where: str, problems: list[str]):
    """A date, or None with a problem recorded when the value is not one (an empty value is simply None)."""
    try:
        return _as_date(value)
    except ValueError as exc:
        problems.append(f"{where}: '{exc}' is not a date (YYYY-MM-DD)")
        return None


def _sheet_rows(wb, name: str, path: str) -> list[tuple[int, dict]]:
    if name not in wb.sheetnames:
        raise InputError(f"no '{name}' sheet (is this an fjaaqa self-assessment workbook?)", file=path)
    rows = list(wb[name].iter_rows(values_only=True))
    header_at = next((i for i, r in enumerate(rows) if r and r[0] in ("Component", "Element ID", "ID", "Item")), None)
    if header_at is None:
        raise InputError(f"sheet '{name}' has no header row", file=path)
    header = [str(h) if h is not None else "" for h in rows[header_at]]
    out = []
    for i, r in enumerate(rows[header_at + 1:], start=header_at + 2):
        rec = dict(zip(header, r))
        if any(cell_value(v) is not None for v in rec.values()):
            out.append((i, rec))
    return out


def read_assessment(path: str | Path) -> Assessment:
    """A completed workbook (.xlsx) or YAML file, read and checked; problems are collected, not raised."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise InputError("file not found", file=shown)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _check(_from_yaml(path), shown)
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, data_only=True)
    except Exception:
        raise InputError("not an Excel workbook (.xlsx) or YAML file that can be read", file=shown) from None
    details = {rec.get("Item"): rec.get("Value") for _, rec in _sheet_rows(wb, "Details", shown)}
    problems: list[str] = []
    when = _date_field(details.get("Assessment date"), f"{shown}: sheet Details, Assessment date", problems)
    el = [(i, {"id": cell_value(r.get("Element ID")), "rating": cell_value(r.get("Rating")),
               "strengths": cell_value(r.get("Strengths")),
               "areas": cell_value(r.get("Areas for improvement")), "owner": cell_value(r.get("Owner")),
               "target_date": r.get("Target date")}) for i, r in _sheet_rows(wb, "Elements", shown)]
    ev = [(i, {"element": cell_value(r.get("Element ID")), "evidence": cell_value(r.get("Evidence")),
               "held": cell_value(r.get("Held"))})
          for i, r in _sheet_rows(wb, "Evidence", shown)]
    pa = [(i, {"id": cell_value(r.get("ID")), "answer": cell_value(r.get("Answer")),
               "owner": cell_value(r.get("Owner")),
               "target_date": r.get("Target date"), "notes": cell_value(r.get("Notes"))})
          for i, r in _sheet_rows(wb, "Partnership", shown)]
    a = _build(str(cell_value(details.get("Agency ID")) or ""), when, el, ev, pa, shown, problems)
    return _check(a, shown)


def _from_yaml(path: Path) -> Assessment:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError("not valid YAML", file=str(path)) from None
    if not isinstance(doc, dict):
        raise InputError("a self-assessment YAML file must be a mapping", file=str(path))
    shown, problems = str(path), []
    when = _date_field(doc.get("assessment_date"), f"{shown}: assessment_date", problems)
    el = [(i + 1, {"id": cell_value(str(r.get("id")) if r.get("id") is not None else None),
                   "rating": cell_value(r.get("rating")),
                   "strengths": cell_value(r.get("strengths")), "areas": cell_value(r.get("areas_for_improvement")),
                   "owner": cell_value(r.get("owner")), "target_date": r.get("target_date")})
          for i, r in enumerate(doc.get("elements") or [])]
    ev = [(i + 1, {"element": cell_value(str(r.get("element"))), "evidence": cell_value(r.get("evidence")),
                   "held": cell_value(r.get("held"))}) for i, r in enumerate(doc.get("evidence") or [])]
    pa = [(i + 1, {"id": cell_value(r.get("id")), "answer": cell_value(r.get("answer")),
                   "owner": cell_value(r.get("owner")),
                   "target_date": r.get("target_date"), "notes": cell_value(r.get("notes"))})
          for i, r in enumerate(doc.get("partnership") or [])]
    return _build(str(doc.get("agency_id") or ""), when, el, ev, pa, shown, problems)


def _build(agency_id, when, el, ev, pa, shown, problems) -> Assessment:
    """Tables from read rows, with every value checked; problems name sheet, row and field."""
    p, fw = params(), frameworks()
    known = {e.id for _, e in fw.qif.elements()}
    statements = {s.id for s in fw.partnership.statements}
    rows = []
    for line, r in el:
        where = f"{shown}: sheet Elements, row {line}"
        if r["id"] not in known:
            problems.append(f"{where}, Element ID: unknown element '{r['id']}'")
            continue
        rating = r["rating"]
        if rating is None:
            problems.append(f"{where}, Rating: missing rating for element {r['id']}")
        else:
            try:
                rating = int(float(rating))
                if rating not in p.rating_scale:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(f"{where}, Rating: '{r['rating']}' is out of range (use {min(p.rating_scale)} to "
                                f"{max(p.rating_scale)})")
                rating = None
        target = _date_field(r["target_date"], f"{where}, Target date", problems)
        rows.append({**r, "rating": rating, "target_date": target})
    missing = sorted(known - {r["id"] for r in rows})
    problems += [f"{shown}: sheet Elements: element {m} is missing" for m in missing]
    evidence = []
    for line, r in ev:
        where = f"{shown}: sheet Evidence, row {line}"
        if r["element"] not in known:
            problems.append(f"{where}, Element ID: unknown element '{r['element']}'")
            continue
        held = r["held"]
        if held not in (None, "Yes", "No"):
            problems.append(f"{where}, Held: '{held}' must be Yes or No")
            held = None
        evidence.append({**r, "held": held == "Yes"})
    part = []
    for line, r in pa:
        where = f"{shown}: sheet Partnership, row {line}"
        if r["id"] not in statements:
            problems.append(f"{where}, ID: unknown statement '{r['id']}'")
            continue
        if r["answer"] is None:
            problems.append(f"{where}, Answer: missing answer for {r['id']}")
        elif str(r["answer"]).upper() not in fw.partnership.choices:
            problems.append(f"{where}, Answer: '{r['answer']}' must be A, B or C")
        target = _date_field(r["target_date"], f"{where}, Target date", problems)
        part.append({**r, "answer": str(r["answer"]).upper() if r["answer"] else None, "target_date": target})
    if not agency_id:
        problems.append(f"{shown}: sheet Details, Agency ID: missing")
    return Assessment(agency_id, when, pd.DataFrame(rows, columns=["id", "rating", "strengths", "areas", "owner",
                                                                   "target_date"]),
                      pd.DataFrame(evidence, columns=["element", "evidence", "held"]),
                      pd.DataFrame(part, columns=["id", "answer", "owner", "target_date", "notes"]), shown, problems)


def _check(a: Assessment, shown: str) -> Assessment:
    if a.assessment_date is None and not any("Assessment date" in p or "assessment_date" in p for p in a.problems):
        a.problems.append(f"{shown}: sheet Details, Assessment date: missing")
    return a


# ------------------------------------------------------------------ scoring and the action plan
