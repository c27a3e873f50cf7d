"""One exception hierarchy for the whole package.

Everything a user can fix derives from :class:`FjaaqaError`; the command
line prints its message on one line and exits with status 2, never a
traceback. The subclasses say which stage found the problem, so a caller
that wants to treat one kind differently can.
"""

from __future__ import annotations


class FjaaqaError(Exception):
    """A fault the user can fix: the run stops with one line and exit status 2."""

    def __init__(self, message: str, file: str | None = None):
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)


class InputError(FjaaqaError):
    """A fault in an input file, a parameter or an option."""


class ProblemsError(FjaaqaError):
    """A file with several faults, all found at once; ``problems`` lists them, one per line."""

    def __init__(self, problems: list[str], file: str | None = None):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems), file=None)
        self.file = file


class AssessmentError(ProblemsError):
    """A self-assessment that cannot be scored; ``problems`` lists every fault found, one per line."""


class RenderError(FjaaqaError):
    """A report that could not be rendered (the notebook failed, or its kernel died)."""


def count_more(lines: list[str], shown: int = 50) -> list[str]:
    """At most ``shown`` lines, then one saying how many more there are (a bad file can have thousands)."""
    if len(lines) <= shown:
        return list(lines)
    return list(lines[:shown]) + [f"... and {len(lines) - shown:,} more"]
