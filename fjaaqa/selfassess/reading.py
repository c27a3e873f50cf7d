"""Reading a completed self-assessment (workbook or YAML) and checking it, every problem at once.

Each problem is one line naming the sheet (or YAML key), the row and the
field, so an agency can fix them all in one pass; a file with problems is
listed, never scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import yaml

from ..errors import InputError
from ..inputs.workbooks import open_workbook, sheet_rows
from ..paths import NAME
from .frameworks import frameworks, params


@dataclass
class Assessment:
    agency_id: str
    assessment_date: date | None
    elements: pd.DataFrame     # id, rating, not_applicable, strengths, areas, owner, target_date
    evidence: pd.DataFrame     # element, evidence, held
    partnership: pd.DataFrame  # id, answer (A, B, C or N/A), owner, target_date, notes
    source: str = ""
    problems: list[str] = field(default_factory=list)


def named_for(path: Path, agency_id: str) -> bool:
    """Is the file named for this agency? ``FJAA0007.xlsx`` or ``FJAA0007-2024.yaml`` is; ``FJAA0003.xlsx`` is not.

    The agency ID inside a file decides where its scores go (its own pack,
    its own output folder), so the file's name must agree: one agency's file
    dropped in under another's name, or with another's ID, is never scored.
    """
    stem = path.stem
    return stem == agency_id or (stem.startswith(agency_id) and stem[len(agency_id)] in "-_ .")


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
    text = str(v)[:10]
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):  # ASCII digits only
        raise ValueError(str(v))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(str(v)) from None


PLAUSIBLE_YEARS = (1990, 2100)  # a self-assessment or an action's target date outside these is a typing slip


def _date_field(value, where: str, problems: list[str]):
    """A date, or None with a problem recorded when the value is not one (an empty value is simply None)."""
    try:
        d = _as_date(value)
    except ValueError as exc:
        problems.append(f"{where}: '{_shown(exc)}' is not a date (YYYY-MM-DD)")
        return None
    if d is not None and not PLAUSIBLE_YEARS[0] <= d.year <= PLAUSIBLE_YEARS[1]:
        problems.append(f"{where}: {d.isoformat()} is not a plausible date (years {PLAUSIBLE_YEARS[0]} to "
                        f"{PLAUSIBLE_YEARS[1]})")
        return None
    return d


def whole_number(v) -> int | None:
    """A rating as an int: 3, 3.0 (how Excel stores it) or "3"; None for 3.5, inf, "٣" or text."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None  # is_integer() is False for inf and nan
    if isinstance(v, str) and re.fullmatch(r"[0-9]{1,3}", v.strip()):
        return int(v)
    return None


def _sheet_rows(wb, name: str, path: str) -> list[tuple[int, dict]]:
    if name not in wb.sheetnames:
        raise InputError(f"no '{name}' sheet (is this an fjaaqa self-assessment workbook?)", file=path)
    rows = sheet_rows(wb, name, path)
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
    if path.suffix.lower() != ".xlsx":
        raise InputError("not an Excel workbook (.xlsx) or YAML file", file=shown)
    wb = open_workbook(path)
    try:
        return _check(_from_workbook(wb, shown), shown)
    finally:
        wb.close()


def _from_workbook(wb, shown: str) -> Assessment:
    """The template's four sheets (Details, Elements, Evidence, Partnership), nothing else."""
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
    return _build(str(cell_value(details.get("Agency ID")) or ""), when, el, ev, pa, shown, problems,
                  f"{shown}: sheet Details, Agency ID")


MAX_YAML_BYTES = 1_000_000  # a completed self-assessment in YAML is about 10 KB
MAX_YAML_ITEMS = 500  # per list: the framework has 33 elements and 12 partnership statements


