"""Self-assessment: the IEP Quality Improvement Framework and the LSIS partnership checklist as a workbook,
scored and turned into the agency's own improvement action plan.

The frameworks are data (``fjaaqa/reference/data/self_assessment.yaml``), the
rating scale and thresholds are parameters (``params/selfassessment.yaml``).
A template is an accessible Excel workbook (or YAML) with drop-downs; the
completed file is validated (every problem, one line each, with sheet, row
and field), scored per component, and turned into actions for weak elements
and "A: not sure" statements, carrying owners and dates, with progress
against a previous assessment when given. The plan belongs to the agency; it
is not a DfE quality improvement plan.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from .errors import InputError
from .paths import repo_path

ELEMENT_COLUMNS = ["Component", "Element ID", "Element", "What it covers", "Rating", "Strengths",
                   "Areas for improvement", "Owner", "Target date"]
EVIDENCE_COLUMNS = ["Element ID", "Evidence", "Held"]
PARTNERSHIP_COLUMNS = ["ID", "Statement", "Answer", "Owner", "Target date", "Notes"]
DETAILS = {"Agency ID": "agency_id", "Assessment date": "assessment_date"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Element(_Strict):
    id: str
    title: str
    descriptor: str
    evidence: list[str]


class Component(_Strict):
    id: str
    title: str
    elements: list[Element]


class Qif(_Strict):
    source: str
    version: str
    components: list[Component]

    def elements(self) -> list[tuple[Component, Element]]:
        return [(c, e) for c in self.components for e in c.elements]


class Statement(_Strict):
    id: str
    text: str


class Partnership(_Strict):
    source: str
    version: str
    choices: dict[str, str]
    statements: list[Statement]


class Frameworks(_Strict):
    qif: Qif
    partnership: Partnership


class SelfAssessParams(_Strict):
    rating_scale: dict[int, str]
    weak_at_most: int
    strong_at_least: float
    partnership_action_for: list[str]
    default_action_days: int


@lru_cache(maxsize=1)
def frameworks() -> Frameworks:
    path = repo_path("fjaaqa", "reference", "data", "self_assessment.yaml")
    return Frameworks.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def params() -> SelfAssessParams:
    return SelfAssessParams.model_validate(yaml.safe_load(repo_path("params", "selfassessment.yaml").read_text()))


# ------------------------------------------------------------------ template

def template_tables(agency_id: str) -> dict[str, pd.DataFrame]:
    """The blank tables of a template: elements, evidence, partnership checklist, details."""
    fw = frameworks()
    elements = pd.DataFrame([[c.title, e.id, e.title, e.descriptor, None, "", "", "", None]
                             for c, e in fw.qif.elements()], columns=ELEMENT_COLUMNS)
    evidence = pd.DataFrame([[e.id, ev, None] for _, e in fw.qif.elements() for ev in e.evidence],
                            columns=EVIDENCE_COLUMNS)
    partnership = pd.DataFrame([[s.id, s.text, None, "", None, ""] for s in fw.partnership.statements],
                               columns=PARTNERSHIP_COLUMNS)
    details = pd.DataFrame({"Item": list(DETAILS), "Value": [agency_id, None]})
    return {"Elements": elements, "Evidence": evidence, "Partnership": partnership, "Details": details}


def template_bytes(agency_id: str) -> bytes:
    """An accessible Excel template with drop-downs and an instructions sheet (same content, same bytes)."""
    import xlsxwriter

    p, fw = params(), frameworks()
    tables = template_tables(agency_id)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": f"Self-assessment template, {agency_id}", "author": "fjaaqa", "language": "en-GB",
                       "created": datetime(2000, 1, 1)})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    entry = wb.add_format({"text_wrap": True, "valign": "top", "bg_color": "#FFF7BF"})
    datef = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top", "bg_color": "#FFF7BF"})

    ws = wb.add_worksheet("Instructions")
    ws.write_string(0, 0, f"Self-assessment for agency {agency_id}", title)
    scale = "; ".join(f"{k} {v}" for k, v in p.rating_scale.items())
    lines = [
        ("What this is", "Your own review of your service against the IEP Quality Improvement Framework and a "
                         "partnership-working checklist. fjaaqa scores it and writes an improvement action plan that "
                         "belongs to you; it is not a DfE quality improvement plan."),
        ("Details sheet", "Check your agency ID and enter the assessment date (YYYY-MM-DD)."),
        ("Elements sheet", f"Rate each element with the drop-down ({scale}). Add strengths, areas for improvement, "
                           "an owner and a target date where you plan action."),
        ("Evidence sheet", "For each type of evidence, choose Yes if you hold it, No if you do not."),
        ("Partnership sheet", "For each statement choose A (not sure), B (some progress) or C (considerable "
                              "progress); add an owner and a date for those you will act on."),
        ("Scoring", "Run: fjaaqa selfassess score THIS_FILE.xlsx [--previous LAST_FILE.xlsx]. Every problem is "
                    "listed with its sheet, row and column."),
        ("Sources", f"{fw.qif.source}; {fw.partnership.source}. Element titles, descriptors and statements are "
                    "fjaaqa's summaries."),
    ]
    ws.add_table(2, 0, 2 + len(lines), 1, {"name": "Instructions", "autofilter": False, "style": "Table Style Light 1",
                                           "columns": [{"header": "Item"}, {"header": "Explanation"}]})
    for i, (k, v) in enumerate(lines, start=3):
        ws.write_string(i, 0, k, wrap)
        ws.write_string(i, 1, v, wrap)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 100)

    def sheet(name: str, df: pd.DataFrame, heading: str, widths: list[int], inputs: dict[str, dict]):
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, heading, title)
        first = 2
        ws.add_table(first, 0, first + len(df), len(df.columns) - 1, {
            "name": name, "style": "Table Style Light 1", "columns": [{"header": c} for c in df.columns]})
        for r, rec in enumerate(df.itertuples(index=False), start=first + 1):
            for c, v in enumerate(rec):
                col = df.columns[c]
                if col in inputs:
                    fmt = datef if col == "Target date" or (name == "Details" and r == first + 2) else entry
                    ws.write_blank(r, c, None, fmt) if _cell(v) is None else ws.write_string(r, c, str(v), fmt)
                elif _cell(v) is not None:
                    ws.write_string(r, c, str(v), wrap)
        for col, rule in inputs.items():
            c = list(df.columns).index(col)
            ws.data_validation(first + 1, c, first + len(df), c, rule)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.freeze_panes(first + 1, 0)

    date_rule = {"validate": "date", "criteria": "between", "minimum": date(2015, 1, 1), "maximum": date(2040, 12, 31),
                 "error_message": "Enter a date as YYYY-MM-DD."}
    ratings = [str(k) for k in p.rating_scale]
    sheet("Details", tables["Details"], "Assessment details", [20, 30], {"Value": {"validate": "any"}})
    sheet("Elements", tables["Elements"], "IEP Quality Improvement Framework: elements", [26, 10, 34, 60, 9, 30, 30,
                                                                                            16, 12],
          {"Rating": {"validate": "list", "source": ratings, "input_message": scale[:255]},
           "Strengths": {"validate": "any"}, "Areas for improvement": {"validate": "any"},
           "Owner": {"validate": "any"}, "Target date": date_rule})
    sheet("Evidence", tables["Evidence"], "Evidence held", [10, 60, 8],
          {"Held": {"validate": "list", "source": ["Yes", "No"]}})
    sheet("Partnership", tables["Partnership"], "Partnership working checklist", [6, 70, 9, 16, 12, 30],
          {"Answer": {"validate": "list", "source": list(fw.partnership.choices),
                      "input_message": "A not sure; B some progress; C considerable progress"},
           "Owner": {"validate": "any"}, "Target date": date_rule, "Notes": {"validate": "any"}})
    wb.close()
    return buf.getvalue()


def template_yaml(agency_id: str) -> str:
    """The same template as YAML, for those who keep it in version control."""
    t = template_tables(agency_id)
    doc = {"agency_id": agency_id, "assessment_date": None,
           "elements": [{"id": r["Element ID"], "element": r["Element"], "rating": None, "strengths": "",
                         "areas_for_improvement": "", "owner": "", "target_date": None}
                        for r in t["Elements"].to_dict("records")],
           "evidence": [{"element": r["Element ID"], "evidence": r["Evidence"], "held": None}
                        for r in t["Evidence"].to_dict("records")],
           "partnership": [{"id": r["ID"], "statement": r["Statement"], "answer": None, "owner": "",
                            "target_date": None, "notes": ""} for r in t["Partnership"].to_dict("records")]}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


# ------------------------------------------------------------------ reading and validating

@dataclass
class Assessment:
    agency_id: str
    assessment_date: date | None
    elements: pd.DataFrame     # id, rating, strengths, areas, owner, target_date
    evidence: pd.DataFrame     # element, evidence, held
    partnership: pd.DataFrame  # id, answer, owner, target_date, notes
    source: str = ""
    problems: list[str] = field(default_factory=list)


def _cell(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _as_date(v):
    v = _cell(v)
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
        if any(_cell(v) is not None for v in rec.values()):
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
    el = [(i, {"id": _cell(r.get("Element ID")), "rating": _cell(r.get("Rating")), "strengths": _cell(r.get("Strengths")),
               "areas": _cell(r.get("Areas for improvement")), "owner": _cell(r.get("Owner")),
               "target_date": r.get("Target date")}) for i, r in _sheet_rows(wb, "Elements", shown)]
    ev = [(i, {"element": _cell(r.get("Element ID")), "evidence": _cell(r.get("Evidence")), "held": _cell(r.get("Held"))})
          for i, r in _sheet_rows(wb, "Evidence", shown)]
    pa = [(i, {"id": _cell(r.get("ID")), "answer": _cell(r.get("Answer")), "owner": _cell(r.get("Owner")),
               "target_date": r.get("Target date"), "notes": _cell(r.get("Notes"))})
          for i, r in _sheet_rows(wb, "Partnership", shown)]
    a = _build(str(_cell(details.get("Agency ID")) or ""), when, el, ev, pa, shown, problems)
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
    el = [(i + 1, {"id": _cell(str(r.get("id")) if r.get("id") is not None else None), "rating": _cell(r.get("rating")),
                   "strengths": _cell(r.get("strengths")), "areas": _cell(r.get("areas_for_improvement")),
                   "owner": _cell(r.get("owner")), "target_date": r.get("target_date")})
          for i, r in enumerate(doc.get("elements") or [])]
    ev = [(i + 1, {"element": _cell(str(r.get("element"))), "evidence": _cell(r.get("evidence")),
                   "held": _cell(r.get("held"))}) for i, r in enumerate(doc.get("evidence") or [])]
    pa = [(i + 1, {"id": _cell(r.get("id")), "answer": _cell(r.get("answer")), "owner": _cell(r.get("owner")),
                   "target_date": r.get("target_date"), "notes": _cell(r.get("notes"))})
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

def component_scores(a: Assessment) -> pd.DataFrame:
    """Per component: mean rating, as a share of the top of the scale, and evidence coverage."""
    fw, p = frameworks(), params()
    top = max(p.rating_scale)
    rows = []
    for c in fw.qif.components:
        ids = [e.id for e in c.elements]
        r = a.elements[a.elements["id"].isin(ids)]["rating"].dropna().astype(float)
        ev = a.evidence[a.evidence["element"].isin(ids)]
        total = sum(len(e.evidence) for e in c.elements)
        rows.append({"component": c.id, "title": c.title, "elements": len(ids), "rated": len(r),
                     "score": round(float(r.mean()), 2) if len(r) else None,
                     "score_percent": round(100.0 * float(r.mean()) / top, 1) if len(r) else None,
                     "evidence_held": int(ev["held"].sum()), "evidence_types": total,
                     "evidence_coverage": round(100.0 * int(ev["held"].sum()) / total, 1) if total else None})
    return pd.DataFrame(rows)


def partnership_profile(a: Assessment) -> dict[str, int]:
    return {k: int((a.partnership["answer"] == k).sum()) for k in frameworks().partnership.choices}


def action_plan(a: Assessment, previous: Assessment | None = None) -> pd.DataFrame:
    """Actions for weak elements and 'not sure' statements, with owners and dates (carried from before if blank)."""
    fw, p = frameworks(), params()
    when = a.assessment_date or date(2000, 1, 1)
    default_date = when + timedelta(days=p.default_action_days)
    prev_el = previous.elements.set_index("id") if previous is not None else pd.DataFrame()
    prev_pa = previous.partnership.set_index("id") if previous is not None else pd.DataFrame()
    held = a.evidence.groupby("element")
    rows = []
    for c, e in fw.qif.elements():
        r = a.elements[a.elements["id"] == e.id]
        if r.empty or pd.isna(r.iloc[0]["rating"]) or int(r.iloc[0]["rating"]) > p.weak_at_most:
            continue
        r = r.iloc[0]
        gaps = []
        if e.id in held.groups:
            g = held.get_group(e.id)
            gaps = list(g.loc[~g["held"], "evidence"])
        before = prev_el.loc[e.id] if e.id in prev_el.index else None
        owner = _first(r["owner"], before["owner"] if before is not None else None)
        target = _first(r["target_date"], before["target_date"] if before is not None else None) or default_date
        progress = "" if before is None or pd.isna(before["rating"]) else _progress(before["rating"], r["rating"])
        rows.append({"source": "Quality Improvement Framework", "item": f"{e.id} {e.title}", "component": c.title,
                     "rating": f"{int(r['rating'])} {p.rating_scale[int(r['rating'])]}",
                     "action": _first(r["areas"]) or f"Strengthen: {e.descriptor}",
                     "evidence_to_gather": "; ".join(gaps), "owner": owner or "to be agreed",
                     "target_date": _iso(target), "progress": progress})
    for s in fw.partnership.statements:
        r = a.partnership[a.partnership["id"] == s.id]
        if r.empty or r.iloc[0]["answer"] not in p.partnership_action_for:
            continue
        r = r.iloc[0]
        before = prev_pa.loc[s.id] if s.id in prev_pa.index else None
        owner = _first(r["owner"], before["owner"] if before is not None else None)
        target = _first(r["target_date"], before["target_date"] if before is not None else None) or default_date
        progress = "" if before is None or _first(before["answer"]) is None else \
            f"{before['answer']} then, {r['answer']} now"
        rows.append({"source": "Partnership checklist", "item": f"{s.id} {s.text}", "component": "Partnership working",
                     "rating": f"{r['answer']} {fw.partnership.choices[r['answer']]}",
                     "action": _first(r["notes"]) or "Find out where things stand and agree the next step with partners",
                     "evidence_to_gather": "", "owner": owner or "to be agreed", "target_date": _iso(target),
                     "progress": progress})
    return pd.DataFrame(rows, columns=["source", "item", "component", "rating", "action", "evidence_to_gather",
                                       "owner", "target_date", "progress"])


def _first(*values):
    """The first value that is given (not None, NaN or empty)."""
    for v in values:
        if _cell(v) is not None and not (not isinstance(v, (str, date)) and pd.isna(v)):
            return v
    return None


def _progress(before, now) -> str:
    if now is None or pd.isna(now):
        return ""
    d = int(now) - int(before)
    return f"up from {int(before)}" if d > 0 else f"down from {int(before)}" if d < 0 else f"unchanged at {int(now)}"


def _iso(d) -> str:
    if d is None or (not isinstance(d, (date, str)) and pd.isna(d)):
        return ""
    return d.isoformat() if isinstance(d, date) else str(d)[:10]


def progress(a: Assessment, previous: Assessment) -> pd.DataFrame:
    """Component scores now and at the previous assessment."""
    now, before = component_scores(a), component_scores(previous)
    m = now[["component", "title", "score"]].merge(before[["component", "score"]], on="component",
                                                   suffixes=("", "_previous"))
    # the change comes from unrounded means, not from the rounded scores shown
    m["change"] = (m["component"].map(_means(a)) - m["component"].map(_means(previous))).round(2)
    return m


def _means(a: Assessment) -> dict[str, float]:
    out = {}
    for c in frameworks().qif.components:
        r = a.elements[a.elements["id"].isin([e.id for e in c.elements])]["rating"].dropna().astype(float)
        out[c.id] = float(r.mean()) if len(r) else float("nan")
    return out


def disagreements(scores: pd.DataFrame, results: pd.DataFrame, agency_id: str) -> list[str]:
    """Where the agency rates itself strong but its data show it at risk: one sentence each."""
    p = params()
    at_risk = results[(results["agency_id"] == agency_id) & (results["status"] == "at_risk")]
    if at_risk.empty:
        return []
    from .indicators import BY_ID

    names = [BY_ID[i].title.lower() for i in at_risk["indicator"]]
    risky = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    strong = scores[scores["score"].fillna(0) >= p.strong_at_least]
    return [f"Self-rated strong on '{r.title}' ({r.score:.1f} of {max(p.rating_scale)}) while the data show the "
            f"agency at risk on {risky}." for r in strong.itertuples()]


def fill_programmatically(agency_id: str, ratings: dict[str, int], answers: dict[str, str], held: float,
                          assessment_date: str, owners: dict[str, str] | None = None) -> dict:
    """A completed assessment as YAML-ready data (used by tests and examples): every element rated."""
    t = yaml.safe_load(template_yaml(agency_id))
    t["assessment_date"] = assessment_date
    for i, e in enumerate(t["elements"]):
        e["rating"] = ratings.get(e["id"], 3)
        e["owner"] = (owners or {}).get(e["id"], "")
    for i, ev in enumerate(t["evidence"]):
        ev["held"] = "Yes" if (i % 100) < held * 100 else "No"
    for s in t["partnership"]:
        s["answer"] = answers.get(s["id"], "B")
    return t
