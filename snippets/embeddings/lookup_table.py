import torch
import torch.nn as nn

from llm_guide import corpora
from llm_guide.tokenizers import WordTokenizer

story = corpora.cat_story()
tok = WordTokenizer.from_text(story)
V = tok.vocab_size

torch.manual_seed(0)
wte = nn.Embedding(V, 8)  # V rows of 8 numbers, random to start
print(wte, tuple(wte.weight.shape))

ids = torch.tensor(tok.encode("The cat sat"))
print(ids.tolist())
vectors = wte(ids)  # (T,) ids -> (T, C) vectors
print(vectors.shape)
print(vectors)
