"""Contextual factors: computed facts, each with its evidence, for the review conversation.

The framework asks DfE to weigh context before deciding anything: small
cohorts, agencies new to the register, why apprentices withdrew, breaks the
apprentice chose, the cohort's profile, and whether a problem is limited to
one sector, standard or partner. Each function here returns plain facts
(``Fact``) from the cached results; nothing here decides an intervention.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..models import Strict
from ..paths import params_yaml

CONCENTRATION_DIMENSIONS = {"route": "route", "standard": "standard", "provider": "training provider",
                            "host_employer": "host employer"}


class ContextParams(Strict):
    small_cohort_below: int
    new_agency_months: int
    concentration_share: float
    concentration_min_count: int
    withdrawal_reason_groups: dict[str, list[str]]


def review_params() -> dict:
    """``params/review.yaml`` (context thresholds, interventions, rules)."""
    return params_yaml("review.yaml")


def context_params() -> ContextParams:
    return ContextParams.model_validate(review_params()["context"])


@dataclass(frozen=True)
class Fact:
    id: str
    title: str
    present: bool | None  # None: not available
    evidence: str
    mitigating: bool = False
    scope: str = ""  # for concentration: "route: Digital"


def small_cohort(total: int, p: ContextParams) -> Fact:
    present = total < p.small_cohort_below
    return Fact("small_cohort", "Small cohort", present,
                f"{total} apprentices in the year ({'below' if present else 'not below'} {p.small_cohort_below}); "
                "with few apprentices one or two cases move a rate a long way.", mitigating=present)


def new_agency(registered_on, census, p: ContextParams) -> Fact:
    if registered_on is None or pd.isna(registered_on):
        return Fact("new_agency", "New to the register", None, "registration date not in the register")
    reg, cen = pd.Timestamp(registered_on), pd.Timestamp(census)
    months = (cen.year - reg.year) * 12 + (cen.month - reg.month) - (1 if cen.day < reg.day else 0)
    present = months < p.new_agency_months
    return Fact("new_agency", "New to the register", present,
                f"registered on {reg.day} {reg.strftime('%B %Y')}, {months} months before the census "
                f"({'under' if present else 'not under'} {p.new_agency_months}).", mitigating=present)


def withdrawal_reasons(withdrawn: pd.DataFrame, p: ContextParams) -> Fact:
    """Shares of the year's withdrawals by reason group (rows: apprentices withdrawn in the year)."""
    n = len(withdrawn)
    if n == 0:
        return Fact("withdrawal_reasons", "Reasons for withdrawal", False, "no withdrawals in the year.")
    reason = withdrawn["WithdrawReason"].fillna("")
    parts = []
    for group, codes in p.withdrawal_reason_groups.items():
        k = int(reason.isin(codes).sum())
        if k:
            parts.append(f"{group.lower()} {k} ({100 * k / n:.0f}%)")
    left = int((withdrawn["withdrawn_from"] == "agency").sum())
    if left:
        parts.append(f"left the agency while the apprenticeship went on {left}")
    outside = n - sum(int(reason.isin(c).sum()) for c in p.withdrawal_reason_groups.values()) - left
    if outside > 0:
        parts.append(f"other recorded reasons {outside}")
    return Fact("withdrawal_reasons", "Reasons for withdrawal", True, f"of {n} withdrawals: " + "; ".join(parts) + ".")


def withdrawal_timing(withdrawn: pd.DataFrame, early_days: int) -> Fact:
    n = len(withdrawn)
    if n == 0:
        return Fact("withdrawal_timing", "When withdrawals happened", False, "no withdrawals in the year.")
    days = withdrawn["withdrawal_days_in"]
    early = int((days < early_days).sum())
    first_half_year = int((days <= 182).sum())
    return Fact("withdrawal_timing", "When withdrawals happened", True,
                f"{early} of {n} within {early_days} days of starting; {first_half_year} within six months; "
                f"median {int(days.median())} days into the programme.")


