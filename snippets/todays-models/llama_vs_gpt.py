# --8<-- [start:models]
import torch

from llm_guide.capstone import torch_threads
from llm_guide.corpora import python_docs
from llm_guide.data import train_val_split
from llm_guide.figures.style import save
from llm_guide.figures.todays_models import plot_cache_work
from llm_guide.generate import generate
from llm_guide.kv_cache import KVCache
from llm_guide.llama import Llama, LlamaConfig, swiglu_hidden
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import CharTokenizer
from llm_guide.train import TrainConfig, train

text = python_docs()
tok = CharTokenizer.from_text(text)
train_ids, val_ids = train_val_split(torch.tensor(tok.encode(text)), 0.1)
shape = dict(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64, fast=True)
gpt_config = GPTConfig(**shape)


def llama_params(width: int) -> int:
    """The Llama's parameter count with a SwiGLU of this width."""
    return Llama(LlamaConfig(**shape, n_kv_head=2, n_hidden=width)).num_params()


with torch.device("meta"):  # shapes only: find the SwiGLU width that matches the GPT's count
    target = GPT(gpt_config).num_params()
    width = min(range(8, 512, 8), key=lambda w: abs(llama_params(w) - target))
llama_config = LlamaConfig(**shape, n_kv_head=2, n_hidden=width)
print(f"SwiGLU width {width} (the default would be {swiglu_hidden(64)})")
# --8<-- [end:models]
# --8<-- [start:train]
recipe = TrainConfig(
    steps=150, batch_size=8, lr=3e-3, warmup_steps=20, eval_interval=75, eval_steps=10, seed=0, progress=False
)
runs = {}
for name, make in (("GPT", lambda: GPT(gpt_config)), ("Llama", lambda: Llama(llama_config))):
    torch.manual_seed(0)
    runs[name] = make()
    with torch_threads(1):  # a model this small trains faster on one thread
        history = train(runs[name], train_ids, val_ids, recipe)
    evals = "   ".join(f"step {e.step}: {e.val_loss:.3f}" for e in history.evals)
    print(f"{name:<6} {runs[name].num_params():,} parameters   validation loss  {evals}")
gpt, llama = runs["GPT"], runs["Llama"]
# --8<-- [end:train]
# --8<-- [start:same_tokens]
prompt = torch.tensor([tok.encode("The func")])
for name, model in (("GPT", gpt), ("Llama", llama)):
    greedy = [generate(model, prompt, 40, greedy=True, kv_cache=cached) for cached in (False, True)]
    sampled = [
        generate(model, prompt, 40, temperature=0.8, kv_cache=cached, generator=torch.Generator().manual_seed(0))
        for cached in (False, True)
    ]
    print(
        f"{name:<6} same tokens greedy: {torch.equal(*greedy)}, sampled: {torch.equal(*sampled)};"
        f"  {tok.decode(sampled[1][0, :20].tolist())!r}"
    )
# --8<-- [end:same_tokens]
# --8<-- [start:cache_full]
cache = KVCache(llama.config.n_layer, llama.config.block_size)
with torch.no_grad():
    llama(torch.tensor([tok.encode("x" * 30)]), cache=cache)
    try:
        llama(torch.tensor([tok.encode("past it")]), cache=cache)
    except ValueError as error:
        print(error)
# --8<-- [end:cache_full]
# --8<-- [start:cache_work]
work = {}


def count(layer, args, output):
    """After each call of an attention layer: (new tokens T, keys each of them scored S)."""
    x, cache = args  # Block calls attn(x, cache)
    calls.append((x.size(1), x.size(1) if cache is None else cache.length))


for cached in (False, True):
    calls = []
    hook = gpt.transformer.h[0].attn.register_forward_hook(count)
    generate(gpt, prompt, 40, greedy=True, kv_cache=cached)
    hook.remove()
    work["with the cache" if cached else "without"] = calls
full_at = gpt.config.block_size - prompt.size(1) + 1  # the generated token that fills the context
for label, steps in work.items():
    for part, part_steps in (("until the context is full", steps[:full_at]), ("after", steps[full_at:])):
        read = sum(T for T, S in part_steps)
        scores = sum(T * S for T, S in part_steps)
        print(f"{label:<15} {part:<26} tokens read {read:4,}   query-key scores per head {scores:6,}")
save(plot_cache_work(work, full_at=full_at), "todays-models-cache-work.svg")
# --8<-- [end:cache_work]
