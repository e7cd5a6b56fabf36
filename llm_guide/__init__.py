"""LLM Guide: the code behind the chapters, one module per concept.

Import from the module a chapter builds (``from llm_guide.model import GPT``), or use
the short names below for the pieces most chapters share.
"""

from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer
from llm_guide.vocab import Vocabulary

__version__ = "0.1.0"

__all__ = ["GPT", "GPTConfig", "BPETokenizer", "CharTokenizer", "WordTokenizer", "Vocabulary", "__version__"]
