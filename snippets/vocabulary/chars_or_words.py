from llm_guide import corpora
from llm_guide.vocab import Vocabulary, split_chars, split_words  # the code listed above


def measure(name: str, text: str) -> None:
    for level in ("char", "word"):
        vocab = Vocabulary.from_text(text, level=level)
        n_ids = len(split_chars(text) if level == "char" else split_words(text))
        print(f"{name:<12} {level:<5} {len(vocab):>7,} {n_ids:>9,}")


print(f"{'corpus':<12} {'level':<5} {'|V|':>7} {'ids':>9}")
measure("cat story", corpora.cat_story())
measure("Mary's lamb", corpora.mary_lamb())
measure("Python docs", corpora.python_docs())

docs = corpora.python_docs()
chars, words = Vocabulary.from_text(docs), Vocabulary.from_text(docs, level="word")
fewer, more = len(docs) / len(split_words(docs)), len(words) / len(chars)
print(f"words: {fewer:.1f}x fewer ids, {more:.0f}x more symbols")
