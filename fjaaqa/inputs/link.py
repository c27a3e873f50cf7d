"""The agency link: which ILR programme aims belong to which agency.

The ILR has no flexi-job marker. An apprentice belongs to an agency through
the Apprenticeship Service record (``commitments.csv``), matched to the ILR
programme aim on ULN, UKPRN and StdCode. When no commitment matches, the
employer the learner had at the aim's start (ILR ``EmpId``) may be the
agency's employer reference (``ern``). Aims linked to no agency are kept and
reported; they are never quarantined.
"""

from __future__ import annotations

import pandas as pd

from ..models import Strict
from .sources import IlrReturn


class LinkReadings(Strict):
    """How aims are linked to agencies (part of a threshold set's readings)."""

    delivery_models: list[str]
    use_ern_fallback: bool = True

LEARNER_FIELDS = ["ULN", "DateOfBirth", "Sex", "Ethnicity", "LLDDHealthProb"]


def programme_aims(ret: IlrReturn) -> pd.DataFrame:
    """Apprenticeship standard programme aims (AimType 1, ProgType 25, FundModel 36) with the learner's ULN.

    Component aims never count. A programme aim without ``ProgType`` (a flat
    extract may lack the column) is read as a standard: frameworks closed to
    new starts in 2020; see docs/assumptions.md.
    """
    d = ret.deliveries
    is_prog = (d["AimType"] == "1") & (d["FundModel"] == "36")
    if "ProgType" in d:
        is_prog &= d["ProgType"].isna() | (d["ProgType"] == "25")
    aims = d[is_prog].copy()
    if "StdCode" not in aims:
        aims["StdCode"] = pd.NA
    keep = ["UKPRN", "LearnRefNumber"] + [c for c in LEARNER_FIELDS if c in ret.learners]
    aims = aims.merge(ret.learners[keep], on=["UKPRN", "LearnRefNumber"], how="left")
    aims["AimSeqNumber"] = aims["AimSeqNumber"].astype("int64")
    return aims


def agency_commitments(commitments: pd.DataFrame, register: pd.DataFrame, readings: LinkReadings) -> pd.DataFrame:
    """Commitments that make an agency apprentice: a registered agency on a flexi-job delivery model."""
    c = commitments
    keep = c["agency_id"].isin(register["agency_id"]) & c["delivery_model"].isin(readings.delivery_models)
    return c[keep].copy()


def _employer_at_start(aims: pd.DataFrame, employment: pd.DataFrame) -> pd.Series:
    """ILR EmpId in force at each aim's start (latest DateEmpStatApp on or before it)."""
    if employment.empty or "EmpId" not in employment:
        return pd.Series(pd.NA, index=aims.index, dtype="str")
    emp = employment.dropna(subset=["DateEmpStatApp"]).sort_values("DateEmpStatApp")
    left = aims[["UKPRN", "LearnRefNumber", "LearnStartDate"]].reset_index().sort_values("LearnStartDate")
    merged = pd.merge_asof(
        left, emp[["UKPRN", "LearnRefNumber", "DateEmpStatApp", "EmpId"]],
        left_on="LearnStartDate", right_on="DateEmpStatApp", by=["UKPRN", "LearnRefNumber"], direction="backward",
    )
    return merged.set_index("index")["EmpId"].reindex(aims.index)


