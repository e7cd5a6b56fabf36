"""The built site works in a real browser: headless Chromium, driven by Playwright.

The site is built with ``mkdocs build --strict`` (the session fixture in ``conftest.py``),
served on 127.0.0.1 by a ``http.server`` thread, and every page is opened in Chromium (the
generated reference and notebook pages with JavaScript off, but for a sample: ``runs_scripts``).
Checked: no console errors, failed requests or requests to any other host; math typeset
by KaTeX; the Mermaid diagrams, drawn ahead of time, one per palette; the copy button; search; the dark-mode toggle.
Screenshots go to ``test-artifacts/screenshots/`` and page weights to
``test-artifacts/page-weights.json`` (both gitignored).

Needs ``/usr/bin/chromium``, or another Chromium or Chrome named by ``LLM_GUIDE_CHROMIUM``
(``python3 dev.py test`` installs Debian's on Debian/Ubuntu as root);
without it these tests skip.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from llm_guide.figures.style import COLUMN_PX
from tests.docs_harness import REPO
from tools.chromium import ARGS, CHROMIUM
from tools.diagrams import THEMES, draw, open_mermaid, site_diagrams, svg_path
from tools.md_extensions import page_url

ARTIFACTS = REPO / "test-artifacts"

# Diagrams are inline SVG drawn ahead of time (tools/diagrams.py), one drawing per palette:
# the one on show has a size, the other none.
SHOWN_DIAGRAMS = """() => [...document.querySelectorAll(".llm-guide-diagram svg")].filter(
    svg => svg.getBoundingClientRect().width > 0).length"""
# Display formulas and tables wider than the column that shows them: cut off, or hidden behind
# a scroll bar a reader may not notice. (Material makes both boxes scroll sideways.)
OVERFLOWING = """() => [...document.querySelectorAll(
    ".md-content div.arithmatex, .md-content .md-typeset__scrollwrap")].filter(
    box => box.scrollWidth > box.clientWidth + 1).map(
    box => (box.matches("div.arithmatex") ? "formula " : "table ") + box.textContent.trim().slice(0, 70))"""
HIDDEN_CODE = """() => [...document.querySelectorAll(".md-content pre > code")].filter(
    code => code.scrollWidth > code.clientWidth + 1).map(code => code.textContent.trim().slice(0, 70))"""
# Formulas KaTeX typeset but that do not look typeset: its stylesheet missing (the formula's
# font is not KaTeX's, and its MathML copy for screen readers shows beside it), or one of its
# fonts failed to load (the characters fall back to the page's font), which no console error
# reports.
UNSTYLED_MATH = """() => {
  const unstyled = [...document.querySelectorAll(".katex")].filter(k =>
    !getComputedStyle(k).fontFamily.includes("KaTeX_Main")).length;
  const failed = [...document.fonts].filter(f => f.status === "error").map(f => f.family);
  return unstyled + failed.length;
}"""
COPY_BUTTON = ".md-clipboard, .md-code__button[data-md-type='copy']"  # Material < 9.7, >= 9.7

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} not found: install it with `apt-get install chromium chromium-driver` "
        "(python3 dev.py test does this when run as root on Debian/Ubuntu)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra has it)")
expect = sync_api.expect


# --- the site, a server, a browser ---------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except ConnectionError:  # the browser closed a context while a response was in flight
            pass


def is_foreign(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1"


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    return built_site[0]


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Visit:
    """A fresh browser context (cold cache, no stored palette) that records what happens."""

    def __init__(self, browser, base_url: str, **options):
        self.base_url = base_url
        self.closed = False
        viewport = options.pop("viewport", {"width": 1280, "height": 800})
        self.context = browser.new_context(viewport=viewport, **options)
        self.context.set_default_timeout(15_000)
        self.reset()
        self.context.on("request", self._request)
        self.context.on("response", self._response)
        self.context.on("requestfinished", lambda r: self.in_flight.discard(r))
        self.context.on("requestfailed", self._failed)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", self._uncaught)

    def reset(self) -> None:
        """Forget what earlier pages did (the browser cache stays warm)."""
        self.requests: list[str] = []
        self.in_flight: set = set()
        self.problems: list[str] = []

    def _request(self, request):
        self.requests.append(request.url)
        self.in_flight.add(request)

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _failed(self, request):
        self.in_flight.discard(request)
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _uncaught(self, error):
        where = next((line.strip() for line in (error.stack or "").splitlines() if line.strip().startswith("at ")), "")
        self.problems.append(f"uncaught error: {error.message} ({where})")

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def open(self, path: str = ""):
        """Load a page and wait until it is complete (see ``finish``)."""
        self.start(path)
        return self.finish()

    def start(self, path: str) -> None:
        """Start loading a page; return once the server answers, so others can load alongside."""
        self.page.goto(self.base_url + path, wait_until="commit")

    def finish(self, scripts: bool = True):
        """Wait for the load event, the math typeset, the fonts loaded and
        no request in flight (so a late failure, a font say, is seen too). Without
        ``scripts`` (a context with JavaScript off) only for the load and the requests."""
        page = self.page
        page.wait_for_load_state("load")
        if scripts:
            if page.locator(".arithmatex").count():  # KaTeX typesets on load: at once, or it failed
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.arithmatex')].every(el => el.querySelector('.katex, .katex-error'))",
                    timeout=5000,
                )
            page.evaluate("async () => { document.body.getBoundingClientRect(); await document.fonts.ready; }")
        deadline = time.monotonic() + 15
        while self.in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(25)  # lets Playwright deliver the requestfinished events
        self.problems += [f"still loading after 15 s: {r.url}" for r in self.in_flight]
        return page

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if is_foreign(url)]

    def close(self):
        if not self.closed:
            self.closed = True
            self.context.close()


@pytest.fixture(scope="module")
def visits(browser, base_url):
    """``visits(**context_options)`` opens a fresh context; none may leave 127.0.0.1."""
    opened: list[Visit] = []

    def new(**options) -> Visit:
        opened.append(Visit(browser, base_url, **options))
        return opened[-1]

    new.opened = opened
    yield new
    for v in opened:
        v.close()


@pytest.fixture
def visit(visits):
    """Like ``visits``, and fails the test if anything in it was requested from another host."""
    before = len(visits.opened)
    yield visits
    foreign = [url for v in visits.opened[before:] for url in v.foreign_requests()]
    for v in visits.opened[before:]:
        v.close()
    assert not foreign, "the site loaded from another host:\n" + "\n".join(sorted(set(foreign)))


# --- what the site contains ------------------------------------------------------------------


def site_pages(site: Path) -> list[str]:
    """Every page in the sitemap, as a path relative to the site root ("" is the home page)."""
    tree = ET.parse(site / "sitemap.xml")
    locs = [el.text.strip() for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    root = min(locs, key=len)  # the home page is the site URL itself
    pages = [loc[len(root) :] for loc in locs if loc.startswith(root)]
    assert len(pages) == len(locs) and "" in pages, f"unexpected sitemap: {locs}"
    return sorted(pages)


def chapter_titled(site: Path, word: str) -> dict | None:
    """The chapter ("# 6. Attention") whose title has ``word``, from the built search index."""
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    for doc in docs:
        if "#" not in doc["location"] and re.match(rf"\d+\.\s.*\b{word}\b", doc["title"], re.IGNORECASE):
            return doc
    return None


@dataclass
class PageReport:
    scripted: bool  # opened with JavaScript on (the checks below need it)
    problems: list[str]
    math: int  # .arithmatex elements in the page
    typeset: int  # .katex elements KaTeX made
    display_math: int  # of which display math
    tex_errors: list[str]
    unstyled_math: int  # formulas without KaTeX's CSS, and KaTeX fonts that failed to load
    overflowing: list[str]  # formulas and tables wider than the column, at 1,280 px
    hidden_code: list[str]  # code blocks with lines running past their right edge, at 1,280 px
    diagrams: int  # .llm-guide-diagram figures (each holds a light and a dark drawing)
    drawn: int  # drawings on show (one per figure, in the palette the page is in)
    requests: list[str]
    weight: int  # bytes: the page and every file it requested, as a cold cache fetches them


def page_weight(site: Path, urls: list[str]) -> int:
    """What a first visit transfers: the size of every distinct file of the site requested
    (the test server sends files as they are; a real host may compress them)."""
    total = 0
    for path in {urlsplit(url).path for url in urls if not is_foreign(url)}:
        file = site / path.lstrip("/")
        if path.endswith("/"):
            file = file / "index.html"
        if file.is_file():
            total += file.stat().st_size
    return total


def _report(v: Visit, site: Path, scripted: bool = True) -> PageReport:
    try:
        page = v.finish(scripts=scripted)
    except sync_api.Error as error:  # a timeout waiting for math or a diagram
        v.problems.append(f"did not finish loading: {error.message.splitlines()[0]}")
        page = v.page
    return PageReport(
        scripted=scripted,
        problems=list(v.problems),
        math=page.locator(".arithmatex").count(),
        typeset=page.locator(".katex").count(),
        display_math=page.locator(".katex-display").count(),
        tex_errors=[e.get_attribute("title") or e.inner_text() for e in page.locator(".katex-error").all()],
        unstyled_math=page.evaluate(UNSTYLED_MATH) if scripted else 0,
        overflowing=page.evaluate(OVERFLOWING) if scripted else [],
        hidden_code=page.evaluate(HIDDEN_CODE) if scripted else [],
        diagrams=page.locator(".llm-guide-diagram").count(),
        drawn=page.evaluate(SHOWN_DIAGRAMS) if scripted else 0,
        requests=list(v.requests),
        weight=page_weight(site, v.requests),
    )


# The generated pages repeat one template each: the API reference (mkdocstrings) and the
# chapter notebooks (nbconvert). Their scripts run on these samples (the reference index, a
# module page, and a notebook with math and a diagram); every other generated page is loaded
# with JavaScript off, which still fetches and checks every file it links. Running the theme's
# scripts costs about 2.5 CPU-seconds a page on this machine, and the generated pages are 30
# of the 43; the scripts run on every page a reader writes (home, chapters, glossary).
GENERATED = ("reference/", "notebooks/")
SCRIPTED_SAMPLES = ("reference/", "reference/attention/", "notebooks/transformer-block/")


def runs_scripts(path: str) -> bool:
    return not path.startswith(GENERATED) or path in SCRIPTED_SAMPLES


@pytest.fixture(scope="module")
def walk(site, visits) -> dict[str, PageReport]:
    """Open every page of the site once, one after another in one browser context (JavaScript
    on, or off for the generated pages ``runs_scripts`` leaves out), and record what happened.
    The cache stays warm between pages (as for a reader clicking through), which makes the
    walk about three times faster than a cold context per page (two pages loading at once was
    slower still, on 2 cores); page weights are still the cold ones (``page_weight``) and go
    to test-artifacts/page-weights.json."""
    reports = {}
    scripted, static = visits(), visits(java_script_enabled=False)
    for path in site_pages(site):
        v = scripted if runs_scripts(path) else static
        v.reset()
        try:
            v.start(path)
        except sync_api.Error as error:
            v.problems.append(f"did not load: {error.message.splitlines()[0]}")
        reports[path] = _report(v, site, scripted=v is scripted)
    scripted.close()
    static.close()
    ARTIFACTS.mkdir(exist_ok=True)
    weights = {
        f"/{p}": {"bytes": r.weight, "requests": len(set(r.requests)), "scripts": r.scripted}
        for p, r in reports.items()
    }
    (ARTIFACTS / "page-weights.json").write_text(json.dumps(weights, indent=2) + "\n", encoding="utf-8")
    return reports


# --- the tests -------------------------------------------------------------------------------


def test_every_page_loads_without_errors(walk):
    """No console errors, uncaught exceptions, failed requests or HTTP errors on any page."""
    problems = [f"/{path}: {p}" for path, r in walk.items() for p in r.problems]
    assert not problems, "\n".join(problems)
    # The theme's scripts ran on every page written by hand and on a sample of each generated kind.
    assert all(r.scripted for p, r in walk.items() if not p.startswith(GENERATED))
    for kind in GENERATED:
        assert any(r.scripted for p, r in walk.items() if p.startswith(kind) and p != kind), kind


def test_nothing_is_loaded_from_another_host(walk):
    foreign = sorted({f"/{path}: {url}" for path, r in walk.items() for url in r.requests if is_foreign(url)})
    assert not foreign, "the site loaded from another host:\n" + "\n".join(foreign)


def test_math_is_typeset(walk):
    assert walk["vocabulary/"].display_math > 0, "no display math typeset on the Vocabulary page"
    # a notebook's markdown cells hold the chapter's prose, with $ and $$ math instead of arithmatex's
    chapter, notebook = walk["transformer-block/"], walk["notebooks/transformer-block/"]
    assert notebook.typeset == chapter.math > 0, "the notebook page's math is not all typeset"
    problems = [
        f"/{p}: {r.math} math elements, {r.typeset} typeset"
        for p, r in walk.items()
        if r.scripted and r.typeset < r.math
    ]
    problems += [f"/{p}: TeX error: {e}" for p, r in walk.items() for e in r.tex_errors]
    problems += [
        f"/{p}: {r.unstyled_math} formulas or fonts without KaTeX's CSS or fonts"
        for p, r in walk.items()
        if r.unstyled_math
    ]
    assert not problems, "\n".join(problems)


def test_no_formula_or_table_is_wider_than_its_column(walk):
    """At a 1,280-pixel window every display formula and table of a hand-written page fits
    (and at 390 pixels too: ``test_on_a_phone_nothing_is_wider_than_the_screen``)."""
    wide = [f"/{p}: {what}" for p, r in walk.items() if not p.startswith(GENERATED) for what in r.overflowing]
    assert not wide, "wider than the page's column at 1,280 px:\n" + "\n".join(wide)
    assert any(r.display_math for r in walk.values())  # there were formulas to measure


PHONE = {"width": 390, "height": 844}
PAGE_WIDER_THAN_WINDOW = f"() => document.documentElement.scrollWidth > {PHONE['width']} + 1"


def test_on_a_phone_nothing_is_wider_than_the_screen(site, visits):
    """At 390 pixels (a phone), every display formula and table of a hand-written page fits
    its column, and no page scrolls sideways (a long inline formula would make it)."""
    phone = visits(viewport=PHONE)
    wide = []
    for path in [p for p in site_pages(site) if not p.startswith(GENERATED)]:
        phone.reset()
        page = phone.open(path)
        wide += [f"/{path}: {what}" for what in page.evaluate(OVERFLOWING)]
        if page.evaluate(PAGE_WIDER_THAN_WINDOW):
            wide.append(f"/{path}: the page is {page.evaluate('document.documentElement.scrollWidth')} px wide")
        if path == "attention/":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "phone-attention.png"), full_page=False)
            # the two notebook buttons wrap onto two lines here: not touching
            top, bottom = [b.bounding_box() for b in page.locator(".llm-guide-notebook-buttons .md-button").all()]
            if bottom["y"] > top["y"]:
                assert bottom["y"] - (top["y"] + top["height"]) >= 4, "the notebook buttons touch on a phone"
    phone.close()
    assert not wide, "wider than a 390-pixel phone screen:\n" + "\n".join(wide)


def test_every_figure_opens_at_full_size(site, visits):
    """Every figure of a hand-written page is a link to its own file (tools/figure_links.py),
    so on a phone, where it is shown at about a third of its size, a tap opens it at the size
    it was drawn. Checked in every page's HTML, then tapped once on a phone."""
    unlinked = []
    for path in [p for p in site_pages(site) if not p.startswith(GENERATED)]:
        text = (site / path / "index.html").read_text(encoding="utf-8")
        for img in re.findall(r"(?:<a [^>]*>)?<img [^>]*figures/[^>]*>", text):
            src = re.search(r'src="([^"]+)"', img).group(1)
            if not img.startswith("<a ") or f'href="{src}"' not in img or "llm-guide-figure" not in img:
                unlinked.append(f"/{path}: {src}")
    assert not unlinked, "figures that do not open at full size:\n" + "\n".join(unlinked)
    phone = visits(viewport=PHONE)
    page = phone.open("attention/")
    figure = page.locator("a.llm-guide-figure img").first
    shown, drawn = figure.evaluate("img => [img.getBoundingClientRect().width, img.naturalWidth]")
    assert shown < 0.6 * drawn  # too small to read on the page...
    ARTIFACTS.mkdir(exist_ok=True)
    figure.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "figure-on-a-phone.png"))
    figure.click()
    page.wait_for_url("**/figures/*.svg")
    assert page.evaluate("document.documentElement.getBoundingClientRect().width") >= drawn - 1  # ...full size here
    page.screenshot(path=str(ARTIFACTS / "figure-tapped-on-a-phone.png"))
    phone.close()


