"""The link checker the end-to-end tests use finds what it should (a checker that cannot fail proves nothing)."""

from linkcheck import broken_links, links


def test_link_checker_finds_a_broken_link_and_passes_good_ones(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "page.html").write_text("x")
    (tmp_path / "index.html").write_text('<a href="a/b/page.html">ok</a> <a href="#top">anchor</a> '
                                         '<a href="https://example.org/">external</a> <img src="a/missing.png">')
    (tmp_path / "a" / "list.html").write_text('<a href="b/page.html">ok</a> <a href="a/b/page.html">doubled</a>')
    assert sorted(broken_links(tmp_path)) == [("a/list.html", "a/b/page.html"), ("index.html", "a/missing.png")]
    assert links(tmp_path) == 4
