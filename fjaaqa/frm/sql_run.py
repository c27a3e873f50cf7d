"""Running the FRM catalogue in DuckDB: the same flags, query IDs, funding impact and changes as :mod:`.run`.

The pandas runner (:func:`fjaaqa.frm.run.run_frm`) stays the reference. This
one runs each report's query (:data:`fjaaqa.frm.sql_rules.RULE_SQL`) over the
prepared-input tables of one return in a DuckDB connection, and does the
heavy part of the uniform shape in SQL too (query key and ID, funding impact
from the earnings), so only the flagged rows come back to pandas.

The prepared-input tables (one return at a time) are

``frm_aims, frm_students, frm_prior, frm_prev_year, frm_loans, frm_earnings,
frm_workplacements, frm_fams``

with the columns of the pandas :class:`~fjaaqa.frm.inputs.FrmInputs` frames
(dates DATE, Int64 BIGINT, bool BOOLEAN, the rest VARCHAR). A table whose
input is absent exists with no rows; the ``available`` dict says which were
supplied. :func:`register_inputs` fills them from a pandas ``FrmInputs`` (the
reference path for tests); :func:`fjaaqa.frm.sql_inputs.prepare_inputs`
builds them in SQL from the dataset's views.
"""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from ..inputs import schemas
from ..inputs.sources import DATE_COLUMNS
from ..inputs.views import bound
from ..periods import Period, make_period
from .catalogue import INPUT_WORDS, Catalogue
from .inputs import PRIOR_COLUMNS, FrmInputs, with_lars
from .run import (
    FLAG_COLUMNS,
    FrmResult,
    Previous,
    compare_returns,
    compared_with,
    load_catalogue,
    previous_flags,
    rule_status,
)
from .sql_common import AIM_OPTIONAL_COLUMNS, query_key
from .sql_inputs import ROW, ROW_TABLES
from .sql_rules import RULE_SQL

# Prepared-input table -> FrmInputs attribute.
TABLES = {"frm_aims": "aims", "frm_students": "students", "frm_prior": "prior", "frm_prev_year": "previous_year",
          "frm_loans": "loans", "frm_earnings": "earnings", "frm_workplacements": "workplacements",
          "frm_fams": "fams"}

# The uniform row every rule query returns (see fjaaqa.frm.sql_rules).
RULE_COLUMNS = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "LearnStartDate", "SWSupAimId", "ULN",
                "stream", "PartnerUKPRN", "reason", "slc_amount"]


# ------------------------------------------------------------------ the prepared inputs as tables

def _empty(attr: str) -> pd.DataFrame:
    """The columns a prepared input has when it was not supplied (its table still exists, with no rows)."""
    if attr == "prior":
        return with_lars(pd.DataFrame(columns=PRIOR_COLUMNS), None)
    spec = {"previous_year": schemas.ILR_TABLES["deliveries"], "loans": schemas.LOANS,
            "earnings": schemas.EARNINGS, "workplacements": schemas.ILR_TABLES["workplacements"],
            "fams": schemas.ILR_TABLES["fams"]}[attr]
    return pd.DataFrame(columns=spec.names)