def apprentice_initiated_breaks(on_break: pd.DataFrame, form: pd.DataFrame | None, min_days: int) -> Fact:
    """How many long breaks the apprentice asked for (Data Collection Form, ``break_initiated_by``)."""
    title = "Breaks the apprentice asked for"
    if form is None or form.empty:
        return Fact("apprentice_breaks", title, None,
                    "not available: who initiated each break comes from the agency's Data Collection Form "
                    "(collection_form.csv), which is not in the data.")
    long = on_break[on_break["days_on_break"] >= min_days]
    if long.empty:
        return Fact("apprentice_breaks", title, False, f"no apprentice has been on a break for {min_days}+ days.")
    f = form[form["item"] == "break_initiated_by"].drop_duplicates(["agency_id", "ULN"], keep="last")
    who = long[["agency_id", "ULN"]].merge(f[["agency_id", "ULN", "value"]], on=["agency_id", "ULN"], how="left")
    k = int((who["value"] == "apprentice").sum())
    unknown = int(who["value"].isna().sum())
    n = len(who)
    return Fact("apprentice_breaks", title, k > 0,
                f"{k} of {n} apprentices on a break of {min_days}+ days asked for it; "
                f"{n - k - unknown} were initiated by someone else; {unknown} have no entry on the form.",
                mitigating=k * 2 >= n)


def feedback(table: pd.DataFrame | None, agency_id: str, min_others: int) -> Fact:
    """Apprentice feedback ratings (response-weighted average) against the other agencies.

    The comparison leaves the agency out and needs ``min_others`` other
    agencies with ratings, so the agency cannot work out another's rating.
    """
    title = "Apprentice feedback"
    if table is None or table.empty:
        return Fact("feedback", title, None, "not available: no apprentice feedback ratings in the data.")
    t = table.assign(r=pd.to_numeric(table["rating"]), n=pd.to_numeric(table["responses"]))
    mine = t[t["agency_id"] == agency_id]
    if mine.empty or mine["n"].sum() == 0:
        return Fact("feedback", title, None, "no feedback ratings for this agency.")
    avg = (mine["r"] * mine["n"]).sum() / mine["n"].sum()
    others = t[(t["agency_id"] != agency_id) & (t["n"] > 0)]
    compared = (f"the other {others['agency_id'].nunique()} agencies "
                f"{(others['r'] * others['n']).sum() / others['n'].sum():.1f}"
                if others["agency_id"].nunique() >= min_others else "no comparison: too few other agencies rated")
    return Fact("feedback", title, True, f"average rating {avg:.1f} out of 5 from {int(mine['n'].sum())} responses "
                                         f"({compared}).")


def concentration(breakdowns: pd.DataFrame, results: pd.DataFrame, p: ContextParams,
                  providers: dict[str, str] | None = None) -> list[Fact]:
    """For each indicator not on track: is most of the problem in one route, standard, provider or host?

    A provider is named from ``providers`` (UKPRN -> name, from providers.csv) when it is there.
    """
    facts = []
    for r in results.itertuples():
        if r.status not in ("at_risk", "needs_improvement", "for_discussion"):
            continue
        b = breakdowns[(breakdowns["indicator"] == r.indicator)
                       & breakdowns["dimension"].isin(CONCENTRATION_DIMENSIONS)]
        if r.indicator == "achievement_rate":
            count = b["denominator"] - b["numerator"]
            total = r.denominator - r.numerator
        elif r.indicator in ("breaks_in_learning", "past_planned_end_date"):
            band = "n_at_risk_band" if r.status == "at_risk" else "n_needs_improvement_band"
            count = b[band]
            total = getattr(r, band)
        else:
            count = b["numerator"]
            total = r.numerator
        if not total:
            continue
        b = b.assign(_count=count.to_numpy())
        top = b.sort_values(["_count", "dimension", "group"], ascending=[False, True, True])
        best = None
        for dim in CONCENTRATION_DIMENSIONS:
            d = top[top["dimension"] == dim]
            if len(d) > 1 and d["_count"].iloc[0] >= p.concentration_min_count:
                share = 100.0 * d["_count"].iloc[0] / total
                if share >= p.concentration_share and (best is None or share > best[2]):
                    best = (dim, d["group"].iloc[0], share, int(d["_count"].iloc[0]))
        label = r.indicator.replace("_", " ")
        if best:
            dim, group, share, k = best
            if dim == "provider" and (providers or {}).get(str(group)):
                group = f"{providers[str(group)]} (UKPRN {group})"
            facts.append(Fact(f"concentration_{r.indicator}", f"Concentration: {label}", True,
                              f"{k} of {int(total)} ({share:.0f}%) are in one {CONCENTRATION_DIMENSIONS[dim]}: "
                              f"{group}.", scope=f"{CONCENTRATION_DIMENSIONS[dim]}: {group}"))
        else:
            facts.append(Fact(f"concentration_{r.indicator}", f"Concentration: {label}", False,
                              f"no single route, standard, training provider or host employer holds "
                              f"{p.concentration_share:.0f}% or more of the {int(total)} counted."))
    return facts


