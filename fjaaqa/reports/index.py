"""The one index of a run's outputs: ``index.html`` at the top of ``--out``, for every report kind.

It lists what is on disk, not what one command made, so every command that
writes it gives the same page for the same folder: the agencies and their
statuses with links to their packs (when pack results are given), then
every other registered kind's outputs (found by the kind's path in the
registry), the FRM listings, and any other file of the period.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..periods import make_period
from ..quality.indicators import INDICATORS
from ..quality.results import PackResults
from ..render.engine import BuildSummary
from ..render.pages import write_page
from .pack import pack_path
from .pack_sections import shown_value
from .registry import REGISTRY, ReportKind

KIND_FOLDERS = {"packs", "frm", "scenarios", "summary"}  # a period's folders that hold a kind's outputs


def found(kind: ReportKind, out: Path) -> list[tuple[Path, dict]]:
    """Every output of ``kind`` under ``out``, with the fields its path was made from."""
    pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+?)", re.escape(kind.path)) + "$")
    hits = []
    for p in sorted(Path(out).glob(re.sub(r"\{\w+\}", "*", kind.path))):
        m = pattern.match(p.relative_to(out).as_posix())
        if m:
            hits.append((p, m.groupdict()))
    return hits


def _label(kind: ReportKind, fields: dict) -> str:
    if "year" in fields:  # the period as people write it (2023-24), not as folders name it (2324)
        fields = dict(fields, year=make_period(fields["year"], fields.get("return_code", "R14")).year.label)
    return kind.index_label.format(**kind.index_words(fields))


def _agency_rows(out: Path, pr: PackResults, summary: BuildSummary) -> tuple[list[dict], int, int]:
    """The agencies, most serious first, with each indicator's status and links to their packs."""
    res = pr.results
    period = pr.period
    built = {(b["agency_id"], b["audience"]) for b in summary.present}
    worst = res.assign(ar=res["status"] == "at_risk", ni=res["status"] == "needs_improvement").groupby("agency_id")[
        ["ar", "ni"]].sum()
    agencies = pr.agencies.assign(ar=pr.agencies["agency_id"].map(worst["ar"]),
                                  ni=pr.agencies["agency_id"].map(worst["ni"]))
    agencies = agencies.sort_values(["ar", "ni", "agency_id"], ascending=[False, False, True])
    rows = []
    for a in agencies.itertuples():
        mine = res[res["agency_id"] == a.agency_id].set_index("indicator")
        cells = [{"status": mine.loc[ind.id, "status"], "value": shown_value(mine.loc[ind.id].to_dict(), ind.id)}
                 for ind in INDICATORS]
        links = []
        for aud, label in (("dfe", "DfE pack"), ("agency", "Agency pack")):
            if (a.agency_id, aud) in built:
                html = pack_path(out, period.year.code, period.return_code, aud, a.agency_id)
                pdf = html.with_suffix(".pdf")
                links.append({"label": label, "href": html.relative_to(out).as_posix(),
                              "pdf": pdf.relative_to(out).as_posix() if pdf.exists() else ""})
        rows.append({"agency_id": a.agency_id, "agency_name": str(a.agency_name), "cells": cells, "links": links})
    n_ar = int((worst["ar"] > 0).sum())
    n_ni = int(((worst["ar"] == 0) & (worst["ni"] > 0)).sum())
    return rows, n_ar, n_ni


def write_index(out: Path, pr: PackResults | None = None, summary: BuildSummary | None = None,
                run_date: str = "") -> Path:
    """``index.html`` linking every output under ``out``; with pack results, each agency's headline status first."""
    out = Path(out)
    listed = [{"href": p.relative_to(out).as_posix(), "label": _label(k, fields)}
              for k in REGISTRY.values() if k.index_label for p, fields in found(k, out)]
    frm = [fields | {"href": p.relative_to(out).as_posix()} for p, fields in found(REGISTRY["frm"], out)]
    listings = []
    for listing in sorted(out.glob("*/R[0-9][0-9]/frm/index.html")):
        reports = [{"label": f["ukprn"], "href": f["href"]} for f in frm
                   if Path(f["href"]).parent == listing.parent.relative_to(out)]
        listings.append({"href": listing.relative_to(out).as_posix(), "reports": reports,
                         "label": f"{listing.parent.parent.parent.name} {listing.parent.parent.name}"})
    page = {"listed": listed, "frm": listings, "run_date": run_date, "worklist": "", "methodology": "", "other": [],
            "agencies": [], "headings": [i.title for i in INDICATORS], "failed": []}
    if pr is None:
        return write_page(out / "index.html", "index.html.j2", title="fjaaqa outputs", period_label="", **page)
    period = pr.period
    base = out / period.year.code / period.return_code
    agencies, n_ar, n_ni = _agency_rows(out, pr, summary or BuildSummary())
    first = [p.relative_to(out).as_posix() for p in (base / "worklist.html", base / "methodology.html") if p.is_file()]
    other = sorted(p.relative_to(out).as_posix() for p in base.rglob("*")
                   if p.is_file() and not p.name.startswith(".") and not KIND_FOLDERS & set(p.relative_to(base).parts)
                   and p.relative_to(out).as_posix() not in first)
    label = f"{period.year.label} {period.return_code}"
    page.update(agencies=agencies, other=other, failed=(summary.failed if summary else []),
                worklist=next((f for f in first if f.endswith("worklist.html")), ""),
                methodology=next((f for f in first if f.endswith("methodology.html")), ""))
    return write_page(out / "index.html", "index.html.j2", title=f"fjaaqa outputs: {label}", period_label=label,
                      thresholds_name=pr.meta["thresholds"]["name"], thresholds_hash=pr.meta["thresholds"]["hash"],
                      census=pr.meta["census"], n_at_risk=n_ar, n_needs_improvement=n_ni, **page)


def ensure_index(out: Path) -> Path:
    """An index for a folder that has none yet (so every report's link back resolves); an existing one is kept.

    Only a pack batch knows every agency's statuses, so only it rewrites an
    index; other commands create a plain listing when there is none.
    """
    target = Path(out) / "index.html"
    return target if target.is_file() else write_index(out)
