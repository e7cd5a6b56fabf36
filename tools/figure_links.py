"""A Python-Markdown extension: every figure opens at full size when tapped.

A figure drawn for the page (``![alt](figures/name.svg)``) is scaled down to the column: to a
third of its size on a phone, where its labels get too small to read. Wrapping the image in a
link to its own file lets a reader tap it and see it at the size it was drawn (and zoom from
there), with no script. Listed under ``markdown_extensions`` in mkdocs.yml as
``tools.figure_links``, so every builder that reads that file runs it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor

FIGURE = re.compile(r"(^|/)figures/[^/]+\.(svg|png)$")
CLASS = "llm-guide-figure"
TITLE = "Open the figure at full size"


class FigureLinks(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        inside_links = {el for a in root.iter("a") for el in a.iter()}
        for parent in list(root.iter()):
            if parent in inside_links:
                continue  # an image that already links somewhere keeps its link
            for index, child in enumerate(list(parent)):
                src = child.get("src", "")
                if child.tag != "img" or not FIGURE.search(src):
                    continue
                link = ET.Element("a", {"href": src, "class": CLASS, "title": TITLE})
                link.tail, child.tail = child.tail, None
                parent.remove(child)
                link.append(child)
                parent.insert(index, link)


class FigureLinksExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # after "inline" (20), which turns ![alt](src) into <img>, and after "attr_list" (8),
        # so that ![alt](src){ width="300" } sizes the image, not the link; before MkDocs'
        # "relpath" (0), which turns both src and href into the page's relative URLs
        md.treeprocessors.register(FigureLinks(md), "llm_guide_figure_links", 7)


def makeExtension(**kwargs) -> FigureLinksExtension:
    return FigureLinksExtension(**kwargs)