def link_aims(
    aims: pd.DataFrame,
    commitments: pd.DataFrame,
    register: pd.DataFrame,
    employment: pd.DataFrame,
    readings: LinkReadings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (linked, unlinked) programme aims.

    ``linked`` has one row per aim and agency (an apprentice who moved from
    one agency to another with the same provider and standard belongs to
    both), with the commitment's fields and ``link_basis``.
    """
    agency = agency_commitments(commitments, register, readings)
    cols = ["agency_id", "apprenticeship_id", "host_employer", "status", "stop_date", "start_date"]
    agency = agency.reindex(columns=["ULN", "UKPRN", "StdCode"] + cols)
    # Within one agency keep the latest commitment for an apprenticeship.
    agency = agency.sort_values(["start_date", "apprenticeship_id"], na_position="first")
    agency = agency.drop_duplicates(["ULN", "UKPRN", "StdCode", "agency_id"], keep="last")
    agency = agency.rename(columns={"start_date": "commitment_start", "status": "commitment_status",
                                    "stop_date": "commitment_stop"})

    aims = aims.reset_index(drop=True)
    aims["_aim"] = aims.index
    if aims["StdCode"].notna().any():
        on = ["ULN", "UKPRN", "StdCode"]
        linked = aims.merge(agency, on=on, how="inner")
    else:
        on = ["ULN", "UKPRN"]
        linked = aims.merge(agency.drop(columns="StdCode"), on=on, how="inner")
    linked["link_basis"] = "commitment"

    # The fallback is for aims with no Apprenticeship Service record at all:
    # a record saying another employer (Regular) wins over the ILR EmpId.
    any_key = commitments[["ULN", "UKPRN"]].drop_duplicates()
    has_any = aims.merge(any_key, on=["ULN", "UKPRN"], how="inner")["_aim"]
    rest = aims[~aims["_aim"].isin(linked["_aim"]) & ~aims["_aim"].isin(has_any)]
    if readings.use_ern_fallback and not rest.empty and "ern" in register:
        ern = register.dropna(subset=["ern"])[["agency_id", "ern"]]
        emp = _employer_at_start(rest, employment)
        by_ern = rest.assign(_ern=emp.to_numpy()).merge(ern, left_on="_ern", right_on="ern", how="inner")
        by_ern = by_ern.drop(columns=["_ern", "ern"])
        by_ern["link_basis"] = "ern"
        linked = pd.concat([linked, by_ern], ignore_index=True)

    unlinked = aims[~aims["_aim"].isin(linked["_aim"])].drop(columns="_aim")
    linked = linked.drop(columns="_aim")
    return linked, unlinked.reset_index(drop=True)


def commitments_without_aims(commitments: pd.DataFrame, register: pd.DataFrame, aims: pd.DataFrame,
                             readings: LinkReadings, year_start=None) -> pd.DataFrame:
    """Agency commitments open in the year that match no ILR programme aim (a reconciliation warning).

    Open in the year: live, paused or waiting to start, or stopped on or
    after ``year_start``; a commitment that completed or stopped earlier is
    not expected in this year's ILR.
    """
    agency = agency_commitments(commitments, register, readings)
    if year_start is not None:
        status = agency["status"].fillna("Live")
        stopped_late = (status == "Stopped") & (agency["stop_date"] >= pd.Timestamp(year_start))
        agency = agency[status.isin(["Live", "Paused", "WaitingToStart"]) | stopped_late]
    key = ["ULN", "UKPRN", "StdCode"]
    if aims.empty:
        return agency
    seen = aims[key].drop_duplicates()
    merged = agency.merge(seen, on=key, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge")


def link_reconciliation(ds, period, readings: LinkReadings) -> pd.DataFrame:
    """How the period's ILR programme aims and the agency commitments matched up.

    A warning table, never quarantine: commitments with no ILR aim, agency
    aims with no commitment (linked by the agency's employer reference), and
    aims linked to no agency (they still feed FRM).
    """
    from .reference import uln_is_valid

    ret = ds.returns[period]
    aims = programme_aims(ret)
    linked, unlinked = link_aims(aims, ds.commitments, ds.register, ret.employment, readings)
    per_aim = linked.drop_duplicates(["UKPRN", "LearnRefNumber", "AimSeqNumber"])
    rows = [
        ("ILR programme aims (apprenticeship standards)", len(aims)),
        ("linked to an agency by commitment", int((per_aim["link_basis"] == "commitment").sum())),
        ("linked to an agency by employer reference (ern), no commitment", int((per_aim["link_basis"] == "ern").sum())),
        ("not linked to any agency (kept for FRM)", len(unlinked)),
        ("agency commitments open in the year with no ILR programme aim",
         len(commitments_without_aims(ds.commitments, ds.register, aims, readings, period.year.start))),
        ("learners whose ULN fails the check digit (warning only)",
         sum(not uln_is_valid(u) for u in ret.learners["ULN"])),
    ]
    return pd.DataFrame(rows, columns=["item", "count"]).assign(period=str(period))
