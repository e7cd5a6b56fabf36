"""What the guide adds to its pages, as one Python-Markdown extension that MkDocs and Zensical both run.

Listed under ``markdown_extensions`` in ``mkdocs.yml`` as ``tools.md_extensions``. Both site
builders read that list and render every page with Python-Markdown, so this works in both,
where MkDocs hooks (which Zensical does not run) would work in one. It adds:

**Glossary links.** The first use of each glossary term on a chapter (a page whose nav title
is numbered, "1. Vocabulary") links to its entry, with the entry's first sentence as a
tooltip (``tools.glossary``); the glossary's ``<dt>`` elements get the anchors they link to.

**Notebook buttons.** A page whose notebook exists (``docs/notebooks/<stem>.ipynb``, written
before the build by ``tools/notebook_pages.py``) gets "Download as notebook" and "Open the
notebook" under its title. A notebook page (``docs/notebooks/<stem>.md``) is passed through
untouched, gets "Download as notebook" and "Back to the chapter", its stylesheet, and a
table of contents made from its headings.

**API reference back-links.** A reference page (``docs/reference/<module>.md``, one line
``::: llm_guide.<module>``) gets "Explained in Chapter N: Title" under its title, taken from
the module docstring ("Chapter 1: the vocabulary ...") and the nav ("1. Vocabulary"); a
chapter not in the nav yet is left out. A package's page that shows its modules
(``reference/figures.md``: ``llm_guide.figures``, one module per chapter) gets the line under
each module's heading instead.

**Which page is this?** A Markdown extension is handed text, not a page, but each builder
leaves the page on the ``Markdown`` instance it renders with: MkDocs registers its
``relpath`` tree processor holding the page's ``File`` and the site config, and Zensical its
``ContextPreprocessor`` holding the page and the config (``page_context``).

**Links.** Each link is written the way the builder needs it (``PageContext.link``), so
that both end up with the same relative URLs. MkDocs leaves what a postprocessor adds
alone, so for MkDocs it is the URL itself, computed from the page's path and
``use_directory_urls`` as MkDocs computes them (``page_url``, ``relative_url``). Zensical
resolves every relative ``href`` and ``src`` of the finished HTML against the page's
source, as it does a Markdown link, so for Zensical it is the path from the page's source
(``../attention.md``).
"""

from __future__ import annotations

import ast
import html
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from tools.glossary import link_first_uses, read_glossary
from tools.notebook_pages import NOTEBOOK_CSS, NOTEBOOK_DIR, NOTEBOOK_MARKER
from tools.notebooks import PYTHON_FENCE, notebook_stem

REPO = Path(__file__).resolve().parent.parent
GLOSSARY = "glossary.md"
CHAPTER_TITLE = re.compile(r"^(\d+)\.\s+(.+)$")  # a numbered nav title: "1. Vocabulary"


# ----------------------------------------------------------------------------------
# The page being rendered, from whichever builder renders it
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageContext:
    """The page a ``Markdown`` instance is rendering, and the site settings links need."""

    src: str  # the page's path in the docs folder: "attention.md"
    docs_dir: Path
    use_directory_urls: bool
    nav: tuple[tuple[str | None, str], ...]  # (title, src) of every page in the nav, in order
    # Does the builder turn the relative links in the finished HTML into URLs, as it does
    # for a Markdown link (``[x](glossary.md)``)? Zensical does, for every ``href`` and
    # ``src``; MkDocs only for the links it sees in the element tree, not in what a
    # postprocessor adds.
    builder_resolves_links: bool = False

    @property
    def url(self) -> str:
        return page_url(self.src, self.use_directory_urls)

    def link(self, src: str) -> str:
        """A relative link from this page to the file ``src`` of the docs folder.

        As written in the page's source (``../attention.md``) when the builder makes it a
        URL; else the URL itself, as MkDocs would make it (``../../attention/``).
        """
        if self.builder_resolves_links:
            return posixpath.relpath(src, posixpath.dirname(self.src) or ".")
        return relative_url(page_url(src, self.use_directory_urls), self.url)

    def resolve_links(self, body: str) -> str:
        """``body``'s relative ``src`` and ``href`` links (written relative to the page's
        source) as URLs, unless the builder does that itself."""
        if self.builder_resolves_links:
            return body
        base = posixpath.dirname(self.src)

        def sub(m: re.Match) -> str:
            url = html.unescape(m.group(2))
            if not url or re.match(r"^(?:[a-zA-Z][\w+.-]*:|/|#)", url):  # another scheme, the site's root, this page
                return m.group(0)
            path, hash_, anchor = url.partition("#")
            target = posixpath.normpath(posixpath.join(base, path))
            return f'{m.group(1)}="{html.escape(self.link(target) + hash_ + anchor, quote=True)}"'

        return re.sub(r'\b(src|href)="([^"]*)"', sub, body)

    def chapters(self) -> dict[int, tuple[str, str]]:
        """Chapter number -> (title, src), from the numbered nav titles."""
        found = {}
        for title, src in self.nav:
            m = CHAPTER_TITLE.match(title or "")
            if m:
                found[int(m.group(1))] = (m.group(2), src)
        return found


