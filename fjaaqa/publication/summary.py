"""The periodic quality summary: national figures for publication, with disclosure control and commentary.

Built from the stored results of one period, compared like with like: with
the same return of the previous year (R14 with R14, R06 with R06), never
with a part-year return of the same year; an earlier return of the same
year is mentioned only as in-year movement, as such. It holds the number of
agencies and apprentices, each indicator's distribution across agencies,
agencies by status, and rates by route and by region. Every breakdown adds
up to its total: what no category holds goes to a remainder row (a route not
recorded; a workplace outside England or unknown). Tables are kept
unrounded here; :mod:`fjaaqa.disclosure` turns them into published text,
:mod:`fjaaqa.ees` writes them as open data. Commentary sentences are
generated only from numbers in these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pandas as pd
import yaml
from pydantic import Field

from ..models import Strict
from ..paths import resource
from ..quality.indicators import BY_ID, INDICATORS, STATUS_LABELS, STATUSES
from ..quality.results import PackResults
from .audit import audit_summary
from .disclosure import NOT_APPLICABLE, Rate, few_contributors, protect


class Disclosure(Strict):
    suppress_below: int
    min_agencies_per_cell: int = Field(ge=1)  # an apprentice count beside fewer agencies than this is suppressed
    rate_dp: int
    person_counts: list[str]
    protection_width: int = Field(ge=1)  # the disclosure audit's minimum interval width (publication/audit.py)


class Geography(Strict):
    country_code: str
    country_name: str
    region_codes: dict[str, str]
    unknown_region_code: str
    unknown_region_name: str


class Contact(Strict):
    team: str
    email: str


class Release(Strict):
    """One period's pre-announced dates: when it is published, and when the next update is due (and of what)."""

    release: date
    next_update: date
    next_update_covers: str = ""


class PublicationInfo(Strict):
    title: str
    producer: str
    designation: str
    designation_note: str
    licence: str
    licence_address: str
    contact: Contact
    releases: dict[str, Release] = {}


class PublicationParams(Strict):
    disclosure: Disclosure
    named_agencies: bool = False
    unknown_category: str
    geography: Geography
    publication: PublicationInfo


@lru_cache(maxsize=4)
def publication_params(path: str | None = None) -> PublicationParams:
    p = resource("params", "publication.yaml") if path is None else path
    return PublicationParams.model_validate(yaml.safe_load(open(p, encoding="utf-8")))


def time_period(pr: PackResults) -> str:
    """EES academic-year time period: 2023-24 -> 202324."""
    y = pr.meta["year"]
    return y[:4] + y[5:7]


def final(pr: PackResults) -> bool:
    return pr.meta["return"] in ("R13", "R14")


def period_label(pr: PackResults) -> str:
    """How a period is named in words and in ``publication.releases``: ``2023-24 R14``."""
    return f"{pr.meta['year']} {pr.meta['return']}"


def release_of(pr: PackResults, p: PublicationParams) -> Release | None:
    """The period's pre-announced release and next-update dates, if params give them (never the census date)."""
    return p.publication.releases.get(period_label(pr))


def _geo(pr: PackResults, p: PublicationParams, level: str = "National", region: str = "") -> dict:
    g = {"time_period": time_period(pr), "time_identifier": "Academic year", "geographic_level": level,
         "country_code": p.geography.country_code, "country_name": p.geography.country_name}
    if level == "Regional":
        code = p.geography.region_codes.get(region, p.geography.unknown_region_code)
        g.update(region_code=code, region_name=region)
    else:
        g.update(region_code="", region_name="")
    return g


