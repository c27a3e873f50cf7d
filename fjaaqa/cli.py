"""The ``fjaaqa`` command: options in, console output out; the work itself is in :mod:`fjaaqa.pipeline`.

Every user mistake ends in one line on stderr and exit status 2, never a
traceback: a fault in an input (:class:`~fjaaqa.errors.FjaaqaError`) and a
usage error alike (an unknown option or command, a missing option, a value
outside its choices), the latter with a hint on where to find the usage.
With ``--format json|csv`` stdout holds only that document; progress bars,
summaries and warnings go to stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .errors import AssessmentError, FjaaqaError, InputError, ProblemsError, count_more
from .paths import default_out, output_lock, resource

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Quality-assurance analysis for Flexi-Job Apprenticeship Agencies.")
err = Console(stderr=True, highlight=False)


# ------------------------------------------------------------------ choices (listed by --help)

class SynthFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    xml = "xml"


class IlrLayout(str, Enum):
    v2020 = "2020-21"
    v2025 = "2025-26"


class Scale(str, Enum):
    demo = "demo"
    national = "national"


class TableFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


class IndicatorFormat(str, Enum):
    json = "json"
    csv = "csv"
    table = "table"


class Engine(str, Enum):
    duckdb = "duckdb"
    pandas = "pandas"


class FrmFormat(str, Enum):
    json = "json"
    table = "table"


class Audience(str, Enum):
    dfe = "dfe"
    agency = "agency"


def _threshold_names() -> str:
    return ", ".join(sorted(p.stem for p in resource("params", "thresholds").glob("*.yaml")))


THRESHOLDS_HELP = f"Threshold set: a shipped name ({_threshold_names()}) or a YAML file."
YEAR_HELP = "Academic year, 2324 or 2023-24."
RETURN_HELP = "ILR return, R01 to R14."
OUT_HELP = "Output folder (default: ./outputs of the current folder)."
RUN_DATE_HELP = "Date printed on the outputs, YYYY-MM-DD (default: the census date, never today)."
WORKERS_HELP = "Parallel workers, each with a warm kernel (default: one per core)."
FORCE_HELP = "Rebuild every output, even those whose inputs are unchanged."
EXECUTOR_HELP = "local, or dask://HOST:PORT for a Dask scheduler."
ENGINE_HELP = "duckdb: SQL over the files in place (DuckDB); pandas: the reference engine. Both give the same results."


def _progress() -> Progress:
    """A progress bar on stderr, shown only at a terminal (logs and pipes get the summary lines)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=err, transient=False, disable=not err.is_terminal)


def _holding_out(default: bool = True):
    """A command that writes into ``--out`` checks it and holds it for the run (see paths.output_lock).

    ``default``: without ``--out`` the command writes to ./outputs (False:
    without ``--out`` it writes nothing, so holds nothing).
    """
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            out = kwargs.get("out")
            if out is None and not default:
                return fn(*args, **kwargs)
            with output_lock(out or default_out()):
                return fn(*args, **kwargs)
        return run
    return wrap


def _check_run_date(run_date: str | None) -> None:
    if run_date:
        from datetime import date

        try:
            date.fromisoformat(run_date)
        except ValueError:
            raise InputError(f"--run-date must be YYYY-MM-DD, not '{run_date}'") from None


def _workers(workers: int | None) -> int:
    from .render.executors import default_workers

    return workers or default_workers()


def _executor(spec: str, workers: int | None):
    """None for the local pool, else the Dask executor (closed by the caller)."""
    from .render.executors import make_executor

    return make_executor(spec, workers) if spec != "local" else None


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Show the version and exit.")):
    if version:
        typer.echo(f"fjaaqa {__version__}")
        raise typer.Exit()


# ------------------------------------------------------------------ data