def page_context(md: Markdown) -> PageContext | None:
    """The page ``md`` is rendering, or None when no site builder is rendering one."""
    relpath = md.treeprocessors["relpath"] if "relpath" in md.treeprocessors else None
    if relpath is not None and hasattr(relpath, "file") and hasattr(relpath, "config"):  # MkDocs
        config = relpath.config
        return PageContext(
            src=relpath.file.src_uri,
            docs_dir=Path(config["docs_dir"]),
            use_directory_urls=bool(config["use_directory_urls"]),
            nav=tuple(_nav_pages(config["nav"])),
        )
    try:
        from zensical.extensions.context import ContextPreprocessor
    except ImportError:
        return None
    context = ContextPreprocessor.from_markdown(md)
    if context is None:
        return None
    config = context.config
    return PageContext(  # Zensical: page.path is relative to the docs folder, as MkDocs' src_uri
        src=context.page.path,
        docs_dir=Path(config["root_dir"], config["docs_dir"]).resolve(),
        use_directory_urls=bool(config["use_directory_urls"]),
        nav=tuple(_nav_pages(config["nav"])),
        builder_resolves_links=True,
    )


def _nav_pages(items) -> Iterator[tuple[str | None, str]]:
    """(title, src) of each page of a nav, in MkDocs' form (``{"1. Vocabulary": "vocabulary.md"}``,
    as written in mkdocs.yml) or in Zensical's (``{"title": ..., "url": ..., "children": [...]}``)."""
    for item in items or []:
        if isinstance(item, str):
            yield None, item
        elif isinstance(item, list):
            yield from _nav_pages(item)
        elif isinstance(item, dict) and "children" in item and "url" in item:
            if item["url"]:
                yield item["title"], item["url"]
            yield from _nav_pages(item["children"])
        elif isinstance(item, dict):
            for title, value in item.items():
                if isinstance(value, str):
                    yield title, value
                else:
                    yield from _nav_pages(value)


def page_url(src: str, use_directory_urls: bool = True) -> str:
    """A file's URL in the built site, relative to its root, as MkDocs makes it.

    ``attention.md`` -> ``attention/``, ``index.md`` -> ``./``, ``reference/index.md`` ->
    ``reference/`` (without directory URLs: ``attention.html``, ``index.html``,
    ``reference/index.html``); any other file keeps its path.
    """
    if not src.endswith(".md"):
        return src
    parent, name = posixpath.split(src[: -len(".md")])
    name = "index" if name == "README" else name  # MkDocs serves a folder's README as its index
    if not use_directory_urls:
        return posixpath.join(parent, name + ".html")
    if name == "index":
        return posixpath.join(parent, "") if parent else "./"
    return posixpath.join(parent, name, "")


