"""Funding rules monitoring (FRM): the ESFA's post-16 reports over ILR data.

Each report is data in ``params/frm/<year>.yaml`` (:mod:`fjaaqa.frm.catalogue`)
plus one function in :mod:`fjaaqa.frm.rules` that returns the rows it flags. Every function takes the same prepared
inputs and returns rows of the aims table (aim-level reports) or the
students table (learner-level reports) with a ``reason`` in words; this
runner turns them into one uniform shape, adds the query ID, the funding
impact and the change since the previous return.

A report whose inputs are absent says "not available" rather than passing
silently, and so does a report not yet published at the run's return (FRM71
before R09 2022-23). A report that changed within the year runs the version
in force at the return. Reports named as withdrawn (FRM02, FRM03, FRM50) are
listed with no logic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..periods import AcademicYear, Period
from .catalogue import INPUT_WORDS, Catalogue, Rule, read_catalogue
from .inputs import FINAL_RETURN, FrmInputs, build_inputs, query_key
from .rules import RULES, VERSION_PARAMS

FLAG_COLUMNS = ["UKPRN", "rule", "query_id", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "LearnStartDate",
                "funding_stream", "PartnerUKPRN", "funding_impact", "change", "reason"]
STATUS_COLUMNS = ["UKPRN", "rule", "available", "flagged", "new", "persisting", "resolved", "funding_impact"]


def load_catalogue(year: str | AcademicYear | None = None) -> tuple[Catalogue, str | None]:
    """The catalogue for ``year`` (see :func:`~fjaaqa.frm.catalogue.read_catalogue`), every rule with its logic."""
    cat, note = read_catalogue(year)
    missing = [r.id for r in cat.rules if r.id not in RULES]
    if missing:
        raise InputError(f"rule {missing[0]} has no logic in fjaaqa.frm.rules", file=f"params/frm/{cat.year}.yaml")
    check_versions(cat)
    return cat, note


def check_versions(cat: Catalogue) -> None:
    """Each versioned rule gives exactly the params its function reads: one clear line here, not a mid-run crash."""
    for r in cat.rules:
        wanted = VERSION_PARAMS.get(r.id)
        if (wanted is None) != (not r.versions):
            why = "its logic reads versions the catalogue does not give" if wanted is not None \
                else "the catalogue gives versions its logic does not read"
            raise InputError(f"rule {r.id}: {why}", file=f"params/frm/{cat.year}.yaml")
        for v in r.versions:
            if set(v.params) != wanted:
                raise InputError(f"rule {r.id} version from {v.from_return}: params must be "
                                 f"{', '.join(sorted(wanted)) or 'none'}", file=f"params/frm/{cat.year}.yaml")


# ------------------------------------------------------------------ running the catalogue

def query_id(rule_id: str, key: pd.Series) -> pd.Series:
    """A short, stable ID per rule and aim (or learner): the same row gets the same ID in every return."""
    return key.map(lambda k: f"{rule_id}-{hashlib.sha256(f'{rule_id}|{k}'.encode()).hexdigest()[:10]}")


def _shape(rule: Rule, rows: pd.DataFrame, x: FrmInputs) -> pd.DataFrame:
    """Flagged rows in the uniform shape, with query ID and funding impact."""
    out = pd.DataFrame(index=rows.index)
    out["UKPRN"] = rows["UKPRN"].astype(str)
    out["rule"] = rule.id
    out["LearnRefNumber"] = rows["LearnRefNumber"].astype("string") if "LearnRefNumber" in rows else pd.NA
    if rule.level == "aim":
        out["AimSeqNumber"] = rows["AimSeqNumber"].astype("string")
        out["LearnAimRef"] = rows["LearnAimRef"].astype("string")
        out["LearnStartDate"] = pd.to_datetime(rows["LearnStartDate"]).dt.strftime("%Y-%m-%d")
        if rule.id == "FRM20":  # an SLC record: the ILR has no learner reference to key on
            key = rows["UKPRN"].astype(str) + "|slc|" + rows["ULN"].astype(str) + "|" + out["LearnAimRef"] + "|" \
                + out["LearnStartDate"]
        else:
            key = query_key(rows)
        out["funding_stream"] = rows["stream"]
    else:
        out["AimSeqNumber"] = pd.NA
        out["LearnAimRef"] = pd.NA
        out["LearnStartDate"] = pd.NA
        key = rows["UKPRN"].astype(str) + "|" + rows["LearnRefNumber"].astype(str)
        out["funding_stream"] = rows["stream"]
    partner = rows["PartnerUKPRN"] if "PartnerUKPRN" in rows else pd.Series(pd.NA, index=rows.index)
    out["PartnerUKPRN"] = partner.astype("string")
    out["query_id"] = query_id(rule.id, key)
    out["funding_impact"] = _impact(rule, rows, x)
    out["change"] = "new"
    out["reason"] = rows["reason"].astype(str)
    return out[FLAG_COLUMNS]


def _impact(rule: Rule, rows: pd.DataFrame, x: FrmInputs) -> pd.Series:
    """Funding at risk per row: the aim's earnings, the learner's for learner-level reports, SLC payments for FRM20."""
    if rule.id == "FRM20":
        return rows["slc_amount"].astype("Float64")
    if x.earnings is None:
        return pd.Series(pd.NA, index=rows.index, dtype="Float64")
    e = x.earnings.copy()
    e["amount"] = pd.to_numeric(e["amount"], errors="coerce")
    learner_level = e["AimSeqNumber"].isna()
    per_learner = e[learner_level].groupby(["UKPRN", "LearnRefNumber"])["amount"].sum().to_dict()
    if rule.level == "learner":
        per_learner = e.groupby(["UKPRN", "LearnRefNumber"])["amount"].sum().to_dict()
        values = [per_learner.get(k) for k in zip(rows["UKPRN"], rows["LearnRefNumber"])]
    else:
        # 16 to 19 funding is per learner: an aim without its own earnings takes its learner's.
        per_aim = e[~learner_level].groupby(["UKPRN", "LearnRefNumber", "AimSeqNumber"])["amount"].sum().to_dict()
        values = [per_aim.get((u, r, str(a)), per_learner.get((u, r)))
                  for u, r, a in zip(rows["UKPRN"], rows["LearnRefNumber"], rows["AimSeqNumber"])]
    # No earnings row for a flagged aim or learner: the impact is not known (not zero).
    return pd.Series([pd.NA if v is None else round(float(v), 2) for v in values], index=rows.index, dtype="Float64")


@dataclass
class FrmResult:
    """Flags and per-rule status for one return, with what was compared."""

    period: Period
    catalogue: Catalogue
    flags: pd.DataFrame
    status: pd.DataFrame     # one row per provider x rule
    unavailable: dict[str, str]  # rule -> missing inputs, in words
    compared_with: Period | None = None
    resolved: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS))
    note: str | None = None
    meta: dict = field(default_factory=dict)  # provenance when read from the cache (inputs, code hash)


def evaluate(x: FrmInputs, cat: Catalogue, rules: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Run every rule whose inputs are present, in the version in force at the return; the others say why not."""
    frames, unavailable = [], {}
    for rule in cat.rules:
        if rules and rule.id not in rules:
            continue
        rule = rule.at(x.period, cat.year)
        if not rule.published_at(x.period, cat.year):
            unavailable[rule.id] = f"first published at {rule.versions[0].from_return} of {cat.year}"
            continue
        missing = [n for n in rule.needs if not x.available.get(n)]
        if missing:
            unavailable[rule.id] = "needs " + " and ".join(INPUT_WORDS[n] for n in missing)
            continue
        rows = RULES[rule.id](x, cat.settings, rule)
        if not rows.empty:
            frames.append(_shape(rule, rows, x))
    flags = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLAG_COLUMNS)
    flags = flags.sort_values(["UKPRN", "rule", "query_id"], kind="stable").reset_index(drop=True)
    return flags, unavailable


