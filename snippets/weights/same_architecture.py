# --8<-- [start:train]
import torch

from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.train import TrainConfig, train
from llm_guide.vocab import Vocabulary

torch.set_num_threads(1)  # tiny models: one thread is faster than two that keep waiting

vocab = Vocabulary.from_text("hello hole")
config = GPTConfig(vocab_size=len(vocab), block_size=4, n_layer=1, n_head=2, n_embd=16)
texts = {"hello": "hello hello hello", "hole": "hole hole hole"}
settings = TrainConfig(steps=150, batch_size=None, lr=1e-2, eval_interval=150, progress=False)
models = {}
for name, text in texts.items():
    torch.manual_seed(0)  # the same starting weights for both
    models[name] = GPT(config)
    train(models[name], torch.tensor(vocab.encode(text)), config=settings)


def continue_text(model: GPT, prompt: str, n: int = 12) -> str:
    out = generate(model, torch.tensor([vocab.encode(prompt)]), n, greedy=True)
    return "".join(vocab.decode(out[0].tolist()))


a, b = models["hello"].state_dict(), models["hole"].state_dict()
same = [(k, v.shape) for k, v in a.items()] == [(k, v.shape) for k, v in b.items()]
print("same names and shapes:", same)
print("tensors that differ:", sum(not torch.equal(a[k], b[k]) for k in a), "of", len(a))
for name, model in models.items():
    print(f"{name:>5} model continues 'h' as {continue_text(model, 'h')!r}")
# --8<-- [end:train]
# --8<-- [start:swap]
models["hole"].load_state_dict(models["hello"].state_dict())
print("the hole model, with the hello weights:", repr(continue_text(models["hole"], "h")))
# --8<-- [end:swap]
