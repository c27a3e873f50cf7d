"""Review packs: one per agency and audience, from results computed once for every agency; and the worklist.

Results come from :func:`fjaaqa.store.results.load_or_compute`; each pack is
then only presentation, rendered by the engine from ``review_pack.ipynb``.
The account manager's worklist lists every agency's statuses and suggested
interventions, most serious first, each linking to its DfE pack.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..quality import context, review
from ..quality.indicators import INDICATORS, STATUS_LABELS
from ..quality.results import PackResults
from ..render import builds
from ..render.engine import BuildSummary, run_jobs
from ..render.pages import relative_link, write_page
from ..store.results import load_or_compute
from .pack_sections import changes, pack_digests
from .registry import REGISTRY, job

STATUS_ORDER = {"at_risk": 0, "needs_improvement": 1, "for_discussion": 2, "on_track": 3, "no_data": 4}


def pack_path(out: Path, year_code: str, return_code: str, audience: str, agency_id: str, ext: str = "html") -> Path:
    """Where one agency's pack goes (``ext`` html or pdf)."""
    html = REGISTRY["pack"].output(out, year=year_code, return_code=return_code, audience=audience,
                                   agency_id=agency_id)
    return html.with_suffix(f".{ext}")


def build_packs(data_dir: Path, year: str, return_code: str, agencies: list[str] | None, audiences: list[str],
                thresholds: str, out: Path, pdf: bool = True, workers: int = 1, run_date: str = "",
                results_dir: Path | None = None, progress=None, force: bool = False, executor=None) -> BuildSummary:
    """Build every requested pack whose inputs changed (all of them with ``force``); compute once, render many."""
    if Path(str(thresholds)).is_file():  # the kernel may run in another folder: pass files absolute
        thresholds = str(Path(str(thresholds)).resolve())
    pr = load_or_compute(data_dir, year, return_code, thresholds, results_dir)
    known = list(pr.agencies["agency_id"])
    if agencies:
        unknown = [a for a in agencies if a not in known]
        if unknown:
            raise InputError(f"agency '{unknown[0]}' is not on the register for {pr.meta['year']} {pr.meta['return']}")
    period = pr.period
    common = {"year": year, "return_code": return_code, "data_dir": str(Path(data_dir).resolve()),
              "thresholds": str(thresholds), "run_date": run_date,
              "results_dir": str(results_dir) if results_dir else ""}
    digests = pack_digests(pr, agencies or known, audiences)
    jobs = [job("pack", dict(common, agency_id=a, audience=aud),
                pack_path(out, period.year.code, period.return_code, aud, a), {"agency_id": a, "audience": aud},
                digests[(a, aud)])
            for aud in audiences for a in agencies or known]
    # The manifest vouches for a finished run: none while outputs are being rebuilt (or were cut short).
    summary = run_jobs(jobs, pdf, workers, progress, force, executor,
                       before_work=lambda: (Path(out) / "manifest.json").unlink(missing_ok=True))
    write_worklist(out, pr)
    return summary


def worklist_path(out: Path, pr: PackResults) -> Path:
    return Path(out) / pr.period.year.code / pr.period.return_code / "worklist.html"


def worklist_rows(pr: PackResults, out: Path) -> list[dict]:
    """One row per agency: statuses, suggested interventions, changes since the previous return; worst first."""
    target = worklist_path(out, pr)
    levels = list(context.review_params()["interventions"])
    rows = []
    for a in pr.agencies.itertuples():
        res = pr.results[pr.results["agency_id"] == a.agency_id].set_index("indicator")
        facts = context.facts_for(pr, a.agency_id)
        sugg = review.suggest(review.situation(pr, a.agency_id, facts, pr.tables.get("reviews")))
        statuses = [res.loc[ind.id, "status"] for ind in INDICATORS]
        top = max((levels.index(s.intervention) for s in sugg), default=0)
        rows.append({
            "sort": (min(STATUS_ORDER[s] for s in statuses), -statuses.count("at_risk"), a.agency_id),
            "agency_id": a.agency_id, "agency_name": str(a.agency_name),
            "href": relative_link(pack_path(out, pr.period.year.code, pr.period.return_code, "dfe", a.agency_id),
                                  target),
            "statuses": [{"status": s, "order": STATUS_ORDER[s]} for s in statuses],
            "suggestions": [s.text for s in sugg], "suggestion_order": 9 - top,
            "changes": [f"{c['title']}: {STATUS_LABELS[c['from']].lower()} → {STATUS_LABELS[c['to']].lower()}"
                        for c in changes(pr, a.agency_id)],
        })
    return sorted(rows, key=lambda r: r["sort"])


def write_worklist(out: Path, pr: PackResults) -> Path:
    """The account manager's worklist (DfE only), made again only when the results or the rules changed."""
    target = worklist_path(out, pr)
    key = builds.page_key("worklist", pr.meta["key"])  # every agency's results, the review rules, the code
    if builds.file_fresh(target, key):
        return target
    heads = ["Agency"] + [i.title for i in INDICATORS] + ["Suggested interventions (advisory)",
                                                          "Changed since the previous return"]
    write_page(target, "worklist.html.j2", title=f"Account manager's worklist: {pr.period.year.label} "
               f"{pr.period.return_code}", run_date="", period_label=f"{pr.period.year.label} {pr.period.return_code}",
               headings=heads, rows=worklist_rows(pr, out))
    builds.note_file(target, key)
    return target

