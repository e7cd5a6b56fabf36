# --8<-- [start:text]
import math
import tempfile
from pathlib import Path

import torch

from llm_guide.capstone import (
    CapstoneConfig,
    load_char_gpt,
    load_reference_run,
    save_char_gpt,
    torch_threads,
    train_char_gpt,
)
from llm_guide.corpora import python_docs
from llm_guide.figures.putting_it_together import plot_capstone_losses
from llm_guide.figures.style import save
from llm_guide.generate import generate

text = python_docs()
print(f"{len(text):,} characters; the first 200:\n")
print(text[:200])
# --8<-- [end:text]
# --8<-- [start:train]
short = CapstoneConfig(steps=100, eval_interval=50, eval_steps=10)
# a model this small trains faster on one thread than on two that wait for each other
with torch_threads(1):
    result = train_char_gpt(text, short)

tok = result.tokenizer
print(
    f"vocabulary {tok.vocab_size} characters; "
    f"{result.n_train_tokens:,} tokens to train on, {result.n_val_tokens:,} to validate"
)
print(
    f"model {result.n_params:,} parameters: {short.n_layer} layers, {short.n_head} heads, "
    f"{short.n_embd} wide, context {short.block_size}"
)
print(f"a uniform guess has loss ln {tok.vocab_size} = {math.log(tok.vocab_size):.3f}")
for e in result.history.evals:
    print(f"step {e.step:4d}   train loss {e.train_loss:.3f}   val loss {e.val_loss:.3f}")
# --8<-- [end:train]
# --8<-- [start:sample]
prompt = torch.tensor([tok.encode("The ")])
with torch_threads(1):  # as above: 200 small forward passes
    sample = generate(
        result.model, prompt, max_new_tokens=200, temperature=0.8, generator=torch.Generator().manual_seed(0)
    )
print(tok.decode(sample[0].tolist()))
# --8<-- [end:sample]
# --8<-- [start:save_and_reload]
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "char-gpt.safetensors"
    save_char_gpt(result, path)
    model, tokenizer = load_char_gpt(path)
    size, params = path.stat().st_size, model.num_params()
    # the header holds the losses as text, so its size changes by a few bytes with their digits
    header_kb = (size - 4 * params) / 1e3
    print(f"{path.name}: {size / 1e6:.2f} MB = {params:,} parameters x 4 bytes + {header_kb:.1f} kB")

with torch_threads(1):
    prompt_ids = torch.tensor([tokenizer.encode("The ")])
    again = generate(model, prompt_ids, max_new_tokens=200, temperature=0.8, generator=torch.Generator().manual_seed(0))
print("the reloaded model writes the same sample:", torch.equal(again, sample))
# --8<-- [end:save_and_reload]
# --8<-- [start:reference]
ref = load_reference_run()
print("recorded with:", ref["command"], f"(Python {ref['corpus']['python']}, torch {ref['torch']})")
differs = {k: v for k, v in ref["config"].items() if getattr(short, k) != v}
print("differs from this page's run in:", differs)
print(f"{ref['n_params']:,} parameters, {ref['vocab_size']} characters, {ref['train_tokens']:,} training tokens")
print()
print(f"{'':<16} {'steps':>6} {'train loss':>11} {'val loss':>9}")
print(f"{'this page':<16} {short.steps:>6} {result.train_loss:>11.3f} {result.val_loss:>9.3f}")
print(f"{'reference run':<16} {ref['config']['steps']:>6} {ref['train_loss']:>11.3f} {ref['val_loss']:>9.3f}")
print(f"\nperplexity after the full run: e^{ref['val_loss']:.3f} = {math.exp(ref['val_loss']):.1f} characters")
# --8<-- [end:reference]
# --8<-- [start:losses]
runs = {
    "reference run": ref["evals"],
    "this page": [(e.step, e.train_loss, e.val_loss) for e in result.history.evals],
}
save(plot_capstone_losses(runs), "putting-it-together-losses.svg")
# --8<-- [end:losses]
# --8<-- [start:reference_sample]
print(ref["sample"]["text"])
# --8<-- [end:reference_sample]
