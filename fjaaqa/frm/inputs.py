"""FRM inputs: one return prepared once for every rule (aims with learner fields, students, prior achievements).

The rules read only what :func:`build_inputs` makes, so each input is
prepared once however many rules read it. :func:`query_key` is the stable
key of an aim across returns (never ``AimSeqNumber``), from which query IDs
are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..periods import AcademicYear, Period
from .catalogue import Settings


@dataclass
class FrmInputs:
    """Everything the rules read for one return, prepared once."""

    period: Period
    aims: pd.DataFrame          # deliveries with learner fields, stream, age, LARS fields
    students: pd.DataFrame      # one row per 16 to 19 funded learner (FundModel 25)
    fams: pd.DataFrame
    workplacements: pd.DataFrame | None = None
    lars: pd.DataFrame | None = None
    prior: pd.DataFrame | None = None          # PRIOR_COLUMNS (+ LARS fields)
    previous_year: pd.DataFrame | None = None  # last year's R14 deliveries
    loans: pd.DataFrame | None = None
    earnings: pd.DataFrame | None = None
    available: dict[str, bool] = field(default_factory=dict)


def as_string(s: pd.Series) -> pd.Series:
    return s.astype("string")


def as_int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Int64")


def as_date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").astype("datetime64[s]")


def has_code(s: pd.Series, codes) -> pd.Series:
    """Whether a ``;``-separated FAM value holds any of ``codes``."""
    codes = set(codes)
    values = s.astype(object).where(s.notna(), "")
    return pd.Series([bool(codes & set(str(v).split(";"))) for v in values], index=s.index, dtype=bool)


APPRENTICESHIP = "apprenticeship"  # the stream id of apprenticeships (funding model 36)


def funding_stream(d: pd.DataFrame, s: Settings) -> pd.Series:
    """The funding stream of each aim, from funding model, programme type and FAMs."""
    fm, prog = as_string(d["FundModel"]).fillna(""), as_string(d.get("ProgType", pd.Series(index=d.index))).fillna("")
    sof = d["FAM_SOF"] if "FAM_SOF" in d else pd.Series("", index=d.index)
    adl = d["FAM_ADL"] if "FAM_ADL" in d else pd.Series("", index=d.index)
    out = pd.Series("other", index=d.index, dtype="object")
    out[fm == "36"] = APPRENTICESHIP
    out[fm == "35"] = "aeb_esfa"
    out[(fm == "35") & has_code(sof, s.devolved_sof)] = "aeb_devolved"
    out[(fm == "35") & (prog == "24")] = "traineeship_19_24"
    out[fm == "25"] = "study_programme"
    out[(fm == "25") & (prog == "24")] = "traineeship_16_18"
    out[(fm == "25") & (prog == s.tlevel.progtype)] = "t_level"
    out[(fm == "99") & has_code(adl, ["1"])] = "advanced_learner_loans"
    return out


def _level_number(level: pd.Series) -> pd.Series:
    """LARS level as a number (entry level 0); unknown as NA."""
    return pd.to_numeric(level.astype("string").replace({"E": "0", "X": pd.NA}), errors="coerce").astype("Int64")


# The LARS fields put on aims and prior achievements as ``lars_<field>`` (both engines).
LARS_FIELDS = ["level", "aim_type", "subject", "regulated", "full_level_2", "full_level_3", "glh", "tlevel_band",
               "early_years"]


def with_lars(df: pd.DataFrame, lars: pd.DataFrame | None) -> pd.DataFrame:
    cols = LARS_FIELDS
    if lars is None or lars.empty:
        out = df.copy()
        for c in cols:
            out[f"lars_{c}"] = pd.Series(pd.NA, index=df.index, dtype="string")
    else:
        ref = lars[["LearnAimRef", *cols]].drop_duplicates("LearnAimRef").rename(columns={c: f"lars_{c}" for c in cols})
        out = df.merge(ref, on="LearnAimRef", how="left")
        out.index = df.index
    out["lars_level_n"] = _level_number(out["lars_level"])
    # A Z-prefixed aim is never a regulated qualification; others are unless LARS says not.
    out["regulated"] = ~out["LearnAimRef"].astype(str).str.startswith("Z") & (out["lars_regulated"].fillna("Y") != "N")
    return out


def _age_at(dob: pd.Series, when: pd.Series) -> pd.Series:
    """Whole years of age on ``when``."""
    dob, when = as_date(dob), as_date(when)
    years = when.dt.year - dob.dt.year
    before_birthday = (when.dt.month < dob.dt.month) | ((when.dt.month == dob.dt.month) & (when.dt.day < dob.dt.day))
    return (years - before_birthday.astype(int)).astype("Int64")


def prepare_aims(learners: pd.DataFrame, deliveries: pd.DataFrame, employment: pd.DataFrame,
                 lars: pd.DataFrame | None, s: Settings) -> pd.DataFrame:
    """Deliveries with the learner fields, age at start, funding stream and LARS fields the rules need."""
    keep = ["UKPRN", "LearnRefNumber", "ULN", "DateOfBirth", "PriorAttain", "PlanLearnHours", "PlanEEPHours",
            "LLDDHealthProb", "MathGrade", "EngGrade"]
    lrn = learners[[c for c in keep if c in learners]].drop_duplicates(["UKPRN", "LearnRefNumber"])
    aims = deliveries.merge(lrn, on=["UKPRN", "LearnRefNumber"], how="left")
    for c in ("LearnStartDate", "LearnPlanEndDate", "LearnActEndDate", "AchDate", "DateOfBirth"):
        if c in aims:
            aims[c] = as_date(aims[c])
    aims["age_at_start"] = _age_at(aims["DateOfBirth"], aims["LearnStartDate"]) if "DateOfBirth" in aims else pd.NA
    aims["stream"] = funding_stream(aims, s)
    aims["PHours_n"] = as_int(aims["PHours"]) if "PHours" in aims else pd.Series(pd.NA, index=aims.index, dtype="Int64")
    aims = with_lars(aims, lars)
    aims["emp_at_start"], aims["eii_at_start"] = _employment_at_start(aims, employment)
    return aims.reset_index(drop=True)


def _employment_at_start(aims: pd.DataFrame, employment: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The employment status (and EII band) in force on each aim's start date: the latest one applying by then."""
    if employment is None or employment.empty:
        return pd.Series(pd.NA, index=aims.index, dtype="string"), pd.Series(pd.NA, index=aims.index, dtype="string")
    emp = employment.copy()
    emp["DateEmpStatApp"] = as_date(emp["DateEmpStatApp"])
    if "ESM_EII" not in emp:
        emp["ESM_EII"] = pd.NA
    emp = emp.dropna(subset=["DateEmpStatApp"]).sort_values("DateEmpStatApp")
    left = aims[["UKPRN", "LearnRefNumber", "LearnStartDate"]].reset_index()
    left = left.dropna(subset=["LearnStartDate"]).sort_values("LearnStartDate")
    merged = pd.merge_asof(left, emp[["UKPRN", "LearnRefNumber", "DateEmpStatApp", "EmpStat", "ESM_EII"]],
                           left_on="LearnStartDate", right_on="DateEmpStatApp", by=["UKPRN", "LearnRefNumber"])
    merged = merged.set_index("index").reindex(aims.index)
    return merged["EmpStat"].astype("string"), merged["ESM_EII"].astype("string")