def _column_type(name: str, s: pd.Series) -> str:
    """The table type of a prepared column: DATE, BIGINT, BOOLEAN, else VARCHAR (dates named as such when empty)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or (s.dtype == object and s.empty and name in DATE_COLUMNS):
        return "DATE"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "BIGINT"
    return "VARCHAR"


def _plain(s: pd.Series, kind: str) -> pd.Series:
    """A column in a form DuckDB reads without guessing: datetimes, nullable ints and booleans, or text/None."""
    if kind == "DATE":
        return pd.to_datetime(s, errors="coerce").astype("datetime64[s]")
    if kind == "BIGINT":
        return s.astype("Int64")
    if kind == "BOOLEAN":
        return s.astype("boolean")
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def put_table(con, name: str, df: pd.DataFrame) -> None:
    """``df`` as temp table ``name`` in the prepared inputs' types, in its row order.

    The wide tables (frm_aims, frm_prev_year) carry that order as ``_row`` too, as prepare_inputs makes them.
    """
    kinds = {c: _column_type(c, df[c]) for c in df.columns}
    frame = pd.DataFrame({c: _plain(df[c], k) for c, k in kinds.items()}, index=df.index).reset_index(drop=True)
    if name in ROW_TABLES:
        frame.insert(0, ROW, range(len(frame)))
        kinds = {ROW: "BIGINT", **kinds}
    con.register("_frm_frame", frame)
    cols = ", ".join(f'CAST("{c}" AS {k}) AS "{c}"' for c, k in kinds.items())
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {cols} FROM _frm_frame')
    con.unregister("_frm_frame")


def register_inputs(con, x: FrmInputs) -> dict[str, bool]:
    """Put a pandas :class:`FrmInputs` into ``con`` as the prepared-input tables; returns ``x.available``.

    The reference path: the SQL rules over these tables must give what the
    pandas rules give over ``x``.
    """
    for name, attr in TABLES.items():
        df = getattr(x, attr)
        put_table(con, name, _empty(attr) if df is None else df)
    ensure_columns(con)
    return dict(x.available)


def ensure_columns(con) -> None:
    """Add the optional FAM columns the rules read to ``frm_aims`` where the return had none (NULL, as blank)."""
    have = {r[0] for r in con.execute(
        "SELECT name FROM pragma_table_info('frm_aims')").fetchall()}
    for c in AIM_OPTIONAL_COLUMNS:
        if c not in have:
            con.execute(f'ALTER TABLE frm_aims ADD COLUMN "{c}" VARCHAR')


# ------------------------------------------------------------------ running the rules

_HITS = ", ".join(f"{c} {t}" for c, t in [
    ("rule", "VARCHAR"), ("level", "VARCHAR"), ("_rule_no", "INTEGER"), ("_n", "BIGINT"), ("UKPRN", "VARCHAR"),
    ("LearnRefNumber", "VARCHAR"), ("AimSeqNumber", "VARCHAR"), ("LearnAimRef", "VARCHAR"), ("LearnStartDate", "DATE"),
    ("SWSupAimId", "VARCHAR"), ("ULN", "VARCHAR"), ("stream", "VARCHAR"), ("PartnerUKPRN", "VARCHAR"),
    ("reason", "VARCHAR"), ("slc_amount", "DOUBLE")])

# Query key, query ID and funding impact of every hit, as run._shape and run._impact make them. A key with a
# part missing (never in loaded data: the parts are required) is hashed as pandas prints it: 'nan' for its text
# columns, '<NA>' for query_key's string one.
_SHAPE = f"""
WITH keyed AS (
    SELECT h.*, CASE
        WHEN level = 'learner' THEN coalesce(h.UKPRN || '|' || h.LearnRefNumber, 'nan')
        WHEN rule = 'FRM20' THEN coalesce(h.UKPRN || '|slc|' || h.ULN || '|' || h.LearnAimRef || '|'
                                          || CAST(h.LearnStartDate AS VARCHAR), 'nan')
        ELSE coalesce({query_key('h')}, '<NA>') END AS _key
    FROM _frm_hits h),
e AS (
    SELECT UKPRN, LearnRefNumber, AimSeqNumber, TRY_CAST(amount AS DOUBLE) AS amount FROM frm_earnings x
    WHERE EXISTS (SELECT 1 FROM _frm_hits h WHERE h.UKPRN = x.UKPRN AND h.LearnRefNumber = x.LearnRefNumber)),
per_aim AS (
    SELECT UKPRN, LearnRefNumber, AimSeqNumber, coalesce(fsum(amount), 0) AS amount FROM e
    WHERE AimSeqNumber IS NOT NULL GROUP BY UKPRN, LearnRefNumber, AimSeqNumber),
per_learner AS (
    SELECT UKPRN, LearnRefNumber, coalesce(fsum(amount), 0) AS all_aims,
           count(*) FILTER (WHERE AimSeqNumber IS NULL) AS n_learner,
           coalesce(fsum(amount) FILTER (WHERE AimSeqNumber IS NULL), 0) AS learner
    FROM e GROUP BY UKPRN, LearnRefNumber)
SELECT k.UKPRN, k.rule, k.rule || '-' || left(sha256(k.rule || '|' || k._key), 10) AS query_id, k.LearnRefNumber,
       CASE WHEN k.level = 'aim' THEN k.AimSeqNumber END AS AimSeqNumber,
       CASE WHEN k.level = 'aim' THEN k.LearnAimRef END AS LearnAimRef,
       CASE WHEN k.level = 'aim' THEN CAST(k.LearnStartDate AS VARCHAR) END AS LearnStartDate,
       k.stream AS funding_stream, k.PartnerUKPRN,
       CASE WHEN k.rule = 'FRM20' THEN k.slc_amount
            WHEN k.level = 'learner' THEN l.all_aims
            WHEN a.UKPRN IS NOT NULL THEN a.amount
            WHEN l.n_learner > 0 THEN l.learner END AS funding_impact,
       k.reason
