"""Every figure's text is big enough to read, and its sizes come from the named ones.

The rule (``llm_guide/figures/style.py``): every text of every committed figure is at least
``MIN_DESKTOP_PX`` (9 px) on the 1,280-px desktop page, where a figure wider than the
``COLUMN_PX``-px reading column is scaled down to fit it, and at least ``MIN_NATURAL_PT``
(7.5 pt) at its natural size (what a reader who enlarges it sees); and every size is one
of ``TEXT_SIZES``.

The sizes are read from the SVG files themselves. matplotlib draws text as paths
(``svg.fonttype: path``): before each text it writes the text as a comment, ``<!-- t[0] -->``,
and then a group whose transform ends with ``scale(s -s)``, s = fontsize / 100. Other groups
use ``scale()`` too (the glyph outlines, ``scale(0.015625)``; an embedded heat map,
``scale(1 -1)``), so only the group right after a text's comment is counted. Markers are
``<use>`` elements with no scale at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_guide.figures.style import (
    COLUMN_PX,
    MIN_DESKTOP_PX,
    MIN_NATURAL_PT,
    SMALL,
    TEXT_SIZES,
    desktop_px,
    max_width_pt,
)

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO / "docs" / "figures"
PACKAGE = REPO / "llm_guide" / "figures"

WIDTH = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)pt"')
# A text's comment, then the opening tag of its group (attributes may come before transform).
TEXT = re.compile(r"<!-- ((?:(?!-->).)*) -->\s*<g\b([^>]*)>", re.S)
SCALE = re.compile(r"scale\(([\d.e+-]+) (-[\d.e+-]+)\)")
FONTSIZE_LITERAL = re.compile(r"\bfontsize\s*=\s*[-+]?(?:\d|\.\d)")


def text_sizes(svg: str) -> tuple[float, list[tuple[str, float]]]:
    """A matplotlib SVG's width (points) and each text with its size (points)."""
    width = WIDTH.search(svg)
    assert width, "no <svg width=...pt> in the file"
    texts = []
    for match in TEXT.finditer(svg):
        scale = SCALE.search(match.group(2))
        assert scale, f"the text {match.group(1)!r} has no scale(s -s) in its group {match.group(2)!r}"
        s, minus_s = float(scale.group(1)), float(scale.group(2))
        assert s == -minus_s > 0, f"the text {match.group(1)!r} is scaled unevenly: {scale.group(0)}"
        texts.append((match.group(1), round(s * 100, 3)))
    return float(width.group(1)), texts


FILES = sorted(FIGURES.glob("*.svg"))


def test_the_rule_is_consistent():
    assert COLUMN_PX == 688
    assert SMALL == min(TEXT_SIZES) >= MIN_NATURAL_PT
    assert desktop_px(SMALL, max_width_pt()) == pytest.approx(MIN_DESKTOP_PX)
    assert desktop_px(SMALL, 100.0) == pytest.approx(SMALL * 4 / 3)  # a narrow figure is not scaled


def test_the_reader_finds_texts_and_their_sizes_only():
    svg = (
        '<svg width="774pt" height="10pt">'
        '<image transform="scale(1 -1) translate(0 -9)"/>'  # a heat map, not text
        '<path id="g" transform="scale(0.015625)"/>'  # a glyph outline, not text
        '<!-- a --><g transform="translate(1 2) scale(0.09 -0.09)"><use xlink:href="#g"/></g>'
        '<!-- line one\nand two --><g style="fill: #444" transform="translate(1 2) rotate(-90) scale(0.1 -0.1)">'
    )
    width, texts = text_sizes(svg)
    assert width == 774.0
    assert texts == [("a", 9.0), ("line one\nand two", 10.0)]
    assert desktop_px(9.0, width) == pytest.approx(8.0)  # 774 pt = 1032 px, shown at 688/1032 = 2/3 of its size


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_text_of_every_figure_is_big_enough_and_a_named_size(path):
    width, texts = text_sizes(path.read_text(encoding="utf-8"))
    assert texts, f"{path.name} has no text"
    smallest = min(size for _, size in texts)
    on_desktop = desktop_px(smallest, width)
    example = next(text for text, size in texts if size == smallest)
    assert on_desktop >= MIN_DESKTOP_PX - 1e-9, (
        f"{path.name}: its smallest text ({example!r}, {smallest:g} pt in a figure {width:.0f} pt wide) "
        f"is {on_desktop:.1f} px on the desktop page, under {MIN_DESKTOP_PX:g} px: "
        f"make the text bigger or the figure narrower (at most {max_width_pt(smallest):.0f} pt for {smallest:g}-pt text)"
    )
    assert smallest >= MIN_NATURAL_PT, (
        f"{path.name}: its smallest text ({example!r}) is {smallest:g} pt at natural size, under {MIN_NATURAL_PT:g} pt"
    )
    unnamed = sorted({size for _, size in texts} - set(TEXT_SIZES))
    assert not unnamed, (
        f"{path.name}: text of {', '.join(f'{s:g}' for s in unnamed)} pt "
        f"(for example {next(t for t, s in texts if s in unnamed)!r}); "
        f"use a size of llm_guide.figures.style.TEXT_SIZES {TEXT_SIZES}"
    )


def test_figures_size_their_text_by_name_not_by_number():
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FONTSIZE_LITERAL.search(line):
                found.append(f"llm_guide/figures/{path.name}:{number}: {line.strip()}")
    assert not found, "size text with TITLE, LABEL or SMALL from llm_guide.figures.style:\n" + "\n".join(found)