@pytest.mark.parametrize("viewport", [PHONE, None], ids=["phone", "desktop"])
def test_signatures_stay_clear_of_the_copy_button(visit, viewport):
    """In the API reference, no signature's text runs under the copy button in its corner
    (long signatures wrap, and on a phone their first line reached the corner)."""
    page = (visit(viewport=viewport) if viewport else visit()).open("reference/model/")
    under = page.evaluate("""() => [...document.querySelectorAll(".doc-signature pre")].filter(pre => {
        const button = pre.querySelector("button.md-clipboard, .md-code__button");
        if (!button) return false;
        const b = button.getBoundingClientRect(), range = document.createRange();
        const walker = document.createTreeWalker(pre.querySelector("code"), NodeFilter.SHOW_TEXT);
        const rects = [];
        while (walker.nextNode()) {
            range.selectNodeContents(walker.currentNode);
            rects.push(...range.getClientRects());  // the text itself, line by line
        }
        return rects.some(r => r.width > 0 && r.right > b.left && r.top < b.bottom && r.bottom > b.top);
    }).map(pre => pre.textContent.slice(0, 60))""")
    assert page.locator(".doc-signature pre").count() > 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".doc-signature pre").nth(2).screenshot(
        path=str(ARTIFACTS / f"signature-{'phone' if viewport else 'desktop'}.png")
    )
    assert not under, f"signatures under the copy button: {under}"


