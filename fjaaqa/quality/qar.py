"""Achievement rates by the national qualification achievement rate method.

The rate is achievers over leavers whose *hybrid end year* is the review
year: the latest of the planned end year, the actual end year, the
achievement year and the year the ending was first reported. Leavers come
from the current return and every earlier year's R14 in DATA, with aims
matched across years on (UKPRN, ULN, StdCode, LearnStartDate). Aims that are
not leavers: withdrawals inside the qualifying period, transfers, breaks that
are not overdue, and aims awaiting the end-point assessment outcome.

Unlike the other indicators this one counts aims, as the national method
does; a break that restarted leaves only the restart aim to count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import AcademicYear, Period
from .apprentices import APPRENTICE_KEY, STATE_AWAITING, STATE_BREAK, STATE_COMPLETED, STATE_WITHDRAWN, aim_state
from .thresholds import QarReadings, ThresholdSet

AIM_KEY = ["agency_id", "UKPRN", "ULN", "StdCode", "LearnStartDate"]


def _year_start(series: pd.Series) -> pd.Series:
    """Academic start year (2023 for 2023-24) of each date, NaN where missing."""
    year = series.dt.year.astype("float64")
    return year.where(series.dt.month >= 8, year - 1)


def pool_aims(linked_by_period: dict[Period, pd.DataFrame], period: Period) -> pd.DataFrame:
    """Aims of the current return and every earlier year's R14, one row per aim (latest version wins).

    Also records ``year_reported``: the academic start year of the earliest
    return in DATA that shows the aim ended.
    """
    sources = [p for p in linked_by_period if p == period or (p.return_code == "R14" and p.year < period.year)]
    frames = []
    for rank, p in enumerate(sorted(sources)):
        f = linked_by_period[p].copy()
        f["_rank"] = rank
        frames.append(f)
    if not frames:
        return pd.DataFrame()
    pool = pd.concat(frames, ignore_index=True)
    pool["StdCode"] = pool["StdCode"].fillna("")
    pool = pool.sort_values(AIM_KEY + ["_rank"], kind="stable").drop_duplicates(AIM_KEY, keep="last")
    pool = pool.drop(columns="_rank").reset_index(drop=True)

    reported = None
    for p in sorted(q for q in linked_by_period if q <= period):
        f = linked_by_period[p]
        ended = f[f["CompStatus"].isin(["2", "3", "6"])][AIM_KEY].copy()
        ended["StdCode"] = ended["StdCode"].fillna("")
        ended["year_reported"] = float(p.year.start_year)
        reported = ended if reported is None else pd.concat([reported, ended])
    if reported is not None and not reported.empty:
        reported = reported.groupby(AIM_KEY, as_index=False)["year_reported"].min()
        pool = pool.merge(reported, on=AIM_KEY, how="left")
    else:
        pool["year_reported"] = np.nan
    return pool


def _follow_on(pool: pd.DataFrame, same: list[str], window_days: int) -> pd.Series:
    """True where a later programme aim (same ``same`` fields) starts within the window after this aim ended."""
    end = pool["LearnActEndDate"]
    starts = pool[same + ["LearnStartDate"]].rename(columns={"LearnStartDate": "_next"})
    starts["_other"] = pool.index
    cand = pool[same + ["LearnActEndDate"]].reset_index().merge(starts, on=same, how="inner")
    gap = (cand["_next"] - cand["LearnActEndDate"]).dt.days
    hit = cand[(gap >= 0) & (gap <= window_days) & (cand["_other"] != cand["index"])]
    return pd.Series(pool.index.isin(hit["index"]), index=pool.index) & end.notna()


def classify_aims(pool: pd.DataFrame, year: AcademicYear, r: QarReadings) -> pd.DataFrame:
    """Mark each pooled aim: leaver?, completer?, achiever?, excluded (why), hybrid end year."""
    a = pool.copy()
    if a.empty:
        for col in ["leaver", "completer", "achiever", "exclusion", "hybrid_end_year"]:
            a[col] = pd.Series(dtype="object")
        return a
    a["aim_state"] = aim_state(a)
    reason = a["WithdrawReason"] if "WithdrawReason" in a else pd.Series(pd.NA, index=a.index, dtype="str")
    restart = pd.Series(False, index=a.index)
    if "FAM_RES" in a:
        restart |= a["FAM_RES"].fillna("").str.split(";").map(lambda v: "1" in v)
    if "OrigLearnStartDate" in a:
        restart |= a["OrigLearnStartDate"].notna()

    planned_days = (a["LearnPlanEndDate"] - a["LearnStartDate"]).dt.days + 1
    days_in = (a["LearnActEndDate"] - a["LearnStartDate"]).dt.days + 1
    withdrawn = a["aim_state"] == STATE_WITHDRAWN
    qualifying = (withdrawn & (planned_days >= r.qualifying_planned_days)
                  & (days_in < r.qualifying_in_learning_days) & ~restart)
    transfer = withdrawn & reason.isin(r.transfer_reasons)
    moved_40 = withdrawn & (reason == "40") & _follow_on(a, ["agency_id", "ULN", "UKPRN"], r.reason_40_window_days)
    moved_2 = pd.Series(False, index=a.index)
    if r.withdraw_reason_2 == "exclude_if_continues":
        moved_2 = withdrawn & (reason == "2") & _follow_on(a, APPRENTICE_KEY, 10**6)

    # A break is over when a later aim restarts the same apprenticeship.
    brk = a["aim_state"] == STATE_BREAK
    restarted = brk & _follow_on(a, APPRENTICE_KEY, 10**6)
    break_start_year = _year_start(a["LearnActEndDate"])
    overdue_from = break_start_year + r.break_overdue_years
    overdue_break = brk & ~restarted

    awaiting = a["aim_state"] == STATE_AWAITING
    exclusion = np.select(
        [a["aim_state"] == "continuing", awaiting, brk & restarted, qualifying, transfer, moved_40, moved_2],
        ["in learning", "awaiting assessment outcome", "break with restart", "withdrew in qualifying period",
         "transfer (withdrawal reason " + reason.fillna("") + ")", "transfer to new aim (reason 40)",
         "transfer (reason 2, continues)"],
        default="",
    )
    a["exclusion"] = exclusion

    hybrid = pd.concat(
        [_year_start(a["LearnPlanEndDate"]), _year_start(a["LearnActEndDate"]),
         _year_start(a["AchDate"]) if "AchDate" in a else pd.Series(np.nan, index=a.index),
         a["year_reported"]],
        axis=1,
    ).max(axis=1)
    hybrid = hybrid.where(~overdue_break, np.maximum(hybrid, overdue_from))
    a["hybrid_end_year"] = hybrid

    in_year = hybrid == year.start_year
    counted = a["exclusion"] == ""
    # An overdue break only becomes a leaver once it is overdue (covered by hybrid).
    a["leaver"] = counted & in_year & a["aim_state"].isin([STATE_COMPLETED, STATE_WITHDRAWN, STATE_BREAK])
    a["completer"] = a["leaver"] & (a["aim_state"] == STATE_COMPLETED)
    outcome = a["Outcome"] if "Outcome" in a else pd.Series(pd.NA, index=a.index, dtype="str")
    a["achiever"] = a["completer"] & (outcome == "1")
    a["overdue_break"] = a["leaver"] & overdue_break
    return a


def qar_aims(linked_by_period: dict[Period, pd.DataFrame], period: Period, t: ThresholdSet) -> pd.DataFrame:
    """All pooled aims for the period's review year, classified."""
    pool = pool_aims(linked_by_period, period)
    return classify_aims(pool, period.year, t.readings.qar)
