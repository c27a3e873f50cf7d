"""FRM prepared inputs in DuckDB SQL: the tables the SQL rules read, built from the dataset's views.

:func:`prepare_inputs` makes, for one return, the same rows and columns
that :func:`fjaaqa.frm.inputs.build_inputs` makes in pandas, as temporary
tables in the connection (``frm_aims``, ``frm_students``, ``frm_prior``,
``frm_prev_year``, ``frm_loans``, ``frm_earnings``, ``frm_workplacements``,
``frm_fams``). It reads only the views of :mod:`fjaaqa.inputs.views`, so it
works the same whichever loader filled them. Each table is replaced when
another return is prepared (the runner prepares the previous return, then
the current one).

The pandas code stays the reference; each step below names the pandas
function it mirrors. Three things make the two agree exactly:

- every table's rows have the pandas frame's order: ``frm_aims`` and
  ``frm_prev_year`` carry it as a column, ``_row`` (the deliveries view's
  ``_idx``, each row's place in its return's file), and are written in
  whatever order DuckDB's threads finish, as sorting five million wide rows
  into file order was half of the statement's time; the other tables are
  narrow and are kept in that order, so their ``rowid`` is it (taken from a
  view's ``_idx`` when it has one, else the order the view gives its rows
  in, which a scan, filter or UNION ALL keeps). pandas ``first`` in a
  groupby is the first non-missing value in row order, so ``frm_students``
  takes it by ``_row``, and the SQL rules take their own "first" and their
  row order from ``_row`` or rowid. Rows are never numbered with
  ``row_number() OVER ()`` over a view: DuckDB numbers a view holding a join
  in whatever order its threads finish;
- every setting (devolved SOF codes, the T Level programme type, the
  learner FAMs meaning additional support) is a bound parameter, never text;
- which returns count as earlier years, the previous year's R14 and what
  was supplied are decided in Python with the same :class:`Period` ordering
  the pandas code uses, from ``dataset_returns`` and ``dataset_given``.

The aims and last year's deliveries leave out the delivery fields no
report reads (:data:`UNREAD`, and the FAM columns no report reads): the
pandas frames keep them, and the tests compare every other column. A FAM
column a report reads is kept even when this return has none (the view has
every ``FAM_<type>`` column any return has): it is empty, as the pandas
rules read a missing FAM column as empty.
"""

from __future__ import annotations

from ..errors import InputError
from ..inputs.schemas import sql_name
from ..inputs.views import bound
from ..periods import Period, make_period
from .catalogue import Settings
from .inputs import FINAL_RETURN, LARS_FIELDS, PRIOR_COLUMNS
from .sql_common import AIM_OPTIONAL_COLUMNS

TABLES = ["frm_aims", "frm_students", "frm_prior", "frm_prev_year", "frm_loans", "frm_earnings",
          "frm_workplacements", "frm_fams"]
PERIOD_COLUMNS = ("year", "return_code")
# A view may number its rows in file order (within each return): then that, not the view's scan order, is the
# row order. Neither it nor the period columns are columns of the pandas frames. The deliveries view always does.
ORDER_COLUMN = "_idx"
NOT_DATA = (*PERIOD_COLUMNS, ORDER_COLUMN)
# The column of frm_aims and frm_prev_year holding each row's place in the pandas frame (its file order).
ROW = "_row"
ROW_TABLES = ("frm_aims", "frm_prev_year")
# The learner fields put on each aim (prepare_aims' ``keep`` less the join keys).
LEARNER_FIELDS = ["ULN", "DateOfBirth", "PriorAttain", "PlanLearnHours", "PlanEEPHours", "LLDDHealthProb",
                  "MathGrade", "EngGrade"]


def columns(con, view: str) -> list[str]:
    """The columns of a view or table, in order."""
    return [r[0] for r in con.execute(f"DESCRIBE {sql_name(view)}").fetchall()]


def _or_null(cols: list[str], name: str, alias: str) -> str:
    """``alias.name`` when the view has that column, else a typed NULL: an absent column reads as empty."""
    return f"{alias}.{sql_name(name)}" if name in cols else "CAST(NULL AS VARCHAR)"