def relative_url(url: str, other: str) -> str:
    """``url`` relative to the page at ``other`` (both site-relative), as MkDocs' ``get_relative_url``."""
    dirname, _, basename = other.rpartition("/")
    if "." in basename:  # a file, not a folder: relative to the folder it is in
        other = dirname

    def parts(path: str) -> list[str]:
        path = posixpath.normpath(path if path.startswith("/") else "/" + path)[1:]
        return path.split("/") if path else []

    other_parts, dest_parts = parts(other), parts(url)
    common = 0
    for a, b in zip(other_parts, dest_parts):
        if a != b:
            break
        common += 1
    rel = "/".join([".."] * (len(other_parts) - common) + dest_parts[common:]) or "."
    return rel + "/" if url.endswith("/") else rel


# ----------------------------------------------------------------------------------
# The extension
# ----------------------------------------------------------------------------------
@dataclass
class _PageState:
    """What the preprocessor learns from a page's source, for the postprocessor."""

    context: PageContext
    modules: list[str]  # the ``::: llm_guide.<module>`` lines of a reference page
    notebook: tuple[str, str] | None = None  # a notebook page's (chapter src, ipynb src)
    notebook_html: str = ""  # and the HTML nbconvert rendered, which is the whole page
    tree_done: bool = False  # set by _TreeDone: the postprocessors' next run is on the whole page


class _SourcePreprocessor(Preprocessor):
    """Sees the page's own text, before includes are expanded and anything is parsed."""

    def run(self, lines: list[str]) -> list[str]:
        self.md.llm_guide_page = None
        context = page_context(self.md)
        if context is None or _is_inner(self.md):
            return lines
        text = "\n".join(lines)
        if not (context.docs_dir / NOTEBOOK_DIR).is_dir() and PYTHON_FENCE.search(text):
            # Without it the pages would silently lose their notebook buttons.
            raise RuntimeError(
                f"{context.src}: docs/{NOTEBOOK_DIR}/ is missing: run `python3 dev.py notebooks` "
                "before building the site (`python3 dev.py build` and `serve` do)"
            )
        state = _PageState(context, re.findall(r"^:::\s+(llm_guide(?:\.\w+)*)", text, flags=re.M))
        self.md.llm_guide_page = state
        first = text.lstrip("\n").split("\n", 1)
        m = NOTEBOOK_MARKER.match(first[0])
        if m and len(first) == 2:
            # A notebook page is HTML that nbconvert rendered: keep it from Markdown (an
            # indented line would become a code block, a tab spaces) and put it back whole
            # at the end. (Not through Python-Markdown's HTML stash: its placeholders do not
            # survive the whitespace normalisation that runs after this preprocessor.)
            state.notebook = (m.group(1), m.group(2))
            state.notebook_html = first[1]
            return []
        return lines


def _is_inner(md: Markdown) -> bool:
    """Is ``md`` mkdocstrings' inner instance, rendering a docstring on behalf of a page?

    It carries the page's context too (both builders pass it on), but its output is a
    fragment of the page, which the outer instance sees whole.
    """
    try:
        from mkdocstrings import MkdocstringsInnerExtension
    except ImportError:
        return False
    return any(isinstance(ext, MkdocstringsInnerExtension) for ext in md.registeredExtensions)


class _TreeDone(Treeprocessor):
    """Marks the end of the tree phase.

    The toc extension runs every postprocessor on each heading's text to make its TOC
    label, before the postprocessors run on the page: only the run after this one is
    on the whole page.
    """

    def run(self, root) -> None:
        state: _PageState | None = getattr(self.md, "llm_guide_page", None)
        if state is not None:
            state.tree_done = True


