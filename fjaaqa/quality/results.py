"""Compute indicator results for every agency of a period, in one pass.

Data flows one way: sources -> linked aims -> apprentices measured at the
census -> counts -> classification. Measurements (per apprentice and per aim)
are kept beside the results so breakdowns, case lists and threshold sweeps
need no re-read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..inputs import areas, reference
from ..inputs.link import link_aims, link_reconciliation, programme_aims
from ..inputs.sources import Dataset
from ..periods import Period, make_period
from ..writers import csv_text, records
from . import apprentices as ap
from .indicators import DIMENSIONS, INDICATORS, NO_DATA, classify_counts, counts_by, share_above
from .qar import qar_aims
from .thresholds import ThresholdSet

# The command line's contract: one record per agency x indicator, these fields (CSV adds the detail).
JSON_FIELDS = ["agency_id", "year", "return", "indicator", "numerator", "denominator", "value", "status",
               "threshold_set"]
CSV_FIELDS = JSON_FIELDS[:-1] + ["threshold", "distance", "measure", "note", "threshold_set"]


@dataclass
class Results:
    period: Period
    thresholds: ThresholdSet
    agencies: pd.DataFrame
    results: pd.DataFrame
    breakdowns: pd.DataFrame
    apprentices: pd.DataFrame
    aims: pd.DataFrame
    unlinked: pd.DataFrame
    reconciliation: pd.DataFrame
    rejected: pd.DataFrame
    link_summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    def for_agency(self, agency_id: str) -> pd.DataFrame:
        return self.results[self.results["agency_id"] == agency_id]


@dataclass
class PackResults:
    """What a report needs, for every agency of one period, as the results store keeps it.

    ``meta`` holds the period, thresholds, input hashes and cache key;
    ``tables`` the tidy frames (results, breakdowns, apprentices, aims, ...),
    also reachable as attributes (``pr.results``).
    """

    meta: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # What presentation code works out once per agency and reuses across a report's sections.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def remember(self, key: tuple, make):
        """``make()`` once per ``key`` for this object (its tables never change once loaded)."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def period(self) -> Period:
        return make_period(self.meta["year"], self.meta["return"])


def indicators_json(results: pd.DataFrame) -> str:
    """The command line's JSON: a list, one record per agency x indicator (floats unrounded, NaN as null)."""
    return json.dumps(records(results, JSON_FIELDS), indent=2, ensure_ascii=False) + "\n"


def indicators_csv(results: pd.DataFrame) -> str:
    return csv_text(results, CSV_FIELDS)


