"""The site builds with Zensical too, and shows what the MkDocs build shows.

Material for MkDocs reaches its end of life in 2027; its successor, Zensical, reads the same
``mkdocs.yml`` but runs no MkDocs plugins or hooks. So everything the guide adds to its pages
is a Markdown extension (``tools/md_extensions.py``) or a file written before the build
(``tools/notebook_pages.py``), and this test builds the site with both and compares them page
by page, in the HTML: the same pages, glossary links (target and tooltip), notebook buttons,
reference back-links, tables of contents, code (as text), math and diagrams, and nothing
requested from another host. (The browser walk, ``tests/test_browser.py``, stays on the
MkDocs build.)

Zensical insists that the site it writes is inside the folder of its config file, so it
builds a scratch copy of the project: ``docs/`` copied (Zensical resolves its real path),
the package, ``snippets/`` and ``tools/`` linked.
"""

from __future__ import annotations

import html
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.pages import REPO, site_config

pytest.importorskip("zensical", reason="Zensical needs Python 3.11 or newer")

SITE_HOST = urlsplit(site_config()["site_url"]).netloc  # "llm-guide.github.io": the site itself


@pytest.fixture(scope="module")
def sites(request, tmp_path_factory, notebooks_written) -> tuple[Path, Path]:
    """(MkDocs' site, Zensical's site). The two builds run at the same time, one core each."""
    project = tmp_path_factory.mktemp("zensical-project")
    shutil.copytree(REPO / "docs", project / "docs")  # 14 MB: a copy, so nothing can write through to docs/
    for name in ("llm_guide", "snippets", "tools"):
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    shutil.copy2(REPO / "mkdocs.yml", project / "mkdocs.yml")
    build = subprocess.Popen(
        # `python -m` puts the project folder on sys.path, where tools.md_extensions is.
        [sys.executable, "-m", "zensical", "build", "--strict"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        mkdocs_site, _ = request.getfixturevalue("built_site")
    finally:
        log, _ = build.communicate(timeout=300)
    assert build.returncode == 0, f"zensical build --strict failed:\n{log}"
    return mkdocs_site, project / "site"


def _pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html")}


# ----------------------------------------------------------------------------------
# What a page shows, as plain data
# ----------------------------------------------------------------------------------
def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return html.unescape(m.group(1)) if m else None


def _summary(page: str, folder: str) -> dict[str, object]:
    """What the comparison looks at: the article (the page's own content), and its TOC.
    ``folder`` is the page's folder in the site."""
    m = re.search(r'<article class="md-content__inner md-typeset">(.*?)</article>', page, flags=re.S)
    assert m, "no article element"
    article = m.group(1)
    buttons = re.findall(r'<p class="llm-guide-notebook-buttons">(.*?)</p>', article, flags=re.S)
    return {
        "glossary links": [
            (_attr(tag, "href"), _attr(tag, "title"), _text(text))
            for tag, text in re.findall(r'(<a class="llm-guide-term"[^>]*>)(.*?)</a>', article, flags=re.S)
        ],
        "glossary entries": re.findall(r'<dt id="([^"]+)"', article),
        "notebook buttons": [
            (_attr(tag, "href"), _attr(tag, "download"), _text(text).strip())
            for row in buttons
            for tag, text in re.findall(r"(<a [^>]*>)(.*?)</a>", row, flags=re.S)
        ],
        "back-links": [
            _text(p) + " -> " + " ".join(re.findall(r'href="([^"]+)"', p))
            for p in re.findall(r'<p class="llm-guide-explained-in">(.*?)</p>', article, flags=re.S)
        ],
        "table of contents": list(
            dict.fromkeys(re.findall(r'<a href="#([^"]+)" class="md-nav__link"', page.replace(article, "")))
        ),
        # where each image is in the site (one builder writes ../x/y.svg where the other writes y.svg)
        "images": [
            posixpath.normpath(posixpath.join(folder, src))
            for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', article)
        ],
        "code blocks": [_text(code) for code in re.findall(r"<pre\b[^>]*>(.*?)</pre>", article, flags=re.S)],
        "math": len(re.findall(r'class="arithmatex"', article)),
        # drawn ahead of time and inlined (tools/diagrams.py), or a Mermaid fence left to a script
        "diagrams": len(re.findall(r'class="(?:llm-guide-diagram|mermaid)"', article)),
        "svg elements": article.count("<svg"),  # icons, and diagrams drawn at build time
    }


def test_both_builders_make_the_same_pages(sites):
    mkdocs_site, zensical_site = sites
    assert _pages(mkdocs_site) == _pages(zensical_site)
    notebooks = {p.name for p in (mkdocs_site / "notebooks").iterdir() if p.suffix in (".ipynb", ".css")}
    assert notebooks == {p.name for p in (zensical_site / "notebooks").iterdir() if p.suffix in (".ipynb", ".css")}


def test_every_page_shows_the_same_in_both(sites):
    mkdocs_site, zensical_site = sites
    differences: list[str] = []
    totals: dict[str, int] = {}
    for name in sorted(_pages(mkdocs_site) & _pages(zensical_site)):
        folder = posixpath.dirname(name)
        ours = _summary((mkdocs_site / name).read_text(encoding="utf-8"), folder)
        theirs = _summary((zensical_site / name).read_text(encoding="utf-8"), folder)
        for key, value in ours.items():
            totals[key] = totals.get(key, 0) + (value if isinstance(value, int) else len(value))
            if theirs[key] != value:
                differences.append(
                    f"{name}: {key} differ:\n  MkDocs:   {value!r:.400}\n  Zensical: {theirs[key]!r:.400}"
                )
    assert not differences, "\n".join(differences)
    # The comparison compared something: every kind of thing is on the site.
    assert all(totals[key] > 0 for key in totals), totals
    assert totals["notebook buttons"] >= 40 and totals["back-links"] >= 10 and totals["glossary links"] >= 100


def test_every_image_and_button_target_exists_in_both(sites):
    """The links the guide's extension and notebook pages write resolve to files of the site."""
    for site in sites:
        missing = []
        for path in sorted(site.rglob("*.html")):
            page = path.read_text(encoding="utf-8")
            targets = re.findall(r'<img\b[^>]*\bsrc="([^":#]+)"', page)
            targets += re.findall(r'class="(?:md-button|llm-guide-term)" href="([^":#]*)', page)
            targets += re.findall(r'<p class="llm-guide-explained-in">.*?href="([^":#]*)', page)
            for url in targets:
                target = (path.parent / html.unescape(url)).resolve()
                if not (target / "index.html" if url.endswith("/") or not url else target).exists():
                    missing.append(f"{path.relative_to(site)}: {url}")
        assert not missing, f"{site}: " + "\n".join(missing[:20])


# Elements that make the browser fetch something as the page loads.
LOADS = re.compile(
    r'<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*\b(?:src|srcset)="([^"]*)"|<link\b([^>]*)>'
)


def test_neither_build_loads_anything_from_another_host(sites):
    """No script, stylesheet, font, icon or image from a CDN (links in prose are fine)."""
    for site in sites:
        remote: list[str] = []
        for path in sorted(site.rglob("*.html")):
            for src, link in LOADS.findall(path.read_text(encoding="utf-8")):
                urls = [src] if src else [_attr(link, "href") or ""]
                if link and _attr(link, "rel") in ("canonical", "alternate", "prev", "next"):
                    continue  # names a page, loads nothing
                for candidate in (u.strip().split(" ")[0] for url in urls for u in url.split(",")):
                    host = urlsplit(candidate).netloc
                    if host and host != SITE_HOST:
                        remote.append(f"{path.relative_to(site)}: {candidate}")
        assert not remote, f"{site.name}: " + "\n".join(remote[:20])