def _lars_select(alias: str) -> str:
    """The LARS fields as ``lars_<field>``, the level as a number, and ``regulated`` (as with_lars makes them)."""
    fields = [f"{alias}.{sql_name(c)} AS {sql_name('lars_' + c)}" for c in LARS_FIELDS]
    # Entry level is 0 and level X unknown, as _level_number reads them.
    level_n = (f"TRY_CAST(CASE {alias}.level WHEN 'E' THEN '0' WHEN 'X' THEN NULL ELSE {alias}.level END "
               f"AS BIGINT) AS lars_level_n")
    return ", ".join(fields + [level_n])


def _regulated(alias: str) -> str:
    """A Z-prefixed aim is never a regulated qualification; others are unless LARS says not (with_lars)."""
    return f"(NOT starts_with(coalesce({alias}.LearnAimRef, 'nan'), 'Z') AND coalesce(x.regulated, 'Y') <> 'N')"


def _returns(con) -> dict[Period, dict]:
    """Each return in the dataset, with what was supplied for it."""
    rows = con.execute("SELECT year, return_code, has_workplacements, has_loans, has_earnings "
                       "FROM dataset_returns").fetchall()
    return {make_period(y, r): {"has_workplacements": bool(w), "has_loans": bool(lo), "has_earnings": bool(e)}
            for y, r, w, lo, e in rows}


def _earlier_last_returns(returns, period: Period) -> list[Period]:
    """Each earlier year's last return in the data (prior_from_returns reads their achievements)."""
    by_year: dict = {}
    for p in returns:
        if p.year < period.year:
            by_year[p.year] = max(by_year.get(p.year, p), p)
    return sorted(by_year.values())


# This return's deliveries, copied once with their file order (``_idx``) as a column: the aims statement joins
# the copy faster than the view itself (6.4 s against 8.6 s at five million aims, the view holding a join).
RETURN_DELIVERIES = "_frm_deliveries"


# Delivery fields no report reads: frm_aims and frm_prev_year leave them out (the pandas frames keep them), and
# the FAM columns no report reads, all of them in last year's deliveries. Five million aims are written 1.2 s
# faster a return without them. A report that starts to read one fails the SQL engine's tests, naming it.
UNREAD = ("OrigLearnStartDate", "WithdrawReason", "DelLocPostCode", "OTJActHours", "EPAOrgID")


def keeps(table: str, column: str) -> bool:
    """Whether ``table`` (frm_aims or frm_prev_year) carries this deliveries column: not if no report reads it."""
    if column in UNREAD or column in NOT_DATA:
        return False
    if column.startswith("FAM_"):
        return table == "frm_aims" and column in AIM_OPTIONAL_COLUMNS
    return True


def _deliveries_sql(con, table: str, condition: str, kind: str) -> str:
    """A table of one return's deliveries (the columns ``kind`` keeps and ``_row``, their file order), unsorted."""
    cols = [c for c in columns(con, "deliveries") if keeps(kind, c)]
    return (f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {ORDER_COLUMN} AS {ROW}, "
            f"{', '.join(sql_name(c) for c in cols)} FROM deliveries WHERE {condition}")