def test_figures_are_shown_as_wide_as_the_figure_text_rule_assumes(visit):
    """tests/test_figure_text.py checks every figure's text size from its SVG, assuming the
    1,280-px desktop page shows a figure at most COLUMN_PX wide: check that assumption on the
    page (the widest figures fill the column; a narrower figure keeps its own width)."""
    page = visit().open("transformer-block/")
    shown, drawn = page.locator("a.llm-guide-figure img").first.evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth]"
    )
    assert drawn > COLUMN_PX, "the sampling figure no longer needs scaling: pick a wider one"
    assert abs(shown - COLUMN_PX) <= 2, f"figures are shown {shown:.0f} px wide: set COLUMN_PX in style.py to match"


def test_no_code_line_runs_past_the_edge_of_its_block(walk):
    """Long code and output lines wrap (at 1,280 px, a little narrower than the 1,366 px the
    issue measured): before, 18 of 40 blocks on the attention page hid their line ends."""
    hidden = [f"/{p}: {what}" for p, r in walk.items() if not p.startswith(GENERATED) for what in r.hidden_code]
    assert not hidden, "code blocks with hidden line ends:\n" + "\n".join(hidden)


PAGE_BUDGET = 2_500_000  # bytes, uncompressed, as a first visit fetches them (page_weight)


