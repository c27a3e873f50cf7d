"""The ``fjaaqa`` command.

Every user mistake ends in one line on stderr and exit status 2 (never a
traceback). With ``--format json|csv`` stdout holds only that document;
progress, summaries and warnings go to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .errors import InputError
from .executors import make_executor
from .workers import default_workers

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Quality-assurance analysis for Flexi-Job Apprenticeship Agencies.")
err = Console(stderr=True, highlight=False)


def _progress() -> Progress:
    """A progress bar on stderr, shown only at a terminal (logs and pipes get the summary lines)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=err, transient=False, disable=not err.is_terminal)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Show the version and exit.")):
    if version:
        typer.echo(f"fjaaqa {__version__}")
        raise typer.Exit()


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the dataset into."),
    agencies: int = typer.Option(30, "--agencies", min=1, help="Number of agencies."),
    seed: int = typer.Option(20231001, "--seed", help="Random seed (same seed, same data)."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or xml (ILR XML files per provider)."),
    layout: str = typer.Option("2020-21", "--ilr-schema", help="XML layout: 2020-21 or 2025-26."),
    scale: str = typer.Option("demo", "--scale", help="demo (the agencies above) or national (FRM, Parquet)."),
    copies: int = typer.Option(1000, "--copies", min=1,
                               help="With --scale national: copies of the FRM return (1,000 give 5 million aims)."),
):
    """Generate the synthetic dataset in the canonical layout."""
    from .synth import PERIODS, write_dataset

    if scale == "national":
        from .national import write_national

        with _progress() as bar:
            task = bar.add_task("Writing the national dataset (Parquet)", total=copies)
            info = write_national(out, copies=copies, progress=lambda n: bar.update(task, completed=n))
        err.print(f"National synthetic data: {info['aims']:,} learning aims in 2022-23 R14 from "
                  f"{info['providers']:,} providers ({sum(info['rows'].values()):,} rows in all) written to {out}")
        return
    if scale != "demo":
        raise InputError(f"--scale must be demo or national, not '{scale}'")
    if fmt not in ("csv", "parquet", "xml"):
        raise InputError(f"--format must be csv, parquet or xml, not '{fmt}'")
    if layout not in ("2020-21", "2025-26"):
        raise InputError(f"--ilr-schema must be 2020-21 or 2025-26, not '{layout}'")
    with _progress() as bar:
        task = bar.add_task("Writing synthetic ILR returns", total=len(PERIODS))
        write_dataset(out, agencies=agencies, seed=seed, fmt=fmt, layout=layout,
                      progress=lambda p: bar.advance(task))
    err.print(f"Synthetic data for {agencies} agencies written to {out}")


@app.command()
def partition(
    data: Path = typer.Option(..., "--data", help="Data directory (flat CSV or Parquet tables)."),
    out: Path = typer.Option(..., "--out", help="Where to write the parts (p000, p001, ...)."),
    partitions: int = typer.Option(..., "--partitions", min=1, help="How many parts."),
):
    """Split a dataset into parts by ULN (DuckDB), so FRM can run part by part, here or on a cluster."""
    from .national import partition_dataset

    if not Path(data).is_dir():
        raise InputError("the data directory does not exist", file=str(data))
    counts = partition_dataset(data, out, partitions)
    err.print(f"{sum(counts.values()):,} rows from {len(counts)} tables split into {partitions} parts in {out}")


@app.command()
def validate(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write rejected.csv (default outputs/validation)."),
):
    """Check every input table; write rejected rows and the reconciliation. Exit 1 if anything was rejected."""
    from .paths import repo_path
    from .sources import load_dataset
    from .writers import atomic_write, csv_text

    ds = load_dataset(data)
    target = out or repo_path("outputs", "validation")
    atomic_write(target / "rejected.csv", csv_text(ds.rejected))
    atomic_write(target / "reconciliation.csv", csv_text(ds.reconciliation))
    if ds.returns:
        from .link import link_reconciliation
        from .params import load_thresholds

        links = link_reconciliation(ds, max(ds.returns), load_thresholds().readings.link)
        atomic_write(target / "links.csv", csv_text(links))
    table = Table(title="Rows read, used and rejected")
    for col in ("table", "file", "rows_read", "rows_used", "rows_rejected"):
        table.add_column(col, justify="left" if col in ("table", "file") else "right")
    for r in ds.reconciliation.itertuples():
        table.add_row(r.table, r.file, str(r.rows_read), str(r.rows_used), str(r.rows_rejected))
    err.print(table)
    n = len(ds.rejected)
    err.print(f"{n} row problem(s) quarantined; see {target / 'rejected.csv'}" if n else "No rows rejected.")
    raise typer.Exit(1 if n else 0)


