"""Build threshold-scenario reports: one HTML and PDF per base and alternative, plus the transitions as CSV.

Outputs go to ``<out>/<year>/<return>/scenarios/<base>__<alt>.html|.pdf``
and ``…transitions.csv``; the measurements come from the results cache, so
each alternative costs only a re-classification and the rendering.
"""

from __future__ import annotations

from pathlib import Path

from ..digests import digest
from ..periods import make_period
from ..quality import scenarios as sc
from ..quality.thresholds import load_thresholds
from ..render.engine import BuildSummary, run_jobs
from ..store.results import load_or_compute
from ..writers import atomic_write, csv_text
from .index import ensure_index
from .registry import job, kind


def _arg(name_or_file: str) -> str:
    """Threshold files are passed to the kernel as absolute paths (it may run in another folder)."""
    p = Path(name_or_file)
    return str(p.resolve()) if p.is_file() else name_or_file


def build_scenario_reports(data_dir: Path, year: str, return_code: str, base: str, alts: list[str], out: Path,
                           pdf: bool = True, run_date: str = "", workers: int = 1, force: bool = False) -> BuildSummary:
    period = make_period(year, return_code)
    b = load_thresholds(base)
    pr = load_or_compute(data_dir, year, return_code, b)
    base_res = sc.classify(pr, b)
    jobs = []
    for alt in alts:
        a = load_thresholds(alt)
        page = kind("scenarios").output(out, year=period.year.code, return_code=period.return_code, base=b.name,
                                        alt=a.name)
        trans = sc.transitions(base_res, sc.classify(pr, a))
        atomic_write(page.with_suffix(".transitions.csv"), csv_text(trans))
        params = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
                  "base": _arg(base), "alt": _arg(alt), "run_date": run_date, "results_dir": ""}
        jobs.append(job("scenarios", params, page, {"alt": a.name},
                        digest(pr.meta["key"], b.hash, a.hash)))
    summary = run_jobs(jobs, pdf, workers, force=force)
    ensure_index(out)  # each report links back to it
    return summary