@app.command()
@_holding_out()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the dataset into."),
    agencies: int = typer.Option(30, "--agencies", min=1, help="Number of agencies."),
    seed: int = typer.Option(20231001, "--seed", help="Random seed (same seed, same data)."),
    fmt: SynthFormat = typer.Option(SynthFormat.csv, "--format",
                                    help="Table format (xml: ILR XML files per provider)."),
    layout: IlrLayout = typer.Option(IlrLayout.v2020, "--ilr-schema", help="ILR XML layout."),
    scale: Scale = typer.Option(Scale.demo, "--scale",
                                help="demo (the agencies above) or national (FRM and agencies, Parquet)."),
    copies: int = typer.Option(1000, "--copies", min=1,
                               help="With --scale national: copies of the demo data (1,000 give 5 million aims in "
                                    "2022-23 R14 and 2.6 million live agency apprentices in 2023-24 R14)."),
):
    """Generate the synthetic dataset in the canonical layout."""
    if scale is Scale.national:
        from .synth.national import write_national

        with _progress() as bar:
            task = bar.add_task("Writing the national dataset (Parquet)", total=copies)
            info = write_national(out, copies=copies, progress=lambda n: bar.update(task, completed=n))
        err.print(f"National synthetic data: {info['aims']:,} learning aims in 2022-23 R14 from "
                  f"{info['providers']:,} providers ({sum(info['rows'].values()):,} rows in all) written to {out}")
        return
    from .synth.demo import PERIODS, write_dataset

    with _progress() as bar:
        task = bar.add_task("Writing synthetic ILR returns", total=len(PERIODS))
        write_dataset(out, agencies=agencies, seed=seed, fmt=fmt.value, layout=layout.value,
                      progress=lambda p: bar.advance(task))
    err.print(f"Synthetic data for {agencies} agencies written to {out}")


@app.command()
@_holding_out()
def partition(
    data: Path = typer.Option(..., "--data", help="Data directory (flat CSV or Parquet tables)."),
    out: Path = typer.Option(..., "--out", help="Where to write the parts (p000, p001, ...)."),
    partitions: int = typer.Option(..., "--partitions", min=1, help="How many parts."),
):
    """Split a dataset into parts by ULN (DuckDB), so FRM can run part by part, here or on a cluster."""
    from .frm.partitioned import partition_dataset

    if not Path(data).is_dir():
        raise InputError("the data directory does not exist", file=str(data))
    counts = partition_dataset(data, out, partitions)
    err.print(f"{sum(counts.values()):,} rows from {len(counts)} tables split into {partitions} parts in {out}")


@app.command()
@_holding_out()
def validate(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    out: Optional[Path] = typer.Option(None, "--out",
                                       help="Where to write rejected.csv (default: ./outputs/validation)."),
):
    """Check every input table; write rejected rows and the reconciliation. Exit 1 if anything was rejected."""
    from .pipeline import validate_data

    target = out or default_out() / "validation"
    checked = validate_data(data, target)
    table = Table(title="Rows read, used and rejected")
    for col in ("table", "file", "rows_read", "rows_used", "rows_rejected"):
        table.add_column(col, justify="left" if col in ("table", "file") else "right")
    for r in checked["reconciliation"].itertuples():
        table.add_row(r.table, r.file, str(r.rows_read), str(r.rows_used), str(r.rows_rejected))
    err.print(table)
    for note in checked["notes"]:
        err.print(f"Note: {note}.", markup=False)
    n = checked["rejected"]
    err.print(f"{n} row problem(s) quarantined; see {target / 'rejected.csv'}" if n else
              f"No rows rejected; wrote {target}", markup=False)
    raise typer.Exit(1 if n else 0)


