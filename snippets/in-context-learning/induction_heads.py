# --8<-- [start:train]
import string

import torch

from llm_guide.attention import attention_maps
from llm_guide.figures.in_context_learning import plot_icl_attention, plot_icl_phase_change
from llm_guide.figures.style import save
from llm_guide.icl import (
    attention_only_gpt,
    copy_accuracy,
    induction_scores,
    induction_targets,
    previous_token_scores,
    repeated_sequences,
    train_on_batches,
)
from llm_guide.tokenizers import CharTokenizer

task = dict(block_size=32, vocab_size=26, min_len=4, max_len=16)


def copy_batches(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x, y, _ = repeated_sequences(32, **task, generator=generator)
    return x, y


threads = torch.get_num_threads()
torch.set_num_threads(1)  # tiny models: one thread beats two that wait for each other
models, losses = {}, {}
for n_layer in (2, 1):
    torch.manual_seed(0)
    models[n_layer] = attention_only_gpt(n_layer, vocab_size=26, block_size=32)
    losses[n_layer] = train_on_batches(models[n_layer], copy_batches, steps=500, lr=1e-3)
torch.set_num_threads(threads)

marks = [*range(0, 500, 100), 499]
print(f"{'step':>8}" + "".join(f"{s:>7}" for s in marks))
for n_layer, curve in losses.items():
    windows = [curve[max(0, s - 19) : s + 1] for s in marks]  # the 20 steps up to each mark
    means = [sum(w) / len(w) for w in windows]
    print(f"{n_layer} layer{'s' if n_layer > 1 else ' '}" + "".join(f"{m:7.2f}" for m in means))
# --8<-- [end:train]
# --8<-- [start:accuracy]
test = repeated_sequences(1000, **task, generator=torch.Generator().manual_seed(1))
accuracy = {f"{n} layer{'s' if n > 1 else ''}": copy_accuracy(models[n], test) for n in (2, 1)}
print(f"{'model':<9} {'first copy':>11} {'second copy':>12}")
for name, acc in accuracy.items():
    print(f"{name:<9} {acc['first copy']:>11.1%} {acc['second copy']:>12.1%}")
# --8<-- [end:accuracy]
# --8<-- [start:phase_change]
curves = {name: losses[n] for name, n in zip(accuracy, (2, 1))}
save(plot_icl_phase_change(curves, accuracy), "in-context-learning-phase-change.svg")
# --8<-- [end:phase_change]
# --8<-- [start:head_scores]
attn = attention_maps(models[2], test.x)
scores = {"previous token": previous_token_scores(attn), "induction": induction_scores(attn, test.x)}
for name, table in scores.items():
    print(f"{name} score (rows: layers, columns: heads)")
    for layer, row in enumerate(table.tolist()):
        print(f"  layer {layer}: " + "  ".join(f"{v:.2f}" for v in row))
# --8<-- [end:head_scores]
# --8<-- [start:induction_head]
letters = CharTokenizer.from_text(string.ascii_lowercase)  # id i is the i-th letter
example = torch.tensor([letters.encode("jumpsfox" * 3)])
maps = attention_maps(models[2], example)
prev_head = int(scores["previous token"][0].argmax())
ind_head = int(scores["induction"][1].argmax())
T = example.size(1)
titles = (f"layer 0, head {prev_head}: previous token", f"layer 1, head {ind_head}: induction")
fig = plot_icl_attention(
    {titles[0]: maps[0][0, prev_head], titles[1]: maps[1][0, ind_head]},
    tokens=list("jumpsfox" * 3),
    targets={titles[0]: torch.ones(T, T).tril(-1).triu(-1).bool(), titles[1]: induction_targets(example)[0]},
)
save(fig, "in-context-learning-induction-head.svg")
# --8<-- [end:induction_head]
