"""Review packs: one per agency and audience, from results computed once for every agency; and what goes beside them.

Results come from :func:`fjaaqa.store.results.load_or_compute`; each pack is
then only presentation, rendered by the engine from ``review_pack.ipynb``.
Beside the packs a batch writes the DfE version's restricted case workbook
per agency (learner references and ULNs never go into a pack), the run's
method and provenance page that every DfE pack links to, and the account
manager's worklist: every agency's values, statuses, suggested
interventions and previous review, most serious first, each linking to its
DfE pack.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..quality.indicators import INDICATORS
from ..quality.results import PackResults
from ..render import builds
from ..render.engine import BuildSummary, run_jobs
from ..render.pages import relative_link, write_page
from ..store.results import load_or_compute
from ..writers import atomic_write, csv_text, write_sheet_table
from .pack_sections import (
    FAILING,
    case_tables,
    headline_rows,
    methodology,
    pack_digests,
    pack_params,
    previous_review,
    suggestions,
)
from .registry import REGISTRY, job

STATUS_ORDER = {"at_risk": 0, "needs_improvement": 1, "for_discussion": 2, "on_track": 3, "no_data": 4}


def pack_path(out: Path, year_code: str, return_code: str, audience: str, agency_id: str, ext: str = "html") -> Path:
    """Where one agency's pack goes (``ext`` html or pdf)."""
    html = REGISTRY["pack"].output(out, year=year_code, return_code=return_code, audience=audience,
                                   agency_id=agency_id)
    return html.with_suffix(f".{ext}")


def cases_path(out: Path, pr: PackResults, agency_id: str, ext: str = "xlsx") -> Path:
    """The DfE version's restricted case workbook (or CSV), beside the DfE pack."""
    return pack_path(out, pr.period.year.code, pr.period.return_code, "dfe", agency_id).with_name(
        f"{agency_id}-cases-restricted.{ext}")


def build_packs(data_dir: Path, year: str, return_code: str, agencies: list[str] | None, audiences: list[str],
                thresholds: str, out: Path, pdf: bool = True, workers: int = 1, run_date: str = "",
                results_dir: Path | None = None, progress=None, force: bool = False, executor=None) -> BuildSummary:
    """Build every requested pack whose inputs changed (all of them with ``force``); compute once, render many."""
    if Path(str(thresholds)).is_file():  # the kernel may run in another folder: pass files absolute
        thresholds = str(Path(str(thresholds)).resolve())
    pr = load_or_compute(data_dir, year, return_code, thresholds, results_dir)
    known = list(pr.agencies["agency_id"])
    if agencies:
        unknown = [a for a in agencies if a not in known]
        if unknown:
            raise InputError(f"agency '{unknown[0]}' is not on the register for {pr.meta['year']} {pr.meta['return']}")
    period = pr.period
    chosen = agencies or known
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "thresholds": str(thresholds), "run_date": run_date,
              "results_dir": str(results_dir) if results_dir else ""}
    digests = pack_digests(pr, chosen, audiences)
    if "dfe" in audiences:
        write_methodology(out, pr)
        for a in chosen:
            write_case_workbook(out, pr, a, digests[(a, "dfe")])
    jobs = [job("pack", dict(common, agency_id=a, audience=aud),
                pack_path(out, period.year.code, period.return_code, aud, a), {"agency_id": a, "audience": aud},
                digests[(a, aud)])
            for aud in audiences for a in chosen]
    # The manifest vouches for a finished run: none while outputs are being rebuilt (or were cut short).
    summary = run_jobs(jobs, pdf, workers, progress, force, executor,
                       before_work=lambda: (Path(out) / "manifest.json").unlink(missing_ok=True))
    write_worklist(out, pr)
    return summary


# ------------------------------------------------------------------ the restricted case workbook

