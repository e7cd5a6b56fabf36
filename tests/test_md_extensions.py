"""The site's Markdown extension (``tools/md_extensions.py``) links as MkDocs links.

Its links are checked in both built sites by ``tests/test_glossary.py``,
``tests/test_notebooks.py`` and ``tests/test_zensical.py``; these are the pieces those
rely on, each against MkDocs' own code where MkDocs has it.
"""

from __future__ import annotations

import pytest
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

from tools.md_extensions import PageContext, _nav_pages, page_url, relative_url

SOURCES = ["index.md", "attention.md", "glossary.md", "reference/index.md", "reference/vocab.md"]
SOURCES += ["notebooks/attention.md", "notebooks/attention.ipynb", "notebooks/notebook.css"]
SOURCES += ["notebooks/attention/attention-maps.svg"]


@pytest.mark.parametrize("use_directory_urls", [True, False])
def test_urls_are_mkdocs_urls(use_directory_urls):
    for src in SOURCES:
        url = File(src, "docs", "site", use_directory_urls).url
        assert page_url(src, use_directory_urls) == url, src
        for other in SOURCES:
            other_url = File(other, "docs", "site", use_directory_urls).url
            assert relative_url(url, other_url) == get_relative_url(url, other_url), (src, other)


def test_links_are_urls_or_sources_as_the_builder_needs():
    mkdocs = PageContext("notebooks/attention.md", docs_dir=None, use_directory_urls=True, nav=())
    assert mkdocs.link("attention.md") == "../../attention/"
    assert mkdocs.link("notebooks/attention.ipynb") == "../attention.ipynb"
    figure = '<img src="attention/attention-maps.svg"> <a href="#top"> <a href="https://x.org/a">'
    assert mkdocs.resolve_links(figure) == figure.replace("attention/attention-maps.svg", "attention-maps.svg")
    # Zensical resolves relative links itself, from the page's source, as in Markdown.
    zensical = PageContext("notebooks/attention.md", None, True, (), builder_resolves_links=True)
    assert zensical.link("attention.md") == "../attention.md"
    assert zensical.resolve_links(figure) == figure


def test_the_nav_reads_the_same_from_either_builder():
    mkdocs_nav = [{"Home": "index.md"}, {"1. Vocabulary": "vocabulary.md"}, {"Reference": ["reference/index.md"]}]
    zensical_nav = [
        {"title": "Home", "url": "index.md", "children": []},
        {"title": "1. Vocabulary", "url": "vocabulary.md", "children": []},
        {"title": "Reference", "url": None, "children": [{"title": None, "url": "reference/index.md", "children": []}]},
    ]
    expected = [("Home", "index.md"), ("1. Vocabulary", "vocabulary.md"), (None, "reference/index.md")]
    assert list(_nav_pages(mkdocs_nav)) == list(_nav_pages(zensical_nav)) == expected
    context = PageContext("index.md", None, True, tuple(expected))
    assert context.chapters() == {1: ("Vocabulary", "vocabulary.md")}
