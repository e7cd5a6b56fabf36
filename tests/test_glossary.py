"""The glossary: its terms parse, and each chapter links the first use of each term it uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.glossary import BASICS, link_first_uses, read_glossary
from tools.pages import DOCS

TERMS = read_glossary(DOCS / "glossary.md")
GLOSSARY_PIN = Path(__file__).parent / "fixtures" / "glossary_links.json"  # written by `dev.py refresh`
CHAPTERS = [
    "vocabulary",
    "tokenization",
    "tensors",
    "embeddings",
    "positional-encoding",
    "attention",
    "transformer-block",
    "weights",
    "gradient-descent",
    "in-context-learning",
    "putting-it-together",
    "todays-models",
    "real-model",
]


def _link(html: str) -> tuple[str, list[str]]:
    return link_first_uses(html, TERMS, "../glossary/")


def test_every_entry_is_read_with_a_unique_anchor_and_a_summary():
    entries = re.findall(r"^\S[^\n]*\n:   ", (DOCS / "glossary.md").read_text(encoding="utf-8"), flags=re.M)
    assert len(TERMS) == len(entries) >= 40
    anchors = [t.anchor for t in TERMS]
    assert len(set(anchors)) == len(anchors)
    assert all(t.summary.endswith((".", "!", "?")) for t in TERMS)
    bpe = next(t for t in TERMS if t.anchor == "byte-pair-encoding-bpe")
    assert bpe.words == ("Byte-pair encoding", "BPE")


def test_only_the_first_use_is_linked_and_plurals_count():
    out, linked = _link("<p>A tokenizer, then tokenizers.</p><p>Two logits and a logit.</p>")
    assert out.count('href="../glossary/#tokenizer"') == 1
    assert ">tokenizer</a>, then tokenizers." in out
    assert ">logits</a> and a logit." in out
    assert linked == ["tokenizer", "logit"]


def test_the_basics_keep_their_entries_but_are_not_linked():
    assert {t.name for t in TERMS if not t.linked} == BASICS
    out, linked = _link("<p>Each token has an id in the vocabulary; the GPT's weights are tensors.</p>")
    assert linked == [] and "<a" not in out


def test_code_math_headings_and_links_are_left_alone():
    html = (
        '<h2>Token</h2><p><code>token</code> <span class="arithmatex">\\(token\\)</span> '
        '<a href="x">token</a></p><div class="highlight"><pre><span>token</span></pre></div>'
        '<p class="admonition-title">token</p><pre class="mermaid">token</pre>'
    ).replace("token", "logit")
    out, linked = _link(html)
    assert out == html and linked == []
    out, linked = _link(html + "<p>Here: a logit.</p>")
    assert linked == ["logit"] and out.endswith(
        'a <a class="llm-guide-term" href="../glossary/#logit" '
        f'title="{TERMS[[t.anchor for t in TERMS].index("logit")].summary}">'
        "logit</a>.</p>"
    )


def test_the_longest_name_wins_and_acronyms_match_exactly():
    out, linked = _link("<p>Multi-head attention uses heads. bpe is not BPE.</p>")
    assert linked[:2] == ["multi-head-attention", "head"]
    assert ">Multi-head attention</a>" in out and ">heads</a>" in out
    assert "bpe is not <a" in out and ">BPE</a>" in out


def test_unclosed_elements_do_not_hide_the_rest_of_the_page():
    out, linked = _link("<p>An <code>x</p><p>embedding.</p>")
    assert linked == ["embedding"]


def test_each_chapter_links_its_terms_to_entries_that_exist(built_site, request):
    site, _ = built_site
    glossary = (site / "glossary" / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'<dt id="([^"]+)"', glossary)
    assert set(ids) == {t.anchor for t in TERMS}
    links: dict[str, list[str]] = {}
    for chapter in CHAPTERS:
        page = (site / chapter / "index.html").read_text(encoding="utf-8")
        anchors = re.findall(r'class="llm-guide-term" href="\.\./glossary/#([^"]+)"', page)
        assert len(anchors) >= 5, f"{chapter}: only {len(anchors)} glossary links"
        assert len(anchors) == len(set(anchors)), f"{chapter}: a term is linked twice"
        assert set(anchors) <= set(ids)
        links[chapter] = anchors
    unused = {t.anchor for t in TERMS if t.linked} - {a for anchors in links.values() for a in anchors}
    assert not unused, f"glossary terms no chapter uses (reword, or drop them): {sorted(unused)}"
    # Pinned: the links come from the glossary itself, so deleting an entry would silently
    # take its links off every chapter. A change is made on purpose, with the refresh command.
    found = {"terms": ids, "links": links}
    if request.config.getoption("--update-docs"):
        GLOSSARY_PIN.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
        return
    pinned = json.loads(GLOSSARY_PIN.read_text(encoding="utf-8"))
    lost = sorted(set(pinned["terms"]) - set(ids))
    assert not lost, f"glossary entries removed: {lost}; if on purpose, run `python3 dev.py refresh`"
    for chapter in sorted(set(pinned["links"]) | set(links)):
        was, now = pinned["links"].get(chapter, []), links.get(chapter, [])
        assert now == was, (
            f"{chapter}: glossary links changed (lost {sorted(set(was) - set(now))}, gained "
            f"{sorted(set(now) - set(was))}); if on purpose, run `python3 dev.py refresh`"
        )
    assert found == pinned, "the glossary's terms changed; if on purpose, run `python3 dev.py refresh`"


def test_a_term_link_shows_the_entrys_first_sentence_as_its_tooltip(built_site):
    """The tooltip is the entry's first sentence, so a reader need not leave the page."""
    site, _ = built_site
    page = (site / "attention" / "index.html").read_text(encoding="utf-8")
    m = re.search(r'<a class="llm-guide-term" href="\.\./glossary/#softmax" title="([^"]+)"', page)
    assert m and m.group(1) == next(t.summary for t in TERMS if t.anchor == "softmax")


