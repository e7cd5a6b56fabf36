"""The doc-test harness itself: it must catch what it promises to catch."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.docs_harness import (
    BlockFailure,
    BlockRaised,
    GuideRunner,
    Harness,
    Session,
    figures_match,
    normalise,
    outputs_match,
    read_page,
    unindent_containers,
)

FENCE = "```"


def _page(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(textwrap.dedent(body).replace("'''", FENCE), encoding="utf-8")
    return path


def _run_all(path: Path, update: bool = False) -> Harness:
    h = Harness(update=update)
    for block in h.page(path).blocks:
        h.run_block(path, block.fence_line)
    return h


def test_output_that_matches_passes(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        print(6 * 7)
        '''

        '''text title="Output"
        42
        '''
        """,
    )
    _run_all(path)


def test_output_that_drifted_fails_naming_page_and_line(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        print(6 * 7)
        '''

        '''text title="Output"
        41
        '''
        """,
    )
    with pytest.raises(BlockFailure, match=r"page\.md:7 is not what the block at .*page\.md:2 prints") as e:
        _run_all(path)
    assert "-41" in str(e.value) and "+42" in str(e.value)


def test_printing_without_an_output_fence_fails(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        print("surprise")
        '''
        """,
    )
    with pytest.raises(BlockFailure, match="printed output, but the page shows none"):
        _run_all(path)


def test_blocks_share_one_session_per_page(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        x = 20
        '''

        '''python
        print(x + 1)
        '''

        '''text title="Output"
        21
        '''
        """,
    )
    _run_all(path)


def test_fences_in_admonitions_and_tabs_are_found():
    lines = (
        textwrap.dedent("""\
        ??? question "Try it"

            === "NumPy"

                '''python
                a = 1
                '''

        Outside
        """)
        .replace("'''", FENCE)
        .split("\n")
    )
    flat = unindent_containers(lines)
    assert len(flat) == len(lines)  # line numbers are kept
    assert flat[4] == FENCE + "python" and flat[5] == "a = 1"
    assert flat[8] == "Outside"


def test_a_broken_include_names_the_snippet_file_and_line(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        --8<-- "tests/fixtures/raising_snippet.py:explode"
        explode(3)
        '''
        """,
    )
    h = Harness(update=False)
    block = h.page(path).blocks[0]
    with pytest.raises(BlockRaised, match="RuntimeError") as excinfo:
        h.run_block(path, block.fence_line)

    report = _report(h, path, block, excinfo)
    assert "page.md:2" in report
    assert "tests/fixtures/raising_snippet.py, line 7 (included at the page's line 3)" in report
    assert "page.md, line 4" in report  # the call site on the page


def _report(h: Harness, path: Path, block, excinfo) -> str:
    class _Test:
        source_path = path
        start_line = block.fence_line

    import tests.docs_harness as dh

    saved, dh._HARNESS = dh._HARNESS, h
    try:
        return GuideRunner().repr_failure(_Test, excinfo)
    finally:
        dh._HARNESS = saved


def test_a_failure_in_a_function_an_earlier_block_defined_names_that_line(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        def halve(n):
            return n // 0
        '''

        '''python
        halve(4)
        '''
        """,
    )
    h = Harness(update=False)
    first, second = h.page(path).blocks
    h.run_block(path, first.fence_line)
    with pytest.raises(BlockRaised, match="ZeroDivisionError") as excinfo:
        h.run_block(path, second.fence_line)
    report = _report(h, path, second, excinfo)
    assert "page.md:7: the python block starting here raised\n  at " in report
    assert report.split("\n")[1].endswith("page.md, line 4")  # the failing line, in the earlier block
    assert "page.md, line 8, in <page>\n    halve(4)" in report


def test_a_missing_include_is_an_error(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        --8<-- "tests/fixtures/no_such_file.py"
        '''
        """,
    )
    with pytest.raises(Exception, match="could not be found"):
        read_page(path)


def test_notest_blocks_are_counted_not_run(tmp_path):
    path = _page(
        tmp_path,
        """
        '''{.python .notest title="Not run: needs the network"}
        raise SystemExit("never runs")
        '''

        '''bash
        echo shell is not python
        '''
        """,
    )
    page = read_page(path)
    assert page.blocks == [] and page.skipped == 1


