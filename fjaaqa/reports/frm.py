"""Build providers' FRM reports: HTML and PDF from the notebook, the Excel query workbook, a listing page.

Rules run once for every provider of the return (:func:`fjaaqa.store.frm_runs.load_or_run`);
each provider's report is then presentation only, rendered by the same warm
kernels as the review packs. Outputs go to ``<out>/<year>/<return>/frm/``:
``<UKPRN>.html|.pdf|.xlsx`` per provider, the flags as CSV and JSON for all
providers, ``index.html`` listing the reports and ``manifest.json``.
"""

from __future__ import annotations

from pathlib import Path

from ..digests import sha256_file
from ..errors import InputError
from ..frm.run import FrmResult
from ..frm.run import write_outputs as write_flag_files
from ..periods import make_period
from ..render import builds
from ..render.engine import BuildSummary, run_jobs
from ..render.pages import relative_link, write_manifest, write_page
from ..store.frm_runs import load_or_run
from .frm_sections import impact_total, money
from .frm_workbook import read_notes, write_workbook
from .index import ensure_index
from .registry import job, kind


def frm_folder(out: Path, year_code: str, return_code: str) -> Path:
    return Path(out) / year_code / return_code / "frm"


def providers_to_report(res: FrmResult, ukprns: list[str] | None) -> list[str]:
    """The providers asked for, or every provider with a query (or a resolved one) in this return."""
    if ukprns:
        known = set(res.status["UKPRN"])
        unknown = sorted(set(ukprns) - known)
        if unknown:
            raise InputError(f"UKPRN {unknown[0]} has no learners in the {res.period.label} return")
        return sorted(dict.fromkeys(ukprns))
    return sorted(set(res.flags["UKPRN"]) | set(res.resolved["UKPRN"]))


def build_frm_reports(data_dir: Path, year: str, return_code: str, ukprns: list[str] | None, out: Path,
                      pdf: bool = True, workers: int = 1, run_date: str = "", notes: list[Path] | None = None,
                      results_dir: Path | None = None, progress=None,
                      force: bool = False, executor=None, engine: str = "duckdb") -> tuple[FrmResult, BuildSummary]:
    """Every requested provider's report (HTML, PDF) and workbook, plus the flag files, listing and manifest."""
    period = make_period(year, return_code)
    res = load_or_run(data_dir, year, return_code, results_dir, engine=engine)
    chosen = providers_to_report(res, ukprns)
    carried = read_notes(notes or [])
    pages = {u: kind("frm").output(out, year=period.year.code, return_code=period.return_code, ukprn=u)
             for u in chosen}
    write_flag_files(res, out)
    data_key = res.meta["key"]  # each report reads its provider's rows of this very run, by its key
    for ukprn in chosen:  # each workbook made again only when its provider's run or the carried notes changed
        book = pages[ukprn].with_suffix(".xlsx")
        key = builds.page_key("frm-workbook", data_key, ukprn, {k: str(v) for k, v in sorted(carried.items())})
        if not builds.file_fresh(book, key):
            write_workbook(res, ukprn, book, carried)
            builds.note_file(book, key)
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "run_date": run_date, "results_dir": str(results_dir) if results_dir else ""}
    jobs = [job("frm", dict(common, ukprn=u, run_key=data_key), pages[u], {"ukprn": u}, data_key)
            for u in chosen]
    summary = run_jobs(jobs, pdf, workers, progress, force, executor)
    write_frm_listing(out, res, summary, run_date or period.census.isoformat())
    ensure_index(out)  # each report links back to it
    write_frm_manifest(out, res, run_date or period.census.isoformat(), notes or [])
    return res, summary


def write_frm_listing(out: Path, res: FrmResult, summary: BuildSummary, run_date: str) -> Path:
    """``frm/index.html``: each provider's queries, funding at risk and links to its report and workbook."""
    period = res.period
    folder = frm_folder(out, period.year.code, period.return_code)
    rows = []
    for rec in sorted(summary.present, key=lambda r: r["ukprn"]):  # built now or unchanged since
        u = rec["ukprn"]
        f = res.flags[res.flags["UKPRN"] == u]
        links = [{"href": f"{u}.html", "label": "Report"}]
        if (folder / f"{u}.pdf").exists():
            links.append({"href": f"{u}.pdf", "label": "PDF"})
        links.append({"href": f"{u}.xlsx", "label": "Workbook"})
        rows.append({"ukprn": u, "queries": len(f), "new": int((f["change"] == "new").sum()),
                     "resolved": int((res.resolved["UKPRN"] == u).sum()),
                     "impact": money(impact_total(f)),  # each learner's or aim's funding once, as in the report
                     "links": links})
    return write_page(folder / "index.html", "frm_listing.html.j2",
                      title=f"Funding rules monitoring reports: {period.label}", run_date=run_date,
                      period_label=f"{period.year.label} {period.return_code}", n_queries=len(res.flags),
                      n_providers=res.flags["UKPRN"].nunique(),
                      compared=res.compared_with.label if res.compared_with else "no earlier return",
                      catalogue=res.catalogue.year, note=(res.note[0].upper() + res.note[1:] + ".") if res.note else "",
                      failed=summary.failed, rows=rows,
                      index_href=relative_link(Path(out) / "index.html", folder / "index.html"))


def write_frm_manifest(out: Path, res: FrmResult, run_date: str, notes: list[Path]) -> Path:
    """``frm/manifest.json``: versions, catalogue, inputs and output hashes (paths relative to ``out``)."""
    folder = frm_folder(out, res.period.year.code, res.period.return_code)
    return write_manifest(folder, Path(out), {
        "code_hash": res.meta.get("code_hash"),
        "period": {"year": res.period.year.label, "return": res.period.return_code},
        "catalogue": res.catalogue.year, "note": res.note,
        "compared_with": res.compared_with.label if res.compared_with else None, "run_date": run_date,
        "inputs": res.meta.get("inputs", []),
        "notes_from": [{"file": Path(n).name, "sha256": sha256_file(n)} for n in notes]})