def _aims_sql(con) -> str:
    """frm_aims in one statement: deliveries with learner fields, age, stream, hours, LARS and employment at start.

    Mirrors prepare_aims. The employment status in force at an aim's start
    is the latest one applying on or before that day, as the pandas
    merge_asof takes it: each status holds from its date until the next
    one's (dates are unique per learner, a checked key), so a plain hash
    join on the learner with the start inside that span finds it. DuckDB's
    ASOF join gives the same rows but was five times slower at a million
    aims. Joins do not keep row order; the rows keep their file order as
    ``_row`` instead, unsorted (sorting them back took 10.2 s of 15.2 s at
    five million aims).
    """
    dcols = [c for c in columns(con, "deliveries") if keeps("frm_aims", c)]
    ecols = columns(con, "employment")
    fm, prog = "coalesce(d.FundModel, '')", "coalesce(d.ProgType, '')"
    sof = f"string_split(coalesce({_or_null(dcols, 'FAM_SOF', 'd')}, ''), ';')"
    adl = f"string_split(coalesce({_or_null(dcols, 'FAM_ADL', 'd')}, ''), ';')"
    # funding_stream: the later assignments there win, so they come first here.
    stream = f"""CASE
        WHEN {fm} = '99' AND list_contains({adl}, '1') THEN 'advanced_learner_loans'
        WHEN {fm} = '25' AND {prog} = $tlevel_progtype THEN 't_level'
        WHEN {fm} = '25' AND {prog} = '24' THEN 'traineeship_16_18'
        WHEN {fm} = '25' THEN 'study_programme'
        WHEN {fm} = '35' AND {prog} = '24' THEN 'traineeship_19_24'
        WHEN {fm} = '35' AND list_has_any({sof}, $devolved_sof) THEN 'aeb_devolved'
        WHEN {fm} = '35' THEN 'aeb_esfa'
        WHEN {fm} = '36' THEN 'apprenticeship'
        ELSE 'other' END"""
    s, b = "d.LearnStartDate", "l.DateOfBirth"
    # Whole years on the start date: one fewer when the birthday has not come yet that year (_age_at).
    age = (f"year({s}) - year({b}) - CASE WHEN month({s}) < month({b}) OR (month({s}) = month({b}) "
           f"AND day({s}) < day({b})) THEN 1 ELSE 0 END")
    return f"""
    CREATE OR REPLACE TEMP TABLE frm_aims AS
    WITH d AS (SELECT * FROM {RETURN_DELIVERIES}),
    l AS (
        SELECT UKPRN, LearnRefNumber, {", ".join(sql_name(c) for c in LEARNER_FIELDS)}
        FROM learners WHERE year = $year AND return_code = $return_code
    ), e AS (
        SELECT UKPRN, LearnRefNumber, DateEmpStatApp, EmpStat, {_or_null(ecols, "ESM_EII", "employment")} AS eii,
               lead(DateEmpStatApp) OVER (PARTITION BY UKPRN, LearnRefNumber ORDER BY DateEmpStatApp) AS _until
        FROM employment
        WHERE year = $year AND return_code = $return_code AND DateEmpStatApp IS NOT NULL
    )
    SELECT d.{ROW}, {", ".join(f"d.{sql_name(c)}" for c in dcols)},
           {", ".join(f"l.{sql_name(c)}" for c in LEARNER_FIELDS)},
           CAST({age} AS BIGINT) AS age_at_start,
           {stream} AS stream,
           TRY_CAST(d.PHours AS BIGINT) AS PHours_n,
           {_lars_select("x")},
           {_regulated("d")} AS regulated,
           e.EmpStat AS emp_at_start,
           e.eii AS eii_at_start
    FROM d
    LEFT JOIN l ON l.UKPRN = d.UKPRN AND l.LearnRefNumber = d.LearnRefNumber
    LEFT JOIN lars x ON x.LearnAimRef = d.LearnAimRef
    LEFT JOIN e ON e.UKPRN = d.UKPRN AND e.LearnRefNumber = d.LearnRefNumber
               AND d.LearnStartDate >= e.DateEmpStatApp AND (e._until IS NULL OR d.LearnStartDate < e._until)
    """


# prepare_students: one row per learner with 16 to 19 funded aims. Learner fields are the same on every aim
# of a learner; PartnerUKPRN is the first subcontracted aim's, in the aims' order (_row, see the docstring).
STUDENTS_SQL = """
CREATE OR REPLACE TEMP TABLE frm_students AS
WITH a AS (SELECT * FROM frm_aims WHERE FundModel = '25'),
g AS (
    SELECT UKPRN, LearnRefNumber,
        arg_min(ULN, _row) FILTER (WHERE ULN IS NOT NULL) AS ULN,
        CASE WHEN bool_or(stream = 't_level') THEN 't_level'
             WHEN bool_or(stream = 'traineeship_16_18') THEN 'traineeship_16_18'
             ELSE 'study_programme' END AS stream,
        min(LearnStartDate) AS prog_start,
        max(LearnPlanEndDate) AS prog_plan_end,
        max(LearnActEndDate) AS leave,
        bool_and(LearnActEndDate IS NOT NULL) AS all_ended,
        TRY_CAST(arg_min(PlanLearnHours, _row) FILTER (WHERE PlanLearnHours IS NOT NULL) AS BIGINT)
            AS PlanLearnHours_n,
        TRY_CAST(arg_min(PlanEEPHours, _row) FILTER (WHERE PlanEEPHours IS NOT NULL) AS BIGINT) AS PlanEEPHours_n,
        bool_or(regulated) AS has_qualification,
        arg_min(LLDDHealthProb, _row) FILTER (WHERE LLDDHealthProb IS NOT NULL) AS lldd,
        arg_min(PartnerUKPRN, _row) FILTER (WHERE PartnerUKPRN IS NOT NULL) AS PartnerUKPRN
    FROM a GROUP BY UKPRN, LearnRefNumber
),
f AS (
    SELECT DISTINCT UKPRN, LearnRefNumber FROM fams
    WHERE year = $year AND return_code = $return_code AND AimSeqNumber IS NULL
      AND list_contains($als_fams, [FAMType, FAMCode])
)
SELECT g.UKPRN, g.LearnRefNumber, g.ULN, g.stream, g.prog_start, g.prog_plan_end, g.leave, g.all_ended,
       g.PlanLearnHours_n, g.PlanEEPHours_n, g.has_qualification,
       -- an unknown LLDDHealthProb leaves als unknown unless a FAM says yes, as pandas' three-valued `|` does
       (f.UKPRN IS NOT NULL) OR (g.lldd = '1') AS als,
       g.PartnerUKPRN
FROM g LEFT JOIN f ON f.UKPRN = g.UKPRN AND f.LearnRefNumber = g.LearnRefNumber
ORDER BY g.UKPRN, g.LearnRefNumber
"""


