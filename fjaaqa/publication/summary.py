"""The periodic quality summary: national figures for publication, with disclosure control and commentary.

Built from the stored results of one period (and the previous published
period for "change since"): the number of agencies and apprentices, each
indicator's distribution across agencies, agencies by status, and rates
by route and by region. Tables are kept unrounded here; :mod:`fjaaqa.disclosure`
turns them into published text, :mod:`fjaaqa.ees` writes them as open data.
Commentary sentences are generated only from numbers in these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import yaml
from pydantic import Field

from ..models import Strict
from ..paths import resource
from ..quality.indicators import BY_ID, INDICATORS, STATUS_LABELS, STATUSES
from ..quality.results import PackResults
from .audit import audit_summary
from .disclosure import NOT_APPLICABLE, Rate, protect


class Disclosure(Strict):
    suppress_below: int
    rate_dp: int
    person_counts: list[str]
    protection_width: int = Field(ge=1)  # the disclosure audit's minimum interval width (publication/audit.py)


class Geography(Strict):
    country_code: str
    country_name: str
    region_codes: dict[str, str]


class PublicationInfo(Strict):
    title: str
    producer: str


class PublicationParams(Strict):
    disclosure: Disclosure
    named_agencies: bool = False
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


def _geo(pr: PackResults, p: PublicationParams, level: str = "National", region: str = "") -> dict:
    g = {"time_period": time_period(pr), "time_identifier": "Academic year", "geographic_level": level,
         "country_code": p.geography.country_code, "country_name": p.geography.country_name}
    if level == "Regional":
        g.update(region_code=p.geography.region_codes[region], region_name=region)
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


def rates_by(pr: PackResults, dim: str) -> pd.DataFrame:
    """Apprentices, withdrawals, leavers and achievers by route or region, with the all-agencies Total."""
    app = pr.apprentices[pr.apprentices["live"].astype(bool)]
    aims = pr.aims
    if dim not in aims:  # leavers take their apprenticeship's attribute (e.g. workplace region)
        key = ["agency_id", "ULN", "StdCode"]
        attr = pr.apprentices[key + [dim]].drop_duplicates(key)
        aims = aims.merge(attr, on=key, how="left")
    groups = sorted(set(app[dim].dropna()) | set(aims[dim].dropna()))
    rows = []
    for g in groups + ["Total"]:
        a = app if g == "Total" else app[app[dim] == g]
        m = aims if g == "Total" else aims[aims[dim] == g]
        rows.append({dim: g, "apprentices": len(a), "withdrawn": int(a["withdrawn_in_year"].astype(bool).sum()),
                     "leavers": int(m["leaver"].astype(bool).sum()),
                     "achievers": int(m["achiever"].astype(bool).sum())})
    return pd.DataFrame(rows)


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
    previous: PackResults | None
    params: PublicationParams
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)     # published text (EES layout)
    hidden: dict[str, pd.DataFrame] = field(default_factory=dict)     # masks of suppressed cells
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)        # unrounded numbers
    commentary: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    audit: object = None  # the disclosure audit's result (publication/audit.py AuditResult)


def build(pr: PackResults, previous: PackResults | None = None, params: PublicationParams | None = None) -> Summary:
    """Compute, protect and describe one period's summary."""
    p = params or publication_params()
    d = p.disclosure
    s = Summary(pr, previous, p)
    geo = _geo(pr, p)

    st = status_counts(pr)
    s.raw["agencies_by_status"] = st
    people = [c for c in st.columns if c.startswith("apprentices_")]
    agencies = [c for c in st.columns if c.startswith("agencies_")]
    out, hide = protect(st, people, [], d.suppress_below, d.rate_dp, None, "status")
    for c in agencies:  # counts of agencies are not about people: shown as they are
        out[c] = [NOT_APPLICABLE if pd.isna(v) else str(int(v)) for v in st[c]]
    s.tables["fjaa_agencies_by_status"] = pd.concat([pd.DataFrame([geo] * len(out)), out.reset_index(drop=True)],
                                                     axis=1)
    s.hidden["fjaa_agencies_by_status"] = hide

    rates = [Rate("withdrawal_rate", "withdrawn", "apprentices"), Rate("achievement_rate", "achievers", "leavers")]
    route = rates_by(pr, "route")
    s.raw["rates_by_route"] = route
    out, hide = protect(route, ["apprentices", "withdrawn", "leavers", "achievers"], rates, d.suppress_below,
                        d.rate_dp, None, "route")
    s.tables["fjaa_rates_by_route"] = pd.concat([pd.DataFrame([geo] * len(out)), out.reset_index(drop=True)], axis=1)
    s.hidden["fjaa_rates_by_route"] = hide

    region = rates_by(pr, "region")
    region = region[region["region"].isin(list(p.geography.region_codes) + ["Total"])].reset_index(drop=True)
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
    # Disclosure audit (publication/audit.py): every table together, as linear programmes; it may suppress more
    # cells (and their rates) in s.tables and s.hidden. Keep this after every table is built, before commentary.
    s.audit = audit_summary(s)
    s.commentary = commentary(s)
    s.revisions = revisions(s)
    return s