def status_counts(pr: PackResults) -> pd.DataFrame:
    """Agencies by status (rows, with a Total), one column pair per indicator: agencies and their apprentices.

    Statuses an indicator cannot have (for discussion on the four scored
    indicators; at risk and needs improvement on delivery outside approved
    areas) are left empty here and published as ``z`` (not applicable).
    """
    res = pr.results
    total = pr.apprentices[pr.apprentices["live"].astype(bool)].groupby("agency_id").size()
    rows = []
    for s in STATUSES + ["Total"]:
        row = {"status": "Total" if s == "Total" else STATUS_LABELS[s]}
        for ind in INDICATORS:
            r = res[res["indicator"] == ind.id]
            possible = s in ("Total", "on_track", "no_data") or (
                (s == "for_discussion") == (ind.id == "outside_approved_areas"))
            sel = r if s == "Total" else r[r["status"] == s]
            row[f"agencies_{ind.id}"] = len(sel) if possible else None
            row[f"apprentices_{ind.id}"] = (int(total.reindex(list(sel["agency_id"])).fillna(0).sum())
                                            if possible else None)
        rows.append(row)
    return pd.DataFrame(rows)


def _with_attribute(pr: PackResults, dim: str) -> pd.DataFrame:
    """The achievement-rate aims with ``dim``: their own, or their apprenticeship's (e.g. workplace region).

    A leaver whose apprenticeship is not in this return (it ended in an
    earlier year's return, and is a leaver of this year only because its
    planned end falls in it) has no apprenticeship row, so no such attribute.
    """
    aims = pr.aims
    if dim not in aims:
        key = ["agency_id", "ULN", "StdCode"]
        attr = pr.apprentices[key + [dim]].drop_duplicates(key)
        aims = aims.merge(attr, on=key, how="left")
    return aims


def rates_by(pr: PackResults, dim: str, remainder: str, known: list[str] | None = None) -> pd.DataFrame:
    """Apprentices, withdrawals, leavers and achievers by route or region, with the all-agencies Total.

    Categories are ``known`` (in that order) or, when not given, every value
    found (sorted); everyone else — no value recorded, or a value outside
    ``known`` — is counted in one ``remainder`` row, shown when it holds
    anyone, so the categories always add up to the Total.
    """
    app = pr.apprentices[pr.apprentices["live"].astype(bool)]
    aims = _with_attribute(pr, dim)
    found = (set(app[dim].dropna()) | set(aims[dim].dropna())) - {remainder}
    groups = [g for g in known if g in found] if known is not None else sorted(found)
    rows = []
    for g in groups + [remainder, "Total"]:
        if g == "Total":
            a, m = app, aims
        elif g == remainder:
            a, m = app[~app[dim].isin(groups)], aims[~aims[dim].isin(groups)]
        else:
            a, m = app[app[dim] == g], aims[aims[dim] == g]
        row = {dim: g, "apprentices": len(a), "withdrawn": int(a["withdrawn_in_year"].astype(bool).sum()),
               "leavers": int(m["leaver"].astype(bool).sum()), "achievers": int(m["achiever"].astype(bool).sum())}
        if g != remainder or any(row[c] for c in ("apprentices", "leavers")):
            rows.append(row)
    return pd.DataFrame(rows)


def leavers_without(pr: PackResults, dim: str) -> int:
    """Leavers with no ``dim`` because their apprenticeship is not in this return (they go to the remainder row)."""
    aims = _with_attribute(pr, dim)
    return int((aims["leaver"].astype(bool) & aims[dim].isna()).sum())


def placeless_shown(s: Summary, region: pd.DataFrame) -> int | None:
    """How many of the remainder row's leavers have no workplace in this return, when saying so discloses nothing.

    The number is a part of the remainder row's leavers: it may be shown
    only when that cell is published and both the part and the rest are
    zero or at least the suppression threshold (else the note would undo
    the table's suppression, or publish a small count by difference).
    """
    n = leavers_without(s.pr, "region")
    rest = region[region["region_name"] == s.params.geography.unknown_region_name]
    shown = str(rest["leavers"].iloc[0]).replace(",", "") if len(rest) else ""
    if not shown.isdigit():
        return None
    small = s.params.disclosure.suppress_below
    ok = all(v == 0 or v >= small for v in (n, int(shown) - n))
    return n if ok else None


def at_risk_agencies(pr: PackResults) -> int:
    """Agencies at risk on at least one indicator."""
    return int(pr.results.loc[pr.results["status"] == "at_risk", "agency_id"].nunique())


