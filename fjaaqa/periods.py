"""Academic years, ILR returns and census dates.

An academic year runs 1 August to 31 July. The ILR is returned monthly:
R01 is August, R12 is July, and R13/R14 are the two closing returns after
the year ends. Each return has a census date (the data are as at that date):
the last day of its month for R01-R12, and 31 July for R13 and R14.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from .errors import InputError

RETURN_CODES = [f"R{n:02d}" for n in range(1, 15)]


@dataclass(frozen=True, order=True)
class AcademicYear:
    """One academic year, e.g. 2023-24 (code ``2324``)."""

    start_year: int

    @property
    def code(self) -> str:
        return f"{self.start_year % 100:02d}{(self.start_year + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def start(self) -> date:
        return date(self.start_year, 8, 1)

    @property
    def end(self) -> date:
        return date(self.start_year + 1, 7, 31)

    def previous(self) -> AcademicYear:
        return AcademicYear(self.start_year - 1)

    def __str__(self) -> str:
        return self.label


def parse_year(text: str | int | AcademicYear) -> AcademicYear:
    """Read ``2324``, ``2023-24`` or ``2023/24`` as an academic year.

    Both forms are accepted because analysts write the year both ways, and
    the ILR folders use the four-digit code.
    """
    if isinstance(text, AcademicYear):
        return text
    s = str(text).strip()
    m = re.fullmatch(r"([0-9]{2})([0-9]{2})", s)
    if m:
        first, second = int(m.group(1)), int(m.group(2))
        if (first + 1) % 100 == second:
            return AcademicYear(2000 + first)
    m = re.fullmatch(r"([0-9]{4})[-/]([0-9]{2}|[0-9]{4})", s)
    if m:
        first, second = int(m.group(1)), int(m.group(2))
        if (first + 1) % 100 == second % 100:
            return AcademicYear(first)
    raise InputError(f"year '{s}' is not an academic year: use 2324 or 2023-24")


def year_of(d: date) -> AcademicYear:
    """The academic year a date falls in."""
    return AcademicYear(d.year if d.month >= 8 else d.year - 1)


def parse_return(text: str) -> str:
    """Normalise a return code such as ``r6`` or ``R06`` to ``R06``."""
    s = str(text).strip().upper()
    m = re.fullmatch(r"R?([0-9]{1,2})", s)
    if m and 1 <= int(m.group(1)) <= 14:
        return f"R{int(m.group(1)):02d}"
    raise InputError(f"return '{text}' is not an ILR return: use R01 to R14")


def census_date(year: AcademicYear, return_code: str) -> date:
    """The date a return's data are as at.

    R01 is August of the first calendar year, R05 December, R06 January of
    the second calendar year, R12 July; R13 and R14 close the year on 31 July.
    """
    n = int(parse_return(return_code)[1:])
    if n >= 12:
        return year.end
    month = (7 + n) % 12 or 12
    cal_year = year.start_year if month >= 8 else year.start_year + 1
    return date(cal_year, month, calendar.monthrange(cal_year, month)[1])


@dataclass(frozen=True, order=True)
class Period:
    """A review period: an academic year as at one ILR return."""

    year: AcademicYear
    return_code: str

    @property
    def census(self) -> date:
        return census_date(self.year, self.return_code)

    @property
    def label(self) -> str:
        return f"{self.year.label} {self.return_code}"

    def __str__(self) -> str:
        return self.label


def make_period(year: str | AcademicYear, return_code: str) -> Period:
    """Build a period from user input, validating both parts."""
    return Period(parse_year(year), parse_return(return_code))