FROM keyed k
LEFT JOIN per_aim a ON a.UKPRN = k.UKPRN AND a.LearnRefNumber = k.LearnRefNumber AND a.AimSeqNumber = k.AimSeqNumber
LEFT JOIN per_learner l ON l.UKPRN = k.UKPRN AND l.LearnRefNumber = k.LearnRefNumber
ORDER BY k._rule_no, k._n"""


def _flag_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The shaped hits in the pandas runner's column types, rounded and sorted as it does."""
    if df.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    out = pd.DataFrame(index=df.index)
    out["UKPRN"] = df["UKPRN"].astype(str)
    out["rule"] = df["rule"].astype(str)
    out["query_id"] = df["query_id"].astype("string")
    out["LearnRefNumber"] = df["LearnRefNumber"].astype("string")
    for c in ("AimSeqNumber", "LearnAimRef", "LearnStartDate", "funding_stream"):
        out[c] = df[c].astype(object).where(df[c].notna(), pd.NA)
    out["PartnerUKPRN"] = df["PartnerUKPRN"].astype("string")
    # Earnings sums are rounded as run._impact rounds them (Python's round); SLC amounts as given.
    impact = [pd.NA if pd.isna(v) else float(v) if r == "FRM20" else round(float(v), 2)
              for r, v in zip(df["rule"], df["funding_impact"])]
    out["funding_impact"] = pd.array(impact, dtype="Float64")
    out["change"] = "new"
    out["reason"] = df["reason"].astype(str)
    out = out[FLAG_COLUMNS]
    return out.sort_values(["UKPRN", "rule", "query_id"], kind="stable").reset_index(drop=True)


def evaluate_sql(con, cat: Catalogue, period: Period, available: dict[str, bool],
                 rules: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every rule whose inputs are present, over the prepared tables of ``period`` (as :func:`.run.evaluate`).

    The same ``(flags, unavailable)``: a rule not yet published at the
    return, or missing an input, says why instead of running.
    """
    ensure_columns(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _frm_hits ({_HITS})")
    unavailable: dict[str, str] = {}
    for no, rule in enumerate(cat.rules):
        if rules and rule.id not in rules:
            continue
        rule = rule.at(period, cat.year)
        if not rule.published_at(period, cat.year):
            unavailable[rule.id] = f"first published at {rule.versions[0].from_return} of {cat.year}"
            continue
        missing = [n for n in rule.needs if not available.get(n)]
        if missing:
            unavailable[rule.id] = "needs " + " and ".join(INPUT_WORDS[n] for n in missing)
            continue
        sql, params = RULE_SQL[rule.id](cat.settings, rule, period)
        # A table keeps the query's ORDER BY as its row order: rowid is the rule's own order of rows.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _frm_rule AS {sql}", bound(sql, params))
        con.execute(f"INSERT INTO _frm_hits SELECT $rule, $level, $no, rowid, {', '.join(RULE_COLUMNS)} "
                    f"FROM _frm_rule", {"rule": rule.id, "level": rule.level, "no": no})
    flags = _flag_frame(con.execute(_SHAPE).df())
    con.execute("DROP TABLE IF EXISTS _frm_rule")
    return flags, unavailable


# ------------------------------------------------------------------ the whole run

def dataset_periods(con) -> list[Period]:
    """The returns the connection's dataset holds (its ``dataset_returns`` view)."""
    rows = con.execute("SELECT year, return_code FROM dataset_returns").fetchall()
    return sorted(make_period(y, r) for y, r in rows)


def run_frm_sql(con, period: Period, ukprns: list[str] | None = None, compare: bool = True,
                prepare=None, previous: Previous | None = None) -> FrmResult:
    """All rules for one return in DuckDB, compared with the previous return (as :func:`.run.run_frm`).

    ``prepare(con, period, settings) -> available`` fills the prepared-input
    tables for a return (by default :func:`fjaaqa.frm.sql_inputs.prepare_inputs`,
    from the dataset's views). The previous return (``previous``, else the
    latest earlier one in the dataset) is prepared first unless its kept
    flags came with it, so the tables hold ``period``'s inputs when this returns.
    """
    if prepare is None:
        from .sql_inputs import prepare_inputs as prepare
    cat, note = load_catalogue(period.year)
    periods = dataset_periods(con)
    if period not in periods:
        raise InputError(f"no ILR return for {period.label} in the data directory",
                         file=f"ilr/{period.year.code}/{period.return_code}")
    previous = compared_with(periods, period, compare, previous)
    prev_flags = previous_flags(previous, lambda p: evaluate_sql(con, cat, p, prepare(con, p, cat.settings))[0])
    prev_period = previous.period if previous is not None else None
    flags, unavailable = evaluate_sql(con, cat, period, prepare(con, period, cat.settings))
    flags, resolved = compare_returns(flags, prev_flags, cat, prev_period, period, ukprns)
    if ukprns:
        providers = sorted(set(ukprns))
    else:
        aims = {r[0] for r in con.execute("SELECT DISTINCT UKPRN FROM frm_aims WHERE UKPRN IS NOT NULL").fetchall()}
        providers = sorted(aims | set(flags["UKPRN"]))
    status = rule_status(cat, flags, resolved, unavailable, providers)
    return FrmResult(period, cat, flags, status, unavailable, prev_period, resolved.reset_index(drop=True), note)
