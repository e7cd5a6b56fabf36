"""MkDocs hooks (registered under ``hooks:`` in mkdocs.yml).

**Chapter notebooks.** For every page with runnable python blocks, ``on_files`` builds
its notebook from the page's own source (``tools.notebooks``; ``index.md`` gives
``home``) and adds three kinds of generated files, all kept out of the nav:

* ``notebooks/<stem>.ipynb``: the notebook, for download;
* ``notebooks/<stem>.md``: a page that shows the notebook rendered the Jupyter way,
  with nbconvert and mkdocs-jupyter's template and styles (its content is replaced in
  ``on_page_content``; its table of contents comes from the notebook's headings);
* the figures the notebook shows, next to that page (``![...](x.svg)``).

The chapter page gets two buttons under its title, "Download as notebook" and "Open the
notebook"; the notebook page gets "Download as notebook" and "Back to the chapter".

Why not the mkdocs-jupyter plugin itself: it builds a new nbconvert exporter per
notebook (compiling every template again), inlines 600 KB of CSS into each page and
re-parses the whole page with BeautifulSoup; with a dozen chapters that would be most of
the build time. Here one exporter renders every notebook (0.2 s for a long chapter),
without the re-parse, the CSS is one shared file
(``notebooks/notebook.css``), and nothing is loaded from a CDN: the notebook template's
MathJax 2 and Mermaid scripts are left out (diagrams are inline SVG: ``tools.diagrams``), and the site's vendored KaTeX
also reads the ``$``/``$$`` math of the notebook's markdown cells on these pages
(``docs/assets/javascripts/katex-config.js``).

**Glossary links.** The first use of each glossary term on a chapter links to its entry,
with the entry's first sentence as a tooltip (``tools.glossary``).

**API reference back-links.** A reference page (``docs/reference/<module>.md``, one
line ``::: llm_guide.<module>``) gets "Explained in Chapter N: Title" under its title,
taken from the module docstring ("Chapter 1: the vocabulary ...") and the nav
("1. Vocabulary"); a chapter not in the nav yet is left out. A package's page that shows
its modules (``reference/figures.md``: ``llm_guide.figures``, one module per chapter) gets
the line under each module's heading instead.
"""

from __future__ import annotations

import ast
import html
import json
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.diagrams import inline_notebook_diagrams  # noqa: E402
from tools.glossary import link_first_uses, read_glossary  # noqa: E402
from tools.notebooks import candidate_pages, dumps, figures_used, notebook_stem, page_to_notebook  # noqa: E402
from tools.pages import DOCS  # noqa: E402

NOTEBOOK_DIR = "notebooks"
NOTEBOOK_CSS = f"{NOTEBOOK_DIR}/notebook.css"

GLOSSARY = "glossary.md"

_state: dict = {"chapters": {}, "notebooks": {}, "numbered": {}, "chapter_srcs": set(), "terms": []}


# ----------------------------------------------------------------------------------
# Notebooks: files
# ----------------------------------------------------------------------------------
def on_files(files: Files, config) -> Files:
    chapters: dict[str, dict] = {}  # chapter src_uri -> its notebook
    notebooks: dict[str, dict] = {}  # notebook page src_uri -> the same record
    for page in candidate_pages(DOCS):
        src = page.relative_to(DOCS).as_posix()
        chapter = files.get_file_from_path(src)
        if chapter is None or chapter.inclusion.is_excluded():
            continue
        nb = page_to_notebook(page, config.site_url)
        if not any(cell.cell_type == "code" for cell in nb.cells):
            continue  # only notest blocks: nothing to run
        stem = notebook_stem(page)
        title = _notebook_title(nb) or stem
        record = {
            "stem": stem,
            "chapter": src,
            "nb": nb,
            "ipynb": f"{NOTEBOOK_DIR}/{stem}.ipynb",
            "page": f"{NOTEBOOK_DIR}/{stem}.md",
        }
        files.append(File.generated(config, record["ipynb"], content=dumps(nb), inclusion=InclusionLevel.NOT_IN_NAV))
        placeholder = (
            "---\n"
            f"title: {json.dumps(title + ' (notebook)')}\n"
            "search:\n  exclude: true\n"  # search should find the chapter, not its copy
            "---\n\n"
            f"<!-- replaced by {record['ipynb']}, rendered by tools/mkdocs_hooks.py -->\n"
        )
        nb_page = File.generated(config, record["page"], content=placeholder, inclusion=InclusionLevel.NOT_IN_NAV)
        files.append(nb_page)
        # Figures beside the rendered notebook, where its relative ![...](x.svg) points.
        page_dir = posixpath.dirname(nb_page.dest_uri)
        for name in figures_used(nb):
            figure = DOCS / "figures" / name
            if figure.exists():
                files.append(
                    File.generated(
                        config,
                        posixpath.join(page_dir, name),
                        abs_src_path=str(figure),
                        inclusion=InclusionLevel.NOT_IN_NAV,
                    )
                )
        chapters[src] = notebooks[record["page"]] = record
    if notebooks:
        files.append(File.generated(config, NOTEBOOK_CSS, content=_renderer().css))
    _state.update(chapters=chapters, notebooks=notebooks)
    return files