ilr_app = typer.Typer(no_args_is_help=True, help="ILR XML files: convert to the canonical tables.",
                      context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(ilr_app, name="ilr")


@ilr_app.command("convert")
@_holding_out()
def ilr_convert(
    files: list[Path] = typer.Argument(..., help="ILR XML files (any year's namespace, any file name)."),
    out: Path = typer.Option(..., "--out",
                             help="Folder for learners, deliveries, employment, fams and workplacements."),
    fmt: TableFormat = typer.Option(TableFormat.csv, "--format", help="Table format."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="An ILR XSD to validate each file against first."),
):
    """Convert ILR XML files to the canonical tables (one set for all files). Exit 1 if a file breaks its schema."""
    from .pipeline import convert_ilr

    with _progress() as bar:
        task = bar.add_task("Reading ILR XML", total=len(files))

        def read(f, counts):
            err.print(f"{f}: {', '.join(f'{k} {v}' for k, v in counts.items())}", markup=False)
            bar.advance(task)

        problems = convert_ilr(files, out, fmt.value, schema,
                               on_problem=lambda f, line: err.print(f"{f}: {line}", markup=False, soft_wrap=True),
                               on_file=read)
    err.print(f"Wrote learners, deliveries, employment, fams, workplacements to {out}"
              + (f"; {problems} schema error(s) reported" if problems else ""), markup=False)
    raise typer.Exit(1 if problems else 0)


benchmarks_app = typer.Typer(no_args_is_help=True, help="National achievement rates to compare agencies with.",
                             context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(benchmarks_app, name="benchmarks")


@benchmarks_app.command("import")
def benchmarks_import(
    file: Path = typer.Argument(..., help="DfE's national achievement rates by route and standard (EES CSV)."),
    out: Path = typer.Option(..., "--out", help="The data directory (DATA) to store the rates in."),
):
    """Check DfE's national achievement rates and store them by route and standard, for every year in the file."""
    from .inputs.benchmarks import import_rates, write_rates

    try:
        imported = import_rates(file)
    except ProblemsError as exc:
        for line in count_more(exc.problems):
            err.print(line, markup=False, soft_wrap=True)
        err.print(f"{len(exc.problems)} problem(s): nothing was imported.", markup=False)
        raise typer.Exit(2) from None
    written = write_rates(imported, out)
    s = imported.summary
    aside = "; ".join(f"{n} {why}" for why, n in s["set_aside"].items()) or "none"
    err.print(f"{s['source']}: {s['rows_read']:,} rows read, {s['rows_used']:,} used (all apprenticeships "
              f"{s['used']['all']}, routes {s['used']['route']}, standards {s['used']['standard']}; years "
              f"{', '.join(s['years']) or 'none'}); set aside: {aside}. Wrote {written}", markup=False, soft_wrap=True)


# ------------------------------------------------------------------ the Quality Framework

@app.command()
def indicators(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help=YEAR_HELP),
    return_code: str = typer.Option(..., "--return", help=RETURN_HELP),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only these agencies (repeat the option)."),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help=THRESHOLDS_HELP),
    fmt: IndicatorFormat = typer.Option(IndicatorFormat.table, "--format", help="Output format."),
    engine: Engine = typer.Option(Engine.duckdb, "--engine", help=ENGINE_HELP),
):
    """The five Quality Framework indicators for every agency of a period."""
    from .pipeline import compute_indicators
    from .quality.indicators import STATUS_LABELS
    from .quality.results import indicators_csv, indicators_json
    from .render.templating import fmt_pct

    res, rejected = compute_indicators(data, year, return_code, thresholds, engine=engine.value)
    if rejected:
        err.print(f"{rejected} row problem(s) quarantined (run `fjaaqa validate --data {data}` for the list); "
                  "the rest is used.", markup=False)
    frame = res.results
    if agency:
        unknown = sorted(set(agency) - set(frame["agency_id"]))
        if unknown:
            raise InputError(f"agency '{unknown[0]}' is not on the register for {res.period.label}")
        frame = frame[frame["agency_id"].isin(agency)]
    if fmt is IndicatorFormat.json:
        sys.stdout.write(indicators_json(frame))
    elif fmt is IndicatorFormat.csv:
        sys.stdout.write(indicators_csv(frame))
    else:
        table = Table(title=f"Quality Framework indicators, {res.period.label} ({res.thresholds.name})")
        for col, just in (("agency", "left"), ("indicator", "left"), ("numerator", "right"),
                          ("denominator", "right"), ("value", "right"), ("status", "left")):
            table.add_column(col, justify=just)
        for r in frame.itertuples():
            table.add_row(r.agency_id, r.indicator, str(r.numerator), str(r.denominator), fmt_pct(r.value),
                          STATUS_LABELS[r.status])
        Console().print(table)


@app.command()
@_holding_out()
def packs(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help=YEAR_HELP),
    return_code: str = typer.Option(..., "--return", help=RETURN_HELP),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only these agencies (repeat the option)."),
    audience: Optional[list[Audience]] = typer.Option(None, "--audience", help="Who the pack is for (default: both)."),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help=THRESHOLDS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each pack to PDF."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    executor: str = typer.Option("local", "--executor", help=EXECUTOR_HELP),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
):
    """Build review packs (HTML and PDF) for every agency of a period, plus index.html and manifest.json."""
    from .periods import make_period
    from .pipeline import build_pack_batch

    audiences = list(dict.fromkeys(a.value for a in audience or [Audience.dfe, Audience.agency]))
    period = make_period(year, return_code)
    _check_run_date(run_date)
    out = out or default_out()
    n_workers = _workers(workers)
    ex = _executor(executor, workers)
    try:
        with _progress() as bar:
            task = bar.add_task(f"Packs {period.label}", total=None)
            summary = build_pack_batch(data, period, agency, audiences, thresholds, out, pdf, n_workers,
                                       run_date or "", progress=lambda rec: bar.advance(task), force=force,
                                       executor=ex)
    finally:
        if ex is not None:
            ex.close()
    per = summary.seconds / max(1, len(summary.built))
    err.print(f"{len(summary.built)} pack(s) built in {summary.seconds:.1f}s ({per:.2f}s each, {n_workers} "
              f"worker(s)); {len(summary.unchanged)} unchanged since the last run; {len(summary.failed)} failed. "
              f"Index: {Path(out) / 'index.html'}", markup=False)
    for f in summary.failed:
        err.print(f"  failed: {f['agency_id']} ({f['audience']}): {f['error']}", markup=False)
    raise typer.Exit(1 if summary.failed else 0)


