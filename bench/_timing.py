"""The one timing helper the benchmark scripts share: median wall time of a few repeats."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int = 3):
    """(median seconds, last result) of calling ``fn`` ``repeat`` times."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
