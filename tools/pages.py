"""Reading the guide's pages the way MkDocs renders them.

Shared by the doc-test harness (``tests/docs_harness.py``) and the notebook builder
(``tools/notebooks.py``): both must see exactly the code the site shows, so both
expand ``--8<--`` includes with pymdownx.snippets' own preprocessor (configured from
``mkdocs.yml``) and look inside admonitions and content tabs.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PYTHON_LANGS = ("python", "py", "python3")
# Every fence language a page may use. Anything else (a typo such as ```pyhton) would be
# rendered as a plain block and never run, so reading the page fails instead.
FENCE_LANGS = (*PYTHON_LANGS, "text", "bash", "mermaid")
# Code a reader should see but the tests cannot run (it needs the network) is written
# ```{.python .notest title="Not run: why"}: the brace form keeps the title and adds a
# "notest" class, so the site labels the block. (A bare ```python notest header makes
# superfences drop the whole header, title included, and the block looks runnable.)
BRACE_TOKEN = re.compile(r'\.([\w-]+)|(\w+)="[^"]*"')

# Pages that are written, not read: ``python3 dev.py notebooks`` (tools/notebook_pages.py)
# makes them from the others before each build. They are not chapters, have no code to run,
# and are git-ignored.
GENERATED = DOCS / "notebooks"

OUTPUT_INFO = re.compile(r'^text\b.*\btitle="Output"')
CONTAINER_HEADER = re.compile(r"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?|===)[ \t]")
FENCE_DELIM = re.compile(r"^[ \t]*(`{3,}|~{3,})")
BLOCK_SNIPPET = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")


# ----------------------------------------------------------------------------------
# Reading a page the way mkdocs does
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    """Where one line of the expanded page came from."""

    path: Path
    line: int  # 1-based
    included_at: int | None = None  # page line of the --8<-- include, if any

    def describe(self) -> str:
        where = f"{_rel(self.path)}, line {self.line}"
        if self.included_at is not None:
            where += f" (included at the page's line {self.included_at})"
        return where


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _snippet_preprocessor():
    """pymdownx.snippets' own preprocessor, configured exactly as in mkdocs.yml."""
    from markdown import Markdown
    from pymdownx.snippets import SnippetExtension

    config_file = REPO / "mkdocs.yml"
    options = copy.deepcopy(_snippet_options(str(config_file), config_file.stat().st_mtime_ns))
    md = Markdown(extensions=[SnippetExtension(**options)])
    return md.preprocessors["snippet"]


@lru_cache(maxsize=4)
def _snippet_options(config_file: str, _mtime_ns: int) -> dict:
    """The snippets options of mkdocs.yml, read once per version of the file: loading the
    config loads every plugin, which is slow when done for every page (as the MkDocs hook
    that builds the notebooks would)."""
    from mkdocs.config import load_config

    config = load_config(config_file)
    options = dict(config["mdx_configs"].get("pymdownx.snippets", {}))
    bases = options.get("base_path", ["."])
    bases = [bases] if isinstance(bases, str) else bases
    # pymdownx resolves base_path against the current directory; mkdocs runs from the repo root.
    options["base_path"] = [str((REPO / b).resolve()) for b in bases]
    return options


def is_generated(path: Path) -> bool:
    """Is ``path`` (under docs/) a page that the notebook step writes, not a hand-written one?"""
    return GENERATED in Path(path).resolve().parents


def source_pages(docs: Path = DOCS) -> list[Path]:
    """Every hand-written page under ``docs``, in path order."""
    return [p for p in sorted(docs.rglob("*.md")) if not is_generated(p)]


def site_config() -> dict:
    """``mkdocs.yml`` as plain data, read without MkDocs (fast, and usable under Zensical too).

    Tags such as ``!!python/name:...`` (the emoji extension's functions) and ``!ENV`` are
    read as ``None``: the callers only need plain settings (``site_url``, ``nav``, ...).
    """
    config_file = REPO / "mkdocs.yml"
    return copy.deepcopy(_site_config(str(config_file), config_file.stat().st_mtime_ns))


@lru_cache(maxsize=4)
def _site_config(config_file: str, _mtime_ns: int) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)  # any tag the safe loader lacks
    with open(config_file, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader) or {}


