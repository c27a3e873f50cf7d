"""Multi-step runs: the demo, a batch of packs with its index and manifest, national FRM by parts.

The command line parses options and prints; the steps it strings together
live here, so a notebook, a benchmark or a test can run them the same way.
Progress goes to a callback (the CLI's bar on stderr); nothing here prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .digests import code_hash
from .inputs import kept_checks
from .inputs.sources import load_dataset
from .inputs.views import check_engine, connect
from .paths import default_data, default_out
from .periods import Period, make_period
from .quality.results import Results, compute, indicators_csv, indicators_json
from .quality.thresholds import ThresholdSet, load_thresholds
from .render.engine import BuildSummary
from .render.pages import write_manifest
from .reports.frm import build_frm_reports
from .reports.index import write_index
from .reports.pack import build_packs
from .reports.scenarios import build_scenario_reports
from .reports.self_assessment import score_files
from .reports.self_assessment import write_outputs as write_self_assessment
from .reports.summary import build_summary
from .store.results import load_or_compute
from .synth.demo import PERIODS, REVIEW_PERIODS, write_dataset
from .synth.frm import R06 as FRM_R06
from .synth.frm import R14 as FRM_R14
from .writers import atomic_write, csv_text

FRM_PERIODS = [FRM_R06, FRM_R14]  # the FRM catalogue's own year
DEMO_SCENARIOS = ["atpaf-2024-04", "cumulative-bands", "stricter-achievement"]


def no_progress(*_args, **_kwargs) -> None:
    """The progress callback when nobody is watching."""


# ------------------------------------------------------------------ indicators

@dataclass
class IndicatorRun:
    """One period's per-agency results, as the SQL engine gives them (what ``fjaaqa indicators`` prints).

    The pandas engine gives the whole :class:`Results` (breakdowns,
    apprentices, case lists), which the packs and summaries read; both have
    ``period``, ``thresholds`` and ``results``.
    """

    period: Period
    thresholds: ThresholdSet
    results: pd.DataFrame


def compute_indicators(data: Path, year: str, return_code: str, thresholds: str,
                       engine: str = "duckdb") -> tuple[Results | IndicatorRun, int]:
    """Every agency's indicators for one period, straight from the data (no cache); and how many rows were rejected.

    ``engine`` duckdb runs the indicators as SQL over the data's views
    (:mod:`fjaaqa.quality.sql_indicators`); pandas runs the reference path,
    which also keeps the breakdowns and case lists. Both give the same
    ``results``, row for row.
    """
    period = make_period(year, return_code)
    t = load_thresholds(thresholds)
    if check_engine(engine) == "pandas":
        ds = load_dataset(data, up_to=period)
        return compute(ds, period, t), len(ds.rejected)
    from .inputs.sql_load import open_dataset
    from .quality.sql_indicators import FAM_TYPES, indicator_results_sql

    con = connect()
    try:
        loaded = open_dataset(con, Path(data), up_to=period, kept=kept_checks.default_folder(), fams=FAM_TYPES)
        rejected = len(loaded.rejected)
        results = indicator_results_sql(con, period, t, absent=loaded.absent, data_dir=Path(data))
    finally:
        con.close()
    return IndicatorRun(period, t, results), rejected


def write_indicator_outputs(res, out: Path) -> Path:
    """indicators.json/.csv and breakdowns.csv for one period."""
    folder = out / res.period.year.code / res.period.return_code / "indicators"
    atomic_write(folder / "indicators.json", indicators_json(res.results))
    atomic_write(folder / "indicators.csv", indicators_csv(res.results))
    cols = ["agency_id", "indicator", "dimension", "group", "numerator", "denominator", "value", "status"]
    atomic_write(folder / "breakdowns.csv", csv_text(res.breakdowns, cols))
    return folder


# ------------------------------------------------------------------ packs

def build_pack_batch(data: Path, period: Period, agencies: list[str] | None, audiences: list[str], thresholds: str,
                     out: Path, pdf: bool = True, workers: int = 1, run_date: str = "", progress=no_progress,
                     force: bool = False, executor=None) -> BuildSummary:
    """Packs for a period, then the index and the manifest that vouch for the whole output folder."""
    out = Path(out)
    pr = load_or_compute(data, period.year.code, period.return_code, thresholds)
    summary = build_packs(Path(data), period.year.code, period.return_code, agencies, audiences, thresholds, out,
                          pdf=pdf, workers=workers, run_date=run_date, progress=progress, force=force,
                          executor=executor)
    run_date = run_date or pr.meta["census"]
    write_index(out, pr, summary, run_date)
    write_manifest(out, out, {
        "code_hash": pr.meta["code_hash"],
        "period": {"year": pr.meta["year"], "return": pr.meta["return"], "census": pr.meta["census"]},
        "run_date": run_date,
        "thresholds": {k: pr.meta["thresholds"][k] for k in ("name", "hash", "values")},
        "inputs": pr.meta["inputs"]})
    return summary


# ------------------------------------------------------------------ national FRM

def frm_by_parts(data: Path, period: Period, partitions: int, executor, progress=no_progress,
                 engine: str = "pandas") -> dict:
    """National scale: split by ULN (DuckDB), run FRM on every part, join, and keep the joined run.

    The joined run is stored as the cached FRM run of DATA's return, so the
    reports and flag files built from it next are those of an ordinary run.
    Returns the run and its timings.
    """
    import tempfile

    from .frm.partitioned import as_frm_result, partition_dataset, run_partitioned
    from .store.frm_runs import store

    with tempfile.TemporaryDirectory(prefix="fjaaqa-parts-") as tmp:
        t0 = time.perf_counter()
        partition_dataset(data, tmp, partitions)
        split = time.perf_counter() - t0
        _, _, _, parts = run_partitioned(tmp, period.year.code, period.return_code, executor, progress=progress,
                                         engine=engine)
    result = as_frm_result(parts, period)
    store(data, result)
    return {"result": result, "parts": parts, "split_seconds": split}


# ------------------------------------------------------------------ the demo

def synth_stamp(data: Path) -> Path:
    return data / ".synth.json"


def ensure_synthetic(data: Path, progress=None) -> bool:
    """Write the synthetic dataset unless the same code already wrote it there; True when written.

    The generator is deterministic, so a dataset stamped with the current
    code hash is what it would write again. Skipping it keeps a second
    ``make demo`` quick; a user's own edits to the data are kept (and only
    the outputs they change are rebuilt).
    """
    want = {"code_hash": code_hash(), "periods": [str(p) for p in PERIODS]}
    try:
        if json.loads(synth_stamp(data).read_text(encoding="utf-8")) == want:
            return False
    except (OSError, ValueError):
        pass
    write_dataset(data, progress=progress)
    atomic_write(synth_stamp(data), json.dumps(want, sort_keys=True) + "\n")
    return True


@dataclass
class DemoRun:
    """What ``fjaaqa demo`` made, for the command line to summarise."""

    data: Path
    out: Path
    thresholds: str
    results: dict = field(default_factory=dict)   # review period -> results
    frm: dict = field(default_factory=dict)       # FRM period -> FRM result
    packs: BuildSummary | None = None
    summary: object = None
    checks: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def latest(self):
        return self.results[REVIEW_PERIODS[-1]]


def run_demo(out: Path | None = None, data: Path | None = None, workers: int = 2, force: bool = False,
             step=no_progress, progress=no_progress) -> DemoRun:
    """Generate the data, validate it, compute every period's indicators, build every output.

    Each step reuses what an earlier run left when its inputs are unchanged
    (the results caches and each output's build key), so a second run with
    nothing changed rebuilds nothing; ``force`` rebuilds every output.
    ``step(name, total)`` announces a step, ``progress()`` moves it on.
    """
    out = Path(out or default_out())
    data = Path(data or default_data())
    t = load_thresholds()
    run = DemoRun(data, out, t.name)
    started = time.perf_counter()

    step("Synthetic data", len(PERIODS))
    ensure_synthetic(data, progress=lambda p: progress())
    run.timings["synth"] = time.perf_counter() - started

    step("Indicators", len(REVIEW_PERIODS))
    t0 = time.perf_counter()
    for period in REVIEW_PERIODS:  # each from the results cache, or computed and cached
        run.results[period] = load_or_compute(data, period.year.code, period.return_code, t)
        write_indicator_outputs(run.results[period], out)
        progress()
    # rejected rows keep the values that failed (a ULN, a learner reference): owner-only, like the case lists
    atomic_write(out / "validation" / "rejected.csv", csv_text(run.latest.rejected), private=True)
    atomic_write(out / "validation" / "reconciliation.csv", csv_text(run.latest.reconciliation))
    run.timings["indicators"] = time.perf_counter() - t0

    # Funding rules monitoring for the catalogue's own year: each provider's report and workbook.
    step("FRM reports", len(FRM_PERIODS))
    t0 = time.perf_counter()
    for period in FRM_PERIODS:
        run.frm[period], _ = build_frm_reports(data, period.year.code, period.return_code, None, out, True,
                                               workers, force=force)
        progress()
    run.timings["frm"] = time.perf_counter() - t0

    # The policy comparison and the periodic summary (before the packs, so the index lists them).
    step("Scenarios and summary", 2)
    t0 = time.perf_counter()
    latest = REVIEW_PERIODS[-1]
    build_scenario_reports(data, latest.year.code, latest.return_code, t.name, DEMO_SCENARIOS, out, True, "", workers,
                           force=force)
    progress()
    run.summary, _, run.checks = build_summary(data, latest.year.code, latest.return_code, t.name, out, True,
                                               check=True, force=force)
    progress()
    run.timings["scenarios_summary"] = time.perf_counter() - t0

    # Each self-assessing agency's scored report and action plan.
    assessments = sorted((data / "selfassessment").glob("*.yaml"))
    step("Self-assessments", len(assessments))
    for f in assessments:
        write_self_assessment(score_files(str(f)), out, str(f), "", True, force=force)
        progress()

    step("Packs", len(run.latest.agencies) * 2)
    t0 = time.perf_counter()
    run.packs = build_pack_batch(data, latest, None, ["dfe", "agency"], t.name, out, True, workers,
                                 progress=lambda rec: progress(), force=force)
    run.timings["packs"] = time.perf_counter() - t0
    run.timings["all"] = time.perf_counter() - started
    return run


# ------------------------------------------------------------------ validation and ILR conversion

def validate_data(data: Path, target: Path) -> dict:
    """Read every input table; write ``rejected.csv``, ``reconciliation.csv`` and (with a return) ``links.csv``."""
    from .inputs.link import link_reconciliation

    ds = load_dataset(data)
    atomic_write(target / "rejected.csv", csv_text(ds.rejected), private=True)
    atomic_write(target / "reconciliation.csv", csv_text(ds.reconciliation))
    if ds.returns:
        links = link_reconciliation(ds, max(ds.returns), load_thresholds().readings.link)
        atomic_write(target / "links.csv", csv_text(links), private=True)
    return {"reconciliation": ds.reconciliation, "rejected": len(ds.rejected), "notes": ds.notes}


def convert_ilr(files: list[Path], out: Path, fmt: str = "csv", schema: Path | None = None,
                on_problem=no_progress, on_file=no_progress) -> int:
    """ILR XML files -> one set of canonical tables in ``out``; returns how many schema problems were reported.

    ``on_problem(file, line)`` hears each XSD problem, ``on_file(file, counts)``
    each file read.
    """
    import io

    import pandas as pd

    from .inputs import ilr

    problems = 0
    frames: dict[str, list] = {name: [] for name in ilr.TABLE_NAMES}
    for f in files:
        if schema is not None:
            for line in ilr.validate_xsd(f, schema):
                on_problem(f, line)
                problems += 1
        tables = ilr.read_ilr(f, str(f))
        for name, df in tables.frames().items():
            frames[name].append(df.drop(columns=ilr.SOURCE_COLUMNS))
        on_file(f, tables.counts)
    out.mkdir(parents=True, exist_ok=True)
    for name, dfs in frames.items():
        df = pd.concat(dfs, ignore_index=True)
        if fmt == "parquet":
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            atomic_write(out / f"{name}.parquet", buf.getvalue(), private=True)
        else:
            atomic_write(out / f"{name}.csv", csv_text(df), private=True)
    return problems
