"""``load_or_compute``: results for every agency of a period, computed once and cached.

The CLI batch and a notebook run on its own both call it, so both give the
same pack. Results are cached as Parquet under ``<cache>/results/<key>``
(the cache folder is ``FJAAQA_CACHE`` or the user's cache folder, never
``--out`` nor the install), keyed by the input files' hashes, the effective
threshold set's hash and the package's own code, so a change to any of them
computes afresh. The cache holds no dates of birth and no postcodes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .. import __version__
from ..digests import code_hash, sha256_file
from ..inputs.benchmarks import FOLDER
from ..inputs.sources import Dataset, ilr_folders, load_dataset, reads_return, reads_table
from ..paths import cache_dir
from ..periods import Period, make_period
from ..quality import benchmarks
from ..quality.results import PackResults, Results, compute
from ..quality.thresholds import ThresholdSet, load_thresholds

# Columns of the per-apprentice and per-aim measurements kept for case lists
# and charts. Learner identifiers stay (restricted case lists need them);
# dates of birth and postcodes never leave the computation.
APPRENTICE_COLUMNS = [
    "agency_id", "ULN", "StdCode", "UKPRN", "LearnRefNumber", "AimSeqNumber", "apprenticeship_id", "host_employer",
    "first_start", "LearnPlanEndDate", "LearnActEndDate", "state", "live", "withdrawn_in_year", "withdrawn_from",
    "WithdrawReason", "withdrawal_days_in", "days_on_break", "days_past_planned_end", "completed_late_days",
    "left_agency", "route", "standard", "provider", "start_cohort", "age_band", "region", "region_basis",
    "workplace_source", "outside", "outside_reason", "approvals_known", "n_aims", "providers", "link_basis",
    "late_reported_from", "Sex", "Ethnicity", "LLDDHealthProb",
]
AIM_COLUMNS = [
    "agency_id", "ULN", "StdCode", "UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnStartDate", "LearnPlanEndDate",
    "LearnActEndDate", "AchDate", "CompStatus", "Outcome", "WithdrawReason", "EPAOrgID", "aim_state", "exclusion",
    "hybrid_end_year", "leaver", "completer", "achiever", "overdue_break", "route", "standard", "provider",
    "host_employer", "start_cohort", "age_band",
]
TABLES = ["results", "previous", "breakdowns", "apprentices", "aims", "reconciliation", "rejected_summary", "providers",
          "link_summary", "files", "agencies", "all_periods", "reviews", "trend", "starts", "collection_form",
          "feedback", "frm", "self_assessment", "rejected", "national"]
FRM_COLUMNS = ["agency_id", "rule", "title", "query_id", "UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnAimRef",
               "LearnStartDate", "change", "reason"]


def input_files(data_dir: Path, period: Period, returns: set[Period] | None = None,
                top: Collection[str] | None = None) -> list[tuple[str, str]]:
    """(relative path, sha256) of every input file a period's results depend on.

    Only the ILR returns in ``returns`` and the top-level tables in ``top``
    when given (FRM's): then no self-assessment or national rate either.
    """
    data_dir = Path(data_dir)
    files = [p for p in sorted(data_dir.glob("*")) if p.is_file() and p.suffix in {".csv", ".parquet"}
             and reads_table(p.stem, top)]
    for p, folder in ilr_folders(data_dir):
        if reads_return(p, period, returns):
            files += [f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix in {".csv", ".parquet", ".xml"}]
            for tree in ("slc", "funding"):  # FRM's loans and earnings (the packs show FRM queries)
                extra = data_dir / tree / p.year.code / p.return_code
                if extra.is_dir():
                    files += [f for f in sorted(extra.iterdir()) if f.is_file()]
    bench = data_dir / FOLDER  # national rates imported with 'fjaaqa benchmarks import'
    if top is None:
        files += self_assessment_files(data_dir)
        if bench.is_dir():
            files += [f for f in sorted(bench.iterdir()) if f.is_file() and f.suffix in {".csv", ".json"}]
    return [(f.relative_to(data_dir).as_posix(), sha256_file(f)) for f in files]


def self_assessment_files(data_dir: Path) -> list[Path]:
    """``DATA/selfassessment/<agency_id>.xlsx|.yaml``: agencies' own self-assessments (optional)."""
    folder = Path(data_dir) / "selfassessment"
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in (".xlsx", ".yaml", ".yml"))


