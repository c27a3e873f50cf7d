"""The one exception type for a user's mistake.

Anything the user can fix (a missing file, a missing column, a bad option)
raises :class:`InputError`; the CLI prints its message on one line and exits
with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """A fault in the user's input that stops the run (exit status 2)."""

    def __init__(self, message: str, file: str | None = None):
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)