class _PagePostprocessor(Postprocessor):
    """Adds the links and buttons to the page's finished HTML (raw HTML already restored)."""

    def run(self, text: str) -> str:
        state: _PageState | None = getattr(self.md, "llm_guide_page", None)
        if state is None or not state.tree_done:
            return text
        self.md.llm_guide_page = None  # once per page
        context = state.context
        chapters = context.chapters()
        text = _glossary_links(text, context, {src for _, src in chapters.values()})
        if state.notebook is not None:
            chapter, ipynb = state.notebook
            text = context.resolve_links(state.notebook_html)  # its figures: <img src="<stem>/x.svg">
            self.md.toc_tokens = _toc_tokens(text)  # both builders take the page's TOC from here
            css = html.escape(context.link(NOTEBOOK_CSS), quote=True)
            buttons = _buttons(
                context,
                [
                    (ipynb, "download", "Download as notebook", True, "This notebook as an .ipynb file"),
                    (
                        chapter,
                        "book-open-page-variant-outline",
                        "Back to the chapter",
                        False,
                        "The page this notebook is generated from",
                    ),
                ],
            )
            return f'<link rel="stylesheet" href="{css}">\n' + buttons + text
        notebook = _notebook_of(context)
        if notebook is not None:
            ipynb, notebook_page = notebook
            buttons = _buttons(
                context,
                [
                    (
                        ipynb,
                        "download",
                        "Download as notebook",
                        True,
                        "This chapter as a Jupyter notebook: every code block, with its output",
                    ),
                    (
                        notebook_page,
                        "notebook-outline",
                        "Open the notebook",
                        False,
                        "This chapter's notebook, shown on this site",
                    ),
                ],
            )
            return _after_h1(text, buttons)
        if context.src.startswith("reference/"):
            text = _after_h1(text, _chapter_links(context, chapters, state.modules))
            return _submodule_chapter_links(text, context, chapters, state.modules)
        return text


class GuideExtension(Extension):
    """Glossary links, notebook buttons and pages, and the API reference's back-links."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        # First of all preprocessors (snippets is 32), to see the page as written.
        md.preprocessors.register(_SourcePreprocessor(md), "llm_guide_source", 40)
        # After every other tree processor (toc is 5, MkDocs' relpath 0).
        md.treeprocessors.register(_TreeDone(md), "llm_guide_tree_done", -100)
        # Last of all postprocessors (raw HTML is restored at 30), to see the page as shown.
        md.postprocessors.register(_PagePostprocessor(md), "llm_guide_page", 5)


def makeExtension(**kwargs) -> GuideExtension:  # noqa: N802 (the name Python-Markdown looks for)
    return GuideExtension(**kwargs)


def _notebook_of(context: PageContext) -> tuple[str, str] | None:
    """(ipynb src, notebook page src) of the page's notebook, if ``tools/notebook_pages.py`` made one.

    The notebook page's marker line names the page it was made from, so a page elsewhere
    with the same file name (``reference/attention.md``) does not get its buttons.
    """
    stem = notebook_stem(Path(context.src))
    page = f"{NOTEBOOK_DIR}/{stem}.md"
    try:
        head = (context.docs_dir / page).read_text(encoding="utf-8")[:2000]
    except OSError:
        return None
    m = NOTEBOOK_MARKER.search(head)
    if m is None or m.group(1) != context.src:
        return None
    return m.group(2), page


# ----------------------------------------------------------------------------------
# Glossary links
# ----------------------------------------------------------------------------------
def _glossary_links(content: str, context: PageContext, chapter_srcs: set[str]) -> str:
    """Anchors on the glossary's terms; on each chapter, its first use of each term links there."""
    glossary = context.docs_dir / GLOSSARY
    if context.src not in chapter_srcs | {GLOSSARY} or not glossary.exists():
        return content
    terms = read_glossary(glossary)
    if context.src == GLOSSARY:
        by_name = {t.name: t for t in terms}

        def anchor(m: re.Match) -> str:
            term = by_name.get(html.unescape(m.group(1)).strip())
            if term is None:
                return m.group(0)
            return (
                f'<dt id="{term.anchor}">{m.group(1)}'
                f'<a class="headerlink" href="#{term.anchor}" title="Permanent link">&para;</a></dt>'
            )

        return re.sub(r"<dt>(.*?)</dt>", anchor, content, flags=re.S)
    content, _linked = link_first_uses(content, terms, context.link(GLOSSARY))
    return content