PRIOR_RAW = "_frm_prior_parts"


def _prior_sql(con, earlier: list[Period], previous: Period | None) -> tuple[list[str], dict]:
    """frm_prior: earlier years' achievements, prior_achievements, and this return's own (as build_inputs).

    Rows come in the pandas concatenation's order (each earlier year in
    turn, then prior_achievements, then this return), each part in its
    source's order: the parts are appended one by one to a table whose rowid
    then gives the order, and the learners' ULN and LARS fields are joined
    on at the end. Last year's final return is read from ``frm_prev_year``
    (already made) rather than scanning the deliveries again.
    """
    dcols = columns(con, "deliveries")
    # A delivery's fields for a prior achievement (OutGrade only when the deliveries carry it).
    fields = ", ".join(f"{_or_null(dcols, c, 'd')} AS {sql_name(c)}" for c in PRIOR_COLUMNS if c != "ULN")
    achieved = "d.Outcome = '1' AND d.AchDate IS NOT NULL"
    types = ", ".join(f"{sql_name(c)} {'DATE' if c == 'AchDate' else 'VARCHAR'}" for c in PRIOR_COLUMNS)
    statements = [f"CREATE OR REPLACE TEMP TABLE {PRIOR_RAW} (year VARCHAR, return_code VARCHAR, UKPRN VARCHAR, "
                  f"LearnRefNumber VARCHAR, {types})"]
    insert = f"INSERT INTO {PRIOR_RAW} BY NAME"
    params: dict = {}
    for i, p in enumerate(earlier):
        params[f"py{i}"], params[f"pr{i}"] = p.year.code, p.return_code
        source = ("frm_prev_year d WHERE" if p == previous
                  else f"deliveries d WHERE d.year = $py{i} AND d.return_code = $pr{i} AND")
        order = f" ORDER BY d.{ROW}" if p == previous else in_file_order(con, "deliveries", "d.")
        statements.append(f"""{insert} SELECT $py{i} AS year, $pr{i} AS return_code, d.UKPRN, d.LearnRefNumber,
            {fields} FROM {source} {achieved}{order}""")
    statements.append(f"{insert} SELECT {', '.join(sql_name(c) for c in PRIOR_COLUMNS)} FROM prior_achievements "
                      f"WHERE $prior_table{in_file_order(con, 'prior_achievements')}")
    statements.append(f"{insert} SELECT d.ULN, {fields} FROM frm_aims d WHERE {achieved} ORDER BY d.{ROW}")
    # The ULN of an earlier year's achievement is its learner's in that return (prior_from_returns).
    returns = " OR ".join(f"(year = $py{i} AND return_code = $pr{i})" for i in range(len(earlier))) or "false"
    statements.append(f"""
    CREATE OR REPLACE TEMP TABLE frm_prior AS
    WITH p AS (SELECT rowid AS _n, * FROM {PRIOR_RAW}),
    l AS (SELECT year, return_code, UKPRN, LearnRefNumber, ULN FROM learners WHERE {returns})
    SELECT CASE WHEN p.year IS NULL THEN p.ULN ELSE l.ULN END AS ULN,
           {", ".join(f"p.{sql_name(c)}" for c in PRIOR_COLUMNS if c != "ULN")},
           {_lars_select("x")}, {_regulated("p")} AS regulated
    FROM p
    LEFT JOIN l ON l.year = p.year AND l.return_code = p.return_code AND l.UKPRN = p.UKPRN
               AND l.LearnRefNumber = p.LearnRefNumber
    LEFT JOIN lars x ON x.LearnAimRef = p.LearnAimRef
    WHERE $prior_available
    ORDER BY p._n
    """)
    statements.append(f"DROP TABLE {PRIOR_RAW}")
    return statements, params


