"""Review packs: run the notebook per agency, export HTML and PDF, index and manifest.

Results are computed once for all agencies (:func:`fjaaqa.cache.load_or_compute`);
each pack is then only presentation. A worker keeps one Jupyter kernel warm
and reuses it (its namespace reset between packs), which is what makes a
batch cheap: starting a kernel and importing pandas costs seconds, a warm
run a fraction of one. HTML is exported in-process by nbconvert with the
``templates/fjaaqa`` template; the PDF is printed from the same HTML by
WeasyPrint. Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import html
import json
import multiprocessing
import os
import platform
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import nbformat

from . import __version__, builds
from .cache import PackResults, load_or_compute
from .errors import InputError
from .indicators import INDICATORS, STATUS_LABELS
from .paths import repo_path
from .periods import make_period
from .sections import AUDIENCES, STATUS_CLASS, shown_value
from .writers import atomic_write, sweep_temporary

NOTEBOOK = repo_path("notebooks", "review_pack.ipynb")
TEMPLATES = repo_path("templates")
NOTEBOOK_CACHE = repo_path(".fjaaqa-cache", "notebooks")


@dataclass
class RenderJob:
    """One notebook run to render: its parameters, where the HTML goes, what the summary lists."""

    notebook: Path
    parameters: dict
    html: Path
    record: dict  # e.g. {"agency_id": …, "audience": …} or {"ukprn": …}
    executed: Path  # the executed notebook is kept here (a cache, never under --out)
    key: str = ""  # build key (fjaaqa.builds.render_key); an output with an unchanged key is not rebuilt


@dataclass
class BuildSummary:
    built: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)  # up to date from an earlier run: not rebuilt
    seconds: float = 0.0

    @property
    def present(self) -> list[dict]:
        """Outputs that exist after the run: built now or unchanged since an earlier run."""
        return self.built + self.unchanged


def css() -> str:
    return (TEMPLATES / "fjaaqa" / "pack.css").read_text(encoding="utf-8")


# ------------------------------------------------------------------ export

def export_html(nb: nbformat.NotebookNode) -> str:
    """Executed review-pack notebook -> one self-contained HTML page."""
    from nbconvert import HTMLExporter

    p = nb.metadata.get("papermill", {}).get("parameters", {})
    period = make_period(p.get("year", "2324"), p.get("return_code", "R14"))
    run_date = p.get("run_date") or period.census.isoformat()
    if "assessment" in p:  # an agency's self-assessment report
        title = f"Self-assessment and improvement action plan: {Path(p['assessment']).stem}"
        description = "An agency's self-assessment against the IEP Quality Improvement Framework, with its action plan"
        mark = "The agency's own plan"
    elif "alt" in p:  # a threshold-scenarios report
        title = f"Threshold scenarios: {p.get('base', '')} against {p['alt']}, {period.year.label} {period.return_code}"
        description = "Who would move between statuses under another threshold set (aggregate)"
        mark = "Policy analysis"
    elif "ukprn" not in p and "agency_id" not in p:  # the periodic quality summary
        title = f"Flexi-job apprenticeship agencies: quality summary, {period.year.label} {period.return_code}"
        description = "Quality Framework indicators across agencies, disclosure-controlled"
        mark = "Published statistics"
    elif "ukprn" in p:  # a provider's FRM report
        title = f"Funding rules monitoring: UKPRN {p['ukprn']}, {period.year.label} {period.return_code} (restricted)"
        description = "Funding rules monitoring queries for a provider's data team (restricted)"
        mark = "Restricted: learner references"
    else:
        audience = AUDIENCES.get(p.get("audience", "agency"), "")
        title = f"Quality review pack: {p.get('agency_id', '')}, {period.year.label} {period.return_code} ({audience})"
        description = f"Flexi-Job Apprenticeship Agency quality review, {audience}"
        mark = audience
    exporter = HTMLExporter(template_name="fjaaqa", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    resources = {"fjaaqa": {"title": title, "run_date": run_date, "version": __version__, "css": css(),
                            "description": description,
                            "footer": f"Produced with fjaaqa {__version__} on {run_date}. {mark}."}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _url_fetcher():
    """WeasyPrint may read local files and data: URLs only, never the network."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"file", "data"})


