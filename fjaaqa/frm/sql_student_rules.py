"""The FRM reports over 16 to 19 students and T Levels, as DuckDB SQL (one query per report).

Each function returns its report's SQL and the parameters it binds (see
:mod:`fjaaqa.frm.sql_rules` for the shape every query returns).
"""

from __future__ import annotations

STUDENT_RULE_SQL: dict = {}
