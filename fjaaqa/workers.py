"""How many workers a batch uses by default: one per core this process may run on."""

from __future__ import annotations

import os


def default_workers() -> int:
    """Cores available to this process (respecting CPU affinity, e.g. in a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