def _notebook_title(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return None


# ----------------------------------------------------------------------------------
# Notebooks: rendering (nbconvert, with mkdocs-jupyter's template and styles)
# ----------------------------------------------------------------------------------
_TEMPLATE = """{%- extends "mkdocs_html/notebook.html.j2" -%}
{#- Only the copy buttons' script: the styles are notebooks/notebook.css, shared by every
    notebook page, and math is typeset by the site's own KaTeX. No CDN. -#}
{%- block header -%}
{{ resources.include_js("mkdocs_html/assets/clipboard.umd.js") }}
<script>
document.addEventListener("clipboard-copy", function (event) {
  const notice = event.target.querySelector(".notice");
  notice.hidden = false;
  setTimeout(function () { notice.hidden = true; }, 1000);
});
</script>
{%- endblock header -%}
"""


class _Renderer:
    """One nbconvert HTML exporter for every notebook of the build (and of ``mkdocs serve``)."""

    def __init__(self) -> None:
        import jinja2
        from mkdocs_jupyter.config import settings
        from nbconvert import HTMLExporter
        from nbconvert.exporters.html import WidgetsDataTypeFilter
        from nbconvert.exporters.templateexporter import TemplateExporter
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
        from traitlets.config import Config

        self._cell = 0
        lexer, formatter = PythonLexer(), HtmlFormatter(cssclass="highlight-ipynb hl-python")

        def highlight_code(source, language=None, metadata=None):
            # The markup mkdocs-jupyter's template expects: highlighted code, then a hidden
            # copy of the text that its copy button (clipboard-copy for="cell-N") copies.
            # (Every code cell here is Python.)
            self._cell += 1
            code = highlight(source, lexer, formatter)
            return code + f'<div id="cell-{self._cell}" class="clipboard-copy-txt">{html.escape(source)}</div>\n'

        class Exporter(HTMLExporter):
            def from_notebook_node(self, nb, resources=None, **kw):
                # HTMLExporter's, without its last step: re-parsing the whole page with
                # BeautifulSoup to add alt texts and tabindex attributes, which took 3/4
                # of the time. (The guide's images all have alt texts.)
                resources = self._init_resources(resources)
                self.register_filter(
                    "filter_data_type",
                    WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
                )
                return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        self.exporter = Exporter(
            config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),  # colours are in notebook.css
            template_file="llm_guide_notebook.html.j2",
            extra_template_paths=[settings.templates_dir],
            extra_loaders=[jinja2.DictLoader({"llm_guide_notebook.html.j2": _TEMPLATE})],
            filters={"highlight_code": highlight_code},
            theme="light",
        )
        # mkdocs-jupyter's styles (scoped to .jupyter-wrapper) and the code colours.
        env = self.exporter.environment
        parts = [
            env.loader.get_source(env, f"mkdocs_html/assets/{name}")[0] for name in ("index.css", "theme-light.css")
        ]
        parts.append(formatter.get_style_defs(".highlight-ipynb"))
        # Dark mode: the same page under Material's "slate" scheme gets mkdocs-jupyter's dark
        # theme (one rule of colour variables, scoped so that it wins over the light one) and a
        # dark code style; with the light ones kept, code cells stayed light while the text on
        # them turned light grey (a contrast of 1.26:1).
        slate = '[data-md-color-scheme="slate"]'
        dark = env.loader.get_source(env, "mkdocs_html/assets/theme-dark.css")[0]
        parts.append(dark.replace(".jupyter-wrapper{", f"{slate} .jupyter-wrapper{{", 1))
        parts.append(HtmlFormatter(style="github-dark").get_style_defs(f"{slate} .highlight-ipynb"))
        # The cells' "In [ ]:" prompts: the notebook is not run, so they only ever show empty brackets.
        parts.append(".jupyter-wrapper .jp-InputPrompt, .jupyter-wrapper .jp-OutputPrompt { visibility: hidden; }")
        self.css = "/* The notebook pages' styles: mkdocs-jupyter's, and pygments' colours. */\n" + "\n".join(parts)

    def render(self, nb) -> str:
        self._cell = 0
        body, _resources = self.exporter.from_notebook_node(nb)
        return body