def expand_snippets(path: Path, lines: list[str]) -> tuple[list[str], list[Origin]]:
    """Expand every ``--8<--`` include, remembering where each resulting line came from."""
    pre = _snippet_preprocessor()
    out: list[str] = []
    origins: list[Origin] = []
    for number, line in enumerate(lines, start=1):
        if BLOCK_SNIPPET.match(line):
            raise ValueError(
                f'{_rel(path)}:{number}: use the one-line form --8<-- "file" for includes; '
                "the block form is not supported by the doc-test harness"
            )
        if "8<" not in line or not pre.RE_ALL_SNIPPETS.match(line):
            out.append(line)
            origins.append(Origin(path, number))
            continue
        try:
            expanded = pre.run([line])
        except Exception as error:  # pymdownx's SnippetMissingError: say where the include is
            raise ValueError(f"{_rel(path)}:{number}: {line.strip()}: {error}") from error
        out.extend(expanded)
        origins.extend(_align_include(line, expanded, pre, path, number))
    return out, origins


def _align_include(line: str, expanded: list[str], pre, page: Path, number: int) -> list[Origin]:
    """Map the lines an include produced back to lines of the included file."""
    target = pre.RE_ALL_SNIPPETS.match(line).group("snippet")[1:-1].strip()
    parsed = pre.parse_snippet_target(target)
    source = Path(pre.get_snippet_path(parsed["path"]))
    source_lines = source.read_text(encoding="utf-8").split("\n")
    origins = []
    cursor = 0
    for text in expanded:
        want = text.strip()
        found = None
        for j in range(cursor, len(source_lines)):
            if source_lines[j].strip() == want:
                found = j
                break
        if found is None:  # should not happen; fall back to the include line itself
            origins.append(Origin(page, number))
            continue
        origins.append(Origin(source, found + 1, included_at=number))
        cursor = found + 1
    return origins


def unindent_containers(lines: list[str]) -> list[str]:
    """Lift the bodies of admonitions, collapsible blocks and content tabs out by one
    level, so a markdown parser sees the fences inside them. Line numbers do not change.
    """
    lines = list(lines)
    in_fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        delim = FENCE_DELIM.match(line)
        if in_fence is not None:
            if delim and delim.group(1)[0] == in_fence[0] and len(delim.group(1)) >= len(in_fence):
                in_fence = None
            i += 1
            continue
        if delim:
            in_fence = delim.group(1)
            i += 1
            continue
        header = CONTAINER_HEADER.match(line)
        if header:
            indent = len(header.group("indent").expandtabs(4))
            lines[i] = ""
            j = i + 1
            while j < len(lines):
                body = lines[j]
                if body.strip() == "":
                    j += 1
                    continue
                if len(body) - len(body.lstrip(" ")) < indent + 4:
                    break
                lines[j] = body[4:]
                j += 1
        i += 1
    return lines


def fence_info(info: str, where: str = "") -> tuple[str, set[str]]:
    """A fence header's language and its flags: ``python title="x"`` -> ("python", set()),
    ``{.python .notest title="x"}`` -> ("python", {"notest"})."""
    info = info.strip()
    if info.startswith("{"):
        classes = [m.group(1) for m in BRACE_TOKEN.finditer(info) if m.group(1)]
        return (classes[0] if classes else ""), set(classes[1:])
    words = info.split()
    if "notest" in words[1:]:
        raise ValueError(
            f'{where}: write a block that is not run as ```{{.python .notest title="Not run: why"}}: '
            "with a bare `notest` word the site drops the header and the block looks runnable"
        )
    return (words[0] if words else ""), set()


def container_groups(lines: list[str]) -> list[tuple | None]:
    """For every line, the collapsible block or content tab it sits in, if any.

    ``("details", header)`` for the body of a ``???`` block (the guide's exercises and
    their solutions), ``("tab", first_header, header)`` for the body of a ``===`` tab,
    where ``first_header`` names the set of consecutive tabs. Lines of ``!!!``
    admonitions and of the page itself get None. The outermost container wins.
    """
    groups: list[tuple | None] = [None] * len(lines)
    in_fence: str | None = None
    last_tab: tuple[int, int, int] | None = None  # (indent, first header, last body line)
    for i, line in enumerate(lines):
        delim = FENCE_DELIM.match(line)
        if in_fence is not None:
            if delim and delim.group(1)[0] == in_fence[0] and len(delim.group(1)) >= len(in_fence):
                in_fence = None
            continue
        if delim:
            in_fence = delim.group(1)
            continue
        header = CONTAINER_HEADER.match(line)
        if not header:
            continue
        indent = len(header.group("indent").expandtabs(4))
        last_body = i
        for j in range(i + 1, len(lines)):
            body = lines[j]
            if body.strip() == "":
                continue
            if len(body) - len(body.lstrip(" ")) < indent + 4:
                break
            last_body = j
        kind = line.strip()[:3]
        if kind == "===":
            same_set = (
                last_tab is not None
                and last_tab[0] == indent
                and all(not lines[k].strip() for k in range(last_tab[2] + 1, i))
            )
            first = last_tab[1] if same_set else i
            group: tuple | None = ("tab", first, i)
            last_tab = (indent, first, last_body)
        elif kind == "???":
            group = ("details", i)
        else:
            group = None
        for k in range(i + 1, last_body + 1):
            if groups[k] is None:
                groups[k] = group
    return groups


