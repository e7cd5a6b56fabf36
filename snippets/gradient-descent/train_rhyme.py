# --8<-- [start:train]
import math

import torch

from llm_guide import corpora
from llm_guide.data import train_val_split
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import WordTokenizer
from llm_guide.train import TrainConfig, train  # the code listed above

torch.set_num_threads(1)  # a tiny model runs faster on one thread than on two

lines = corpora.mary_lamb_sentences()
rhyme = " ".join(line + " <END>" for line in lines)
words = WordTokenizer.from_text(rhyme, specials=["<END>"])
rhyme_train, rhyme_val = train_val_split(words.encode(rhyme), val_fraction=0.1)
n_words = words.vocab_size
print(
    f"{len(lines)} lines, {n_words} words; "
    f"{len(rhyme_train)} tokens to train on, {len(rhyme_val)} to validate; "
    f"a uniform guess has loss ln {n_words} = {math.log(n_words):.3f}"
)

torch.manual_seed(0)
rhyme_model = GPT(GPTConfig(vocab_size=n_words, block_size=6, n_layer=2, n_head=4, n_embd=32))
rhyme_config = TrainConfig(
    steps=200,
    batch_size=16,
    lr=1e-2,
    warmup_steps=20,
    eval_interval=25,
    eval_steps=4,
    progress=False,
)
rhyme_result = train(rhyme_model, rhyme_train, rhyme_val, rhyme_config)
for e in rhyme_result.evals[::2]:  # every 50 steps
    print(f"step {e.step:3d}: train {e.train_loss:.3f}, validation {e.val_loss:.3f}")
clipped = sum(n > 1.0 for n in rhyme_result.grad_norms)
print(f"steps whose gradient was clipped: {clipped} of {rhyme_config.steps}")
# --8<-- [end:train]
# --8<-- [start:generate]
for start in ["mary", "the", "it", "little", "lamb"]:
    prompt = torch.tensor([words.encode(start)])
    out = generate(rhyme_model, prompt, max_new_tokens=12, greedy=True)
    print(f"{start:>6} -> {words.decode(out[0].tolist())}")
# --8<-- [end:generate]
