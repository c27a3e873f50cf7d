"""``fjaaqa demo``: the synthetic dataset and every output, in one go.

The demo is what a new user runs first (``make demo``). It writes the
synthetic data under ``data/synthetic`` (git-ignored) and the outputs under
``outputs/``, shows a progress bar on stderr and ends with a summary.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .frm_reports import build_frm_reports
from .publish import build_summary
from .scenario_reports import build_scenario_reports
from .indicators import INDICATORS, STATUS_LABELS, STATUSES
from .params import load_thresholds
from .paths import repo_path
from .cache import load_or_compute
from .synth import PERIODS, REVIEW_PERIODS, write_dataset
from .synth_frm import R06 as FRM_R06
from .synth_frm import R14 as FRM_R14

FRM_PERIODS = [FRM_R06, FRM_R14]  # the FRM catalogue's own year
from .writers import atomic_write, csv_text, indicators_csv, indicators_json


def write_indicator_outputs(res, out: Path) -> Path:
    """indicators.json/.csv and breakdowns.csv for one period."""
    folder = out / res.period.year.code / res.period.return_code / "indicators"
    atomic_write(folder / "indicators.json", indicators_json(res.results))
    atomic_write(folder / "indicators.csv", indicators_csv(res.results))
    cols = ["agency_id", "indicator", "dimension", "group", "numerator", "denominator", "value", "status"]
    atomic_write(folder / "breakdowns.csv", csv_text(res.breakdowns, cols))
    return folder


def synth_stamp(data: Path) -> Path:
    return data / ".synth.json"


def ensure_synthetic(data: Path, progress=None) -> bool:
    """Write the synthetic dataset unless the same code already wrote it there; True when written.

    The generator is deterministic, so a dataset stamped with the current
    code hash is what it would write again. Skipping it keeps a second
    ``make demo`` quick; a user's own edits to the data are kept (and only
    the outputs they change are rebuilt).
    """
    from .cache import code_hash

    want = {"code_hash": code_hash(), "periods": [str(p) for p in PERIODS]}
    try:
        if json.loads(synth_stamp(data).read_text(encoding="utf-8")) == want:
            return False
    except (OSError, ValueError):
        pass
    write_dataset(data, progress=progress)
    atomic_write(synth_stamp(data), json.dumps(want, sort_keys=True) + "\n")
    return True


def run_demo(out: Path | None = None, data: Path | None = None, console: Console | None = None,
             workers: int = 2, force: bool = False) -> dict:
    """Generate the data, validate it, compute every period's indicators, build every output.

    Each step reuses what an earlier run left when its inputs are unchanged
    (the results caches and each output's build key), so a second run with
    nothing changed rebuilds nothing; ``force`` rebuilds every output.
    """
    console = console or Console(stderr=True)
    out = Path(out or repo_path("outputs"))
    data = Path(data or repo_path("data", "synthetic"))
    t = load_thresholds()
    timings = {}
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("Synthetic data", total=len(PERIODS))
        if not ensure_synthetic(data, progress=lambda p: bar.advance(task)):
            bar.update(task, completed=len(PERIODS))
        timings["synth"] = time.perf_counter() - started

        task = bar.add_task("Indicators", total=len(REVIEW_PERIODS))
        results = {}
        t0 = time.perf_counter()
        for period in REVIEW_PERIODS:  # each from the results cache, or computed and cached
            results[period] = load_or_compute(data, period.year.code, period.return_code, t)
            write_indicator_outputs(results[period], out)
            bar.advance(task)
        latest = results[REVIEW_PERIODS[-1]]  # read up to the latest return: every input row
        atomic_write(out / "validation" / "rejected.csv", csv_text(latest.rejected))
        atomic_write(out / "validation" / "reconciliation.csv", csv_text(latest.reconciliation))
        timings["indicators"] = time.perf_counter() - t0

    from .cli import _build_packs

    # Funding rules monitoring for the catalogue's own year: each provider's report and workbook.
    t0 = time.perf_counter()
    frm_results = {}
    for period in FRM_PERIODS:
        frm_results[period], _ = build_frm_reports(data, period.year.code, period.return_code, None, out, True,
                                                   workers, force=force)
    timings["frm"] = time.perf_counter() - t0

    # The policy comparison and the periodic summary (before the packs, so the index lists them).
    t0 = time.perf_counter()
    latest_period = REVIEW_PERIODS[-1]
    build_scenario_reports(data, latest_period.year.code, latest_period.return_code, t.name,
                           ["atpaf-2024-04", "cumulative-bands", "stricter-achievement"], out, True, "", workers,
                           force=force)
    summary, _, checks = build_summary(data, latest_period.year.code, latest_period.return_code, t.name, out,
                                       True, check=True, force=force)
    timings["scenarios_summary"] = time.perf_counter() - t0

    # Each self-assessing agency's scored report and action plan.
    from .self_assessment_report import score_files
    from .self_assessment_report import write_outputs as write_self_assessment

    for f in sorted((data / "selfassessment").glob("*.yaml")):
        write_self_assessment(score_files(str(f)), out, str(f), "", True, force=force)

    t0 = time.perf_counter()
    packs = _build_packs(data, latest_period, None, ["dfe", "agency"], t.name, out, True, workers, "", console,
                         force=force)
    timings["packs"] = time.perf_counter() - t0

    table = Table(title=f"Agencies by status, {latest.period.label} ({t.name})")
    table.add_column("indicator")
    for s in STATUSES:
        table.add_column(STATUS_LABELS[s], justify="right")
    for ind in INDICATORS:
        r = latest.results[latest.results["indicator"] == ind.id]
        table.add_row(ind.title, *[str(int((r["status"] == s).sum())) for s in STATUSES])
    console.print(table)
    console.print(
        f"{len(latest.agencies)} agencies; {int(latest.apprentices['live'].astype(bool).sum())} apprentices live in "
        f"{latest.period.year.label}; {len(latest.rejected)} rows quarantined. "
        f"Data: {data}  Outputs: {out}  "
        f"({timings['synth']:.1f}s synth, {timings['indicators']:.1f}s load and indicators, "
        f"{timings['frm']:.1f}s FRM, {timings['scenarios_summary']:.1f}s scenarios and summary, "
        f"{timings['packs']:.1f}s for {len(packs.built)} packs built, {len(packs.unchanged)} unchanged; "
        f"{time.perf_counter() - started:.1f}s in all)"
    )
    failed = [c.name for c in checks if not c.passed]
    console.print(f"Quality summary {latest_period.label}: open data screener "
                  + ("all checks PASS." if not failed else f"FAIL on {', '.join(failed)}."))
    f = frm_results[FRM_PERIODS[-1]]
    console.print(f"Funding rules monitoring {f.period.label}: {len(f.flags)} flagged rows at "
                  f"{f.flags['UKPRN'].nunique()} providers, {len(f.resolved)} resolved since "
                  f"{f.compared_with.label if f.compared_with else '(nothing earlier)'}.")
    return {"results": results, "timings": timings, "packs": packs, "frm": frm_results, "summary": summary,
            "checks": checks}