def test_refresh_writes_and_then_passes(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        print("one")
        '''

        '''text title="Output"
        stale
        '''

        '''python
        print("two")
        '''
        """,
    )
    h = _run_all(path, update=True)
    h.write_updates()
    text = path.read_text()
    assert "stale" not in text and "one" in text and 'title="Output"\ntwo\n' in text
    _run_all(path)  # now passes as is


def test_figures_are_compared(tmp_path):
    a, b, c = tmp_path / "a.svg", tmp_path / "b.svg", tmp_path / "c.svg"
    a.write_text('<path d="M 1.0001 2.5 L 3 4"/>')
    b.write_text('<path d="M 1.0002 2.5 L 3 4"/>')  # float noise
    c.write_text('<path d="M 1.0 2.5 L 3 9"/>')  # a different picture
    assert figures_match(a, b)
    assert not figures_match(a, c)
    # Hex ids are not numbers (9e481 is not 9 x 10^481), and matplotlib's hashed ids may
    # differ when a point moves by noise, but they must be used in the same places.
    d, e, f = tmp_path / "d.svg", tmp_path / "e.svg", tmp_path / "f.svg"
    d.write_text('<clipPath id="p8fc9e481ba"/><path clip-path="url(#p8fc9e481ba)" d="M 1 2"/>')
    e.write_text('<clipPath id="p0123456789"/><path clip-path="url(#p0123456789)" d="M 1 2"/>')
    f.write_text('<clipPath id="p0123456789"/><path clip-path="url(#pabcdefabcd)" d="M 1 2"/>')
    assert figures_match(d, e) and not figures_match(d, f)
    # Sizes with units and hex colours: 640.1pt is a number, #3b528b is not.
    g, h, i = tmp_path / "g.svg", tmp_path / "h.svg", tmp_path / "i.svg"
    g.write_text('<svg width="640.10pt"><path style="fill: #3b528b" d="M 1 2"/></svg>')
    h.write_text('<svg width="640.12pt"><path style="fill: #3b528b" d="M 1 2"/></svg>')
    i.write_text('<svg width="640.10pt"><path style="fill: #3b528c" d="M 1 2"/></svg>')
    assert figures_match(g, h) and not figures_match(g, i)


def test_figure_texts_positions_and_styles_have_their_own_tolerances(tmp_path):
    """matplotlib's SVG as another CPU draws it: an annotation prints .66 for .65, a point
    sits 2 pt away on a 640 pt canvas, a glyph is defined in another text group. Still the
    same figure; another word, a point 5 pt away or another opacity is not."""

    def svg(name: str, label: str = ".65", x: float = 100.0, opacity: str = "0.25", glyph_first: bool = True) -> Path:
        glyph = '<defs><path id="DejaVuSans-36" d="M 1 2 L 3 4" transform="scale(0.015625)"/></defs>'
        text = (
            f'<g id="text_1"><!-- {label} --><g transform="translate({x} 50) scale(0.1 -0.1)">'
            f'{glyph if glyph_first else ""}<use xlink:href="#DejaVuSans-36"/>'
            f'<use xlink:href="#DejaVuSans-35" transform="translate(63.6 0)"/></g></g>'
        )
        other = f'<g id="text_2"><!-- cat --><g>{"" if glyph_first else glyph}</g></g>'
        path = tmp_path / name
        path.write_text(
            f'<svg viewBox="0 0 640 300"><path d="M {x} 20 L 200 30" '
            f'style="stroke-opacity: {opacity}"/>{text}{other}</svg>'
        )
        return path

    base = svg("base.svg")
    assert figures_match(base, svg("noise.svg", label=".66", x=102.0, glyph_first=False))
    assert not figures_match(base, svg("label.svg", label=".75"))  # 0.1 off: not rounding
    assert not figures_match(base, svg("word.svg", label="dog"))
    assert not figures_match(base, svg("moved.svg", x=105.0))  # over 0.5% of 640 pt
    assert not figures_match(base, svg("style.svg", opacity="0.5"))


def test_embedded_images_are_compared_by_their_pixels(tmp_path):
    import base64
    import io

    import numpy as np
    from PIL import Image

    def svg(name: str, pixels: np.ndarray) -> Path:
        buffer = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
        data = base64.b64encode(buffer.getvalue()).decode()
        path = tmp_path / name
        path.write_text(f'<image id="image0123456789" xlink:href="data:image/png;base64,{data}"/>')
        return path

    base = np.full((20, 20, 3), 100)
    shaded = base.copy()
    shaded[0, 0] = 140  # one cell a shade lighter: noise
    other = base.copy()
    other[:10] = 200  # half the map changed: another picture
    a, b, c = svg("a.svg", base), svg("b.svg", shaded), svg("c.svg", other)
    assert figures_match(a, b) and not figures_match(a, c)
    assert not figures_match(a, svg("d.svg", base[:, :19]))  # another size


def test_printed_numbers_are_compared_with_a_tolerance_for_decimals_only():
    assert outputs_match("step 100  loss 0.266", "step 100  loss 0.267")  # one in the last digit
    assert outputs_match("share 0.20336", "share 0.20350")  # within 2%
    assert outputs_match("weight 0.24", "weight 0.26")  # exactly 2 in the last digit, despite binary rounding
    assert not outputs_match("loss 2.359", "loss 2.459")  # 4%: the code changed
    assert not outputs_match("3,456 parameters", "3,457 parameters")  # integers are exact
    assert not outputs_match("step 100", "step 101")
    assert not outputs_match("lr 9.99e+03", "lr 9.77e+03")
    assert not outputs_match("answer d", "answer C")  # text is exact
    assert not outputs_match("loss 0.266", "loss 0.266 0.1")  # a number more


def test_normalise_ignores_only_trailing_whitespace():
    assert normalise("a  \nb\n\n") == normalise("a\nb")
    assert normalise(" a") != normalise("a")


def test_a_forked_kernel_is_as_fresh_as_a_new_notebook(tmp_path):
    """Page kernels are forks of a warm process (tests/kernel_zygote.py); what a page can see
    is what a new notebook has: no names, its own empty folder, and random generators
    (Python's, NumPy's, torch's) seeded anew, so they differ from kernel to kernel."""
    path = _page(
        tmp_path,
        """
        '''python
        import os
        import random
        import sys

        import numpy as np
        import torch

        print(sorted(n for n in globals() if not n.startswith("_") and n not in
              {"In", "Out", "get_ipython", "exit", "quit", "open", "os", "random", "sys", "np", "torch"}))
        print(os.listdir("."), os.getcwd())
        print(torch.initial_seed())
        print(random.random(), np.random.rand())
        '''
        """,
    )
    outputs = []
    for _ in range(2):
        h = Harness(update=False)
        page = h.page(path)
        session = Session(page)
        session.start()
        try:
            outputs.append(session.run(page.blocks[0]).splitlines())
            assert type(session.client.km).__name__ == "ForkedKernelManager"  # the zygote's fork is what ran
        finally:
            session.close()
    for lines in outputs:
        assert lines[0] == "[]", f"names in a fresh kernel: {lines[0]}"
        assert lines[1].startswith("[] "), "the kernel's folder is not empty"
    assert outputs[0][1] != outputs[1][1], "two kernels shared a folder"
    assert outputs[0][2] != outputs[1][2], "two kernels have the same torch seed"
    assert outputs[0][3] != outputs[1][3], "two kernels drew the same Python and NumPy random numbers"


# ---------------------------------------------------------------------------------
# No silent skips: every fence is accounted for
# ---------------------------------------------------------------------------------
def test_a_fence_with_an_unknown_language_fails_naming_page_and_line(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        x = 1
        '''

        '''pyhton
        print(x)
        '''
        """,
    )
    with pytest.raises(ValueError, match=r"page\.md:6: a fence with language 'pyhton' would be shown but never run"):
        read_page(path)


def test_a_fence_without_a_language_fails_too(tmp_path):
    path = _page(
        tmp_path,
        """
        '''
        print("plain")
        '''
        """,
    )
    with pytest.raises(ValueError, match=r"page\.md:2: a fence with language 'none'"):
        read_page(path)


@pytest.mark.parametrize(
    "before",
    ["'''bash\n        echo hi\n        '''", "Some prose.", "'''{.python .notest}\n        print(1)\n        '''"],
)
def test_an_output_fence_that_follows_no_python_block_fails(tmp_path, before):
    path = _page(
        tmp_path,
        f"""
        {before}

        '''text title="Output"
        hi
        '''
        """,
    )
    with pytest.raises(ValueError, match=r"page\.md:\d+: this Output fence does not follow a python block"):
        read_page(path)


def test_prose_between_a_block_and_its_output_orphans_the_output(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        print(1)
        '''
        It prints one.

        '''text title="Output"
        1
        '''
        """,
    )
    with pytest.raises(ValueError, match=r"page\.md:7: this Output fence does not follow"):
        read_page(path)