ilr_app = typer.Typer(no_args_is_help=True, help="ILR XML files: convert to the canonical tables.")
app.add_typer(ilr_app, name="ilr")


@ilr_app.command("convert")
def ilr_convert(
    files: list[Path] = typer.Argument(..., help="ILR XML files (any year's namespace, any file name)."),
    out: Path = typer.Option(..., "--out", help="Folder for learners, deliveries, employment, fams and workplacements."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="An ILR XSD to validate each file against first."),
):
    """Convert ILR XML files to the canonical tables (one set for all files). Exit 1 if a file breaks its schema."""
    from . import ilr
    from .writers import atomic_write

    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format must be csv or parquet, not '{fmt}'")
    problems = 0
    frames: dict[str, list] = {name: [] for name in ilr.TABLE_NAMES}
    with _progress() as bar:
        task = bar.add_task("Reading ILR XML", total=len(files))
        for f in files:
            if schema is not None:
                for line in ilr.validate_xsd(f, schema):
                    err.print(f"{f}: {line}", markup=False, soft_wrap=True)
                    problems += 1
            tables = ilr.read_ilr(f, str(f))
            for name, df in tables.frames().items():
                frames[name].append(df.drop(columns=ilr.SOURCE_COLUMNS))
            err.print(f"{f}: {', '.join(f'{k} {v}' for k, v in tables.counts.items())}", markup=False)
            bar.advance(task)
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    for name, dfs in frames.items():
        df = pd.concat(dfs, ignore_index=True)
        if fmt == "parquet":
            import io

            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            atomic_write(out / f"{name}.parquet", buf.getvalue())
        else:
            atomic_write(out / f"{name}.csv", df.to_csv(index=False, lineterminator="\n"))
    err.print(f"Wrote {', '.join(frames)} to {out}" + (f"; {problems} schema error(s) reported" if problems else ""))
    raise typer.Exit(1 if problems else 0)


def _load(data: Path, year: str, return_code: str, thresholds: str):
    from .params import load_thresholds
    from .periods import make_period
    from .results import compute
    from .sources import load_dataset

    period = make_period(year, return_code)
    t = load_thresholds(thresholds)
    ds = load_dataset(data, up_to=period)
    if len(ds.rejected):
        err.print(f"{len(ds.rejected)} row problem(s) quarantined (run `fjaaqa validate --data {data}` for the list); "
                  "the rest is used.")
    return compute(ds, period, t)


@app.command()
def indicators(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help="Academic year, 2324 or 2023-24."),
    return_code: str = typer.Option(..., "--return", help="ILR return, R01 to R14."),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only these agencies."),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help="Threshold set name or file."),
    fmt: str = typer.Option("table", "--format", help="json, csv or table."),
):
    """The five Quality Framework indicators for every agency of a period."""
    from .indicators import STATUS_LABELS
    from .writers import fmt_pct, indicators_csv, indicators_json

    if fmt not in ("json", "csv", "table"):
        raise InputError(f"--format must be json, csv or table, not '{fmt}'")
    res = _load(data, year, return_code, thresholds)
    frame = res.results
    if agency:
        unknown = sorted(set(agency) - set(frame["agency_id"]))
        if unknown:
            raise InputError(f"agency '{unknown[0]}' is not on the register for {res.period.label}")
        frame = frame[frame["agency_id"].isin(agency)]
    if fmt == "json":
        sys.stdout.write(indicators_json(frame))
    elif fmt == "csv":
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