# ----------------------------------------------------------------------------------
# Buttons and the notebook page's table of contents
# ----------------------------------------------------------------------------------
def _icon(name: str) -> str:
    """A Material Design icon, inline, from whichever theme is installed (the same icon set)."""
    for package in ("material", "zensical"):
        try:
            module = __import__(package)
            svg = (Path(module.__file__).parent / "templates" / ".icons" / "material" / f"{name}.svg").read_text()
        except (ImportError, OSError):
            continue
        return f'<span class="twemoji">{svg.strip()}</span> '
    return ""


def _buttons(context: PageContext, items: list[tuple[str, str, str, bool, str]]) -> str:
    """A row of buttons: (target src, icon, label, is a download, tooltip) each."""
    links = []
    for src, icon, label, download, title in items:
        href = html.escape(context.link(src), quote=True)
        extra = f' download="{html.escape(posixpath.basename(src), quote=True)}"' if download else ""
        links.append(
            f'<a class="md-button" href="{href}"{extra} title="{html.escape(title, quote=True)}">'
            f"{_icon(icon)}{html.escape(label)}</a>"
        )
    return '<p class="llm-guide-notebook-buttons">\n' + "\n".join(links) + "\n</p>\n"


def _after_h1(content: str, addition: str) -> str:
    if not addition:
        return content
    end = content.find("</h1>")
    if end < 0:
        return addition + content
    end += len("</h1>")
    return content[:end] + "\n" + addition + content[end:]


def _toc_tokens(body: str) -> list[dict]:
    """A table of contents from the headings of finished HTML, as Python-Markdown's toc
    extension leaves it in ``md.toc_tokens`` (which MkDocs and Zensical both read)."""
    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, inner in re.findall(r'<h([1-6])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', body, flags=re.S):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S).strip()
        token = {
            "level": int(level),
            "id": html.unescape(anchor),
            "name": re.sub(r"<[^>]+>", "", inner).strip(),
            "html": inner,
            "data-toc-label": "",
            "children": [],
        }
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return root


# ----------------------------------------------------------------------------------
# API reference back-links
# ----------------------------------------------------------------------------------
def _module_chapters(module: str) -> list[int]:
    """Chapter numbers a module's docstring names: "Chapter 9 (and 4): ..." -> [9, 4]."""
    base = REPO.joinpath(*module.split("."))
    path = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        return []
    m = re.match(r"^Chapters?\s+([\d,()\sand]+?)\s*:", doc)
    return [int(n) for n in re.findall(r"\d+", m.group(1))] if m else []


def _chapter_links(context: PageContext, chapters: dict[int, tuple[str, str]], modules: list[str]) -> str:
    """ "Explained in Chapter N: Title" for the chapters that explain ``modules``."""
    links = []
    for module in modules:
        for n in _module_chapters(module):
            if n in chapters:
                title, chapter_src = chapters[n]
                href = html.escape(context.link(chapter_src), quote=True)
                link = f'<a href="{href}">Chapter {n}: {html.escape(title)}</a>'
                if link not in links:
                    links.append(link)
    if not links:
        return ""
    joined = links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]
    return f'<p class="llm-guide-explained-in">Explained in {joined}.</p>\n'


def _submodule_chapter_links(
    content: str, context: PageContext, chapters: dict[int, tuple[str, str]], modules: list[str]
) -> str:
    """A package's page (``::: llm_guide.figures`` with ``show_submodules``) shows each of
    its modules under a heading of its own: each such heading gets its module's chapter,
    as the page's title gets the package's (``llm_guide.figures.attention``: Chapter 6)."""
    packages = tuple(f"{module}." for module in modules)

    def sub(m: re.Match) -> str:
        # only modules (a function's or class's heading names no file, so no chapter)
        links = _chapter_links(context, chapters, [m.group(3)]) if m.group(3).startswith(packages) else ""
        return m.group(1) + ("\n" + links if links else "")

    return re.sub(r'(<h([2-6]) id="(llm_guide(?:\.\w+)+)"[^>]*>.*?</h\2>)', sub, content, flags=re.S)