def prepare_students(aims: pd.DataFrame, fams: pd.DataFrame, s: Settings) -> pd.DataFrame:
    """One row per learner with 16 to 19 funded aims: programme start and end, hours, support needs."""
    fm25 = aims[aims["FundModel"].astype(str) == "25"]
    cols = ["UKPRN", "LearnRefNumber", "ULN", "stream", "prog_start", "prog_plan_end", "leave", "all_ended",
            "PlanLearnHours_n", "PlanEEPHours_n", "has_qualification", "als", "PartnerUKPRN"]
    if fm25.empty:
        empty = pd.DataFrame(columns=cols)
        for c in ("prog_start", "prog_plan_end", "leave"):
            empty[c] = empty[c].astype("datetime64[s]")
        for c in ("all_ended", "has_qualification", "als"):
            empty[c] = empty[c].astype(bool)
        for c in ("PlanLearnHours_n", "PlanEEPHours_n"):
            empty[c] = empty[c].astype("Int64")
        return empty
    g = fm25.groupby(["UKPRN", "LearnRefNumber"], sort=True)
    st = pd.DataFrame({
        "ULN": g["ULN"].first(),
        "prog_start": g["LearnStartDate"].min(),
        "prog_plan_end": g["LearnPlanEndDate"].max(),
        "leave": g["LearnActEndDate"].max(),
        "all_ended": g["LearnActEndDate"].agg(lambda v: bool(v.notna().all())),
        "PlanLearnHours_n": g["PlanLearnHours"].first().pipe(as_int),
        "PlanEEPHours_n": g["PlanEEPHours"].first().pipe(as_int),
        "has_qualification": g["regulated"].any(),
        "stream": g["stream"].agg(lambda v: "t_level" if "t_level" in set(v)
                                  else "traineeship_16_18" if "traineeship_16_18" in set(v) else "study_programme"),
        "lldd": g["LLDDHealthProb"].first().astype("string"),
        "PartnerUKPRN": g["PartnerUKPRN"].first() if "PartnerUKPRN" in fm25 else pd.NA,  # first subcontracted aim
    }).reset_index()
    als = pd.Series(False, index=st.index)
    if fams is not None and not fams.empty:
        lf = fams[fams["AimSeqNumber"].isna()]
        hits = pd.Series(False, index=lf.index)
        for fam_type, codes in s.als_learner_fams.items():
            hits |= (lf["FAMType"] == fam_type) & lf["FAMCode"].astype(str).isin(codes)
        flagged = set(zip(lf.loc[hits, "UKPRN"], lf.loc[hits, "LearnRefNumber"]))
        als = pd.Series([k in flagged for k in zip(st["UKPRN"], st["LearnRefNumber"])], index=st.index)
    st["als"] = als | (st["lldd"] == "1")
    return st[cols]


