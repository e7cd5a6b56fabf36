import torch
import torch.nn as nn

from llm_guide.tokenizers import WordTokenizer

tok = WordTokenizer.from_text("dog bites man . man bites dog")
a = torch.tensor(tok.encode("dog bites man"))
b = torch.tensor(tok.encode("man bites dog"))
print(a.tolist(), b.tolist())

torch.manual_seed(0)
wte = nn.Embedding(tok.vocab_size, 4)
ea, eb = wte(a), wte(b)  # (3, 4) each: one row per token, in order
print(torch.equal(ea, eb))  # as sequences they differ...
same_rows = torch.equal(ea.sort(dim=0).values, eb.sort(dim=0).values)
print(same_rows, torch.allclose(ea.sum(dim=0), eb.sum(dim=0)))  # ...as bags they are one and the same