def test_no_page_weighs_more_than_2_5_mb(walk):
    """Every page whose scripts ran, with everything it loads. Before Mermaid was drawn ahead
    of time, MathJax gave way to KaTeX and code left the search index, the five chapters with
    a diagram weighed 6.2-6.5 MB, the heaviest without one 3.1 MB, a notebook page 7.1 MB."""
    heavy = {f"/{p}": r.weight for p, r in walk.items() if r.scripted and r.weight > PAGE_BUDGET}
    assert not heavy, f"pages over {PAGE_BUDGET:,} bytes: {heavy}"
    assert walk["weights/"].weight > 1_000_000  # the weights really were measured


def test_every_diagram_is_drawn_once_in_each_palette(walk, visit):
    """Each ```mermaid fence of a page is one figure on it, with one drawing on show, and the
    other palette shows the other drawing. No script draws them (Mermaid is 3.5 MB): the
    page-weight test would see it loaded."""
    # page_url("index.md") is "./": the walk names the home page ""
    expected = {page_url(page).removeprefix("./"): len(sources) for page, sources in site_diagrams().items()}
    assert expected, "no page of docs/ has a ```mermaid fence"
    shown = {p: (r.diagrams, r.drawn) for p, r in walk.items() if r.diagrams and not p.startswith(GENERATED)}
    assert shown == {p: (n, n) for p, n in expected.items()}
    page = visit().open("transformer-block/")
    for scheme in ("slate", "default"):
        page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")
        theme = "dark" if scheme == "slate" else "light"
        assert page.evaluate(SHOWN_DIAGRAMS) == expected["transformer-block/"]
        drawing = page.locator(f".llm-guide-diagram__{theme} svg").first
        assert drawing.bounding_box()["width"] > 0
        ARTIFACTS.mkdir(exist_ok=True)
        drawing.screenshot(path=str(ARTIFACTS / f"diagram-{theme}.png"))