@app.command("frm")
def frm_command(
    data: Optional[Path] = typer.Option(None, "--data", help="Data directory."),
    year: Optional[str] = typer.Option(None, "--year", help="Academic year, 2223 or 2022-23."),
    return_code: Optional[str] = typer.Option(None, "--return", help="ILR return, R01 to R14."),
    ukprn: Optional[list[str]] = typer.Option(None, "--ukprn", help="Only these providers (repeat the option)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Build the providers' reports and workbooks here."),
    fmt: str = typer.Option("table", "--format", help="json (flagged rows on stdout) or table."),
    notes: Optional[list[Path]] = typer.Option(None, "--notes", help="Last return's workbook(s): carry notes over."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each report to PDF (with --out)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="Parallel workers, each with a warm kernel (default: one per core)."),
    force: bool = typer.Option(False, "--force", help="Rebuild every output, even those whose inputs are unchanged."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Date printed on the reports (default: census)."),
    list_rules: bool = typer.Option(False, "--list-rules", help="List the rule ids and titles, one a line."),
    partitions: Optional[int] = typer.Option(None, "--partitions", min=1,
                                             help="National scale: split by ULN into this many parts and run "
                                                  "part by part (then, with --out, the reports as usual)."),
    executor: str = typer.Option("local", "--executor", help="local or dask://HOST:PORT (a Dask scheduler)."),
):
    """Funding rules monitoring: every FRM rule over one ILR return, with query IDs and change since the last return."""
    import pandas as pd

    from . import frm
    from .frm_cache import load_or_run
    from .frm_reports import build_frm_reports
    from .periods import make_period

    if list_rules:
        cat, _ = frm.load_catalogue(year)
        sys.stdout.write("\n".join(frm.list_rules(cat)) + "\n")
        return
    if data is None or year is None or return_code is None:
        raise InputError("--data, --year and --return are needed (or --list-rules)")
    if fmt not in ("json", "table"):
        raise InputError(f"--format must be json or table, not '{fmt}'")
    period = make_period(year, return_code)
    _check_run_date(run_date)
    if partitions:  # national scale: run part by part, then build reports from the joined run like any other
        from .frm_cache import is_cached

        if force or not is_cached(data, period):
            _frm_partitioned(data, period, partitions, executor, workers)
        else:
            err.print(f"FRM for {period.label} is already run on these inputs (cached); --force runs it again.")
        if out is None:
            return
    if out is not None:
        with _progress() as bar:
            task = bar.add_task("FRM reports", total=None)
            ex = make_executor(executor, workers) if executor != "local" else None
            try:
                result, summary = build_frm_reports(data, year, return_code, ukprn, out, pdf,
                                                    workers or default_workers(), run_date or "", notes,
                                                    progress=lambda rec: bar.advance(task), force=force, executor=ex)
            finally:
                if ex is not None:
                    ex.close()
        msg = (f"{len(summary.built)} report(s) built, {len(summary.unchanged)} unchanged, in "
               f"{out / period.year.code / period.return_code / 'frm'}")
        if summary.failed:
            msg += "; failed: " + "; ".join(f"{r['ukprn']} ({r['error']})" for r in summary.failed)
        err.print(msg, markup=False)
    else:
        if not (Path(data) / "ilr" / period.year.code / period.return_code).is_dir():
            raise InputError(f"no ILR return for {period.label} in the data directory",
                             file=f"ilr/{period.year.code}/{period.return_code}")
        result = load_or_run(data, year, return_code)
        unknown = sorted(set(ukprn or []) - set(result.status["UKPRN"]))
        if unknown:
            raise InputError(f"UKPRN {unknown[0]} has no learners in the {period.label} return")
        summary = None
    if result.note:
        err.print(f"Note: {result.note}.")
    for rule_id, why in result.unavailable.items():
        err.print(f"{rule_id} not available: {why}.")
    if ukprn:
        keep = set(ukprn)
        result.flags = result.flags[result.flags["UKPRN"].isin(keep)].reset_index(drop=True)
        result.status = result.status[result.status["UKPRN"].isin(keep)].reset_index(drop=True)
    if fmt == "json":
        sys.stdout.write(json.dumps(frm.to_records(result), indent=2, ensure_ascii=False) + "\n")
    else:
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
        err.print(f"{len(result.flags)} flagged row(s) across {result.flags['UKPRN'].nunique()} provider(s).")
    if summary is not None and summary.failed:
        raise typer.Exit(1)


def _check_run_date(run_date: str | None) -> None:
    if run_date:
        from datetime import date

        try:
            date.fromisoformat(run_date)
        except ValueError:
            raise InputError(f"--run-date must be YYYY-MM-DD, not '{run_date}'") from None


def _frm_partitioned(data: Path, period, partitions: int, executor: str, workers: Optional[int]) -> None:
    """National scale: partition by ULN (DuckDB), run FRM on every part (locally or on Dask), join.

    The joined run is kept as the cached FRM run of DATA's return, so the
    reports and flag files built from it next are those of an ordinary run.
    """
    import tempfile
    import time

    from .frm_cache import store
    from .national import as_frm_result, partition_dataset, run_partitioned

    ex = make_executor(executor, workers)
    try:
        with tempfile.TemporaryDirectory(prefix="fjaaqa-parts-") as tmp:
            t0 = time.perf_counter()
            partition_dataset(data, tmp, partitions)
            t_split = time.perf_counter() - t0
            with _progress() as bar:
                task = bar.add_task(f"FRM {period.label}, {partitions} parts", total=partitions)
                _, _, _, parts = run_partitioned(tmp, period.year.code, period.return_code, ex,
                                                 progress=lambda r: bar.advance(task))
    finally:
        ex.close()
    result = as_frm_result(parts, period)
    store(data, result)
    aims = sum(p.aims for p in parts)
    err.print(f"{aims:,} aims in {period.label} at {result.status['UKPRN'].nunique():,} providers: "
              f"{len(result.flags):,} flagged rows, {len(result.resolved):,} resolved; split {t_split:.1f}s, parts "
              f"{min(p.seconds for p in parts):.1f}–{max(p.seconds for p in parts):.1f}s each, peak memory per "
              f"worker {max(p.peak_rss_mb for p in parts):,.0f} MB", markup=False)


@app.command()
def scenarios(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help="Academic year, 2324 or 2023-24."),
    return_code: str = typer.Option(..., "--return", help="ILR return, R01 to R14."),
    base: str = typer.Option("quality-framework-2023", "--base", help="Base threshold set (name or file)."),
    alt: list[str] = typer.Option(..., "--alt", help="Alternative threshold set(s); repeat the option."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default outputs/)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each report to PDF."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Date printed on the reports (default: census)."),
):
    """Compare threshold sets: who moves between statuses, whose suggested interventions change, sweeps."""
    from . import scenarios as sc
    from .cache import load_or_compute
    from .indicators import BY_ID, STATUS_LABELS
    from .params import load_thresholds
    from .paths import repo_path
    from .periods import make_period
    from .scenario_reports import build_scenario_reports

    _check_run_date(run_date)
    period = make_period(year, return_code)
    b = load_thresholds(base)
    alts = [load_thresholds(a) for a in alt]  # every file checked before anything runs
    pr = load_or_compute(data, year, return_code, b)
    base_res = sc.classify(pr, b)
    for a in alts:
        res = sc.classify(pr, a)
        moved = sc.moved(base_res, res)
        table = Table(title=f"{b.name} -> {a.name}, {period.label}: {moved['agency_id'].nunique()} of "
                            f"{len(pr.agencies)} agencies change status on at least one indicator")
        for col, just in (("indicator", "left"), ("from", "left"), ("to", "left"), ("agencies", "right"),
                          ("apprentices", "right")):
            table.add_column(col, justify=just)
        trans = sc.transitions(base_res, res)
        for r in trans[trans["status_base"] != trans["status_alt"]].itertuples():
            table.add_row(BY_ID[r.indicator].title, STATUS_LABELS[r.status_base], STATUS_LABELS[r.status_alt],
                          str(r.agencies), str(r.apprentices))
        Console(stderr=True).print(table)
    out = out or repo_path("outputs")
    summary = build_scenario_reports(data, year, return_code, base, alt, out, pdf, run_date or "")
    for rec in summary.built:
        err.print(f"wrote {rec['html']}", markup=False)
    for rec in summary.unchanged:
        err.print(f"unchanged: {rec['html']}", markup=False)
    if summary.failed:
        for rec in summary.failed:
            err.print(f"failed: {rec['alt']}: {rec['error']}", markup=False)
        raise typer.Exit(1)