def self_assessment_table(data_dir: Path) -> pd.DataFrame:
    """Component scores of every agency's self-assessment in DATA; a file with problems is listed, not scored."""
    from ..selfassess.reading import read_assessment
    from ..selfassess.scoring import component_scores

    rows = []
    root = Path(data_dir).resolve()
    for f in self_assessment_files(data_dir):
        if root not in f.resolve().parents:  # a link out of DATA is not read
            rows.append({"agency_id": f.stem, "file": f.name, "problems": 1,
                         "first_problem": "a symbolic link to a file outside the data folder: not read"})
            continue
        try:
            a = read_assessment(f)
        except Exception as exc:  # an unreadable file is reported in the pack, never stops the batch
            rows.append({"agency_id": f.stem, "file": f.name, "problems": 1, "first_problem": str(exc)[:200]})
            continue
        if a.problems:  # listed under the agency the file is named for, never one its contents claim
            rows.append({"agency_id": f.stem, "file": f.name, "problems": len(a.problems),
                         "first_problem": a.problems[0].split(": ", 1)[-1][:200]})
            continue
        for r in component_scores(a).itertuples():
            rows.append({"agency_id": a.agency_id, "file": f.name, "problems": 0, "first_problem": "",
                         "assessment_date": a.assessment_date.isoformat(), "component": r.component,
                         "title": r.title, "score": r.score, "evidence_coverage": r.evidence_coverage})
    return pd.DataFrame(rows, columns=["agency_id", "file", "problems", "first_problem", "assessment_date",
                                       "component", "title", "score", "evidence_coverage"])


def cache_key(data_dir: Path, period: Period, t: ThresholdSet) -> tuple[str, list[tuple[str, str]]]:
    files = input_files(data_dir, period)
    doc = json.dumps({"files": files, "thresholds": t.hash, "code": code_hash(), "period": str(period),
                      "cited_national_rates": sha256_file(benchmarks.params_file())}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:20], files


def default_results_dir() -> Path:
    return cache_dir("results")