def write_pdf(page: str, path: Path) -> Path:
    """Print the HTML page to a tagged A4 PDF (title and language from the page)."""
    from weasyprint import HTML

    pdf = HTML(string=page, base_url=str(TEMPLATES), url_fetcher=_url_fetcher()).write_pdf(
        pdf_tags=True, font_config=_font_config())
    return atomic_write(path, pdf)


@lru_cache(maxsize=1)
def _font_config():
    """One WeasyPrint font configuration for every PDF a process prints.

    Left to itself WeasyPrint builds a new one per document, and some of
    each stays in native memory: a worker grew by about 0.25 MB per PDF
    (measured over 200), which a batch of thousands turns into gigabytes.
    Shared, memory stays flat and the PDFs are byte-identical (checked;
    the pages use no ``@font-face``, so nothing is added to it per page).
    """
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


# ------------------------------------------------------------------ running

class Runner:
    """One warm kernel running notebooks (review packs, FRM reports), one after another.

    The kernel manager is the asynchronous one: with it nbclient watches the
    kernel while a cell runs, so a kernel that dies or a cell that overruns
    its time limit ends that output with an error instead of waiting forever
    (with the blocking manager nbclient's wait for output never returned).
    """

    def __init__(self):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        class Manager(AsyncKernelManager):
            """Keeps the clients it hands out, so :meth:`Runner.run` can close each run's one."""

            def client(self, **kwargs):
                kc = super().client(**kwargs)
                self.opened.append(kc)
                return kc

        self._sync = run_sync
        self.km = Manager(kernel_name="python3", transport="ipc", ip=str(_ipc_dir() / "kernel"))
        self.km.opened = []
        self._sync(self.km.start_kernel)(extra_arguments=["--HistoryManager.enabled=False"])
        self._reset()

    def _reset(self) -> None:
        """Clear the namespace so one pack never sees another's variables."""
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive("%reset -f", timeout=60, store_history=False)
        finally:
            kc.stop_channels()

    def alive(self) -> bool:
        return bool(self._sync(self.km.is_alive)())

    def run(self, parameters: dict, notebook: Path = NOTEBOOK, timeout: int | None = None) -> nbformat.NotebookNode:
        import papermill

        if not self.alive():
            self.restart()
        self._reset()
        try:
            return papermill.execute_notebook(str(notebook), None, parameters=parameters, progress_bar=False,
                                              km=self.km, kernel_name="python3", cwd=str(repo_path()),
                                              execution_timeout=timeout)
        finally:
            self._close_clients()

    def _close_clients(self) -> None:
        """Close the client nbclient opened for the run just ended.

        nbclient leaves its client connected when the kernel manager is not its
        own (ours lives on for the next output), and each client holds a ZeroMQ
        context with its threads and sockets: left open, a worker grew by about
        8 MB, 14 file descriptors and 3 threads per output (measured).
        """
        while self.km.opened:
            self.km.opened.pop().stop_channels()

    def restart(self) -> None:
        """A fresh kernel after a failure: a dead one, or one still busy after a timeout, is replaced."""
        self._sync(self.km.restart_kernel)(now=True)
        self._reset()

    def close(self) -> None:
        self._sync(self.km.shutdown_kernel)(now=True)


