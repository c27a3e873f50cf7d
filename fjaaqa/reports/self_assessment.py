"""The self-assessment report and action plan: sections for the notebook, and the files ``selfassess score`` writes.

Outputs go to ``<out>/selfassessment/<agency_id>/``: ``action_plan.xlsx``
(accessible, byte-stable), ``action_plan.csv``, ``component_scores.csv`` and
``self_assessment.html|pdf`` rendered from ``notebooks/self_assessment.ipynb``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import altair as alt
import pandas as pd

from ..digests import digest, sha256_file
from ..errors import AssessmentError, RenderError
from ..render.charts import AF_CATEGORICAL, figure
from ..render.engine import run_jobs
from ..render.templating import render
from ..selfassess.frameworks import frameworks, params
from ..selfassess.plan import action_plan
from ..selfassess.reading import Assessment, read_assessment
from ..selfassess.scoring import component_scores, not_applicable, partnership_profile, progress
from ..writers import atomic_write, csv_text, write_sheet_table
from .index import ensure_index
from .registry import job, kind


@dataclass
class Scored:
    a: Assessment
    previous: Assessment | None
    scores: pd.DataFrame
    plan: pd.DataFrame
    profile: dict
    change: pd.DataFrame | None


def score_files(path: str, previous: str = "") -> Scored:
    """Read, validate and score; a file with problems raises an AssessmentError listing every problem."""
    a = read_assessment(path)
    prev = read_assessment(previous) if previous else None
    problems = a.problems + (prev.problems if prev else [])
    if problems:
        raise AssessmentError(problems, file=path)
    return Scored(a, prev, component_scores(a), action_plan(a, prev), partnership_profile(a),
                  progress(a, prev) if prev else None)


def cover(s: Scored, run_date: str) -> str:
    return render("selfassess_cover.html.j2", s=s, run_date=run_date, fw=frameworks(), p=params())


def scores(s: Scored) -> str:
    data = s.scores.dropna(subset=["score"]).assign(label=lambda d: d["score"].map(lambda v: f"{v:.2f}"))
    top = max(params().rating_scale)
    x = alt.X("score:Q", scale=alt.Scale(domain=[0, top]), title="Mean rating",
              axis=alt.Axis(values=list(range(top + 1)), format="d"))  # the scale's whole points, not 0.2 steps
    y = alt.Y("title:N", sort=list(data["title"]), title=None, axis=alt.Axis(labelLimit=260))
    bars = alt.Chart(data).mark_bar(color=AF_CATEGORICAL[0]).encode(y=y, x=x)
    values = alt.Chart(data).mark_text(align="left", dx=4, fontSize=11).encode(y=y, x=x, text="label:N")
    chart = alt.layer(bars, values).properties(width=460, height=180)
    desc = "; ".join(f"{r.title}: " + ("not applicable" if r.rated == 0 else f"{r.score:.1f}")
                     for r in s.scores.itertuples())
    fw = frameworks()
    suggested = [c for c in fw.qif.components if any(e.evidence_by == "fjaaqa" for e in c.elements)]
    return render("selfassess_scores.html.j2", s=s, chart=figure(chart, "sa-scores", "Component scores", desc + "."),
                  p=params(), fw=fw, na=not_applicable(s.a), suggested=suggested,
                  applicable=sum(s.profile.values()))


def plan(s: Scored) -> str:
    p, fw = params(), frameworks()
    answers = " or ".join(f'"{fw.partnership.choices[k].lower()}"' for k in p.partnership_action_for)
    return render("selfassess_plan.html.j2", s=s, rows=s.plan.to_dict("records"), answers=answers,
                  weakest=p.rating_scale[p.weak_at_most].lower())


def report(s: Scored, run_date: str) -> list[str]:
    return [cover(s, run_date), scores(s), plan(s)]


def plan_workbook_bytes(s: Scored) -> bytes:
    """The action plan as an accessible Excel workbook (created = the assessment date, so byte-stable)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    d = s.a.assessment_date
    wb.set_properties({"title": f"Improvement action plan, {s.a.agency_id}", "author": "fjaaqa",
                       "language": "en-GB", "created": datetime(d.year, d.month, d.day)})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    for name, df, heading in (("Action plan", s.plan, f"Improvement action plan for {s.a.agency_id}, from the "
                               f"self-assessment of {d.isoformat()} (the agency's own plan, not a DfE quality "
                               "improvement plan)"),
                              ("Component scores", s.scores, "Component scores and evidence coverage")):
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, heading, title)
        headers = [c.replace("_", " ").capitalize() for c in df.columns]
        write_sheet_table(ws, df, headers, name.replace(" ", "_"), wrap)
        for c in range(len(headers)):
            ws.set_column(c, c, 40 if c in (1, 4) else 16)
    wb.close()
    return buf.getvalue()


def write_outputs(s: Scored, out: Path, path: str, previous: str = "", pdf: bool = True,
                  run_date: str = "", force: bool = False) -> list[Path]:
    page = kind("self_assessment").output(out, agency_id=s.a.agency_id)
    folder = page.parent
    written = [atomic_write(folder / "action_plan.xlsx", plan_workbook_bytes(s)),
               atomic_write(folder / "action_plan.csv", csv_text(s.plan)),
               atomic_write(folder / "component_scores.csv", csv_text(s.scores))]
    params = {"assessment": str(Path(path).resolve()), "previous": str(Path(previous).resolve()) if previous else "",
              "run_date": run_date or s.a.assessment_date.isoformat()}
    data = digest(sha256_file(path), sha256_file(previous) if previous else "")
    result = run_jobs([job("self_assessment", params, page, {"agency": s.a.agency_id},
                           data)], pdf, force=force)
    if result.failed:
        raise RenderError(result.failed[0]["error"], file=str(page))
    written.append(page)
    ensure_index(out)  # the report links back to it
    return written
