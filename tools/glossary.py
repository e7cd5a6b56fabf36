"""Glossary links: the first use of each glossary term on a chapter page links to its entry.

``docs/glossary.md`` is a definition list (``Term`` then ``:   definition``). From it,
``read_glossary`` gets each term, the words that count as a use of it ("Byte-pair encoding
(BPE)" is used as "byte-pair encoding" or "BPE"; plurals count; ``_WORDS`` lists the names
the chapters write differently, such as "LayerNorm") and its first sentence, which becomes
the link's tooltip.

``link_first_uses`` then walks a page's HTML and wraps the first use of each term in
running text (never inside code, math, headings, links, diagrams or admonition titles)
in a link to ``glossary/#<anchor>``, but for the ``BASICS`` every chapter uses. The site's
Markdown extension (``tools/md_extensions.py``, run by MkDocs and Zensical alike) calls it
for every numbered chapter and gives the glossary's ``<dt>`` elements those anchors.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from markdown.extensions.toc import slugify


@dataclass(frozen=True)
class Term:
    name: str  # as the glossary writes it: "Byte-pair encoding (BPE)"
    anchor: str  # "byte-pair-encoding-bpe"
    words: tuple[str, ...]  # what counts as a use: ("byte-pair encoding", "BPE")
    summary: str  # the definition's first sentence, plain text
    linked: bool = True  # False for BASICS: in the glossary, but not linked from chapters


def read_glossary(path: Path) -> list[Term]:
    """The terms of a definition-list glossary page, in page order."""
    text = path.read_text(encoding="utf-8")
    terms = []
    for name, body in re.findall(r"^(\S[^\n]*)\n:   ([^\n]+(?:\n    [^\n]+)*)", text, flags=re.M):
        definition = " ".join(line.strip() for line in body.split("\n"))
        terms.append(
            Term(
                name=name.strip(),
                anchor=term_anchor(name),
                words=_words(name),
                summary=_tooltip(definition),
                linked=name.strip() not in BASICS,
            )
        )
    return terms


def term_anchor(name: str) -> str:
    return slugify(name.strip(), "-")


# The words of chapters 1 to 3 that nearly every sentence after them uses: a dotted link and a
# tooltip on "ids" or "token" on every chapter is noise, not help. They keep their entries.
BASICS = {"Id", "Token", "Vocabulary", "Tensor", "Weights", "GPT"}


# Names whose parts are too common as plain words to count as a use on their own, and
# names the chapters write differently.
_WORDS = {
    "Query, key, value": ("query", "queries", "queries, keys and values"),
    "Layer normalization": ("layer normalization", "LayerNorm"),
    "Greedy decoding": ("greedy decoding", "greedy"),
    "Top-k sampling": ("top-k sampling", "top-k"),
    "Top-p sampling": ("top-p sampling", "top-p"),
    "Few-shot prompt": ("few-shot prompt", "few-shot"),
    "One-hot vector": ("one-hot vector", "one-hot"),
    "Validation set": ("validation set", "validation"),
}


def _words(name: str) -> tuple[str, ...]:
    if name in _WORDS:
        return _WORDS[name]
    words = []
    for part in re.split(r",\s*|\s*\(|\)", name):
        part = part.strip()
        if part:
            words.append(part)
    return tuple(words)


def _plain(markdown: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", markdown)  # links -> their text
    text = re.sub(r"[*`]", "", text)
    text = re.sub(r"\\\(|\\\)", "", text)  # math delimiters
    return re.sub(r"\\([a-zA-Z]+)", r"\1", text)  # \max -> max


TOOLTIP_CHARS = 200  # a tooltip is a reminder, not the entry: a longer sentence is cut to its first clause


def _tooltip(definition: str) -> str:
    """The definition's first sentence as plain text, for a link's title: without its maths
    (a formula in a tooltip shows as TeX source), and at most TOOLTIP_CHARS long."""
    first = _first_sentence(definition)
    if "\\(" in first:  # keep the words before the formula, and the colon that introduces it
        first = first[: first.index("\\(")].rstrip(" :,=") + "."
    text = _plain(first)
    if len(text) > TOOLTIP_CHARS:
        # the first clause, if the sentence has one that stands alone; else cut at a word
        clause = max(text.rfind(": ", 0, TOOLTIP_CHARS), text.rfind("; ", 0, TOOLTIP_CHARS))
        if clause > 30:
            text = text[:clause] + "."
        else:
            text = text[: TOOLTIP_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:(") + "\u2026"
    return text


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text).strip()


def _pattern(word: str) -> re.Pattern:
    """A use of ``word``: whole words, any case for ordinary words, plural allowed.

    All-caps or mixed-case names (BPE, LoRA, GELU, AdamW) must match exactly; a lower-case
    ``safetensors`` too, since it is a library's name.
    """
    exact = word != word.lower() and word[1:] != word[1:].lower() or word == "safetensors"
    body = re.escape(word) if exact else re.escape(word[0].lower()) + re.escape(word[1:].lower())
    flags = 0 if exact else re.IGNORECASE
    return re.compile(rf"(?<![\w-])({body}(?:e?s)?)(?![\w-])", flags)


# Elements whose text is never linked: code, math, headings, links, diagrams, scripts.
_SKIP_TAGS = {
    "a",
    "code",
    "pre",
    "kbd",
    "script",
    "style",
    "svg",
    "button",
    "summary",
    "title",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dt",
    "th",
    "label",
}
_SKIP_CLASSES = ("arithmatex", "admonition-title", "mermaid", "highlight", "md-button", "llm-guide-notebook-buttons")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^>]*)>|<!--.*?-->", re.S)


def link_first_uses(content: str, terms: list[Term], glossary_href: str) -> tuple[str, list[str]]:
    """Link the first use of each term in ``content`` (HTML); return it and the anchors linked."""
    pending = {t.anchor: (t, [_pattern(w) for w in t.words]) for t in terms if t.linked}
    open_elements: list[tuple[str, bool]] = []  # (name, is its text off limits?)
    out: list[str] = []
    linked: list[str] = []
    pos = 0
    for m in _TAG.finditer(content + "<!---->"):  # the sentinel flushes the text after the last tag
        text = content[pos : m.start()]
        if text and not any(skip for _, skip in open_elements):
            text = _link_text(text, pending, linked, glossary_href)
        out.append(text)
        out.append(m.group(0) if m.start() < len(content) else "")
        pos = m.end()
        if m.group(0).startswith("<!--"):
            continue
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID or attrs.rstrip().endswith("/"):
            continue
        if closing:
            # Pop to the matching element (tolerates HTML that leaves some elements open).
            if any(opened == name for opened, _ in open_elements):
                while open_elements.pop()[0] != name:
                    pass
        else:
            classes = re.search(r'class="([^"]*)"', attrs)
            skip = name in _SKIP_TAGS or bool(classes and any(c in classes.group(1) for c in _SKIP_CLASSES))
            open_elements.append((name, skip))
    return "".join(out), linked


def _link_text(text: str, pending: dict, linked: list[str], href: str) -> str:
    """Link, in one run of text, the first use of each pending term (uses never overlap)."""
    found = []
    for term, regexes in pending.values():
        matches = [m for m in (r.search(text) for r in regexes) if m]
        if matches:
            first = min(matches, key=lambda m: (m.start(), -m.end()))
            found.append((first.start(), -first.end(), first, term))
    chosen, end = [], -1
    for start, _, m, term in sorted(found, key=lambda f: f[:2]):
        if start >= end:  # "multi-head attention" wins over the "head" and "attention" inside it
            chosen.append((m, term))
            end = m.end()
    linked.extend(term.anchor for _, term in chosen)
    for m, term in reversed(chosen):  # from the end, so earlier offsets stay valid
        del pending[term.anchor]
        link = (
            f'<a class="llm-guide-term" href="{href}#{term.anchor}" '
            f'title="{html.escape(term.summary, quote=True)}">{m.group(1)}</a>'
        )
        text = text[: m.start()] + link + text[m.end() :]
    return text