def agency_rates(pr: PackResults) -> pd.DataFrame:
    """Per named agency (only when publication is approved): apprentices, withdrawals, leavers, achievers."""
    a = pr.apprentices[pr.apprentices["live"].astype(bool)].merge(pr.agencies[["agency_id", "agency_name"]],
                                                                  on="agency_id")
    m = pr.aims.merge(pr.agencies[["agency_id", "agency_name"]], on="agency_id")
    rows = []
    for name in sorted(pr.agencies["agency_name"].astype(str)) + ["Total"]:
        x = a if name == "Total" else a[a["agency_name"] == name]
        y = m if name == "Total" else m[m["agency_name"] == name]
        rows.append({"agency_name": name, "apprentices": len(x),
                     "withdrawn": int(x["withdrawn_in_year"].astype(bool).sum()),
                     "leavers": int(y["leaver"].astype(bool).sum()),
                     "achievers": int(y["achiever"].astype(bool).sum())})
    return pd.DataFrame(rows)


def distribution(pr: PackResults) -> pd.DataFrame:
    """Each indicator's spread across agencies with data: count, lowest, quartiles, median, highest (%)."""
    rows = []
    for ind in INDICATORS:
        v = pr.results.loc[(pr.results["indicator"] == ind.id), "value"].dropna()
        q = v.quantile([0.25, 0.5, 0.75]) if len(v) else pd.Series([float("nan")] * 3, index=[0.25, 0.5, 0.75])
        rows.append({"indicator": ind.title, "agencies_with_data": len(v), "lowest": v.min() if len(v) else None,
                     "lower_quartile": q[0.25], "median": q[0.5], "upper_quartile": q[0.75],
                     "highest": v.max() if len(v) else None})
    return pd.DataFrame(rows)


@dataclass
class Summary:
    """Everything the publication shows, unrounded, plus the published (protected) tables."""

    pr: PackResults
    previous: PackResults | None    # the same return of the previous year: the like-for-like comparison
    params: PublicationParams
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)     # published text (EES layout)
    hidden: dict[str, pd.DataFrame] = field(default_factory=dict)     # masks of suppressed cells
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)        # unrounded numbers
    commentary: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    audit: object = None  # the disclosure audit's result (publication/audit.py AuditResult)
    in_year: PackResults | None = None  # an earlier return of the same year: in-year movement, named as such


