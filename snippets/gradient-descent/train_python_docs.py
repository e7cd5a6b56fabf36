import math

import torch

from llm_guide import corpora
from llm_guide.data import train_val_split
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import CharTokenizer
from llm_guide.train import TrainConfig, train  # the code listed above

torch.set_num_threads(1)  # a tiny model runs faster on one thread than on two

docs = corpora.python_docs(max_chars=60_000)
chars = CharTokenizer.from_text(docs)
docs_train, docs_val = train_val_split(chars.encode(docs), val_fraction=0.1)
n_chars = chars.vocab_size

torch.manual_seed(0)
docs_model = GPT(GPTConfig(vocab_size=n_chars, block_size=16, n_layer=1, n_head=4, n_embd=32))
docs_config = TrainConfig(
    steps=200,
    batch_size=32,
    lr=1e-2,
    warmup_steps=20,
    eval_interval=25,
    eval_steps=4,
    progress=False,
)
docs_result = train(docs_model, docs_train, docs_val, docs_config)
print(f"{n_chars} characters; uniform guess {math.log(n_chars):.3f}")
for e in docs_result.evals[::2]:  # every 50 steps
    print(f"step {e.step:3d}: train {e.train_loss:.3f}, validation {e.val_loss:.3f}")
prompt = torch.tensor([chars.encode("The ")])
sampler = torch.Generator().manual_seed(0)
sample = generate(docs_model, prompt, 12, temperature=0.8, generator=sampler)
print(repr(chars.decode(sample[0].tolist())))