@app.command()
def summary(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help="Academic year, 2324 or 2023-24."),
    return_code: str = typer.Option(..., "--return", help="ILR return, R01 to R14."),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help="Threshold set name or file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default outputs/)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the report to PDF."),
    check: bool = typer.Option(False, "--check", help="Run the open-data screener and print PASS/FAIL per check."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Publication date (default: census)."),
):
    """The periodic quality summary: report, open data (EES CSV + meta) and Excel, with disclosure control."""
    from .ees import format_checks
    from .paths import repo_path
    from .publish import build_summary, summary_folder

    _check_run_date(run_date)
    out = out or repo_path("outputs")
    s, written, checks = build_summary(data, year, return_code, thresholds, out, pdf, run_date or "", check=check)
    folder = summary_folder(out, s)
    err.print(f"wrote {len(written)} open-data and Excel files and the report to {folder}", markup=False)
    for line in s.commentary:
        err.print(line, markup=False)
    if check:
        sys.stdout.write(format_checks(checks) + "\n")
        if not all(c.passed for c in checks):
            raise typer.Exit(1)


selfassess_app = typer.Typer(help="Self-assessment: template, scoring and the agency's own action plan.",
                              no_args_is_help=True)
app.add_typer(selfassess_app, name="selfassess")


@selfassess_app.command("template")
def selfassess_template(
    agency: str = typer.Option(..., "--agency", help="Agency ID (as on the register)."),
    out: Path = typer.Option(..., "--out", help="FILE.xlsx (Excel with drop-downs) or FILE.yaml."),
):
    """Write a blank self-assessment: IEP Quality Improvement Framework elements and the partnership checklist."""
    import re

    from . import self_assessment as sa
    from .writers import atomic_write

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", agency):
        raise InputError(f"--agency '{agency[:40]}' is not a valid agency ID (letters, digits, '.', '_', '-')")
    if out.suffix.lower() == ".xlsx":
        atomic_write(out, sa.template_bytes(agency))
    elif out.suffix.lower() in (".yaml", ".yml"):
        atomic_write(out, sa.template_yaml(agency))
    else:
        raise InputError("--out must end in .xlsx or .yaml", file=str(out))
    err.print(f"wrote {out}", markup=False)


