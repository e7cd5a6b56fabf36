"""MkDocs hooks (registered under ``hooks:`` in mkdocs.yml): only what is MkDocs' own.

Everything the guide adds to its pages works under both site builders and is not here:
the glossary links, the notebook buttons and the API reference's back-links are a
Markdown extension (``tools/md_extensions.py``), and the notebook pages are files that
``python3 dev.py notebooks`` writes into ``docs/notebooks/`` before either build
(``tools/notebook_pages.py``). Zensical does not run MkDocs hooks, so what is left is:

* **Serving**: ``mkdocs serve`` also rebuilds when the package or ``snippets/`` change
  (pages include their code), and writes the notebooks again before each rebuild, so an
  edited chapter's notebook is fresh too. (The first build uses the notebooks
  ``dev.py serve`` has just written.)
* **Search ranking**: a chapter ranks above the API reference that merely mentions its
  subject (``search.boost``; Zensical's search has no boost).

(Diagrams need no hook: they are drawn ahead of time and inlined by the ``mermaid`` custom
fence, ``tools/diagrams.py``.)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for this file's own imports of tools.*, however MkDocs loads it

_state: dict = {"serving": False, "builds": 0, "chapter_srcs": set()}


def on_startup(command: str, dirty: bool) -> None:
    _state["serving"] = command == "serve"


def on_pre_build(config) -> None:
    _state["builds"] += 1
    if _state["serving"] and _state["builds"] > 1:
        from tools.notebook_pages import write_notebook_pages

        write_notebook_pages(quiet=True)  # rewrites only what changed, so the watcher settles


def on_serve(server, config, builder):
    # Pages include code from the package and from snippets/, and notebooks and reference
    # pages come from them too: rebuild when either changes.
    server.watch(str(REPO / "llm_guide"))
    server.watch(str(REPO / "snippets"))
    return server


def on_nav(nav, config, files):
    # The chapters: the pages with a numbered nav title, such as "1. Vocabulary".
    from tools.md_extensions import CHAPTER_TITLE

    _state["chapter_srcs"] = {page.file.src_uri for page in nav.pages if CHAPTER_TITLE.match(page.title or "")}
    return nav


def on_page_markdown(markdown: str, page, config, files):
    # Search should rank a chapter above the API reference that merely mentions its subject.
    if page.file.src_uri in _state["chapter_srcs"]:
        page.meta.setdefault("search", {}).setdefault("boost", 3)
    return markdown
