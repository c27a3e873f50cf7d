"""Funding rules monitoring (FRM): the ESFA's post-16 reports over ILR data.

Each report is data in ``params/frm/<year>.yaml`` (title, funding streams,
guidance and actions in our words, the inputs it needs) plus one function
here that returns the rows it flags. Every function takes the same prepared
inputs and returns rows of the aims table (aim-level reports) or the
students table (learner-level reports) with a ``reason`` in words; the
runner turns them into one uniform shape, adds the query ID, the funding
impact and the change since the previous return.

A report whose inputs are absent says "not available" rather than passing
silently. Reports named as withdrawn (FRM02, FRM03, FRM50) are listed with
no logic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .paths import repo_path
from .periods import AcademicYear, Period, parse_year

FLAG_COLUMNS = ["UKPRN", "rule", "query_id", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "LearnStartDate",
                "funding_stream", "PartnerUKPRN", "funding_impact", "change", "reason"]
STATUS_COLUMNS = ["UKPRN", "rule", "available", "flagged", "new", "persisting", "resolved", "funding_impact"]
STREAM_LABELS = {
    "study_programme": "16 to 19 study programmes", "traineeship_16_18": "16 to 18 traineeships",
    "t_level": "T Levels", "traineeship_19_24": "19 to 24 traineeships", "aeb_esfa": "ESFA adult education budget",
    "aeb_devolved": "Devolved adult education budget", "apprenticeship": "Apprenticeships",
    "advanced_learner_loans": "Advanced learner loans", "other": "Other",
}
INPUT_WORDS = {
    "lars": "lars.csv (learning aim reference data)",
    "prior_achievements": "prior achievements (an earlier year's ILR or prior_achievements.csv)",
    "previous_year": "the previous year's final return (R14)",
    "loans": "SLC loans records (slc/<year>/<return>/loans.csv)",
}


# ------------------------------------------------------------------ catalogue

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TLevelSettings(_Strict):
    progtype: str
    programme_aim: str
    placement_aim: str
    band_minimum_hours: dict[str, int]
    default_band: str
    additional_hours_by_start_year: dict[str, int]
    placement_minimum_hours: int
    early_years_minimum_hours: int
    early_years_exception_hours: int
    early_years_exception_start_years: list[str]


class QualifyingPeriod(_Strict):
    planned_days_at_least: int
    qualifying_days: int


class Settings(_Strict):
    apprenticeship_rules_from: date
    adult_age_min: int
    young_adult_ages: tuple[int, int]
    unemployed_empstat: list[str]
    low_wage_ldm: list[str]
    gcse_pass_grades: list[str]
    prior_attain_level: dict[str, int]
    six_weeks_days: int
    continuing_reference: str
    qualifying_periods: list[QualifyingPeriod]
    just_after_days: int
    max_hours_per_week: int
    otj_share_percent: int
    otj_weekly_cap_hours: int
    otj_cap_from: date
    weekly_hours_when_unknown: int
    eii_weekly_hours: dict[str, int]
    work_experience_core_hours_above: int
    eep_share_percent_at_least: int
    als_learner_fams: dict[str, list[str]]
    tlevel: TLevelSettings
    devolved_sof: list[str]
    work_experience_aims: list[str]


class Rule(_Strict):
    id: str
    title: str
    level: Literal["aim", "learner"]
    streams: list[str]
    needs: list[Literal["lars", "prior_achievements", "previous_year", "loans"]]
    guidance: str
    todo: str
    action: Literal["recover", "evidence", "review"]
    published_heading: bool = True


class CalendarEntry(_Strict):
    return_code: str = Field(alias="return")
    month: str
    use: str
    review: bool = False
    recovery: bool = False


class Withdrawn(_Strict):
    id: str
    title: str


class Catalogue(_Strict):
    year: str
    source: str
    calendar: list[CalendarEntry]
    actions: dict[str, str]
    rules: list[Rule]
    withdrawn: list[Withdrawn]
    settings: Settings

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def catalogue_files() -> dict[str, Path]:
    """Shipped catalogues by funding year label (``2022-23`` …)."""
    return {p.stem: p for p in sorted(repo_path("params", "frm").glob("*.yaml"))}


def load_catalogue(year: str | AcademicYear | None = None) -> tuple[Catalogue, str | None]:
    """The catalogue for ``year`` and a note when it is another year's.

    With no catalogue for the year itself, the latest earlier one is used and
    the note says so: the rules and numbers are then that year's, not this one's.
    """
    files = catalogue_files()
    if not files:
        raise InputError("no FRM catalogue in params/frm/")
    label = parse_year(year).label if year is not None else max(files)
    usable = [y for y in files if y <= label] or [min(files)]
    chosen = max(usable)
    try:
        cat = Catalogue.model_validate(yaml.safe_load(files[chosen].read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise InputError(f"the FRM catalogue is not valid ({str(exc).splitlines()[0]})",
                         file=f"params/frm/{chosen}.yaml") from None
    missing = [r.id for r in cat.rules if r.id not in RULES]
    if missing:
        raise InputError(f"rule {missing[0]} has no logic in fjaaqa.frm", file=f"params/frm/{chosen}.yaml")
    note = None if chosen == label else (f"the FRM catalogue for {chosen} is applied to {label}: its rules and "
                                         f"numbers are those of {chosen}")
    return cat, note


# ------------------------------------------------------------------ inputs

@dataclass
class FrmInputs:
    """Everything the rules read for one return, prepared once."""

    period: Period
    aims: pd.DataFrame          # deliveries with learner fields, stream, age, LARS fields
    students: pd.DataFrame      # one row per 16 to 19 funded learner (FundModel 25)
    fams: pd.DataFrame
    workplacements: pd.DataFrame | None = None
    lars: pd.DataFrame | None = None
    prior: pd.DataFrame | None = None          # ULN, LearnAimRef, AchDate, OutGrade, ProgType, AimType (+ LARS)
    previous_year: pd.DataFrame | None = None  # last year's R14 deliveries
    loans: pd.DataFrame | None = None
    earnings: pd.DataFrame | None = None
    available: dict[str, bool] = field(default_factory=dict)


def _str(s: pd.Series) -> pd.Series:
    return s.astype("string")


def _int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Int64")


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").astype("datetime64[s]")


def _has_code(s: pd.Series, codes) -> pd.Series:
    """Whether a ``;``-separated FAM value holds any of ``codes``."""
    codes = set(codes)
    values = s.astype(object).where(s.notna(), "")
    return pd.Series([bool(codes & set(str(v).split(";"))) for v in values], index=s.index, dtype=bool)


def funding_stream(d: pd.DataFrame, s: Settings) -> pd.Series:
    """The funding stream of each aim, from funding model, programme type and FAMs."""
    fm, prog = _str(d["FundModel"]).fillna(""), _str(d.get("ProgType", pd.Series(index=d.index))).fillna("")
    sof = d["FAM_SOF"] if "FAM_SOF" in d else pd.Series("", index=d.index)
    adl = d["FAM_ADL"] if "FAM_ADL" in d else pd.Series("", index=d.index)
    out = pd.Series("other", index=d.index, dtype="object")
    out[fm == "36"] = "apprenticeship"
    out[fm == "35"] = "aeb_esfa"
    out[(fm == "35") & _has_code(sof, s.devolved_sof)] = "aeb_devolved"
    out[(fm == "35") & (prog == "24")] = "traineeship_19_24"
    out[fm == "25"] = "study_programme"
    out[(fm == "25") & (prog == "24")] = "traineeship_16_18"
    out[(fm == "25") & (prog == s.tlevel.progtype)] = "t_level"
    out[(fm == "99") & _has_code(adl, ["1"])] = "advanced_learner_loans"
    return out


def _level_number(level: pd.Series) -> pd.Series:
    """LARS level as a number (entry level 0); unknown as NA."""
    return pd.to_numeric(level.astype("string").replace({"E": "0", "X": pd.NA}), errors="coerce").astype("Int64")


def _with_lars(df: pd.DataFrame, lars: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["level", "aim_type", "subject", "regulated", "full_level_2", "full_level_3", "glh", "tlevel_band",
            "early_years"]
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
    dob, when = _date(dob), _date(when)
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
            aims[c] = _date(aims[c])
    aims["age_at_start"] = _age_at(aims["DateOfBirth"], aims["LearnStartDate"]) if "DateOfBirth" in aims else pd.NA
    aims["stream"] = funding_stream(aims, s)
    aims["PHours_n"] = _int(aims["PHours"]) if "PHours" in aims else pd.Series(pd.NA, index=aims.index, dtype="Int64")
    aims = _with_lars(aims, lars)
    aims["emp_at_start"], aims["eii_at_start"] = _employment_at_start(aims, employment)
    return aims.reset_index(drop=True)


def _employment_at_start(aims: pd.DataFrame, employment: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The employment status (and EII band) in force on each aim's start date: the latest one applying by then."""
    if employment is None or employment.empty:
        return pd.Series(pd.NA, index=aims.index, dtype="string"), pd.Series(pd.NA, index=aims.index, dtype="string")
    emp = employment.copy()
    emp["DateEmpStatApp"] = _date(emp["DateEmpStatApp"])
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
        "PlanLearnHours_n": g["PlanLearnHours"].first().pipe(_int),
        "PlanEEPHours_n": g["PlanEEPHours"].first().pipe(_int),
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