def build(pr: PackResults, previous: PackResults | None = None, params: PublicationParams | None = None,
          in_year: PackResults | None = None) -> Summary:
    """Compute, protect and describe one period's summary.

    ``previous`` is the same return of the previous year (the headline's
    comparison); ``in_year`` an earlier return of the same year, reported
    only as in-year movement.
    """
    p = params or publication_params()
    d = p.disclosure
    s = Summary(pr, previous, p, in_year=in_year)
    geo = _geo(pr, p)

    st = status_counts(pr)
    s.raw["agencies_by_status"] = st
    people = [c for c in st.columns if c.startswith("apprentices_")]
    agencies = [c for c in st.columns if c.startswith("agencies_")]
    # a count of apprentices beside one agency is that agency's size: hidden, and protected like a small count
    few = few_contributors(st, {c: "agencies_" + c[len("apprentices_"):] for c in people}, d.min_agencies_per_cell)
    out, hide = protect(st, people, [], d.suppress_below, d.rate_dp, None, "status", also=few)
    for c in agencies:  # counts of agencies are not about people: shown as they are
        out[c] = [NOT_APPLICABLE if pd.isna(v) else str(int(v)) for v in st[c]]
    s.tables["fjaa_agencies_by_status"] = pd.concat([pd.DataFrame([geo] * len(out)), out.reset_index(drop=True)],
                                                     axis=1)
    s.hidden["fjaa_agencies_by_status"] = hide

    rates = [Rate("withdrawal_rate", "withdrawn", "apprentices"), Rate("achievement_rate", "achievers", "leavers")]
    route = rates_by(pr, "route", p.unknown_category)
    s.raw["rates_by_route"] = route
    out, hide = protect(route, ["apprentices", "withdrawn", "leavers", "achievers"], rates, d.suppress_below,
                        d.rate_dp, None, "route")
    s.tables["fjaa_rates_by_route"] = pd.concat([pd.DataFrame([geo] * len(out)), out.reset_index(drop=True)], axis=1)
    s.hidden["fjaa_rates_by_route"] = hide

    region = rates_by(pr, "region", p.geography.unknown_region_name, list(p.geography.region_codes))
    s.raw["rates_by_region"] = region
    out, hide = protect(region, ["apprentices", "withdrawn", "leavers", "achievers"], rates, d.suppress_below,
                        d.rate_dp, None, "region")
    geos = [_geo(pr, p, "National") if r == "Total" else _geo(pr, p, "Regional", r) for r in region["region"]]
    out = out.drop(columns=["region"])
    s.tables["fjaa_rates_by_region"] = pd.concat([pd.DataFrame(geos), out.reset_index(drop=True)], axis=1)
    s.hidden["fjaa_rates_by_region"] = hide.drop(columns=["region"])

    if p.named_agencies:
        ag = agency_rates(pr)
        s.raw["agency_rates"] = ag
        out, hide = protect(ag, ["apprentices", "withdrawn", "leavers", "achievers"], rates, d.suppress_below,
                            d.rate_dp, None, "agency_name")
        s.tables["fjaa_rates_by_agency"] = pd.concat([pd.DataFrame([geo] * len(out)), out.reset_index(drop=True)],
                                                      axis=1)
        s.hidden["fjaa_rates_by_agency"] = hide

    dist = distribution(pr)
    s.raw["distribution"] = dist
    s.raw["at_risk_compared"] = at_risk_compared(pr, previous)
    # Disclosure audit (publication/audit.py): every table together, as linear programmes; it may suppress more
    # cells (and their rates) in s.tables and s.hidden. Keep this after every table is built, before commentary.
    s.audit = audit_summary(s)
    s.commentary = commentary(s)
    s.revisions = revisions(s)
    return s


def _pct(n, d) -> str:
    from ..writers import round_half_up

    return str(round_half_up(100.0 * n / d, 1)) if d else "–"


def national(pr: PackResults) -> pd.Series:
    """All agencies' apprentices, withdrawals, leavers and achievers (the Total row of any breakdown)."""
    app = pr.apprentices[pr.apprentices["live"].astype(bool)]
    return pd.Series({"apprentices": len(app), "withdrawn": int(app["withdrawn_in_year"].astype(bool).sum()),
                      "leavers": int(pr.aims["leaver"].astype(bool).sum()),
                      "achievers": int(pr.aims["achiever"].astype(bool).sum())})