def test_chapter_list_matches_the_nav():
    nav = (Path(DOCS).parent / "mkdocs.yml").read_text(encoding="utf-8")
    numbered = re.findall(r'- "\d+\. [^"]+": ([\w-]+)\.md', nav)
    assert numbered == CHAPTERS


# A term a chapter sets in bold where it introduces it must be in the glossary. Bold is also
# used for emphasis, names in a story and list labels; those are listed here, each with why.
NOT_TERMS = {
    # attention.md's story: the clerks of a hotel, not terms
    "tess, the receptionist",
    "ivo, the cataloguer",
    "emil, the meaning clerk",
    "pia, the seating clerk",
    "ava, the attention coordinator",
    "the analysts",
    "the scoring panel",
    "sol, the probability clerk",
    "ned, the announcer",
    # emphasis in a sentence
    "uphill",
    "learns",
    "recorded",
    "budget",
    "not contiguous",
    "elements",
    "bytes",
    "seat number",
    "distinct tokens",
    "variable segment lengths",
    "upper case",
    "next letter",
    "storage",
    "graph",
    "training",
    "code",
    "numbers",
    "emoji",
    "misspellings",
    "other languages",
    "characters",
    "words",
    "generation",
    "next token",
    "adaptive steps",
    "decays",
    "warms up",
    "learned",
    # tiktoken's "rank" of a token is defined where it is used; LoRA's rank is another thing
    "rank",
    # the home page's learning path names chapters, each of which defines its subject
    "putting it together",
    "today's models",
    "a real model",
    "tokenization",
    "the transformer block",
    # labels of a list of further reading
    "read nanogpt",
}
# Bold phrases that name a glossary entry in other words: phrase -> the entry's name.
SAME_AS = {
    "activation": "Activation function",
    "loss function": "Loss",
    "embedding table": "Embedding",
    "key": "Query, key, value",
    "value": "Query, key, value",
    "causal": "Causal mask",
    "few-shot prompting": "Few-shot prompt",
    "vocabulary size": "Vocabulary",
    "encode": "Tokenizer",
    "decode": "Tokenizer",
    "clipping": "Gradient clipping",
    "warm-up then cosine": "Warm-up",
    "sinusoidal": "Positional encoding",
    "sinusoids": "Positional encoding",
    "rotary embeddings": "Rotary position embedding (RoPE)",
    "multi-query attention": "Grouped-query attention (GQA)",
    "nats per character": "Bits per character",
    "previous-token score": "Induction score",
}
BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")


def _bold_terms(page: Path) -> list[str]:
    """Bold phrases of up to four words in a page's prose (not code, not headings, not sentences)."""
    text = re.sub(r"^(\s*)(`{3,}).*?^\1\2\s*$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    found = []
    for line in text.split("\n"):
        if line.lstrip().startswith("#"):
            continue
        for m in BOLD.finditer(line):
            phrase = m.group(1).strip()
            if phrase[0].isalpha() and not phrase.endswith(".") and len(phrase.split()) <= 4:
                found.append(phrase)
    return found


def test_every_term_a_chapter_defines_in_bold_is_in_the_glossary():
    from tools.glossary import _pattern

    names = {t.name for t in TERMS}
    assert not set(SAME_AS.values()) - names, (
        f"SAME_AS names entries that do not exist: {set(SAME_AS.values()) - names}"
    )
    patterns = [_pattern(w) for t in TERMS for w in t.words]
    missing: dict[str, set[str]] = {}
    seen: set[str] = set()
    for page in [DOCS / "index.md", *(DOCS / f"{c}.md" for c in CHAPTERS)]:
        for phrase in _bold_terms(page):
            key = phrase.lower()
            seen.add(key)
            if key in NOT_TERMS or key in SAME_AS or any(p.fullmatch(phrase) for p in patterns):
                continue
            missing.setdefault(phrase, set()).add(page.stem)
    assert not missing, (
        "these bold terms have no glossary entry: add one to docs/glossary.md (or, if the bold is "
        f"emphasis, add the phrase to NOT_TERMS with why): {dict(sorted(missing.items()))}"
    )
    stale = sorted((NOT_TERMS | set(SAME_AS)) - seen)
    assert not stale, f"no page sets these in bold any more; drop them from NOT_TERMS / SAME_AS: {stale}"


def test_tooltips_are_short_plain_sentences():
    """A link's tooltip is the entry's first sentence as plain text: no TeX source (the
    Softmax and Gradient descent tooltips used to show "operatorname{softmax}(z)_i" and
    "theta leftarrow theta"), and at most TOOLTIP_CHARS characters (one was 253)."""
    from tools.glossary import TOOLTIP_CHARS

    for term in TERMS:
        assert len(term.summary) <= TOOLTIP_CHARS, (term.name, len(term.summary))
        assert not re.search(r"[\\{}]|\b(?:operatorname|leftarrow|nabla|frac)\b", term.summary), term
    softmax = next(t for t in TERMS if t.name == "Softmax")
    assert softmax.summary == "The function that turns a vector of scores into probabilities."
