"""Funding rules monitoring (FRM): the ESFA's post-16 reports over ILR data.

:mod:`~fjaaqa.frm.catalogue` holds each report as data, :mod:`~fjaaqa.frm.inputs`
prepares a return once for every rule, :mod:`~fjaaqa.frm.rules` has one
function per report, :mod:`~fjaaqa.frm.run` runs the catalogue (query IDs,
funding impact, change since the previous return) and
:mod:`~fjaaqa.frm.partitioned` runs it part by part at national scale. The
names most callers need are gathered here.
"""

from .catalogue import STREAM_LABELS, Catalogue, Rule, Settings, catalogue_files
from .inputs import FrmInputs, build_inputs, prepare_aims, prepare_students, query_key, with_lars
from .rules import RULES
from .run import (
                  FLAG_COLUMNS,
                  STATUS_COLUMNS,
                  FrmResult,
                  evaluate,
                  list_rules,
                  load_catalogue,
                  query_id,
                  rule_status,
                  run_frm,
                  to_records,
                  write_outputs,
)

__all__ = ["STREAM_LABELS", "Catalogue", "Rule", "Settings", "catalogue_files", "FrmInputs", "build_inputs",
           "prepare_aims", "prepare_students", "query_key", "with_lars", "RULES", "FLAG_COLUMNS", "STATUS_COLUMNS",
           "FrmResult", "evaluate", "list_rules", "load_catalogue", "query_id", "rule_status", "run_frm",
           "to_records", "write_outputs"]