_RENDERER: _Renderer | None = None


def _renderer() -> _Renderer:
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = _Renderer()
    return _RENDERER


def _slug_headings(body: str) -> str:
    """Give the notebook's headings ids the way the site's pages get them (``toc``'s slugify).

    nbconvert keeps the heading text (``The-story-of-%22The-cat-sat%22``), which Material's
    scripts turn back into an invalid CSS selector when they follow the table of contents.
    """
    from markdown.extensions.toc import slugify, unique

    used: set[str] = set()

    def sub(m: re.Match) -> str:
        level, old, attrs, inner = m.groups()
        text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)))
        new = unique(slugify(text, "-") or "section", used)
        inner = inner.replace(f'href="#{old}"', f'href="#{new}"')
        return f'<h{level} id="{new}"{attrs}>{inner}</h{level}>'

    return re.sub(r'<h([1-6])\s+id="([^"]*)"([^>]*)>(.*?)</h\1>', sub, body, flags=re.S)


def _toc_from_html(body: str):
    """The notebook page's table of contents, from the headings nbconvert rendered."""
    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, inner in re.findall(r'<h([1-6])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', body, flags=re.S):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
        token = {
            "level": int(level),
            "id": html.unescape(anchor),
            "name": re.sub(r"<[^>]+>", "", inner).strip(),
            "children": [],
        }
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return get_toc(root)


# ----------------------------------------------------------------------------------
# Pages: buttons, notebook content, reference back-links
# ----------------------------------------------------------------------------------
def on_nav(nav, config, files):
    # Chapter number -> (title, src_uri), from nav titles such as "1. Vocabulary".
    numbered = {}
    for page in nav.pages:
        m = re.match(r"^(\d+)\.\s+(.+)$", page.title or "")
        if m:
            numbered[int(m.group(1))] = (m.group(2), page.file.src_uri)
    _state["numbered"] = numbered
    _state["chapter_srcs"] = {src for _, src in numbered.values()}
    # Read once per build: every chapter page links its terms against this list.
    _state["terms"] = read_glossary(DOCS / GLOSSARY) if files.get_file_from_path(GLOSSARY) else []
    return nav


def on_page_markdown(markdown: str, page, config, files):
    # Search should rank a chapter above the API reference that merely mentions its subject.
    if page.file.src_uri in _state["chapter_srcs"]:
        page.meta.setdefault("search", {}).setdefault("boost", 3)
    return markdown