@selfassess_app.command("score")
def selfassess_score(
    file: Path = typer.Argument(..., help="The completed self-assessment (.xlsx or .yaml)."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="The previous self-assessment, for progress."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default outputs/)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the report to PDF."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Report date (default: the assessment date)."),
):
    """Validate and score a completed self-assessment; write the report and the improvement action plan."""
    from .paths import repo_path
    from .self_assessment_report import score_files, write_outputs

    _check_run_date(run_date)
    try:
        scored = score_files(str(file), str(previous) if previous else "")
    except ValueError as exc:
        lines = str(exc).splitlines()
        for line in lines:
            err.print(line, markup=False, soft_wrap=True)
        err.print(f"{len(lines)} problem(s): nothing was scored.", markup=False)
        raise typer.Exit(2)
    written = write_outputs(scored, out or repo_path("outputs"), str(file), str(previous) if previous else "", pdf,
                            run_date or "")
    table = Table(title=f"Self-assessment {scored.a.agency_id}, {scored.a.assessment_date.isoformat()}")
    for col, just in (("component", "left"), ("score", "right"), ("evidence held", "right")):
        table.add_column(col, justify=just)
    for r in scored.scores.itertuples():
        table.add_row(f"{r.component}. {r.title}", "–" if r.score is None else f"{r.score:.2f}",
                      f"{r.evidence_coverage}%")
    Console(stderr=True).print(table)
    err.print(f"{len(scored.plan)} action(s) in the plan; wrote {written[0].parent}", markup=False)


