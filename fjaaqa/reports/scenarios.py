"""Build threshold-scenario reports: one overview of every alternative, then one report per alternative.

A policy analyst reads the overview first (``<out>/<year>/<return>/scenarios/overview/<base>.html|.pdf``,
with its counts as ``<base>.csv``): a headline per alternative and the
agencies and apprentices by status under every set. Each alternative then
has its detail (``…/scenarios/<base>__<alt>.html|.pdf`` and
``…transitions.csv``). The measurements come from the results cache, so
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
    """The overview and one report per alternative (an alternative given twice, by name or file, counts once)."""
    period = make_period(year, return_code)
    b = load_thresholds(base)
    pr = load_or_compute(data_dir, year, return_code, b)
    base_res = sc.classify(pr, b)
    sets, args = [], []
    for alt in alts:
        a = load_thresholds(alt)
        if a.name not in {s.name for s in sets}:
            sets.append(a)
            args.append(_arg(alt))
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "base": _arg(base), "run_date": run_date, "results_dir": ""}
    fields = {"year": period.year.code, "return_code": period.return_code, "base": b.name}
    results = {a.name: sc.classify(pr, a) for a in sets}

    page = kind("scenario_overview").output(out, **fields)
    atomic_write(page.with_suffix(".csv"), csv_text(sc.overview(b.name, base_res, results)))
    jobs = [job("scenario_overview", {**common, "alts": args}, page, {"alt": "overview"},
                digest(pr.meta["key"], b.hash, *[a.hash for a in sets]))]
    for a, arg in zip(sets, args):
        page = kind("scenarios").output(out, **fields, alt=a.name)
        atomic_write(page.with_suffix(".transitions.csv"), csv_text(sc.transitions(base_res, results[a.name])))
        jobs.append(job("scenarios", {**common, "alt": arg}, page, {"alt": a.name},
                        digest(pr.meta["key"], b.hash, a.hash)))
    summary = run_jobs(jobs, pdf, workers, force=force)
    ensure_index(out)  # each report links back to it
    return summary