def _ipc_dir() -> Path:
    """A private folder for the kernel's IPC sockets (no TCP ports: no collisions, no warning)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="fjaaqa-kernel-"))


def pack_path(out: Path, year_code: str, return_code: str, audience: str, agency_id: str, ext: str) -> Path:
    return out / year_code / return_code / "packs" / audience / f"{agency_id}.{ext}"


NOTEBOOK_TIMEOUT = 900  # seconds a notebook cell may run before the output is given up as failed
# Outputs one worker process builds before it is replaced by a fresh one. WeasyPrint keeps a little
# memory per PDF (~0.4 MB for a DfE pack) that nothing releases; a new process every hundred outputs
# keeps a long batch's memory flat for ~1 % more time (a process and kernel start in a few seconds).
RECYCLE_AFTER = 100


def _failure(exc: Exception, timeout: int | None) -> str:
    """One line saying why an output failed, in words an analyst can act on."""
    name = type(exc).__name__
    if name == "DeadKernelError":
        return "the kernel died while running the notebook (it was restarted for the next output)"
    if isinstance(exc, TimeoutError) or name == "CellTimeoutError":
        return f"the notebook took longer than {timeout} s and was stopped"
    return _one_line(exc)


_PROGRESS_QUEUE = None  # set in each local worker process as it starts (a queue cannot be sent with a task)


def _set_progress_queue(queue) -> None:
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue


def _build_chunk(jobs: list[RenderJob], pdf: bool, queue=None, timeout: int | None = NOTEBOOK_TIMEOUT) -> list[dict]:
    """Render a list of notebooks with one warm kernel (runs in a worker process).

    Each finished output is also put on ``queue`` (when given) so the parent
    can move its progress bar while workers run.
    """
    done: list[dict] = []

    def finish(rec: dict) -> None:
        done.append(rec)
        q = queue if queue is not None else _PROGRESS_QUEUE
        if q is not None:
            q.put(rec)

    parent = os.getppid()
    runner = Runner()
    try:
        for job in jobs:
            if os.getppid() != parent:  # the batch was killed: stop, rather than build on for nobody
                runner.close()
                os._exit(1)  # nobody is left to take the results
            try:
                nb = runner.run(job.parameters, job.notebook, timeout)
                page = export_html(nb)
                atomic_write(job.executed, nbformat.writes(nb))
                rec = {**job.record, "html": job.html}
                if pdf:  # the PDF first: an HTML page is only ever beside a finished PDF
                    rec["pdf"] = write_pdf(page, job.html.with_suffix(".pdf"))
                else:  # never leave an earlier run's PDF beside a newer page
                    job.html.with_suffix(".pdf").unlink(missing_ok=True)
                atomic_write(job.html, page)
                builds.record(job.html, job.key, pdf)
            except Exception as exc:  # one output failing never stops the batch
                finish({**job.record, "error": _failure(exc, timeout)})
                try:
                    runner.restart()
                except Exception:  # a kernel that will not come back: a new one
                    runner.close()
                    runner = Runner()
                continue
            finish(rec)
    finally:
        runner.close()
    return done


def _one_line(exc: Exception) -> str:
    text = str(getattr(exc, "evalue", "") or exc).strip().splitlines()
    return (text[-1] if text else exc.__class__.__name__)[:300]


def _pieces(jobs: list, workers: int, size: int) -> list[list]:
    """Jobs dealt across ``workers`` stripes, each cut into pieces of at most ``size``.

    Striping keeps the workers' loads even; a piece is what one worker process
    builds before it is replaced. Pieces come out in turn (stripe 1's first,
    stripe 2's first, ...), so every worker starts at once.
    """
    from itertools import zip_longest

    workers, size = max(1, workers), max(1, size)
    cut = [[s[i:i + size] for i in range(0, len(s), size)] for s in (jobs[w::workers] for w in range(workers))]
    return [piece for turn in zip_longest(*cut) for piece in turn if piece]


def run_jobs(jobs: list[RenderJob], pdf: bool, workers: int = 1, progress=None, force: bool = False,
             executor=None, timeout: int | None = NOTEBOOK_TIMEOUT, before_work=None,
             recycle_after: int = RECYCLE_AFTER) -> BuildSummary:
    """Render every job whose output is out of date, over ``workers`` processes with a warm kernel each.

    Each process builds at most ``recycle_after`` outputs and is then replaced
    by a fresh one, so a batch of thousands holds no more memory at its end
    than at its start. A small batch on one worker runs in this process.
    With a Dask ``executor`` (:mod:`fjaaqa.executors`) the same pieces run as
    tasks on the cluster's workers instead, each with its own warm kernel;
    progress then moves a piece at a time. (A Dask worker process outlives
    its tasks: ``dask worker --lifetime`` is what renews it.)
    """
    import time

    started = time.perf_counter()
    summary = BuildSummary()
    for folder in {j.html.parent for j in jobs}:  # what an interrupted run left half-written
        if folder.is_dir():
            sweep_temporary(folder)
    if not force:
        fresh = [builds.up_to_date(j.html, j.key, pdf) for j in jobs]
        summary.unchanged = [{**j.record, "html": j.html} for j, ok in zip(jobs, fresh) if ok]
        jobs = [j for j, ok in zip(jobs, fresh) if not ok]
    if jobs and before_work is not None:
        before_work()
    if not jobs:
        return summary
    pieces = _pieces(jobs, workers, recycle_after)
    if executor is not None:  # the same pieces, a fresh kernel for each there too
        def report(chunk: list[dict]) -> None:
            for rec in chunk:
                if progress:
                    progress(rec)

        results = executor.map(_build_chunk, pieces, [pdf] * len(pieces), [None] * len(pieces), [timeout] * len(pieces),
                               progress=report)
        for chunk in results:
            for rec in chunk:
                (summary.failed if "error" in rec else summary.built).append(rec)
        summary.seconds = time.perf_counter() - started
        return summary
    # A plain queue, handed to the workers as they start: no manager process, which a killed run would orphan.
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    if workers <= 1 and len(jobs) <= recycle_after:
        import threading

        results: list[list[dict]] = []
        worker = threading.Thread(target=lambda: results.append(_build_chunk(jobs, pdf, queue, timeout)))
        worker.start()
        _drain(queue, len(jobs), progress, lambda: not worker.is_alive())
        worker.join()
    else:
        # One piece per process (max_tasks_per_child=1): a fresh process, and kernel, for each piece.
        # Exactly 1: a larger limit can hang Python 3.11-3.13's pool (CPython gh-115634).
        with ProcessPoolExecutor(max_workers=min(max(1, workers), len(pieces)), mp_context=ctx,
                                 initializer=_set_progress_queue, initargs=(queue,), max_tasks_per_child=1) as pool:
            futures = [pool.submit(_build_chunk, c, pdf, None, timeout) for c in pieces]
            _drain(queue, len(jobs), progress, lambda: all(f.done() for f in futures))
            results = [f.result() for f in futures]
    for chunk in results:
        for rec in chunk:
            (summary.failed if "error" in rec else summary.built).append(rec)
    summary.seconds = time.perf_counter() - started
    return summary


def build_packs(data_dir: Path, year: str, return_code: str, agencies: list[str] | None, audiences: list[str],
                thresholds: str, out: Path, pdf: bool = True, workers: int = 1, run_date: str = "",
                results_dir: Path | None = None, progress=None, force: bool = False, executor=None) -> BuildSummary:
    """Build every requested pack whose inputs changed (all of them with ``force``); compute once, render many."""
    if Path(str(thresholds)).is_file():  # the kernel runs in the repository: pass files absolute
        thresholds = str(Path(str(thresholds)).resolve())
    pr = load_or_compute(data_dir, year, return_code, thresholds, results_dir)
    known = list(pr.agencies["agency_id"])
    if agencies:
        unknown = [a for a in agencies if a not in known]
        if unknown:
            raise InputError(f"agency '{unknown[0]}' is not on the register for {pr.meta['year']} {pr.meta['return']}")
    period = make_period(year, return_code)
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "thresholds": str(thresholds), "run_date": run_date,
              "results_dir": str(results_dir) if results_dir else ""}
    from .sections import pack_digests

    digests = pack_digests(pr, agencies or known, audiences)
    jobs = []
    for aud in audiences:
        for a in agencies or known:
            params = dict(common, agency_id=a, audience=aud)
            jobs.append(RenderJob(NOTEBOOK, params, pack_path(out, period.year.code, period.return_code, aud, a, "html"),
                                  {"agency_id": a, "audience": aud},
                                  NOTEBOOK_CACHE / period.year.code / period.return_code / aud / f"{a}.ipynb",
                                  builds.render_key(NOTEBOOK, params, digests[(a, aud)])))
    # The manifest vouches for a finished run: none while outputs are being rebuilt (or were cut short).
    summary = run_jobs(jobs, pdf, workers, progress, force, executor,
                       before_work=lambda: (Path(out) / "manifest.json").unlink(missing_ok=True))
    write_worklist(out, pr)
    write_index(out, pr, summary, run_date or pr.meta["census"])
    return summary


def _drain(queue, expected: int, progress, finished) -> None:
    """Report packs as workers finish them, until all are reported or the workers stop."""
    import queue as queue_mod

    seen = 0
    while seen < expected:
        try:
            rec = queue.get(timeout=0.5)
        except queue_mod.Empty:
            if finished():
                break
            continue
        seen += 1
        if progress:
            progress(rec)


# ------------------------------------------------------------------ index and manifest

def _page(title: str, main: str, run_date: str = "", script: str = "") -> str:
    """A whole self-contained page in the house style (index, worklist)."""
    created = f'\n<meta name="dcterms.created" content="{html.escape(run_date)}">' if run_date else ""
    tail = f"\n<script>{script}</script>" if script else ""
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>{created}
<style>
{css()}
</style>
</head>
<body>
{main}{tail}
</body>
</html>
"""

def write_index(out: Path, pr: PackResults, summary: BuildSummary, run_date: str) -> Path:
    """``index.html`` linking every output of the period, with each agency's headline status."""
    period = pr.period
    base = Path(period.year.code) / period.return_code
    rows = []
    res = pr.results
    built = {(b["agency_id"], b["audience"]) for b in summary.present}
    # Most serious first: agencies with more indicators at risk, then needing improvement.
    worst = res.assign(ar=res["status"] == "at_risk", ni=res["status"] == "needs_improvement").groupby("agency_id")[
        ["ar", "ni"]].sum()
    agencies = pr.agencies.assign(ar=pr.agencies["agency_id"].map(worst["ar"]),
                                  ni=pr.agencies["agency_id"].map(worst["ni"]))
    agencies = agencies.sort_values(["ar", "ni", "agency_id"], ascending=[False, False, True])
    for a in agencies.itertuples():
        cells = []
        for ind in INDICATORS:
            r = res[(res["agency_id"] == a.agency_id) & (res["indicator"] == ind.id)].iloc[0].to_dict()
            cells.append(f'<td><strong class="tag tag--{STATUS_CLASS[r["status"]]}">{STATUS_LABELS[r["status"]]}'
                         f'</strong><br><span class="value">{html.escape(shown_value(r, ind.id))}</span></td>')
        links = []
        for aud, label in (("dfe", "DfE pack"), ("agency", "Agency pack")):
            if (a.agency_id, aud) in built:
                h = (base / "packs" / aud / f"{a.agency_id}.html").as_posix()
                link = f'<a href="{html.escape(h)}">{label}</a>'
                pdf = out / base / "packs" / aud / f"{a.agency_id}.pdf"
                if pdf.exists():
                    link += f' · <a href="{html.escape(pdf.relative_to(out).as_posix())}">PDF</a>'
                links.append(f'<span class="nowrap">{link}</span>')
        rows.append(f'<tr><th scope="row">{html.escape(a.agency_id)}<br><span class="muted">'
                    f'{html.escape(str(a.agency_name))}</span></th>{"".join(cells)}<td>{"<br>".join(links) or "–"}</td></tr>')
    failed = "".join(f"<li>{html.escape(f['agency_id'])} ({html.escape(f['audience'])}): {html.escape(f['error'])}</li>"
                     for f in summary.failed)
    heads = "".join(f'<th scope="col">{html.escape(i.title)}</th>' for i in INDICATORS)
    other = []
    for rel in sorted(p.relative_to(out).as_posix() for p in (out / base).rglob("*")
                      if p.is_file() and "packs" not in p.parts and "frm" not in p.parts
                      and "scenarios" not in p.parts and "summary" not in p.parts):
        other.append(f'<li><a href="{html.escape(rel)}">{html.escape(rel)}</a></li>')
    published = []
    for page in sorted((out / base / "summary").glob("*.html")):
        rel = page.relative_to(out).as_posix()
        published.append(f'<li><a href="{html.escape(rel)}">Quality summary, {period.year.label} '
                         f'{period.return_code}</a> (with its open data in <code>summary/data/</code> and an Excel '
                         'workbook)</li>')
    for page in sorted((out / base / "scenarios").glob("*.html")):
        rel = page.relative_to(out).as_posix()
        published.append(f'<li><a href="{html.escape(rel)}">Threshold scenario: '
                         f'{html.escape(page.stem.replace("__", " against "))}</a></li>')
    for page in sorted(out.glob("selfassessment/*/self_assessment.html")):
        rel = page.relative_to(out).as_posix()
        published.append(f'<li><a href="{html.escape(rel)}">Self-assessment and action plan: '
                         f'{html.escape(page.parent.name)}</a> (the agency\'s own)</li>')
    published_html = ("<h2>Summary, scenarios and self-assessments</h2>\n<ul>" + "".join(published) + "</ul>"
                      if published else "")
    frm_items = []
    for listing in sorted(out.glob("*/R[0-9][0-9]/frm/index.html")):
        folder = listing.parent
        reports = sorted(x.stem for x in folder.glob("*.html") if x.name != "index.html")
        rel = listing.relative_to(out).as_posix()
        links = ", ".join(f'<a href="{html.escape((folder / (u + ".html")).relative_to(out).as_posix())}">{u}</a>'
                          for u in reports)
        frm_items.append(f'<li><a href="{html.escape(rel)}">{html.escape(folder.parent.parent.name)} '
                         f'{html.escape(folder.parent.name)}</a>: {len(reports)} provider report(s): {links}</li>')
    frm_html = ("<h2>Funding rules monitoring reports</h2>\n<p>Restricted: each report and workbook lists one "
                "provider's learner references.</p>\n<ul>" + "".join(frm_items) + "</ul>") if frm_items else ""
    page = _page(f"fjaaqa outputs: {period.year.label} {period.return_code}", f"""<main id="main" class="page wide">
<p class="caption">fjaaqa {__version__}</p>
<h1>Quality review outputs, {period.year.label} {period.return_code}</h1>
<p class="lede">{len(pr.agencies)} agencies; threshold set {html.escape(pr.meta['thresholds']['name'])}
 ({pr.meta['thresholds']['hash']}); census {pr.meta['census']}. {int((worst['ar'] > 0).sum())} agencies are at risk
 on at least one indicator and {int(((worst['ar'] == 0) & (worst['ni'] > 0)).sum())} more need improvement; they are
 listed first. For breaks in learning and past planned end date the two figures are the shares in the lower and the
 upper day band.</p>
<p class="notice notice--restricted">DfE packs contain a restricted case list with learner references and ULNs:
 send agencies only their agency pack.</p>
{'<div class="notice notice--restricted" role="alert"><h2>Packs that failed</h2><ul>' + failed + '</ul></div>' if failed else ''}
<table class="table index">
<caption>Agencies, headline status for {period.year.label} {period.return_code}, and their packs</caption>
<thead><tr><th scope="col">Agency</th>{heads}<th scope="col">Packs</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{published_html}
{frm_html}
<h2>Other outputs</h2>
<ul>{''.join(other)}</ul>
<p class="muted">Manifest: <a href="manifest.json">manifest.json</a> (versions, parameters, input and output hashes).</p>
</main>""", run_date=run_date)
    return atomic_write(out / "index.html", page)


def _versions() -> dict:
    names = ["pandas", "numpy", "pyarrow", "pandera", "pydantic", "altair", "vl-convert-python", "weasyprint",
             "nbconvert", "papermill", "jinja2"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def write_manifest(out: Path, pr: PackResults, run_date: str, extra: dict | None = None) -> Path:
    """``manifest.json``: versions, parameters and their hash, input and output hashes (relative paths)."""
    outputs = []
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "manifest.json" and not p.name.startswith("."):
            outputs.append({"path": p.relative_to(out).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                            "bytes": p.stat().st_size})
    doc = {
        "fjaaqa": __version__,
        "code_hash": pr.meta["code_hash"],
        "versions": _versions(),
        "period": {"year": pr.meta["year"], "return": pr.meta["return"], "census": pr.meta["census"]},
        "run_date": run_date,
        "thresholds": {"name": pr.meta["thresholds"]["name"], "hash": pr.meta["thresholds"]["hash"],
                       "values": pr.meta["thresholds"]["values"]},
        "inputs": pr.meta["inputs"],
        "outputs": outputs,
        "builds": builds.keys_under(out),  # each report's build key: what an incremental re-run compares
    }
    if extra:
        doc.update(extra)
    return atomic_write(out / "manifest.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


SORT_SCRIPT = """
// Sort the worklist by a column: buttons in the headers, no network, works without it too.
document.querySelectorAll('table.worklist th button').forEach(function (button, col) {
  button.addEventListener('click', function () {
    var th = button.parentElement, table = th.closest('table'), body = table.tBodies[0];
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th[aria-sort]').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-sort'), y = b.cells[col].getAttribute('data-sort');
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def write_worklist(out: Path, pr: PackResults) -> Path:
    """The account manager's worklist: every agency's statuses, suggested interventions and changes."""
    from . import context, review
    from .sections import changes

    period = pr.period
    base = Path(period.year.code) / period.return_code
    target = out / base / "worklist.html"
    key = builds.page_key("worklist", pr.meta["key"])  # every agency's results, the review rules, the code
    if builds.file_fresh(target, key):
        return target
    order = {"at_risk": 0, "needs_improvement": 1, "for_discussion": 2, "on_track": 3, "no_data": 4}
    rows = []
    for a in pr.agencies.itertuples():
        res = pr.results[pr.results["agency_id"] == a.agency_id].set_index("indicator")
        facts = context.facts_for(pr, a.agency_id)
        sugg = review.suggest(review.situation(pr, a.agency_id, facts, pr.tables.get("reviews")))
        worst = min(order[s] for s in res["status"])
        n_ar = int((res["status"] == "at_risk").sum())
        cells = [f'<th scope="row" data-sort="{html.escape(a.agency_id)}"><a href="'
                 f'{html.escape((base / "packs" / "dfe" / f"{a.agency_id}.html").as_posix())}">'
                 f'{html.escape(a.agency_id)}</a><br><span class="muted">{html.escape(str(a.agency_name))}</span></th>']
        for ind in INDICATORS:
            r = res.loc[ind.id].to_dict()
            cells.append(f'<td data-sort="{order[r["status"]]}"><strong class="tag tag--{STATUS_CLASS[r["status"]]}">'
                         f'{STATUS_LABELS[r["status"]]}</strong></td>')
        levels = list(context.review_params()["interventions"])
        top = max((levels.index(s.intervention) for s in sugg), default=0)
        cells.append(f'<td data-sort="{9 - top}">' + "<br>".join(
            html.escape(s.text) for s in sugg) + "</td>")
        ch = changes(pr, a.agency_id)
        cells.append(f'<td data-sort="{len(ch)}">' + ("<br>".join(
            html.escape(f"{c['title']}: {STATUS_LABELS[c['from']].lower()} → {STATUS_LABELS[c['to']].lower()}")
            for c in ch) or "No change") + "</td>")
        rows.append(((worst, -n_ar, a.agency_id), "<tr>" + "".join(cells) + "</tr>"))
    rows.sort()
    heads = ["Agency"] + [i.title for i in INDICATORS] + ["Suggested interventions (advisory)",
                                                          "Changed since the previous return"]
    head = "".join(f'<th scope="col"><button type="button" class="sort">{html.escape(h)}</button></th>' for h in heads)
    page = _page(f"Account manager's worklist: {period.year.label} {period.return_code}",
                 f"""<main id="main" class="page wide">
<p class="caption">fjaaqa {__version__} · DfE only (restricted)</p>
<h1>Account manager's worklist, {period.year.label} {period.return_code}</h1>
<p class="lede">Every agency's statuses, the interventions the rules suggest and what changed since the previous
 return, most serious first. Select a column heading to sort by it. Suggestions are advisory: interventions
 follow only a management conversation.</p>
<table class="table worklist">
<caption>Agencies, statuses and suggested interventions, {period.year.label} {period.return_code}</caption>
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(r for _, r in rows)}
</tbody>
</table>
</main>""", script=SORT_SCRIPT)
    atomic_write(target, page)
    builds.note_file(target, key)
    return target