# StdCode: FRM01 matches an apprenticeship programme aim (always ZPROG001) on its standard.
PRIOR_COLUMNS = ["ULN", "LearnAimRef", "AchDate", "OutGrade", "ProgType", "AimType", "StdCode"]
FINAL_RETURN = "R14"  # the previous year's deliveries come from its final return
# The top-level tables the rules read (besides the ILR returns, SLC loans and earnings): the loaders read no other,
# so a provider's own data runs without the agencies' register and commitments.
FRM_TABLES = ("lars", "prior_achievements")


def prior_from_returns(returns: list, before: AcademicYear) -> pd.DataFrame:
    """Achieved aims (Outcome 1 with an AchDate) from every earlier year's last return in DATA."""
    by_year: dict = {}
    for ret in returns:
        if ret.period.year < before:
            by_year[ret.period.year] = max(by_year.get(ret.period.year, ret), ret, key=lambda r: r.period)
    parts = []
    for ret in by_year.values():
        d = ret.deliveries
        ach = d[(d["Outcome"].astype(str) == "1") & d["AchDate"].notna()]
        ach = ach.merge(ret.learners[["UKPRN", "LearnRefNumber", "ULN"]], on=["UKPRN", "LearnRefNumber"], how="left")
        parts.append(ach.reindex(columns=PRIOR_COLUMNS))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PRIOR_COLUMNS)


def build_inputs(ds, period: Period, s: Settings) -> FrmInputs:
    """Prepare one return of a :class:`~fjaaqa.sources.Dataset` for the rules."""
    ret = ds.returns.get(period)
    if ret is None:
        raise InputError(f"no ILR return for {period.label} in the data directory", file=f"ilr/{period.year.code}/"
                         f"{period.return_code}")
    lars = ds.table("lars") if ds.given("lars") else None
    aims = prepare_aims(ret.learners, ret.deliveries, ret.employment, lars, s)
    prior_parts = []
    earlier = [r for p, r in ds.returns.items() if p.year < period.year]
    if earlier:
        prior_parts.append(prior_from_returns(earlier, period.year))
    if ds.given("prior_achievements"):
        prior_parts.append(ds.table("prior_achievements").reindex(columns=PRIOR_COLUMNS))
    # Achievements earlier in this same return count too (the AchDate must precede the later aim's start).
    here = aims[(aims["Outcome"].astype(str) == "1") & aims["AchDate"].notna()]
    prior = None
    if prior_parts:
        prior = pd.concat([*prior_parts, here.reindex(columns=PRIOR_COLUMNS)], ignore_index=True)
        prior["AchDate"] = as_date(prior["AchDate"])
        prior = with_lars(prior, lars)
    prev_year_r14 = [r for p, r in ds.returns.items()
                     if p.year == period.year.previous() and p.return_code == FINAL_RETURN]
    previous = prev_year_r14[0].deliveries if prev_year_r14 else None
    loans = ret.extra.get("loans")
    return FrmInputs(
        period=period, aims=aims, students=prepare_students(aims, ret.fams, s), fams=ret.fams,
        workplacements=ret.workplacements if ret.has_workplacements else None, lars=lars, prior=prior,
        previous_year=previous, loans=loans, earnings=ret.extra.get("earnings"),
        available={"lars": lars is not None, "prior_achievements": prior is not None,
                   "previous_year": previous is not None, "loans": loans is not None},
    )


def query_key(df: pd.DataFrame) -> pd.Series:
    """The stable key of an aim: SWSupAimId where given, else UKPRN, LearnRefNumber, LearnAimRef, LearnStartDate."""
    start = pd.to_datetime(df["LearnStartDate"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    natural = (df["UKPRN"].astype(str) + "|" + df["LearnRefNumber"].astype("string").fillna("") + "|"
               + df["LearnAimRef"].astype("string").fillna("") + "|" + start)
    sw = df["SWSupAimId"].astype("string") if "SWSupAimId" in df else pd.Series(pd.NA, index=df.index,
                                                                                dtype="string")
    return ("sw|" + sw).where(sw.notna() & (sw != ""), natural)