def _keep(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[[c for c in cols if c in df.columns]].reset_index(drop=True)


def _rejected_summary(rejected: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows counted by file, field and rule (values are not carried: they may be personal)."""
    if rejected.empty:
        return pd.DataFrame(columns=["file", "field", "rule", "message", "rows"])
    g = rejected.groupby(["file", "field", "rule", "message"], sort=True).size().rename("rows")
    return g.reset_index()


def _tables(res: Results, previous: Results | None, ds: Dataset, all_periods: list[Period]) -> dict:
    agencies = res.agencies[[c for c in ["agency_id", "agency_name", "registered_on", "approved_routes",
                                         "approved_regions"] if c in res.agencies]].copy()
    return {
        "results": res.results,
        "previous": previous.results if previous is not None else pd.DataFrame(columns=res.results.columns),
        "breakdowns": res.breakdowns,
        "apprentices": _keep(res.apprentices, APPRENTICE_COLUMNS),
        "aims": _keep(res.aims, AIM_COLUMNS),
        "reconciliation": res.reconciliation,
        "rejected_summary": _rejected_summary(res.rejected),
        "rejected": res.rejected.astype("string"),  # every quarantined row (the demo writes them out)
        "link_summary": res.link_summary,
        "files": ds.files,
        "agencies": agencies,
        "all_periods": pd.DataFrame({"year": [p.year.label for p in all_periods],
                                     "return": [p.return_code for p in all_periods]}),
        "reviews": ds.table("reviews"),
        # only the break initiator is kept from the Data Collection Form
        "collection_form": ds.table("collection_form").reindex(columns=["agency_id", "ULN", "StdCode", "item",
                                                                        "value"]),
        "feedback": ds.table("feedback"),
        "providers": ds.table("providers").reindex(columns=["UKPRN", "provider_name"]),
    }


def starts_table(res: Results, previous: Results | None, period: Period) -> pd.DataFrame:
    """New starts in the year up to the census, and in the same months of the year before.

    The basis for any cap on starts: counts by month, route, region and
    training provider, this year against last year up to the same point.
    """
    frames = []
    for label, r, year in (("this year", res, period.year), ("last year", previous, period.year.previous())):
        if r is None:
            continue
        a = r.apprentices
        census = pd.Timestamp(period.census.replace(year=period.census.year - (0 if label == "this year" else 1)))
        new = a[(a["first_start"] >= pd.Timestamp(year.start)) & (a["first_start"] <= census)]
        frames.append(pd.DataFrame({"agency_id": new["agency_id"].to_numpy(), "year": label,
                                    "month": new["first_start"].dt.strftime("%m %b").to_numpy(),
                                    "route": new["route"].to_numpy(), "region": new["region"].to_numpy(),
                                    "provider": new["provider"].to_numpy()}))
    cols = ["agency_id", "year", "month", "route", "region", "provider"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def frm_table(ds: Dataset, period: Period, res: Results) -> tuple[pd.DataFrame, dict]:
    """Funding rules monitoring queries on the agencies' own apprentices (matched on UKPRN and learner reference).

    The rules run over the whole return (every provider); only rows for
    learners linked to an agency are kept for the packs.
    """
    from ..frm.run import run_frm

    fr = run_frm(ds, period)
    links = res.aims[["agency_id", "UKPRN", "LearnRefNumber"]].drop_duplicates()
    flags = fr.flags.merge(links, on=["UKPRN", "LearnRefNumber"], how="inner")
    flags["title"] = flags["rule"].map({r.id: r.title for r in fr.catalogue.rules})
    flags = flags.sort_values(["agency_id", "rule", "UKPRN", "LearnRefNumber", "query_id"], kind="stable")
    meta = {"catalogue": fr.catalogue.year, "note": fr.note, "unavailable": fr.unavailable,
            "compared_with": fr.compared_with.label if fr.compared_with else None}
    return flags.reindex(columns=FRM_COLUMNS).reset_index(drop=True), meta


def write_entry(folder: Path, tables: dict[str, pd.DataFrame], meta: dict) -> None:
    """Write a cache entry whole (tables as Parquet, meta.json): into a temporary folder, then rename.

    Shared by the results cache and the FRM cache. Object columns are stored as text.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, df in tables.items():
            out = df.copy()
            for c in out.columns:
                if out[c].dtype == object:
                    out[c] = out[c].astype("str").where(out[c].notna())
            out.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
        if folder.exists():
            shutil.rmtree(tmp)
            return
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_results(folder: str | Path) -> PackResults:
    """Load a cache entry written by :func:`load_or_compute`.

    An entry never changes once written (its folder is named by the hash of
    everything it was made from), so a warm kernel keeps the last few it read
    instead of reading the same Parquet files again for every pack. Each
    caller gets its own ``PackResults`` (the tables themselves are shared and
    are only ever read).
    """
    meta, tables = _read_entry(str(Path(folder).resolve()))
    return PackResults(meta=json.loads(meta), tables=dict(tables))


@lru_cache(maxsize=4)
def _read_entry(folder: str) -> tuple[str, dict[str, pd.DataFrame]]:
    folder = Path(folder)
    meta = (folder / "meta.json").read_text()
    return meta, {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}


# Statuses of earlier returns computed in this process, by the earlier return's own cache key. A
# period's statuses depend only on its own and earlier files (which that key hashes), so a batch that
# fills several periods' entries (the demo) measures each return once, not once per later period.
_EARLIER: dict[str, Results] = {}


def _earlier_results(ds: Dataset, data_dir: Path, period: Period, t: ThresholdSet) -> Results:
    key, _ = cache_key(data_dir, period, t)
    if key not in _EARLIER:
        _EARLIER[key] = compute(ds, period, t)
    return _EARLIER[key]


def load_or_compute(data_dir: str | Path, year: str, return_code: str,
                    thresholds: str | Path | ThresholdSet = "quality-framework-2023",
                    results_dir: str | Path | None = None) -> PackResults:
    """Results for all agencies of a period (and the previous year's R14), from cache or computed."""
    data_dir = Path(data_dir).resolve()
    period = make_period(year, return_code)
    t = thresholds if isinstance(thresholds, ThresholdSet) else load_thresholds(thresholds)
    key, files = cache_key(data_dir, period, t)
    folder = Path(results_dir or default_results_dir()) / key
    if (folder / "meta.json").is_file():
        return read_results(folder)

    ds = load_dataset(data_dir, up_to=period)
    res = compute(ds, period, t)
    _EARLIER[key] = res
    prev_period = make_period(period.year.previous(), "R14")
    # Every earlier return in DATA, for trends and "what changed" (measure once, keep the statuses).
    earlier = {p: _earlier_results(ds, data_dir, p, t) for p in sorted(ds.returns) if p < period}
    previous = earlier.get(prev_period)
    trend = pd.concat([r.results.assign(period=str(p), period_order=i)
                       for i, (p, r) in enumerate(sorted({**earlier, period: res}.items()))], ignore_index=True)
    meta = {
        "year": period.year.label, "return": period.return_code, "census": period.census.isoformat(),
        "previous_year": prev_period.year.label, "previous_available": previous is not None,
        "thresholds": {"name": t.name, "title": t.title, "source": t.source, "hash": t.hash,
                       "values": t.model_dump(mode="json")},
        "version": __version__, "code_hash": code_hash(), "key": key,
        "inputs": [{"file": f, "sha256": h} for f, h in files],
        "absent_columns": {k: sorted(v) for k, v in sorted(ds.absent.items())},
    }
    tables = _tables(res, previous, ds, sorted(ds.returns))
    tables["trend"] = trend[["agency_id", "period", "period_order", "indicator", "numerator", "denominator", "value",
                             "status"]]
    tables["starts"] = starts_table(res, previous, period)
    tables["frm"], meta["frm"] = frm_table(ds, period, res)
    tables["self_assessment"] = self_assessment_table(data_dir)
    tables["national"], meta["national"] = benchmarks.national_table(data_dir)
    write_entry(folder, tables, meta)
    return read_results(folder)