def agencies_in_period(register: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Agencies on the register at any point of the year up to the census."""
    census = pd.Timestamp(period.census)
    ystart = pd.Timestamp(period.year.start)
    reg = register.copy()
    on = reg["registered_on"] if "registered_on" in reg else pd.Series(pd.NaT, index=reg.index)
    off = reg["removed_on"] if "removed_on" in reg else pd.Series(pd.NaT, index=reg.index)
    keep = (on.isna() | (on <= census)) & (off.isna() | (off >= ystart))
    return reg[keep].sort_values("agency_id").reset_index(drop=True)


def _attributes(units: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """Breakdown attributes: route, standard, provider, host employer, start cohort, age band."""
    std = reference.standards(ds.table("standards"))
    titles = dict(zip(std["StdCode"], std["title"]))
    route = dict(zip(std["StdCode"], std["route"]))
    u = units.copy()
    code = u["StdCode"].astype("str").where(u["StdCode"].notna())
    u["route"] = code.map(route).fillna(reference.UNKNOWN)
    u["standard"] = [f"{c} {titles[c]}" if c in titles else (f"{c} (not in reference)" if isinstance(c, str) else
                                                             reference.UNKNOWN) for c in code]
    u["provider"] = u["UKPRN"].astype(str)
    host = u["host_employer"] if "host_employer" in u else pd.Series(pd.NA, index=u.index)
    u["host_employer"] = host.fillna("Not recorded")
    if "first_start" in u:
        start = u["first_start"]
    else:  # aims: the apprenticeship's original start where a restart records it
        orig = u["OrigLearnStartDate"] if "OrigLearnStartDate" in u else pd.Series(pd.NaT, index=u.index)
        start = orig.where(orig.notna(), u["LearnStartDate"])
    u["start_cohort"] = ap.start_cohort(start)
    u["age_band"] = ap.age_band(u.get("DateOfBirth", None), start)
    epa = u["EPAOrgID"] if "EPAOrgID" in u else pd.Series(pd.NA, index=u.index)
    u["epa_org"] = epa.fillna("Not recorded")
    return u


def _history(ds: Dataset, period: Period, t: ThresholdSet) -> tuple[dict, dict, dict]:
    """Linked aims, unlinked aims and grouped apprentices for every return up to ``period``."""
    linked, unlinked, grouped = {}, {}, {}
    for p, ret in sorted(ds.returns.items()):
        if p > period:
            continue
        aims = programme_aims(ret)
        linked[p], unlinked[p] = link_aims(aims, ds.commitments, ds.register, ret.employment, t.readings.link)
        grouped[p] = ap.group_apprenticeships(linked[p], t)
    return linked, unlinked, grouped


def measure_period(ds: Dataset, period: Period, t: ThresholdSet, history=None) -> pd.DataFrame:
    """Apprentices of every agency measured at the period's census, with area flags."""
    linked, unlinked, grouped = history or _history(ds, period, t)
    app = grouped[period].copy()
    app["late_reported_from"] = ap.late_reported_from(app, grouped, period)
    app = ap.period_state(app, period, t)
    app = _attributes(app, ds)
    census = pd.Timestamp(period.census)
    wp = areas.workplace_postcode(app, ds.table("placements"), census)
    app = pd.concat([app, wp], axis=1)
    reg = reference.regions_for(app["workplace_postcode"], ds.table("postcodes"))
    app = pd.concat([app, reg], axis=1)
    th = t.indicators.outside_approved_areas
    as_at = app["first_start"] if th.approvals_as_at == "start" else pd.Series(census, index=app.index)
    table = areas.approvals_table(ds.register, ds.table("approvals"))
    app = pd.concat([app, areas.outside_areas(app, table, as_at)], axis=1)
    return app


def _earlier_outside_runs(ds: Dataset, period: Period, t: ThresholdSet, history) -> pd.Series:
    """How many returns in a row just before ``period`` each agency was above the outside-areas threshold."""
    th = t.indicators.outside_approved_areas
    need = th.consecutive_returns - 1
    earlier = sorted(p for p in history[2] if p < period)[-need:] if need > 0 else []
    runs = pd.Series(dtype="int64")
    streak: dict[str, int] = {}
    for p in earlier:
        app = measure_period(ds, p, t, history)
        ind = next(i for i in INDICATORS if i.id == "outside_approved_areas")
        c = counts_by(app, ind, t, ["agency_id"])
        res = classify_counts(c.assign(earlier_returns_above=0), ind, t)
        above = {r.agency_id for r in res.itertuples()
                 if r.denominator and share_above(r.numerator, r.denominator, th.for_discussion_share_above)}
        streak = {a: (streak.get(a, 0) + 1 if a in above else 0) for a in set(streak) | above}
    if streak:
        runs = pd.Series(streak, dtype="int64")
    return runs


def compute(ds: Dataset, period: Period, t: ThresholdSet) -> Results:
    """Results for all agencies of a period (one record per agency x indicator)."""
    if period not in ds.returns:
        raise InputError(f"no ILR data for {period.year.label} {period.return_code} "
                         f"(expected folder ilr/{period.year.code}/{period.return_code})", file=str(ds.data_dir))
    history = _history(ds, period, t)
    linked, unlinked, grouped = history
    agencies = agencies_in_period(ds.register, period)
    ids = agencies[["agency_id"]]

    app = measure_period(ds, period, t, history)
    app = app[app["agency_id"].isin(agencies["agency_id"])]
    aims = qar_aims(linked, period, t)
    if not aims.empty:
        aims = aims[aims["agency_id"].isin(agencies["agency_id"])]
        aims = _attributes(aims, ds)
    runs = _earlier_outside_runs(ds, period, t, history)

    results, breakdowns = [], []
    for ind in INDICATORS:
        units = aims if ind.uses == "aims" else app
        counts = ids.merge(counts_by(units, ind, t, ["agency_id"]), on="agency_id", how="left")
        counts = counts.fillna({c: 0 for c in counts.columns if c != "agency_id"})
        if ind.id == "outside_approved_areas":
            counts["earlier_returns_above"] = counts["agency_id"].map(runs).fillna(0).astype(int)
        results.append(classify_counts(counts, ind, t))
        if not units.empty:
            for dim in DIMENSIONS:
                c = counts_by(units, ind, t, ["agency_id", dim])
                if ind.id == "outside_approved_areas":
                    c["earlier_returns_above"] = t.indicators.outside_approved_areas.consecutive_returns - 1
                b = classify_counts(c, ind, t).rename(columns={dim: "group"})
                b.insert(2, "dimension", dim)
                breakdowns.append(b)

    res = mark_not_available(pd.concat(results, ignore_index=True), ds.absent, period)
    res = res.merge(agencies[["agency_id", "agency_name"]], on="agency_id", how="left")
    res.insert(1, "year", period.year.label)
    res.insert(2, "return", period.return_code)
    res["threshold_set"] = t.name
    bd = pd.concat(breakdowns, ignore_index=True) if breakdowns else pd.DataFrame(
        columns=["indicator", "agency_id", "dimension", "group"])

    link_summary = link_reconciliation(ds, period, t.readings.link)[["item", "count"]]
    return Results(period=period, thresholds=t, agencies=agencies, results=res, breakdowns=bd, apprentices=app,
                   aims=aims, unlinked=unlinked[period], reconciliation=ds.reconciliation, rejected=ds.rejected,
                   link_summary=link_summary)


# ILR columns an indicator cannot do without: absent means "not available", never a silent pass.
NEEDS_COLUMNS = {
    "withdrawals": ["LearnActEndDate"],
    "achievement_rate": ["LearnActEndDate", "Outcome"],
    "breaks_in_learning": ["LearnActEndDate"],
}


def mark_not_available(res: pd.DataFrame, absent_columns: dict[str, set[str]], period: Period) -> pd.DataFrame:
    """Set ``no_data`` with a note where the period's ILR lacks a column the indicator needs.

    ``absent_columns`` is the loader's record of the optional columns each
    file lacked (``Dataset.absent``). Counts are kept (they are still true);
    value and distance are emptied.
    """
    folder = f"ilr/{period.year.code}/{period.return_code}/deliveries."
    absent = set().union(*[cols for f, cols in absent_columns.items() if f.startswith(folder)] or [set()])
    for ind, cols in NEEDS_COLUMNS.items():
        missing = [c for c in cols if c in absent]
        if missing:
            rows = res["indicator"] == ind
            res.loc[rows, "status"] = NO_DATA
            res.loc[rows, "value"] = float("nan")
            res.loc[rows, "distance"] = float("nan")
            res.loc[rows, "note"] = f"not available: the ILR deliveries have no {', '.join(missing)} column"
    return res