def previous_return(periods, period: Period) -> Period | None:
    """The return before ``period`` among ``periods``: the same year's latest earlier return, else last year's last."""
    earlier = [p for p in periods if p < period]
    return max(earlier) if earlier else None


@dataclass
class Previous:
    """The return a run is compared with, and its flags when a kept run of it already has them.

    Without flags, the run works them out from the data, as it always did.
    """

    period: Period
    flags: pd.DataFrame | None = None


def returns_read(periods, period: Period, previous: Previous | None) -> set[Period]:
    """The ILR returns a run at ``period`` reads; the loaders open only these and leave the rest of DATA unread.

    The reports read the return itself, each earlier year's last return
    (prior achievements) and last year's R14 (the previous year's
    deliveries). The previous return, and what it reads, are added when its
    flags must be worked out now. The same year's other returns are not read.
    """
    periods = [p for p in periods if p <= period]

    def own(at: Period) -> set[Period]:
        last: dict = {}
        for p in periods:
            if p.year < at.year:
                last[p.year] = max(last.get(p.year, p), p)
        final = {p for p in periods if p.year == at.year.previous() and p.return_code == FINAL_RETURN}
        return {at} | set(last.values()) | final

    wanted = own(period)
    if previous is not None and previous.flags is None:
        wanted |= own(previous.period)
    return wanted