# ---------------------------------------------------------------------------------
# Exercises and tabs run on their own, after the page's main blocks
# ---------------------------------------------------------------------------------
def test_an_exercise_that_needs_an_earlier_exercise_fails(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        base = 10
        '''

        ??? question "1"
            '''python
            doubled = base * 2
            '''

        ??? question "2"
            '''python
            print(doubled + 1)
            '''
        """,
    )
    with pytest.raises(BlockRaised, match="name 'doubled' is not defined"):
        _run_all(path)


def test_a_solution_in_two_blocks_keeps_its_own_names(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        base = 10
        '''

        ??? question "1"
            '''python
            doubled = base * 2
            '''

            '''python
            print(doubled)
            '''

            '''text title="Output"
            20
            '''
        """,
    )
    _run_all(path)


def test_an_exercise_that_rebinds_what_another_reads_fails(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        T = 4
        '''

        ??? question "1"
            '''python
            print(T * 2)
            '''

            '''text title="Output"
            8
            '''

        ??? question "2"
            '''python
            T = 8
            '''
        """,
    )
    with pytest.raises(
        BlockFailure, match=r"page\.md:16 rebinds T, which the page defines and the exercise at .*page\.md:7 reads"
    ):
        _run_all(path)


def test_a_tab_that_needs_its_sibling_fails(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        n = 3
        '''

        === "First"

            '''python
            a = [n] * 2
            '''

        === "Second"

            '''python
            print(len(a))
            '''
        """,
    )
    with pytest.raises(BlockRaised, match="name 'a' is not defined"):
        _run_all(path)


def test_tabs_of_a_set_each_see_the_names_from_before_the_set(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python
        n = 3
        '''

        === "First"

            '''python
            n = 100
            '''

        === "Second"

            '''python
            print(n)
            '''

            '''text title="Output"
            3
            '''
        """,
    )
    _run_all(path)


def test_a_bare_notest_word_is_refused_because_the_site_would_drop_the_title(tmp_path):
    path = _page(
        tmp_path,
        """
        '''python notest title="Not run"
        print(1)
        '''
        """,
    )
    with pytest.raises(ValueError, match=r"page\.md:2: write a block that is not run as"):
        read_page(path)


def test_a_hand_edited_output_is_caught_even_inside_the_tolerance(tmp_path, monkeypatch):
    import tests.docs_harness as dh

    docs = tmp_path / "docs"
    docs.mkdir()
    monkeypatch.setattr(dh, "PINNED", docs)
    monkeypatch.setattr(dh, "OUTPUT_PIN", tmp_path / "outputs.json")
    path = docs / "page.md"
    page = textwrap.dedent("""
        '''python
        print(f"{0.16:.2f}")
        '''

        '''text title="Output"
        0.16
        '''
        """).replace("'''", FENCE)
    path.write_text(page, encoding="utf-8")
    h = _run_all(path, update=True)
    dh.record_outputs(sorted(h.completed))
    _run_all(path)  # as refresh wrote it: passes
    # Another CPU prints another last digit: the page is unchanged, the tolerance covers it.
    path.write_text(page.replace("{0.16:.2f}", "{0.161:.3f}"), encoding="utf-8")
    _run_all(path)
    # A one-character edit of the shown number, within the 2% tolerance: caught.
    path.write_text(page.replace("0.16\n", "0.161\n").replace("{0.16:.2f}", "{0.161:.3f}"), encoding="utf-8")
    with pytest.raises(BlockFailure, match=r"page\.md:7 is close to what the block prints, but it is not the text"):
        _run_all(path)
