"""Write the periodic quality summary's deliverables: open data (EES CSV + meta), an Excel workbook, the report.

Everything goes under ``<out>/<year>/<return>/summary/``: ``data/`` holds
the open data files, ``fjaa_quality_summary.xlsx`` the same tables for
spreadsheet users (XlsxWriter, to the Analysis Function spreadsheet guidance: cover, contents, notes), and
``quality_summary.html|pdf`` the report rendered from the notebook.
"""

from __future__ import annotations

from pathlib import Path

from ..digests import digest
from ..errors import RenderError
from ..publication.ees import screen
from ..publication.release import workbook_bytes, write_open_data
from ..publication.summary import Summary, release_of
from ..render.engine import run_jobs
from ..writers import atomic_write
from .index import ensure_index
from .registry import job


def summary_folder(out: Path, s: Summary) -> Path:
    return Path(out) / s.pr.period.year.code / s.pr.period.return_code / "summary"


def build_summary(data_dir: Path, year: str, return_code: str, thresholds: str, out: Path, pdf: bool = True,
                  run_date: str = "", results_dir: Path | None = None, check: bool = False, force: bool = False):
    """Open data, workbook and the report for one period; returns (summary, written files, screener checks)."""
    from .summary_sections import load

    s = load(str(data_dir), year, return_code, thresholds, str(results_dir) if results_dir else None)
    release = release_of(s.pr, s.params)
    run_date = run_date or (release.release.isoformat() if release else "")  # the release date, never the census
    folder = summary_folder(out, s)
    written = write_open_data(s, folder / "data")
    written.append(atomic_write(folder / "fjaa_quality_summary.xlsx", workbook_bytes(s)))
    params = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "thresholds": thresholds, "run_date": run_date, "results_dir": str(results_dir) if results_dir else ""}
    data = digest(s.pr.meta["key"], s.previous.meta["key"] if s.previous else "",
                  s.in_year.meta["key"] if s.in_year else "")
    result = run_jobs([job("summary", params, folder / "quality_summary.html", {"summary": f"{year} {return_code}"},
                           data)], pdf, force=force)
    if result.failed:
        raise RenderError(result.failed[0]["error"], file=str(folder / "quality_summary.html"))
    ensure_index(out)  # the report links back to it
    checks = screen(folder / "data") if check else []
    return s, written, checks

