"""Every relative link and source in a folder of HTML pages must resolve to a file that exists."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("href", "src") and v]


def broken_links(root: Path) -> list[tuple[str, str]]:
    """(page, reference) for every relative ``href``/``src`` under ``root`` that points at nothing."""
    root = Path(root)
    bad = []
    for page in sorted(root.rglob("*.html")):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for ref in parser.refs:
            url = urlsplit(ref)
            if url.scheme or url.netloc or not url.path:  # absolute URLs are checked elsewhere (none allowed)
                continue
            if not (page.parent / unquote(url.path)).exists():
                bad.append((page.relative_to(root).as_posix(), ref))
    return bad


def refs(page: Path) -> list[str]:
    """Every href and src on one page."""
    parser = Links()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    return parser.refs


def links(root: Path) -> int:
    """How many relative links the pages under ``root`` hold (so a check over none cannot pass unnoticed)."""
    n = 0
    for page in Path(root).rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        n += sum(1 for r in parser.refs if not urlsplit(r).scheme and urlsplit(r).path)
    return n