def at_risk_compared(pr: PackResults, previous: PackResults | None) -> pd.DataFrame:
    """Agencies at risk on each indicator (and on any), this period and the same return a year earlier.

    Counts of agencies, not people; ``previous`` is empty (NaN) when the
    data hold no such return. Delivery outside approved areas has no at-risk
    status, so it is not a row.
    """
    rows = []
    for ind in [i for i in INDICATORS if i.id != "outside_approved_areas"] + [None]:
        row = {"indicator": ind.title if ind else "Any indicator"}
        for key, x in (("this", pr), ("previous", previous)):
            if x is None:
                row[key] = float("nan")
                continue
            r = x.results if ind is None else x.results[x.results["indicator"] == ind.id]
            row[key] = int(r.loc[r["status"] == "at_risk", "agency_id"].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


def _day(iso: str) -> str:
    """A date as GOV.UK writes it: 2024-01-31 -> 31 January 2024."""
    d = date.fromisoformat(str(iso))
    return f"{d.day} {d:%B %Y}"


def _when(x: PackResults) -> str:
    """A period in words: "R14 of 2022-23"."""
    return f"{x.meta['return']} of {x.meta['year']}"


def commentary(s: Summary) -> list[str]:
    """Sentences that say only what the tables show (no causes, no forecasts).

    Comparisons are like for like: with the same return of the previous
    year. Movement within the year is left to :func:`revisions`, named as such.
    """
    pr, prev = s.pr, s.previous
    st = s.raw["agencies_by_status"]
    nat = national(pr)
    agencies = len(pr.agencies)
    lines = [f"{agencies} agencies were on the register in {pr.meta['year']}, with {int(nat['apprentices']):,} "
             f"apprentices in learning at some point in the year up to the {pr.meta['return']} census."]
    worst = at_risk_agencies(pr)
    last_year = pr.period.year.previous().label
    if prev is not None:
        lines.append(f"{worst} of the {agencies} agencies were at risk on at least one indicator at {_when(pr)}, "
                     f"against {at_risk_agencies(prev)} of {len(prev.agencies)} at {_when(prev)}, the same point of "
                     "the previous year.")
    else:
        lines.append(f"{worst} of the {agencies} agencies were at risk on at least one indicator at {_when(pr)}; "
                     f"the data hold no {pr.meta['return']} return of {last_year} to compare with.")
    then = ""
    if prev is not None:
        old = national(prev)
        then = (f" At {_when(prev)} the rates were {_pct(old['withdrawn'], old['apprentices'])}% and "
                f"{_pct(old['achievers'], old['leavers'])}%.")
    lines.append(f"Across all agencies {_pct(nat['withdrawn'], nat['apprentices'])}% of apprentices withdrew in the "
                 f"year ({int(nat['withdrawn']):,} of {int(nat['apprentices']):,}) and the achievement rate was "
                 f"{_pct(nat['achievers'], nat['leavers'])}% ({int(nat['achievers']):,} achievers of "
                 f"{int(nat['leavers']):,} leavers).{then}")
    for ind in ("withdrawals", "achievement_rate"):
        title = BY_ID[ind].title
        r = st.set_index("status")[f"agencies_{ind}"].fillna(0)
        lines.append(f"{title}: {int(r.get('At risk', 0))} agencies at risk, {int(r.get('Needs improvement', 0))} "
                     f"needing improvement and {int(r.get('On track', 0))} on track"
                     + (f"; {int(r.get('No data', 0))} had no data." if r.get("No data", 0) else "."))
    route = s.raw["rates_by_route"]
    shown = (s.tables["fjaa_rates_by_route"]["achievement_rate"] != "c").to_numpy()  # never word a suppressed rate
    named = ~route["route"].isin(["Total", s.params.unknown_category])
    big = route[shown & named & (route["leavers"] >= s.params.disclosure.suppress_below * 4)]
    if len(big) >= 2:
        big = big.assign(rate=big["achievers"] / big["leavers"])
        hi, lo = big.sort_values("rate").iloc[-1], big.sort_values("rate").iloc[0]
        lines.append(f"Among routes with at least {s.params.disclosure.suppress_below * 4} leavers, the achievement "
                     f"rate was highest in {hi['route']} ({_pct(hi['achievers'], hi['leavers'])}%) and lowest in "
                     f"{lo['route']} ({_pct(lo['achievers'], lo['leavers'])}%).")
    return lines


def revisions(s: Summary) -> list[str]:
    """Whether the figures are provisional or final, and the in-year movement since an earlier return, as such."""
    pr, earlier = s.pr, s.in_year
    if final(pr):
        lines = [f"These are final figures for {pr.meta['year']} (R14)."]
    else:
        lines = [f"These are provisional in-year figures as at {pr.meta['return']} (data to "
                 f"{_day(pr.meta['census'])}); they will be revised when the year closes (R14)."]
    if earlier is not None:
        a, b = national(earlier), national(pr)
        lines.append(f"In-year movement, not a like-for-like comparison: at {earlier.meta['return']} (provisional, "
                     f"data to {_day(earlier.meta['census'])}) {at_risk_agencies(earlier)} agencies were at risk on at "
                     f"least one indicator (now {at_risk_agencies(pr)}), the withdrawal rate was "
                     f"{_pct(a['withdrawn'], a['apprentices'])}% (now {_pct(b['withdrawn'], b['apprentices'])}%) and "
                     f"the achievement rate {_pct(a['achievers'], a['leavers'])}% (now "
                     f"{_pct(b['achievers'], b['leavers'])}%); part-year figures cover fewer months.")
    return lines