@app.command()
def packs(
    data: Path = typer.Option(..., "--data", help="Data directory."),
    year: str = typer.Option(..., "--year", help="Academic year, 2324 or 2023-24."),
    return_code: str = typer.Option(..., "--return", help="ILR return, R01 to R14."),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only these agencies (repeat the option)."),
    audience: Optional[list[str]] = typer.Option(None, "--audience", help="dfe or agency (default: both)."),
    thresholds: str = typer.Option("quality-framework-2023", "--thresholds", help="Threshold set name or file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default outputs/)."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print each pack to PDF."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="Parallel workers, each with a warm kernel (default: one per core)."),
    force: bool = typer.Option(False, "--force", help="Rebuild every output, even those whose inputs are unchanged."),
    executor: str = typer.Option("local", "--executor", help="local or dask://HOST:PORT (a Dask scheduler)."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Date printed on the packs (default: census date)."),
):
    """Build review packs (HTML and PDF) for every agency of a period, plus index.html and manifest.json."""
    from .paths import repo_path
    from .periods import make_period

    ex = make_executor(executor, workers) if executor != "local" else None
    audiences = list(dict.fromkeys(audience or ["dfe", "agency"]))
    bad = [a for a in audiences if a not in ("dfe", "agency")]
    if bad:
        raise InputError(f"--audience must be dfe or agency, not '{bad[0]}'")
    period = make_period(year, return_code)
    _check_run_date(run_date)
    out = out or repo_path("outputs")
    try:
        summary = _build_packs(data, period, agency, audiences, thresholds, out, pdf, workers or default_workers(),
                               run_date or "", force=force, executor=ex)
    finally:
        if ex is not None:
            ex.close()
    raise typer.Exit(1 if summary.failed else 0)


def _build_packs(data, period, agencies, audiences, thresholds, out, pdf, workers, run_date, console=None,
                 force=False, executor=None):
    """Build packs with a progress bar on stderr; write index.html and manifest.json; print a summary."""
    from .cache import load_or_compute
    from .packs import build_packs, write_manifest

    console = console or err
    pr = load_or_compute(data, period.year.code, period.return_code, thresholds)
    n = len(agencies or pr.agencies) * len(audiences)

    with _progress() as bar:
        task = bar.add_task(f"Packs {period.label}", total=n)
        summary = build_packs(Path(data), period.year.code, period.return_code, agencies, audiences, thresholds,
                              Path(out), pdf=pdf, workers=workers, run_date=run_date,
                              progress=lambda rec: bar.advance(task), force=force, executor=executor)
        bar.advance(task, len(summary.unchanged))
    write_manifest(Path(out), pr, run_date or pr.meta["census"])
    per = summary.seconds / max(1, len(summary.built))
    console.print(f"{len(summary.built)} pack(s) built in {summary.seconds:.1f}s ({per:.2f}s each, "
                  f"{workers} worker(s)); {len(summary.unchanged)} unchanged since the last run; "
                  f"{len(summary.failed)} failed. Index: {Path(out) / 'index.html'}")
    for f in summary.failed:
        console.print(f"  failed: {f['agency_id']} ({f['audience']}): {f['error']}", markup=False)
    return summary


@app.command()
def demo(
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default outputs/)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Where to write the synthetic data."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Parallel workers (default: one per core)."),
    force: bool = typer.Option(False, "--force", help="Rebuild every output, even those whose inputs are unchanged."),
):
    """Generate the synthetic dataset and build every output into outputs/."""
    from .demo import run_demo

    result = run_demo(out=out, data=data, console=err, workers=workers or default_workers(), force=force)
    raise typer.Exit(1 if result["packs"].failed else 0)


def main() -> None:
    """Entry point: run the app, turning user mistakes into one line and exit 2."""
    try:
        rc = app(standalone_mode=False)  # click returns a typer.Exit's code here
        sys.exit(rc if isinstance(rc, int) else 0)
    except InputError as exc:
        err.print(f"fjaaqa: error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("fjaaqa: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show(file=sys.stderr)
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