def on_page_content(content: str, page, config, files):
    src = page.file.src_uri
    content = _glossary_links(content, page, files)
    if src in _state["chapters"]:
        record = _state["chapters"][src]
        buttons = _buttons(
            page,
            files,
            [
                (
                    record["ipynb"],
                    "download",
                    "Download as notebook",
                    True,
                    "This chapter as a Jupyter notebook: every code block, with its output",
                ),
                (
                    record["page"],
                    "notebook-outline",
                    "Open the notebook",
                    False,
                    "This chapter's notebook, shown on this site",
                ),
            ],
        )
        return _after_h1(content, buttons)
    if src in _state["notebooks"]:
        record = _state["notebooks"][src]
        body = _slug_headings(inline_notebook_diagrams(_renderer().render(record["nb"])))
        page.toc = _toc_from_html(body)
        buttons = _buttons(
            page,
            files,
            [
                (record["ipynb"], "download", "Download as notebook", True, "This notebook as an .ipynb file"),
                (
                    record["chapter"],
                    "book-open-page-variant-outline",
                    "Back to the chapter",
                    False,
                    "The page this notebook is generated from",
                ),
            ],
        )
        return buttons + body
    if src.startswith("reference/"):
        return _submodule_chapter_links(_after_h1(content, _chapter_links(page, files)), page, files)
    return content


def on_post_page(output: str, page, config):
    if page.file.src_uri not in _state["notebooks"]:
        return output
    css = html.escape(get_relative_url(NOTEBOOK_CSS, page.url), quote=True)
    # Math: katex-config.js reads the $ and $$ of the notebook's markdown cells (.jp-Notebook)
    return output.replace("</head>", f'<link rel="stylesheet" href="{css}">\n</head>', 1)


def on_serve(server, config, builder):
    # Pages include code from the package and from snippets/, and notebooks and reference
    # pages come from them too: rebuild when either changes.
    server.watch(str(REPO / "llm_guide"))
    server.watch(str(REPO / "snippets"))
    return server


def _glossary_links(content: str, page, files) -> str:
    """Anchors on the glossary's terms; on each chapter, its first use of each term links there."""
    src = page.file.src_uri
    glossary = files.get_file_from_path(GLOSSARY)
    if glossary is None:
        return content
    terms = _state["terms"]
    if src == GLOSSARY:
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
    if src in _state["chapter_srcs"]:
        content, _linked = link_first_uses(content, terms, get_relative_url(glossary.url, page.url))
    return content


def _icon(name: str) -> str:
    try:
        import material

        svg = (Path(material.__file__).parent / "templates" / ".icons" / "material" / f"{name}.svg").read_text()
    except OSError:
        return ""
    return f'<span class="twemoji">{svg.strip()}</span> '


def _buttons(page, files, items) -> str:
    links = []
    for src, icon, label, download, title in items:
        target = files.get_file_from_path(src)
        href = html.escape(get_relative_url(target.url, page.url), quote=True)
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


def _page_modules(page) -> list[str]:
    """The modules a reference page documents: its ``::: llm_guide.<module>`` lines."""
    return re.findall(r"^:::\s+(llm_guide(?:\.\w+)*)", page.markdown or "", flags=re.M)


def _chapter_links(page, files, modules: list[str] | None = None) -> str:
    """ "Explained in Chapter N: Title" for ``modules`` (by default, the page's own)."""
    numbered = _state["numbered"]
    links = []
    for module in _page_modules(page) if modules is None else modules:
        for n in _module_chapters(module):
            if n in numbered:
                title, chapter_src = numbered[n]
                href = html.escape(get_relative_url(files.get_file_from_path(chapter_src).url, page.url), quote=True)
                link = f'<a href="{href}">Chapter {n}: {html.escape(title)}</a>'
                if link not in links:
                    links.append(link)
    if not links:
        return ""
    joined = links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]
    return f'<p class="llm-guide-explained-in">Explained in {joined}.</p>\n'


def _submodule_chapter_links(content: str, page, files) -> str:
    """A package's page (``::: llm_guide.figures`` with ``show_submodules``) shows each of
    its modules under a heading of its own: each such heading gets its module's chapter,
    as the page's title gets the package's (``llm_guide.figures.attention``: Chapter 6)."""
    packages = tuple(f"{module}." for module in _page_modules(page))

    def sub(m: re.Match) -> str:
        # only modules (a function's or class's heading names no file, so no chapter)
        links = _chapter_links(page, files, [m.group(3)]) if m.group(3).startswith(packages) else ""
        return m.group(1) + ("\n" + links if links else "")

    return re.sub(r'(<h([2-6]) id="(llm_guide(?:\.\w+)+)"[^>]*>.*?</h\2>)', sub, content, flags=re.S)
