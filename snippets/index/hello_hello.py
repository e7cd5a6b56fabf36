import math

import torch

from llm_guide.data import xy_pairs
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.vocab import Vocabulary

text = "hello hello"
vocab = Vocabulary.from_text(text)
ids = torch.tensor(vocab.encode(text))
X, Y = xy_pairs(ids, block_size=4)  # every window of 4 ids, and the same window shifted by one

torch.manual_seed(0)
config = GPTConfig(vocab_size=len(vocab), block_size=4, n_layer=1, n_head=2, n_embd=16)
model = GPT(config)
n_params = sum(p.numel() for p in model.parameters())
uniform = math.log(len(vocab))  # the loss of a uniform guess among the characters
print(f"{n_params:,} parameters; a uniform guess has loss ln {len(vocab)} = {uniform:.4f}")
optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)

for step in range(301):
    logits, loss = model(X, Y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")

prompt = torch.tensor([vocab.encode("hell")])
out = generate(model, prompt, max_new_tokens=12, greedy=True)
print(repr("".join(vocab.decode(out[0].tolist()))))
