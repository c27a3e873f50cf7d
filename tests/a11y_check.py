"""Accessibility check of HTML reports: axe-core in headless Debian Chromium.

The browser side is ``tests/a11y/run_axe.js`` (node + playwright-core +
axe-core, installed by ``tests/a11y/install.sh``). This module runs it and
turns its JSON into lines a test can assert on::

    from a11y_check import axe_violations, require_browser, serious

    def test_report_is_accessible(tmp_path):
        require_browser()
        results = axe_violations([tmp_path / "report.html"])
        assert serious(results) == []

When the browser stack is missing, ``require_browser()`` skips the test,
unless ``FJAAQA_REQUIRE_BROWSER=1`` is set (CI), in which case it fails it.

Also usable by hand: ``python tests/a11y_check.py FILE.html ...`` prints the
serious/critical violations and exits 1 if there are any.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
A11Y_DIR = REPO_ROOT / "tests" / "a11y"
RUNNER = A11Y_DIR / "run_axe.js"
NODE_MODULES = A11Y_DIR / "node_modules"
FAILING_IMPACTS = ("serious", "critical")
REQUIRE_ENV = "FJAAQA_REQUIRE_BROWSER"

# Chromium start-up is ~1 s and one report ~0.5 s; these are generous bounds
# so a hung browser fails the test instead of hanging CI.
_BASE_TIMEOUT_S = 120
_PER_FILE_TIMEOUT_S = 60


class AxeRunError(RuntimeError):
    """run_axe.js did not run (browser would not start, bad output, timeout)."""


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or "/usr/bin/chromium"


def browser_available() -> tuple[bool, str]:
    """Whether node, the npm packages and the chromium binary are all present.

    Returns ``(True, description)`` or ``(False, reason it is not)``.
    """
    node = shutil.which("node")
    if node is None:
        return False, "node not found on PATH (apt-get install nodejs npm)"
    for pkg in ("axe-core", "playwright-core"):
        if not (NODE_MODULES / pkg / "package.json").is_file():
            return False, f"{NODE_MODULES / pkg} missing (run tests/a11y/install.sh)"
    chromium = chromium_path()
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        return False, f"chromium not found at {chromium} (run tests/a11y/install.sh as root)"
    return True, f"node={node} chromium={chromium}"


def require_browser() -> None:
    """Skip the calling test when the browser stack is missing.

    With ``FJAAQA_REQUIRE_BROWSER=1`` in the environment, fail it instead, so
    CI cannot go green by skipping the accessibility check.
    """
    import pytest

    ok, reason = browser_available()
    if ok:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the a11y browser is unavailable: {reason}", pytrace=False)
    pytest.skip(f"a11y browser unavailable: {reason}")


def axe_violations(paths: list[Path]) -> list[dict]:
    """Run axe-core on each HTML file; return run_axe.js's parsed JSON.

    One dict per file, in order: ``{"file", "violations": [{"id", "impact",
    "help", "nodes", "targets"}], "blocked_requests": [...]}``, plus
    ``"error"`` when that file could not be checked. Raises ``AxeRunError``
    when the runner itself fails (e.g. the browser cannot start).
    """
    files = [str(Path(p).resolve()) for p in paths]
    if not files:
        return []
    timeout = _BASE_TIMEOUT_S + _PER_FILE_TIMEOUT_S * len(files)
    # Own process group, so a timeout kills node *and* its chromium children.
    proc = subprocess.Popen(
        ["node", str(RUNNER), *files],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise AxeRunError(f"run_axe.js timed out after {timeout} s") from None
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    if proc.returncode != 0:
        msg = err.strip().splitlines()[-1] if err.strip() else f"exit status {proc.returncode}"
        raise AxeRunError(msg)
    try:
        results = json.loads(out)
    except json.JSONDecodeError as exc:
        raise AxeRunError(f"run_axe.js printed no valid JSON: {exc}") from None
    if not isinstance(results, list) or len(results) != len(files):
        raise AxeRunError(f"run_axe.js returned {type(results).__name__}, expected a list of {len(files)}")
    return results


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def serious(results: Iterable[dict]) -> list[str]:
    """Human-readable lines for every serious or critical violation.

    A file that could not be checked at all (``"error"`` in its entry) also
    gives a line, so an unreadable report never passes as clean.
    """
    lines = []
    for entry in results:
        name = entry.get("file", "?")
        if entry.get("error"):
            lines.append(f"{name}: ERROR not checked: {entry['error']}")
        for v in entry.get("violations", []):
            if v.get("impact") not in FAILING_IMPACTS:
                continue
            targets = ", ".join(v.get("targets", []))
            lines.append(
                f"{name}: {v['impact']} {v['id']} ({v.get('nodes', '?')} node(s)): "
                f"{v.get('help', '')} [{targets}]"
            )
    return lines


def network_requests(results: Iterable[dict]) -> list[str]:
    """Lines for requests a page tried to make off the machine (all blocked).

    A self-contained report should give none.
    """
    return [
        f"{entry.get('file', '?')}: blocked request {url}"
        for entry in results
        for url in entry.get("blocked_requests", [])
    ]


def _main(argv: list[str]) -> int:
    if not argv:
        print("usage: python tests/a11y_check.py FILE.html [FILE2.html ...]", file=sys.stderr)
        return 2
    ok, reason = browser_available()
    if not ok:
        print(f"a11y browser unavailable: {reason}", file=sys.stderr)
        return 2
    results = axe_violations([Path(a) for a in argv])
    lines = serious(results) + network_requests(results)
    for line in lines:
        print(line)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