@dataclass
class Block:
    """One python fence of a page, ready to run."""

    index: int
    page: Path
    fence_line: int  # page line of the opening ``` (1-based)
    code: str
    origins: list[Origin]  # one per code line
    expected: str | None  # the Output fence's text, or None if there is none
    output_span: tuple[int, int] | None  # page lines (1-based, inclusive) of the output text
    fence_indent: str = ""
    fence_end_line: int = 0  # page line of the closing ``` of the python fence
    # the ??? block or === tab it sits in (container_groups); None for the page's main line
    group: tuple | None = None


@dataclass
class Page:
    path: Path
    blocks: list[Block]
    skipped: int  # python fences marked notest


def read_page(path: Path) -> Page:
    """Parse a page into its runnable python blocks, after expanding includes."""
    raw = path.read_text(encoding="utf-8").split("\n")
    expanded, origins = expand_snippets(path, raw)
    flat = unindent_containers(expanded)
    groups = container_groups(expanded)
    tokens = MarkdownIt("commonmark").parse("\n".join(flat))
    fences = [t for t in tokens if t.type == "fence" and t.map]
    blocks: list[Block] = []
    skipped = 0
    for k, tok in enumerate(fences):
        where = f"{_rel(origins[tok.map[0]].path)}:{origins[tok.map[0]].line}"
        lang, flags = fence_info(tok.info, where)
        if lang not in FENCE_LANGS:
            raise ValueError(
                f"{where}: a fence with language {lang or 'none'!r} would be shown but never "
                f"run or checked; use one of {', '.join(FENCE_LANGS)}"
            )
        if OUTPUT_INFO.match(tok.info):
            before = fences[k - 1] if k > 0 else None
            before_lang, before_flags = fence_info(before.info) if before is not None else ("", set())
            if not (
                before_lang in PYTHON_LANGS
                and "notest" not in before_flags
                and _only_blank_between(flat, before.map[1], tok.map[0])
            ):
                raise ValueError(
                    f"{where}: this Output fence does not follow a python block (only blank lines may "
                    "stand between them), so nothing checks it; put it right after the block that prints it"
                )
        if lang not in PYTHON_LANGS:
            continue
        if "notest" in flags:
            skipped += 1
            continue
        start, end = tok.map  # 0-based, end exclusive, in expanded coordinates
        code_origins = origins[start + 1 : end - 1]
        expected = span = None
        nxt = fences[k + 1] if k + 1 < len(fences) else None
        if nxt is not None and OUTPUT_INFO.match(nxt.info) and _only_blank_between(flat, end, nxt.map[0]):
            expected = nxt.content
            o_start, o_end = nxt.map
            first, last = origins[o_start + 1], origins[o_end - 2] if o_end - 2 > o_start else None
            span = (first.line, last.line if last else first.line - 1)
        fence_origin = origins[start]
        if fence_origin.path != path:
            raise ValueError(f"{_rel(path)}: a python fence may not open inside an included file")
        indent = re.match(r"[ \t]*", raw[fence_origin.line - 1]).group(0)
        blocks.append(
            Block(
                index=len(blocks),
                page=path,
                fence_line=fence_origin.line,
                code=tok.content,
                origins=code_origins,
                expected=expected,
                output_span=span,
                fence_indent=indent,
                fence_end_line=origins[end - 1].line,
                group=groups[start],
            )
        )
    return Page(path, blocks, skipped)


def _only_blank_between(lines: list[str], start: int, stop: int) -> bool:
    return all(not lines[i].strip() for i in range(start, stop))
