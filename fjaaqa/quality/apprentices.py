"""Apprentices: one per agency, ULN and standard, and their state at a census.

Several ILR programme aims can make one apprenticeship: a break and its
restart, a re-recorded aim, or a transfer to another provider. They are
grouped on (agency, ULN, StdCode) across providers; the latest aim (by start
date) says where the apprenticeship stands. A transfer that carries on is
therefore not a withdrawal; one with no follow-on aim is.

This module measures facts only (who is live, who withdrew, day counts);
:mod:`fjaaqa.indicators` counts and classifies them against thresholds.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ..periods import Period, year_of
from .thresholds import ThresholdSet

APPRENTICE_KEY = ["agency_id", "ULN", "StdCode"]

STATE_CONTINUING = "continuing"
STATE_BREAK = "on_break"
STATE_AWAITING = "awaiting_outcome"
STATE_COMPLETED = "completed"
STATE_WITHDRAWN = "withdrawn"


def _ts(d: date) -> pd.Timestamp:
    return pd.Timestamp(d)


def aim_state(aims: pd.DataFrame) -> pd.Series:
    """State shown by each aim: continuing, on a break, awaiting outcome, completed or withdrawn.

    A completed aim with Outcome 8 (or none) and no AchDate is awaiting the
    end-point assessment outcome, and still counts as in learning.
    """
    comp = aims["CompStatus"]
    outcome = aims["Outcome"] if "Outcome" in aims else pd.Series(pd.NA, index=aims.index, dtype="str")
    ach = aims["AchDate"] if "AchDate" in aims else pd.Series(pd.NaT, index=aims.index)
    awaiting = (comp == "2") & (outcome.isna() | (outcome == "8")) & ach.isna()
    state = np.select(
        [comp == "1", comp == "6", awaiting, comp == "2", comp == "3"],
        [STATE_CONTINUING, STATE_BREAK, STATE_AWAITING, STATE_COMPLETED, STATE_WITHDRAWN],
        default=STATE_CONTINUING,
    )
    return pd.Series(state, index=aims.index)


def group_apprenticeships(linked: pd.DataFrame, t: ThresholdSet) -> pd.DataFrame:
    """Collapse linked aims to one row per apprentice, from the latest aim.

    Adds ``first_start`` (the original start across breaks and transfers),
    ``n_aims``, ``providers``, ``transfers`` (provider transfers carried on
    within ``readings.identity.transfer_window_days``) and
    ``earlier_withdrawal`` (end date of an earlier aim that was a real
    withdrawal, before a later start). ``StdCode`` missing from a flat
    extract groups on agency and ULN alone.
    """
    if linked.empty:
        return linked.assign(state=pd.Series(dtype="str"), first_start=pd.Series(dtype="datetime64[s]"),
                             n_aims=pd.Series(dtype="int64"))
    a = linked.copy()
    a["StdCode"] = a["StdCode"].fillna("")
    a["state"] = aim_state(a)
    orig = a["OrigLearnStartDate"] if "OrigLearnStartDate" in a else pd.Series(pd.NaT, index=a.index)
    a["_start"] = orig.fillna(a["LearnStartDate"]).where(orig.notna() & (orig < a["LearnStartDate"]),
                                                          a["LearnStartDate"])
    a = a.sort_values(APPRENTICE_KEY + ["LearnStartDate", "AimSeqNumber", "UKPRN"], kind="stable")
    g = a.groupby(APPRENTICE_KEY, sort=False)
    # An earlier aim that ended in a withdrawal is a withdrawal of the apprenticeship
    # unless it was a provider transfer carried on by a new aim within the window.
    ident = t.readings.identity
    next_start = g["LearnStartDate"].shift(-1)
    gap = (next_start - a["LearnActEndDate"]).dt.days
    a["continuing_transfer"] = ((a["state"] == STATE_WITHDRAWN)
                                & a["WithdrawReason"].isin(ident.transfer_withdraw_reasons)
                                & gap.between(0, ident.transfer_window_days))
    is_latest = next_start.isna()
    earlier_withdrawal = (a["state"] == STATE_WITHDRAWN) & ~a["continuing_transfer"] & ~is_latest
    a["_earlier_wd"] = a["LearnActEndDate"].where(earlier_withdrawal)
    g = a.groupby(APPRENTICE_KEY, sort=False)
    latest = g.tail(1).set_index(APPRENTICE_KEY)
    out = latest.copy()
    out["first_start"] = g["_start"].min()
    out["n_aims"] = g.size()
    out["providers"] = g["UKPRN"].nunique()
    out["transfers"] = g["continuing_transfer"].sum().astype("int64")
    out["earlier_withdrawal"] = g["_earlier_wd"].max()
    out = out.drop(columns=["_start", "_earlier_wd", "continuing_transfer"]).reset_index()
    out["StdCode"] = out["StdCode"].replace("", pd.NA)
    return out


def period_state(app: pd.DataFrame, period: Period, t: ThresholdSet) -> pd.DataFrame:
    """Measure each apprentice at the period's census: live, withdrawn, days on a break, days past planned end.

    ``late_reported_from`` (when present) is the start of the academic year a
    late-reported withdrawal was first reported in; it replaces
    ``LearnActEndDate`` for deciding the year of the withdrawal.
    """
    census = _ts(period.census)
    ystart = _ts(period.year.start)
    a = app.copy()
    if a.empty:
        for col in ["live", "withdrawn_in_year", "left_agency", "days_on_break", "days_past_planned_end",
                    "withdrawn_from", "completed_late_days", "withdrawal_days_in"]:
            a[col] = pd.Series(dtype="float64")
        return a

    end = a["LearnActEndDate"] if "LearnActEndDate" in a else pd.Series(pd.NaT, index=a.index)
    final = a["state"].isin([STATE_COMPLETED, STATE_WITHDRAWN])
    # The date that decides the year of a final ending (late reports move it).
    effective_end = end.copy()
    if "late_reported_from" in a:
        late = a["late_reported_from"].notna()
        effective_end = effective_end.where(~late, np.maximum(end, a["late_reported_from"]))
    a["effective_end"] = effective_end.where(final)

    stop = a["commitment_stop"] if "commitment_stop" in a else pd.Series(pd.NaT, index=a.index)
    stopped = (a.get("commitment_status", pd.Series("", index=a.index)) == "Stopped") & stop.notna() & (stop <= census)
    a["agency_stop"] = stop.where(stopped)
    if "late_reported_from" in a:
        # A stop backdated with a late-reported withdrawal moves with it.
        late = a["late_reported_from"].notna() & a["agency_stop"].notna()
        a["agency_stop"] = a["agency_stop"].where(~late, np.maximum(a["agency_stop"], a["late_reported_from"]))

    started = a["first_start"] <= census
    ended_before = final & (a["effective_end"] < ystart)
    left_before = a["agency_stop"].notna() & (a["agency_stop"] < ystart)
    a["live"] = started & ~ended_before & ~left_before

    withdrawn_ilr = (a["state"] == STATE_WITHDRAWN) & a["effective_end"].between(ystart, census)
    # ... or an earlier aim withdrew in the year and the apprentice started again later
    earlier = a["earlier_withdrawal"] if "earlier_withdrawal" in a else pd.Series(pd.NaT, index=a.index)
    withdrawn_earlier = earlier.between(ystart, census) & ~withdrawn_ilr
    # Leaving the agency counts while the apprenticeship goes on (not once it is completed).
    goes_on = a["state"].isin([STATE_CONTINUING, STATE_BREAK, STATE_WITHDRAWN])
    a["agency_stop"] = a["agency_stop"].where(goes_on)
    withdrawn_agency = a["agency_stop"].notna() & a["agency_stop"].between(ystart, census)
    withdrawn_ilr = withdrawn_ilr | withdrawn_earlier
    a["withdrawn_in_year"] = a["live"] & (withdrawn_ilr | withdrawn_agency)
    a["withdrawn_from"] = np.select(
        [withdrawn_ilr & withdrawn_agency, withdrawn_ilr, withdrawn_agency],
        ["apprenticeship and agency", "apprenticeship", "agency"], default="",
    )
    a["withdrawn_from"] = a["withdrawn_from"].where(a["withdrawn_in_year"], "")
    a["left_agency"] = a["agency_stop"].notna()
    withdrawal_date = a["effective_end"].where(withdrawn_ilr & ~withdrawn_earlier,
                                               earlier.where(withdrawn_earlier, a["agency_stop"]))
    a["withdrawal_days_in"] = _days(withdrawal_date - a["first_start"], inclusive=True).where(a["withdrawn_in_year"])

    with_agency = a["live"] & ~a["left_agency"]
    on_break = with_agency & (a["state"] == STATE_BREAK)
    a["days_on_break"] = _days(census - end).where(on_break)
    in_learning = with_agency & a["state"].isin([STATE_CONTINUING, STATE_AWAITING])
    a["days_past_planned_end"] = _days(census - a["LearnPlanEndDate"]).where(in_learning)
    completed_in_year = a["live"] & (a["state"] == STATE_COMPLETED) & end.between(ystart, census)
    a["completed_late_days"] = _days(end - a["LearnPlanEndDate"]).where(completed_in_year)
    return a


def _days(delta: pd.Series, inclusive: bool = False) -> pd.Series:
    """Whole days of a timedelta series (float, NaN where missing)."""
    days = delta.dt.days.astype("float64")
    return days + 1 if inclusive else days


def late_reported_from(app: pd.DataFrame, history: dict[Period, pd.DataFrame], period: Period) -> pd.Series:
    """For each withdrawn apprentice, the start of the year its withdrawal was first reported in, when late.

    Late means an earlier return in DATA showed the apprenticeship continuing
    or on a break at a census after the withdrawal date. Without earlier
    returns, the ILR end date decides (NaT here).
    """
    out = pd.Series(pd.NaT, index=app.index, dtype="datetime64[s]")
    earlier = sorted(p for p in history if p < period)
    if not earlier or app.empty:
        return out
    key = app[APPRENTICE_KEY].assign(StdCode=app["StdCode"].fillna(""))
    withdrawn = app["state"] == STATE_WITHDRAWN
    first_reported = pd.Series(_ts(period.year.start), index=app.index)
    shown_open_after_end = pd.Series(False, index=app.index)
    found_withdrawn = pd.Series(False, index=app.index)
    end = app["LearnActEndDate"]
    for p in earlier:
        h = history[p][APPRENTICE_KEY + ["state"]].copy()
        h["StdCode"] = h["StdCode"].fillna("")
        merged = key.merge(h, on=APPRENTICE_KEY, how="left")
        merged.index = app.index
        state = merged["state"]
        census = _ts(p.census)
        is_open = state.isin([STATE_CONTINUING, STATE_BREAK]) & (census > end)
        shown_open_after_end |= is_open & ~found_withdrawn
        newly = (state == STATE_WITHDRAWN) & ~found_withdrawn
        first_reported = first_reported.where(~newly, _ts(p.year.start))
        found_withdrawn |= state == STATE_WITHDRAWN
    late = withdrawn & shown_open_after_end
    return first_reported.where(late).astype("datetime64[s]")


def age_band(dob: pd.Series, at: pd.Series) -> pd.Series:
    """Age band at the apprenticeship's start (16-18, 19-23, 24+); DOB itself never leaves this function."""
    if dob is None:
        return pd.Series("Unknown", index=at.index)
    years = at.dt.year - dob.dt.year - ((at.dt.month < dob.dt.month)
                                        | ((at.dt.month == dob.dt.month) & (at.dt.day < dob.dt.day))).astype(int)
    band = np.select([years < 16, years <= 18, years <= 23, years >= 24], ["Under 16", "16-18", "19-23", "24+"],
                     default="Unknown")
    return pd.Series(band, index=at.index).where(dob.notna(), "Unknown")


def start_cohort(first_start: pd.Series) -> pd.Series:
    """Academic year of the apprenticeship's original start, e.g. 2022-23."""
    return first_start.map(lambda d: year_of(d.date()).label if pd.notna(d) else "Unknown")