def compared_with(periods, period: Period, compare: bool, given: Previous | None) -> Previous | None:
    """The return a run compares with: ``given`` when the caller knows it, else the latest earlier in ``periods``."""
    if given is not None or not compare:
        return given
    before = previous_return(periods, period)
    return Previous(before) if before is not None else None


def previous_flags(previous: Previous | None, evaluate_at) -> pd.DataFrame | None:
    """The previous return's flags: the kept run's when given, else ``evaluate_at(period)`` works them out now."""
    if previous is None:
        return None
    return previous.flags if previous.flags is not None else evaluate_at(previous.period)


def run_frm(ds, period: Period, ukprns: list[str] | None = None, compare: bool = True,
            previous: Previous | None = None) -> FrmResult:
    """All rules for one return, compared with the previous return in DATA (new / persisting / resolved).

    ``previous`` names that return (and may bring its kept flags) when the
    caller knows it, as when only some returns were loaded; by default it is
    the latest earlier return in ``ds``.
    """
    cat, note = load_catalogue(period.year)
    x = build_inputs(ds, period, cat.settings)
    flags, unavailable = evaluate(x, cat)
    previous = compared_with(ds.returns, period, compare, previous)
    prev_flags = previous_flags(previous, lambda p: evaluate(build_inputs(ds, p, cat.settings), cat)[0])
    prev_period = previous.period if previous is not None else None
    flags, resolved = compare_returns(flags, prev_flags, cat, prev_period, period, ukprns)
    providers = sorted(set(ukprns) if ukprns else set(x.aims["UKPRN"].astype(str)) | set(flags["UKPRN"]))
    status = rule_status(cat, flags, resolved, unavailable, providers)
    return FrmResult(period, cat, flags, status, unavailable, prev_period, resolved.reset_index(drop=True), note)