@app.command()
@_holding_out()
def scenarios(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help=YEAR_HELP),
    return_code: str = typer.Option(..., "--return", help=RETURN_HELP),
    base: str = typer.Option("quality-framework-2023", "--base", help="Base " + THRESHOLDS_HELP[0].lower()
                             + THRESHOLDS_HELP[1:]),
    alt: list[str] = typer.Option(..., "--alt",
                                  help="Alternative threshold set(s), by name or file; repeat the option."),
    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each report to PDF."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
):
    """Compare threshold sets: who moves between statuses, whose suggested interventions change, sweeps."""
    from .periods import make_period
    from .quality import scenarios as sc
    from .quality.indicators import BY_ID, STATUS_LABELS
    from .quality.thresholds import load_thresholds
    from .reports.scenarios import build_scenario_reports
    from .store.results import load_or_compute

    _check_run_date(run_date)
    period = make_period(year, return_code)
    b = load_thresholds(base)
    alts = [load_thresholds(a) for a in alt]  # every file checked before anything runs
    pr = load_or_compute(data, year, return_code, b)
    base_res = sc.classify(pr, b)
    for a in alts:
        res = sc.classify(pr, a)
        head = sc.headline(base_res, res)
        err.print(f"{a.title or a.name} against {b.title or b.name}, {period.label}: {sc.headline_words(head)}",
                  markup=False)
        table = Table(title=f"{a.name} against {b.name}: {sc.moved_words(head)}")
        for col, just in (("indicator", "left"), ("from", "left"), ("to", "left"), ("agencies", "right"),
                          ("apprentices", "right")):
            table.add_column(col, justify=just)
        trans = sc.transitions(base_res, res)
        for r in trans[trans["status_base"] != trans["status_alt"]].itertuples():
            table.add_row(BY_ID[r.indicator].title, STATUS_LABELS[r.status_base], STATUS_LABELS[r.status_alt],
                          str(r.agencies), str(r.apprentices))
        err.print(table if table.row_count else sc.moved_words(head), markup=False)
    summary = build_scenario_reports(data, year, return_code, base, alt, out or default_out(), pdf, run_date or "")
    for rec in summary.built:
        err.print(f"wrote {rec['html']}", markup=False)
    for rec in summary.unchanged:
        err.print(f"unchanged: {rec['html']}", markup=False)
    for rec in summary.failed:
        err.print(f"failed: {rec['alt']}: {rec['error']}", markup=False)
    raise typer.Exit(1 if summary.failed else 0)


