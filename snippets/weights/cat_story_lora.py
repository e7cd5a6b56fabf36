# --8<-- [start:train]
import copy

import torch

from llm_guide import corpora
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import CharTokenizer
from llm_guide.train import TrainConfig, estimate_loss, train
from llm_guide.weights import add_lora, count_trainable, merge_lora

torch.set_num_threads(1)  # tiny models: one thread is faster than two that keep waiting

story = corpora.cat_story()
tok = CharTokenizer.from_text(story)
story_ids = torch.tensor(tok.encode(story))

torch.manual_seed(0)
config = GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=4, n_embd=32)
model = GPT(config)
settings = TrainConfig(
    steps=250,
    batch_size=32,
    lr=1e-2,
    warmup_steps=20,
    eval_interval=250,
    eval_steps=4,
    progress=False,
)
result = train(model, story_ids, config=settings)
losses = f"loss {result.evals[0].train_loss:.3f} -> {result.final_loss:.3f}"
print(f"{tok.vocab_size} characters, {len(story_ids)} tokens; {losses}")
# --8<-- [end:train]
# --8<-- [start:adapt]
second = (
    "The dog sat on the mat. The cat ran in the park. The dog and the cat sat on the mat. "
    "The cat liked the park. The dog liked the mat."
)
print("only characters the model knows:", set(second) <= set(story))
second_ids = torch.tensor(tok.encode(second))

tuned = copy.deepcopy(model)
torch.manual_seed(0)  # the adapters' A matrices start random
wrapped = add_lora(tuned, rank=4, alpha=4, targets=("c_attn", "attn.c_proj"))
print("adapted:", wrapped)
total = sum(p.numel() for p in tuned.parameters())
n_trainable = count_trainable(tuned)
share = 100 * n_trainable / total
print(f"trainable {n_trainable:,} of {total:,} parameters ({share:.1f}%)")
# --8<-- [end:adapt]
# --8<-- [start:fine_tune]
originals = {k: t.clone() for k, t in tuned.state_dict().items() if "lora_" not in k}


def report(m: GPT) -> str:
    loss = estimate_loss(m, second_ids, block_size=16, batch_size=None)
    out = generate(m, torch.tensor([tok.encode("The cat")]), 16, greedy=True)
    text = tok.decode(out[0].tolist())
    return f"loss on the new text {loss:.3f}; 'The cat' -> {text!r}"


print("before:", report(tuned))
settings = TrainConfig(
    steps=150,
    batch_size=32,
    lr=1e-2,
    warmup_steps=10,
    weight_decay=0.0,
    eval_interval=150,
    eval_steps=4,
    progress=False,
)
train(tuned, second_ids, config=settings)
print("after: ", report(tuned))
unchanged = sum(torch.equal(t, tuned.state_dict()[k]) for k, t in originals.items())
print(f"original weights unchanged: {unchanged} of {len(originals)}")
# --8<-- [end:fine_tune]
# --8<-- [start:merge]
probe = torch.tensor([tok.encode("The dog sat on")])
with torch.no_grad():
    before_merge = tuned(probe)[0]
    merged = merge_lora(tuned)
    after_merge = tuned(probe)[0]
print("merged:", merged)
change = (before_merge - after_merge).abs().max().item()
print("largest change in a logit below 1e-5:", change < 1e-5)
same_names = list(tuned.state_dict()) == list(model.state_dict())
print("plain GPT again, same names as the original:", same_names)
# --8<-- [end:merge]
