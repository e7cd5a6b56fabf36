"""LLM Guide: the code behind the chapters, one module per concept.

Import from the module a chapter builds (``from llm_guide.model import GPT``), or use
the short names below for the pieces most chapters share. They are loaded on first
use, so ``import llm_guide`` (and ``llm-guide --help``) does not pay for importing torch.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_SHORT_NAMES = {
    "GPT": "llm_guide.model",
    "GPTConfig": "llm_guide.model",
    "BPETokenizer": "llm_guide.tokenizers",
    "CharTokenizer": "llm_guide.tokenizers",
    "WordTokenizer": "llm_guide.tokenizers",
    "Vocabulary": "llm_guide.vocab",
}

__all__ = [*_SHORT_NAMES, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _SHORT_NAMES:
        return getattr(import_module(_SHORT_NAMES[name]), name)
    raise AttributeError(f"module 'llm_guide' has no attribute {name!r}")
