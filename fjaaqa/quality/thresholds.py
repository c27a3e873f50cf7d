"""Threshold sets: load, deep-merge, validate, hash.

A threshold set is a YAML file under ``params/thresholds/``. It holds the
framework's thresholds (``indicators``) and the readings of the framework
that had to be chosen (``readings``). A scenario file may name a ``base``
set and override only some values; it is deep-merged over the base before
validation, so the effective set is always complete. The hash of the
effective set identifies it in caches and manifests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError
from ..inputs.link import LinkReadings
from ..models import Strict
from ..paths import NAME, resource

Percent = Field(ge=0, le=100)


class Typed(Strict):
    """A threshold or reading: a number must be written as a number ("35" in quotes is a mistake, not 35)."""

    model_config = ConfigDict(strict=True)


class WithdrawalThresholds(Typed):
    at_risk_above: float = Percent
    needs_improvement_above: float = Percent

    @model_validator(mode="after")
    def _order(self):
        if self.at_risk_above < self.needs_improvement_above:
            raise ValueError("at_risk_above is looser than needs_improvement_above")
        return self


class AchievementThresholds(Typed):
    at_risk_below: float = Percent
    needs_improvement_below: float = Percent

    @model_validator(mode="after")
    def _order(self):
        if self.at_risk_below > self.needs_improvement_below:
            raise ValueError("at_risk_below is looser than needs_improvement_below")
        return self


class BandedThresholds(Typed):
    """Breaks in learning and past planned end date share this shape."""

    at_risk_days: int = Field(gt=0)
    at_risk_share_above: float = Percent
    needs_improvement_days: int = Field(gt=0)
    needs_improvement_share_above: float = Percent
    banding: Literal["exclusive", "cumulative"] = "exclusive"

    @model_validator(mode="after")
    def _order(self):
        if self.at_risk_days < self.needs_improvement_days:
            raise ValueError("at_risk_days is shorter than needs_improvement_days")
        return self


class PastPlannedEndThresholds(BandedThresholds):
    include_completed_late: bool = False


class OutsideAreasThresholds(Typed):
    for_discussion_share_above: float = Percent
    consecutive_returns: int = Field(ge=1)
    approvals_as_at: Literal["start", "census"] = "start"


class Indicators(Typed):
    withdrawals: WithdrawalThresholds
    achievement_rate: AchievementThresholds
    breaks_in_learning: BandedThresholds
    past_planned_end_date: PastPlannedEndThresholds
    outside_approved_areas: OutsideAreasThresholds


class IdentityReadings(Typed):
    transfer_window_days: int = Field(ge=0)
    transfer_withdraw_reasons: list[str]


class WithdrawalReadings(Typed):
    early_days: int = Field(ge=0)
    other_or_unknown_reasons: list[str]


class QarReadings(Typed):
    qualifying_planned_days: int = Field(ge=0)
    qualifying_in_learning_days: int = Field(ge=0)
    transfer_reasons: list[str]
    reason_40_window_days: int = Field(ge=0)
    withdraw_reason_2: Literal["non_achiever", "exclude_if_continues"] = "non_achiever"
    break_overdue_years: int = Field(ge=0)


class Readings(Typed):
    link: LinkReadings
    identity: IdentityReadings
    withdrawals: WithdrawalReadings
    qar: QarReadings


class ThresholdSet(Typed):
    name: str  # names the scenario reports' files, so it must be one (see name_names_files)
    title: str = ""
    source: str = ""
    base: str | None = None
    indicators: Indicators
    readings: Readings

    @field_validator("name")
    @classmethod
    def name_names_files(cls, v: str) -> str:
        if not NAME.fullmatch(v):
            raise ValueError(f"'{v[:40]}' cannot be part of a file name (use letters, digits, '.', '_' or '-')")
        return v

    @property
    def hash(self) -> str:
        return params_hash(self)


def params_hash(model: BaseModel) -> str:
    """A stable hash of a validated parameter set (key order never matters)."""
    doc = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base``; nested dicts merge, others replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def threshold_path(name_or_file: str | Path) -> Path:
    """Resolve a threshold-set name against the shipped sets (``params/thresholds``), or take a file path."""
    s = str(name_or_file)
    candidate = Path(s)
    if s.endswith((".yaml", ".yml")) or candidate.exists() or "/" in s:
        return candidate
    return resource("params", "thresholds", f"{s}.yaml")


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise InputError("threshold set not found", file=str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({exc.__class__.__name__})", file=str(path)) from None
    if not isinstance(doc, dict):
        raise InputError("a threshold set must be a YAML mapping", file=str(path))
    return doc


def _raw(name_or_file: str | Path, seen: tuple[str, ...] = ()) -> dict:
    path = threshold_path(name_or_file)
    doc = _read_yaml(path)
    base = doc.get("base")
    if base:
        if str(base) in seen:
            raise InputError(f"threshold sets form a loop through '{base}'", file=str(path))
        doc = deep_merge(_raw(base, seen + (str(base),)), doc)
    return doc


def load_thresholds(name_or_file: str | Path = "quality-framework-2023") -> ThresholdSet:
    """Load, merge and validate a threshold set; one clear line on any fault."""
    path = threshold_path(name_or_file)
    doc = _raw(name_or_file)
    try:
        return ThresholdSet.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise InputError(f"{where}: {msg}", file=str(path)) from None