ETHNIC_GROUPS = {"White": ["31", "32", "33", "34", "35"], "Mixed": ["36", "37", "38", "39"],
                 "Asian": ["40", "41", "42", "43"], "Black": ["44", "45", "46"], "Other": ["47"],
                 "Not known": ["98", "99"]}


def cohort_profile(app: pd.DataFrame, everyone: pd.DataFrame) -> pd.DataFrame:
    """Shares by age band, sex, ethnic group and LLDD for the agency against all agencies."""
    def shares(df: pd.DataFrame) -> dict:
        out = {}
        n = len(df)
        if not n:
            return out
        for band, k in df["age_band"].value_counts().items():
            out[("Age at start", band)] = 100 * k / n
        sex = df["Sex"].fillna("Not recorded").map({"F": "Female", "M": "Male"}).fillna("Not recorded")
        for v, k in sex.value_counts().items():
            out[("Sex", v)] = 100 * k / n
        eth = df["Ethnicity"].fillna("99")
        for g, codes in ETHNIC_GROUPS.items():
            out[("Ethnic group", g)] = 100 * eth.isin(codes).sum() / n
        lldd = df["LLDDHealthProb"].map({"1": "Has a learning difficulty, disability or health problem",
                                         "2": "Does not", "9": "Not provided"}).fillna("Not provided")
        for v, k in lldd.value_counts().items():
            out[("Learning difficulty or disability", v)] = 100 * k / n
        return out

    mine, all_ = shares(app), shares(everyone)
    keys = sorted(set(mine) | set(all_))
    return pd.DataFrame([{"aspect": a, "group": g, "agency": mine.get((a, g), 0.0), "all": all_.get((a, g), 0.0)}
                         for a, g in keys])


def _provider_names(pr) -> dict[str, str]:
    t = pr.tables.get("providers")
    return {} if t is None or t.empty else dict(zip(t["UKPRN"].astype(str), t["provider_name"].astype(str)))


def facts_for(pr, agency_id: str, min_others: int) -> list[Fact]:
    """Every contextual fact for one agency, from the cached results (comparisons need ``min_others`` others)."""
    p = context_params()
    res = pr.results[pr.results["agency_id"] == agency_id]
    app = pr.apprentices[(pr.apprentices["agency_id"] == agency_id) & pr.apprentices["live"].astype(bool)]
    total = int(res.loc[res["indicator"] == "withdrawals", "denominator"].iloc[0])
    agency = pr.agencies[pr.agencies["agency_id"] == agency_id].iloc[0]
    withdrawn = app[app["withdrawn_in_year"].astype(bool)]
    early = pr.meta["thresholds"]["values"]["readings"]["withdrawals"]["early_days"]
    return [
        small_cohort(total, p),
        new_agency(agency.get("registered_on"), pr.meta["census"], p),
        withdrawal_reasons(withdrawn, p),
        withdrawal_timing(withdrawn, early),
        apprentice_initiated_breaks(app[app["days_on_break"].notna()], pr.tables.get("collection_form"),
                                    pr.meta["thresholds"]["values"]["indicators"]["breaks_in_learning"][
                                        "needs_improvement_days"]),
        feedback(pr.tables.get("feedback"), agency_id, min_others),
        *concentration(pr.breakdowns[pr.breakdowns["agency_id"] == agency_id], res, p, _provider_names(pr)),
    ]