def _from_yaml(path: Path) -> Assessment:
    shown, problems = str(path), []
    if path.stat().st_size > MAX_YAML_BYTES:
        raise InputError(f"larger than {MAX_YAML_BYTES // 1000:,} KB: not a self-assessment, so not read", file=shown)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        raise InputError("not valid YAML", file=shown) from None
    if not isinstance(doc, dict):
        raise InputError("a self-assessment YAML file must be a mapping", file=shown)
    when = _date_field(_scalar(doc.get("assessment_date"), f"{shown}: assessment_date", problems),
                       f"{shown}: assessment_date", problems)

    def items(key: str, fields: dict[str, str]) -> list[tuple[int, dict]]:
        """The entries of one list, each a mapping of single values (anything else is a problem, not a crash)."""
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            problems.append(f"{shown}: {key}: must be a list of entries")
            return []
        if len(entries) > MAX_YAML_ITEMS:
            problems.append(f"{shown}: {key}: {len(entries):,} entries (at most {MAX_YAML_ITEMS})")
            return []
        out = []
        for i, r in enumerate(entries, start=1):
            if not isinstance(r, dict):
                problems.append(f"{shown}: {key}, entry {i}: must be a mapping such as 'id: 1.1'")
                continue
            out.append((i, {name: _scalar(r.get(k), f"{shown}: {key}, entry {i}, {k}", problems)
                            for name, k in fields.items()}))
        return out

    el = items("elements", {"id": "id", "rating": "rating", "strengths": "strengths",
                            "areas": "areas_for_improvement", "owner": "owner", "target_date": "target_date"})
    ev = items("evidence", {"element": "element", "evidence": "evidence", "held": "held"})
    pa = items("partnership", {"id": "id", "answer": "answer", "owner": "owner", "target_date": "target_date",
                               "notes": "notes"})
    for _, r in el + ev:  # YAML reads 1.1 as a number: ids are text
        for k in ("id", "element"):
            if k in r and r[k] is not None:
                r[k] = str(r[k])
    for rows in (el, ev, pa):
        for _, r in rows:
            for k, v in r.items():
                if k != "target_date":
                    r[k] = cell_value(v)
    agency_id = _scalar(doc.get("agency_id"), f"{shown}: agency_id", problems)
    return _build(str(agency_id or ""), when, el, ev, pa, shown, problems, f"{shown}: agency_id")


def _scalar(v, where: str, problems: list[str]):
    """A single value (text, number, date, yes/no), or None with a problem for a list or mapping."""
    if isinstance(v, (list, dict, set, tuple)):
        problems.append(f"{where}: must be a single value, not a list or mapping")
        return None
    return v


def _shown(v) -> str:
    """A value as quoted in a problem: short, on one line."""
    s = " ".join(str(v).split())
    return s if len(s) <= 40 else s[:40] + "…"