def compare_returns(flags: pd.DataFrame, prev_flags: pd.DataFrame | None, cat: Catalogue, prev_period: Period | None,
                    period: Period, ukprns: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flags marked new or persisting against the previous return's, the rows gone as resolved; both engines use it.

    Only ``ukprns``' rows are kept when given.
    """
    resolved = pd.DataFrame(columns=FLAG_COLUMNS)
    if prev_flags is not None:
        before = set(prev_flags["query_id"])
        flags["change"] = flags["query_id"].map(lambda q: "persisting" if q in before else "new")
        resolved = prev_flags[~prev_flags["query_id"].isin(set(flags["query_id"]))].assign(change="resolved")
        resolved = say_report_changed(resolved, cat, prev_period, period)
    if ukprns:
        keep = {str(u) for u in ukprns}
        flags = flags[flags["UKPRN"].isin(keep)].reset_index(drop=True)
        resolved = resolved[resolved["UKPRN"].isin(keep)].reset_index(drop=True)
    return flags, resolved


def say_report_changed(resolved: pd.DataFrame, cat: Catalogue, before: Period, now: Period) -> pd.DataFrame:
    """A row gone because ESFA changed the report between the two returns says so, not only "resolved".

    The provider did not fix it: the report stopped asking. The row still
    counts as resolved (it is no longer a query), and its reason tells why.
    """
    changed = {r.id: r.version_at(now, cat.year) for r in cat.rules
               if r.versions and r.version_at(before, cat.year) != r.version_at(now, cat.year)}
    if resolved.empty or not changed:
        return resolved
    out = resolved.copy()
    for rule_id, version in changed.items():
        mine = out["rule"] == rule_id
        since = f"at {version.from_return}" if version is not None else "since the last return"
        out.loc[mine, "reason"] = out.loc[mine, "reason"].astype(str) + \
            f" (no longer queried: the report changed {since}, not necessarily put right)"
    return out


def rule_status(cat: Catalogue, flags: pd.DataFrame, resolved: pd.DataFrame, unavailable: dict[str, str],
                providers: list[str]) -> pd.DataFrame:
    """Per provider and rule: flagged rows, new, persisting, resolved, funding impact (or not available)."""
    rows = []
    by = dict(iter(flags.groupby(["UKPRN", "rule"])))  # a GroupBy has .keys: dict() alone would misread it
    gone = resolved.groupby(["UKPRN", "rule"]).size().to_dict() if not resolved.empty else {}
    for ukprn in providers:
        for rule in cat.rules:
            g = by.get((ukprn, rule.id))
            n = 0 if g is None else len(g)
            impact = (None if g is None or g["funding_impact"].isna().all()
                      else round(float(g["funding_impact"].sum()), 2))
            rows.append({"UKPRN": ukprn, "rule": rule.id, "available": rule.id not in unavailable, "flagged": n,
                         "new": 0 if g is None else int((g["change"] == "new").sum()),
                         "persisting": 0 if g is None else int((g["change"] == "persisting").sum()),
                         "resolved": int(gone.get((ukprn, rule.id), 0)), "funding_impact": impact})
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)


def list_rules(cat: Catalogue) -> list[str]:
    """``id<TAB>title`` lines: published rules, then the withdrawn ones marked as such."""
    lines = [f"{r.id}\t{r.title}" for r in cat.rules]
    lines += [f"{w.id}\t{w.title} (withdrawn from publication in {cat.year}; no logic)" for w in cat.withdrawn]
    return lines


def to_records(result: FrmResult) -> list[dict]:
    """Flags as JSON-ready records in DESIGN's shape (empty strings for absent aim fields)."""
    cols = ["UKPRN", "rule", "query_id", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "funding_stream",
            "funding_impact", "change"]
    out = []
    for rec in result.flags[cols + ["LearnStartDate", "reason"]].to_dict("records"):
        row = {}
        for k, v in rec.items():
            if k == "funding_impact":
                row[k] = None if pd.isna(v) else float(v)
            else:
                row[k] = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
        out.append(row)
    return out


def write_outputs(result: FrmResult, out: str | Path) -> list[Path]:
    """Flags (CSV and JSON), resolved rows and per-rule counts under ``<out>/<year>/<return>/frm/``.

    These are restricted query lists (learner references), for the provider's own data team.
    """
    import json

    from ..writers import atomic_write, csv_text

    folder = Path(out) / result.period.year.code / result.period.return_code / "frm"
    written = [
        atomic_write(folder / "frm_flags.csv", csv_text(result.flags, FLAG_COLUMNS), private=True),
        atomic_write(folder / "frm_flags.json", json.dumps(to_records(result), indent=2, ensure_ascii=False) + "\n",
                     private=True),
        atomic_write(folder / "frm_resolved.csv", csv_text(result.resolved, FLAG_COLUMNS), private=True),
        atomic_write(folder / "frm_status.csv", csv_text(result.status, STATUS_COLUMNS)),
        atomic_write(folder / "frm_run.json", json.dumps(run_summary(result), indent=2, ensure_ascii=False) + "\n"),
    ]
    return written


def run_summary(result: FrmResult) -> dict:
    """What was run: the return, the catalogue used (and a note if it is another year's), what was compared, gaps."""
    return {
        "year": result.period.year.label, "return": result.period.return_code,
        "catalogue": result.catalogue.year, "catalogue_source": result.catalogue.source, "note": result.note,
        "compared_with": result.compared_with.label if result.compared_with else None,
        "rules_not_available": result.unavailable,
        "flagged": len(result.flags), "resolved": len(result.resolved),
    }
