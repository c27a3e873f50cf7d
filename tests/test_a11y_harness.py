"""The accessibility harness itself: axe-core in headless Chromium tells a good
page from a bad one, records network attempts, and skips or fails as told."""

from __future__ import annotations

import a11y_check
import pytest
from a11y_check import AxeRunError, axe_violations, network_requests, require_browser, serious

GOOD_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Review pack: Example Agency</title></head>
<body style="color:#1a1a1a;background:#ffffff;font-family:sans-serif">
<main>
  <h1>Review pack</h1>
  <h2>Indicators</h2>
  <table>
    <caption>Quality Framework indicators, 2023/24</caption>
    <thead><tr><th scope="col">Indicator</th><th scope="col">Value</th></tr></thead>
    <tbody>
      <tr><th scope="row">Withdrawals</th><td>12%</td></tr>
      <tr><th scope="row">Achievement rate</th><td>61%</td></tr>
    </tbody>
  </table>
  <p>Dark text on white: well above the 4.5:1 contrast ratio.</p>
</main>
</body>
</html>
"""

# <html> without lang, img without alt, input without label, low contrast,
# and one resource off the machine that must be blocked and recorded.
BAD_HTML = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Bad page</title></head>
<body>
  <img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">
  <input type="text">
  <p style="color:#d0d0d0;background:#ffffff">Pale grey on white.</p>
  <img alt="remote" src="https://example.invalid/tracker.png">
</body>
</html>
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One browser run over good, bad and a missing file."""
    require_browser()
    d = tmp_path_factory.mktemp("a11y")
    (d / "good.html").write_text(GOOD_HTML, encoding="utf-8")
    (d / "bad.html").write_text(BAD_HTML, encoding="utf-8")
    out = axe_violations([d / "good.html", d / "bad.html", d / "missing.html"])
    return {r["file"].rsplit("/", 1)[-1]: r for r in out}


def test_good_page_has_no_serious_violations(results):
    good = results["good.html"]
    assert "error" not in good
    assert serious([good]) == []
    assert good["blocked_requests"] == []


def test_bad_page_has_serious_and_critical_violations(results):
    bad = results["bad.html"]
    assert "error" not in bad
    by_id = {v["id"]: v for v in bad["violations"]}
    assert by_id["image-alt"]["impact"] == "critical"
    assert by_id["label"]["impact"] == "critical"
    assert by_id["html-has-lang"]["impact"] == "serious"
    assert by_id["color-contrast"]["impact"] == "serious"
    for v in bad["violations"]:
        assert set(v) == {"id", "impact", "help", "nodes", "targets"}
        assert isinstance(v["nodes"], int) and v["nodes"] >= 1
        assert 1 <= len(v["targets"]) <= 5 and all(isinstance(t, str) for t in v["targets"])
    lines = serious([bad])
    assert any("critical image-alt" in line for line in lines)
    assert all(("serious" in line) or ("critical" in line) for line in lines)


def test_network_request_is_blocked_and_recorded(results):
    bad = results["bad.html"]
    assert bad["blocked_requests"] == ["https://example.invalid/tracker.png"]
    assert network_requests([bad]) == [f"{bad['file']}: blocked request https://example.invalid/tracker.png"]


def test_missing_file_is_an_error_line_not_a_pass(results):
    missing = results["missing.html"]
    assert missing["error"]
    assert serious([missing]) == [f"{missing['file']}: ERROR not checked: no such file"]


def test_browser_that_cannot_start_raises(tmp_path, monkeypatch):
    require_browser()
    page = tmp_path / "p.html"
    page.write_text(GOOD_HTML, encoding="utf-8")
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(AxeRunError, match="browser cannot start"):
        axe_violations([page])


def test_require_browser_skips_or_fails(monkeypatch):
    monkeypatch.setattr(a11y_check, "browser_available", lambda: (False, "test says no"))
    monkeypatch.delenv("FJAAQA_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="test says no"):
        require_browser()
    monkeypatch.setenv("FJAAQA_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="test says no"):
        require_browser()