def test_the_drawn_diagrams_are_what_mermaid_draws_from_the_fences(browser):
    """Draw every fence again with the vendored Mermaid and compare with the committed SVGs:
    the same shapes and the same text (an SVG edited by hand, or left from older text under
    the same name, fails). Coordinates may differ with the fonts of the machine."""
    page = open_mermaid(browser)
    for sources in site_diagrams().values():
        for source in sources:
            for theme in THEMES:
                fresh, kept = draw(page, source, theme), svg_path(source, theme).read_text(encoding="utf-8")
                assert _svg_outline(fresh) == _svg_outline(kept), f"{svg_path(source, theme)}: redraw it"
    page.close()


def _svg_outline(svg: str) -> tuple[list[str], list[str]]:
    """An SVG's element names in order and its text, without coordinates."""
    root = ET.fromstring(svg)
    return [el.tag for el in root.iter()], [t.strip() for t in root.itertext() if t.strip()]


def test_copy_button_copies_the_block(visit, base_url):
    v = visit()
    v.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    page = v.open("vocabulary/")
    page.evaluate("() => navigator.clipboard.writeText('nothing copied yet')")
    button = page.locator(COPY_BUTTON).first
    shown = page.locator(button.get_attribute("data-clipboard-target")).text_content()
    button.click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()) !== 'nothing copied yet'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.rstrip("\n") == shown.rstrip("\n")
    assert copied.count("\n") >= 2, "expected a multi-line code block"