@app.command()
@_holding_out()
def summary(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help=YEAR_HELP),
    return_code: str = typer.Option(..., "--return", help=RETURN_HELP),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help=THRESHOLDS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the report to PDF."),
    check: bool = typer.Option(False, "--check", help="Run the open-data pre-screen (fjaaqa's checks after DfE's "
                               "screener, not the screener itself) and print PASS/FAIL per check."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
):
    """The periodic quality summary: report, open data (EES CSV + meta) and Excel, with disclosure control."""
    from .publication.ees import format_checks
    from .reports.summary import build_summary, summary_folder

    _check_run_date(run_date)
    out = out or default_out()
    s, written, checks = build_summary(data, year, return_code, thresholds, out, pdf, run_date or "", check=check)
    err.print(f"wrote {len(written)} open-data and Excel files and the report to {summary_folder(out, s)}",
              markup=False)
    for line in s.commentary:
        err.print(line, markup=False)
    if check:
        sys.stdout.write(format_checks(checks) + "\n")
        if not all(c.passed for c in checks):
            raise typer.Exit(1)


# ------------------------------------------------------------------ funding rules monitoring

@app.command("frm")
@_holding_out(default=False)
def frm_command(
    data: Optional[Path] = typer.Option(None, "--data", help="Data directory."),
    year: Optional[str] = typer.Option(None, "--year", help="Academic year, 2223 or 2022-23."),
    return_code: Optional[str] = typer.Option(None, "--return", help=RETURN_HELP),
    ukprn: Optional[list[str]] = typer.Option(None, "--ukprn", help="Only these providers (repeat the option)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Build the providers' reports and workbooks here."),
    fmt: FrmFormat = typer.Option(FrmFormat.table, "--format", help="json (flagged rows on stdout) or table."),
    notes: Optional[list[Path]] = typer.Option(None, "--notes", help="Last return's workbook(s): carry notes over."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each report to PDF (with --out)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
    list_rules: bool = typer.Option(False, "--list-rules", help="List the rule ids and titles, one a line."),
    partitions: Optional[int] = typer.Option(None, "--partitions", min=1,
                                             help="National scale: split by ULN into this many parts and run "
                                                  "part by part (then, with --out, the reports as usual)."),
    executor: str = typer.Option("local", "--executor", help=EXECUTOR_HELP),
    engine: Engine = typer.Option(Engine.duckdb, "--engine", help=ENGINE_HELP),
):
    """Funding rules monitoring: every FRM rule over one ILR return, with query IDs and change since the last return."""
    from .frm.run import list_rules as rule_lines
    from .frm.run import load_catalogue
    from .periods import make_period
    from .render.executors import check_executor

    if list_rules:
        cat, _ = load_catalogue(year)
        sys.stdout.write("\n".join(rule_lines(cat)) + "\n")
        return
    if data is None or year is None or return_code is None:
        raise InputError("--data, --year and --return are needed (or --list-rules)")
    period = make_period(year, return_code)
    _check_run_date(run_date)
    check_executor(executor)
    if partitions:  # national scale: run part by part, then build reports from the joined run like any other
        _frm_by_parts(data, period, partitions, executor, workers, force, engine.value)
        if out is None:
            return
    if out is not None:
        result, built = _frm_reports(data, period, ukprn, out, pdf, workers, run_date, notes, force, executor,
                                     engine.value)
    else:
        result, built = _frm_run(data, period, ukprn, engine.value), None
    if result.note:
        err.print(f"Note: {result.note}.", markup=False)
    for rule_id, why in result.unavailable.items():
        err.print(f"{rule_id} not available: {why}.", markup=False)
    if ukprn:
        keep = set(ukprn)
        result.flags = result.flags[result.flags["UKPRN"].isin(keep)].reset_index(drop=True)
        result.status = result.status[result.status["UKPRN"].isin(keep)].reset_index(drop=True)
    if fmt is FrmFormat.json:
        from .frm.run import to_records

        sys.stdout.write(json.dumps(to_records(result), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_frm_table(result, period)
    if built is not None and built.failed:
        raise typer.Exit(1)


def _frm_by_parts(data, period, partitions, executor, workers, force, engine) -> None:
    from .pipeline import frm_by_parts
    from .render.executors import make_executor
    from .store.frm_runs import is_cached

    if not force and is_cached(data, period):
        err.print(f"FRM for {period.label} is already run on these inputs (cached); --force runs it again.",
                  markup=False)
        return
    ex = make_executor(executor, workers)
    try:
        with _progress() as bar:
            task = bar.add_task(f"FRM {period.label}, {partitions} parts", total=partitions)
            done = frm_by_parts(data, period, partitions, ex, progress=lambda r: bar.advance(task), engine=engine)
    finally:
        ex.close()
    result, parts = done["result"], done["parts"]
    err.print(f"{sum(p.aims for p in parts):,} aims in {period.label} at {result.status['UKPRN'].nunique():,} "
              f"providers: {len(result.flags):,} flagged rows, {len(result.resolved):,} resolved; split "
              f"{done['split_seconds']:.1f}s, parts {min(p.seconds for p in parts):.1f}–"
              f"{max(p.seconds for p in parts):.1f}s each, peak memory per worker "
              f"{max(p.peak_rss_mb for p in parts):,.0f} MB", markup=False)


def _frm_reports(data, period, ukprn, out, pdf, workers, run_date, notes, force, executor, engine):
    from .reports.frm import build_frm_reports, frm_folder

    ex = _executor(executor, workers)
    try:
        with _progress() as bar:
            task = bar.add_task("FRM reports", total=None)
            result, built = build_frm_reports(data, period.year.code, period.return_code, ukprn, out, pdf,
                                              _workers(workers), run_date or "", notes,
                                              progress=lambda rec: bar.advance(task), force=force, executor=ex,
                                              engine=engine)
    finally:
        if ex is not None:
            ex.close()
    msg = (f"{len(built.built)} report(s) built, {len(built.unchanged)} unchanged, in "
           f"{frm_folder(out, period.year.code, period.return_code)}")
    if built.failed:
        msg += "; failed: " + "; ".join(f"{r['ukprn']} ({r['error']})" for r in built.failed)
    err.print(msg, markup=False)
    return result, built


def _frm_run(data, period, ukprn, engine):
    from .store.frm_runs import load_or_run

    if not (Path(data) / "ilr" / period.year.code / period.return_code).is_dir():
        raise InputError(f"no ILR return for {period.label} in the data directory",
                         file=f"ilr/{period.year.code}/{period.return_code}")
    result = load_or_run(data, period.year.code, period.return_code, engine=engine)
    unknown = sorted(set(ukprn or []) - set(result.status["UKPRN"]))
    if unknown:
        raise InputError(f"UKPRN {unknown[0]} has no learners in the {period.label} return")
    return result


def _print_frm_table(result, period) -> None:
    import pandas as pd

    compared = result.compared_with.label if result.compared_with else "no earlier return in DATA"
    table = Table(title=f"Funding rules monitoring, {period.label} (against {compared})")
    for col, just in (("UKPRN", "left"), ("rule", "left"), ("flagged", "right"), ("new", "right"),
                      ("persisting", "right"), ("resolved", "right"), ("funding impact", "right")):
        table.add_column(col, justify=just)
    shown = result.status[(result.status["flagged"] > 0) | (result.status["resolved"] > 0)]
    for r in shown.itertuples():
        impact = "" if r.funding_impact is None or pd.isna(r.funding_impact) else f"£{r.funding_impact:,.2f}"
        table.add_row(r.UKPRN, r.rule, str(r.flagged), str(r.new), str(r.persisting), str(r.resolved), impact)
    Console().print(table)
    err.print(f"{len(result.flags)} flagged row(s) across {result.flags['UKPRN'].nunique()} provider(s).",
              markup=False)


# ------------------------------------------------------------------ self-assessment

selfassess_app = typer.Typer(help="Self-assessment: template, scoring and the agency's own action plan.",
                             no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(selfassess_app, name="selfassess")


@selfassess_app.command("template")
def selfassess_template(
    agency: str = typer.Option(..., "--agency", help="Agency ID (as on the register)."),
    out: Path = typer.Option(..., "--out", help="FILE.xlsx (Excel with drop-downs) or FILE.yaml."),
):
    """Write a blank self-assessment: IEP Quality Improvement Framework elements and the partnership checklist."""
    import re

    from .selfassess.template import template_bytes, template_yaml
    from .writers import atomic_write

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", agency):
        raise InputError(f"--agency '{agency[:40]}' is not a valid agency ID (letters, digits, '.', '_', '-')")
    if out.suffix.lower() == ".xlsx":
        atomic_write(out, template_bytes(agency))
    elif out.suffix.lower() in (".yaml", ".yml"):
        atomic_write(out, template_yaml(agency))
    else:
        raise InputError("--out must end in .xlsx or .yaml", file=str(out))
    err.print(f"wrote {out}", markup=False)


@selfassess_app.command("score")
@_holding_out()
def selfassess_score(
    file: Path = typer.Argument(..., help="The completed self-assessment (.xlsx or .yaml)."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="The previous self-assessment, for progress."),
    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the report to PDF."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Report date (default: the assessment date)."),
):
    """Validate and score a completed self-assessment; write the report and the improvement action plan."""
    from .reports.self_assessment import score_files, write_outputs

    _check_run_date(run_date)
    try:
        scored = score_files(str(file), str(previous) if previous else "")
    except AssessmentError as exc:
        for line in count_more(exc.problems):
            err.print(line, markup=False, soft_wrap=True)
        err.print(f"{len(exc.problems)} problem(s): nothing was scored.", markup=False)
        raise typer.Exit(2) from None
    written = write_outputs(scored, out or default_out(), str(file), str(previous) if previous else "", pdf,
                            run_date or "")
    table = Table(title=f"Self-assessment {scored.a.agency_id}, {scored.a.assessment_date.isoformat()}")
    for col, just in (("component", "left"), ("score", "right"), ("evidence held", "right")):
        table.add_column(col, justify=just)
    for r in scored.scores.itertuples():
        na = r.rated == 0  # every element of the component marked not applicable: no score, not 0
        table.add_row(f"{r.component}. {r.title}", "not applicable" if na else f"{r.score:.2f}",
                      "not applicable" if na else f"{r.evidence_coverage}%")
    err.print(table)
    err.print(f"{len(scored.plan)} action(s) in the plan; wrote {written[0].parent}", markup=False)


# ------------------------------------------------------------------ the demo

@app.command()
@_holding_out()
def demo(
    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
    data: Optional[Path] = typer.Option(None, "--data", help="Where to write the synthetic data "
                                                             "(default: ./data/synthetic of the current folder)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
):
    """Generate the synthetic dataset and build every output (default: into ./outputs)."""
    from .pipeline import run_demo

    with _progress() as bar:
        tasks = []

        def step(name, total):
            tasks.append(bar.add_task(name, total=total))

        run = run_demo(out=out, data=data, workers=_workers(workers), force=force, step=step,
                       progress=lambda: bar.advance(tasks[-1]))
    _print_demo(run)
    raise typer.Exit(1 if run.packs.failed else 0)


def _print_demo(run) -> None:
    from .quality.indicators import INDICATORS, STATUS_LABELS, STATUSES

    latest, t = run.latest, run.timings
    packs = run.packs
    err.print(f"{len(packs.built)} pack(s) built in {packs.seconds:.1f}s "
              f"({packs.seconds / max(1, len(packs.built)):.2f}"
              f"s each); {len(packs.unchanged)} unchanged since the last run; {len(packs.failed)} failed. "
              f"Index: {run.out / 'index.html'}", markup=False)
    for f in packs.failed:
        err.print(f"  failed: {f['agency_id']} ({f['audience']}): {f['error']}", markup=False)
    table = Table(title=f"Agencies by status, {latest.period.label} ({run.thresholds})")
    table.add_column("indicator")
    for s in STATUSES:
        table.add_column(STATUS_LABELS[s], justify="right")
    for ind in INDICATORS:
        r = latest.results[latest.results["indicator"] == ind.id]
        table.add_row(ind.title, *[str(int((r["status"] == s).sum())) for s in STATUSES])
    err.print(table)
    err.print(
        f"{len(latest.agencies)} agencies; {int(latest.apprentices['live'].astype(bool).sum())} apprentices live in "
        f"{latest.period.year.label}; {len(latest.rejected)} rows quarantined. Data: {run.data}  Outputs: {run.out}  "
        f"({t['synth']:.1f}s synth, {t['indicators']:.1f}s load and indicators, {t['frm']:.1f}s FRM, "
        f"{t['scenarios_summary']:.1f}s scenarios and summary, {t['packs']:.1f}s for {len(packs.built)} packs built, "
        f"{len(packs.unchanged)} unchanged; {t['all']:.1f}s in all)", markup=False)
    failed = [c.name for c in run.checks if not c.passed]
    err.print(f"Quality summary {latest.period.label}: open-data pre-screen (not DfE's screener) "
              + ("all checks PASS." if not failed else f"FAIL on {', '.join(failed)}."), markup=False)
    f = run.frm[max(run.frm)]
    err.print(f"Funding rules monitoring {f.period.label}: {len(f.flags)} flagged rows at "
              f"{f.flags['UKPRN'].nunique()} providers, {len(f.resolved)} resolved since "
              f"{f.compared_with.label if f.compared_with else '(nothing earlier)'}.", markup=False)


# ------------------------------------------------------------------ entry point

def _usage_error(exc) -> int:
    """One line naming the problem, one line saying where the usage is; the exit status click gives (2)."""
    message = exc.format_message().replace("Value error, ", "").strip()
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "fjaaqa"
    if message:  # a bare "no arguments" has printed the help already
        err.print(f"fjaaqa: error: {message}", markup=False, soft_wrap=True)
        err.print(f"Usage: {ctx.get_usage().removeprefix('Usage: ') if ctx is not None else path}  "
                  f"(see '{path} --help')", markup=False, soft_wrap=True)
    return getattr(exc, "exit_code", 2)


def main() -> None:
    """Entry point: run the app; a user's mistake is one line and exit 2, never a traceback."""
    try:
        rc = app(standalone_mode=False, prog_name="fjaaqa")  # returns a typer.Exit's code, or None
        sys.exit(rc if isinstance(rc, int) else 0)
    except FjaaqaError as exc:
        err.print(f"fjaaqa: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", markup=False,
                  soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("fjaaqa: interrupted", markup=False)
        sys.exit(130)
    except typer.TyperException as exc:  # typer's own (bundled) click: usage errors
        sys.exit(_usage_error(exc))


if __name__ == "__main__":
    main()