def case_workbook_bytes(pr: PackResults, agency_id: str, tables: list[tuple[str, pd.DataFrame]]) -> bytes:
    """The case lists as an Excel workbook marked restricted (byte-stable: created = the census date)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    census = pr.period.census
    agency = pr.agencies.loc[pr.agencies["agency_id"] == agency_id, "agency_name"].iloc[0]
    wb.set_properties({"title": f"Restricted case list, {agency_id}, {pr.meta['year']} {pr.meta['return']}",
                       "author": "fjaaqa", "language": "en-GB", "keywords": "RESTRICTED",
                       "created": datetime(census.year, census.month, census.day)})
    bold = wb.add_format({"bold": True, "font_size": 14})
    red = wb.add_format({"bold": True, "font_color": "#ca3535"})
    about = wb.add_worksheet("About")
    lines = [(f"Restricted case list: {agency} ({agency_id}), {pr.meta['year']} {pr.meta['return']}", bold),
             ("RESTRICTED: learner references and ULNs. Share only with those who must act on these records; "
              "never send it to the agency with its pack.", red),
             ("The apprentices behind each indicator that is not on track, and the funding rules monitoring "
              "queries on the agency's apprentices. One sheet each:", None)]
    lines += [(f"{title}: {len(df)} rows", None) for title, df in tables]
    for i, (text, fmt) in enumerate(lines):
        about.write_string(i, 0, text, fmt) if fmt else about.write_string(i, 0, text)
    about.set_column(0, 0, 110)
    for title, df in tables:
        name = title[:31].replace("/", " ")
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, f"{title} (restricted)", bold)
        headers = list(df.columns)
        write_sheet_table(ws, df, headers, "".join(ch for ch in title.title() if ch.isalnum())[:30] or "Cases")
        for c, h in enumerate(headers):
            ws.set_column(c, c, 42 if h in ("Why it is flagged", "Report", "Training provider", "Standard") else 16)
    wb.close()
    return buf.getvalue()


def write_case_workbook(out: Path, pr: PackResults, agency_id: str, data_key: str) -> Path | None:
    """Write (or remove) an agency's restricted case workbook and CSV; made again only when its data changed."""
    book, csv = cases_path(out, pr, agency_id), cases_path(out, pr, agency_id, "csv")
    key = builds.page_key("case-workbook", data_key)
    if builds.file_fresh(book, key) and csv.is_file():
        return book
    tables = case_tables(pr, agency_id)
    if not tables:  # nothing failing, no query: no case list (and none left over from an earlier run)
        for p in (book, csv):
            p.unlink(missing_ok=True)
            builds.file_record(p).unlink(missing_ok=True)
        return None
    atomic_write(book, case_workbook_bytes(pr, agency_id, tables), private=True)
    long = pd.concat([df.assign(**{"Case list": title}) for title, df in tables], ignore_index=True)
    atomic_write(csv, csv_text(long[["Case list"] + [c for c in long.columns if c != "Case list"]]), private=True)
    builds.note_file(book, key)
    return book


# ------------------------------------------------------------------ the run's method and provenance page

def methodology_path(out: Path, pr: PackResults) -> Path:
    return Path(out) / pr.period.year.code / pr.period.return_code / "methodology.html"


def write_methodology(out: Path, pr: PackResults) -> Path:
    """One page per run with the definitions, thresholds, readings, data reconciliation and input hashes."""
    target = methodology_path(out, pr)
    key = builds.page_key("methodology", pr.meta["key"])
    if not builds.file_fresh(target, key):
        write_page(target, "methodology.html.j2", title=f"Method and provenance: {pr.meta['year']} {pr.meta['return']}",
                   run_date=pr.meta["census"], m=methodology(pr))
        builds.note_file(target, key)
    return target


# ------------------------------------------------------------------ the account manager's worklist

def worklist_path(out: Path, pr: PackResults) -> Path:
    return Path(out) / pr.period.year.code / pr.period.return_code / "worklist.html"


def worklist_rows(pr: PackResults, out: Path) -> list[dict]:
    """One row per agency: values and statuses, interventions as short codes, the previous review; worst first."""
    target = worklist_path(out, pr)
    p = pack_params()
    levels = list(p["intervention_codes"])
    rows = []
    for a in pr.agencies.itertuples():
        heads = headline_rows(pr, a.agency_id)
        sugg = suggestions(pr, a.agency_id)
        statuses = [h["r"]["status"] for h in heads]
        top = max((levels.index(s["id"]) for s in sugg), default=0)
        prev = previous_review(pr, a.agency_id)
        rows.append({
            "sort": (min(STATUS_ORDER[s] for s in statuses), -statuses.count("at_risk"), a.agency_id),
            "agency_id": a.agency_id, "agency_name": str(a.agency_name),
            "href": relative_link(pack_path(out, pr.period.year.code, pr.period.return_code, "dfe", a.agency_id),
                                  target),
            "cells": [{"status": h["r"]["status"], "order": STATUS_ORDER[h["r"]["status"]], "value": h["value"],
                       "direction": h["direction"] if h["r"]["status"] in FAILING else ""} for h in heads],
            "codes": [{"code": p["intervention_codes"][s["id"]], "name": s["name"], "scope": s["scope"]}
                      for s in sugg], "code_order": 9 - top,
            "previous": prev, "previous_order": prev["date"] if prev else "",
        })
    return sorted(rows, key=lambda r: r["sort"])


def write_worklist(out: Path, pr: PackResults) -> Path:
    """The account manager's worklist (DfE only), made again only when the results or the rules changed."""
    target = worklist_path(out, pr)
    key = builds.page_key("worklist", pr.meta["key"])  # every agency's results, the review rules, the code
    if builds.file_fresh(target, key):
        return target
    p = pack_params()
    heads = ["Agency"] + [i.title for i in INDICATORS] + ["Suggested (advisory)", "Previous review"]
    label = f"{pr.period.year.label} {pr.period.return_code}"
    write_page(target, "worklist.html.j2", title=f"Account manager's worklist: {label}", run_date="",
               period_label=label, headings=heads, rows=worklist_rows(pr, out),
               legend=[(code, p["intervention_names"][k]) for k, code in p["intervention_codes"].items()],
               last_year=f"{pr.period.year.previous().label} {pr.period.return_code}",
               methodology=relative_link(methodology_path(out, pr), target))
    builds.note_file(target, key)
    return target
