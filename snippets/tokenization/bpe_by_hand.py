from llm_guide.tokenizers import get_pair_counts, merge  # the two functions above

text = "the cat sat on the mat"
ids = list(text.encode("utf-8"))
vocab = {i: bytes([i]) for i in range(256)}  # which bytes each id stands for
print(len(ids), "tokens")

for new_id in range(256, 261):
    counts = get_pair_counts(ids)
    # the most frequent pair (the first one seen, on a tie) gets the next id
    pair = max(counts, key=counts.get)
    vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
    ids = merge(ids, pair, new_id)
    tokens = "|".join(vocab[i].decode("utf-8") for i in ids)
    merged = f"{pair} seen {counts[pair]}x -> {new_id} = {vocab[new_id]!r:8}"
    print(f"{merged} {len(ids)} tokens: {tokens}")
