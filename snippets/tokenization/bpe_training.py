# --8<-- [start:train]
from llm_guide import corpora
from llm_guide.tokenizers import BPETokenizer  # the whole class, every method

docs = corpora.python_docs()
bpe = BPETokenizer.train(docs, vocab_size=512)

print(f"trained on {len(docs):,} characters: {len(bpe.history)} merges")
print(bpe)
for step in bpe.history[:12]:
    print(step)
print("...")
for step in bpe.history[-3:]:
    print(step)
# --8<-- [end:train]
# --8<-- [start:longest]
longest = sorted(bpe.vocab.values(), key=len, reverse=True)[:10]
print([token.decode("utf-8") for token in longest])
# --8<-- [end:longest]
