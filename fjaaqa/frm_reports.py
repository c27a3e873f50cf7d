"""Build providers' FRM reports: HTML and PDF from the notebook, the Excel query workbook, a listing page.

Rules run once for every provider of the return (:func:`fjaaqa.frm_cache.load_or_run`);
each provider's report is then presentation only, rendered by the same warm
kernels as the review packs. Outputs go to ``<out>/<year>/<return>/frm/``:
``<UKPRN>.html|.pdf|.xlsx`` per provider, the flags as CSV and JSON for all
providers, ``index.html`` listing the reports and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path

from . import __version__, builds
from .errors import InputError
from .frm import FrmResult
from .frm import write_outputs as write_flag_files
from .frm_cache import load_or_run
from .frm_sections import impact_total, money
from .frm_workbook import read_notes, write_workbook
from .packs import NOTEBOOK_CACHE, BuildSummary, RenderJob, _page, _versions, run_jobs
from .paths import repo_path
from .periods import make_period
from .writers import atomic_write

NOTEBOOK = repo_path("notebooks", "frm_report.ipynb")


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
                      force: bool = False, executor=None) -> tuple[FrmResult, BuildSummary]:
    """Every requested provider's report (HTML, PDF) and workbook, plus the flag files, listing and manifest."""
    period = make_period(year, return_code)
    res = load_or_run(data_dir, year, return_code, results_dir)
    chosen = providers_to_report(res, ukprns)
    carried = read_notes(notes or [])
    folder = frm_folder(out, period.year.code, period.return_code)
    write_flag_files(res, out)
    data_key = res.meta["key"]  # each report reads its provider's rows of this very run, by its key
    for ukprn in chosen:  # each workbook made again only when its provider's run or the carried notes changed
        book = folder / f"{ukprn}.xlsx"
        key = builds.page_key("frm-workbook", data_key, ukprn, {k: str(v) for k, v in sorted(carried.items())})
        if not builds.file_fresh(book, key):
            write_workbook(res, ukprn, book, carried)
            builds.note_file(book, key)
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "run_date": run_date, "results_dir": str(results_dir) if results_dir else ""}
    jobs = [RenderJob(NOTEBOOK, dict(common, ukprn=u, run_key=data_key), folder / f"{u}.html", {"ukprn": u},
                      NOTEBOOK_CACHE / period.year.code / period.return_code / "frm" / f"{u}.ipynb",
                      builds.render_key(NOTEBOOK, dict(common, ukprn=u), data_key))
            for u in chosen]
    summary = run_jobs(jobs, pdf, workers, progress, force, executor)
    write_frm_index(out, res, summary, run_date or period.census.isoformat())
    write_frm_manifest(out, res, run_date or period.census.isoformat(), notes or [])
    return res, summary


def write_frm_index(out: Path, res: FrmResult, summary: BuildSummary, run_date: str) -> Path:
    """``frm/index.html``: each provider's queries, funding at risk and links to its report and workbook."""
    period = res.period
    folder = frm_folder(out, period.year.code, period.return_code)
    rows = []
    for rec in sorted(summary.present, key=lambda r: r["ukprn"]):  # built now or unchanged since
        u = rec["ukprn"]
        f = res.flags[res.flags["UKPRN"] == u]
        impact = impact_total(f)  # each learner's or aim's funding once, as in the report
        links = [f'<a href="{u}.html">Report</a>']
        if (folder / f"{u}.pdf").exists():
            links.append(f'<a href="{u}.pdf">PDF</a>')
        links.append(f'<a href="{u}.xlsx">Workbook</a>')
        rows.append(f'<tr><th scope="row">{html.escape(u)}</th><td class="num">{len(f):,}</td>'
                    f'<td class="num">{int((f["change"] == "new").sum()):,}</td>'
                    f'<td class="num">{int((res.resolved["UKPRN"] == u).sum()):,}</td>'
                    f'<td class="num">{money(impact)}</td>'
                    f'<td>{" · ".join(links)}</td></tr>')
    failed = "".join(f"<li>{html.escape(r['ukprn'])}: {html.escape(r['error'])}</li>" for r in summary.failed)
    note = f'<p class="notice">{html.escape(res.note[0].upper() + res.note[1:])}.</p>' if res.note else ""
    compared = res.compared_with.label if res.compared_with else "no earlier return"
    page = _page(f"Funding rules monitoring reports: {period.label}", f"""<main id="main" class="page wide">
<p class="caption">fjaaqa {__version__}</p>
<h1>Funding rules monitoring reports, {period.year.label} {period.return_code}</h1>
<p class="lede">{len(res.flags):,} queries across {res.flags['UKPRN'].nunique():,} providers, compared with
 {html.escape(compared)}; rule catalogue {html.escape(res.catalogue.year)}.</p>
{note}
<p class="notice notice--restricted">Reports and workbooks list learner references: send each provider only its own.</p>
{'<div class="notice notice--restricted" role="alert"><h2>Reports that failed</h2><ul>' + failed + '</ul></div>' if failed else ''}
<table class="table index">
<caption>Providers with queries, {period.label}</caption>
<thead><tr><th scope="col">UKPRN</th><th scope="col" class="num">Queries</th><th scope="col" class="num">New</th>
<th scope="col" class="num">Resolved</th><th scope="col" class="num">Funding impact</th><th scope="col">Outputs</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<p class="muted">All providers' rows: <a href="frm_flags.csv">frm_flags.csv</a>, <a href="frm_flags.json">frm_flags.json</a>,
 <a href="frm_status.csv">frm_status.csv</a>, <a href="frm_resolved.csv">frm_resolved.csv</a>;
 <a href="manifest.json">manifest.json</a>.</p>
</main>""", run_date=run_date)
    return atomic_write(folder / "index.html", page)


def write_frm_manifest(out: Path, res: FrmResult, run_date: str, notes: list[Path]) -> Path:
    """``frm/manifest.json``: versions, catalogue, inputs and output hashes (paths relative to ``out``)."""
    folder = frm_folder(out, res.period.year.code, res.period.return_code)
    outputs = [{"path": p.relative_to(out).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "bytes": p.stat().st_size}
               for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"
               and not p.name.startswith(".")]
    doc = {"fjaaqa": __version__, "versions": _versions(), "code_hash": res.meta.get("code_hash"),
           "period": {"year": res.period.year.label, "return": res.period.return_code},
           "catalogue": res.catalogue.year, "note": res.note,
           "compared_with": res.compared_with.label if res.compared_with else None, "run_date": run_date,
           "inputs": res.meta.get("inputs", []),
           "notes_from": [{"file": Path(n).name, "sha256": hashlib.sha256(Path(n).read_bytes()).hexdigest()}
                          for n in notes],
           "outputs": outputs, "builds": builds.keys_under(folder, out)}
    return atomic_write(folder / "manifest.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