OUTPUT_LOOK = """() => {
  const look = (selector) => {
    const block = document.querySelector(selector);
    const code = block.querySelector("pre > code");
    const copy = [...block.querySelectorAll(".md-clipboard, .md-code__button")].filter(b => b.offsetParent !== null);
    return {background: getComputedStyle(code).backgroundColor, border: getComputedStyle(block).borderLeftWidth,
            copy: copy.length};
  };
  return {code: look(".language-python.highlight"), output: look(".language-text.highlight")};
}"""


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_output_blocks_do_not_look_like_code(visit, scheme):
    """An Output block has no code background, a rule on its left and no copy button, in
    both palettes, so what a block printed is not mistaken for code to run."""
    v = visit()
    page = v.open("vocabulary/")
    page.evaluate(f"() => document.body.setAttribute('data-md-color-scheme', '{scheme}')")
    look = page.evaluate(OUTPUT_LOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".language-text.highlight").first.screenshot(path=str(ARTIFACTS / f"output-block-{scheme}.png"))
    assert look["output"]["background"] != look["code"]["background"], look
    assert look["output"]["background"] in ("rgba(0, 0, 0, 0)", "transparent"), look
    assert look["output"]["border"] != "0px" and look["code"]["border"] == "0px", look
    assert look["output"]["copy"] == 0 and look["code"]["copy"] >= 1, look