def in_file_order(con, view: str, alias: str = "") -> str:
    """``ORDER BY`` the view's file-order column when it has one, else nothing (the view's own order)."""
    return f" ORDER BY {alias}{ORDER_COLUMN}" if ORDER_COLUMN in columns(con, view) else ""


def _copy_sql(con, table: str, view: str, condition: str) -> str:
    """A table of one return's rows of ``view`` (its data columns), in file order: its rowid is that order."""
    cols = [c for c in columns(con, view) if c not in NOT_DATA]
    picked = ", ".join(sql_name(c) for c in cols)
    return (f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {picked} FROM {sql_name(view)} "
            f"WHERE {condition}{in_file_order(con, view)}")


def prepare_inputs(con, period: Period, s: Settings) -> dict[str, bool]:
    """Build the FRM prepared-input tables for ``period`` in ``con``; returns which optional inputs were supplied.

    The SQL twin of :func:`fjaaqa.frm.inputs.build_inputs` (same rows, columns
    and values; see the module docstring). The returned dict is
    ``FrmInputs.available``.
    """
    returns = _returns(con)
    if period not in returns:
        raise InputError(f"no ILR return for {period.label} in the data directory",
                         file=f"ilr/{period.year.code}/{period.return_code}")
    here = returns[period]
    given = {r[0] for r in con.execute("SELECT name FROM dataset_given").fetchall()}
    earlier = _earlier_last_returns(returns, period)
    previous = make_period(period.year.previous(), FINAL_RETURN)
    available = {
        "lars": "lars" in given,
        "prior_achievements": bool(earlier) or "prior_achievements" in given,
        "previous_year": previous in returns,
        "loans": here["has_loans"],
    }
    params = {
        "year": period.year.code, "return_code": period.return_code,
        "prev_year": previous.year.code, "prev_return": previous.return_code,
        "tlevel_progtype": s.tlevel.progtype,
        "devolved_sof": list(s.devolved_sof),
        "als_fams": [[fam_type, code] for fam_type, codes in s.als_learner_fams.items() for code in codes],
        "prior_table": "prior_achievements" in given,
        "prior_available": available["prior_achievements"],
        "has_previous": available["previous_year"],
        "has_workplacements": here["has_workplacements"],
    }
    this_return = "year = $year AND return_code = $return_code"
    prior_sql, prior_params = _prior_sql(con, earlier, previous if available["previous_year"] else None)
    params.update(prior_params)
    statements = [
        _deliveries_sql(con, RETURN_DELIVERIES, this_return, "frm_aims"),
        _aims_sql(con),
        f"DROP TABLE {RETURN_DELIVERIES}",
        STUDENTS_SQL,
        _deliveries_sql(con, "frm_prev_year", "year = $prev_year AND return_code = $prev_return AND $has_previous",
                        "frm_prev_year"),
        *prior_sql,
        _copy_sql(con, "frm_loans", "loans", this_return),
        _copy_sql(con, "frm_earnings", "earnings", this_return),
        _copy_sql(con, "frm_workplacements", "workplacements", f"{this_return} AND $has_workplacements"),
        _copy_sql(con, "frm_fams", "fams", this_return),
    ]
    for table in TABLES:  # the last return's tables go first: at national size they are gigabytes
        con.execute(f"DROP TABLE IF EXISTS {table}")
    typed = {"devolved_sof": "VARCHAR[]", "als_fams": "VARCHAR[][]"}
    for sql in statements:
        for name, kind in typed.items():
            sql = sql.replace(f"${name}", f"CAST(${name} AS {kind})")
        con.execute(sql, bound(sql, params))
    return available