def _build(agency_id, when, el, ev, pa, shown, problems, id_where) -> Assessment:
    """Tables from read rows, with every value checked; problems name sheet, row and field."""
    p, fw = params(), frameworks()
    known = {e.id for _, e in fw.qif.elements()}
    statements = {s.id for s in fw.partnership.statements}
    rows = []
    for line, r in el:
        where = f"{shown}: sheet Elements, row {line}"
        if r["id"] not in known:
            problems.append(f"{where}, Element ID: unknown element '{_shown(r['id'])}'")
            continue
        rating, na = r["rating"], p.is_not_applicable(r["rating"])
        if na:
            rating = None  # counts in no score: not applicable is not a low rating
        elif rating is None:
            problems.append(f"{where}, Rating: missing rating for element {r['id']}")
        else:
            rating = whole_number(rating)
            if rating not in p.rating_scale:
                problems.append(f"{where}, Rating: '{_shown(r['rating'])}' is not a whole number from "
                                f"{min(p.rating_scale)} to {max(p.rating_scale)}, or {p.na}")
                rating = None
        target = _date_field(r["target_date"], f"{where}, Target date", problems)
        rows.append({**r, "rating": rating, "not_applicable": na, "target_date": target})
    missing = sorted(known - {r["id"] for r in rows})
    problems += [f"{shown}: sheet Elements: element {m} is missing" for m in missing]
    evidence = _evidence(ev, shown, problems)
    choices = list(fw.partnership.choices)
    part = []
    for line, r in pa:
        where = f"{shown}: sheet Partnership, row {line}"
        if r["id"] not in statements:
            problems.append(f"{where}, ID: unknown statement '{_shown(r['id'])}'")
            continue
        answer = r["answer"]
        if p.is_not_applicable(answer):
            answer = p.na
        elif answer is None:
            problems.append(f"{where}, Answer: missing answer for {r['id']}")
        elif str(answer).upper() not in choices:
            problems.append(f"{where}, Answer: '{_shown(answer)}' must be {', '.join(choices[:-1])}, {choices[-1]} "
                            f"or {p.na}")
            answer = None
        else:
            answer = str(answer).upper()
        target = _date_field(r["target_date"], f"{where}, Target date", problems)
        part.append({**r, "answer": answer, "target_date": target})
    if not agency_id:
        problems.append(f"{id_where}: missing")
    elif not NAME.fullmatch(agency_id):
        problems.append(f"{id_where}: '{agency_id[:40]}' is not an agency ID (letters, digits, '.', '_' or '-')")
    elif not named_for(Path(shown), agency_id):
        problems.append(f"{id_where}: '{agency_id}' is not the agency the file is named for (name it "
                        f"{agency_id}{Path(shown).suffix}, or {agency_id}-<anything>{Path(shown).suffix})")
    return Assessment(agency_id, when, pd.DataFrame(rows, columns=["id", "rating", "not_applicable", "strengths",
                                                                   "areas", "owner", "target_date"]),
                      pd.DataFrame(evidence, columns=["element", "evidence", "held"]),
                      pd.DataFrame(part, columns=["id", "answer", "owner", "target_date", "notes"]), shown, problems)


def _evidence(ev, shown: str, problems: list[str]) -> list[dict]:
    """Evidence rows matched to the catalogue by element and wording, each at most once.

    The evidence lists change between versions of the catalogue (6.4's
    grew from two to six, 6.5 is new): a row from an older template whose
    wording is no longer on the element's list is a problem, not silently
    counted as held for something else, and a row given twice would count
    twice and push coverage past 100 %.
    """
    lists = {e.id: {_key(t): t for t in e.evidence} for _, e in frameworks().qif.elements()}
    seen, out = set(), []
    for line, r in ev:
        where = f"{shown}: sheet Evidence, row {line}"
        if r["element"] not in lists:
            problems.append(f"{where}, Element ID: unknown element '{_shown(r['element'])}'")
            continue
        text = lists[r["element"]].get(_key(r["evidence"]))
        if r["evidence"] is None:
            problems.append(f"{where}, Evidence: missing")
            continue
        if text is None:
            problems.append(f"{where}, Evidence: '{_shown(r['evidence'])}' is not on element {r['element']}'s "
                            "evidence list (the lists change between versions: start from a new template)")
            continue
        if (r["element"], text) in seen:
            problems.append(f"{where}, Evidence: '{_shown(text)}' is listed twice for element {r['element']}")
            continue
        seen.add((r["element"], text))
        held = r["held"]
        if held not in (None, "Yes", "No"):
            problems.append(f"{where}, Held: '{_shown(held)}' must be Yes or No")
            held = None
        out.append({**r, "evidence": text, "held": held == "Yes"})
    return out


def _key(text) -> str:
    """Evidence wording as compared: any case, spaces collapsed."""
    return " ".join(str(text).split()).casefold() if text is not None else ""


def _check(a: Assessment, shown: str) -> Assessment:
    if a.assessment_date is None and not any("Assessment date" in p or "assessment_date" in p for p in a.problems):
        a.problems.append(f"{shown}: sheet Details, Assessment date: missing")
    return a


# ------------------------------------------------------------------ scoring and the action plan