# The lowest contrast between a notebook page's code (every highlighted token, and every
# printed output) and the background it is drawn on, by WCAG's formula.
CODE_CONTRAST = r"""() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); } return [255, 255, 255]; };
  const ratios = [];
  for (const span of document.querySelectorAll(".jp-Cell .highlight-ipynb span, .jp-RenderedText pre")) {
    if (!span.textContent.trim()) continue;
    const fg = lum(rgb(getComputedStyle(span).color).slice(0, 3)), bg = lum(background(span));
    ratios.push(((Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)));
  }
  ratios.sort((a, b) => a - b);
  return {n: ratios.length, min: ratios[0], below45: ratios.filter(r => r < 4.5).length};
}"""


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_notebook_code_is_readable_in_both_palettes(visit, scheme):
    """In dark mode the notebook pages' code cells used to stay light while their text
    turned light grey (1.26:1). Every token and output must reach WCAG AA's 4.5:1."""
    v = visit()
    page = v.open("notebooks/attention/")
    page.evaluate(f"() => document.body.setAttribute('data-md-color-scheme', '{scheme}')")
    contrast = page.evaluate(CODE_CONTRAST)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".jp-CodeCell").nth(3).screenshot(path=str(ARTIFACTS / f"notebook-code-{scheme}.png"))
    assert contrast["n"] > 1000, contrast  # the tokens of the page's code cells were measured
    assert contrast["below45"] == 0, (
        f"{contrast['below45']} of {contrast['n']} below 4.5:1 (lowest {contrast['min']:.2f})"
    )


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, from npm
NO_TRANSITIONS = "*, *::before, *::after { transition: none !important; animation: none !important; }"
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "best-practice"]});
  return result.violations.map(v => `${v.id} (${v.nodes.length}): ` + v.nodes.slice(0, 3).map(
    n => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n").slice(1, 2).join("").trim()).join("; "));
}"""


@pytest.mark.parametrize("scheme", ["default", "slate"])
@pytest.mark.parametrize("path", ["", "attention/", "notebooks/attention/"])
def test_no_accessibility_violations(visit, path, scheme):
    """axe-core's WCAG 2 A and AA rules (contrast, names, keyboard access, links told apart
    from text, ...) and its best-practice rules (landmarks, headings, dialog names) on the
    home page, a chapter and a notebook, in both palettes. Before: code comments at 4.47:1,
    notebook buttons at 2.34:1 in dark mode, links by colour alone, scrolling notebook cells
    a keyboard could not reach, a search dialog without a name, and an unnamed navigation
    landmark on every code block (landmarks.js)."""
    v = visit()
    page = v.open(path)
    page.add_style_tag(content=NO_TRANSITIONS)  # Material fades colours when the palette changes
    page.evaluate(f"() => document.body.setAttribute('data-md-color-scheme', '{scheme}')")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    assert not violations, f"/{path} ({scheme}):\n" + "\n".join(violations)


@pytest.mark.parametrize("word", ["vocabulary", "attention"])
def test_search_finds_the_chapter(site, visit, word):
    chapter = chapter_titled(site, word)
    if chapter is None:
        pytest.skip(f"no chapter titled with {word!r} yet (checked automatically once it exists)")
    page = visit().open("")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(word)
    results = page.locator(".md-search-result__item > .md-search-result__link")
    expect(results.first).to_be_visible()
    top = [urlsplit(link.get_attribute("href")).path for link in results.all()[:3]]
    assert f"/{chapter['location']}" in top, f"{chapter['title']!r} is not in the top 3 results for {word!r}: {top}"


def test_notebook_download_link_gives_the_chapters_notebook(visit):
    """The "Download as notebook" button on a chapter saves a valid notebook of that chapter."""
    import nbformat

    from tools.notebooks import notebook_json
    from tools.pages import DOCS

    page = visit().open("attention/")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download as notebook").click()
    download = info.value
    assert download.suggested_filename == "attention.ipynb"
    text = Path(download.path()).read_text(encoding="utf-8")
    nbformat.validate(nbformat.reads(text, as_version=4))
    assert text == notebook_json(DOCS / "attention.md")


def test_dark_mode_toggle_and_screenshots(site, visit):
    """The toggle switches the palette, on the home page and (once it exists) Attention;
    each page's first screen is saved in light and dark to test-artifacts/screenshots/."""
    shots = {"home": ""}
    attention = chapter_titled(site, "attention")
    if attention:
        shots["attention"] = attention["location"]
    out = ARTIFACTS / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for name, path in shots.items():
        page = visit(color_scheme="light").open(path)
        body = page.locator("body")
        expect(body).to_have_attribute("data-md-color-scheme", "default")
        page.screenshot(path=str(out / f"{name}-light.png"))  # the first screen: a whole page takes seconds
        light = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        page.get_by_title("Switch to dark mode").click()
        expect(body).to_have_attribute("data-md-color-scheme", "slate")
        dark = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert light != dark, f"{name}: the background stayed {light} after switching to dark mode"
        page.screenshot(path=str(out / f"{name}-dark.png"))
    page.get_by_title("Switch to light mode").click()
    expect(page.locator("body")).to_have_attribute("data-md-color-scheme", "default")
