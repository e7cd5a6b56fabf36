"""A Python-Markdown extension: code blocks stay out of the site's search index.

Material's search loads the whole index on every page (766 KB here), and 60% of it was the
text of code blocks, which a reader searches far less than the prose around them: a name such
as ``causal_mask`` is still found in the prose, in inline code and in the API reference. The
theme's search leaves out any element with a ``data-search-exclude`` attribute (and strips the
attribute from the page afterwards), so this marks every highlighted block with it.
Listed under ``markdown_extensions`` in mkdocs.yml as ``tools.search_without_code``.
"""

from __future__ import annotations

import re

from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor

# pymdownx.highlight's blocks: <div class="language-python highlight">, and others whose
# classes include "highlight" (a notest block's, mkdocstrings' signatures)
BLOCK = re.compile(r'<div class="([^"]*\bhighlight\b[^"]*)"')


class MarkCodeBlocks(Postprocessor):
    def run(self, text: str) -> str:
        return BLOCK.sub(r'<div data-search-exclude="code" class="\1"', text)


class SearchWithoutCodeExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # after "raw_html" (30), which puts the highlighted blocks back into the text
        md.postprocessors.register(MarkCodeBlocks(md), "llm_guide_search_without_code", 5)


def makeExtension(**kwargs) -> SearchWithoutCodeExtension:
    return SearchWithoutCodeExtension(**kwargs)
