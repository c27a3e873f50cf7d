"""A blank self-assessment: an accessible Excel workbook with drop-downs, or the same as YAML.

The workbook is byte-stable (XlsxWriter, a fixed creation date), so the
same agency gets the same file every time.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import yaml

from .frameworks import DETAILS, ELEMENT_COLUMNS, EVIDENCE_COLUMNS, LISTED_BY, PARTNERSHIP_COLUMNS, frameworks, params
from .reading import cell_value


def template_tables(agency_id: str) -> dict[str, pd.DataFrame]:
    """The blank tables of a template: elements, evidence, partnership checklist, details."""
    fw = frameworks()
    elements = pd.DataFrame([[c.title, e.id, e.title, e.descriptor, None, "", "", "", None]
                             for c, e in fw.qif.elements()], columns=ELEMENT_COLUMNS)
    evidence = pd.DataFrame([[e.id, ev, None, LISTED_BY[e.evidence_by]] for _, e in fw.qif.elements()
                             for ev in e.evidence], columns=EVIDENCE_COLUMNS)
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
    choices = "; ".join(f"{k} {v.lower()}" for k, v in fw.partnership.choices.items())
    spellings = ", ".join(f"'{s}'" for s in p.not_applicable)
    lines = [
        ("What this is", "Your own review of your service against the IEP Quality Improvement Framework and a "
                         "partnership-working checklist. fjaaqa scores it and writes an improvement action plan that "
                         "belongs to you; it is not a DfE quality improvement plan."),
        ("Details sheet", "Check your agency ID and enter the assessment date (YYYY-MM-DD)."),
        ("Elements sheet", f"Rate each element with the drop-down ({scale}), or {p.na} where it does not apply to "
                           "your service (for example component 5 if you run no group sessions). Add strengths, "
                           "areas for improvement, an owner and a target date where you plan action."),
        ("Evidence sheet", "For each type of evidence, choose Yes if you hold it, No if you do not. 'Listed by' "
                           "says whose list it is: component 5's evidence types are fjaaqa's suggestions, as the "
                           "framework lists none for it."),
        ("Partnership sheet", f"For each statement choose {choices}, or {p.na} where it does not fit your agency "
                              "(for example the 14-19 partnership statements); add an owner and a date for those "
                              "you will act on."),
        ("Not applicable", f"{p.na} (also written {spellings}, in any capitals) leaves the element or statement out "
                           "of every score and share, and out of the action plan; the report lists it."),
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
                    ws.write_blank(r, c, None, fmt) if cell_value(v) is None else ws.write_string(r, c, str(v), fmt)
                elif cell_value(v) is not None:
                    ws.write_string(r, c, str(v), wrap)
        for col, rule in inputs.items():
            c = list(df.columns).index(col)
            ws.data_validation(first + 1, c, first + len(df), c, rule)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.freeze_panes(first + 1, 0)

    date_rule = {"validate": "date", "criteria": "between", "minimum": date(2015, 1, 1), "maximum": date(2040, 12, 31),
                 "error_message": "Enter a date as YYYY-MM-DD."}
    ratings = [str(k) for k in p.rating_scale] + [p.na]
    sheet("Details", tables["Details"], "Assessment details", [20, 30], {"Value": {"validate": "any"}})
    sheet("Elements", tables["Elements"], "IEP Quality Improvement Framework: elements", [26, 10, 34, 60, 9, 30, 30,
                                                                                            16, 12],
          {"Rating": {"validate": "list", "source": ratings, "input_message": f"{scale}; {p.na} not applicable"[:255]},
           "Strengths": {"validate": "any"}, "Areas for improvement": {"validate": "any"},
           "Owner": {"validate": "any"}, "Target date": date_rule})
    sheet("Evidence", tables["Evidence"], "Evidence held", [10, 60, 8, 30],
          {"Held": {"validate": "list", "source": ["Yes", "No"]}})
    sheet("Partnership", tables["Partnership"], "Partnership working checklist", [6, 70, 9, 16, 12, 30],
          {"Answer": {"validate": "list", "source": list(fw.partnership.choices) + [p.na],
                      "input_message": f"{choices}; {p.na} not applicable"[:255]},
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
           "evidence": [{"element": r["Element ID"], "evidence": r["Evidence"], "listed_by": r["Listed by"],
                         "held": None} for r in t["Evidence"].to_dict("records")],
           "partnership": [{"id": r["ID"], "statement": r["Statement"], "answer": None, "owner": "",
                            "target_date": None, "notes": ""} for r in t["Partnership"].to_dict("records")]}
    p, fw = params(), frameworks()
    head = (f"# Self-assessment for {agency_id}. rating: {', '.join(str(k) for k in p.rating_scale)} "
            f"({'; '.join(f'{k} {v}' for k, v in p.rating_scale.items())}) or {p.na};\n"
            f"# answer: {', '.join(fw.partnership.choices)} or {p.na}; held: 'Yes' or 'No'. {p.na} (not applicable) "
            "counts in no score and makes no action.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


# ------------------------------------------------------------------ reading and validating


def fill_programmatically(agency_id: str, ratings: dict[str, int], answers: dict[str, str], held: float,
                          assessment_date: str, owners: dict[str, str] | None = None) -> dict:
    """A completed assessment as YAML-ready data (used by tests and examples): every element rated."""
    t = yaml.safe_load(template_yaml(agency_id))
    t["assessment_date"] = assessment_date
    for _, e in enumerate(t["elements"]):
        e["rating"] = ratings.get(e["id"], 3)
        e["owner"] = (owners or {}).get(e["id"], "")
    for i, ev in enumerate(t["evidence"]):
        ev["held"] = "Yes" if (i % 100) < held * 100 else "No"
    for s in t["partnership"]:
        s["answer"] = answers.get(s["id"], "B")
    return t