PRIOR_COLUMNS = ["ULN", "LearnAimRef", "AchDate", "OutGrade", "ProgType", "AimType"]


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
        prior["AchDate"] = _date(prior["AchDate"])
        prior = _with_lars(prior, lars)
    prev_year_r14 = [r for p, r in ds.returns.items() if p.year == period.year.previous() and p.return_code == "R14"]
    previous = prev_year_r14[0].deliveries if prev_year_r14 else None
    loans = ret.extra.get("loans")
    return FrmInputs(
        period=period, aims=aims, students=prepare_students(aims, ret.fams, s), fams=ret.fams,
        workplacements=ret.workplacements if ret.has_workplacements else None, lars=lars, prior=prior,
        previous_year=previous, loans=loans, earnings=ret.extra.get("earnings"),
        available={"lars": lars is not None, "prior_achievements": prior is not None,
                   "previous_year": previous is not None, "loans": loans is not None},
    )


# ------------------------------------------------------------------ helpers the rules share

def _in_streams(x: FrmInputs, rule_streams: list[str]) -> pd.DataFrame:
    return x.aims[x.aims["stream"].isin(rule_streams)]


def _prior_join(aims: pd.DataFrame, prior: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Each aim paired with the learner's achievements that came before it started."""
    left = aims.reset_index().rename(columns={"index": "_aim"})
    pr = prior.rename(columns={c: f"p_{c}" for c in prior.columns if c not in on})
    m = left.merge(pr, on=on, how="inner")
    return m[m["p_AchDate"] < m["LearnStartDate"]]


def _grade_level(grade: pd.Series, s: Settings) -> pd.Series:
    """GCSE grade field (ILR MathGrade/EngGrade) as the level it shows: 2 for grade 4 (C) or above, 1 for a lower grade."""
    g = grade.astype("string").str.strip().str.upper()
    passed = g.isin([x.upper() for x in s.gcse_pass_grades])
    lower = g.notna() & ~g.isin(["NONE", "U", "X", "Z", ""]) & ~passed
    return pd.Series(pd.NA, index=grade.index, dtype="Int64").mask(passed, 2).mask(lower, 1)


def _prior_attain_level(code: pd.Series, s: Settings) -> pd.Series:
    return code.astype("string").map(s.prior_attain_level).astype("Int64")


def _rows(df: pd.DataFrame, mask, reason) -> pd.DataFrame:
    out = df[mask].copy()
    out["reason"] = reason[mask] if isinstance(reason, pd.Series) else reason
    return out


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Whole days from ``earlier`` to ``later`` (NA where either is missing)."""
    return (_date(later) - _date(earlier)).dt.days.astype("Int64")


# ------------------------------------------------------------------ the rules (one function each)

def frm01(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A regulated aim the learner has already achieved; a GCSE achieved below grade 4 may be retaken."""
    aims = _in_streams(x, rule.streams)
    aims = aims[aims["regulated"]]
    m = _prior_join(aims, x.prior, ["ULN", "LearnAimRef"])
    gcse = m["lars_aim_type"] == "gcse"
    grade_ok = m["p_OutGrade"].astype("string").str.upper().isin([g.upper() for g in s.gcse_pass_grades])
    m = m[~gcse | grade_ok]
    first = m.sort_values("p_AchDate").groupby("_aim").first()
    hit = aims.index.isin(first.index)
    reason = pd.Series("already achieved on " + first["p_AchDate"].dt.strftime("%Y-%m-%d"), dtype="object")
    return _rows(aims, hit, reason.reindex(aims.index))


def frm13(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """English or maths at level 1 or below within an apprenticeship, when the apprentice already holds level 1+."""
    aims = _in_streams(x, rule.streams)
    aims = aims[(aims["LearnStartDate"] >= pd.Timestamp(s.apprenticeship_rules_from))
                & aims["lars_subject"].isin(["english", "maths"]) & (aims["lars_level_n"] <= 1)]
    held = pd.Series(pd.NA, index=aims.index, dtype="Int64")
    for subj, col in (("english", "EngGrade"), ("maths", "MathGrade")):
        if col in aims:
            mine = aims["lars_subject"] == subj
            held = held.mask(mine, _grade_level(aims[col], s))
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        m = m[(m["p_lars_subject"] == m["lars_subject"]) & (m["p_lars_level_n"] >= 1)]
        best = m.groupby("_aim")["p_lars_level_n"].max().reindex(aims.index)
        held = pd.concat([held, best.astype("Int64")], axis=1).max(axis=1).astype("Int64")
    hit = (held >= 1).fillna(False)
    reason = "already holds level " + held.astype("string").fillna("") + " in " + aims["lars_subject"].astype(str)
    return _rows(aims, hit, reason)


def _holds_full_level(aims: pd.DataFrame, x: FrmInputs, s: Settings, level: int) -> pd.Series:
    """Whether the learner already holds a full level ``level`` or anything higher (PriorAttain or achievements)."""
    held = (_prior_attain_level(aims["PriorAttain"], s) >= level).fillna(False)
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        full = (m[f"p_lars_full_level_{level}"] == "Y") if f"p_lars_full_level_{level}" in m else False
        ok = full | (m["p_lars_level_n"] > level).fillna(False)
        held |= aims.index.isin(m.loc[ok, "_aim"])
    return held


def _adult_exception(aims: pd.DataFrame, s: Settings) -> pd.Series:
    """Unemployed at the start, or recorded on the low-wage offer: these learners may be funded."""
    ldm = aims["FAM_LDM"] if "FAM_LDM" in aims else pd.Series("", index=aims.index)
    return aims["emp_at_start"].isin(s.unemployed_empstat).fillna(False) | _has_code(ldm, s.low_wage_ldm)


def _further_level(x: FrmInputs, s: Settings, rule: Rule, level: int, ffi: list[str]) -> pd.DataFrame:
    aims = _in_streams(x, rule.streams)
    lo, hi = s.young_adult_ages
    ffi_col = aims["FAM_FFI"] if "FAM_FFI" in aims else pd.Series("", index=aims.index)
    cand = ((aims["age_at_start"] >= lo) & (aims["age_at_start"] <= hi)).fillna(False) \
        & (aims["lars_level_n"] == level).fillna(False) & _has_code(ffi_col, ffi)
    if level == 2:
        cand &= aims["lars_full_level_2"] == "Y"
    cand &= ~_adult_exception(aims, s)
    hit = cand & _holds_full_level(aims, x, s, level)
    return _rows(aims, hit, f"aged {lo} to {hi}, already holds a full level {level} or higher")


def frm16(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully funded full level 2 for a learner aged 19 to 23 who already holds full level 2 or higher."""
    return _further_level(x, s, rule, 2, ["1"])


def frm17(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully or co-funded level 3 for a learner aged 19 to 23 who already holds full level 3 or higher."""
    return _further_level(x, s, rule, 3, ["1", "2"])


def frm19(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A traineeship for someone who has completed an apprenticeship or holds level 4 or above."""
    aims = _in_streams(x, rule.streams)
    level4 = (_prior_attain_level(aims["PriorAttain"], s) >= 4).fillna(False)
    m = _prior_join(aims, x.prior, ["ULN"])
    appr = (m["p_AimType"].astype("string") == "1") & ~m["p_ProgType"].astype("string").isin(["24", "31"]) \
        & m["p_ProgType"].notna()
    high = (m["p_lars_level_n"] >= 4).fillna(False)
    had_appr = aims.index.isin(m.loc[appr, "_aim"])
    had_high = aims.index.isin(m.loc[high, "_aim"]) | level4
    reason = pd.Series("already holds level 4 or above", index=aims.index).mask(
        pd.Series(had_appr, index=aims.index), "already achieved an apprenticeship")
    return _rows(aims, had_appr | had_high, reason)


def _loan_ok(loans: pd.DataFrame) -> pd.DataFrame:
    return loans[(loans["loan_status"] == "approved") & (loans["liability_passed"] == "Y")]


def frm20(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """SLC loans past the first liability point with no matching loans-funded aim in the ILR."""
    ok = _loan_ok(x.loans)
    ilr = x.aims[x.aims["stream"] == "advanced_learner_loans"]
    known = set(zip(ilr["UKPRN"], ilr["ULN"], ilr["LearnAimRef"]))
    hit = pd.Series([k not in known for k in zip(ok["UKPRN"], ok["ULN"], ok["LearnAimRef"])], index=ok.index,
                    dtype=bool)
    out = ok[hit].copy()
    out["LearnStartDate"] = _date(out["course_start_date"])
    out["AimSeqNumber"] = pd.NA
    out["stream"] = "advanced_learner_loans"
    out["slc_amount"] = pd.to_numeric(out.get("amount_paid"), errors="coerce")
    out["reason"] = "SLC has an approved loan past the liability point; no loans-funded aim in the ILR"
    return out


def frm21(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Loans-funded ILR aims with no approved SLC loan past the first liability point."""
    aims = _in_streams(x, rule.streams)
    ok = _loan_ok(x.loans)
    known = set(zip(ok["UKPRN"], ok["ULN"], ok["LearnAimRef"]))
    hit = pd.Series([k not in known for k in zip(aims["UKPRN"], aims["ULN"], aims["LearnAimRef"])],
                    index=aims.index, dtype=bool)
    return _rows(aims, hit, "loans indicator recorded; SLC shows no approved loan past the liability point")


def query_key(df: pd.DataFrame) -> pd.Series:
    """The stable key of an aim: SWSupAimId where given, else UKPRN, LearnRefNumber, LearnAimRef, LearnStartDate."""
    start = pd.to_datetime(df["LearnStartDate"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    natural = (df["UKPRN"].astype(str) + "|" + df["LearnRefNumber"].astype("string").fillna("") + "|"
               + df["LearnAimRef"].astype("string").fillna("") + "|" + start)
    sw = df["SWSupAimId"].astype("string") if "SWSupAimId" in df else pd.Series(pd.NA, index=df.index,
                                                                                dtype="string")
    return ("sw|" + sw).where(sw.notna() & (sw != ""), natural)


def frm27(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Now withdrawn on or before last 31 July, though last year's R14 had the aim continuing or completed."""
    aims = _in_streams(x, rule.streams)
    last_end = pd.Timestamp(x.period.year.previous().end)
    cand = aims[(aims["CompStatus"].astype(str) == "3") & (aims["LearnActEndDate"] <= last_end)]
    prev = x.previous_year
    prev = prev[prev["CompStatus"].astype(str).isin(["1", "2"])]
    before = dict(zip(query_key(prev), prev["CompStatus"].astype(str)))
    keys = query_key(cand)
    was = keys.map(before)
    words = {"1": "continuing", "2": "completed"}
    reason = "withdrawn " + cand["LearnActEndDate"].dt.strftime("%Y-%m-%d") + "; last year's R14 showed it " \
        + was.map(words).fillna("")
    return _rows(cand, was.notna(), reason)


def _left_within(students: pd.DataFrame, start: pd.Series, s: Settings) -> pd.Series:
    """Left (every aim ended) on or before day ``six_weeks_days`` counting ``start`` as day 1, with hours planned."""
    day = _days(students["leave"], start) + 1
    hours = students["PlanLearnHours_n"].fillna(0) + students["PlanEEPHours_n"].fillna(0)
    return (students["all_ended"] & (day >= 1) & (day <= s.six_weeks_days) & (hours > 0)).fillna(False)


def frm28(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Students who started this year and left within their first six weeks, still with planned hours."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    new = st["prog_start"] >= pd.Timestamp(x.period.year.start)
    hit = new & _left_within(st, st["prog_start"], s)
    day = (_days(st["leave"], st["prog_start"]) + 1).astype("string")
    return _rows(st, hit, "started this year and left on day " + day.fillna("") + " of the programme")


def frm71(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Continuing students who left within six weeks of 6 September, still with planned hours."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    ystart = pd.Timestamp(x.period.year.start)
    month, day = (int(v) for v in s.continuing_reference.split("-"))
    ref = pd.Timestamp(date(x.period.year.start.year, month, day))
    continuing = st["prog_start"] < ystart
    left = (st["leave"] >= ystart).fillna(False) & _left_within(st, pd.Series(ref, index=st.index), s)
    left |= (st["all_ended"] & (st["leave"] >= ystart) & (st["leave"] < ref)).fillna(False) & (
        (st["PlanLearnHours_n"].fillna(0) + st["PlanEEPHours_n"].fillna(0)) > 0)
    reason = "continuing student who left on " + st["leave"].dt.strftime("%Y-%m-%d").fillna("")
    return _rows(st, continuing & left, reason)


def frm29(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Aims ended on the last day of the funding qualifying period or within a few days after it."""
    aims = _in_streams(x, rule.streams)
    aims = aims[aims["CompStatus"].astype(str).isin(["2", "3"]) & aims["LearnActEndDate"].notna()]
    planned = _days(aims["LearnPlanEndDate"], aims["LearnStartDate"]) + 1
    in_learning = _days(aims["LearnActEndDate"], aims["LearnStartDate"]) + 1
    qualifying = pd.Series(pd.NA, index=aims.index, dtype="Int64")
    for q in sorted(s.qualifying_periods, key=lambda q: q.planned_days_at_least):
        qualifying = qualifying.mask(planned >= q.planned_days_at_least, q.qualifying_days)
    hit = ((in_learning >= qualifying) & (in_learning <= qualifying + s.just_after_days)).fillna(False)
    reason = ("in learning " + in_learning.astype("string").fillna("") + " days; qualifying period "
              + qualifying.astype("string").fillna("") + " days")
    return _rows(aims, hit, reason)


def frm30(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """More than 40 planned hours a week: year hours over the year's weeks, or T Level hours over the programme."""
    st = x.students[x.students["stream"].isin(rule.streams)].copy()
    ystart, yend = pd.Timestamp(x.period.year.start), pd.Timestamp(x.period.year.end)
    first = st["prog_start"].where(st["prog_start"] > ystart, ystart)
    last = st["prog_plan_end"].where(st["prog_plan_end"] < yend, yend)
    days = _days(last, first) + 1
    hours = st["PlanLearnHours_n"].fillna(0) + st["PlanEEPHours_n"].fillna(0)
    t = x.aims[(x.aims["stream"] == "t_level") & (x.aims["LearnAimRef"] == s.tlevel.programme_aim)]
    if not t.empty:
        tl = t.groupby(["UKPRN", "LearnRefNumber"]).agg(t_hours=("PHours_n", "max"), t_start=("LearnStartDate", "min"),
                                                        t_end=("LearnPlanEndDate", "max")).reset_index()
        st = st.reset_index().merge(tl, on=["UKPRN", "LearnRefNumber"], how="left").set_index("index")
        is_t = st["t_hours"].notna()
        hours = hours.where(~is_t, st["t_hours"])
        days = days.where(~is_t, _days(st["t_end"], st["t_start"]) + 1)
    # hours / (days / 7) > max  <=>  hours * 7 > max * days  (exact, no rounding)
    hit = ((days > 0) & (hours * 7 > s.max_hours_per_week * days)).fillna(False)
    per_week = (hours * 7 / days).round(1).astype("string")
    return _rows(st, hit, per_week.fillna("") + " planned hours a week")


def frm37(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Planned off-the-job hours below 20 % of working hours (capped at 30 a week from August 2022) over the plan."""
    aims = _in_streams(x, rule.streams)
    aims = aims[(aims["AimType"].astype(str) == "1") & (aims["LearnStartDate"] >= pd.Timestamp(s.apprenticeship_rules_from))]
    weekly = aims["eii_at_start"].map(s.eii_weekly_hours).astype("Int64").fillna(s.weekly_hours_when_unknown)
    capped = aims["LearnStartDate"] >= pd.Timestamp(s.otj_cap_from)
    weekly = weekly.where(~capped, weekly.clip(upper=s.otj_weekly_cap_hours))
    days = _days(aims["LearnPlanEndDate"], aims["LearnStartDate"])
    planned = aims["PHours_n"].fillna(0)
    # minimum = share/100 * weekly * days/7; planned < minimum  <=>  planned*700 < share*weekly*days (exact)
    hit = (planned * 700 < s.otj_share_percent * weekly * days).fillna(False)
    minimum = (s.otj_share_percent * weekly * days / 700).round(1).astype("string")
    reason = "planned " + planned.astype("string") + " off-the-job hours; minimum " + minimum.fillna("")
    return _rows(aims, hit, reason)


def emle(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """A fully funded English or maths entitlement aim for an adult who already holds grade 4 (C) in the subject."""
    aims = _in_streams(x, rule.streams)
    ffi = aims["FAM_FFI"] if "FAM_FFI" in aims else pd.Series("", index=aims.index)
    cand = (aims["age_at_start"] >= s.adult_age_min).fillna(False) & _has_code(ffi, ["1"]) \
        & aims["lars_aim_type"].isin(["gcse", "functional_skills", "stepping_stone"]) \
        & aims["lars_subject"].isin(["english", "maths"]) & (aims["lars_level_n"] <= 2).fillna(False)
    held = pd.Series(False, index=aims.index)
    for subj, col in (("english", "EngGrade"), ("maths", "MathGrade")):
        if col in aims:
            held |= (aims["lars_subject"] == subj) & (_grade_level(aims[col], s) == 2).fillna(False)
    if x.prior is not None and not x.prior.empty:
        m = _prior_join(aims, x.prior, ["ULN"])
        passed = m["p_OutGrade"].astype("string").str.upper().isin([g.upper() for g in s.gcse_pass_grades])
        ok = (m["p_lars_aim_type"] == "gcse") & (m["p_lars_subject"] == m["lars_subject"]) & passed
        held |= aims.index.isin(m.loc[ok, "_aim"])
    return _rows(aims, cand & held, "already holds grade 4 (C) or above in " + aims["lars_subject"].astype(str))


def frm42(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Work experience over 300 planned hours that is not the core aim (always the core aim in a traineeship)."""
    aims = _in_streams(x, rule.streams)
    wex = aims[aims["LearnAimRef"].isin(s.work_experience_aims) & (aims["AimType"].astype(str) != "5")
               & (aims["PHours_n"] > s.work_experience_core_hours_above).fillna(False)]
    size = aims["PHours_n"].fillna(_int(aims["lars_glh"])).fillna(0)
    others = aims.assign(size=size)[~aims["LearnAimRef"].isin(s.work_experience_aims)]
    biggest = others.groupby(["UKPRN", "LearnRefNumber"])["size"].max()
    bigger = pd.Series([biggest.get(k, 0) for k in zip(wex["UKPRN"], wex["LearnRefNumber"])], index=wex.index)
    trainee = wex["stream"] == "traineeship_16_18"
    hit = trainee | (bigger < wex["PHours_n"]).fillna(False)
    reason = pd.Series("work experience of " + wex["PHours_n"].astype("string") + " hours is not the core aim",
                       index=wex.index)
    return _rows(wex, hit, reason)


def frm43(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Study programme students taking a qualification with no planned learning hours."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    hit = st["has_qualification"] & (st["PlanLearnHours_n"].fillna(0) == 0)
    return _rows(st, hit, "on a qualification with planned learning hours of 0 or none")


def frm49(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """T Level programme aims with fewer planned hours than their band's minimum plus the additional hours."""
    t = s.tlevel
    aims = _in_streams(x, rule.streams)
    prog = aims[aims["LearnAimRef"] == t.programme_aim]
    core = aims[(aims["AimType"].astype(str) == "5")].drop_duplicates(["UKPRN", "LearnRefNumber"])
    bands = dict(zip(zip(core["UKPRN"], core["LearnRefNumber"]), core["lars_tlevel_band"]))
    band = pd.Series([bands.get(k) for k in zip(prog["UKPRN"], prog["LearnRefNumber"])], index=prog.index,
                     dtype="object")
    band = band.where(band.isin(list(t.band_minimum_hours)), t.default_band)
    start_year = prog["LearnStartDate"].map(lambda d: parse_year(_year_code(d)).label if pd.notna(d) else "")
    required = band.map(t.band_minimum_hours) + start_year.map(t.additional_hours_by_start_year).fillna(0).astype(int)
    planned = prog["PHours_n"].fillna(0)
    hit = (planned < required).fillna(False)
    reason = "planned " + planned.astype("string") + " hours; band " + band.astype(str) + " needs " \
        + required.astype("Int64").astype("string")
    return _rows(prog, hit, reason)


def _year_code(d) -> str:
    """The academic year code (``2223``) a date falls in."""
    y = d.year if d.month >= 8 else d.year - 1
    return f"{y % 100:02d}{(y + 1) % 100:02d}"


def frm56(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Study programme students with planned learning hours but no regulated qualification."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    hit = ~st["has_qualification"] & (st["PlanLearnHours_n"].fillna(0) > 0)
    return _rows(st, hit, st["PlanLearnHours_n"].astype("string").fillna("") + " planned learning hours; no regulated"
                 " qualification")


def frm65(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Second-year T Levels whose industry placement hours are below the specialism's minimum."""
    t = s.tlevel
    aims = _in_streams(x, rule.streams)
    prog = aims[(aims["LearnAimRef"] == t.programme_aim) & (aims["LearnStartDate"] < pd.Timestamp(x.period.year.start))]
    place = aims[aims["LearnAimRef"] == t.placement_aim]
    hours = place.groupby(["UKPRN", "LearnRefNumber"])["PHours_n"].sum()
    core = aims[aims["AimType"].astype(str) == "5"]
    early = set(zip(core.loc[core["lars_early_years"] == "Y", "UKPRN"], core.loc[core["lars_early_years"] == "Y",
                                                                                  "LearnRefNumber"]))
    keys = list(zip(prog["UKPRN"], prog["LearnRefNumber"]))
    got = pd.Series([int(hours.get(k, 0)) for k in keys], index=prog.index)
    is_early = pd.Series([k in early for k in keys], index=prog.index)
    start_year = prog["LearnStartDate"].map(lambda d: parse_year(_year_code(d)).label)
    exception = is_early & start_year.isin(t.early_years_exception_start_years)
    minimum = pd.Series(t.placement_minimum_hours, index=prog.index).mask(is_early, t.early_years_minimum_hours)
    minimum = minimum.mask(exception, t.early_years_exception_hours)
    short = got < minimum
    reason = "industry placement " + got.astype(str) + " hours; minimum " + minimum.astype(str)
    if x.workplacements is not None:
        wp = set(zip(x.workplacements["UKPRN"], x.workplacements["LearnRefNumber"]))
        no_record = pd.Series([k in set(zip(place["UKPRN"], place["LearnRefNumber"])) and k not in wp for k in keys],
                              index=prog.index)
        reason = reason.mask(no_record & ~short, "placement aim has no work placement record")
        short |= no_record
    return _rows(prog, short, reason)


def frm69(x: FrmInputs, s: Settings, rule: Rule) -> pd.DataFrame:
    """Half or more of planned hours are employability, enrichment and pastoral, with no additional support identified."""
    st = x.students[x.students["stream"].isin(rule.streams)]
    plh, eep = st["PlanLearnHours_n"].fillna(0), st["PlanEEPHours_n"].fillna(0)
    total = plh + eep
    # eep / total >= p/100  <=>  100 * eep >= p * total (exact)
    hit = ~st["als"] & (total > 0) & (100 * eep >= s.eep_share_percent_at_least * total)
    share = (100 * eep / total.where(total > 0)).round(1).astype("string")
    return _rows(st, hit.fillna(False), "employability, enrichment and pastoral hours are " + share.fillna("") + " %")


RULES: dict[str, Callable[[FrmInputs, Settings, Rule], pd.DataFrame]] = {
    "FRM01": frm01, "FRM13": frm13, "FRM16": frm16, "FRM17": frm17, "FRM19": frm19, "FRM20": frm20, "FRM21": frm21,
    "FRM27": frm27, "FRM28": frm28, "FRM29": frm29, "FRM30": frm30, "FRM37": frm37, "EMLE": emle, "FRM42": frm42,
    "FRM43": frm43, "FRM49": frm49, "FRM56": frm56, "FRM65": frm65, "FRM69": frm69, "FRM71": frm71,
}


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
    """Run every rule whose inputs are present; the others are named as not available, with why."""
    frames, unavailable = [], {}
    for rule in cat.rules:
        if rules and rule.id not in rules:
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


def previous_return(ds, period: Period) -> Period | None:
    """The return before ``period`` in DATA: the same year's latest earlier return, else last year's last."""
    earlier = [p for p in ds.returns if p < period]
    return max(earlier) if earlier else None


def run_frm(ds, period: Period, ukprns: list[str] | None = None, compare: bool = True) -> FrmResult:
    """All rules for one return, compared with the previous return in DATA (new / persisting / resolved)."""
    cat, note = load_catalogue(period.year)
    x = build_inputs(ds, period, cat.settings)
    flags, unavailable = evaluate(x, cat)
    prev_period = previous_return(ds, period) if compare else None
    resolved = pd.DataFrame(columns=FLAG_COLUMNS)
    if prev_period is not None:
        prev_flags, _ = evaluate(build_inputs(ds, prev_period, cat.settings), cat)
        before = set(prev_flags["query_id"])
        flags["change"] = flags["query_id"].map(lambda q: "persisting" if q in before else "new")
        resolved = prev_flags[~prev_flags["query_id"].isin(set(flags["query_id"]))].assign(change="resolved")
    if ukprns:
        keep = {str(u) for u in ukprns}
        flags = flags[flags["UKPRN"].isin(keep)].reset_index(drop=True)
        resolved = resolved[resolved["UKPRN"].isin(keep)].reset_index(drop=True)
    providers = sorted(set(ukprns) if ukprns else set(x.aims["UKPRN"].astype(str)) | set(flags["UKPRN"]))
    status = rule_status(cat, flags, resolved, unavailable, providers)
    return FrmResult(period, cat, flags, status, unavailable, prev_period, resolved.reset_index(drop=True), note)


def rule_status(cat: Catalogue, flags: pd.DataFrame, resolved: pd.DataFrame, unavailable: dict[str, str],
                providers: list[str]) -> pd.DataFrame:
    """Per provider and rule: flagged rows, new, persisting, resolved, funding impact (or not available)."""
    rows = []
    by = {k: g for k, g in flags.groupby(["UKPRN", "rule"])}
    gone = resolved.groupby(["UKPRN", "rule"]).size().to_dict() if not resolved.empty else {}
    for ukprn in providers:
        for rule in cat.rules:
            g = by.get((ukprn, rule.id))
            n = 0 if g is None else len(g)
            impact = None if g is None or g["funding_impact"].isna().all() else round(float(g["funding_impact"].sum()), 2)
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

    from .writers import atomic_write, csv_text

    folder = Path(out) / result.period.year.code / result.period.return_code / "frm"
    written = [
        atomic_write(folder / "frm_flags.csv", csv_text(result.flags, FLAG_COLUMNS)),
        atomic_write(folder / "frm_flags.json", json.dumps(to_records(result), indent=2, ensure_ascii=False) + "\n"),
        atomic_write(folder / "frm_resolved.csv", csv_text(result.resolved, FLAG_COLUMNS)),
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
