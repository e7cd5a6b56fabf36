"""Texts the guide trains on. Every one ships with the package or with Python itself.

Nothing here touches the network: the small texts are files next to this module,
and the larger corpus is the documentation text that CPython installs as
``pydoc_data.topics`` (what ``help("if")`` prints).
"""

from __future__ import annotations

from importlib import resources

__all__ = ["cat_story", "mary_lamb", "mary_lamb_sentences", "python_docs"]


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def cat_story() -> str:
    """A short story about a cat and a dog (one paragraph), written for the guide."""
    return _read("cat_story.txt").strip()


def mary_lamb() -> str:
    """The nursery rhyme "Mary Had a Little Lamb", one sentence per line, lower case."""
    return _read("mary_lamb.txt").strip()


def mary_lamb_sentences() -> list[str]:
    """The nursery rhyme as a list of sentences (one per line of the rhyme)."""
    return mary_lamb().splitlines()


def python_docs(max_chars: int | None = None) -> str:
    """About 465 KB of English prose and code: Python's own help topics.

    The text is CPython's ``pydoc_data.topics``, the pages ``help()`` shows,
    joined in sorted topic order so that the result is the same on every run.
    """
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key].strip() for key in sorted(topics))
    return text if max_chars is None else text[:max_chars]