def _pct(n, d) -> str:
    from ..writers import round_half_up

    return str(round_half_up(100.0 * n / d, 1)) if d else "–"


def commentary(s: Summary) -> list[str]:
    """Sentences that say only what the tables show (no causes, no forecasts)."""
    pr, prev = s.pr, s.previous
    st = s.raw["agencies_by_status"]
    nat = s.raw["rates_by_route"].set_index("route").loc["Total"]
    agencies = len(pr.agencies)
    worst = pr.results[pr.results["status"] == "at_risk"]["agency_id"].nunique()
    lines = [f"{agencies} agencies were on the register in {pr.meta['year']}, with {int(nat['apprentices']):,} "
             f"apprentices in learning at some point in the year up to the {pr.meta['return']} census."]
    lines.append(f"{worst} of the {agencies} agencies were at risk on at least one indicator.")
    if prev is not None:
        was = prev.results[prev.results["status"] == "at_risk"]["agency_id"].nunique()
        word = "up from" if worst > was else "down from" if worst < was else "the same as"
        lines[-1] = lines[-1][:-1] + f", {word} {was} in {prev.meta['year']} {prev.meta['return']}."
    lines.append(f"Across all agencies {_pct(nat['withdrawn'], nat['apprentices'])}% of apprentices withdrew in the "
                 f"year ({int(nat['withdrawn']):,} of {int(nat['apprentices']):,}) and the achievement rate was "
                 f"{_pct(nat['achievers'], nat['leavers'])}% ({int(nat['achievers']):,} achievers of "
                 f"{int(nat['leavers']):,} leavers).")
    for ind in ("withdrawals", "achievement_rate"):
        title = BY_ID[ind].title
        r = st.set_index("status")[f"agencies_{ind}"].fillna(0)
        lines.append(f"{title}: {int(r.get('At risk', 0))} agencies at risk, {int(r.get('Needs improvement', 0))} "
                     f"needing improvement and {int(r.get('On track', 0))} on track"
                     + (f"; {int(r.get('No data', 0))} had no data." if r.get("No data", 0) else "."))
    route = s.raw["rates_by_route"]
    shown = (s.tables["fjaa_rates_by_route"]["achievement_rate"] != "c").to_numpy()  # never word a suppressed rate
    big = route[shown & (route["route"] != "Total") & (route["leavers"] >= s.params.disclosure.suppress_below * 4)]
    if len(big) >= 2:
        big = big.assign(rate=big["achievers"] / big["leavers"])
        hi, lo = big.sort_values("rate").iloc[-1], big.sort_values("rate").iloc[0]
        lines.append(f"Among routes with at least {s.params.disclosure.suppress_below * 4} leavers, the achievement "
                     f"rate was highest in {hi['route']} ({_pct(hi['achievers'], hi['leavers'])}%) and lowest in "
                     f"{lo['route']} ({_pct(lo['achievers'], lo['leavers'])}%).")
    return lines


def revisions(s: Summary) -> list[str]:
    """Whether the figures are provisional or final, and what a final publication revised."""
    pr, prev = s.pr, s.previous
    if not final(pr):
        return [f"These are provisional in-year figures as at {pr.meta['return']}; they will be revised when the "
                "year closes (R14)."]
    lines = [f"These are final figures for {pr.meta['year']} (R14)."]
    if prev is not None and prev.meta["year"] == pr.meta["year"]:
        a = rates_by(prev, "route").set_index("route").loc["Total"]
        b = s.raw["rates_by_route"].set_index("route").loc["Total"]
        lines.append(f"They replace the provisional part-year figures published at {prev.meta['return']} (data to "
                     f"{prev.meta['census']}): the withdrawal rate was then {_pct(a['withdrawn'], a['apprentices'])}% "
                     f"and is {_pct(b['withdrawn'], b['apprentices'])}% for the full year; the achievement rate was "
                     f"{_pct(a['achievers'], a['leavers'])}% and is {_pct(b['achievers'], b['leavers'])}%.")
    return lines
